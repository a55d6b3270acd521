"""What a detail pane shows of a record: its fields in groups, its title, where its links go,
and which related lists it has as tabs.

Pure: the Qt models turn this into rows. Every field of the record is shown, main and custom:
the catalog's fields (custom ones by their names) and any key the record carries that no field
describes (under a readable name), grouped as the Pipedrive web app's sidebar groups them:

- **Summary**: what identifies the record (value, status, stage, owner, the person and
  organization); its title or name is the pane's heading, not a row repeating it;
- **Custom fields**: every custom field, in the catalog's order;
- **Details**: the other built-in fields;
- **System**: ids, creation and update times, counts, source and visibility.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any, Literal

from explorer.api import Field

# "Persons", as the resource tree (and the issue) says: one word for them across the window.
LABELS = {"deals": "Deals", "leads": "Leads", "persons": "Persons",
          "organizations": "Organizations", "activities": "Activities", "notes": "Notes",
          "products": "Products", "users": "Users"}

SUMMARY_KEYS: dict[str, tuple[str, ...]] = {
    "deals": ("title", "value", "status", "pipeline_id", "stage_id", "owner_id", "person_id",
              "org_id", "expected_close_date", "probability", "label_ids"),
    "leads": ("title", "value", "owner_id", "person_id", "organization_id", "label_ids",
              "expected_close_date", "source_name"),
    "persons": ("name", "org_id", "emails", "phones", "job_title", "owner_id", "label_ids"),
    "organizations": ("name", "address", "owner_id", "label_ids", "industry", "website"),
    "activities": ("subject", "type", "due_date", "due_time", "duration", "done", "owner_id",
                   "deal_id", "lead_id", "person_id", "org_id"),
    "notes": ("content", "user_id", "deal_id", "lead_id", "person_id", "org_id"),
    "products": ("name", "code", "prices", "unit", "tax", "owner_id"),
    "users": ("name", "email", "active_flag", "is_admin", "role_id"),
}
_SYSTEM = {"id", "add_time", "update_time", "creator_user", "creator_user_id", "creator_id",
           "user_id", "is_deleted", "is_archived", "archive_time", "visible_to", "origin",
           "origin_id", "channel", "channel_id", "source_lead_id", "source_deal_id",
           "next_activity_id", "last_activity_id", "cc_email", "smart_bcc_email", "was_seen",
           "company_id", "last_update_user_id", "active_flag", "stage_change_time",
           "stage_change", "first_won_time", "last_incoming_mail_time",
           "last_outgoing_mail_time", "next_activity", "last_activity"}
# Keys a record carries beside an id key that already shows them (v1 notes: ``person``
# {name} beside ``person_id``), and containers of values shown elsewhere.
_SKIP = {"custom_fields", "person", "organization", "user", "deal", "lead", "org",
         "related_item_data"}
_CUSTOM_KEY = re.compile(r"^[0-9a-f]{40}")

GROUPS = ("Summary", "Custom fields", "Details", "System")

# Field → the resource its value refers to (a link in the pane).
LINK_KEYS = {"person_id": "persons", "org_id": "organizations", "organization_id":
             "organizations", "deal_id": "deals", "lead_id": "leads", "product_id": "products",
             "owner_id": "users", "user_id": "users", "creator_user_id": "users"}
LINK_TYPES = {"people": "persons", "org": "organizations", "deal": "deals", "user": "users"}


def group_fields(resource: str, record: Mapping[str, Any],
                 fields: Iterable[Field]) -> list[tuple[str, list[Field]]]:
    """``[(group title, fields)]`` for every field of ``record`` (groups in ``GROUPS`` order,
    empty groups left out). A catalog field whose key the record carries under a longer
    name (``stage_change`` as ``stage_change_time``) reads that key."""
    summary_keys = SUMMARY_KEYS.get(resource, ())
    groups: dict[str, list[Field]] = {g: [] for g in GROUPS}
    heading = heading_key(record)
    seen: set[str] = {heading} if heading else set()
    summary: dict[str, Field] = {}
    for field in fields:
        field = _as_carried(field, record)
        if field.key in seen:
            continue
        seen.add(field.key)
        if field.is_custom:
            groups["Custom fields"].append(field)
        elif field.key in summary_keys:
            summary[field.key] = field
        else:
            groups[_builtin_group(field.key)].append(field)
    for key, value in record.items():
        if key in seen or key in _SKIP or _CUSTOM_KEY.match(key):
            continue
        field = synthetic(resource, key, value)
        seen.add(key)
        if key in summary_keys:
            summary[key] = field
        else:
            groups[_builtin_group(key)].append(field)
    groups["Summary"] = [summary[k] for k in summary_keys if k in summary]
    groups["System"].sort(key=lambda f: f.key != "id")  # the id first, the rest in order
    return [(title, groups[title]) for title in GROUPS if groups[title]]


def _builtin_group(key: str) -> str:
    return "System" if key in _SYSTEM or key.endswith("_count") else "Details"


def _as_carried(field: Field, record: Mapping[str, Any]) -> Field:
    if field.is_custom or field.key in record:
        return field
    for longer in (f"{field.key}_time", f"{field.key}_id"):
        if longer in record:
            return Field(field.resource, longer, field.name, field.type, False, field.editable,
                         field.options)
    return field


# Names for keys no field catalog describes (notes have one field of metadata, users none),
# as the web app labels them: what an id refers to, not "Org id".
KEY_NAMES = {"deal_id": "Deal", "person_id": "Person", "org_id": "Organization",
             "organization_id": "Organization", "lead_id": "Lead", "user_id": "Owner",
             "owner_id": "Owner", "creator_user_id": "Creator", "product_id": "Product",
             "last_update_user_id": "Last updated by", "add_time": "Created",
             "update_time": "Updated", "active_flag": "Active", "is_admin": "Admin",
             "role_id": "Role", "timezone_name": "Time zone", "timezone_offset": "UTC offset",
             "lang": "Language", "icon_url": "Picture URL", "is_you": "You",
             "has_created_company": "Created the company", "default_currency":
             "Default currency", "last_login": "Last login", "created": "Created",
             "modified": "Updated", "id": "ID", "label_ids": "Labels", "arr": "ARR",
             "mrr": "MRR", "acv": "ACV",
             "cc_email": "CC email", "source_lead_id": "Source lead",
             "source_deal_id": "Source deal", "archive_time": "Archived on",
             "was_seen": "Seen", "origin_id": "Source origin ID", "channel_id":
             "Source channel ID", "next_activity_id": "Next activity"}
# Keys whose 0 / 1 (or true / false) is a yes-or-no (users' ``is_admin`` is 0 or 1).
FLAG_KEYS = frozenset({"active_flag", "is_admin", "is_you", "activated", "is_deleted",
                       "has_created_company"})


def key_name(key: str, resource: str = "") -> str:
    """A readable name for a record key no catalog names (``org_id`` → ``Organization``)."""
    if resource == "notes" and key == "user_id":
        return "Author"  # a note's user is who wrote it (the API: "the author of the note")
    return KEY_NAMES.get(key) or key.replace("_", " ").strip().capitalize()


def synthetic(resource: str, key: str, value: Any) -> Field:
    """A field for a key no catalog describes: a readable name, a type guessed from the key."""
    if key.endswith(("_time", "_date")) or key in ("birthday",):
        ftype = "date"
    elif isinstance(value, bool) or key in FLAG_KEYS:
        ftype = "boolean"
    else:
        ftype = "varchar"
    return Field(resource, key, key_name(key, resource), ftype, False, False)


def link_target(field: Field, value: Any) -> tuple[str, Any] | None:
    """``(resource, id)`` the value of ``field`` refers to, if it is a link."""
    target = LINK_TYPES.get(field.type) if field.is_custom else LINK_KEYS.get(field.key)
    if target is None:
        return None
    ident = reference_id(value)
    return None if ident is None else (target, ident)


def reference_id(value: Any) -> Any:
    """The id in a reference as records carry it (``7``, ``7.0``, v1 ``{"value": 7}``)."""
    if isinstance(value, dict):
        value = value.get("value", value.get("id"))
    if isinstance(value, bool) or value is None or value == "":
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value if isinstance(value, int | str) else None


def heading_key(record: Mapping[str, Any]) -> str | None:
    """The key whose whole text is the pane's heading (``title``, ``name``, ``subject``), so
    the fields leave it out; None when the heading is made otherwise (a note's content is
    cut to 40 characters: its row stays)."""
    for key in ("title", "name", "subject"):
        value = record.get(key)
        if isinstance(value, str) and value.strip():
            return key
    return None


def record_title(resource: str, record: Mapping[str, Any] | None, record_id: Any = None) -> str:
    """What a crumb and the pane's heading call a record."""
    record = record or {}
    key = heading_key(record)
    if key is not None:
        return str(record[key]).strip()
    content = record.get("content")
    if isinstance(content, str) and content.strip():
        text = plain_text(content)
        return text if len(text) <= 40 else text[:39].rstrip() + "…"
    ident = record.get("id", record_id)
    singular = LABELS.get(resource, resource).rstrip("s")
    return f"{singular} #{ident}" if ident is not None else singular


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("br", "p", "div", "li"):
            self.parts.append(" ")


def plain_text(html: str) -> str:
    """Note content (HTML) as one line of text."""
    parser = _Text()
    parser.feed(html)
    parser.close()
    return " ".join("".join(parser.parts).split())


# ---------------------------------------------------------------------- related tabs

TabKind = Literal["list", "related", "link", "history"]


@dataclass(frozen=True)
class TabSpec:
    """One related tab of a record.

    Attributes:
        key: stable name (``deals``, ``person``, ``history``): remembered per place.
        title: what the tab says (a count is added when known).
        kind: ``list`` (a resource list filtered by this record: ``target`` with
            ``filter_key``), ``related`` (a list below the record: ``client.related_page``
            ``name``), ``link`` (the one record the field ``filter_key`` refers to),
            ``history`` (the changelog).
        target: the resource of the rows (``deals``, ``persons``; for ``related`` lists the
            resource a row navigates to).
        filter_key: the list filter (``person_id``) or, for ``link``, the record's field.
        name: the related list's name (``products``, ``changelog``).
        count_key: the ``include_fields`` count of the record that gives this tab's count
            before it is loaded (``activities_count``), if any.
        archived: list the archived records too (deals, leads: their archived lists are
            separate endpoints; a person's only deal may be archived).
    """

    key: str
    title: str
    kind: TabKind
    target: str = ""
    filter_key: str = ""
    name: str = ""
    count_key: str = ""
    archived: bool = False


def _list(target: str, filter_key: str, count_key: str = "") -> TabSpec:
    return TabSpec(target, LABELS[target], "list", target, filter_key, count_key=count_key,
                   archived=target in ("deals", "leads"))


_HISTORY = TabSpec("history", "History", "history", name="changelog")
TABS: dict[str, tuple[TabSpec, ...]] = {
    "persons": (_list("deals", "person_id"), _list("leads", "person_id"),
                _list("activities", "person_id", "activities_count"),
                _list("notes", "person_id", "notes_count"), _HISTORY),
    "organizations": (_list("persons", "org_id", "people_count"), _list("deals", "org_id"),
                      _list("leads", "organization_id"),
                      _list("activities", "org_id", "activities_count"),
                      _list("notes", "org_id", "notes_count"), _HISTORY),
    "deals": (TabSpec("person", "Person", "link", "persons", "person_id"),
              TabSpec("organization", "Organization", "link", "organizations", "org_id"),
              TabSpec("products", "Products", "related", "products", name="products",
                      count_key="products_count"),
              TabSpec("participants", "Participants", "related", "persons",
                      name="participants", count_key="participants_count"),
              TabSpec("followers", "Followers", "related", "users", name="followers",
                      count_key="followers_count"),
              _list("activities", "deal_id", "activities_count"),
              _list("notes", "deal_id", "notes_count"), _HISTORY),
    "leads": (TabSpec("person", "Person", "link", "persons", "person_id"),
              TabSpec("organization", "Organization", "link", "organizations",
                      "organization_id"),
              _list("notes", "lead_id")),
}

# The counts one GET can carry (v2 ``include_fields``), so tabs show them before loading.
INCLUDE_COUNTS = {resource: ",".join(t.count_key for t in tabs if t.count_key)
                  for resource, tabs in TABS.items()
                  if resource in ("deals", "persons", "organizations")}


def tabs_for(resource: str) -> tuple[TabSpec, ...]:
    return TABS.get(resource, ())
