"""The 403 page a blocked token gets: Cloudflare's, in front of the API, not Pipedrive's JSON.

Pipedrive documents that ``api_token`` integrations that keep sending after 429s get a 403
with a Cloudflare HTML page; ``limits.py`` decides when, this module only renders it.
"""

from __future__ import annotations

import secrets
from html import escape

from starlette.responses import HTMLResponse


def block_page(seconds: int, until: str, zone: str) -> HTMLResponse:
    """The 403 answer: blocked for ``seconds`` more (until ``until``, an RFC 3339 instant);
    ``zone`` is the server's time zone, whose midnight resets the daily budget."""
    ray = f"{secrets.token_hex(8)}-TLL"
    page = BLOCK_PAGE.format(ray=escape(ray), seconds=seconds, until=escape(until),
                             zone=escape(zone))
    return HTMLResponse(page, status_code=403, headers={
        "cf-ray": ray, "server": "cloudflare", "cache-control": "no-store"})


BLOCK_PAGE = """<!DOCTYPE html>
<html lang="en-US">
<head>
<title>Attention Required! | Cloudflare</title>
<meta charset="UTF-8">
<meta name="robots" content="noindex, nofollow">
</head>
<body>
<div id="cf-wrapper">
<div id="cf-error-details">
<h1>Sorry, you have been blocked</h1>
<h2>You are unable to access api.pipedrive.com</h2>
<h2>Why have I been blocked?</h2>
<p>Access was temporarily blocked for rate-limit abuse: this API token kept sending requests
after receiving 429 Too Many Requests responses.</p>
<h2>What can I do to resolve this?</h2>
<p>Stop sending requests for {seconds} seconds (until {until}). After a 429, wait for the
time given in the x-ratelimit-reset header (or Retry-After, when present) before retrying,
and do not retry a spent daily token budget before midnight server time ({zone}).</p>
<p>Cloudflare Ray ID: <strong>{ray}</strong> &bull; Pipedrive sandbox</p>
</div>
</div>
</body>
</html>
"""
