"""Regression tests for gaps a review of issue 7's client side found (each failed before its fix).

- An empty ``ids`` filter listed every record (``ids=`` is no filter to the API): a bulk edit
  of an empty selection would have edited the whole account.
- ``filter_id`` overriding other filters, and the 100-id cap, were checked on ``filters`` only;
  the same keys passed as ``params`` went out unchecked.
- ``api_domain`` took any host name ending in ``.pipedrive.com``, even ones that are no host
  names (a backslash, a space, a percent sign).
- A visibility group of 3.7 was sent as 3; an activity's ``lead_id`` took any text.
- ``Page``, ``PageHandle``, ``SearchResult``, ``NameCache`` and the related lists were not
  exported from ``explorer.api``.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from explorer.api import (
    ApiTokenProvider,
    ClientConfig,
    FieldCatalog,
    OAuthApp,
    PipedriveClient,
    sign_in,
)
from explorer.api.errors import InvalidValue, TransportError
from explorer.api.oauth import api_domain_problem
from explorer.sandbox.app import DEFAULT_TOKEN, SandboxApp
from explorer.sandbox.store import Store
from tests.api.recording import Recording

LISTED = ("COALESCE(is_archived, 0) = 0", ())
ARCHIVED = ("COALESCE(is_archived, 0) = 1", ())


@pytest.fixture
def recording(app: SandboxApp) -> Recording:
    return Recording(app)


@pytest.fixture
async def wired(recording: Recording, config: ClientConfig) -> AsyncIterator[PipedriveClient]:
    async with PipedriveClient(replace(config, transport=recording),
                               ApiTokenProvider(DEFAULT_TOKEN)) as client:
        yield client


# ---------------------------------------------------------------------- ids and saved filters


@pytest.mark.parametrize("empty", [[], (), "", " , "])
@pytest.mark.parametrize("archived", [False, True])
async def test_an_empty_ids_filter_gives_no_records_and_sends_nothing(
    wired: PipedriveClient, recording: Recording, empty: object, archived: bool
) -> None:
    filters = {"ids": empty}
    assert [d async for d in wired.iterate("deals", filters=filters, archived=archived)] == []
    assert await wired.snapshot_ids("deals", filters, archived=archived) == []
    page = await wired.fetch_page("deals", filters, archived=archived)
    assert page.records == () and not page.more and page.handle is None
    # Through the pass-through params as well.
    assert [d async for d in wired.iterate("deals", params={"ids": empty})] == []
    assert (await wired.fetch_page("deals", params={"ids": empty})).records == ()
    assert recording.urls == []


async def test_a_saved_filter_is_checked_whether_it_comes_in_filters_or_params(
    wired: PipedriveClient, recording: Recording
) -> None:
    with pytest.raises(ValueError, match=r"filter_id.*overrides owner_id"):
        wired.iterate("deals", filters={"filter_id": 1}, params={"owner_id": 1})
    with pytest.raises(ValueError, match=r"filter_id.*overrides owner_id"):
        wired.iterate("deals", filters={"owner_id": 1}, params={"filter_id": 1})
    with pytest.raises(ValueError, match=r"filter_id.*overrides status"):
        await wired.fetch_page("deals", params={"filter_id": 1, "status": "open"})
    with pytest.raises(ValueError, match=r"filter_id.*overrides ids"):
        await wired.snapshot_ids("deals", {"filter_id": 1}, params={"ids": [1, 2]})
    assert recording.urls == []
    # None is no value: nothing is overridden.
    page = await wired.fetch_page("deals", {"filter_id": 1}, params={"owner_id": None})
    assert page.records


async def test_the_100_id_cap_holds_for_ids_passed_as_params(
    wired: PipedriveClient, recording: Recording, store: Store
) -> None:
    wanted = [d["id"] for d in store.select("deals", [LISTED], limit=150)]
    assert len(wanted) == 150
    with pytest.raises(ValueError, match="at most 100 ids per request, got 101"):
        await wired.fetch_page("deals", params={"ids": wanted[:101]})
    assert recording.urls == []
    got = [d["id"] async for d in wired.iterate("deals", params={"ids": wanted})]
    assert sorted(got) == sorted(wanted)
    sent = [len(url.params["ids"].split(",")) for url in recording.urls]
    assert sent and max(sent) <= 100 and sum(sent) == 150


async def test_archived_records_come_by_ids_too(wired: PipedriveClient, store: Store) -> None:
    wanted = sorted(d["id"] for d in store.select("deals", [ARCHIVED], limit=5))
    assert len(wanted) == 5
    got = await wired.snapshot_ids("deals", {"ids": wanted}, archived=True)
    assert sorted(got) == wanted


# ---------------------------------------------------------------------- api_domain


@pytest.mark.parametrize("api_domain", [
    "https://evil.example\\.pipedrive.com",
    "https://evil.example%2f.pipedrive.com",
    "https://evil.example .pipedrive.com",
    "https://evil.example\t.pipedrive.com",
    "https://-acme.pipedrive.com",
    "https://acme..pipedrive.com",
    "https://acme_x.pipedrive.com",
])
def test_an_api_domain_that_is_no_host_name_is_refused(api_domain: str) -> None:
    problem = api_domain_problem(api_domain, "https://oauth.pipedrive.com")
    assert problem is not None and "not sent there" in problem


@pytest.mark.parametrize("api_domain", [
    "https://acme.pipedrive.com", "https://acme-2.eu.pipedrive.com", "https://ACME.pipedrive.com",
    "https://a1.pipedrive.com:443",
])
def test_company_api_domains_are_accepted(api_domain: str) -> None:
    assert api_domain_problem(api_domain, "https://oauth.pipedrive.com") is None


# ---------------------------------------------------------------------- write validation


@pytest.fixture
async def catalog(client: PipedriveClient) -> FieldCatalog:
    catalog = FieldCatalog(client)
    assert await catalog.load("deals", "leads", "activities") == {}
    return catalog


@pytest.mark.parametrize("value", [3.7, 6.5, 1.0000001])
async def test_a_fractional_visibility_group_is_refused(catalog: FieldCatalog,
                                                        value: float) -> None:
    with pytest.raises(InvalidValue, match="visibility group"):
        catalog.validate("deals", "visible_to", value)


async def test_a_whole_visibility_group_is_sent_as_the_spec_types_it(
    catalog: FieldCatalog,
) -> None:
    # v2 deals: an integer; v1 leads: text.
    assert catalog.validate("deals", "visible_to", 3.0) == 3
    assert catalog.validate("deals", "visible_to", "5") == 5
    assert catalog.validate("leads", "visible_to", 7) == "7"


@pytest.mark.parametrize("value", ["abc", "8b967fe2-01c4-4cbc-8345", 7,
                                   "{8b967fe2-01c4-4cbc-8345-995d0c987715}"])
async def test_an_activity_lead_id_must_be_a_lead_uuid(catalog: FieldCatalog,
                                                       value: object) -> None:
    with pytest.raises(InvalidValue, match="the id of a lead"):
        catalog.write_body("activities", {"lead_id": value})


async def test_an_activity_is_linked_to_a_lead_by_its_uuid(
    client: PipedriveClient, catalog: FieldCatalog, store: Store
) -> None:
    lead_id = str(store.select("leads", limit=1)[0]["id"])
    activity = store.select("activities", limit=1)[0]
    body = catalog.write_body("activities", {"lead_id": lead_id})
    assert body == {"lead_id": lead_id}
    updated = await client.update("activities", activity["id"], body)
    assert updated["lead_id"] == lead_id


# ---------------------------------------------------------------------- what the window imports


async def test_the_window_finds_pages_search_names_and_related_lists_in_the_package(
    client: PipedriveClient,
) -> None:
    import explorer.api as api

    for name in ("Page", "PageHandle", "SearchResult", "NameCache", "RELATED", "RelatedList",
                 "related_list"):
        assert name in api.__all__, name
    page = await client.fetch_page("deals", page_size=5)
    assert isinstance(page, api.Page) and isinstance(page.handle, api.PageHandle)
    found = await client.search("an", item_types="person")
    assert isinstance(found, api.SearchResult)
    assert api.related_list("deals", "products") is api.RELATED["deals"]["products"]
    assert isinstance(api.RELATED["deals"]["products"], api.RelatedList)
    assert api.NameCache(client).resolve("user", 1) is None  # nothing fetched yet


# ---------------------------------------------------------------------- bodies


@pytest.mark.parametrize(("body", "where", "kind"), [
    ({"expected_close_date": date(2025, 1, 31)}, "expected_close_date", "date"),
    ({"custom_fields": {"f": datetime(2025, 1, 31, tzinfo=UTC)}}, "custom_fields.f", "datetime"),
    ({"label_ids": [1, b"2"]}, "label_ids[1]", "bytes"),
    ({"title": Decimal("1.5")}, "title", "Decimal"),
])
async def test_a_body_value_json_cannot_carry_is_refused_in_the_error_tree(
    wired: PipedriveClient, recording: Recording, body: dict[str, object], where: str,
    kind: str,
) -> None:
    """It was a bare ``TypeError`` from ``json`` (not a ``PipedriveError``)."""
    with pytest.raises(InvalidValue, match=f"holds a {kind} object.*nothing was sent") as caught:
        await wired.update("deals", 1, body)
    assert caught.value.field == where
    assert recording.urls == []


# ---------------------------------------------------------------------- v2 timestamps


async def test_a_won_time_read_from_the_api_can_be_written_back(
    client: PipedriveClient, catalog: FieldCatalog, store: Store
) -> None:
    """v2 documents ``won_time`` as a date and time (``2021-01-01T00:00:00Z``) and answers it
    so; the catalog types it ``date``, and validation refused anything but YYYY-MM-DD."""
    won, other = store.select("deals", [("status = ?", ("won",)), LISTED], limit=2)
    read = (await client.get("deals", won["id"]))["won_time"]
    assert len(read) == 20 and read.endswith("Z")  # as the spec's example writes it
    body = catalog.write_body("deals", {"Won time": read})
    assert body == {"won_time": read}
    assert (await client.update("deals", other["id"], body))["won_time"] == read


@pytest.mark.parametrize(("value", "sent"), [
    (datetime(2025, 1, 31, 12, 20, 30, 999, tzinfo=timezone(timedelta(hours=2))),
     "2025-01-31T10:20:30Z"),
    ("2025-01-31T12:20:30+02:00", "2025-01-31T10:20:30Z"),
    ("2025-01-31T10:20:30z", "2025-01-31T10:20:30Z"),
    ("2025-01-31", "2025-01-31"),
    (date(2025, 1, 31), "2025-01-31"),
])
async def test_v2_timestamps_go_out_as_rfc_3339_in_utc(catalog: FieldCatalog, value: object,
                                                       sent: str) -> None:
    for key in ("won_time", "lost_time", "close_time"):
        assert catalog.validate("deals", key, value) == sent


@pytest.mark.parametrize("value", [datetime(2025, 1, 31, 10, 20), "2025-01-31 10:20:30",
                                   "2025-01-31T10:20:30", "yesterday", 1738318830])
async def test_a_timestamp_without_its_offset_is_refused(catalog: FieldCatalog,
                                                         value: object) -> None:
    with pytest.raises(InvalidValue, match=r"Won time.*2025-01-31T10:20:30Z"):
        catalog.validate("deals", "won_time", value)


async def test_dates_stay_dates(catalog: FieldCatalog) -> None:
    assert catalog.validate("deals", "expected_close_date", date(2025, 1, 31)) == "2025-01-31"
    with pytest.raises(InvalidValue, match="YYYY-MM-DD"):
        catalog.validate("deals", "expected_close_date", "2025-01-31T10:20:30Z")


# ---------------------------------------------------------------------- values read, written back


async def test_a_deal_without_labels_can_be_written_back(
    client: PipedriveClient, catalog: FieldCatalog, store: Store
) -> None:
    """The API answers ``label_ids: []`` for a deal without labels; writing that back (a bulk
    edit copying a value) was refused as "at least one option"."""
    labelled = await anext(d async for d in client.iterate("deals") if d.get("label_ids"))
    unlabelled = await anext(d async for d in client.iterate("deals") if d.get("label_ids") == [])
    body = catalog.write_body("deals", {"label_ids": unlabelled["label_ids"]})
    assert body == {"label_ids": []}
    assert (await client.update("deals", labelled["id"], body))["label_ids"] == []
    assert (await client.get("deals", labelled["id"]))["label_ids"] == []


async def test_a_custom_set_is_still_cleared_with_none_not_an_empty_list(
    catalog: FieldCatalog,
) -> None:
    with pytest.raises(InvalidValue, match="at least one option"):
        catalog.validate("deals", "Products of interest", [])
    assert catalog.validate("deals", "Products of interest", None) is None


async def test_a_v1_set_value_as_read_can_be_written_back(
    client: PipedriveClient, catalog: FieldCatalog
) -> None:
    """v1 leads carry a set's option ids as one text (``"143,147"``)."""
    field = catalog.field("leads", "Products of interest")
    lead = await anext(x async for x in client.iterate("leads")
                if isinstance(x.get(field.key), str) and "," in x[field.key])
    other = await anext(x async for x in client.iterate("leads") if x["id"] != lead["id"])
    ids = lead[field.key].split(",")
    assert {str(o.id) for o in field.options} >= set(ids)
    body = catalog.write_body("leads", {field.key: lead[field.key]})
    assert body == {field.key: ",".join(ids)}
    updated = await client.update("leads", other["id"], body)
    assert sorted(updated[field.key].split(",")) == sorted(ids)


def test_a_label_with_a_comma_is_a_label_not_two_ids() -> None:
    from explorer.api.fields import Field, Option
    from explorer.api.validation import validate

    field = Field("deals", "c" * 40, "Kinds", "set", True, True,
                  (Option(1, "A,B"), Option(2, "C"), Option(3, "1,2")))
    assert validate(field, "A,B") == [1]
    assert validate(field, "1,2") == [3]  # a label first
    assert validate(field, "2, 1") == [2, 1]
    with pytest.raises(InvalidValue, match="not one of its options"):
        validate(field, "2,9")


async def test_options_as_v2_answers_them_with_labels_can_be_written_back(
    client: PipedriveClient, catalog: FieldCatalog
) -> None:
    """With ``include_option_labels`` v2 answers enum and set values as ``{id, label}``;
    validation refused them as "not one of its options"."""
    source = catalog.field("deals", "Deal source")
    interest = catalog.field("deals", "Products of interest")
    deal = await anext(
        d async for d in client.iterate("deals", params={"include_option_labels": True})
        if (d.get("custom_fields") or {}).get(source.key)
        and (d.get("custom_fields") or {}).get(interest.key))
    values = deal["custom_fields"]
    assert isinstance(values[source.key], dict) and "label" in values[source.key]
    body = catalog.write_body("deals", {source.key: values[source.key],
                                        interest.key: values[interest.key]})
    assert body == {"custom_fields": {source.key: values[source.key]["id"],
                                      interest.key: [o["id"] for o in values[interest.key]]}}
    other = await anext(d async for d in client.iterate("deals") if d["id"] != deal["id"])
    updated = await client.update("deals", other["id"], body)
    assert updated["custom_fields"] == {**updated["custom_fields"], **body["custom_fields"]}


async def test_ids_may_be_one_id_and_nothing_else(wired: PipedriveClient,
                                                  recording: Recording) -> None:
    """``ids=5`` raised a bare ``TypeError`` ('int' object is not iterable)."""
    assert [r["id"] for r in (await wired.fetch_page("deals", {"ids": 5})).records] == [5]
    assert [r["id"] async for r in wired.iterate("deals", filters={"ids": 5})] == [5]
    sent = len(recording.urls)
    for bad in (5.0, True, {"a": 1}):
        with pytest.raises(ValueError, match="ids takes a list of ids"):
            await wired.fetch_page("deals", {"ids": bad})
    assert len(recording.urls) == sent


# ---------------------------------------------------------------------- search arguments


async def test_search_choices_may_be_none_and_nothing_else_slips_out_of_the_tree(
    wired: PipedriveClient, recording: Recording
) -> None:
    """``item_types=None`` (no choice) raised a bare ``TypeError``."""
    plain = await wired.search("an")
    for name in ("item_types", "fields", "include_fields"):
        found = await wired.search("an", **{name: None})
        assert [e["item"]["id"] for e in found] == [e["item"]["id"] for e in plain]
    by_entity = await wired.search_entity("deals", "an", fields=None, include_fields=None)
    assert len(by_entity) == len(await wired.search_entity("deals", "an"))
    sent = len(recording.urls)
    with pytest.raises(InvalidValue, match="item_types as one value or a list"):
        await wired.search("an", item_types=5)  # type: ignore[arg-type]
    assert len(recording.urls) == sent


@pytest.mark.parametrize("size", ["50", 50.0, None])
async def test_a_page_size_that_is_no_whole_number_is_refused_clearly(
    wired: PipedriveClient, recording: Recording, size: object
) -> None:
    """``page_size="50"`` raised a bare ``TypeError`` from the range check."""
    with pytest.raises(ValueError, match="page_size must be 1 to 500"):
        await wired.fetch_page("deals", page_size=size)  # type: ignore[arg-type]
    assert recording.urls == []


# ---------------------------------------------------------------------- sign-in


async def test_sign_in_does_not_wait_for_a_browser_opener_that_keeps_blocking() -> None:
    """``webbrowser.open`` may return only when the browser is closed: the sign-in awaited
    ``open_url`` after the code had come, with no bound, so it never finished."""
    release = threading.Event()
    pages: list[int] = []

    def open_and_keep_blocking(url: str) -> None:
        query = parse_qs(urlsplit(url).query)
        with httpx.Client(timeout=5) as browser:
            page = browser.get(query["redirect_uri"][0],
                               params={"code": "the-code", "state": query["state"][0]})
            pages.append(page.status_code)
        release.wait(60)

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        redirect = f"http://127.0.0.1:{probe.getsockname()[1]}/callback"
    # No OAuth server there: the code exchange that follows the redirect fails at once.
    app = OAuthApp("client-id", "client-secret", oauth_url="http://127.0.0.1:9",
                   redirect_uri=redirect)
    try:
        with pytest.raises(TransportError):
            await asyncio.wait_for(sign_in(app, open_and_keep_blocking, wait_s=30), 20)
    finally:
        release.set()
    assert pages == [200]
