"""OAuth 2 emulation: ``/oauth/authorize`` and ``/oauth/token`` as Pipedrive answers them.

PLACEHOLDER interface — being implemented (see the task brief).
"""

from __future__ import annotations

from starlette.routing import BaseRoute

from explorer.sandbox.config import OAuthConfig
from explorer.sandbox.routing import Clock


class OAuthServer:
    def __init__(self, config: OAuthConfig, clock: Clock, *, user_id: int, base_url: str) -> None:
        self.config = config
        self.clock = clock
        self.user_id = user_id
        self.base_url = base_url

    def user_for_access_token(self, token: str) -> int | None:
        return None

    def routes(self) -> list[BaseRoute]:
        return []
