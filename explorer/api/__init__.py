"""Async Pipedrive client (httpx): auth, v1/v2 routing, paging, rate governor, errors."""
