"""A transport onto the sandbox in process that keeps the URL of every request it carried, for
tests that check what went out on the wire (query values, which filters were sent)."""

from __future__ import annotations

import httpx

from explorer.sandbox.app import SandboxApp


class Recording(httpx.AsyncBaseTransport):
    """The sandbox's transport, keeping every request URL that went through it."""

    def __init__(self, app: SandboxApp) -> None:
        self.inner = httpx.ASGITransport(app=app)
        self.urls: list[httpx.URL] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.urls.append(request.url)
        return await self.inner.handle_async_request(request)
