"""Field catalog: key ↔ name and option id ↔ label both ways, write shapes, validation, display."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from explorer.api import ApiTokenProvider, ClientConfig, FieldCatalog, PipedriveClient
from explorer.api.config import RetryPolicy
from explorer.api.display import format_date, format_money, format_value
from explorer.api.errors import InvalidValue, ServerError, UnknownField, ValidationFailed
from explorer.api.fields import CUSTOM_KEY
from explorer.api.resources import FieldsEndpoint, resource
from explorer.sandbox.app import DEFAULT_TOKEN, SandboxApp
from explorer.sandbox.config import FaultRule


@pytest.fixture
async def catalog(client: PipedriveClient) -> FieldCatalog:
    catalog = FieldCatalog(client)
    await catalog.load()
    return catalog


async def test_loaded_once_per_session_and_refreshable(client: PipedriveClient) -> None:
    catalog = FieldCatalog(client)
    await catalog.load()
    loaded = client.usage.total_requests
    assert loaded >= 6
    await catalog.load()
    assert client.usage.total_requests == loaded
    await catalog.refresh("deals")
    assert client.usage.requests["v2 GET /dealFields"] == 2
    assert client.usage.requests.get("v1 GET /leadFields") == 1
    await catalog.refresh()  # everything loaded so far
    assert client.usage.requests["v2 GET /dealFields"] == 3
    assert client.usage.requests["v1 GET /leadFields"] == 2


async def test_a_failed_refresh_keeps_the_fields_it_had(
    app: SandboxApp, config: ClientConfig
) -> None:
    once = replace(config, retry=RetryPolicy.never())
    async with PipedriveClient(once, ApiTokenProvider(DEFAULT_TOKEN)) as client:
        catalog = FieldCatalog(client)
        await catalog.load("deals", "leads")
        source = catalog.field("deals", "Deal source")
        app.state.faults.add(FaultRule(kind="error_503", count=1, path="/api/v2/dealFields"))
        failed = await catalog.refresh()
        assert list(failed) == ["deals"] and isinstance(failed["deals"], ServerError)
        assert catalog.failures == failed
        assert "deals" in catalog and catalog.field("deals", "Deal source") == source
        assert "leads" in catalog
        assert client.usage.requests["v1 GET /leadFields"] == 2  # the others were reloaded
        assert await catalog.refresh("deals") == {}  # the sandbox answers again
        assert catalog.field("deals", "Deal source") == source and not catalog.failures


async def test_field_facts(catalog: FieldCatalog) -> None:
    source = catalog.field("deals", "Deal source")
    assert CUSTOM_KEY.match(source.key) and source.is_custom and source.editable
    assert source.type == "enum" and [o.label for o in source.options][:2] == [
        "Inbound", "Outbound"]
    assert catalog.field("deals", source.key) is source
    assert catalog.field("deals", "deal SOURCE") is source  # names match case-insensitively
    assert not catalog.field("deals", "Creator").editable  # not in the spec's update body
    assert catalog.field("deals", "Title").editable
    # Leads carry the deal custom fields, listed by /v1/leadFields.
    assert catalog.field("leads", "Deal source").key == source.key


async def test_v2_write_by_name_and_read_back_by_label(
    client: PipedriveClient, catalog: FieldCatalog
) -> None:
    body = catalog.write_body("deals", {
        "Title": "Named write", "Deal source": "referral", "Products of interest": [
            "CRM", "Support"], "Annual budget": {"value": 5000, "currency": "EUR"},
        "Renewal date": date(2027, 1, 31)})
    source = catalog.field("deals", "Deal source")
    interest = catalog.field("deals", "Products of interest")
    assert body["title"] == "Named write"
    assert body["custom_fields"][source.key] == source.option_id("Referral")
    assert body["custom_fields"][interest.key] == [interest.option_id("CRM"),
                                                   interest.option_id("Support")]
    deal = await client.update("deals", 1, body)
    view = catalog.readable("deals", deal)
    assert view["Title"] == "Named write"
    assert view["Deal source"] == "Referral"
    assert view["Products of interest"] == ["CRM", "Support"]
    assert view["Annual budget"] == {"value": 5000, "currency": "EUR"}
    assert view["Renewal date"] == "2027-01-31"
    labelled = await client.get("deals", 1, params={"include_option_labels": True})
    assert catalog.readable("deals", labelled)["Deal source"] == "Referral"


async def test_v1_lead_write_is_flat_and_reads_back_joined(
    client: PipedriveClient, catalog: FieldCatalog
) -> None:
    lead_id = await anext(aiter(lead["id"] async for lead in client.iterate("leads")))
    body = catalog.write_body("leads", {
        "Deal source": "Inbound", "Products of interest": ["Analytics", "CRM"],
        "Annual budget": {"value": 700, "currency": "USD"},
        "Value": {"amount": 100, "currency": "EUR"}, "Visible to": 7})
    budget = catalog.field("leads", "Annual budget").key
    assert "custom_fields" not in body
    assert body[budget] == 700 and body[f"{budget}_currency"] == "USD"
    assert body["visible_to"] == "7"  # v1 takes it as text
    lead = await client.update("leads", lead_id, body)
    view = catalog.readable("leads", lead)
    assert view["Deal source"] == "Inbound"
    assert sorted(view["Products of interest"]) == ["Analytics", "CRM"]
    assert view["Annual budget"] == {"value": 700, "currency": "USD"}
    assert view["Value"] == {"amount": 100, "currency": "EUR"}
    assert f"{budget}_currency" not in view


async def test_validation_names_the_field_and_what_to_do(catalog: FieldCatalog) -> None:
    with pytest.raises(InvalidValue, match=r"Deal source.*Inbound, Outbound, Referral"):
        catalog.validate("deals", "Deal source", "Word of mouth")
    with pytest.raises(UnknownField, match="refresh"):
        catalog.validate("deals", "Shoe size", 44)
    with pytest.raises(InvalidValue, match="read-only"):
        catalog.validate("deals", "Creator", 1)
    with pytest.raises(InvalidValue, match="YYYY-MM-DD"):
        catalog.validate("deals", "Renewal date", "31/01/2027")
    with pytest.raises(InvalidValue, match="a number"):
        catalog.validate("deals", "Contract length (months)", "12")
    for bad in (float("nan"), float("inf"), -float("inf")):  # JSON cannot carry them
        with pytest.raises(InvalidValue, match="finite"):
            catalog.validate("deals", "Contract length (months)", bad)
        with pytest.raises(InvalidValue, match="finite"):
            catalog.validate("deals", "Value", bad)
        with pytest.raises(InvalidValue, match="finite"):
            catalog.validate("deals", "Annual budget", {"value": bad, "currency": "EUR"})
    with pytest.raises(InvalidValue, match="at most 255"):
        catalog.validate("deals", "Competitor", "x" * 256)
    with pytest.raises(InvalidValue, match="currency"):
        catalog.validate("leads", "Value", 100)
    with pytest.raises(InvalidValue, match="at least one option"):
        catalog.validate("deals", "Products of interest", [])
    assert catalog.validate("deals", "Products of interest", None) is None  # clears it


async def test_seed_limits_match_the_sandbox(
    client: PipedriveClient, catalog: FieldCatalog
) -> None:
    emails = [f"p{i}@example.com" for i in range(51)]
    with pytest.raises(InvalidValue, match="at most 50 entries"):
        catalog.validate("persons", "emails", emails)
    assert len(catalog.validate("persons", "Email", emails[:50])) == 50
    with pytest.raises(ValidationFailed):  # the sandbox agrees
        await client.update("persons", 1, {"emails": [{"value": e} for e in emails]})
    content = "x" * 3_000_001
    with pytest.raises(InvalidValue, match="3,000,000 characters"):
        catalog.validate("notes", "content", content)
    deal_id = 1
    with pytest.raises(ValidationFailed):
        await client.create("notes", {"content": content, "deal_id": deal_id})
    assert catalog.validate("notes", "content", content[:-1]) == content[:-1]


async def test_display_formats(client: PipedriveClient, catalog: FieldCatalog) -> None:
    users = {u["id"]: u["name"] async for u in client.iterate("users")}
    me = (await client.request("GET", "v1", "/users/me")).data

    def resolver(kind: str, ident: int) -> str | None:
        return users.get(ident) if kind == "user" else None

    deal = await client.get("deals", 1)
    owner = catalog.field("deals", "Owner")
    assert format_value(owner, deal["owner_id"], resolver=resolver) == users[deal["owner_id"]]
    assert format_value(catalog.field("deals", "Contact person"), 5) == "#5"
    value = catalog.field("deals", "Value")
    assert format_value(value, 56300.5, currency="USD", locale=me["locale"]) == "$56,300.50"
    assert format_value(value, 1200, currency="EUR", locale="de_DE") == "1.200,00 €"
    budget = catalog.field("deals", "Annual budget")
    assert format_value(budget, {"value": 5000, "currency": "JPY"}) == "¥5,000"
    assert format_value(catalog.field("deals", "Products of interest"),
                        [catalog.field("deals", "Products of interest").option_id("CRM")]) == (
        "CRM")
    renewal = catalog.field("deals", "Renewal date")
    assert format_value(renewal, "2027-01-31", locale="en_US") == "01/31/2027"
    assert format_value(renewal, "2027-01-31", locale="de_DE") == "31.01.2027"
    assert format_date("2024-05-01T09:30:00Z", "en_GB", "Europe/Tallinn") == "01/05/2024 12:30"
    assert format_date("2024-05-01 09:30:00", "de") == "01.05.2024 09:30"
    assert format_value(catalog.field("deals", "Visible to"), 7) == "Entire company"
    assert format_value(catalog.field("deals", "Status"), "won") == "Won"
    assert format_value(catalog.field("deals", "Archived"), False) == "No"
    assert format_money(1234.5, "XYZ", "fr_FR") == "1\u202f234,50 XYZ"


async def test_one_failing_fields_endpoint_leaves_the_others_loaded(
    app: SandboxApp, config: ClientConfig
) -> None:
    """A failure of activityFields made the whole catalog load raise: no resource had
    names, every table showed 40-hex keys."""
    once = replace(config, retry=RetryPolicy.never())
    app.state.faults.add(FaultRule(kind="error_500", count=1, path="/api/v2/activityFields"))
    async with PipedriveClient(once, ApiTokenProvider(DEFAULT_TOKEN)) as client:
        catalog = FieldCatalog(client)
        failed = await catalog.load()
        assert list(failed) == ["activities"] and isinstance(failed["activities"], ServerError)
        assert catalog.failures == failed
        for name in ("deals", "leads", "persons", "organizations", "products"):
            assert name in catalog and len(catalog[name]) > 0, name
        assert catalog.field("deals", "Deal source").type == "enum"
        with pytest.raises(KeyError, match=r"activities could not be loaded \(.*500"):
            catalog["activities"]
        assert await catalog.refresh() == {}  # the failed one is retried with the rest
        assert "activities" in catalog and not catalog.failures
        assert catalog["activities"].source == resource("activities").fields


async def test_fields_come_from_the_endpoint_the_scopes_allow(client: PipedriveClient) -> None:
    """v2 activityFields needs the admin scope, v1 activityFields activities:read."""
    assert resource("activities").fields == FieldsEndpoint(
        "v2", "/activityFields", frozenset({"admin"}), fallback=FieldsEndpoint(
            "v1", "/activityFields"))
    with_admin = FieldCatalog(client, scopes={"admin", "activities:read"})
    assert await with_admin.load("activities") == {}
    assert client.usage.requests == {"v2 GET /activityFields": 1}
