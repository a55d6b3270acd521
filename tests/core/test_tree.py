"""The resource tree as data: nodes in the web app's order, their views, placeholders, counts."""

from __future__ import annotations

from explorer.api.resources import resource
from explorer.core.tree import (
    Pipeline,
    SavedFilter,
    Stage,
    TreeNode,
    TreeState,
    build_tree,
    filters_from,
    find,
    pipelines_from,
    stage_view,
)
from explorer.core.views import View

SALES = Pipeline(1, "Sales", (Stage(1, "Qualified", 1), Stage(2, "Proposal", 1)))
RENEWALS = Pipeline(2, "Renewals", (Stage(3, "Due", 2),))


def by_title(nodes: tuple[TreeNode, ...] | list[TreeNode], title: str) -> TreeNode:
    return next(n for n in nodes if n.title == title)


def loaded(**extra: object) -> TreeState:
    state = TreeState(pipelines=(SALES, RENEWALS), filters={
        "deals": (SavedFilter(4, "Big deals", "deals"),),
        "persons": (SavedFilter(9, "My contacts", "persons"),)})
    for key, value in extra.items():
        setattr(state, key, value)
    return state


def test_top_level_nodes_are_the_web_apps_lists_in_its_order() -> None:
    nodes = build_tree(TreeState())
    assert [n.title for n in nodes] == ["Deals", "Leads", "Persons", "Organizations",
                                        "Activities", "Products", "Notes", "Users"]
    assert [n.view for n in nodes] == [View(r, n.title) for r, n in zip(
        ("deals", "leads", "persons", "organizations", "activities", "products", "notes",
         "users"), nodes, strict=True)]


def test_sections_show_loading_then_error_placeholders() -> None:
    deals, leads, persons, *_, notes, users = build_tree(TreeState())
    assert [(n.kind, n.section) for n in deals.children] == [
        ("loading", "pipelines"), ("archived", None), ("loading", "filters")]
    assert [n.kind for n in leads.children] == ["archived", "loading"]
    assert [n.kind for n in persons.children] == ["loading"]
    assert notes.children == () and users.children == ()
    failed = build_tree(TreeState(filters_error="GET /api/v1/filters → 500"))
    error = failed[2].children[0]
    assert (error.kind, error.section, error.error, error.view) == (
        "error", "filters", "GET /api/v1/filters → 500", None)
    assert "retry" in error.title


def test_loaded_deals_have_pipelines_stages_archived_and_filters() -> None:
    deals = build_tree(loaded())[0]
    assert [n.title for n in deals.children] == ["Sales", "Renewals", "Archived deals",
                                                 "Big deals"]
    sales = deals.children[0]
    assert sales.view == View("deals", "Sales", filters=(("pipeline_id", 1),))
    assert [s.view for s in sales.children] == [
        View("deals", "Qualified", filters=(("stage_id", 1),)),
        View("deals", "Proposal", filters=(("stage_id", 2),))]
    assert deals.children[2].view == View("deals", "Archived deals", archived=True)
    assert deals.children[3].view == View("deals", "Big deals", filters=(("filter_id", 4),))
    persons = build_tree(loaded())[2]
    assert [n.view for n in persons.children] == [
        View("persons", "My contacts", filters=(("filter_id", 9),))]
    assert build_tree(loaded())[3].children == ()  # loaded, no saved filters


def test_every_view_uses_filters_its_list_accepts() -> None:
    """The views' filters are among the list endpoint's filters (explorer.api.resources)."""
    def views(nodes: tuple[TreeNode, ...] | list[TreeNode]) -> list[View]:
        out = []
        for node in nodes:
            if node.view is not None:
                out.append(node.view)
            out += views(node.children)
        return out

    every = views(build_tree(loaded(filters={r: (SavedFilter(1, "F", r),) for r in (
        "deals", "leads", "persons", "organizations", "activities", "products")})))
    assert len(every) == 8 + 2 + 3 + 2 + 6
    for view in every:
        accepted = resource(view.resource).listing(archived=view.archived).filters
        assert {k for k, _ in view.filters} <= accepted, view


def test_hiding_archived_removes_both_archived_nodes() -> None:
    nodes = build_tree(loaded(show_archived=False))
    assert all(c.kind != "archived" for n in nodes for c in n.children)
    assert [c.kind for c in nodes[1].children] == []


def test_keys_are_unique_among_siblings_and_stable() -> None:
    def check(nodes: tuple[TreeNode, ...] | list[TreeNode]) -> None:
        keys = [n.key for n in nodes]
        assert len(keys) == len(set(keys))
        for node in nodes:
            check(node.children)

    check(build_tree(loaded()))
    check(build_tree(TreeState()))
    before = build_tree(TreeState())[0]
    after = build_tree(loaded())[0]
    assert before.children[1].key == after.children[2].key == "archived"


def test_counts_a_pipeline_counts_once_each_stage_is_known() -> None:
    counts = {stage_view(SALES.stages[0]).key: 7, View("deals").key: 30}
    deals = build_tree(loaded(counts=counts))[0]
    assert deals.count == 30
    sales = deals.children[0]
    assert [s.count for s in sales.children] == [7, None]
    assert sales.count is None
    counts[stage_view(SALES.stages[1]).key] = 5
    assert build_tree(loaded(counts=counts))[0].children[0].count == 12


def test_find_gives_the_row_path_by_view_key() -> None:
    nodes = build_tree(loaded())
    assert find(nodes, View("deals", "anything", filters=(("stage_id", 2),))) == [0, 0, 1]
    assert find(nodes, View("users")) == [7]
    assert find(nodes, View("deals", filters=(("stage_id", 99),))) is None


def test_pipelines_in_order_with_their_stages_and_no_deleted_ones() -> None:
    pipelines = [{"id": 2, "name": "B", "order_nr": 2}, {"id": 1, "name": "A", "order_nr": 1},
                 {"id": 3, "name": "Gone", "order_nr": 0, "is_deleted": True}]
    stages = [{"id": 10, "name": "A2", "pipeline_id": 1, "order_nr": 2},
              {"id": 11, "name": "A1", "pipeline_id": 1, "order_nr": 1},
              {"id": 12, "name": "B1", "pipeline_id": 2, "order_nr": 1},
              {"id": 13, "name": "B0", "pipeline_id": 2, "order_nr": 0, "is_deleted": True}]
    assert pipelines_from(pipelines, stages) == (
        Pipeline(1, "A", (Stage(11, "A1", 1), Stage(10, "A2", 1))),
        Pipeline(2, "B", (Stage(12, "B1", 2),)))


def test_filters_are_grouped_by_the_v1_filter_type() -> None:
    records = [
        {"id": 1, "name": "won", "type": "deals"}, {"id": 2, "name": "Big", "type": "deals"},
        {"id": 3, "name": "Mine", "type": "people"}, {"id": 4, "name": "Orgs", "type": "org"},
        {"id": 5, "name": "Calls", "type": "activity"}, {"id": 6, "name": "P", "type": "products"},
        {"id": 7, "name": "L", "type": "leads"}, {"id": 8, "name": "Proj", "type": "projects"},
        {"id": 9, "name": "Draft", "type": "deals", "temporary_flag": True},
        {"id": 10, "name": "Off", "type": "deals", "active_flag": False},
    ]
    grouped = filters_from(records)
    assert grouped == {
        "deals": (SavedFilter(2, "Big", "deals"), SavedFilter(1, "won", "deals")),
        "persons": (SavedFilter(3, "Mine", "persons"),),
        "organizations": (SavedFilter(4, "Orgs", "organizations"),),
        "activities": (SavedFilter(5, "Calls", "activities"),),
        "products": (SavedFilter(6, "P", "products"),),
        "leads": (SavedFilter(7, "L", "leads"),),
    }
