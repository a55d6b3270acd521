"""The log file: rotating, under the log folder, requests with their timings, never a token."""

from __future__ import annotations

import logging
import logging.handlers
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from explorer.core.logs import (
    LOG_DIR_ENV,
    LoggingTransport,
    RedactingFilter,
    log_folder,
    log_uncaught_exceptions,
    redact,
    setup_logging,
)
from explorer.sandbox.app import DEFAULT_TOKEN, SandboxApp
from tests.conftest import BASE_URL

SECRET = "s3cr3t-token-value-0123456789"


@pytest.mark.parametrize("line", [
    f"GET /api/v1/deals?api_token={SECRET}&limit=5",
    f"headers {{'x-api-token': '{SECRET}'}}",
    f"x-api-token: {SECRET}",
    f"Authorization: Bearer {SECRET}",
    f"grant_type=refresh_token&refresh_token={SECRET}",
    f'{{"access_token": "{SECRET}", "expires_in": 3599}}',
    f"client_secret={SECRET}",
])
def test_credentials_are_hidden(line: str) -> None:
    cleaned = redact(line)
    assert SECRET not in cleaned
    assert "<hidden>" in cleaned


def test_text_without_credentials_is_left_alone() -> None:
    line = "GET /api/v2/deals -> 200 in 41 ms; x-daily-ratelimit-token-limit: 30000"
    assert redact(line) == line


def flushed(path: Path) -> str:
    for handler in logging.getLogger().handlers:
        handler.flush()
    return path.read_text()


@pytest.fixture
def log_file(tmp_path: Path) -> Iterator[Path]:
    path = setup_logging(tmp_path)
    yield path
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "_explorer_log", False)]:
        root.removeHandler(handler)
        handler.close()


def test_the_log_file_rotates_and_never_holds_a_token(log_file: Path) -> None:
    handler = next(h for h in logging.getLogger().handlers
                   if getattr(h, "_explorer_log", False))
    assert isinstance(handler, logging.handlers.RotatingFileHandler)
    assert handler.maxBytes == 1_000_000 and handler.backupCount == 5
    assert any(isinstance(f, RedactingFilter) for f in handler.filters)
    logging.getLogger("explorer.test").info("sent %s", {"x-api-token": SECRET})
    logging.getLogger("httpx").warning("GET https://a.pipedrive.com/v1/x?api_token=%s", SECRET)
    try:
        raise ValueError(f"Bearer {SECRET}")
    except ValueError:
        logging.getLogger("explorer.test").exception("failed")
    handler.flush()
    text = log_file.read_text()
    assert "sent" in text and "failed" in text and "ValueError" in text
    assert SECRET not in text


async def test_requests_are_logged_with_status_and_time(log_file: Path,
                                                        app: SandboxApp) -> None:
    transport = LoggingTransport(httpx.ASGITransport(app=app))
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
        await http.get("/api/v2/deals", params={"limit": 1, "api_token": DEFAULT_TOKEN})
        await http.get("/api/v2/deals", headers={"x-api-token": "wrong"})
    text = flushed(log_file)
    assert "GET /api/v2/deals -> 200 in" in text
    assert "GET /api/v2/deals -> 401 in" in text
    assert DEFAULT_TOKEN not in text


def test_the_log_folder_follows_the_environment(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(LOG_DIR_ENV, str(tmp_path / "logs"))
    assert log_folder() == tmp_path / "logs"
    assert (tmp_path / "logs").is_dir()


def test_an_uncaught_exception_reaches_the_log_without_its_token(
        log_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    told: list[type[BaseException]] = []
    monkeypatch.setattr(sys, "excepthook", lambda kind, value, tb: told.append(kind))
    log_uncaught_exceptions()
    try:
        raise RuntimeError(f"request with x-api-token: {SECRET} failed")
    except RuntimeError as exc:
        sys.excepthook(type(exc), exc, exc.__traceback__)
    assert told == [RuntimeError]              # the previous hook still runs
    text = flushed(log_file)
    assert "uncaught exception" in text and "RuntimeError" in text
    assert SECRET not in text
