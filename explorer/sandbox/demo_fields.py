"""Demo field definitions (built-in and custom) and saved filters, for ``demo.py``."""

from __future__ import annotations

import random
from typing import Any

from explorer.sandbox.demo_pools import CHANNELS, INDUSTRIES

JSON = dict[str, Any]

# Built-in fields per entity: (key, name, field_type[, option labels | marker]). Markers:
# "optional" (an include_fields value), "yesno" (a flag), "status", "visibility".
# Types are limited to those every v1 *Fields schema and the v2 schema allow, which is why
# flags are yes/no enums and ids and counts are doubles.
_BUILTIN: dict[str, tuple[tuple[Any, ...], ...]] = {
    "deal": (
        ("title", "Title", "varchar"), ("creator_user_id", "Creator", "user"),
        ("owner_id", "Owner", "user"),
        ("value", "Value", "monetary"), ("currency", "Currency", "varchar"),
        ("probability", "Probability", "double"), ("org_id", "Organization", "org"),
        ("pipeline_id", "Pipeline", "double"), ("person_id", "Contact person", "people"),
        ("stage_id", "Stage", "enum", "stages"), ("status", "Status", "enum", "status"),
        ("add_time", "Deal created", "date"), ("update_time", "Update time", "date"),
        ("stage_change_time", "Last stage change", "date"), ("won_time", "Won time", "date"),
        ("lost_time", "Lost time", "date"), ("close_time", "Deal closed on", "date"),
        ("lost_reason", "Lost reason", "varchar"),
        ("visible_to", "Visible to", "visible_to"),
        ("label_ids", "Label", "set", ("Hot", "Warm", "Cold", "Strategic")),
        ("expected_close_date", "Expected close date", "date"),
        ("origin", "Source origin", "varchar"), ("origin_id", "Source origin ID", "varchar"),
        ("channel", "Source channel", "enum", CHANNELS),
        ("channel_id", "Source channel ID", "varchar"),
        ("is_archived", "Archived", "enum", "yesno"),
        ("next_activity_id", "Next activity", "double", "optional"),
        ("last_activity_id", "Last activity", "double", "optional"),
        ("activities_count", "Total activities", "double", "optional"),
        ("done_activities_count", "Done activities", "double", "optional"),
        ("undone_activities_count", "Activities to do", "double", "optional"),
        ("notes_count", "Notes", "double", "optional"),
        ("products_count", "Products", "double", "optional"),
        ("files_count", "Files", "double", "optional"),
        ("followers_count", "Followers", "double", "optional"),
        ("email_messages_count", "Email messages", "double", "optional"),
        ("participants_count", "Participants", "double", "optional"),
    ),
    "person": (
        ("name", "Name", "varchar"), ("first_name", "First name", "varchar"),
        ("last_name", "Last name", "varchar"), ("owner_id", "Owner", "user"),
        ("org_id", "Organization", "org"), ("emails", "Email", "varchar"),
        ("phones", "Phone", "phone"),
        ("label_ids", "Labels", "set", ("Customer", "Hot lead", "Warm lead", "Cold lead")),
        ("visible_to", "Visible to", "visible_to"), ("add_time", "Person created", "date"),
        ("update_time", "Update time", "date"), ("postal_address", "Postal address", "address"),
        ("birthday", "Birthday", "date"), ("job_title", "Job title", "varchar"),
        ("next_activity_id", "Next activity", "double", "optional"),
        ("activities_count", "Total activities", "double", "optional"),
        ("notes_count", "Notes", "double", "optional"),
    ),
    "organization": (
        ("name", "Name", "varchar"), ("owner_id", "Owner", "user"),
        ("address", "Address", "address"),
        ("label_ids", "Labels", "set", ("Customer", "Hot lead", "Warm lead", "Cold lead")),
        ("visible_to", "Visible to", "visible_to"),
        ("add_time", "Organization created", "date"), ("update_time", "Update time", "date"),
        ("website", "Website", "varchar"), ("linkedin", "LinkedIn profile", "varchar"),
        ("industry", "Industry", "enum", INDUSTRIES),
        ("annual_revenue", "Annual revenue", "double"),
        ("employee_count", "Number of employees", "double"),
        ("next_activity_id", "Next activity", "double", "optional"),
        ("people_count", "People", "double", "optional"),
        ("notes_count", "Notes", "double", "optional"),
    ),
    "product": (
        ("name", "Name", "varchar"), ("code", "Product code", "varchar"),
        ("unit", "Unit", "varchar"), ("tax", "Tax", "double"),
        ("category", "Category", "varchar"), ("is_linkable", "Linkable", "enum", "yesno"),
        ("owner_id", "Owner", "user"), ("visible_to", "Visible to", "enum", "visibility"),
        ("prices", "Price", "monetary"), ("description", "Description", "text"),
        ("billing_frequency", "Billing frequency", "varchar"),
        ("billing_frequency_cycles", "Billing cycles", "double"),
        ("add_time", "Product created", "date"), ("update_time", "Update time", "date"),
    ),
    "activity": (
        ("subject", "Subject", "varchar"), ("type", "Type", "varchar"),
        ("due_date", "Due date", "date"), ("due_time", "Due time", "time"),
        ("duration", "Duration", "time"), ("done", "Done", "enum", "yesno"),
        ("busy", "Busy", "enum", "yesno"), ("owner_id", "Assigned to user", "user"),
        ("creator_user_id", "Creator", "user"), ("deal_id", "Deal", "double"),
        ("lead_id", "Lead", "varchar"), ("person_id", "Contact person", "people"),
        ("org_id", "Organization", "org"), ("location", "Location", "address"),
        ("note", "Note", "text"), ("public_description", "Public description", "text"),
        ("priority", "Priority", "enum", ("High", "Medium", "Low")),
        ("marked_as_done_time", "Marked as done time", "date"),
        ("add_time", "Add time", "date"), ("update_time", "Update time", "date"),
    ),
    "note": (
        ("content", "Content", "text"), ("deal_id", "Deal", "double"),
        ("person_id", "Person", "people"), ("org_id", "Organization", "org"),
        ("lead_id", "Lead", "varchar"), ("user_id", "User", "user"),
        ("pinned_to_deal_flag", "Pinned to deal", "enum", "yesno"),
        ("pinned_to_person_flag", "Pinned to person", "enum", "yesno"),
        ("pinned_to_organization_flag", "Pinned to organization", "enum",
         "yesno"),
        ("add_time", "Add time", "date"), ("update_time", "Update time", "date"),
    ),
    "lead": (
        ("title", "Title", "varchar"), ("owner_id", "Owner", "user"),
        ("creator_id", "Creator", "user"), ("person_id", "Contact person", "people"),
        ("organization_id", "Organization", "org"), ("value", "Value", "monetary"),
        ("expected_close_date", "Expected close date", "date"),
        ("source_name", "Source", "varchar"), ("origin", "Source origin", "varchar"),
        ("is_archived", "Archived", "enum", "yesno"), ("was_seen", "Seen", "enum", "yesno"),
        ("visible_to", "Visible to", "visible_to"), ("add_time", "Lead created", "date"),
        ("update_time", "Update time", "date"),
    ),
}

# Custom fields: (entity, name, field_type, option labels | value hint, share of records set).
CUSTOM: tuple[tuple[str, str, str, Any, float], ...] = (
    ("deal", "Deal source", "enum",
     ("Inbound", "Outbound", "Referral", "Partner", "Event", "Existing customer"), 0.7),
    ("deal", "Products of interest", "set",
     ("CRM", "Analytics", "Support", "Training", "Hardware", "Consulting"), 0.5),
    ("deal", "Competitor", "varchar", "competitor", 0.35),
    ("deal", "Next steps", "text", "next_steps", 0.3),
    ("deal", "Contract length (months)", "double", "months", 0.45),
    ("deal", "Annual budget", "monetary", "budget", 0.4),
    ("deal", "Renewal date", "date", "future_date", 0.3),
    ("deal", "Account manager", "user", None, 0.5),
    ("deal", "Partner organization", "org", None, 0.15),
    ("deal", "Decision maker", "people", None, 0.3),
    ("deal", "Direct line", "phone", None, 0.25),
    ("deal", "Delivery address", "address", None, 0.2),
    ("person", "Preferred language", "enum",
     ("English", "German", "French", "Swedish", "Spanish", "Estonian", "Japanese"), 0.6),
    ("person", "Newsletter topics", "set",
     ("Product updates", "Events", "Webinars", "Case studies"), 0.35),
    ("person", "LinkedIn URL", "varchar", "linkedin", 0.4),
    ("person", "Lead score", "double", "score", 0.5),
    ("person", "Last met at event", "date", "past_date", 0.2),
    ("person", "Assistant phone", "phone", None, 0.1),
    ("person", "Relationship owner", "user", None, 0.3),
    ("organization", "Customer tier", "enum", ("Strategic", "Key account", "Standard", "SMB"),
     0.7),
    ("organization", "Industries served", "set",
     ("Automotive", "Retail", "Healthcare", "Finance", "Public sector", "Logistics",
      "Education"), 0.45),
    ("organization", "VAT number", "varchar", "vat", 0.5),
    ("organization", "Support phone", "phone", None, 0.35),
    ("organization", "Billing address", "address", None, 0.4),
    ("organization", "Annual budget", "monetary", "budget", 0.3),
    ("organization", "Contract renewal date", "date", "future_date", 0.3),
    ("organization", "Account manager", "user", None, 0.6),
    ("organization", "Parent organization", "org", None, 0.06),
    ("organization", "Account notes", "text", "account_notes", 0.2),
    ("organization", "Number of locations", "double", "locations", 0.3),
    ("product", "Product family", "enum", ("Platform", "Add-on", "Service", "Hardware"), 0.9),
    ("product", "Available regions", "set", ("EU", "UK", "North America", "APAC"), 0.7),
    ("product", "Supplier SKU", "varchar", "sku", 0.5),
    ("product", "Weight (kg)", "double", "weight", 0.3),
    ("product", "Spec sheet", "text", "spec", 0.3),
    ("product", "Launch date", "date", "past_date", 0.5),
)


_FIXED_OPTIONS: dict[str, list[JSON]] = {
    "yesno": [{"id": 1, "label": "Yes", "color": None}, {"id": 0, "label": "No", "color": None}],
    # Built-in options have string ids in v2 ("string for built-in fields").
    "status": [{"id": s, "label": s.capitalize(), "color": None}
               for s in ("open", "won", "lost", "deleted")],
    "visibility": [{"id": 1, "label": "Owner & followers", "color": None},
                   {"id": 3, "label": "Entire company", "color": None}],
}
_FIRST_OPTION_ID = 100  # clear of the stage ids and flag values some options carry


class FieldSet:
    """Builds the field records, handing out unique field ids and option ids.

    Attributes:
        records: every field record built so far.
        by_key: ``(entity, key)`` → field record.
        custom: entity → its custom field records with their (hint, share of records set).
        stages: ``(stage id, label)`` pairs, the options of the deal ``stage_id`` field.
    """

    def __init__(self, rng: random.Random, time: str) -> None:
        self.rng = rng
        self.time = time
        self.records: list[JSON] = []
        self.by_key: dict[tuple[str, str], JSON] = {}
        self.custom: dict[str, list[tuple[JSON, Any, float]]] = {}
        self.stages: list[tuple[int, str]] = []
        self._option_id = _FIRST_OPTION_ID
        self._order: dict[str, int] = {}

    def _options(self, spec: Any) -> list[JSON] | None:
        if spec == "stages":
            return [{"id": sid, "label": label, "color": None} for sid, label in self.stages]
        if isinstance(spec, str):
            fixed = _FIXED_OPTIONS.get(spec)
            return None if fixed is None else [dict(o) for o in fixed]
        if spec is None:
            return None
        out = []
        for label in spec:
            self._option_id += 1
            out.append({"id": self._option_id, "label": label, "color": None})
        return out

    def _add(self, entity: str, key: str, name: str, ftype: str, custom: bool,
             options: Any) -> JSON:
        order = self._order[entity] = self._order.get(entity, -1) + 1
        record: JSON = {
            "id": 12000 + len(self.records) + 1, "entity": entity, "key": key, "name": name,
            "field_type": ftype, "is_custom": custom, "order_nr": order,
            "options": self._options(options),
            "mandatory": key == "title" and not custom, "add_time": self.time,
            "update_time": self.time, "is_optional_response_field": options == "optional",
            # The admin set the account up, built-in fields included.
            "created_by_user_id": 1, "last_updated_by_user_id": 1,
        }
        self.records.append(record)
        self.by_key[(entity, key)] = record
        return record

    def build(self) -> list[JSON]:
        for entity, specs in _BUILTIN.items():
            for spec in specs:
                key, name, ftype = spec[:3]
                self._add(entity, key, name, ftype, False, spec[3] if len(spec) > 3 else None)
        for entity, name, ftype, extra, share in CUSTOM:
            key = f"{self.rng.getrandbits(160):040x}"
            record = self._add(entity, key, name, ftype, True,
                               extra if isinstance(extra, tuple) else None)
            self.custom.setdefault(entity, []).append((record, extra, share))
        return self.records

    def option_ids(self, entity: str, key: str) -> list[int]:
        return [o["id"] for o in self.by_key[(entity, key)]["options"]]

    def field_id(self, entity: str, key: str) -> str:
        return str(self.by_key[(entity, key)]["id"])


# ---------------------------------------------------------------------- saved filters

_OBJECT = {"deals": "deal", "leads": "lead", "org": "organization", "people": "person",
           "products": "product", "activity": "activity"}
_ENTITY = {"deals": "deal", "leads": "lead", "org": "organization", "people": "person",
           "products": "product", "activity": "activity"}

# (type, name, owner user id, visible_to, [(field key, operator, value)], "or" group)
_FILTERS: tuple[tuple[str, str, int, str, tuple[tuple[str, str, str | None], ...],
                      tuple[tuple[str, str, str | None], ...]], ...] = (
    ("deals", "Open deals in Sales pipeline", 1, "3",
     (("status", "=", "open"), ("pipeline_id", "=", "1")), ()),
    ("deals", "My open deals", 1, "1", (("owner_id", "=", "1"), ("status", "=", "open")), ()),
    ("deals", "Big deals over 50k", 1, "3", (("value", ">", "50000"),), ()),
    ("deals", "Won deals", 2, "3", (("status", "=", "won"),), ()),
    ("deals", "Deals in GBP or USD", 3, "3", (),
     (("currency", "=", "GBP"), ("currency", "=", "USD"))),
    ("deals", "Partner point deals", 1, "3", (("currency", "=", "PTS"),), ()),
    ("leads", "My leads", 1, "1", (("owner_id", "=", "1"),), ()),
    ("leads", "Leads without an organization", 1, "3",
     (("organization_id", "IS NULL", None),), ()),
    ("leads", "Archived leads", 2, "3", (("is_archived", "=", "1"),), ()),
    ("org", "My organizations", 1, "1", (("owner_id", "=", "1"),), ()),
    ("org", "Organizations added in 2026", 1, "3", (("add_time", ">=", "2026-01-01"),), ()),
    ("people", "Contacts without an organization", 1, "3", (("org_id", "IS NULL", None),), ()),
    ("people", "My contacts", 1, "1", (("owner_id", "=", "1"),), ()),
    ("products", "Licence products", 1, "3", (), (("code", "LIKE '$%'", "CRM"),
                                                   ("code", "LIKE '$%'", "API"))),
    ("products", "Products owned by me", 1, "1", (("owner_id", "=", "1"),), ()),
    ("activity", "My open activities", 1, "1", (("owner_id", "=", "1"), ("done", "=", "0")),
     ()),
    ("activity", "Calls", 1, "3", (("type", "=", "call"),), ()),
    ("activity", "Meetings and demos", 2, "3", (),
     (("type", "=", "meeting"), ("type", "=", "product_demo"))),
)


def _condition(fields: FieldSet, ftype: str, key: str, op: str, value: str | None) -> JSON:
    return {"object": _OBJECT[ftype], "field_id": fields.field_id(_ENTITY[ftype], key),
            "operator": op, "value": value, "extra_value": None, "json_value_flag": False,
            "field_code": None}


def filters(fields: FieldSet, add_time: str, used_time: str) -> list[JSON]:
    """The saved filters, in the v1 ``/filters`` shape."""
    out = []
    for i, (ftype, name, user, visible, all_of, any_of) in enumerate(_FILTERS, start=1):
        out.append({
            "id": i, "name": name, "filter_code": None, "is_editable": True,
            "active_flag": True, "type": ftype, "temporary_flag": None, "user_id": user,
            "add_time": add_time, "update_time": add_time, "visible_to": visible,
            "last_used_time": used_time if i % 3 else None, "custom_view_id": None,
            "conditions": {"glue": "and", "conditions": [
                {"glue": "and", "conditions": [_condition(fields, ftype, *c) for c in all_of]},
                {"glue": "or", "conditions": [_condition(fields, ftype, *c) for c in any_of]},
            ]},
        })
    return out
