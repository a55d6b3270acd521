"""v1 notes: CRUD, attachment and size rules, filters and paging."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from explorer.sandbox.routing import Clock
from explorer.sandbox.store import Store
from tests.sandbox.test_v1_leads import _error, page_all

V1 = "/api/v1"
MAX_CONTENT = 3_000_000


async def _first_id(client: httpx.AsyncClient, path: str) -> int:
    data = (await client.get(f"/api/v2/{path}", params={"limit": 1})).json()["data"]
    return int(data[0]["id"])


@pytest.mark.parametrize("limit", [500, 41])
async def test_paging_returns_every_note_exactly_once(
    client: httpx.AsyncClient, store: Store, limit: int
) -> None:
    notes = await page_all(client, f"{V1}/notes", limit)
    ids = [n["id"] for n in notes]
    assert len(ids) == len(set(ids)) == store.count("notes")


async def test_filters_by_target_and_user(client: httpx.AsyncClient) -> None:
    notes = await page_all(client, f"{V1}/notes", 500)
    for key in ("deal_id", "person_id", "org_id", "lead_id", "user_id"):
        sample = next(n for n in notes if n.get(key) is not None)
        got = await page_all(client, f"{V1}/notes", 500, **{key: sample[key]})
        assert {n["id"] for n in got} == {n["id"] for n in notes if n.get(key) == sample[key]}


@pytest.mark.parametrize("flag", ["pinned_to_deal_flag", "pinned_to_person_flag",
                                  "pinned_to_organization_flag", "pinned_to_lead_flag"])
async def test_pinned_flags(client: httpx.AsyncClient, flag: str) -> None:
    notes = await page_all(client, f"{V1}/notes", 500)
    pinned = await page_all(client, f"{V1}/notes", 500, **{flag: 1})
    unpinned = await page_all(client, f"{V1}/notes", 500, **{flag: 0})
    assert pinned and all(n[flag] for n in pinned)
    assert not any(n[flag] for n in unpinned)
    assert len(pinned) + len(unpinned) == len(notes)
    _error(await client.get(f"{V1}/notes", params={flag: 2}), 400)


async def test_dates_sort_and_updated_since(client: httpx.AsyncClient, clock: Clock) -> None:
    notes = await page_all(client, f"{V1}/notes", 500, sort="add_time DESC")
    times = [n["add_time"] for n in notes]
    assert times == sorted(times, reverse=True)
    day = times[len(times) // 2][:10]
    got = await page_all(client, f"{V1}/notes", 500, start_date=day, end_date=day)
    assert got and {n["id"] for n in got} == {n["id"] for n in notes if n["add_time"][:10] == day}
    by_content = await page_all(client, f"{V1}/notes", 500, sort="content ASC")
    assert [n["content"] for n in by_content] == sorted(n["content"] for n in notes)
    _error(await client.get(f"{V1}/notes", params={"sort": "title ASC"}), 400)
    _error(await client.get(f"{V1}/notes", params={"start_date": "01/02/2024"}), 400)

    clock.advance(timedelta(days=3650))
    deal_id = await _first_id(client, "deals")
    created = (await client.post(f"{V1}/notes", json={"content": "New", "deal_id": deal_id}))
    note = created.json()["data"]
    # The note's own stamp, read once from the note: a second reading of the running clock
    # could fall in the next minute (or second) and filter the note out.
    stamped = datetime.strptime(note["update_time"], "%Y-%m-%d %H:%M:%S")
    for since, expected in ((stamped, [note["id"]]), (stamped + timedelta(seconds=1), [])):
        got = await page_all(client, f"{V1}/notes", 500,
                             updated_since=since.strftime("%Y-%m-%dT%H:%M:%SZ"))
        assert [n["id"] for n in got] == expected


async def test_create_get_update_delete(client: httpx.AsyncClient, clock: Clock) -> None:
    deal = (await client.get("/api/v2/deals", params={"limit": 1})).json()["data"][0]
    response = await client.post(f"{V1}/notes", json={
        "content": "<p>Call went well</p>", "deal_id": deal["id"], "pinned_to_deal_flag": 1})
    assert response.status_code == 200, response.text
    note = response.json()["data"]
    assert note["deal_id"] == deal["id"] and note["deal"] == {"title": deal["title"]}
    assert note["pinned_to_deal_flag"] is True and note["active_flag"] is True
    assert note["user_id"] == 1 and note["user"]["is_you"] is True
    assert len(note["add_time"]) == 19  # v1 "YYYY-MM-DD HH:MM:SS"
    url = f"{V1}/notes/{note['id']}"
    assert (await client.get(url)).json()["data"] == note

    clock.advance(timedelta(minutes=2))
    person_id = await _first_id(client, "persons")
    response = await client.put(url, json={"content": "Edited", "person_id": person_id,
                                           "pinned_to_deal_flag": False})
    assert response.status_code == 200, response.text
    updated = response.json()["data"]
    assert updated["content"] == "Edited" and updated["person_id"] == person_id
    assert updated["deal_id"] == deal["id"] and updated["pinned_to_deal_flag"] is False
    assert "name" in updated["person"]
    assert updated["update_time"] > note["update_time"]

    response = await client.delete(url)
    assert response.status_code == 200 and response.json()["data"] is True
    _error(await client.get(url), 404)
    _error(await client.put(url, json={"content": "x"}), 404)
    listed = await page_all(client, f"{V1}/notes", 500, deal_id=deal["id"])
    assert note["id"] not in {n["id"] for n in listed}


async def test_lead_notes(client: httpx.AsyncClient) -> None:
    lead = (await client.get(f"{V1}/leads", params={"limit": 1})).json()["data"][0]
    response = await client.post(f"{V1}/notes", json={"content": "Lead note",
                                                      "lead_id": lead["id"],
                                                      "pinned_to_lead_flag": True})
    assert response.status_code == 200, response.text
    note = response.json()["data"]
    assert note["lead_id"] == lead["id"] and note["pinned_to_lead_flag"] is True
    got = await page_all(client, f"{V1}/notes", 500, lead_id=lead["id"])
    assert note["id"] in {n["id"] for n in got}


async def test_content_size_limit(client: httpx.AsyncClient) -> None:
    org_id = await _first_id(client, "organizations")
    body = _error(await client.post(f"{V1}/notes", json={"content": "x" * (MAX_CONTENT + 1),
                                                         "org_id": org_id}), 400)
    assert "3,000,000" in body["error_info"]
    response = await client.post(f"{V1}/notes", json={"content": "y" * MAX_CONTENT,
                                                      "org_id": org_id})
    assert response.status_code == 200
    note_id = response.json()["data"]["id"]
    _error(await client.put(f"{V1}/notes/{note_id}", json={"content": "z" * (MAX_CONTENT + 1)}),
           400)


@pytest.mark.parametrize("body", [
    {"deal_id": None},
    {"content": "", "deal_id": "DEAL"},
    {"content": "No target"},
    {"content": "Unknown deal", "deal_id": 10**9},
    {"content": "Unknown lead", "lead_id": "0b7e1c7e-0000-4000-8000-000000000000"},
    {"content": "Bad lead", "lead_id": "abc"},
    {"content": "Project", "project_id": 1},
    {"content": "Pinned nowhere", "person_id": "PERSON", "pinned_to_deal_flag": 1},
    {"content": "Unknown author", "person_id": "PERSON", "user_id": 10**6},
    {"content": "Bad time", "person_id": "PERSON", "add_time": "yesterday"},
    {"content": 12, "person_id": "PERSON"},
])
async def test_bad_notes_are_400(client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    person_id = await _first_id(client, "persons")
    sent = {k: person_id if v == "PERSON" else v for k, v in body.items()}
    _error(await client.post(f"{V1}/notes", json=sent), 400)


async def test_detaching_the_last_target_is_400(client: httpx.AsyncClient) -> None:
    org_id = await _first_id(client, "organizations")
    note = (await client.post(f"{V1}/notes", json={"content": "c", "org_id": org_id})).json()
    _error(await client.put(f"{V1}/notes/{note['data']['id']}", json={"org_id": None}), 400)


async def test_author_and_add_time_can_be_set(client: httpx.AsyncClient) -> None:
    users = (await client.get(f"{V1}/users")).json()["data"]
    other = next(u for u in users if not u["is_you"])
    org_id = await _first_id(client, "organizations")
    response = await client.post(f"{V1}/notes", json={
        "content": "Imported", "org_id": org_id, "user_id": other["id"],
        "add_time": "2020-01-02 03:04:05"})
    note = response.json()["data"]
    assert note["user_id"] == other["id"] and note["user"]["is_you"] is False
    assert note["add_time"] == "2020-01-02 03:04:05"


async def test_unknown_note_ids_are_404(client: httpx.AsyncClient) -> None:
    for note_id in ("999999", "abc"):
        _error(await client.get(f"{V1}/notes/{note_id}"), 404)
        _error(await client.delete(f"{V1}/notes/{note_id}"), 404)
