"""The compiled spec facts the sandbox ships equal what the official specs say."""

from __future__ import annotations

from pathlib import Path

from explorer.sandbox.app import operations
from explorer.sandbox.specdata import compile_specs
from explorer.sandbox.specdata import operations as shipped

SPECS = Path(__file__).resolve().parents[2] / "resources" / "openapi"


def test_shipped_operations_json_matches_the_specs() -> None:
    assert shipped() == compile_specs(SPECS), (
        "explorer/sandbox/data/operations.json is stale: "
        "run python -m explorer.sandbox.specdata resources/openapi"
    )


def test_every_route_is_a_spec_operation_with_its_operation_id() -> None:
    specs = shipped()
    for op in operations():
        key = f"{op.version} {op.method} {op.path}"
        assert key in specs, f"{key} is not in Pipedrive's {op.version} spec"
        assert specs[key]["operation_id"] == op.operation_id, key
        assert isinstance(specs[key]["token_cost"], int), key


def test_no_operation_is_registered_twice() -> None:
    keys = [(op.version, op.method, op.path) for op in operations()]
    assert len(keys) == len(set(keys))
