"""Request scenarios per operationId for the conformance walk (``test_conformance.py``).

Scenarios are data: ``SCENARIOS`` maps an operationId to request builders, each an async
function of the client that fetches the real ids it needs from the sandbox first (and creates
what it deletes) and returns the response under test, with the status it expects.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

Builder = Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]

V1, V2 = "/api/v1", "/api/v2"
UNKNOWN_ID = 999_999_999
UNKNOWN_UUID = "00000000-0000-4000-8000-000000000000"
SUCCESS = 0  # a scenario's ``expect``: the 2xx status the spec documents for the operation


@dataclass(frozen=True)
class Scenario:
    """One request to send for an operation.

    Attributes:
        name: what it exercises.
        expect: the status it must get (``SUCCESS``: the operation's documented 2xx).
        send: builds and sends the request, returning the response under test.
    """

    name: str
    expect: int
    send: Builder


SCENARIOS: dict[str, list[Scenario]] = {}

# Documented error statuses a scenario cannot provoke, with why (none so far).
UNREACHABLE: dict[tuple[str, str], str] = {}


def scenario(operation_id: str, name: str, expect: int = SUCCESS) -> Callable[[Builder], Builder]:
    def add(send: Builder) -> Builder:
        SCENARIOS.setdefault(operation_id, []).append(Scenario(name, expect, send))
        return send

    return add


# ---------------------------------------------------------------------- helpers


async def data_of(client: httpx.AsyncClient, url: str, **params: Any) -> Any:
    """``data`` of a successful GET; a clear failure when the prerequisite request fails."""
    response = await client.get(url, params=params)
    assert response.status_code == 200, (
        f"prerequisite GET {url} failed: {response.status_code} {response.text[:300]}")
    return response.json()["data"]


async def last_page(client: httpx.AsyncClient, url: str, **params: Any) -> httpx.Response:
    """The last page of a v2 list, following ``next_cursor`` (or the first answer that is not
    a 200)."""
    response = await client.get(url, params=params)
    while response.status_code == 200 and response.json()["additional_data"].get(
            "next_cursor"):
        response = await client.get(url, params={
            **params, "cursor": response.json()["additional_data"]["next_cursor"]})
    return response


async def first(client: httpx.AsyncClient, url: str, key: str = "id", **params: Any) -> Any:
    """``key`` of the first record a list returns."""
    rows = await data_of(client, url, **params)
    assert rows, f"prerequisite GET {url} returned no records; the demo data should have some"
    return rows[0][key]


async def created(client: httpx.AsyncClient, url: str, body: dict[str, Any]) -> Any:
    """Create a record and return its id."""
    response = await client.post(url, json=body)
    assert response.status_code in (200, 201), (
        f"prerequisite POST {url} failed: {response.status_code} {response.text[:300]}")
    return response.json()["data"]["id"]


async def custom_field_code(client: httpx.AsyncClient, url: str) -> str:
    """A custom (40-hex) field's code from a v2 *Fields list, else the first field's."""
    fields = await data_of(client, url)
    assert fields, f"{url} returned no fields"
    custom = [f for f in fields if f.get("is_custom_field")]
    code: str = (custom or fields)[0]["field_code"]
    return code


async def activity_type(client: httpx.AsyncClient) -> str:
    types = await data_of(client, f"{V1}/activityTypes")
    key: str = types[0]["key_string"]
    return key


async def search_term(client: httpx.AsyncClient, url: str, key: str) -> str:
    """A word from the first record's ``key`` (a name or title) to search for."""
    value: str = await first(client, url, key)
    return max(value.split(), key=len)


def bad_json(client: httpx.AsyncClient, method: str, url: str) -> Awaitable[httpx.Response]:
    return client.request(method, url, content=b'{"title": ', headers={
        "content-type": "application/json"})


# ---------------------------------------------------------------------- v2 entities

INCLUDE_FIELDS = {
    "deals": "next_activity_id,last_activity_id,first_won_time,products_count,files_count,"
             "notes_count,followers_count,email_messages_count,activities_count,"
             "done_activities_count,undone_activities_count,participants_count,"
             "last_incoming_mail_time,last_outgoing_mail_time,smart_bcc_email,source_lead_id",
    "persons": "next_activity_id,last_activity_id,open_deals_count,related_open_deals_count,"
               "closed_deals_count,related_closed_deals_count,participant_open_deals_count,"
               "participant_closed_deals_count,email_messages_count,activities_count,"
               "done_activities_count,undone_activities_count,files_count,notes_count,"
               "followers_count,won_deals_count,related_won_deals_count,lost_deals_count,"
               "related_lost_deals_count,last_incoming_mail_time,last_outgoing_mail_time,"
               "marketing_status,doi_status,smart_bcc_email",
    "organizations": "next_activity_id,last_activity_id,open_deals_count,"
                     "related_open_deals_count,closed_deals_count,related_closed_deals_count,"
                     "email_messages_count,people_count,activities_count,"
                     "done_activities_count,undone_activities_count,files_count,notes_count,"
                     "followers_count,won_deals_count,related_won_deals_count,lost_deals_count,"
                     "related_lost_deals_count,smart_bcc_email",
    "activities": "attendees",
}


async def new_body(client: httpx.AsyncClient, path: str) -> dict[str, Any]:
    """A valid create body for a v2 entity, with references to real records."""
    if path == "deals":
        return {"title": "Conformance deal", "value": 1250, "status": "open"}
    if path == "persons":
        return {"name": "Conformance Person",
                "emails": [{"value": "conformance@example.com", "primary": True,
                            "label": "work"}]}
    if path == "organizations":
        return {"name": "Conformance Org"}
    if path == "products":
        return {"name": "Conformance product", "code": "CONF-1"}
    deal_id = await first(client, f"{V2}/deals")
    return {"subject": "Conformance call", "type": await activity_type(client),
            "deal_id": deal_id, "due_date": "2030-01-15", "due_time": "10:00",
            "duration": "00:30"}


UPDATES = {
    "deals": {"title": "Renamed by conformance", "value": 999},
    "persons": {"name": "Renamed Person"},
    "organizations": {"name": "Renamed Org"},
    "products": {"name": "Renamed product"},
    "activities": {"subject": "Renamed call", "done": True},
}


def entity_scenarios(path: str, singular: str, plural: str) -> None:
    base = f"{V2}/{path}"

    @scenario(f"get{plural}", "first page")
    async def list_first(client: httpx.AsyncClient) -> httpx.Response:
        return await client.get(base)

    @scenario(f"get{plural}", "last page (next_cursor null), sorted by update_time desc")
    async def list_last(client: httpx.AsyncClient) -> httpx.Response:
        return await last_page(client, base, limit=500, sort_by="update_time",
                               sort_direction="desc")

    @scenario(f"get{plural}", "bad limit", 400)
    async def list_bad_limit(client: httpx.AsyncClient) -> httpx.Response:
        return await client.get(base, params={"limit": "many"})

    if path in INCLUDE_FIELDS:
        @scenario(f"get{plural}", "every include_fields value")
        async def list_included(client: httpx.AsyncClient) -> httpx.Response:
            return await client.get(base, params={"include_fields": INCLUDE_FIELDS[path],
                                                  "limit": 50})

    if path != "activities":
        @scenario(f"get{plural}", "custom field option labels")
        async def list_labels(client: httpx.AsyncClient) -> httpx.Response:
            return await client.get(base, params={"include_option_labels": "true",
                                                  "limit": 50})

    @scenario(f"get{singular}", "existing record")
    async def get_one(client: httpx.AsyncClient) -> httpx.Response:
        return await client.get(f"{base}/{await first(client, base)}")

    if path in INCLUDE_FIELDS:
        @scenario(f"get{singular}", "existing record with every include_fields value")
        async def get_included(client: httpx.AsyncClient) -> httpx.Response:
            item = await first(client, base)
            return await client.get(f"{base}/{item}",
                                    params={"include_fields": INCLUDE_FIELDS[path]})

    @scenario(f"get{singular}", "unknown id", 404)
    async def get_unknown(client: httpx.AsyncClient) -> httpx.Response:
        return await client.get(f"{base}/{UNKNOWN_ID}")

    @scenario(f"add{singular}", "valid body")
    async def add(client: httpx.AsyncClient) -> httpx.Response:
        return await client.post(base, json=await new_body(client, path))

    @scenario(f"add{singular}", "unknown key (ERR_SCHEMA_VALIDATION_FAILED)", 400)
    async def add_unknown_key(client: httpx.AsyncClient) -> httpx.Response:
        body = {**await new_body(client, path), "no_such_key": 1}
        return await client.post(base, json=body)

    @scenario(f"add{singular}", "malformed JSON", 400)
    async def add_malformed(client: httpx.AsyncClient) -> httpx.Response:
        return await bad_json(client, "POST", base)

    if path in ("deals", "persons", "organizations"):
        # Products' spec enumerates visible_to (a schema error, 400); activities have none.
        @scenario(f"add{singular}", "visible_to not allowed", 403)
        async def add_visible_to(client: httpx.AsyncClient) -> httpx.Response:
            body = {**await new_body(client, path), "visible_to": 9}
            return await client.post(base, json=body)

    @scenario(f"update{singular}", "existing record")
    async def update(client: httpx.AsyncClient) -> httpx.Response:
        item = await first(client, base)
        return await client.patch(f"{base}/{item}", json=UPDATES[path])

    @scenario(f"update{singular}", "unknown id", 404)
    async def update_unknown(client: httpx.AsyncClient) -> httpx.Response:
        return await client.patch(f"{base}/{UNKNOWN_ID}", json=UPDATES[path])

    @scenario(f"update{singular}", "unknown key", 400)
    async def update_unknown_key(client: httpx.AsyncClient) -> httpx.Response:
        item = await first(client, base)
        return await client.patch(f"{base}/{item}", json={"no_such_key": 1})

    @scenario(f"delete{singular}", "record it created")
    async def delete(client: httpx.AsyncClient) -> httpx.Response:
        item = await created(client, base, await new_body(client, path))
        return await client.delete(f"{base}/{item}")

    @scenario(f"delete{singular}", "unknown id", 404)
    async def delete_unknown(client: httpx.AsyncClient) -> httpx.Response:
        return await client.delete(f"{base}/{UNKNOWN_ID}")


entity_scenarios("deals", "Deal", "Deals")
entity_scenarios("persons", "Person", "Persons")
entity_scenarios("organizations", "Organization", "Organizations")
entity_scenarios("products", "Product", "Products")
entity_scenarios("activities", "Activity", "Activities")


@scenario("getDeals", "filtered by status and pipeline")
async def deals_filtered(client: httpx.AsyncClient) -> httpx.Response:
    pipeline = await first(client, f"{V2}/pipelines")
    return await client.get(f"{V2}/deals", params={"status": "won", "pipeline_id": pipeline})


@scenario("getDeals", "by a saved filter")
async def deals_by_filter(client: httpx.AsyncClient) -> httpx.Response:
    filter_id = await first(client, f"{V1}/filters", type="deals")
    return await client.get(f"{V2}/deals", params={"filter_id": filter_id})


@scenario("getDeals", "deleted deals")
async def deals_deleted(client: httpx.AsyncClient) -> httpx.Response:
    item = await created(client, f"{V2}/deals", {"title": "Soon gone"})
    await client.delete(f"{V2}/deals/{item}")
    return await client.get(f"{V2}/deals", params={"status": "deleted"})


@scenario("updateDeal", "won, then lost with a reason")
async def deal_won_lost(client: httpx.AsyncClient) -> httpx.Response:
    item = await first(client, f"{V2}/deals", status="open")
    await client.patch(f"{V2}/deals/{item}", json={"status": "won"})
    return await client.patch(f"{V2}/deals/{item}",
                              json={"status": "lost", "lost_reason": "Budget"})


# ---------------------------------------------------------------------- v2 pipelines, stages


@scenario("getPipelines", "all")
async def pipelines(client: httpx.AsyncClient) -> httpx.Response:
    return await client.get(f"{V2}/pipelines")


@scenario("getPipeline", "existing pipeline")
async def pipeline(client: httpx.AsyncClient) -> httpx.Response:
    return await client.get(f"{V2}/pipelines/{await first(client, f'{V2}/pipelines')}")


@scenario("getPipeline", "unknown id", 404)
async def pipeline_unknown(client: httpx.AsyncClient) -> httpx.Response:
    return await client.get(f"{V2}/pipelines/{UNKNOWN_ID}")


@scenario("getStages", "all")
async def stages(client: httpx.AsyncClient) -> httpx.Response:
    return await client.get(f"{V2}/stages")


@scenario("getStages", "of one pipeline")
async def stages_of_pipeline(client: httpx.AsyncClient) -> httpx.Response:
    pipeline_id = await first(client, f"{V2}/pipelines")
    return await client.get(f"{V2}/stages", params={"pipeline_id": pipeline_id})


@scenario("getStage", "existing stage")
async def stage(client: httpx.AsyncClient) -> httpx.Response:
    return await client.get(f"{V2}/stages/{await first(client, f'{V2}/stages')}")


@scenario("getStage", "unknown id", 404)
async def stage_unknown(client: httpx.AsyncClient) -> httpx.Response:
    return await client.get(f"{V2}/stages/{UNKNOWN_ID}")


# ---------------------------------------------------------------------- v2 *Fields


def field_scenarios(path: str, singular: str) -> None:
    base = f"{V2}/{path}"
    # The spec offers important/required_fields only for deal, person and organization fields.
    include = ("ui_visibility" if path in ("productFields", "activityFields")
               else "ui_visibility,important_fields,required_fields")

    @scenario(f"get{singular}s", "all")
    async def all_fields(client: httpx.AsyncClient) -> httpx.Response:
        return await client.get(base)

    @scenario(f"get{singular}s", "all, with every include_fields part")
    async def all_fields_included(client: httpx.AsyncClient) -> httpx.Response:
        return await client.get(base, params={"include_fields": include})

    @scenario(f"get{singular}", "a custom field with every include_fields part")
    async def one_field_included(client: httpx.AsyncClient) -> httpx.Response:
        code = await custom_field_code(client, base)
        return await client.get(f"{base}/{code}", params={"include_fields": include})

    @scenario(f"get{singular}", "a custom field")
    async def one_field(client: httpx.AsyncClient) -> httpx.Response:
        return await client.get(f"{base}/{await custom_field_code(client, base)}")

    @scenario(f"get{singular}", "a built-in field")
    async def builtin_field(client: httpx.AsyncClient) -> httpx.Response:
        fields = await data_of(client, base)
        builtin = [f for f in fields if not f.get("is_custom_field")]
        return await client.get(f"{base}/{(builtin or fields)[0]['field_code']}")

    @scenario(f"get{singular}", "unknown field code", 404)
    async def unknown_field(client: httpx.AsyncClient) -> httpx.Response:
        return await client.get(f"{base}/{'0' * 40}")


field_scenarios("dealFields", "DealField")
field_scenarios("personFields", "PersonField")
field_scenarios("organizationFields", "OrganizationField")
field_scenarios("productFields", "ProductField")
field_scenarios("activityFields", "ActivityField")


# ---------------------------------------------------------------------- v2 archived deals


@scenario("getArchivedDeals", "first page")
async def archived_deals(client: httpx.AsyncClient) -> httpx.Response:
    return await client.get(f"{V2}/deals/archived")


@scenario("getArchivedDeals", "every page, sorted by update_time desc, every include_fields")
async def archived_deals_paged(client: httpx.AsyncClient) -> httpx.Response:
    return await last_page(client, f"{V2}/deals/archived", limit=50, sort_by="update_time",
                           sort_direction="desc", include_fields=INCLUDE_FIELDS["deals"])


@scenario("getArchivedDeals", "filtered by status and owner")
async def archived_deals_filtered(client: httpx.AsyncClient) -> httpx.Response:
    owner = await first(client, f"{V2}/deals/archived", "owner_id")
    return await client.get(f"{V2}/deals/archived", params={"status": "won", "owner_id": owner})


@scenario("getArchivedDeals", "bad sort_by", 400)
async def archived_deals_bad_sort(client: httpx.AsyncClient) -> httpx.Response:
    return await client.get(f"{V2}/deals/archived", params={"sort_by": "title"})


@scenario("updateDeal", "archived (is_archived true), then unarchived")
async def deal_archived(client: httpx.AsyncClient) -> httpx.Response:
    item = await first(client, f"{V2}/deals")
    await client.patch(f"{V2}/deals/{item}", json={"is_archived": True})
    return await client.patch(f"{V2}/deals/{item}", json={"is_archived": False})


@scenario("updateDeal", "archived at a given archive_time")
async def deal_archived_at(client: httpx.AsyncClient) -> httpx.Response:
    item = await first(client, f"{V2}/deals")
    return await client.patch(f"{V2}/deals/{item}", json={
        "is_archived": True, "archive_time": "2026-01-02 03:04:05"})


@scenario("getDeal", "an archived deal")
async def deal_archived_one(client: httpx.AsyncClient) -> httpx.Response:
    return await client.get(f"{V2}/deals/{await first(client, f'{V2}/deals/archived')}")


# ---------------------------------------------------------------------- v2 deal products


async def deal_with_products(client: httpx.AsyncClient) -> tuple[int, int]:
    """A deal that has products attached, and its first deal-product's id."""
    items = await data_of(client, f"{V2}/deals/products",
                          deal_ids=",".join(str(i) for i in range(1, 101)))
    assert items, "the demo data should attach products to some of the first 100 deals"
    return items[0]["deal_id"], items[0]["id"]


@scenario("getDealProducts", "a deal with products")
async def deal_products(client: httpx.AsyncClient) -> httpx.Response:
    deal_id, _ = await deal_with_products(client)
    return await client.get(f"{V2}/deals/{deal_id}/products")


@scenario("getDealProducts", "paged by one, order_nr desc (last page)")
async def deal_products_paged(client: httpx.AsyncClient) -> httpx.Response:
    deal_id, _ = await deal_with_products(client)
    return await last_page(client, f"{V2}/deals/{deal_id}/products", limit=1,
                           sort_by="order_nr", sort_direction="desc")


@scenario("getDealProducts", "unknown deal", 404)
async def deal_products_unknown(client: httpx.AsyncClient) -> httpx.Response:
    return await client.get(f"{V2}/deals/{UNKNOWN_ID}/products")


@scenario("getDealsProducts", "the first 100 deals")
async def deals_products(client: httpx.AsyncClient) -> httpx.Response:
    return await client.get(f"{V2}/deals/products", params={
        "deal_ids": ",".join(str(i) for i in range(1, 101)), "sort_by": "deal_id"})


@scenario("getDealsProducts", "deal_ids missing", 400)
async def deals_products_missing(client: httpx.AsyncClient) -> httpx.Response:
    return await client.get(f"{V2}/deals/products")


@scenario("addDealProduct", "a product with quantity, price and a discount")
async def add_deal_product(client: httpx.AsyncClient) -> httpx.Response:
    deal_id = await first(client, f"{V2}/deals")
    product_id = await first(client, f"{V2}/products")
    return await client.post(f"{V2}/deals/{deal_id}/products", json={
        "product_id": product_id, "item_price": 120, "quantity": 3, "discount": 10,
        "discount_type": "percentage", "comments": "Conformance"})


@scenario("addDealProduct", "quantity missing", 400)
async def add_deal_product_missing(client: httpx.AsyncClient) -> httpx.Response:
    deal_id = await first(client, f"{V2}/deals")
    product_id = await first(client, f"{V2}/products")
    return await client.post(f"{V2}/deals/{deal_id}/products",
                             json={"product_id": product_id, "item_price": 1})


@scenario("updateDealProduct", "new quantity")
async def update_deal_product(client: httpx.AsyncClient) -> httpx.Response:
    deal_id, item = await deal_with_products(client)
    return await client.patch(f"{V2}/deals/{deal_id}/products/{item}", json={"quantity": 7})


@scenario("updateDealProduct", "unknown deal product", 404)
async def update_deal_product_unknown(client: httpx.AsyncClient) -> httpx.Response:
    deal_id, _ = await deal_with_products(client)
    return await client.patch(f"{V2}/deals/{deal_id}/products/{UNKNOWN_ID}",
                              json={"quantity": 7})


@scenario("deleteDealProduct", "an attached product")
async def delete_deal_product(client: httpx.AsyncClient) -> httpx.Response:
    deal_id, item = await deal_with_products(client)
    return await client.delete(f"{V2}/deals/{deal_id}/products/{item}")


@scenario("deleteDealProduct", "unknown deal product", 404)
async def delete_deal_product_unknown(client: httpx.AsyncClient) -> httpx.Response:
    deal_id, _ = await deal_with_products(client)
    return await client.delete(f"{V2}/deals/{deal_id}/products/{UNKNOWN_ID}")


# ---------------------------------------------------------------------- v2 followers


async def other_user(client: httpx.AsyncClient, path: str, item: int) -> int:
    """A user who does not follow the record yet."""
    following = {f["user_id"] for f in await data_of(client, f"{V2}/{path}/{item}/followers")}
    users = await data_of(client, f"{V1}/users")
    return int(next(u["id"] for u in users if u["id"] not in following))


def follower_scenarios(path: str, name: str) -> None:
    base = f"{V2}/{path}"

    @scenario(f"get{name}Followers", "a record's followers")
    async def followers(client: httpx.AsyncClient) -> httpx.Response:
        return await client.get(f"{base}/{await first(client, base)}/followers")

    @scenario(f"get{name}Followers", "paged by one (last page)")
    async def followers_paged(client: httpx.AsyncClient) -> httpx.Response:
        item = await first(client, base)
        await client.post(f"{base}/{item}/followers",
                          json={"user_id": await other_user(client, path, item)})
        return await last_page(client, f"{base}/{item}/followers", limit=1)

    @scenario(f"get{name}Followers", "unknown record", 404)
    async def followers_unknown(client: httpx.AsyncClient) -> httpx.Response:
        return await client.get(f"{base}/{UNKNOWN_ID}/followers")

    @scenario(f"add{name}Follower", "a user not following yet")
    async def add_follower(client: httpx.AsyncClient) -> httpx.Response:
        item = await first(client, base)
        return await client.post(f"{base}/{item}/followers",
                                 json={"user_id": await other_user(client, path, item)})

    @scenario(f"add{name}Follower", "user_id missing (schema)", 400)
    async def add_follower_bad(client: httpx.AsyncClient) -> httpx.Response:
        item = await first(client, base)
        return await client.post(f"{base}/{item}/followers", json={"user_id": "me"})

    @scenario(f"delete{name}Follower", "a follower")
    async def delete_follower(client: httpx.AsyncClient) -> httpx.Response:
        item = await first(client, base)
        user = await first(client, f"{base}/{item}/followers", "user_id")
        return await client.delete(f"{base}/{item}/followers/{user}")

    @scenario(f"delete{name}Follower", "a user who does not follow", 404)
    async def delete_follower_unknown(client: httpx.AsyncClient) -> httpx.Response:
        item = await first(client, base)
        return await client.delete(f"{base}/{item}/followers/{UNKNOWN_ID}")

    @scenario(f"get{name}FollowersChangelog", "after an add and a removal")
    async def followers_changelog(client: httpx.AsyncClient) -> httpx.Response:
        item = await first(client, base)
        user = await other_user(client, path, item)
        await client.post(f"{base}/{item}/followers", json={"user_id": user})
        await client.delete(f"{base}/{item}/followers/{user}")
        return await client.get(f"{base}/{item}/followers/changelog", params={"limit": 1})


follower_scenarios("deals", "Deal")
follower_scenarios("persons", "Person")
follower_scenarios("organizations", "Organization")
follower_scenarios("products", "Product")


# ---------------------------------------------------------------------- v2 and v1 activityFields


async def oauth_token(client: httpx.AsyncClient, scope: str) -> str:
    """An OAuth access token granted ``scope``, through the sandbox's consent flow.

    The flow runs on a client of its own over the same app, so ``client`` (and whatever
    watches its traffic) sees only API requests.
    """
    import re
    from urllib.parse import parse_qs, urlsplit

    transport: Any = getattr(client, "_transport")  # noqa: B009 - the ASGI app under test
    oauth = transport.app.state.config.oauth
    redirect = getattr(oauth, "redirect_uri", None) or "http://127.0.0.1:8765/callback"
    async with httpx.AsyncClient(transport=transport, base_url=client.base_url) as web:
        page = await web.get("/oauth/authorize", params={
            "client_id": oauth.client_id, "redirect_uri": redirect, "scope": scope})
        if page.status_code == 200:
            consent = re.search(r"name=consent_id value='([^']+)'", page.text)
            assert consent, page.text[:300]
            page = await web.post("/oauth/authorize",
                                  data={"consent_id": consent.group(1), "action": "allow"})
        assert page.status_code == 302, page.text[:300]
        code = parse_qs(urlsplit(page.headers["location"]).query)["code"][0]
        issued = await web.post("/oauth/token", auth=(oauth.client_id, oauth.client_secret),
                                data={"grant_type": "authorization_code", "code": code,
                                      "redirect_uri": redirect})
    assert issued.status_code == 200, issued.text[:300]
    token: str = issued.json()["access_token"]
    return token


@scenario("getActivityFields", "v2, OAuth token without the admin scope", 403)
async def activity_fields_no_admin(client: httpx.AsyncClient) -> httpx.Response:
    token = await oauth_token(client, "base,activities:full")
    return await client.get(f"{V2}/activityFields", headers={
        "x-api-token": "", "Authorization": f"Bearer {token}"})


@scenario("getActivityFields", "v1, OAuth token with activities:read")
async def activity_fields_v1(client: httpx.AsyncClient) -> httpx.Response:
    token = await oauth_token(client, "base,activities:read")
    return await client.get(f"{V1}/activityFields", headers={
        "x-api-token": "", "Authorization": f"Bearer {token}"})


@scenario("getActivityFields", "v1, API token")
async def activity_fields_v1_token(client: httpx.AsyncClient) -> httpx.Response:
    return await client.get(f"{V1}/activityFields")


# ---------------------------------------------------------------------- v1 changelogs, files


@scenario("getPersonChangelog", "after a PATCH of the person")
async def person_changelog(client: httpx.AsyncClient) -> httpx.Response:
    item = await first(client, f"{V2}/persons")
    await client.patch(f"{V2}/persons/{item}", json={"name": "Changed For Changelog",
                                                     "job_title": "Buyer"})
    return await client.get(f"{V1}/persons/{item}/changelog", params={"limit": 1})


@scenario("getPersonChangelog", "OAuth token without recents:read", 403)
async def person_changelog_no_scope(client: httpx.AsyncClient) -> httpx.Response:
    item = await first(client, f"{V2}/persons")
    token = await oauth_token(client, "base,contacts:full")
    return await client.get(f"{V1}/persons/{item}/changelog", headers={
        "x-api-token": "", "Authorization": f"Bearer {token}"})


@scenario("getPersonChangelog", "unknown person", 404)
async def person_changelog_unknown(client: httpx.AsyncClient) -> httpx.Response:
    return await client.get(f"{V1}/persons/{UNKNOWN_ID}/changelog")


@scenario("getOrganizationChangelog", "after a PATCH of the organization, second page")
async def organization_changelog(client: httpx.AsyncClient) -> httpx.Response:
    item = await first(client, f"{V2}/organizations")
    await client.patch(f"{V2}/organizations/{item}", json={"name": "Renamed For Changelog",
                                                           "website": "https://example.com"})
    page = await client.get(f"{V1}/organizations/{item}/changelog", params={"limit": 1})
    cursor = page.json()["additional_data"]["next_cursor"]
    return await client.get(f"{V1}/organizations/{item}/changelog",
                            params={"limit": 1, "cursor": cursor})


@scenario("getOrganizationChangelog", "unknown organization", 404)
async def organization_changelog_unknown(client: httpx.AsyncClient) -> httpx.Response:
    return await client.get(f"{V1}/organizations/{UNKNOWN_ID}/changelog")


async def file_link(client: httpx.AsyncClient, key: str) -> int:
    """The id of a record that has files, through ``key`` of a file."""
    files = await data_of(client, f"{V1}/files", limit=100)
    return int(next(f[key] for f in files if f.get(key)))


def file_scenarios(path: str, name: str, key: str) -> None:
    @scenario(f"get{name}Files", "a record with files, sorted by update_time desc")
    async def files(client: httpx.AsyncClient) -> httpx.Response:
        if key == "product_id":  # no demo file is on a product
            item = await first(client, f"{V2}/products")
        else:
            item = await file_link(client, key)
        return await client.get(f"{V1}/{path}/{item}/files",
                                params={"sort": "update_time DESC", "limit": 100})

    @scenario(f"get{name}Files", "limit above 100", 400)
    async def files_over(client: httpx.AsyncClient) -> httpx.Response:
        item = await first(client, f"{V2}/{path}")
        return await client.get(f"{V1}/{path}/{item}/files", params={"limit": 101})

    @scenario(f"get{name}Files", "unknown record", 404)
    async def files_unknown(client: httpx.AsyncClient) -> httpx.Response:
        return await client.get(f"{V1}/{path}/{UNKNOWN_ID}/files")


file_scenarios("deals", "Deal", "deal_id")
file_scenarios("persons", "Person", "person_id")
file_scenarios("organizations", "Organization", "org_id")
file_scenarios("products", "Product", "product_id")


@scenario("getFiles", "second page")
async def all_files(client: httpx.AsyncClient) -> httpx.Response:
    return await client.get(f"{V1}/files", params={"start": 10, "limit": 10})


@scenario("getFiles", "bad sort", 400)
async def all_files_bad_sort(client: httpx.AsyncClient) -> httpx.Response:
    return await client.get(f"{V1}/files", params={"sort": "size ASC"})


@scenario("getFile", "one file")
async def one_file(client: httpx.AsyncClient) -> httpx.Response:
    return await client.get(f"{V1}/files/{await first(client, f'{V1}/files')}")


@scenario("getFile", "unknown file", 404)
async def one_file_unknown(client: httpx.AsyncClient) -> httpx.Response:
    return await client.get(f"{V1}/files/{UNKNOWN_ID}")


# ---------------------------------------------------------------------- v2 search


@scenario("searchItem", "a deal title word, all item types, related items")
async def item_search(client: httpx.AsyncClient) -> httpx.Response:
    term = await search_term(client, f"{V2}/organizations", "name")
    return await client.get(f"{V2}/itemSearch",
                            params={"term": term, "search_for_related_items": "true"})


@scenario("searchItem", "persons and leads by name, exact match, extra fields")
async def item_search_typed(client: httpx.AsyncClient) -> httpx.Response:
    name = await first(client, f"{V2}/persons", "name")
    return await client.get(f"{V2}/itemSearch", params={
        "term": name, "item_types": "person,lead,deal,organization,product",
        "exact_match": "true", "include_fields": "deal.cc_email,person.picture,product.price",
        "limit": 10})


@scenario("searchItem", "term too short", 400)
async def item_search_short(client: httpx.AsyncClient) -> httpx.Response:
    return await client.get(f"{V2}/itemSearch", params={"term": "a"})


@scenario("searchDeals", "a title word")
async def deal_search(client: httpx.AsyncClient) -> httpx.Response:
    term = await search_term(client, f"{V2}/deals", "title")
    return await client.get(f"{V2}/deals/search",
                            params={"term": term, "include_fields": "deal.cc_email"})


@scenario("searchDeals", "term too short", 400)
async def deal_search_short(client: httpx.AsyncClient) -> httpx.Response:
    return await client.get(f"{V2}/deals/search", params={"term": "a"})


@scenario("searchPersons", "a name")
async def person_search(client: httpx.AsyncClient) -> httpx.Response:
    term = await search_term(client, f"{V2}/persons", "name")
    return await client.get(f"{V2}/persons/search",
                            params={"term": term, "include_fields": "person.picture"})


@scenario("searchPersons", "an email, exact", SUCCESS)
async def person_search_email(client: httpx.AsyncClient) -> httpx.Response:
    persons = await data_of(client, f"{V2}/persons", limit=50)
    email = next(e["value"] for p in persons for e in p.get("emails", ()) if e.get("value"))
    return await client.get(f"{V2}/persons/search",
                            params={"term": email, "fields": "email", "exact_match": "true"})


@scenario("searchOrganization", "a name")
async def organization_search(client: httpx.AsyncClient) -> httpx.Response:
    term = await search_term(client, f"{V2}/organizations", "name")
    return await client.get(f"{V2}/organizations/search", params={"term": term})


@scenario("searchOrganization", "term too short", 400)
async def organization_search_short(client: httpx.AsyncClient) -> httpx.Response:
    return await client.get(f"{V2}/organizations/search", params={"term": "a"})


# ---------------------------------------------------------------------- v1 leads


async def new_lead(client: httpx.AsyncClient) -> dict[str, Any]:
    person_id = await first(client, f"{V2}/persons")
    return {"title": "Conformance lead", "person_id": person_id,
            "value": {"amount": 500, "currency": "EUR"}, "expected_close_date": "2030-02-01"}


@scenario("getLeads", "first page")
async def leads(client: httpx.AsyncClient) -> httpx.Response:
    return await client.get(f"{V1}/leads", params={"limit": 100})


@scenario("getLeads", "last page")
async def leads_last(client: httpx.AsyncClient) -> httpx.Response:
    start = 0
    while True:
        response = await client.get(f"{V1}/leads", params={"start": start, "limit": 500})
        page = (response.json().get("additional_data") or {}).get("pagination") or {}
        if response.status_code != 200 or not page.get("more_items_in_collection"):
            return response
        start = page["next_start"]


@scenario("getArchivedLeads", "first page")
async def archived_leads(client: httpx.AsyncClient) -> httpx.Response:
    return await client.get(f"{V1}/leads/archived")


@scenario("getLead", "existing lead")
async def lead(client: httpx.AsyncClient) -> httpx.Response:
    return await client.get(f"{V1}/leads/{await first(client, f'{V1}/leads')}")


@scenario("getLead", "archived lead")
async def lead_archived(client: httpx.AsyncClient) -> httpx.Response:
    return await client.get(f"{V1}/leads/{await first(client, f'{V1}/leads/archived')}")


@scenario("getLead", "unknown id", 404)
async def lead_unknown(client: httpx.AsyncClient) -> httpx.Response:
    return await client.get(f"{V1}/leads/{UNKNOWN_UUID}")


@scenario("addLead", "title and person")
async def lead_add(client: httpx.AsyncClient) -> httpx.Response:
    return await client.post(f"{V1}/leads", json=await new_lead(client))


@scenario("addLead", "without a title", 400)
async def lead_add_untitled(client: httpx.AsyncClient) -> httpx.Response:
    body = await new_lead(client)
    del body["title"]
    return await client.post(f"{V1}/leads", json=body)


@scenario("addLead", "without person or organization", 400)
async def lead_add_orphan(client: httpx.AsyncClient) -> httpx.Response:
    return await client.post(f"{V1}/leads", json={"title": "Nobody's lead"})


@scenario("updateLead", "retitle and clear the value")
async def lead_update(client: httpx.AsyncClient) -> httpx.Response:
    item = await first(client, f"{V1}/leads")
    return await client.patch(f"{V1}/leads/{item}",
                              json={"title": "Renamed lead", "value": None})


@scenario("updateLead", "archive")
async def lead_archive(client: httpx.AsyncClient) -> httpx.Response:
    item = await first(client, f"{V1}/leads")
    return await client.patch(f"{V1}/leads/{item}", json={"is_archived": True})


@scenario("updateLead", "unknown id", 404)
async def lead_update_unknown(client: httpx.AsyncClient) -> httpx.Response:
    return await client.patch(f"{V1}/leads/{UNKNOWN_UUID}", json={"title": "x"})


@scenario("deleteLead", "lead it created")
async def lead_delete(client: httpx.AsyncClient) -> httpx.Response:
    item = await created(client, f"{V1}/leads", await new_lead(client))
    return await client.delete(f"{V1}/leads/{item}")


@scenario("deleteLead", "unknown id", 404)
async def lead_delete_unknown(client: httpx.AsyncClient) -> httpx.Response:
    return await client.delete(f"{V1}/leads/{UNKNOWN_UUID}")


@scenario("getLeadLabels", "all")
async def lead_labels(client: httpx.AsyncClient) -> httpx.Response:
    return await client.get(f"{V1}/leadLabels")


@scenario("addLeadLabel", "name and color")
async def lead_label_add(client: httpx.AsyncClient) -> httpx.Response:
    return await client.post(f"{V1}/leadLabels", json={"name": "Conformance", "color": "blue"})


@scenario("addLeadLabel", "unknown color", 400)
async def lead_label_bad_color(client: httpx.AsyncClient) -> httpx.Response:
    return await client.post(f"{V1}/leadLabels", json={"name": "Bad", "color": "mauve"})


@scenario("getLeadSources", "all")
async def lead_sources(client: httpx.AsyncClient) -> httpx.Response:
    return await client.get(f"{V1}/leadSources")


@scenario("getLeadFields", "all")
async def lead_fields(client: httpx.AsyncClient) -> httpx.Response:
    return await client.get(f"{V1}/leadFields")


# ---------------------------------------------------------------------- v1 notes


@scenario("getNotes", "first page")
async def notes(client: httpx.AsyncClient) -> httpx.Response:
    return await client.get(f"{V1}/notes")


@scenario("getNotes", "pinned notes of a deal")
async def notes_of_deal(client: httpx.AsyncClient) -> httpx.Response:
    deal_id = await first(client, f"{V1}/notes", "deal_id", pinned_to_deal_flag=1)
    return await client.get(f"{V1}/notes", params={"deal_id": deal_id,
                                                   "pinned_to_deal_flag": 1})


@scenario("getNotes", "notes of a lead")
async def notes_of_lead(client: httpx.AsyncClient) -> httpx.Response:
    notes = await data_of(client, f"{V1}/notes", limit=500)
    lead_id = next(n["lead_id"] for n in notes if n.get("lead_id"))
    return await client.get(f"{V1}/notes", params={"lead_id": lead_id})


@scenario("getNote", "existing note")
async def note(client: httpx.AsyncClient) -> httpx.Response:
    return await client.get(f"{V1}/notes/{await first(client, f'{V1}/notes')}")


@scenario("getNote", "unknown id", 404)
async def note_unknown(client: httpx.AsyncClient) -> httpx.Response:
    return await client.get(f"{V1}/notes/{UNKNOWN_ID}")


async def new_note(client: httpx.AsyncClient) -> dict[str, Any]:
    deal_id = await first(client, f"{V2}/deals")
    return {"content": "<p>Called, <b>agreed</b> on a demo.</p>", "deal_id": deal_id,
            "pinned_to_deal_flag": 1}


@scenario("addNote", "on a deal, pinned")
async def note_add(client: httpx.AsyncClient) -> httpx.Response:
    return await client.post(f"{V1}/notes", json=await new_note(client))


@scenario("addNote", "without content", 400)
async def note_add_empty(client: httpx.AsyncClient) -> httpx.Response:
    body = await new_note(client)
    del body["content"]
    return await client.post(f"{V1}/notes", json=body)


@scenario("addNote", "attached to nothing", 400)
async def note_add_orphan(client: httpx.AsyncClient) -> httpx.Response:
    return await client.post(f"{V1}/notes", json={"content": "Floating"})


@scenario("updateNote", "new content")
async def note_update(client: httpx.AsyncClient) -> httpx.Response:
    item = await first(client, f"{V1}/notes")
    return await client.put(f"{V1}/notes/{item}", json={"content": "Rewritten"})


@scenario("updateNote", "unknown id", 404)
async def note_update_unknown(client: httpx.AsyncClient) -> httpx.Response:
    return await client.put(f"{V1}/notes/{UNKNOWN_ID}", json={"content": "x"})


@scenario("deleteNote", "note it created")
async def note_delete(client: httpx.AsyncClient) -> httpx.Response:
    item = await created(client, f"{V1}/notes", await new_note(client))
    return await client.delete(f"{V1}/notes/{item}")


@scenario("deleteNote", "unknown id", 404)
async def note_delete_unknown(client: httpx.AsyncClient) -> httpx.Response:
    return await client.delete(f"{V1}/notes/{UNKNOWN_ID}")


# ---------------------------------------------------------------------- v1 account


@scenario("getUsers", "all")
async def users(client: httpx.AsyncClient) -> httpx.Response:
    return await client.get(f"{V1}/users")


@scenario("getUser", "existing user")
async def user(client: httpx.AsyncClient) -> httpx.Response:
    return await client.get(f"{V1}/users/{await first(client, f'{V1}/users')}")


@scenario("getUser", "unknown id", 404)
async def user_unknown(client: httpx.AsyncClient) -> httpx.Response:
    return await client.get(f"{V1}/users/{UNKNOWN_ID}")


@scenario("getCurrentUser", "the token's user")
async def me(client: httpx.AsyncClient) -> httpx.Response:
    return await client.get(f"{V1}/users/me")


@scenario("getCurrentUser", "through the legacy /v1 prefix")
async def me_legacy(client: httpx.AsyncClient) -> httpx.Response:
    return await client.get("/v1/users/me")


@scenario("getCurrentUser", "without a token", 401)
async def me_anonymous(client: httpx.AsyncClient) -> httpx.Response:
    request = client.build_request("GET", f"{V1}/users/me")
    del request.headers["x-api-token"]
    return await client.send(request)


@scenario("getFilters", "all")
async def filters(client: httpx.AsyncClient) -> httpx.Response:
    return await client.get(f"{V1}/filters")


@scenario("getFilters", "deal filters")
async def deal_filters(client: httpx.AsyncClient) -> httpx.Response:
    return await client.get(f"{V1}/filters", params={"type": "deals"})


@scenario("getFilter", "existing filter")
async def one_filter(client: httpx.AsyncClient) -> httpx.Response:
    return await client.get(f"{V1}/filters/{await first(client, f'{V1}/filters')}")


@scenario("getFilter", "unknown id", 404)
async def filter_unknown(client: httpx.AsyncClient) -> httpx.Response:
    return await client.get(f"{V1}/filters/{UNKNOWN_ID}")


@scenario("getCurrencies", "all")
async def currencies(client: httpx.AsyncClient) -> httpx.Response:
    return await client.get(f"{V1}/currencies")


@scenario("getActivityTypes", "all")
async def activity_types(client: httpx.AsyncClient) -> httpx.Response:
    return await client.get(f"{V1}/activityTypes")


# ---------------------------------------------------------------------- v1 deals


@scenario("getDealsSummary", "all deals")
async def deals_summary(client: httpx.AsyncClient) -> httpx.Response:
    return await client.get(f"{V1}/deals/summary")


@scenario("getDealsSummary", "open deals of one pipeline")
async def deals_summary_open(client: httpx.AsyncClient) -> httpx.Response:
    pipeline_id = await first(client, f"{V2}/pipelines")
    return await client.get(f"{V1}/deals/summary",
                            params={"status": "open", "pipeline_id": pipeline_id})


@scenario("getDealChangelog", "a deal just edited")
async def deal_changelog(client: httpx.AsyncClient) -> httpx.Response:
    item = await first(client, f"{V2}/deals")
    await client.patch(f"{V2}/deals/{item}", json={"title": "Edited for the changelog"})
    return await client.get(f"{V1}/deals/{item}/changelog")


@scenario("getDealChangelog", "unknown deal", 404)
async def deal_changelog_unknown(client: httpx.AsyncClient) -> httpx.Response:
    return await client.get(f"{V1}/deals/{UNKNOWN_ID}/changelog")


@scenario("getDealParticipants", "a deal with its person and activity participants")
async def deal_participants(client: httpx.AsyncClient) -> httpx.Response:
    deals = await data_of(client, f"{V2}/deals", limit=50)
    deal = next(d for d in deals if d.get("person_id"))
    other = await created(client, f"{V2}/persons", {"name": "Conformance Participant"})
    await created(client, f"{V2}/activities", {
        "subject": "Conformance meeting", "deal_id": deal["id"],
        "participants": [{"person_id": other, "primary": True}]})
    return await client.get(f"{V1}/deals/{deal['id']}/participants",
                            params={"start": 0, "limit": 1})


@scenario("getDealParticipants", "unknown deal", 404)
async def deal_participants_unknown(client: httpx.AsyncClient) -> httpx.Response:
    return await client.get(f"{V1}/deals/{UNKNOWN_ID}/participants")


# ---------------------------------------------------------------------- v2 product and lead search


@scenario("searchProducts", "a name word, with prices")
async def product_search(client: httpx.AsyncClient) -> httpx.Response:
    term = await search_term(client, f"{V2}/products", "name")
    return await client.get(f"{V2}/products/search",
                            params={"term": term, "include_fields": "product.price"})


@scenario("searchProducts", "term too short", 400)
async def product_search_short(client: httpx.AsyncClient) -> httpx.Response:
    return await client.get(f"{V2}/products/search", params={"term": "a"})


@scenario("searchLeads", "a title word of one person's leads, was_seen included")
async def lead_search(client: httpx.AsyncClient) -> httpx.Response:
    lead = (await client.get(f"{V1}/leads", params={"limit": 1})).json()["data"][0]
    term = max(lead["title"].split(), key=len)
    return await client.get(f"{V2}/leads/search", params={
        "term": term, "person_id": lead["person_id"], "include_fields": "lead.was_seen",
        "fields": "title"})


@scenario("searchLeads", "term too short", 400)
async def lead_search_short(client: httpx.AsyncClient) -> httpx.Response:
    return await client.get(f"{V2}/leads/search", params={"term": "a"})
