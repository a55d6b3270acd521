"""OAuth scopes where the sandbox enforces them: v2 ``activityFields`` needs ``admin`` (v1
takes ``activities:read``), changelogs need ``recents:read``; API tokens have full access.
A refusal is Pipedrive's JSON 403."""

from __future__ import annotations

import httpx

from explorer.sandbox.app import DEFAULT_TOKEN
from tests.sandbox.scenarios import oauth_token

V1, V2 = "/api/v1", "/api/v2"


def as_bearer(token: str) -> dict[str, str]:
    return {"x-api-token": "", "Authorization": f"Bearer {token}"}


async def test_v2_activity_fields_refuse_an_oauth_token_without_admin(
        client: httpx.AsyncClient) -> None:
    token = await oauth_token(client, "base,activities:full,deals:full")
    for url in (f"{V2}/activityFields", f"{V2}/activityFields/subject"):
        response = await client.get(url, headers=as_bearer(token))
        assert response.status_code == 403, response.text
        assert response.headers["content-type"].startswith("application/json")
        body = response.json()
        assert body["success"] is False and body["errorCode"] == 403
        assert body["error"] == "Scope and URL mismatch"
        assert "admin" in body["error_info"] and token not in response.text
    # Other v2 fields need no admin scope.
    assert (await client.get(f"{V2}/dealFields", headers=as_bearer(token))).status_code == 200


async def test_v2_activity_fields_answer_admin_tokens_and_api_tokens(
        client: httpx.AsyncClient) -> None:
    token = await oauth_token(client, "base,admin")
    with_admin = await client.get(f"{V2}/activityFields", headers=as_bearer(token))
    assert with_admin.status_code == 200, with_admin.text
    assert (await client.get(f"{V2}/activityFields")).status_code == 200
    # An API token sent as a Bearer credential is still an API token: full access.
    as_api = await client.get(f"{V2}/activityFields", headers=as_bearer(DEFAULT_TOKEN))
    assert as_api.status_code == 200


async def test_v1_activity_fields_take_activities_read(client: httpx.AsyncClient) -> None:
    token = await oauth_token(client, "base,activities:read")
    v1 = await client.get(f"{V1}/activityFields", headers=as_bearer(token))
    assert v1.status_code == 200, v1.text
    v2 = (await client.get(f"{V2}/activityFields", params={"limit": 500})).json()["data"]
    assert [f["key"] for f in v1.json()["data"]] == [f["field_code"] for f in v2]
    assert v1.json()["additional_data"]["more_items_in_collection"] is False
    refused = await client.get(f"{V1}/activityFields",
                               headers=as_bearer(await oauth_token(client, "base,deals:read")))
    assert refused.status_code == 403 and refused.json()["error"] == "Scope and URL mismatch"


async def test_changelogs_need_recents_read(client: httpx.AsyncClient) -> None:
    without = await oauth_token(client, "base,deals:full,contacts:full")
    with_recents = await oauth_token(client, "base,recents:read")
    for path in ("deals", "persons", "organizations"):
        item = (await client.get(f"{V2}/{path}", params={"limit": 1})).json()["data"][0]["id"]
        url = f"{V1}/{path}/{item}/changelog"
        refused = await client.get(url, headers=as_bearer(without))
        assert refused.status_code == 403 and refused.json()["errorCode"] == 403
        assert "recents:read" in refused.json()["error_info"]
        assert (await client.get(url, headers=as_bearer(with_recents))).status_code == 200
        assert (await client.get(url)).status_code == 200
