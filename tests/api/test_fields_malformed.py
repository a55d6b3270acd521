"""A *Fields answer the catalog cannot read fails that resource only (issue 7, fix 6): the
other resources load, the failed one is reported with what was wrong, and a refresh once the
answer is right loads it. The answers are the sandbox's, with one record spoiled in transit."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import httpx
import pytest

from explorer.api import ApiTokenProvider, ClientConfig, FieldCatalog, PipedriveClient
from explorer.api.errors import ApiError
from explorer.api.fields import DEFAULT_RESOURCES
from explorer.sandbox.app import DEFAULT_TOKEN, SandboxApp

Spoil = Callable[[list[Any]], None]


class Spoiling(httpx.AsyncBaseTransport):
    """The sandbox's transport; the JSON ``data`` list of ``path``'s successful answers is
    handed to ``spoil`` (which changes it in place) while ``spoil`` is set."""

    def __init__(self, app: SandboxApp, path: str, spoil: Spoil | None) -> None:
        self.inner = httpx.ASGITransport(app=app)
        self.path = path
        self.spoil = spoil
        self.spoiled = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if self.spoil is None or request.url.path != self.path or response.status_code != 200:
            return response
        body = json.loads(await response.aread())
        self.spoil(body["data"])
        self.spoiled += 1
        headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
        return httpx.Response(200, headers=headers, content=json.dumps(body))


def drop_key(key: str) -> Spoil:
    def spoil(records: list[Any]) -> None:
        custom = next(r for r in records if r.get("is_custom_field") or len(r[key]) == 40)
        del custom[key]
    return spoil


def replace_first(value: Any) -> Spoil:
    def spoil(records: list[Any]) -> None:
        records[0] = value
    return spoil


def options_not_a_list(records: list[Any]) -> None:
    with_options = next(r for r in records if r.get("options"))
    with_options["options"] = {"id": 1, "label": "one"}


CASES = {
    "v2 record without field_code": ("deals", "/api/v2/dealFields", drop_key("field_code"),
                                     "has no field_code"),
    "v2 record that is no object": ("persons", "/api/v2/personFields", replace_first("x"),
                                    "is str, not an object"),
    "v2 options that are no list": ("products", "/api/v2/productFields", options_not_a_list,
                                    "are dict, not a list"),
    "v1 record without key": ("leads", "/api/v1/leadFields", drop_key("key"), "has no key"),
}


@pytest.mark.parametrize("case", list(CASES))
async def test_a_malformed_fields_answer_fails_that_resource_only(
    app: SandboxApp, config: ClientConfig, case: str
) -> None:
    name, path, spoil, problem = CASES[case]
    wire = Spoiling(app, path, spoil)
    async with PipedriveClient(replace(config, transport=wire),
                               ApiTokenProvider(DEFAULT_TOKEN)) as client:
        catalog = FieldCatalog(client)
        failed = await catalog.load()
        assert wire.spoiled >= 1
        assert list(failed) == [name]
        error = failed[name]
        assert isinstance(error, ApiError) and error.path == path
        assert problem in str(error) and f"catalog.refresh({name!r})" in str(error)
        assert dict(catalog.failures) == failed
        for other in DEFAULT_RESOURCES:
            if other != name:
                assert other in catalog and len(catalog[other]) > 0
        with pytest.raises(KeyError, match="could not be loaded"):
            catalog[name]
        # Once the answer is right again, a refresh of that resource loads it.
        wire.spoil = None
        assert await catalog.refresh(name) == {}
        assert name in catalog and catalog.failures == {}
        assert len(catalog[name]) > 0
