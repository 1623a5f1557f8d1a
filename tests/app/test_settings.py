from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.settings import DATA_DIR_ENV, Settings, SettingsStore, resolve_data_dir
from core import replace_file


def test_explicit_data_dir_wins_over_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "from-env"))
    assert resolve_data_dir(tmp_path / "explicit") == (tmp_path / "explicit").resolve()
    assert resolve_data_dir(None) == (tmp_path / "from-env").resolve()


def test_platform_dir_is_used_without_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    assert "atelier" in str(resolve_data_dir(None)).lower()


def test_settings_round_trip_and_keep_unknown_keys(tmp_path: Path) -> None:
    store = SettingsStore(tmp_path)
    (tmp_path / "settings.json").write_text(json.dumps({"theme": "dark", "future_option": [1, 2]}))
    loaded = store.load()
    assert loaded.theme == "dark"
    store.save(loaded.with_changes(hash_workers=3))
    raw = json.loads((tmp_path / "settings.json").read_text())
    assert raw["future_option"] == [1, 2]
    assert store.load().hash_workers == 3
    assert not list(tmp_path.glob(".settings-*")), "temporary files must not be left behind"


def test_out_of_range_values_are_clamped(tmp_path: Path) -> None:
    (tmp_path / "settings.json").write_text(
        json.dumps({"theme": "neon", "thumbnail_size": 5000, "hash_workers": 0, "view_mode": "x"})
    )
    loaded = SettingsStore(tmp_path).load()
    assert (loaded.theme, loaded.thumbnail_size, loaded.hash_workers, loaded.view_mode) == (
        "system",
        512,
        1,
        "grid",
    )


def test_renderer_settings_are_clamped_and_reach_the_engine(tmp_path: Path) -> None:
    """The device preference and the checkpoint memory budget from the settings build the engine."""
    from app.context import AppContext

    (tmp_path / "settings.json").write_text(
        json.dumps({"render_device": " cpu ", "render_keep_checkpoints_gb": 12.0})
    )
    loaded = SettingsStore(tmp_path).load()
    assert (loaded.render_device, loaded.render_keep_checkpoints_gb) == ("cpu", 12.0)
    engine = AppContext(tmp_path).make_render_engine()
    assert engine.memory_budget_bytes == 12 * 1024**3
    assert engine.device.device == "cpu"
    assert engine.device.reason == "CPU requested in the settings"
    (tmp_path / "settings.json").write_text(json.dumps({"render_keep_checkpoints_gb": -3}))
    assert SettingsStore(tmp_path).load().render_keep_checkpoints_gb == 0.0


def test_damaged_settings_file_is_set_aside_not_lost(tmp_path: Path) -> None:
    (tmp_path / "settings.json").write_text("{not json")
    assert SettingsStore(tmp_path).load() == Settings()
    assert (tmp_path / "settings.json.bad").read_text() == "{not json"


def test_remote_settings_are_validated(tmp_path: Path) -> None:
    (tmp_path / "settings.json").write_text(
        json.dumps(
            {
                "civitai_base_url": "civitai.red/",
                "nsfw_max_level": 3,
                "download_concurrency": 99,
                "hf_endpoint": "http://127.0.0.1:9/ ",
            }
        )
    )
    loaded = SettingsStore(tmp_path).load()
    assert loaded.civitai_base_url == "https://civitai.com", "a URL without a scheme is not used"
    assert loaded.nsfw_max_level == 1
    assert loaded.download_concurrency == 6
    assert loaded.hf_endpoint == "http://127.0.0.1:9"
    (tmp_path / "settings.json").write_text(json.dumps({"civitai_base_url": "https://civitai.red/"}))
    assert SettingsStore(tmp_path).load().civitai_base_url == "https://civitai.red"


def test_on_windows_a_save_waits_out_a_scanner_holding_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Antivirus and the search indexer open a just-written file for a moment; os.replace onto it then
    # fails with PermissionError on Windows.
    store = SettingsStore(tmp_path)
    store.save(Settings(theme="dark"))
    real, refused = Path.replace, []

    def held_twice(source: Path, target: Path) -> Path:
        if len(refused) < 2:
            refused.append(target)
            raise PermissionError(13, "The process cannot access the file", str(target))
        return real(source, target)

    monkeypatch.setattr(replace_file, "SCANNERS_HOLD_FILES", True)
    monkeypatch.setattr(replace_file.time, "sleep", lambda seconds: None)
    monkeypatch.setattr(Path, "replace", held_twice)
    store.save(Settings(theme="light"))
    assert len(refused) == 2
    assert store.load().theme == "light"
    assert [p.name for p in tmp_path.iterdir()] == ["settings.json"]


def test_the_window_shape_and_sort_are_kept_and_an_older_file_still_loads(tmp_path: Path) -> None:
    store = SettingsStore(tmp_path)
    (tmp_path / "settings.json").write_text(
        json.dumps({"view_mode": "table", "compose_board_visible": False})
    )
    older = store.load()  # written before these settings existed: their defaults, nothing else lost
    assert (older.view_mode, older.compose_board_visible) == ("table", False)
    assert (older.window_geometry, older.library_splitter, older.board_width) == ("", (), 0)
    assert (older.sort_key, older.sort_descending) == ("name", False)

    left = older.with_changes(
        window_geometry="AdnQywADAAA=",
        library_splitter=(180, 700, 320),
        board_width=420,
        window_state="AAAA/wAAAAD9AAAAAQ==",
        desktop_scheme="dark",
        status_line_font="Sans Serif,9,-1,5,400,0,0,0,0,0,0,0,0,0,0,1,,0,0",
        status_line_height=18,
        sort_key="size",
        sort_descending=True,
    )
    store.save(left)
    assert store.load() == left


def test_hand_edited_window_settings_fall_back_to_the_defaults(tmp_path: Path) -> None:
    (tmp_path / "settings.json").write_text(
        json.dumps(
            {
                "window_geometry": 12,
                "library_splitter": [200, "wide", 300],
                "board_width": -5,
                "window_state": ["AAAA"],
                "desktop_scheme": "purple",
                "status_line_font": 9,
                "status_line_height": True,
                "sort_key": "colour",
                "sort_descending": 1,
            }
        )
    )
    loaded = SettingsStore(tmp_path).load()
    assert (loaded.window_geometry, loaded.library_splitter, loaded.board_width) == ("", (), 0)
    assert (loaded.window_state, loaded.desktop_scheme) == ("", "")
    assert (loaded.status_line_font, loaded.status_line_height) == ("", 0)
    assert (loaded.sort_key, loaded.sort_descending) == ("name", True)


@pytest.mark.parametrize(
    ("geometry", "state", "line_height"),
    [
        ("Ünïcödé junk ✓", "AAAA/wAAAAD9 ✓", 5000),  # Qt's base64 never has these; no font is 5000 px
        ("AdnQ ywAD", "AAAA\nAAAA", 201),
    ],
)
def test_hand_edited_window_state_that_qt_never_writes_is_dropped(
    tmp_path: Path, geometry: str, state: str, line_height: int
) -> None:
    """A non-ASCII window_state crashed the start (its base64 was encoded as ASCII); a status line 5000 px
    tall opened a window taller than any screen."""
    (tmp_path / "settings.json").write_text(
        json.dumps(
            {
                "window_geometry": geometry,
                "window_state": state,
                "status_line_font": "Sans,9",
                "status_line_height": line_height,
            }
        )
    )
    loaded = SettingsStore(tmp_path).load()
    assert (loaded.window_geometry, loaded.window_state, loaded.status_line_height) == ("", "", 0)
    kept = {"window_geometry": "AdnQywADAAA=", "window_state": "AAAA/wAAAAD9", "status_line_height": 200}
    (tmp_path / "settings.json").write_text(json.dumps(kept))
    loaded = SettingsStore(tmp_path).load()
    assert (loaded.window_geometry, loaded.window_state, loaded.status_line_height) == tuple(kept.values())
