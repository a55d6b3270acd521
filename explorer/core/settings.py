"""User settings: declared once, with defaults and a description each, kept as JSON in the
config folder.

``Settings`` lists every setting the app reads (a dataclass field with a default and a
one-line ``description`` in its metadata). ``load_settings()`` reads
``<config dir>/settings.json``; a file written by an older version is brought up to
``SCHEMA_VERSION`` by the steps in ``MIGRATIONS`` (one function per version step), unknown keys
are dropped and a value of the wrong type falls back to its default, so a hand-edited or
damaged file never stops the app. ``save_settings()`` writes atomically (a temporary file,
then a rename). Opaque Qt state (window geometry, splitters, header layouts) is not here: the
window keeps it in ``QSettings``.

The config folder is ``platformdirs.user_config_dir("pipedrive-explorer")``, or the folder in
the ``PIPEDRIVE_EXPLORER_CONFIG_DIR`` environment variable (tests, portable installs).
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Callable
from dataclasses import MISSING, asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import platformdirs

if TYPE_CHECKING:
    from explorer.api import OAuthApp

APP_NAME = "pipedrive-explorer"
CONFIG_DIR_ENV = "PIPEDRIVE_EXPLORER_CONFIG_DIR"
SCHEMA_VERSION = 1
SETTINGS_FILE = "settings.json"

log = logging.getLogger(__name__)


OAUTH_ENV = {"client_id": "PIPEDRIVE_EXPLORER_OAUTH_CLIENT_ID",
             "client_secret": "PIPEDRIVE_EXPLORER_OAUTH_CLIENT_SECRET",
             "oauth_url": "PIPEDRIVE_EXPLORER_OAUTH_URL",
             "redirect_uri": "PIPEDRIVE_EXPLORER_OAUTH_REDIRECT_URI"}
"""The environment variables that configure an OAuth app (Pipedrive's Developer Hub gives
the client ID and secret; the URL and the redirect URI have Pipedrive's defaults)."""


def oauth_app_from_env() -> OAuthApp | None:
    """The OAuth app the environment configures, or None (no client ID and secret, or a
    value ``OAuthApp`` refuses: logged, and sign-in stays unavailable)."""
    values = {key: os.environ.get(name, "").strip() for key, name in OAUTH_ENV.items()}
    if not values["client_id"] or not values["client_secret"]:
        return None
    from explorer.api import OAuthApp
    from explorer.api.loopback import DEFAULT_REDIRECT_URI
    from explorer.api.oauth import PIPEDRIVE_OAUTH_URL

    try:
        return OAuthApp(values["client_id"], values["client_secret"],
                        oauth_url=values["oauth_url"] or PIPEDRIVE_OAUTH_URL,
                        redirect_uri=values["redirect_uri"] or DEFAULT_REDIRECT_URI)
    except ValueError as exc:
        log.warning("the OAuth app in the environment is unusable: %s", exc)
        return None


def config_dir() -> Path:
    """Where settings and the account list live (created on first write)."""
    override = os.environ.get(CONFIG_DIR_ENV)
    return Path(override) if override else Path(platformdirs.user_config_dir(APP_NAME))


def _setting(default: Any, description: str) -> Any:
    return field(default=default, metadata={"description": description})


@dataclass(frozen=True)
class Settings:
    """Every user setting, with its default.

    Attributes:
        last_account_id: the account opened last; ``pipedrive-explorer`` opens it again.
        demo_size: the demo data size the account manager's "Try the demo" starts.
        hide_empty_fields: the detail pane hides fields without a value.
        show_archived: the resource tree shows the archived deals and leads nodes.
        page_size: records in the table's first page (later pages are as large).
    """

    last_account_id: str | None = _setting(
        None, "The account opened last; started without options, the app opens it again.")
    demo_size: str = _setting(
        "small", "Demo data size for 'Try the demo': small, medium or large.")
    hide_empty_fields: bool = _setting(
        False, "The detail pane hides fields that have no value.")
    show_archived: bool = _setting(
        True, "The resource tree shows Archived deals and Archived leads.")
    page_size: int = _setting(
        50, "Records in the table's first page; later pages are the same size.")

    @staticmethod
    def describe() -> dict[str, str]:
        """Each setting's name and its one-line description."""
        return {f.name: str(f.metadata["description"]) for f in fields(Settings)}


Migration = Callable[[dict[str, Any]], dict[str, Any]]
MIGRATIONS: dict[int, Migration] = {
    # 0 → 1: files written before the schema had a version number ("version" absent).
    0: lambda data: data,
}
"""``MIGRATIONS[n]`` turns a version ``n`` document into a version ``n + 1`` one."""


def migrate(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` brought up to ``SCHEMA_VERSION`` (a newer file is read as it is)."""
    version = data.get("version", 0)
    if not isinstance(version, int):
        version = 0
    while version < SCHEMA_VERSION:
        data = MIGRATIONS[version](dict(data))
        version += 1
    return {**data, "version": max(version, SCHEMA_VERSION)}


def _from_dict(data: dict[str, Any]) -> Settings:
    values: dict[str, Any] = {}
    for f in fields(Settings):
        if f.name not in data:
            continue
        value = data[f.name]
        default = f.default if f.default is not MISSING else None
        kind = type(default)
        fits = (value is None or isinstance(value, str)) if f.name == "last_account_id" \
            else isinstance(value, kind) and not (kind is int and isinstance(value, bool))
        if fits:
            values[f.name] = value
        else:
            log.warning("setting %s has a value of the wrong type; using its default", f.name)
    settings = Settings(**values)
    if settings.demo_size not in ("small", "medium", "large"):
        settings = replace(settings, demo_size="small")
    if not 1 <= settings.page_size <= 500:
        settings = replace(settings, page_size=50)
    return settings


def load_settings(folder: Path | None = None) -> Settings:
    """The saved settings, or the defaults when there is no usable file."""
    path = (folder or config_dir()) / SETTINGS_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Settings()
    except (OSError, ValueError) as exc:
        log.warning("cannot read %s (%s); using the default settings", path, exc)
        return Settings()
    if not isinstance(data, dict):
        return Settings()
    return _from_dict(migrate(data))


def write_json(path: Path, data: object) -> None:
    """Write ``data`` to ``path`` atomically: a reader sees the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2, sort_keys=True)
            handle.write("\n")
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def save_settings(settings: Settings, folder: Path | None = None) -> None:
    """Write ``settings`` (atomically) to ``settings.json`` in ``folder``."""
    write_json((folder or config_dir()) / SETTINGS_FILE,
               {"version": SCHEMA_VERSION, **asdict(settings)})


def update_settings(folder: Path | None = None, **changes: Any) -> Settings:
    """Load, change the named settings, save; the new settings. Blocks on disk: call it in
    a worker thread from the UI (``await asyncio.to_thread(update_settings, …)``)."""
    settings = replace(load_settings(folder), **changes)
    save_settings(settings, folder)
    return settings
