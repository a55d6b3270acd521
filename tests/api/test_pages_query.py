"""What goes out on the wire: values in each parameter's spec format, filters checked first."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from explorer.api import ApiTokenProvider, ClientConfig, PipedriveClient
from explorer.api.query import compile_query_types, encode_query
from explorer.sandbox.app import DEFAULT_TOKEN, SandboxApp
from explorer.sandbox.store import Store
from tests.api.recording import Recording

# Records the regular lists show (archived ones have their own).
LISTED = ("COALESCE(is_archived, 0) = 0", ())

SPECS = Path(__file__).resolve().parents[2] / "resources" / "openapi"
DATA = Path(__file__).resolve().parents[2] / "explorer" / "api" / "data" / "query_types.json"


@pytest.fixture
async def wire(app: SandboxApp, config: ClientConfig
               ) -> AsyncIterator[tuple[PipedriveClient, Recording]]:
    recording = Recording(app)
    async with PipedriveClient(replace(config, transport=recording),
                               ApiTokenProvider(DEFAULT_TOKEN)) as client:
        yield client, recording


def test_query_types_equal_what_the_specs_say() -> None:
    import json

    shipped = json.loads(DATA.read_text(encoding="utf-8"))
    assert shipped == compile_query_types(SPECS), (
        "explorer/api/data/query_types.json is stale: run "
        "python -m explorer.sandbox.specdata resources/openapi")
    # Facts read in the specs by hand, so the compiler cannot agree with itself only.
    types = shipped["types"]
    assert types["v1 GET /notes"]["pinned_to_deal_flag"] == "flag01"  # numberBoolean 0/1
    assert types["v1 GET /tasks"]["done"] == "flag01"
    assert types["v1 GET /pipelines/{id}/deals"]["get_summary"] == "flag01"
    assert types["v2 GET /activities"]["done"] == "bool"
    assert types["v2 GET /itemSearch"]["exact_match"] == "bool"
    assert types["v1 GET /notes"]["start_date"] == "date"
    assert types["v2 GET /deals"]["updated_since"] == "datetime"
    assert types["v1 GET /recents"]["since_timestamp"] == "v1time"
    assert set(shipped["overridden_by_filter_id"]["v2 GET /deals"]) == {
        "ids", "owner_id", "person_id", "org_id", "pipeline_id", "stage_id", "status"}


async def test_v1_number_flags_go_out_as_0_and_1(
    wire: tuple[PipedriveClient, Recording], store: Store
) -> None:
    client, recording = wire
    pinned = [n async for n in client.iterate("notes", filters={"pinned_to_deal_flag": True})]
    assert pinned and all(n["pinned_to_deal_flag"] for n in pinned)
    assert recording.urls[-1].params["pinned_to_deal_flag"] == "1"
    await client.request("GET", "v2", "/deals", params={"include_option_labels": True,
                                                        "limit": 1})
    assert recording.urls[-1].params["include_option_labels"] == "true"


async def test_times_go_out_as_rfc_3339_and_dates_as_days(
    wire: tuple[PipedriveClient, Recording],
) -> None:
    client, recording = wire
    since = datetime(2026, 1, 2, 12, 30, 5, 123456, tzinfo=timezone(timedelta(hours=2)))
    [d async for d in client.iterate("deals", filters={"updated_since": since})]
    assert recording.urls[-1].params["updated_since"] == "2026-01-02T10:30:05Z"
    [n async for n in client.iterate("notes", filters={"start_date": date(2026, 1, 2),
                                                       "updated_since": since})]
    assert recording.urls[-1].params["start_date"] == "2026-01-02"
    assert recording.urls[-1].params["updated_since"] == "2026-01-02T10:30:05Z"
    with pytest.raises(ValueError, match="has no time zone"):
        encode_query({"updated_since": datetime(2026, 1, 2)}, "v2 GET /deals")
    assert encode_query({"since_timestamp": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)},
                        "v1 GET /recents") == {"since_timestamp": "2026-01-02 03:04:05"}
    with pytest.raises(ValueError, match="takes 0 or 1"):
        encode_query({"pinned_to_deal_flag": 2}, "v1 GET /notes")


async def test_a_saved_filter_beside_filters_it_overrides_is_refused(
    client: PipedriveClient,
) -> None:
    with pytest.raises(ValueError, match=r"filter_id.*overrides owner_id, status.*silently"):
        client.iterate("deals", filters={"filter_id": 1, "status": "open", "owner_id": 1})
    with pytest.raises(ValueError, match="overrides owner_id"):
        await client.fetch_page("leads", {"filter_id": 1, "owner_id": 1})
    with pytest.raises(ValueError, match="overrides ids"):
        await client.fetch_page("deals", {"filter_id": 1, "ids": [1, 2]}, archived=True)
    # Filters the saved filter does not override may go with it.
    page = await client.fetch_page("deals", {"filter_id": 1,
                                             "updated_since": datetime(2020, 1, 1, tzinfo=UTC)})
    assert page.records


async def test_ids_cap_of_100_per_request(client: PipedriveClient, store: Store) -> None:
    wanted = [d["id"] for d in store.select("deals", [LISTED], limit=101)]
    with pytest.raises(ValueError, match="at most 100 ids per request, got 101"):
        await client.fetch_page("deals", {"ids": wanted})
    page = await client.fetch_page("deals", {"ids": wanted[:100]}, page_size=500)
    assert sorted(r["id"] for r in page.records) == sorted(wanted[:100])


async def test_v2_booleans_given_0_or_1_go_out_as_true_and_false(
    wire: tuple[PipedriveClient, Recording], store: Store
) -> None:
    """v2 ``done`` is a spec boolean: an int 0/1 goes out as false/true (v1 number flags
    stay 0/1, see above)."""
    client, recording = wire
    open_ids = {a["id"] for a in store.select("activities", [("done = ?", (0,))])
                if not a.get("is_deleted")}
    assert open_ids
    listed = [a["id"] async for a in client.iterate("activities", filters={"done": 0})]
    assert recording.urls[-1].params["done"] == "false"
    assert sorted(listed) == sorted(open_ids)
    done = [a async for a in client.iterate("activities", filters={"done": 1})]
    assert recording.urls[-1].params["done"] == "true"
    assert done and all(a["done"] is True for a in done)
    assert encode_query({"done": 0, "limit": 1}, "v2 GET /activities") == {
        "done": "false", "limit": "1"}
    assert encode_query({"done": 1}, "v1 GET /tasks") == {"done": "1"}  # v1 flag01
    with pytest.raises(ValueError, match="done takes true or false"):
        encode_query({"done": 2}, "v2 GET /activities")
