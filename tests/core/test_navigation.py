"""Back / forward history and breadcrumbs (pure), changelog rows and field grouping."""

from __future__ import annotations

from typing import Any

from explorer.api import Field
from explorer.core import history
from explorer.core.detail_fields import LABELS, group_fields, link_target, record_title
from explorer.core.navigation import NavigationHistory


def test_back_forward_and_a_new_visit_drops_the_forward_places() -> None:
    nav = NavigationHistory()
    nav.visit("deals", 1, title="Big deal", root=True)
    nav.visit("persons", 7, title="Ann Smith")
    nav.visit("organizations", 3, title="Acme")
    assert nav.back() is not None and nav.current is not None
    assert (nav.current.resource, nav.current.record_id) == ("persons", 7)
    assert nav.can_back and nav.can_forward
    nav.visit("deals", 9, title="Other deal")
    assert not nav.can_forward
    assert [p.record_id for p in nav.places] == [1, 7, 9]
    assert nav.back() is not None and nav.back() is not None and nav.back() is None
    assert nav.forward() is not None and nav.current is not None
    assert nav.current.record_id == 7


def test_visiting_the_current_record_adds_no_step() -> None:
    nav = NavigationHistory()
    nav.visit("deals", 1, root=True)
    place, added = nav.visit("deals", "1", title="Now named")
    assert not added and place.title == "Now named" and len(nav.places) == 1


def test_crumbs_follow_the_trail_from_the_last_table_selection() -> None:
    nav = NavigationHistory()
    nav.visit("deals", 1, title="Big deal", root=True)
    nav.visit("persons", 7, title="Ann Smith")
    assert [c.label for c in nav.crumbs(LABELS)] == ["Deals", "Big deal", "Ann Smith"]
    assert [c.index for c in nav.crumbs(LABELS)] == [None, 0, 1]
    nav.visit("persons", 8, title="Bob Jones", root=True)  # selected in the table
    assert [c.label for c in nav.crumbs(LABELS)] == ["Persons", "Bob Jones"]
    nav.back()
    assert [c.label for c in nav.crumbs(LABELS)] == ["Deals", "Big deal", "Ann Smith"]
    nav.go(0)
    assert [c.label for c in nav.crumbs(LABELS)] == ["Deals", "Big deal"]
    assert nav.can_forward


def test_the_oldest_places_drop_out_beyond_the_limit() -> None:
    nav = NavigationHistory(limit=3)
    nav.visit("deals", 1, root=True)
    for n in range(2, 6):
        nav.visit("persons", n)
    assert [p.record_id for p in nav.places] == [3, 4, 5]
    assert nav.places[0].root and nav.index == 2
    assert [c.index for c in nav.crumbs()] == [None, 0, 1, 2]


STAGE = Field("deals", "stage_id", "Stage", "enum", False, True)
OWNER = Field("deals", "owner_id", "Owner", "user", False, True)
SOURCE = Field("deals", "a" * 40, "Deal source", "enum", True, True)
VALUE = Field("deals", "value", "Value", "monetary", False, True)


def fmt(field: Field, value: Any) -> str:
    return f"{field.key[:5]}={value!r}"


def test_changelog_values_become_what_the_field_holds_newest_first() -> None:
    fields = {f.key: f for f in (STAGE, OWNER, SOURCE, VALUE)}
    entries = [
        {"field_key": "stage_id", "old_value": "1", "new_value": "3", "actor_user_id": 2,
         "time": "2026-10-02 10:00:00"},
        {"field_key": "a" * 40, "old_value": None, "new_value": "12", "actor_user_id": 1,
         "time": "2026-10-03 09:00:00"},
        {"field_key": "value", "old_value": "100", "new_value": "250.5",
         "time": "2026-10-01 08:00:00"},
        {"field_key": "lost_reason", "old_value": "", "new_value": "Price",
         "time": "2026-09-01 08:00:00"},
    ]
    rows = history.change_rows("deals", entries, fields, fmt,
                               lambda i: {1: "Alex", 2: "Sofia"}.get(i))
    assert [r.field for r in rows] == ["Deal source", "Stage", "Value", "Lost reason"]
    assert (rows[0].old, rows[0].new, rows[0].who) == ("aaaaa=None", "aaaaa=12", "Alex")
    assert (rows[1].old, rows[1].new, rows[1].who) == ("stage=1", "stage=3", "Sofia")
    assert (rows[2].old, rows[2].new, rows[2].who) == ("value=100", "value=250.5", "")
    assert rows[3].new == "lost_='Price'"
    refs = history.references("deals", entries, fields)
    assert refs == {"user": {1, 2}, "stage": {1, 3}}


def test_fields_are_grouped_and_unknown_keys_kept() -> None:
    title = Field("deals", "title", "Title", "varchar", False, True)
    change = Field("deals", "stage_change", "Last stage change", "date", False, False)
    record = {"id": 4, "title": "Big deal", "stage_id": 2, "owner_id": 1, "arr": None,
              "stage_change_time": "2026-10-01T00:00:00Z", "custom_fields": {"a" * 40: 12}}
    groups = dict(group_fields("deals", record, [title, STAGE, OWNER, SOURCE, change]))
    # The title is the pane's heading: no row repeats it.
    assert [f.name for f in groups["Summary"]] == ["Stage", "Owner"]
    assert "title" not in [f.key for fields in groups.values() for f in fields]
    assert [f.name for f in groups["Custom fields"]] == ["Deal source"]
    assert "Last stage change" in [f.name for f in groups["System"]]
    assert [f.key for f in groups["System"] if f.name == "Last stage change"] == [
        "stage_change_time"]
    assert "ARR" in [f.name for f in groups["Details"]]
    assert "ID" in [f.name for f in groups["System"]]
    assert link_target(OWNER, 1) == ("users", 1)
    assert link_target(Field("deals", "person_id", "Person", "people", False, True),
                       {"value": 7, "name": "Ann"}) == ("persons", 7)
    assert record_title("notes", {"content": "<p>Hello <b>there</b></p>"}) == "Hello there"
