"""Every route module's ``Router``; ``app.py`` mounts them in this order."""

from explorer.sandbox.routes import v2_core
from explorer.sandbox.routing import Router

ROUTERS: list[Router] = [v2_core.router]
