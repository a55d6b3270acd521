"""v2 deals, persons, organizations, products and activities (``/api/v2``)."""

from __future__ import annotations

from explorer.sandbox.entities import EntityKind, check_refs, check_visible_to, register
from explorer.sandbox.http import JSON, ApiProblem, v2_time
from explorer.sandbox.routing import Router, Sandbox

router = Router("v2")


# ---------------------------------------------------------------------- deals


def _check_deal(sb: Sandbox, body: JSON, old: JSON | None) -> None:
    store = sb.store
    currency = body.get("currency")
    if currency is not None and not store.count("currencies", [("code = ?", (currency,))]):
        raise ApiProblem(400, "Unknown currency provided!",
                         f"'{currency}' is neither a real nor a custom currency of the company.")
    stage_id = body.get("stage_id")
    if stage_id is not None and store.get("stages", stage_id) is None:
        raise ApiProblem(400, f"Stage with id {stage_id} not found")
    pipeline_id = body.get("pipeline_id")
    if pipeline_id is not None and store.get("pipelines", pipeline_id) is None:
        raise ApiProblem(400, f"Pipeline with id {pipeline_id} not found")
    status = body.get("status")
    if status is not None and status not in ("open", "won", "lost"):
        raise ApiProblem(400, f"Invalid status '{status}'", "Use open, won or lost.")


def _deal_defaults(sb: Sandbox, user: int) -> JSON:
    pipelines = sb.store.select("pipelines", order_by=(("order_nr", "ASC"), ("seq", "ASC")),
                                limit=1)
    pipeline_id = pipelines[0]["id"] if pipelines else None
    stages = sb.store.select("stages", [("pipeline_id = ?", (pipeline_id,))],
                             order_by=(("order_nr", "ASC"), ("seq", "ASC")), limit=1)
    currency = sb.store.get_meta("default_currency") or "EUR"
    return {
        "title": None, "owner_id": user, "person_id": None, "org_id": None,
        "pipeline_id": pipeline_id, "stage_id": stages[0]["id"] if stages else None,
        "value": 0, "currency": currency, "is_deleted": False, "is_archived": False,
        "status": "open", "probability": None, "lost_reason": None, "visible_to": 3,
        "close_time": None, "won_time": None, "lost_time": None, "expected_close_date": None,
        "label_ids": [], "origin": "API", "origin_id": None, "channel": None,
        "channel_id": None, "source_lead_id": None, "arr": None, "mrr": None, "acv": None,
    }


def _deal_written(sb: Sandbox, deal: JSON, old: JSON | None) -> None:
    """Keep stage and pipeline consistent and stamp status and stage changes."""
    now = v2_time(sb.clock.now())
    if deal.get("stage_id") is not None:
        stage = sb.store.get("stages", deal["stage_id"])
        if stage is not None:
            if old is not None and deal.get("pipeline_id") != old.get("pipeline_id") and (
                deal["stage_id"] == old.get("stage_id")
            ):
                raise ApiProblem(400, "Stage does not belong to the pipeline",
                                 "Send a stage_id of the new pipeline with pipeline_id.")
            deal["pipeline_id"] = stage["pipeline_id"]
    if old is None or deal.get("stage_id") != old.get("stage_id"):
        deal["stage_change_time"] = now
    status, before = deal.get("status"), (old or {}).get("status")
    if status != before:
        deal["won_time"] = now if status == "won" else None
        deal["lost_time"] = now if status == "lost" else None
        deal["close_time"] = now if status in ("won", "lost") else None
        if status != "lost":
            deal["lost_reason"] = None


def _deal_counts(store: object, rows: list[JSON], include: set[str]) -> None:
    from explorer.sandbox.store import Store

    assert isinstance(store, Store)
    for row in rows:
        _activity_counts(store, row, include, "deal_id")
        if "notes_count" in include:
            row["notes_count"] = store.count("notes", [("deal_id = ?", (row["id"],))])
        for key in ("products_count", "files_count", "followers_count", "email_messages_count",
                    "participants_count"):
            if key in include:
                row[key] = 0


def _activity_counts(store: object, row: JSON, include: set[str], column: str) -> None:
    from explorer.sandbox.store import Store

    assert isinstance(store, Store)
    key = (f"{column} = ?", (row["id"],))
    if "activities_count" in include:
        row["activities_count"] = store.count("activities", [key])
    if "done_activities_count" in include:
        row["done_activities_count"] = store.count("activities", [key, ("done = 1", ())])
    if "undone_activities_count" in include:
        row["undone_activities_count"] = store.count("activities", [key, ("done = 0", ())])
    if "next_activity_id" in include:
        nxt = store.select("activities", [key, ("done = 0", ())],
                           order_by=(("due_date", "ASC"), ("seq", "ASC")), limit=1)
        row["next_activity_id"] = nxt[0]["id"] if nxt else None
    if "last_activity_id" in include:
        last = store.select("activities", [key, ("done = 1", ())],
                            order_by=(("due_date", "DESC"), ("seq", "DESC")), limit=1)
        row["last_activity_id"] = last[0]["id"] if last else None


DEALS = EntityKind(
    collection="deals",
    path="deals",
    label="Deal",
    field_entity="deal",
    filters={"owner_id": "owner_id", "person_id": "person_id", "org_id": "org_id",
             "pipeline_id": "pipeline_id", "stage_id": "stage_id"},
    required=("title",),
    rules=(check_visible_to, check_refs, _check_deal),
    defaults=_deal_defaults,
    derive=_deal_counts,  # type: ignore[arg-type]
    keep_null=frozenset({"probability", "lost_reason", "close_time", "origin_id", "channel",
                         "channel_id", "source_lead_id", "arr", "mrr", "acv"}),
    status_filter=True,
    on_write=_deal_written,
)

register(router, DEALS, "Deal", "Deals")
