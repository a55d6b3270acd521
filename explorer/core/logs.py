"""The log file: a rotating file under the user's log folder with requests, errors and timings,
and never a token.

``setup_logging()`` attaches a ``RotatingFileHandler`` (1 MB × 5 files) to the root logger at
INFO for the app's own loggers (``explorer.*``) and WARNING for libraries; every record passes
``RedactingFilter`` first, which blanks what looks like a credential (``x-api-token: …``,
``api_token=…``, ``Authorization: Bearer …``, ``access_token``/``refresh_token`` values,
``client_secret``), whatever logger wrote it. ``LoggingTransport`` wraps the client's httpx
transport and logs one line per request (method, path without the query string, status,
milliseconds). ``log_uncaught_exceptions()`` sends crashes there too. ``log_folder()`` is
where the files are (Help → Open log folder).

The folder is ``platformdirs.user_log_dir("pipedrive-explorer")``, or the folder in the
``PIPEDRIVE_EXPLORER_LOG_DIR`` environment variable.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import re
import sys
import time
from pathlib import Path
from types import TracebackType

import httpx
import platformdirs

from explorer.core.settings import APP_NAME

LOG_DIR_ENV = "PIPEDRIVE_EXPLORER_LOG_DIR"
LOG_FILE = "pipedrive-explorer.log"
MAX_BYTES = 1_000_000
BACKUPS = 5
FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"

requests_log = logging.getLogger("explorer.requests")

_HIDDEN = "<hidden>"
_PATTERNS = (
    # header lines and dict reprs: x-api-token: abc / 'x-api-token': 'abc'
    re.compile(r"(?i)(x-api-token['\"]?\s*[:=]\s*['\"]?)[^\s'\",}]+"),
    # query strings and form bodies: api_token=abc, access_token=…, refresh_token=…, code=
    re.compile(r"(?i)((?:api_token|access_token|refresh_token|client_secret|token)"
               r"['\"]?\s*[=:]\s*['\"]?)[^\s&'\",}]+"),
    # Authorization: Bearer abc / Basic abc
    re.compile(r"(?i)((?:bearer|basic)\s+)[A-Za-z0-9\-._~+/]+=*"),
)


def redact(text: str) -> str:
    """``text`` with every credential-looking value replaced by ``<hidden>``."""
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + _HIDDEN, text)
    return text


class RedactingFilter(logging.Filter):
    """Blanks credentials in a record's message and arguments before any handler sees it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        return True


def log_folder() -> Path:
    """The folder holding the log files (created if missing)."""
    override = os.environ.get(LOG_DIR_ENV)
    folder = Path(override) if override else Path(platformdirs.user_log_dir(APP_NAME))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def setup_logging(folder: Path | None = None, *, level: int = logging.INFO) -> Path:
    """Log to the rotating file in ``folder`` (default ``log_folder()``); returns its path.
    Calling it again replaces the previous file handler."""
    folder = folder or log_folder()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOG_FILE
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_explorer_log", False)]:
        root.removeHandler(old)
        old.close()
    handler = logging.handlers.RotatingFileHandler(path, maxBytes=MAX_BYTES,
                                                   backupCount=BACKUPS, encoding="utf-8")
    handler._explorer_log = True  # type: ignore[attr-defined]
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(RedactingFilter())
    root.addHandler(handler)
    root.setLevel(min(root.level or logging.WARNING, logging.WARNING))
    logging.getLogger("explorer").setLevel(level)
    # httpx logs every request URL at INFO; our transport logs the same without the query.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    return path


def log_uncaught_exceptions() -> None:
    """Uncaught exceptions (a crash, an exception escaping a Qt slot) go to the log file as
    well as to stderr: the report a user sends then holds the traceback (redacted)."""
    previous = sys.excepthook

    def hook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        if not issubclass(kind, KeyboardInterrupt):
            logging.getLogger("explorer.crash").critical("uncaught exception",
                                                         exc_info=(kind, value, tb))
        previous(kind, value, tb)

    sys.excepthook = hook


class LoggingTransport(httpx.AsyncBaseTransport):
    """Wraps an httpx transport: one INFO line per request with its status and time, one
    WARNING when no answer came. The query string (which may hold a token) is never logged.

    Attributes:
        inner: the transport that sends.
    """

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        started = time.perf_counter()
        try:
            response = await self.inner.handle_async_request(request)
        except Exception as exc:
            requests_log.warning("%s %s failed after %.0f ms: %s", request.method,
                                 request.url.path, (time.perf_counter() - started) * 1000,
                                 type(exc).__name__)
            raise
        requests_log.info("%s %s -> %d in %.0f ms", request.method, request.url.path,
                          response.status_code, (time.perf_counter() - started) * 1000)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()
