"""What the sandbox stores: one ``Collection`` per kind of record.

Records are kept in the shape the API returns them:

* v2 entities (deals, persons, organizations, products, activities, pipelines, stages) exactly
  as a v2 GET returns them: RFC 3339 UTC timestamps (``2024-05-01T09:30:00Z``), real booleans,
  numeric ``visible_to``, custom field values nested in ``custom_fields`` keyed by the field's
  40-hex key. The v1 view of these (``related_objects``, ``deals/summary``) is derived.
* v1-only records (leads, notes, users, filters, lead labels, activity types, currencies) as the
  v1 API returns them: ``YYYY-MM-DD HH:MM:SS`` timestamps, except leads and lead labels, which
  Pipedrive returns with ISO timestamps with milliseconds (``2020-10-14T11:30:36.551Z``).
  Lead custom field values (the deal fields) are stored in ``custom_fields`` and flattened on
  output.
* Field definitions (``fields``) in a neutral shape rendered as v1 or v2 by ``fields.py``.

``columns`` are copied out of each record into indexed sqlite columns for filtering, sorting and
keyset paging; every other key lives only in the JSON.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Collection:
    """One kind of record and the scalar columns the store copies out of it.

    Attributes:
        name: collection name used throughout the sandbox (``"deals"``).
        columns: top-level record keys copied into sqlite columns.
        indexed: the subset of ``columns`` that gets an index (``(column, seq)``).
        uuid_ids: True when ids are UUID strings (leads, lead labels), else integers.
        covering: multi-column indexes that answer aggregate queries from the index alone
            (``/deals/summary`` on 100,000 deals), without reading the records' JSON.
    """

    name: str
    columns: tuple[str, ...]
    indexed: tuple[str, ...] = ()
    uuid_ids: bool = False
    covering: tuple[tuple[str, ...], ...] = ()

    @property
    def table(self) -> str:
        return f"c_{self.name}"


_ENTITY = ("owner_id", "add_time", "update_time")

COLLECTIONS: dict[str, Collection] = {
    c.name: c
    for c in (
        Collection(
            "deals",
            (*_ENTITY, "person_id", "org_id", "pipeline_id", "stage_id", "status", "value",
             "currency", "expected_close_date", "is_archived", "title"),
            ("owner_id", "update_time", "add_time", "person_id", "org_id", "pipeline_id",
             "stage_id", "status"),
            covering=(("status", "pipeline_id", "stage_id", "owner_id", "currency", "value",
                       "is_archived", "deleted"),),
        ),
        Collection(
            "persons",
            (*_ENTITY, "org_id", "name"),
            ("owner_id", "update_time", "add_time", "org_id"),
        ),
        Collection(
            "organizations",
            (*_ENTITY, "name"),
            ("owner_id", "update_time", "add_time"),
        ),
        Collection(
            "products",
            (*_ENTITY, "name", "code"),
            ("owner_id", "update_time", "add_time"),
        ),
        Collection(
            "activities",
            (*_ENTITY, "deal_id", "person_id", "org_id", "lead_id", "type", "done", "due_date"),
            ("owner_id", "update_time", "add_time", "deal_id", "person_id", "org_id", "lead_id",
             "due_date"),
        ),
        Collection("pipelines", ("add_time", "update_time", "order_nr")),
        Collection("stages", ("add_time", "update_time", "pipeline_id", "order_nr"),
                   ("pipeline_id",)),
        Collection(
            "leads",
            ("owner_id", "person_id", "organization_id", "is_archived", "add_time",
             "update_time", "title"),
            ("owner_id", "person_id", "organization_id", "update_time", "add_time"),
            uuid_ids=True,
        ),
        Collection("lead_labels", ("add_time",), uuid_ids=True),
        Collection(
            "notes",
            ("user_id", "deal_id", "person_id", "org_id", "lead_id", "add_time", "update_time"),
            ("deal_id", "person_id", "org_id", "lead_id", "update_time"),
        ),
        # Products attached to deals (v2 ``/deals/{id}/products``), in the v2 shape.
        Collection(
            "deal_products",
            ("deal_id", "product_id", "add_time", "update_time", "order_nr"),
            ("deal_id", "product_id"),
        ),
        # Users following a record: ``entity`` is deal|person|organization|product.
        Collection("followers", ("entity", "item_id", "user_id", "add_time"), ("item_id",)),
        # File metadata (v1 shape, ``YYYY-MM-DD HH:MM:SS`` times); the contents are not kept.
        Collection(
            "files",
            ("deal_id", "person_id", "org_id", "product_id", "lead_id", "activity_id",
             "add_time", "update_time"),
            ("deal_id", "person_id", "org_id", "product_id"),
        ),
        Collection("users", ("email", "is_admin")),
        Collection("filters", ("type", "user_id"), ("type",)),
        Collection("activity_types", ("key_string",)),
        Collection("currencies", ("code",)),
        # Field definitions of every entity; ``entity`` is deal|person|organization|product|
        # activity|lead|note, ``key`` the field key (40-hex for custom fields).
        Collection("fields", ("entity", "key"), ("entity",)),
    )
}
