"""The resource tree as data: which nodes exist, in the web app's order, and the View each shows.

``build_tree(state)`` turns what has been loaded so far (pipelines with their stages, saved
filters, counts; each may still be loading or have failed) into a list of ``TreeNode``. Keys are
stable between builds, so a Qt model can diff one build against the next and keep the selection
when children arrive. The loaders (``load_pipelines``, ``load_filters``; the counts come from
``views.deal_count``) are coroutines over the client for the Qt side to start through its task
runner:

* pipelines and stages: ``GET /api/v2/pipelines`` and ``GET /api/v2/stages`` (5 tokens each);
* saved filters of every type: one ``GET /api/v1/filters`` without ``type`` (20 tokens),
  grouped here by type (``people`` → persons, ``org`` → organizations, …);
* counts: ``GET /api/v1/deals/summary`` (40 tokens) answers ``total_count`` for all deals or
  for one ``stage_id``; the API has no count per stage in one request, so stage counts are
  asked for only when a pipeline is opened, and a pipeline's count is the sum of its stages.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from explorer.api import PipedriveClient
from explorer.core.views import View

NodeKind = Literal["resource", "pipeline", "stage", "archived", "filter", "loading", "error"]
Section = Literal["pipelines", "filters"]


@dataclass(frozen=True)
class Root:
    """One top-level node.

    Attributes:
        resource: the registry name (``deals``).
        title: the web app's word for it (``Deals``).
        filter_type: its ``type`` in ``GET /v1/filters`` (None: Pipedrive saves no filters
            for it).
        archived_title: the title of its "Archived …" child (None: no archived list).
    """

    resource: str
    title: str
    filter_type: str | None = None
    archived_title: str | None = None


ROOTS: tuple[Root, ...] = (
    Root("deals", "Deals", "deals", "Archived deals"),
    Root("leads", "Leads", "leads", "Archived leads"),
    Root("persons", "Persons", "people"),
    Root("organizations", "Organizations", "org"),
    Root("activities", "Activities", "activity"),
    Root("products", "Products", "products"),
    Root("notes", "Notes"),
    Root("users", "Users"),
)
ROOT_BY_RESOURCE = {r.resource: r for r in ROOTS}
FILTER_RESOURCE = {r.filter_type: r.resource for r in ROOTS if r.filter_type}


@dataclass(frozen=True)
class Stage:
    id: int
    name: str
    pipeline_id: int


@dataclass(frozen=True)
class Pipeline:
    """A pipeline with its stages in board order."""

    id: int
    name: str
    stages: tuple[Stage, ...] = ()


@dataclass(frozen=True)
class SavedFilter:
    id: int
    name: str
    resource: str


@dataclass(frozen=True)
class TreeNode:
    """One node as the tree shows it.

    Attributes:
        key: unique among its siblings and stable between builds (``pipeline:1``).
        kind: what it is; ``loading`` and ``error`` stand in for a section still coming or
            failed (``section`` says which).
        title: the text shown.
        view: what the table lists when the node is selected (None for placeholders).
        count: how many records the view lists, when known cheaply.
        error: the failure's message (``error`` nodes).
        children: the nodes beneath.
    """

    key: str
    kind: NodeKind
    title: str
    view: View | None = None
    count: int | None = None
    section: Section | None = None
    error: str | None = None
    children: tuple[TreeNode, ...] = ()


@dataclass
class TreeState:
    """What has been loaded. A section is loading while its value and error are both None.

    Attributes:
        pipelines, pipelines_error: the deal pipelines, or why they could not be read.
        filters, filters_error: saved filters per resource, or why they could not be read.
        counts: ``view.key`` → number of records it lists.
        show_archived: whether the "Archived …" nodes are shown.
    """

    pipelines: tuple[Pipeline, ...] | None = None
    pipelines_error: str | None = None
    filters: Mapping[str, tuple[SavedFilter, ...]] | None = None
    filters_error: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    show_archived: bool = True


# ---------------------------------------------------------------------- views


def root_view(resource: str) -> View:
    return View(resource, ROOT_BY_RESOURCE[resource].title)


def archived_view(resource: str) -> View:
    title = ROOT_BY_RESOURCE[resource].archived_title
    if title is None:
        raise ValueError(f"{resource} have no archived list")
    return View(resource, title, archived=True)


def pipeline_view(pipeline: Pipeline) -> View:
    return View("deals", pipeline.name, filters=(("pipeline_id", pipeline.id),))


def stage_view(stage: Stage) -> View:
    return View("deals", stage.name, filters=(("stage_id", stage.id),))


def filter_view(saved: SavedFilter) -> View:
    return View(saved.resource, saved.name, filters=(("filter_id", saved.id),))


# ---------------------------------------------------------------------- building


def _placeholder(section: Section, error: str | None) -> TreeNode:
    if error is not None:
        return TreeNode(f"error:{section}", "error",
                        f"Couldn't load {section}: double-click or press Enter to retry",
                        section=section, error=error)
    return TreeNode(f"loading:{section}", "loading", f"Loading {section}…", section=section)


def _counted(view: View, counts: Mapping[str, int]) -> int | None:
    return counts.get(view.key)


def _pipeline_nodes(state: TreeState) -> list[TreeNode]:
    if state.pipelines is None:
        return [_placeholder("pipelines", state.pipelines_error)]
    out = []
    for pipeline in state.pipelines:
        stages = tuple(
            TreeNode(f"stage:{s.id}", "stage", s.name, stage_view(s),
                     _counted(stage_view(s), state.counts))
            for s in pipeline.stages)
        view = pipeline_view(pipeline)
        out.append(TreeNode(f"pipeline:{pipeline.id}", "pipeline", pipeline.name, view,
                            pipeline_count(pipeline, state.counts), children=stages))
    return out


def _filter_nodes(root: Root, state: TreeState) -> list[TreeNode]:
    if state.filters is None:
        return [_placeholder("filters", state.filters_error)]
    return [TreeNode(f"filter:{f.id}", "filter", f.name, filter_view(f))
            for f in state.filters.get(root.resource, ())]


def build_tree(state: TreeState) -> list[TreeNode]:
    """The top-level nodes with everything beneath, for what ``state`` holds."""
    nodes = []
    for root in ROOTS:
        children: list[TreeNode] = []
        if root.resource == "deals":
            children += _pipeline_nodes(state)
        if root.archived_title and state.show_archived:
            children.append(TreeNode("archived", "archived", root.archived_title,
                                     archived_view(root.resource)))
        if root.filter_type:
            children += _filter_nodes(root, state)
        view = root_view(root.resource)
        nodes.append(TreeNode(root.resource, "resource", root.title, view,
                              _counted(view, state.counts), children=tuple(children)))
    return nodes


def pipeline_count(pipeline: Pipeline, counts: Mapping[str, int]) -> int | None:
    """A pipeline's count: the sum of its stages' once every one is known (a deal is always
    in one stage of its pipeline), else whatever was counted for the pipeline itself."""
    stage_counts = [counts.get(stage_view(s).key) for s in pipeline.stages]
    if pipeline.stages and all(c is not None for c in stage_counts):
        return sum(c for c in stage_counts if c is not None)
    return counts.get(pipeline_view(pipeline).key)


def find(nodes: Sequence[TreeNode], view: View) -> list[int] | None:
    """The row path to the node showing ``view`` (compared by ``view.key``), or None."""
    for row, node in enumerate(nodes):
        if node.view is not None and node.view.key == view.key:
            return [row]
        below = find(node.children, view)
        if below is not None:
            return [row, *below]
    return None


# ---------------------------------------------------------------------- loading


def pipelines_from(pipelines: Iterable[Mapping[str, Any]],
                   stages: Iterable[Mapping[str, Any]]) -> tuple[Pipeline, ...]:
    """Pipelines in their ``order_nr`` order, each with its stages in board order; deleted
    ones are left out."""
    by_pipeline: dict[int, list[Mapping[str, Any]]] = {}
    for stage in stages:
        if not stage.get("is_deleted"):
            by_pipeline.setdefault(int(stage["pipeline_id"]), []).append(stage)

    def order(record: Mapping[str, Any]) -> tuple[int, int]:
        return (int(record.get("order_nr") or 0), int(record["id"]))

    out = []
    for p in sorted((p for p in pipelines if not p.get("is_deleted")), key=order):
        own = sorted(by_pipeline.get(int(p["id"]), ()), key=order)
        out.append(Pipeline(int(p["id"]), str(p.get("name") or f"Pipeline {p['id']}"),
                            tuple(Stage(int(s["id"]), str(s.get("name") or f"Stage {s['id']}"),
                                        int(p["id"])) for s in own)))
    return tuple(out)


def filters_from(records: Iterable[Mapping[str, Any]]) -> dict[str, tuple[SavedFilter, ...]]:
    """Saved filters per resource, by name. Temporary and inactive filters are the web app's
    unsaved edits and deleted filters, so they are left out, as are types the tree has no
    node for (projects)."""
    grouped: dict[str, list[SavedFilter]] = {}
    for record in records:
        resource = FILTER_RESOURCE.get(str(record.get("type")))
        if resource is None or record.get("temporary_flag") or (
                record.get("active_flag") is False):
            continue
        grouped.setdefault(resource, []).append(
            SavedFilter(int(record["id"]), str(record.get("name") or f"Filter {record['id']}"),
                        resource))
    return {r: tuple(sorted(fs, key=lambda f: (f.name.casefold(), f.id)))
            for r, fs in grouped.items()}


async def load_pipelines(client: PipedriveClient) -> tuple[Pipeline, ...]:
    """Every pipeline with its stages (two lists, read concurrently)."""

    async def every(name: str) -> list[dict[str, Any]]:
        return [r async for r in client.iterate(name)]

    pipelines, stages = await asyncio.gather(every("pipelines"), every("stages"))
    return pipelines_from(pipelines, stages)


async def load_filters(client: PipedriveClient) -> dict[str, tuple[SavedFilter, ...]]:
    """Every saved filter, grouped per resource, from one request."""
    return filters_from([r async for r in client.iterate("filters")])
