"""Every implemented operation's responses, success and documented errors, match the spec.

The walk is over the sandbox's own registry (``operations()``), so a new route cannot escape
it: an operation without scenarios (``scenarios.py``) fails. The ``client`` fixture validates
every response it receives (``spec.py``); this module asserts the status each scenario expects
and that its response was checked against the operation it targets.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from explorer.sandbox.app import DEFAULT_TOKEN, operations
from explorer.sandbox.routing import Operation
from tests.sandbox.scenarios import SCENARIOS, SUCCESS, UNKNOWN_UUID, UNREACHABLE, V1, V2
from tests.sandbox.spec import SUMMARY_KEY, SpecLog, SpecValidator

# ---------------------------------------------------------------------- the walk


@dataclass
class Tally:
    operations: int = 0
    responses: int = 0
    violations: int = 0
    undocumented: int = 0


@pytest.fixture(scope="module")
def tally(request: pytest.FixtureRequest) -> Iterator[Tally]:
    """Counts over the walk; conftest prints them in the terminal summary."""
    counts = Tally()
    yield counts
    if counts.operations:
        request.config.stash[SUMMARY_KEY] = (
            f"OpenAPI conformance: {counts.operations} operations, {counts.responses} "
            f"responses validated, {counts.violations} violations "
            f"({counts.undocumented} error responses with a status the spec leaves undocumented)")


def _op_id(op: Operation) -> str:
    return f"{op.version}-{op.operation_id}"


def _documented_errors(validator: SpecValidator, op: Operation) -> set[str]:
    return {s for s in validator.documented_statuses(op.version, op.method, op.path)
            if s[:1] in ("4", "5")}


def _success_status(validator: SpecValidator, op: Operation) -> int:
    codes = [int(s) for s in validator.documented_statuses(op.version, op.method, op.path)
             if s.isdigit() and s.startswith("2")]
    assert len(codes) == 1, f"{op.operation_id}: expected one documented 2xx, got {codes}"
    return codes[0]


@pytest.mark.parametrize("op", operations(), ids=_op_id)
async def test_operation_conforms(op: Operation, client: httpx.AsyncClient, spec_log: SpecLog,
                                  spec_validator: SpecValidator, tally: Tally) -> None:
    scenarios = SCENARIOS.get(op.operation_id)
    assert scenarios, (f"{op.operation_id} ({op.method} {op.version} {op.path}) has no "
                       f"scenario: add one to SCENARIOS in {__name__}")
    success = _success_status(spec_validator, op)
    statuses = {success if s.expect == SUCCESS else s.expect for s in scenarios}
    assert success in statuses, f"{op.operation_id} has no success scenario"
    missing = {e for e in _documented_errors(spec_validator, op)
               if int(e) not in statuses and (op.operation_id, e) not in UNREACHABLE}
    assert not missing, f"{op.operation_id}: no scenario for documented error(s) {missing}"

    for s in scenarios:
        response = await s.send(client)
        expect = success if s.expect == SUCCESS else s.expect
        assert response.status_code == expect, (
            f"{op.operation_id} / {s.name}: expected {expect}, got {response.status_code}: "
            f"{response.text[:400]}")
        check = spec_log.check_of(response)
        assert check.operation is not None and check.operation.operation_id == op.operation_id, (
            f"{op.operation_id} / {s.name}: {check.describe()} is not a request to this operation")
        assert check.exempt in (None, "401"), f"{s.name}: not validated ({check.exempt})"

    tally.operations += 1
    tally.responses += sum(1 for c in spec_log.checks if c.exempt is None)
    tally.violations += len(spec_log.violations)
    tally.undocumented += sum(1 for c in spec_log.checks if c.undocumented)
    assert not spec_log.violations, spec_log.report()


def _concrete(op: Operation) -> str:
    prefix = V2 if op.version == "v2" else V1
    return prefix + re.sub(r"\{[^}]+\}", UNKNOWN_UUID if "/leads" in op.path else "1", op.path)


async def test_every_operation_requires_a_token(client: httpx.AsyncClient,
                                               spec_log: SpecLog) -> None:
    """Without a token or with a wrong one, every operation answers Pipedrive's 401 envelope."""
    for op in operations():
        for token in (None, DEFAULT_TOKEN + "-wrong"):
            request = client.build_request(op.method, _concrete(op))
            if token is None:
                del request.headers["x-api-token"]
            else:
                request.headers["x-api-token"] = token
            response = await client.send(request)
            assert response.status_code == 401, (op.operation_id, token, response.text)
            check = spec_log.check_of(response)
            assert check.operation is not None, f"{request.url} maps to no operation"
            assert check.operation.operation_id == op.operation_id
    assert not spec_log.violations, spec_log.report()


# ---------------------------------------------------------------------- the validator itself


def test_urls_map_to_operations(spec_validator: SpecValidator) -> None:
    by_key = {(op.version, op.method, op.path): op for op in operations()}
    for (version, method, path), op in by_key.items():
        prefixes = ("/api/v2",) if version == "v2" else ("/api/v1", "/v1")
        for prefix in prefixes:
            url = "http://sandbox.test" + prefix + re.sub(
                r"\{[^}]+\}", lambda m: "abc" if m.group() == "{field_code}" else "12",
                path) + "?limit=1"
            found = spec_validator.operation_for(method, url)
            assert found is not None and found.operation_id == op.operation_id, (url, found)
    assert spec_validator.operation_for("GET", "/api/v2/no/such/route") is None
    assert spec_validator.operation_for("GET", "/api/v3/deals") is None


def test_scenarios_name_spec_operations(spec_validator: SpecValidator) -> None:
    """A scenario under a misspelt operationId would silently never run."""
    known = {op.get("operationId") for version in ("v1", "v2")
             for item in spec_validator.spec(version)["paths"].values()
             for op in item.values() if isinstance(op, dict)}
    assert set(SCENARIOS) <= known, set(SCENARIOS) - known


def test_validator_reports_violations(spec_validator: SpecValidator) -> None:
    """The validator is not vacuous: wrong types, nulls and a bad envelope are reported."""
    deal = {"success": True, "data": {"id": "seven", "title": None, "custom_fields": []}}
    check = spec_validator.check("GET", "/api/v2/deals/7", 200, "application/json",
                                 _dumps(deal))
    paths = {v.path for v in check.violations}
    assert {"$.data.id", "$.data.title", "$.data.custom_fields"} <= paths, check.violations

    lead = {"success": True, "data": {"id": "not-a-uuid", "add_time": "2024-01-01 10:00:00",
                                      "expected_close_date": "01/02/2024"}}
    check = spec_validator.check("GET", f"/v1/leads/{UNKNOWN_UUID}", 200, "application/json",
                                 _dumps(lead))
    paths = {v.path for v in check.violations}
    assert {"$.data.id", "$.data.add_time", "$.data.expected_close_date"} <= paths, paths

    check = spec_validator.check("GET", "/api/v2/deals/7", 404, "application/json",
                                 _dumps({"success": True}))
    assert check.undocumented and {v.path for v in check.violations} == {"$.success", "$.error"}

    check = spec_validator.check("GET", "/api/v2/deals", 500, "application/json",
                                 _dumps({"success": False, "error": "boom"}))
    assert check.violations, "an undocumented 5xx is a violation"

    check = spec_validator.check("GET", "/api/v2/deals", 200, "text/html", b"<html/>")
    assert check.violations, "a non-JSON body is a violation"


def test_next_cursor_null_is_the_only_relaxation(spec_validator: SpecValidator) -> None:
    end = {"success": True, "data": [], "additional_data": {"next_cursor": None}}
    check = spec_validator.check("GET", "/api/v2/deals", 200, "application/json", _dumps(end))
    assert check.ok, check.violations
    spec_validator.spec("v1")
    relaxed = {name for names in spec_validator.relaxed.values() for name in names}
    assert relaxed <= {"next_cursor", "options", "draft", "archive_time"}, relaxed


def _dumps(body: Any) -> bytes:
    return json.dumps(body).encode()
