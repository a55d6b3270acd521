"""v2 itemSearch and the per-entity search endpoints (/api/v2)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from explorer.sandbox.http import (
    JSON,
    Query,
    bad_request,
    decode_cursor,
    encode_cursor,
    invalid_cursor,
    is_int64,
    ok,
)
from explorer.sandbox.routing import Router, sandbox
from explorer.sandbox.search import (
    ALL_TYPES,
    EMPTY_TYPES,
    SCORE_SCALE,
    TYPES,
    Hit,
    Key,
    Search,
    custom_text,
    display,
    matched_notes,
    matches,
    run,
    searchable_keys,
)
from explorer.sandbox.store import Store

router = Router("v2")

ITEM_SEARCH_FIELDS = ("address", "code", "custom_fields", "email", "name", "notes", "phone",
                      "title", "description")
ITEM_SEARCH_INCLUDE = ("deal.cc_email", "person.picture", "product.price")
RELATED_LIMIT = 100

Filters = list[tuple[str, Sequence[Any]]]


# ---------------------------------------------------------------------- parameters


def _term(q: Query, exact: bool) -> str:
    term = (q.str("term") or "").strip()
    if not term:
        raise bad_request("Parameter 'term' is required",
                          "Pass the text to search for in 'term' (URL-encoded).")
    if len(term) < 2 and not exact:
        raise bad_request(
            "Search term must be at least 2 characters long",
            f"'{term}' is 1 character: send at least 2, or set exact_match=true to search "
            "for a single character.",
        )
    return term


def _choices(q: Query, name: str, allowed: Sequence[str]) -> list[str]:
    values = list(dict.fromkeys(q.csv(name)))
    bad = [v for v in values if v not in allowed]
    if bad:
        raise bad_request(f"Invalid value '{bad[0]}' for parameter '{name}'",
                          f"Allowed values: {', '.join(allowed)}.")
    return values


# Fields Pipedrive accepts for a type but matches only on data the sandbox never has: a lead's
# own email and phone count only for leads with no linked contact, and every lead has one.
_NEVER_MATCHED = {"lead": ("email", "phone")}


def _allowed_fields(item_type: str) -> tuple[str, ...]:
    if item_type not in TYPES:
        return EMPTY_TYPES[item_type]
    return TYPES[item_type][1] + _NEVER_MATCHED.get(item_type, ())


def _fields_per_type(q: Query, types: list[str], enum: Sequence[str]) -> dict[str, tuple[str, ...]]:
    wanted = _choices(q, "fields", enum)
    for name in wanted:
        if not any(name in _allowed_fields(t) for t in types):
            supported = "; ".join(f"{t}: {', '.join(_allowed_fields(t))}" for t in types)
            raise bad_request(
                f"Field '{name}' cannot be searched in item type(s) {', '.join(types)}",
                f"Searchable fields per item type — {supported}.",
            )
    return {
        t: tuple(f for f in TYPES[t][1] if not wanted or f in wanted)
        for t in types if t in TYPES
    }


def _id_filters(q: Query, **columns: str) -> Filters:
    """An equality filter on the record's column for each id parameter the request gave
    (parameter name → column: the entities name their organization column differently),
    in the order given."""
    filters: Filters = []
    for param, column in columns.items():
        value = q.int(param)
        if value is not None:
            filters.append((f"t.{column} = ?", (value,)))
    return filters


def _page(q: Query, maximum: int) -> tuple[int, Key | None]:
    limit = q.int("limit", 100, minimum=1, maximum=maximum) or 100
    cursor = q.str("cursor")
    if cursor is None:
        return limit, None
    c = decode_cursor(cursor)
    score, rank, last = c.get("s"), c.get("r"), c.get("q")
    # decode_cursor has already refused integers beyond 64 bits.
    if not (is_int64(score) and is_int64(rank) and (is_int64(last) or isinstance(last, str))):
        raise invalid_cursor()
    return limit, (score, rank, last)


def _next(key: Key | None) -> str | None:
    return None if key is None else encode_cursor({"s": key[0], "r": key[1], "q": key[2]})


# ---------------------------------------------------------------------- rendering


def _num(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _address(org: JSON | None) -> str | None:
    address = (org or {}).get("address")
    value = address.get("value") if isinstance(address, dict) else address
    return value if isinstance(value, str) and value else None


def _org_ref(org: JSON | None, org_id: Any, *, with_address: bool = True) -> JSON | None:
    if org_id is None or org is None:
        return None
    ref: JSON = {"id": org_id, "name": org.get("name")}
    if with_address:
        ref["address"] = _address(org)
    return ref


def _person_ref(person: JSON | None, person_id: Any) -> JSON | None:
    if person_id is None or person is None:
        return None
    return {"id": person_id, "name": person.get("name")}


class _Renderer:
    """Renders records of one response as search items, with batched look-ups of references."""

    def __init__(self, store: Store, search: Search | None, include: set[str]) -> None:
        self.store = store
        self.search = search
        self.include = include
        self._keys: dict[str, list[str]] = {}

    def _matched_custom(self, item_type: str, record: JSON) -> list[str]:
        if self.search is None or "custom_fields" not in self.search.fields.get(item_type, ()):
            return []
        entity = TYPES[item_type][2]
        if entity not in self._keys:
            self._keys[entity] = searchable_keys(self.store, entity)
        values = record.get("custom_fields") or {}
        texts = (custom_text(values.get(k)) for k in self._keys[entity])
        return [t for t in texts if t is not None and matches(self.search, t)]

    def _notes(self, item_type: str, records: list[JSON]) -> dict[Any, list[str]]:
        if self.search is None or "notes" not in self.search.fields.get(item_type, ()):
            return {}
        coll = TYPES[item_type][0]
        return matched_notes(self.store, self.search, coll, [r["id"] for r in records])

    def render(self, item_type: str, records: list[JSON]) -> list[JSON]:
        shape = {"deal": self._deal, "person": self._person, "organization": self._organization,
                 "product": self._product, "lead": self._lead}[item_type]
        out = shape(records)
        if self.search is not None:
            notes = self._notes(item_type, records) if item_type != "product" else {}
            for rec, item in zip(records, out, strict=True):
                item["custom_fields"] = self._matched_custom(item_type, rec)
                if item_type != "product":
                    item["notes"] = notes.get(rec["id"], [])
                if "is_archived" in item:  # the spec's key order: is_archived comes last
                    item["is_archived"] = item.pop("is_archived")
        return out

    def _refs(self, records: list[JSON], key: str, coll: str) -> dict[Any, JSON]:
        return self.store.get_many(coll, [r[key] for r in records if r.get(key) is not None])

    def _deal(self, records: list[JSON]) -> list[JSON]:
        stages = self._refs(records, "stage_id", "stages")
        persons = self._refs(records, "person_id", "persons")
        orgs = self._refs(records, "org_id", "organizations")
        domain = self.store.get_meta("company_domain") or "sandbox"
        out = []
        for d in records:
            stage = stages.get(d.get("stage_id"))
            item: JSON = {
                "id": d["id"], "type": "deal", "title": d.get("title"),
                "value": _num(d.get("value")), "currency": d.get("currency"),
                "status": d.get("status"),
                "visible_to": _visible(d), "owner": {"id": d.get("owner_id")},
                "stage": {"id": d.get("stage_id"), "name": (stage or {}).get("name")},
                "person": _person_ref(persons.get(d.get("person_id")), d.get("person_id")),
                "organization": _org_ref(orgs.get(d.get("org_id")), d.get("org_id")),
                "is_archived": bool(d.get("is_archived", False)),
            }
            if "deal.cc_email" in self.include:
                item["cc_email"] = f"{domain}+deal{d['id']}@pipedrivemail.com"
            out.append(item)
        return out

    def _person(self, records: list[JSON]) -> list[JSON]:
        orgs = self._refs(records, "org_id", "organizations")
        out = []
        for p in records:
            item: JSON = {
                "id": p["id"], "type": "person", "name": p.get("name"),
                "phones": _values(p.get("phones")), "emails": _values(p.get("emails")),
                "visible_to": _visible(p), "owner": {"id": p.get("owner_id")},
            }
            org = _org_ref(orgs.get(p.get("org_id")), p.get("org_id"))
            if org is not None:
                item["organization"] = org
            if "person.picture" in self.include:
                pic = p.get("picture_id")
                item["picture"] = None if pic is None else {"id": pic}
            out.append(item)
        return out

    def _organization(self, records: list[JSON]) -> list[JSON]:
        out = []
        for o in records:
            item: JSON = {"id": o["id"], "type": "organization", "name": o.get("name")}
            address = _address(o)
            if address is not None:
                item["address"] = address
            item["visible_to"] = _visible(o)
            item["owner"] = {"id": o.get("owner_id")}
            out.append(item)
        return out

    def _product(self, records: list[JSON]) -> list[JSON]:
        out = []
        for p in records:
            item: JSON = {"id": p["id"], "type": "product", "name": p.get("name")}
            if p.get("code") is not None:
                item["code"] = p["code"]
            item["visible_to"] = _visible(p)
            item["owner"] = {"id": p.get("owner_id")}
            if "product.price" in self.include:
                prices = p.get("prices") or []
                item["price"] = _num(prices[0].get("price")) if prices else None
            out.append(item)
        return out

    def _lead(self, records: list[JSON]) -> list[JSON]:
        persons = self._refs(records, "person_id", "persons")
        orgs = self._refs(records, "organization_id", "organizations")
        out = []
        for lead in records:
            item: JSON = {"id": lead["id"], "type": "lead", "title": lead.get("title"),
                          "owner": {"id": lead.get("owner_id")}}
            person = _person_ref(persons.get(lead.get("person_id")), lead.get("person_id"))
            if person is not None:
                item["person"] = person
            org = _org_ref(orgs.get(lead.get("organization_id")), lead.get("organization_id"),
                           with_address=False)
            if org is not None:
                item["organization"] = org
            item["phones"], item["emails"] = [], []
            value = lead.get("value")
            if isinstance(value, dict) and value.get("amount") is not None:
                item["value"] = _num(value["amount"])
                item["currency"] = value.get("currency")
            item["visible_to"] = _visible(lead)
            item["is_archived"] = bool(lead.get("is_archived", False))
            if "lead.was_seen" in self.include:
                item["was_seen"] = bool(lead.get("was_seen", False))
            out.append(item)
        return out


def _visible(record: JSON) -> int | None:
    value = record.get("visible_to")
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


def _values(entries: Any) -> list[str]:
    return [display(e["value"]) for e in entries or () if isinstance(e, dict) and e.get("value")]


def _items(store: Store, hits: list[Hit], renderer: _Renderer) -> list[JSON]:
    rendered: dict[tuple[str, Any], JSON] = {}
    for item_type in TYPES:
        ids = [h.id for h in hits if h.type == item_type]
        if not ids:
            continue
        records = store.get_many(TYPES[item_type][0], ids)
        found = [records[i] for i in ids if i in records]
        for rec, item in zip(found, renderer.render(item_type, found), strict=True):
            rendered[(item_type, rec["id"])] = item
    return [
        {"result_score": round(h.score / SCORE_SCALE, 4), "item": rendered[(h.type, h.id)]}
        for h in hits if (h.type, h.id) in rendered
    ]


def _related(store: Store, hits: list[Hit], include: set[str]) -> list[JSON]:
    """Up to 100 newest leads and deals of each found person/organization, and the persons of
    each found organization."""
    wanted: dict[tuple[str, Any], JSON] = {}
    newest = (("add_time", "DESC"), ("seq", "DESC"))
    for h in hits:
        links: tuple[tuple[str, str], ...]
        if h.type == "person":
            links = (("lead", "person_id"), ("deal", "person_id"))
        elif h.type == "organization":
            links = (("lead", "organization_id"), ("deal", "org_id"), ("person", "org_id"))
        else:
            continue
        for item_type, column in links:
            rows = store.select(TYPES[item_type][0], [(f"{column} = ?", (h.id,))],
                                order_by=newest, limit=RELATED_LIMIT)
            for row in rows:
                wanted.setdefault((item_type, row["id"]), row)
    renderer = _Renderer(store, None, include)
    items: dict[tuple[str, Any], JSON] = {}
    for item_type in TYPES:
        records = [r for (t, _), r in wanted.items() if t == item_type]
        for rec, item in zip(records, renderer.render(item_type, records), strict=True):
            items[(item_type, rec["id"])] = item
    return [{"result_score": 0, "item": items[key]} for key in wanted]


# ---------------------------------------------------------------------- handlers


def _entity_search(request: Request, item_type: str, enum: Sequence[str],
                   include_enum: Sequence[str], filters: Filters, *,
                   integer_codes: bool = False) -> Response:
    store = sandbox(request).store
    q = Query(request.query_params)
    exact = q.bool("exact_match")
    term = _term(q, exact)
    fields = _fields_per_type(q, [item_type], enum)
    include = set(_choices(q, "include_fields", include_enum))
    limit, after = _page(q, 500)
    search = Search(term, exact, fields, {item_type: filters}, limit, after)
    hits, last = run(store, search)
    items = _items(store, hits, _Renderer(store, search, include))
    if integer_codes:
        for entry in items:
            code = entry["item"].pop("code", None)
            if isinstance(code, str) and code.isdigit():
                entry["item"]["code"] = int(code)
    return ok({"items": items}, {"next_cursor": _next(last)})


@router.route("GET", "/itemSearch", "searchItem")
async def search_item(request: Request) -> Response:
    store = sandbox(request).store
    q = Query(request.query_params)
    exact = q.bool("exact_match")
    term = _term(q, exact)
    types = _choices(q, "item_types", ALL_TYPES) or list(ALL_TYPES)
    fields = _fields_per_type(q, types, ITEM_SEARCH_FIELDS)
    related = q.bool("search_for_related_items")
    include = set(_choices(q, "include_fields", ITEM_SEARCH_INCLUDE))
    limit, after = _page(q, 100)
    search = Search(term, exact, fields, {}, limit, after)
    hits, last = run(store, search)
    data: JSON = {"items": _items(store, hits, _Renderer(store, search, include)),
                  "related_items": _related(store, hits, include) if related else []}
    return ok(data, {"next_cursor": _next(last)})


@router.route("GET", "/deals/search", "searchDeals")
async def search_deals(request: Request) -> Response:
    q = Query(request.query_params)
    filters = _id_filters(q, person_id="person_id", organization_id="org_id")
    status = q.choice("status", ("open", "won", "lost"))
    if status is not None:
        filters.append(("t.status = ?", (status,)))
    return _entity_search(request, "deal", ("custom_fields", "notes", "title"),
                          ("deal.cc_email",), filters)


@router.route("GET", "/persons/search", "searchPersons")
async def search_persons(request: Request) -> Response:
    filters = _id_filters(Query(request.query_params), organization_id="org_id")
    return _entity_search(request, "person", ("custom_fields", "email", "notes", "phone", "name"),
                          ("person.picture",), filters)


@router.route("GET", "/organizations/search", "searchOrganization")
async def search_organizations(request: Request) -> Response:
    return _entity_search(request, "organization", ("address", "custom_fields", "notes", "name"),
                          (), [])


@router.route("GET", "/products/search", "searchProducts")
async def search_products(request: Request) -> Response:
    # This operation's schema types a product's code as an integer (itemSearch and the
    # product itself: a string); codes that are whole numbers are sent as such, others left out.
    return _entity_search(request, "product", ("code", "custom_fields", "name"),
                          ("product.price",), [], integer_codes=True)


@router.route("GET", "/leads/search", "searchLeads")
async def search_leads(request: Request) -> Response:
    filters = _id_filters(Query(request.query_params), person_id="person_id",
                          organization_id="organization_id")
    return _entity_search(request, "lead", ("custom_fields", "notes", "title"),
                          ("lead.was_seen",), filters)
