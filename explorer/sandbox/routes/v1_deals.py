"""v1 deal summary, deal participants and the changelog of deals, persons and organizations
(/api/v1 and /v1)."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from explorer.sandbox import derived
from explorer.sandbox.filtering import where_for_filter
from explorer.sandbox.http import (
    JSON,
    Query,
    bad_request,
    drop_none,
    ok,
    v2_to_v1_time,
)
from explorer.sandbox.routing import Router, record_or_404, require_scope, sandbox
from explorer.sandbox.store import Store, Where
from explorer.sandbox.v1render import (
    PERSON_COUNTS,
    ids_of,
    owner_object,
    page_params,
    pagination,
    person_v1,
    related_objects,
)

router = Router("v1")

# Fixed exchange rates, units per euro: the sandbox's stand-in for Pipedrive's daily rates.
# Custom currencies have none, so Pipedrive (and the sandbox) leaves them out of converted totals.
EUR_RATES = {
    "EUR": 1.0, "USD": 1.08, "GBP": 0.86, "SEK": 11.4, "CHF": 0.95, "JPY": 162.0, "NOK": 11.6,
    "DKK": 7.46, "PLN": 4.3, "CZK": 25.2, "CAD": 1.47, "AUD": 1.65, "NZD": 1.8, "INR": 90.0,
    "BRL": 5.9, "MXN": 19.5, "ZAR": 20.2, "SGD": 1.45, "HKD": 8.45, "CNY": 7.8, "HUF": 395.0,
    "TRY": 35.0, "AED": 3.97, "ILS": 4.0, "KRW": 1480.0,
}


# ---------------------------------------------------------------------- summary


def _rate(currency: JSON | None) -> float | None:
    if currency is None or currency.get("is_custom_flag"):
        return None
    rate = currency.get("rate", EUR_RATES.get(currency["code"]))
    return None if rate is None else float(rate)


def money(amount: float, currency: JSON | None, code: str) -> str:
    """``€1,250`` / ``US$11.10``-style text in the currency's symbol and decimals."""
    symbol = (currency or {}).get("symbol") or code
    decimals = int((currency or {}).get("decimal_points", 2))
    if float(amount).is_integer():
        decimals = 0
    text = f"{amount:,.{decimals}f}"
    # Letter symbols (kr., CHF, pts) follow the amount; sign symbols (€, US$) precede it.
    return f"{text} {symbol}" if symbol.replace(".", "").isalpha() else f"{symbol}{text}"


def _number(value: float) -> float | int:
    value = round(value, 2)
    return int(value) if value.is_integer() else value


def _summary_where(store: Store, q: Query) -> Where:
    where: Where = [("COALESCE(is_archived, 0) = 0", ())]
    status = q.choice("status", ("open", "won", "lost"))
    if status is not None:
        where.append(("status = ?", (status,)))
    filter_id = q.int("filter_id")
    if filter_id is not None:
        where += where_for_filter(store, filter_id, "deals")
    else:
        user_id = q.int("user_id")
        if user_id is not None:
            where.append(("owner_id = ?", (user_id,)))
    pipeline_id, stage_id = q.int("pipeline_id"), q.int("stage_id")
    if pipeline_id is not None:
        # Unary + keeps sqlite off the pipeline_id index: a pipeline holds a large share of
        # the deals, and scanning the covering summary index is faster than row lookups.
        where.append(("+pipeline_id = ?", (pipeline_id,)))
    if stage_id is not None:
        where.append(("stage_id = ?", (stage_id,)))
    return where


_OWN = "json_extract(data, '$.probability')"  # a deal's own probability (no column of its own)


def deals_summary(store: Store, where: Where, target_code: str) -> JSON:
    """Totals per currency with one GROUP BY over the deals table's columns."""
    rows = store.aggregate("deals", ("currency", "stage_id", "COUNT(*)", "TOTAL(value)"), where,
                           group_by=("currency", "stage_id"))
    chance = {s["id"]: s.get("deal_probability", 100) for s in store.select("stages")}
    currencies = {c["code"]: c for c in store.select("currencies")}
    target = currencies.get(target_code)
    target_rate = _rate(target) or 1.0
    totals: dict[str, list[float]] = {}  # code → [count, value, weighted]
    for code, stage_id, count, value in rows:
        acc = totals.setdefault(code, [0, 0.0, 0.0])
        acc[0] += count
        acc[1] += value
        probability = chance.get(stage_id)
        acc[2] += value * (100 if probability is None else probability) / 100
    # "The deal probability is always prioritized over the stage probability" (Pipedrive's
    # help centre): deals with their own probability move the weighted value by the difference.
    own = store.aggregate("deals", ("currency", "stage_id", _OWN, "TOTAL(value)"),
                          [*where, (f"{_OWN} IS NOT NULL", ())],
                          group_by=("currency", "stage_id", _OWN))
    for code, stage_id, probability, value in own:
        stage = chance.get(stage_id)
        totals[code][2] += value * (probability - (100 if stage is None else stage)) / 100
    values: JSON = {}
    weighted: JSON = {}
    total = total_weighted = 0.0
    custom_count = 0
    for code in sorted(totals):
        count, value, wvalue = totals[code]
        currency = currencies.get(code)
        rate = _rate(currency)
        custom = bool((currency or {}).get("is_custom_flag"))
        custom_count += custom
        converted = 0.0 if rate is None else value / rate * target_rate
        wconverted = 0.0 if rate is None else wvalue / rate * target_rate
        total += converted
        total_weighted += wconverted
        values[code] = {
            "value": _number(value), "count": int(count), "value_converted": _number(converted),
            "value_formatted": money(round(value, 2), currency, code),
            "value_converted_formatted": money(round(converted, 2), target, target_code),
            "is_custom_currency": custom,
        }
        weighted[code] = {"value": _number(wvalue), "count": int(count),
                          "value_formatted": money(round(wvalue, 2), currency, code),
                          "is_custom_currency": custom}
    return {
        "values_total": values,
        "weighted_values_total": weighted,
        "total_count": int(sum(t[0] for t in totals.values())),
        "total_currency_converted_value": _number(total),
        "total_weighted_currency_converted_value": _number(total_weighted),
        "total_currency_converted_value_formatted": money(round(total, 2), target, target_code),
        "total_weighted_currency_converted_value_formatted": money(
            round(total_weighted, 2), target, target_code),
        "total_custom_currency_count": custom_count,
    }


@router.route("GET", "/deals/summary", "getDealsSummary")
async def get_deals_summary(request: Request) -> Response:
    sb = sandbox(request)
    where = _summary_where(sb.store, Query(request.query_params))
    me = sb.store.get("users", sb.me(request)) or {}
    target = me.get("default_currency") or sb.store.get_meta("default_currency") or "EUR"
    return ok(deals_summary(sb.store, where, target))


# ---------------------------------------------------------------------- changelog


def _text(value: Any) -> str | None:
    """A changelog value as v1 shows it: text, or null."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _cursor(raw: str | None) -> int | None:
    if raw is None:
        return None
    try:
        text = base64.b64decode(raw + "=" * (-len(raw) % 4)).decode()
        kind, _, number = text.partition(":")
        if kind != "id":
            raise ValueError(text)
        return int(number)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise bad_request("Invalid cursor", "Pass the next_cursor of a previous page.") from None


def changelog_page(request: Request, collection: str, label: str) -> Response:
    """A record's field changes, newest first, with v1's cursor paging (``/deals``,
    ``/persons`` and ``/organizations/{id}/changelog``). OAuth tokens need ``recents:read``,
    as the spec's ``security`` says."""
    require_scope(request, "recents:read")
    sb = sandbox(request)
    item_id = record_or_404(request, collection, label, include_deleted=True)["id"]
    q = Query(request.query_params)
    limit = q.int("limit", 100, minimum=1, maximum=500) or 100
    before = _cursor(q.str("cursor"))
    # Newest first, as Pipedrive lists them; one record's history is small enough to read whole.
    entries = sb.store.changelog(collection, item_id, limit=1_000_000)[::-1]
    if before is not None:
        entries = [e for e in entries if e["id"] < before]
    page = entries[:limit]
    data = [
        {k: v for k, v in {
            "field_key": e["field_key"], "old_value": _text(e["old_value"]),
            "new_value": _text(e["new_value"]), "actor_user_id": e["actor_user_id"],
            "time": v2_to_v1_time(e["time"]), "change_source": e["change_source"],
            "change_source_user_agent": None, "is_bulk_update_flag": False,
        }.items() if v is not None or k in ("old_value", "new_value", "change_source",
                                            "change_source_user_agent")}
        for e in page
    ]
    additional: JSON = {}
    if len(entries) > limit:
        additional["next_cursor"] = base64.b64encode(
            f"id:{page[-1]['id']}".encode()).decode().rstrip("=")
    return ok(data, additional)


@router.route("GET", "/deals/{id}/changelog", "getDealChangelog")
async def get_deal_changelog(request: Request) -> Response:
    return changelog_page(request, "deals", "Deal")


@router.route("GET", "/persons/{id}/changelog", "getPersonChangelog")
async def get_person_changelog(request: Request) -> Response:
    return changelog_page(request, "persons", "Person")


@router.route("GET", "/organizations/{id}/changelog", "getOrganizationChangelog")
async def get_organization_changelog(request: Request) -> Response:
    return changelog_page(request, "organizations", "Organization")


# ---------------------------------------------------------------------- participants


def participant_id(deal_id: int, person_id: int) -> int:
    """A participant's id: stable, and distinct for every (deal, person) pair.

    Participants are derived from the deal and its activities rather than stored, so the id is
    the Cantor pairing of the two ids, which never maps two pairs to one number.
    """
    n = deal_id + person_id
    return n * (n + 1) // 2 + person_id


def participant_sources(store: Store, deal: JSON) -> dict[int, JSON]:
    """Participant person id → the record that made them one (the deal or an activity).

    The deal's own person comes first, then the participants of its activities in the order
    the activities were added; a person met again keeps their first entry.
    """
    sources: dict[int, JSON] = {}
    if isinstance(deal.get("person_id"), int):
        sources[deal["person_id"]] = deal
    activities = store.select("activities", [("deal_id = ?", (deal["id"],))],
                              order_by=(("add_time", "ASC"), ("seq", "ASC")))
    for activity in activities:
        for part in activity.get("participants") or ():
            person_id = part.get("person_id") if isinstance(part, dict) else None
            if isinstance(person_id, int):
                sources.setdefault(person_id, activity)
    return sources


def _added_by(source: JSON) -> Any:
    return source.get("creator_user_id") or source.get("owner_id")


def _derive_person_counts(store: Store, people: list[JSON]) -> None:
    """The counts a v1 person shows, for a whole page in a few grouped queries."""
    include = set(PERSON_COUNTS)
    derived.activity_counts(store, people, include, "person_id")
    derived.notes_count(store, people, include, "person_id")
    derived.deal_counts(store, people, include, "person_id")
    derived.related_counts(store, people, include, "person", "person_id")
    derived.zero_counts(people, include)


def _participant(deal: JSON, person: JSON, source: JSON, users: dict[Any, JSON],
                 orgs: dict[Any, JSON], company_id: int) -> JSON:
    nested = person_v1(person, users.get(person.get("owner_id")),
                       orgs.get(person.get("org_id")), company_id)
    summary: JSON = {k: nested[k] for k in ("active_flag", "name", "email", "phone") if k in nested}
    adder = users.get(_added_by(source))
    return drop_none({
        "id": participant_id(deal["id"], person["id"]),
        "person_id": drop_none({**summary, "owner_id": person.get("owner_id"),
                                "company_id": company_id, "value": person["id"]}),
        "add_time": v2_to_v1_time(source.get("add_time")),
        "active_flag": True,
        "related_item_data": {"deal_id": deal["id"], "title": deal.get("title")},
        "person": nested,
        "added_by_user_id": None if adder is None else owner_object(adder),
        "related_item_type": "deal",
        "related_item_id": deal["id"],
    })


@router.route("GET", "/deals/{id}/participants", "getDealParticipants")
async def get_deal_participants(request: Request) -> Response:
    store = sandbox(request).store
    deal = record_or_404(request, "deals", "Deal")
    start, limit = page_params(Query(request.query_params))
    sources = participant_sources(store, deal)
    persons = store.get_many("persons", list(sources))
    # Deleted persons are no longer participants; dropping them before slicing keeps every
    # page exact.
    listed = [(persons[pid], source) for pid, source in sources.items() if pid in persons]
    page = listed[start:start + limit]
    people = [person for person, _ in page]
    _derive_person_counts(store, people)
    orgs = store.get_many("organizations", ids_of(people, "org_id"))
    derived.people_count(store, list(orgs.values()), {"people_count"})
    users = store.get_many(
        "users", [*ids_of(people, "owner_id"), *(_added_by(source) for _, source in page)])
    company_id = int(store.get_meta("company_id") or 1)
    data = [_participant(deal, person, source, users, orgs, company_id)
            for person, source in page]
    related = related_objects(users=users.values(), persons=people, organizations=orgs.values())
    return ok(data, pagination(start, limit, len(listed) > start + limit, flat=True),
              related_objects=related)
