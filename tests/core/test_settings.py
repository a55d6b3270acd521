"""User settings: defaults, a round trip, migration of an older file, damaged input."""

from __future__ import annotations

import json
from dataclasses import fields, replace
from pathlib import Path

import pytest

from explorer.core.settings import (
    CONFIG_DIR_ENV,
    SCHEMA_VERSION,
    Settings,
    config_dir,
    load_settings,
    save_settings,
    update_settings,
)


def test_no_file_gives_the_defaults(tmp_path: Path) -> None:
    settings = load_settings(tmp_path)
    assert settings == Settings()
    assert settings.last_account_id is None
    assert settings.demo_size == "small"
    assert settings.hide_empty_fields is False


def test_every_setting_has_a_description() -> None:
    described = Settings.describe()
    assert set(described) == {f.name for f in fields(Settings)}
    assert all(text and "\n" not in text for text in described.values())


def test_settings_round_trip(tmp_path: Path) -> None:
    wanted = replace(Settings(), last_account_id="abc", demo_size="medium",
                     hide_empty_fields=True)
    save_settings(wanted, tmp_path)
    assert load_settings(tmp_path) == wanted
    written = json.loads((tmp_path / "settings.json").read_text())
    assert written["version"] == SCHEMA_VERSION
    assert written["demo_size"] == "medium"


def test_a_file_without_a_version_is_migrated(tmp_path: Path) -> None:
    (tmp_path / "settings.json").write_text(json.dumps(
        {"last_account_id": "x1", "hide_empty_fields": True, "retired_setting": 3}))
    assert load_settings(tmp_path) == replace(Settings(), last_account_id="x1",
                                              hide_empty_fields=True)


@pytest.mark.parametrize("content", ["{broken", "[1, 2]",
                                     json.dumps({"version": 1, "page_size": "many",
                                                 "demo_size": "huge"})])
def test_damaged_values_fall_back_to_defaults(tmp_path: Path, content: str) -> None:
    (tmp_path / "settings.json").write_text(content)
    assert load_settings(tmp_path) == Settings()


def test_the_config_folder_can_be_set_by_environment(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CONFIG_DIR_ENV, str(tmp_path / "cfg"))
    assert config_dir() == tmp_path / "cfg"
    save_settings(replace(Settings(), demo_size="large"))
    assert load_settings().demo_size == "large"


def test_update_changes_only_the_named_settings(tmp_path: Path) -> None:
    save_settings(replace(Settings(), demo_size="medium"), tmp_path)
    updated = update_settings(tmp_path, hide_empty_fields=True)
    assert updated == replace(Settings(), demo_size="medium", hide_empty_fields=True)
    assert load_settings(tmp_path) == updated
