"""Reading a whole v2 list in tests: every page, following ``next_cursor``."""

from __future__ import annotations

from typing import Any

import httpx


async def v2_all(client: httpx.AsyncClient, url: str, **params: Any) -> list[Any]:
    """Every record of the v2 list at ``url``, page by page; each page must answer 200."""
    out: list[Any] = []
    cursor = None
    while True:
        response = await client.get(url, params={**params, **({"cursor": cursor} if cursor
                                                               else {})})
        assert response.status_code == 200, response.text
        out += response.json()["data"]
        cursor = response.json()["additional_data"]["next_cursor"]
        if cursor is None:
            return out
