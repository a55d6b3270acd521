"""v1 files attached to records (metadata only) and v1 activity fields (/api/v1 and /v1).

Files are listed per deal, person, organization and product (``/…/{id}/files``), for the
whole company (``/files``) and one by one (``/files/{id}``). The sandbox keeps no contents:
``url`` points at Pipedrive's download path, which it does not serve.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from explorer.sandbox.fields import fields_of, render_v1
from explorer.sandbox.http import JSON, Query, ok
from explorer.sandbox.routing import Router, Sandbox, record_or_404, require_scope, sandbox
from explorer.sandbox.store import Where
from explorer.sandbox.v1render import (
    as_rfc3339,
    fetch_page,
    ids_of,
    order_from_sort,
    page_params,
    pagination,
)

router = Router("v1")

MAX_FILES_LIMIT = 100  # the spec's maximum for every files list
_SORTABLE = {"id": "seq", "update_time": "update_time"}

# Linked record → (file column, collection, the key its name is shown under, name key).
_LINKS = (
    ("deal_id", "deals", "deal_name", "title"),
    ("person_id", "persons", "person_name", "name"),
    ("org_id", "organizations", "org_name", "name"),
    ("product_id", "products", "product_name", "name"),
    ("lead_id", "leads", "lead_name", "title"),
)


def render_files(sb: Sandbox, files: list[JSON]) -> list[JSON]:
    """Files as v1 returns them: linked records' names filled in from the records as they are
    now, and keys without a value left out (the spec declares none of them nullable)."""
    names: dict[str, dict[Any, str]] = {}
    for column, collection, _, key in _LINKS:
        found = sb.store.get_many(collection, ids_of(files, column))
        names[column] = {i: str(r.get(key) or "") for i, r in found.items()}
    out = []
    for f in files:
        view = {k: v for k, v in f.items() if v is not None}
        for column, _, shown_as, _ in _LINKS:
            if f.get(column) is not None and f[column] in names[column]:
                view[shown_as] = names[column][f[column]]
        view["url"] = f"{sb.base_url.rstrip('/')}/api/v1/files/{f['id']}/download"
        out.append(view)
    return out


def _files_page(request: Request, where: Where, *, flat: bool) -> Response:
    sb = sandbox(request)
    q = Query(request.query_params)
    start, limit = page_params(q, maximum=MAX_FILES_LIMIT)
    sort = q.str("sort")
    order = order_from_sort(sort, _SORTABLE) if sort else [("seq", "ASC")]
    rows, more = fetch_page(sb.store, "files", where, order, start, limit)
    return ok(render_files(sb, rows), pagination(start, limit, more, flat=flat))


def _attached_files(column: str, collection: str, label: str) -> Any:
    async def list_files(request: Request) -> Response:
        item = record_or_404(request, collection, label)
        # These four operations' schemas put start/limit/more_items_in_collection
        # directly in additional_data.
        return _files_page(request, [(f"{column} = ?", (item["id"],))], flat=True)

    return list_files


for _column, _collection, _label in (
    ("deal_id", "deals", "Deal"), ("person_id", "persons", "Person"),
    ("org_id", "organizations", "Organization"), ("product_id", "products", "Product"),
):
    router.route("GET", f"/{_collection}/{{id}}/files", f"get{_label}Files")(
        _attached_files(_column, _collection, _label))


@router.route("GET", "/files", "getFiles")
async def get_files(request: Request) -> Response:
    return _files_page(request, [], flat=False)


@router.route("GET", "/files/{id}", "getFile")
async def get_file(request: Request) -> Response:
    record = record_or_404(request, "files", "File")
    return ok(render_files(sandbox(request), [record])[0])


# ---------------------------------------------------------------------- activity fields


def _field_view(field: JSON) -> JSON:
    view = render_v1(field)
    # This schema declares the times ``format: date-time`` (as leadFields does).
    for key in ("add_time", "update_time"):
        view[key] = as_rfc3339(field.get(key))
        if view[key] is None:
            del view[key]
    return view


@router.route("GET", "/activityFields", "getActivityFields")
async def get_activity_fields(request: Request) -> Response:
    """Every activity field in one page (the v1 operation takes no paging parameters); OAuth
    tokens need only ``activities:read`` here, where v2 asks for ``admin``."""
    require_scope(request, "activities:read", "activities:full")
    fields = [_field_view(f) for f in fields_of(sandbox(request).store, "activity")]
    return ok(fields, pagination(0, max(len(fields), 1), False, flat=True))
