"""Updates in the real window: Check for updates, the badge, the "Has update" filter, and the details pane's
"Update available" section with its two buttons, driven by mouse clicks against the loopback Civitai."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from pytestqt.qtbot import QtBot

from catalog.records import RemoteMatch
from desktop.dialogs.settings_dialog import SettingsDialog
from desktop.main_window import MainWindow
from desktop.models.asset_table_model import UPDATE_LABEL, AssetColumn, AssetRole
from tests.conftest import closed_loopback_url
from tests.desktop.conftest import FakeSettings, PopulatedLibrary, ServicesFactory
from tests.desktop.remote_support import LORA_MODEL_ID, LORA_VERSION_ID, RemoteEnv
from tests.factory.models import kohya_lora, write_case

NEWEST_ID = 245733  # "v1-16dim", published after 242807 and 243508
NEWEST_FILE = "sd_xl_turbo_lora_v1-16dim.safetensors"


@pytest.fixture
def window(
    qtbot: QtBot,
    populated: PopulatedLibrary,
    remote: RemoteEnv,
    make_services: ServicesFactory,
    tmp_path: Path,
) -> Iterator[MainWindow]:
    """pixelArtStyle linked to version 242807 of model 215485, whose newest version can be downloaded."""
    populated.library.record_remote_match(
        populated.ids["pixelArtStyle"],
        RemoteMatch(
            site="civitai",
            model_id=str(LORA_MODEL_ID),
            version_id=str(LORA_VERSION_ID),
            model_name="SDXL Turbo LoRA",
            version_name="v1-128dim",
        ),
    )
    newest = write_case(kohya_lora("sd1", rank=2), tmp_path / "newest").read_bytes()
    remote.extra["newest"] = newest
    state = remote.civitai.state
    model = state.models[LORA_MODEL_ID]
    version = next(v for v in model["modelVersions"] if v["id"] == NEWEST_ID)
    version["files"][0].update(
        sizeKB=len(newest) / 1024,
        hashes={"SHA256": hashlib.sha256(newest).hexdigest().upper()},
        downloadUrl=remote.files.base_url + remote.file_state.add("/files/newest.safetensors", newest),
    )
    state.add_model(model)
    remote.settings.check_updates_daily = False  # the test checks by the menu
    window = MainWindow(make_services(populated.library, settings=remote.settings, remote=remote.remote))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    yield window
    window.close()


def check_for_updates(qtbot: QtBot, window: MainWindow) -> None:
    actions = window.update_actions  # type: ignore[attr-defined]
    assert actions.check_action in window.library_menu.actions()
    with qtbot.waitSignal(window.job_ended, timeout=10000, check_params_cb=lambda t: t == "Update check"):
        actions.check_action.trigger()


def select_first_row(qtbot: QtBot, window: MainWindow) -> None:
    window.set_view_mode("table")
    rect = window.table.visualRect(window.model.index(0, AssetColumn.NAME))
    qtbot.mouseClick(window.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def test_a_checked_update_is_badged_filtered_and_shown_in_the_details(
    qtbot: QtBot, window: MainWindow, populated: PopulatedLibrary
) -> None:
    pixel = populated.ids["pixelArtStyle"]
    check_for_updates(qtbot, window)
    # The outcome is named as a result, not as the work still going on ("Checking for updates: Checked…").
    assert window.status.job_label.text().startswith("Update check: Checked ")

    row = window.model.row_of(pixel)
    assert row is not None
    assert window.model.index(row, 0).data(AssetRole.HAS_UPDATE) is True
    assert window.model.index(row, AssetColumn.STATUS).data() == UPDATE_LABEL
    others = [r for r in range(window.model.rowCount()) if r != row]
    assert not any(window.model.index(r, 0).data(AssetRole.HAS_UPDATE) for r in others)

    qtbot.mouseClick(window.filter_bar.updates, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.model.rowCount() == 1, timeout=3000)
    assert window.model.asset_id(0) == pixel

    select_first_row(qtbot, window)
    section = window.details.update_section
    qtbot.waitUntil(lambda: section.isVisible() and section.ignore_button.height() > 0, timeout=3000)
    assert "v1-16dim" in section.version.text()
    assert "SD 1.5" in section.version.text()
    assert "You have v1-128dim" in section.current.text()
    assert section.changes.text().startswith("94MB, similar quality")
    assert "every file of this model" in section.ignore_button.toolTip()  # the ignore is the model's

    qtbot.mouseClick(section.ignore_button, Qt.MouseButton.LeftButton)

    qtbot.waitUntil(lambda: window.model.rowCount() == 0, timeout=3000)
    assert window.status.flash_label.text().endswith("for every file of that model")
    assert not section.isVisible()
    qtbot.mouseClick(window.filter_bar.updates, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.model.rowCount() == 7, timeout=3000)
    assert not window.model.has_update(pixel)


def test_download_beside_puts_the_new_version_next_to_the_old_file(
    qtbot: QtBot, window: MainWindow, populated: PopulatedLibrary, remote: RemoteEnv
) -> None:
    check_for_updates(qtbot, window)
    qtbot.mouseClick(window.filter_bar.updates, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.model.rowCount() == 1, timeout=3000)
    select_first_row(qtbot, window)
    section = window.details.update_section
    qtbot.waitUntil(lambda: section.isVisible() and section.ignore_button.height() > 0, timeout=3000)

    with qtbot.waitSignal(window.job_ended, timeout=15000):
        qtbot.mouseClick(section.download_button, Qt.MouseButton.LeftButton)

    new_file = populated.root_dir / NEWEST_FILE
    assert new_file.read_bytes() == remote.extra["newest"]
    assert (populated.root_dir / "pixelArtStyle.safetensors").exists(), "the old file stays"
    qtbot.waitUntil(lambda: window.model.rowCount() == 0, timeout=3000)  # no update left to filter
    assert not section.isVisible()
    downloaded = populated.library.get_by_path(new_file)
    assert downloaded is not None
    assert populated.library.remote_links(downloaded.id)[0].version_id == str(NEWEST_ID)


def test_the_daily_check_is_a_setting(qtbot: QtBot, populated: PopulatedLibrary) -> None:
    settings = FakeSettings(check_updates_daily=True)
    dialog = SettingsDialog(settings, populated.library.roots())
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    box = dialog.check_updates_daily
    assert box.isChecked()

    qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(8, box.height() // 2))
    dialog.accept()

    assert settings.check_updates_daily is False
    assert settings.saves == 1


def test_the_daily_check_offline_is_one_calm_note_while_the_menu_check_reports_it(
    qtbot: QtBot, window: MainWindow, remote: RemoteEnv
) -> None:
    remote.settings.civitai_base_url = closed_loopback_url()
    remote.settings.check_updates_daily = True
    actions = window.update_actions  # type: ignore[attr-defined]

    with qtbot.waitSignal(window.job_ended, timeout=10000, check_params_cb=lambda t: t == "Update check"):
        actions.check_if_due()

    assert window.status.job_label.text() == (
        "Update check: Civitai not reachable: updates will be checked next time"
    )
    assert window.status.flashed() == ""
    assert actions.service.last_check() is None  # nothing recorded: the next start asks again

    check_for_updates(qtbot, window)

    assert window.status.job_label.text().startswith("Update check failed: Cannot reach 127.0.0.1")


def test_a_sibling_version_for_another_base_model_is_no_update(
    qtbot: QtBot, window: MainWindow, populated: PopulatedLibrary, remote: RemoteEnv
) -> None:
    """pixelArtStyle is linked to v1-128dim, Civitai's SDXL Turbo version: the newer v1-64dim (SDXL 1.0)
    and v1-16dim (SD 1.5) are siblings for other bases, so no badge, no filter hit, no "Update available";
    a newer SDXL Turbo version is the update, and the card says which."""
    pixel = populated.ids["pixelArtStyle"]
    populated.library.record_remote_match(
        pixel,
        RemoteMatch(
            site="civitai",
            model_id=str(LORA_MODEL_ID),
            version_id=str(LORA_VERSION_ID),
            model_name="SDXL Turbo LoRA",
            version_name="v1-128dim",
            base_model_label="SDXL Turbo",
        ),
    )
    check_for_updates(qtbot, window)
    assert window.status.job_label.text().endswith("0 files with a newer version.")
    assert not window.model.has_update(pixel)
    qtbot.mouseClick(window.filter_bar.updates, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.model.rowCount() == 0, timeout=3000)
    qtbot.mouseClick(window.filter_bar.updates, Qt.MouseButton.LeftButton)

    state = remote.civitai.state
    model = state.models[LORA_MODEL_ID]
    turbo = next(v for v in model["modelVersions"] if v["id"] == LORA_VERSION_ID)
    newer = {**turbo, "id": 250001, "name": "v2-128dim", "publishedAt": "2024-03-01T10:00:00.000Z"}
    model["modelVersions"] = [newer, *model["modelVersions"]]
    state.add_model(model)
    check_for_updates(qtbot, window)

    qtbot.mouseClick(window.filter_bar.updates, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.model.rowCount() == 1, timeout=3000)
    assert window.model.asset_id(0) == pixel
    select_first_row(qtbot, window)
    section = window.details.update_section
    qtbot.waitUntil(lambda: section.isVisible() and section.ignore_button.height() > 0, timeout=3000)
    assert "v2-128dim" in section.version.text()
    assert "SDXL Turbo" in section.version.text()
    assert section.current.text() == "You have v1-128dim of SDXL Turbo LoRA."  # not "3 newer versions"
