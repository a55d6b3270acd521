"""The resource registry and the spec facts the client ships agree with the official specs."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from explorer.api.related import RELATED, related_list
from explorer.api.resources import (
    RESOURCES,
    body_keys,
    operation_key,
    resource,
    token_cost,
    token_costs,
)
from explorer.sandbox import specdata

SPECS = Path(__file__).resolve().parents[2] / "resources" / "openapi"
STALE = "explorer/api/data is stale: run python -m explorer.sandbox.specdata resources/openapi"


@cache
def compiled() -> dict[str, Any]:
    return specdata.compile_specs(SPECS)


@cache
def spec(version: str) -> dict[str, Any]:
    with (SPECS / specdata.SPEC_FILES[version]).open(encoding="utf-8") as fh:
        data: dict[str, Any] = yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    return data


def query_params(version: str, method: str, path: str) -> set[str]:
    doc = spec(version)
    names = set()
    for param in doc["paths"][path][method.lower()].get("parameters", ()):
        if "$ref" in param:
            target: Any = doc
            for part in param["$ref"][2:].split("/"):
                target = target[part]
            param = target
        if param["in"] == "query":
            names.add(param["name"])
    return names


def test_token_costs_equal_what_specdata_compiles() -> None:
    assert dict(token_costs()) == specdata.token_costs(compiled()), STALE
    assert len(token_costs()) == len(compiled())


def test_body_keys_equal_what_specdata_compiles() -> None:
    shipped = {k: sorted(v) for k, v in body_keys().items()}
    assert shipped == specdata.body_keys(compiled()), STALE


LOOKUPS = {"lead_labels", "lead_sources", "activity_types"}


def test_every_resource_crud_operation_is_in_the_spec() -> None:
    for res in RESOURCES.values():
        assert res.operation("list") is not None, res.name
        # The small account-wide lists have no GET of one item in the spec.
        assert (res.operation("get") is None) == (res.name in LOOKUPS), res.name
        if res.search_path:
            assert res.operation("search") is not None, res.name
        if res.fields:
            assert res.operation("fields") is not None, res.name
        if res.archived_path:
            assert res.operation("archived") is not None, res.name
        assert res.costs["list"] > 0 and (res.name in LOOKUPS or res.costs["get"] > 0)


def test_costs_come_from_the_spec() -> None:
    assert resource("deals").costs == {"list": 10, "get": 1, "create": 5, "update": 5,
                                       "delete": 3, "search": 20, "fields": 10,
                                       "archived": 20}
    assert resource("leads").costs["archived"] == 40
    assert resource("lead_sources").costs == {"list": 2}
    assert resource("leads").costs["update"] == token_costs()["v1 PATCH /leads/{id}"]
    assert resource("notes").costs["update"] == token_costs()["v1 PUT /notes/{id}"]


def test_update_verbs_and_id_types() -> None:
    assert resource("deals").update_verb == "PATCH"
    assert resource("leads").update_verb == "PATCH" and resource("leads").id_type == "uuid"
    assert resource("notes").update_verb == "PUT"
    assert resource("leads").item_path("8b967fe2-01c4-4cbc-8345-995d0c987715") == (
        "/leads/8b967fe2-01c4-4cbc-8345-995d0c987715")
    with pytest.raises(ValueError, match="UUID"):
        resource("leads").item_path(5)
    with pytest.raises(ValueError, match="positive integers"):
        resource("deals").item_path("5")
    with pytest.raises(KeyError, match="unknown resource"):
        resource("widgets")


LEAD = "8b967fe2-01c4-4cbc-8345-995d0c987715"


@pytest.mark.parametrize("bad", [
    "not-a-uuid", "", "../deals/1", f"{LEAD}/..", f"{{{LEAD}}}", f"urn:uuid:{LEAD}",
    LEAD.replace("-", ""), LEAD + "0", f" {LEAD}", f"{LEAD}\n", 7, None])
def test_a_lead_id_is_a_uuid_written_as_pipedrive_writes_it(bad: object) -> None:
    """Any string is no lead id: each of these would go into a URL path."""
    with pytest.raises(ValueError, match="UUID"):
        resource("leads").check_id(bad)  # type: ignore[arg-type]
    assert resource("leads").check_id(LEAD) == LEAD
    assert resource("leads").check_id(LEAD.upper()) == LEAD.upper()


def test_archived_lists_and_archiving_are_in_the_spec() -> None:
    having = {r.name for r in RESOURCES.values() if r.archived_path}
    assert having == {"deals", "leads"}
    for name in having:
        res = resource(name)
        archived = res.listing(archived=True)
        assert archived.operation in token_costs()
        assert archived.filters <= query_params(archived.version, "GET", archived.path)
        # Archiving is an update of is_archived, which the spec's update body allows.
        assert "is_archived" in res.writable_keys("update")
    assert resource("deals").listing(archived=True).path == "/deals/archived"
    assert resource("deals").listing(archived=True).version == "v2"
    assert resource("leads").listing(archived=True).version == "v1"
    with pytest.raises(ValueError, match="persons have no archived list"):
        resource("persons").listing(archived=True)


def test_related_lists_are_in_the_spec_with_their_paging() -> None:
    for parent, lists in RELATED.items():
        for entry in lists.values():
            assert entry.operation in token_costs(), entry
            assert entry.parent == parent and entry.cost > 0
            params = query_params(entry.version, "GET", entry.template)
            if entry.paging == "cursor":
                assert "cursor" in params, entry
            elif entry.paging == "offset":
                assert {"start", "limit"} <= params, entry
    expected = {
        "deals": {"products", "followers", "participants", "changelog", "files"},
        "persons": {"followers", "changelog", "files"},
        "organizations": {"followers", "changelog", "files"},
        "products": {"followers", "files"},
    }
    assert {k: set(v) for k, v in RELATED.items()} == expected
    assert related_list("deals", "products").operation == "v2 GET /deals/{id}/products"
    assert related_list("deals", "participants").operation == "v1 GET /deals/{id}/participants"
    assert related_list("persons", "changelog").operation == "v1 GET /persons/{id}/changelog"
    assert related_list("deals", "files").max_page == 100  # the spec's maximum
    assert related_list("deals", "files").listing(7).path == "/deals/7/files"
    with pytest.raises(ValueError, match="positive integers"):
        related_list("deals", "files").listing("7/../../users")
    with pytest.raises(KeyError, match="no related list 'notes'"):
        related_list("deals", "notes")


def test_list_filters_are_query_parameters_of_the_list_operation() -> None:
    for res in RESOURCES.values():
        allowed = query_params(res.version, "GET", res.path)
        assert res.list_filters <= allowed, (res.name, res.list_filters - allowed)


def test_operation_key_matches_templates_static_paths_first() -> None:
    assert operation_key("v2", "GET", "/deals/7") == "v2 GET /deals/{id}"
    assert operation_key("v2", "GET", "/deals/search") == "v2 GET /deals/search"
    assert operation_key("v1", "PATCH", "/leads/8b967fe2-01c4-4cbc-8345-995d0c987715") == (
        "v1 PATCH /leads/{id}")
    assert operation_key("v2", "GET", "/nowhere") == "v2 GET /nowhere"
    assert token_cost("v2 GET /nowhere") == 0
