"""v2 pipelines, stages and the *Fields endpoints (/api/v2)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from explorer.sandbox.entities import EntityKind, list_page, page_limit
from explorer.sandbox.fields import fields_of, render_v2
from explorer.sandbox.http import (
    JSON,
    ApiProblem,
    Query,
    bad_request,
    decode_cursor,
    drop_none,
    encode_cursor,
    invalid_cursor,
    is_int64,
    not_found,
    ok,
    shown,
)
from explorer.sandbox.routing import Router, require_scope, sandbox

router = Router("v2")


# ---------------------------------------------------------------------- pipelines and stages

PIPELINES = EntityKind(collection="pipelines", path="pipelines", label="Pipeline",
                       field_entity=None)
STAGES = EntityKind(collection="stages", path="stages", label="Stage", field_entity=None,
                    filters={"pipeline_id": "pipeline_id"},
                    sort_by=("update_time", "add_time", "order_nr"),
                    keep_null=frozenset({"days_to_rotten"}))


def _id(request: Request) -> int | None:
    """The path's id; None for one beyond 64 bits, which no record has."""
    raw = request.path_params["id"]
    try:
        item_id = int(raw)
    except ValueError:
        raise bad_request(f"Invalid id '{shown(raw)}'", "The id must be an integer.") from None
    return item_id if is_int64(item_id) else None


def _one(kind: EntityKind, request: Request) -> Response:
    item_id = _id(request)
    record = None if item_id is None else sandbox(request).store.get(kind.collection, item_id)
    if record is None:
        raise not_found(kind.label)
    return ok(drop_none(record, kind.keep_null))



@router.route("GET", "/pipelines", "getPipelines")
async def get_pipelines(request: Request) -> Response:
    rows, next_cursor = list_page(PIPELINES, request)
    return ok([drop_none(r) for r in rows], {"next_cursor": next_cursor})


@router.route("GET", "/pipelines/{id}", "getPipeline")
async def get_pipeline(request: Request) -> Response:
    return _one(PIPELINES, request)


@router.route("GET", "/stages", "getStages")
async def get_stages(request: Request) -> Response:
    rows, next_cursor = list_page(STAGES, request)
    return ok([drop_none(r, STAGES.keep_null) for r in rows], {"next_cursor": next_cursor})


@router.route("GET", "/stages/{id}", "getStage")
async def get_stage(request: Request) -> Response:
    return _one(STAGES, request)


# ---------------------------------------------------------------------- *Fields

# include_fields namespaces each *Fields endpoint accepts (the spec's enums).
_NAMESPACES = {
    "deal": ("ui_visibility", "important_fields", "required_fields"),
    "person": ("ui_visibility", "important_fields", "required_fields"),
    "organization": ("ui_visibility", "important_fields", "required_fields"),
    "product": ("ui_visibility",),
    "activity": ("ui_visibility",),
}


def _ui_visibility(entity: str, field: JSON) -> JSON:
    stored = field.get("ui_visibility")
    if isinstance(stored, dict):
        return stored
    custom = bool(field.get("is_custom"))
    out: JSON = {"add_visible_flag": bool(field.get("add_visible", not custom)),
                 "details_visible_flag": True}
    if entity == "deal":
        out["projects_detail_visible_flag"] = False
        out["show_in_pipelines"] = {"show_in_all": True, "pipeline_ids": []}
    elif entity == "person":
        out["show_in_add_deal_dialog"] = {"show": False, "order": None}
    elif entity == "organization":
        out.update(org_detail_visible_flag=True, person_detail_visible_flag=False,
                   deal_detail_visible_flag=False,
                   show_in_add_deal_dialog={"show": False, "order": None},
                   show_in_add_person_dialog={"show": False, "order": None})
    return out


def _extras(entity: str, field: JSON, include: set[str]) -> JSON:
    out: JSON = {}
    if "ui_visibility" in include:
        out["ui_visibility"] = _ui_visibility(entity, field)
    if "important_fields" in include:
        out["important_fields"] = field.get("important_fields") or {
            "enabled": False, "stage_ids": []}
    if "required_fields" in include:
        required: JSON = {"enabled": bool(field.get("mandatory", False))}
        if entity == "deal":
            required.update(stage_ids=[], statuses={})
        out["required_fields"] = field.get("required_fields") or required
    return out


def _include(entity: str, q: Query) -> set[str]:
    wanted = set(q.csv("include_fields"))
    unknown = wanted - set(_NAMESPACES[entity])
    if unknown:
        raise bad_request(
            f"Parameter 'include_fields' has unknown values: {', '.join(sorted(unknown))}",
            f"Allowed: {', '.join(_NAMESPACES[entity])} (comma-separated).",
        )
    return wanted


# Scopes the v2 spec's ``security`` asks of OAuth tokens, where the sandbox enforces them:
# v2 activityFields needs ``admin`` (v1 ``/activityFields`` takes ``activities:read``).
_SCOPES = {"activity": ("admin",)}


def _field_routes(entity: str, path: str, singular: str, plural: str) -> None:
    async def list_fields(request: Request) -> Response:
        if entity in _SCOPES:
            require_scope(request, *_SCOPES[entity])
        q = Query(request.query_params)
        include = _include(entity, q)
        limit = page_limit(q)
        start = 0
        cursor = q.str("cursor")
        if cursor:
            offset = decode_cursor(cursor).get("o")
            if not is_int64(offset) or offset < 0:
                raise invalid_cursor()
            start = offset
        fields = fields_of(sandbox(request).store, entity)
        page = fields[start:start + limit]
        more = start + limit < len(fields)
        data = [{**render_v2(f), **_extras(entity, f, include)} for f in page]
        return ok(data, {"next_cursor": encode_cursor({"o": start + limit}) if more else None})

    async def get_field(request: Request) -> Response:
        if entity in _SCOPES:
            require_scope(request, *_SCOPES[entity])
        q = Query(request.query_params)
        include = _include(entity, q)
        code = request.path_params["field_code"]
        for f in fields_of(sandbox(request).store, entity):
            if f["key"] == code:
                return ok({**render_v2(f), **_extras(entity, f, include)})
        raise ApiProblem(404, f"Field '{code}' not found",
                         f"Use a field_code listed by GET /api/v2/{path}.")

    router.route("GET", f"/{path}", f"get{plural}")(list_fields)
    router.route("GET", f"/{path}/{{field_code}}", f"get{singular}")(get_field)


for _entity, _name in (("deal", "Deal"), ("person", "Person"),
                       ("organization", "Organization"), ("product", "Product"),
                       ("activity", "Activity")):
    _field_routes(_entity, f"{_entity}Fields", f"{_name}Field", f"{_name}Fields")
