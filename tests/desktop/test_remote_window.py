"""The main window's remote tabs end to end: download from Civitai and Hugging Face into the library
folder of the file's kind, the Downloads tab's progress and cancel, and the window's tab bar."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDialog
from pytestqt.qtbot import QtBot

from core.downloads import DownloadRecord, DownloadRequest, DownloadSource, DownloadStatus
from core.jobs import CancelToken, ProgressCallback
from core.taxonomy import LibraryLayout
from desktop import status_bar
from desktop.main_window import MainWindow
from desktop.models.civitai_results_model import CivitaiRole
from desktop.models.downloads_model import PROGRESS_ROLE, DownloadColumn, DownloadsModel
from desktop.models.hf_files_model import HfColumn, HfFileRow, HfFilesModel
from desktop.models.hf_results_model import HfResultsModel
from desktop.tabs.downloads_tab import ERROR_STYLE
from tests.desktop.conftest import ServicesFactory
from tests.desktop.remote_support import LORA_MODEL_ID, LORA_VERSION_ID, RemoteEnv, scanning_services
from tests.fakes.file_server import Fault

TIMEOUT = 15_000


@pytest.fixture
def window(remote: RemoteEnv, make_services: ServicesFactory, qtbot: QtBot) -> Iterator[MainWindow]:
    services = scanning_services(remote, make_services)
    main = MainWindow(services)
    qtbot.addWidget(main)
    yield main
    main.close()


def _wait_added(window: MainWindow, qtbot: QtBot, name: str) -> None:
    qtbot.waitUntil(
        lambda: window.current_job is None and window.library.get_by_path(name) is not None, timeout=TIMEOUT
    )


def test_tab_bar(window: MainWindow) -> None:
    assert window.tabs is not None
    assert [window.tabs.tabText(i) for i in range(window.tabs.count())] == [
        "Library",
        "Civitai",
        "Hugging Face",
        "Downloads",
    ]


def test_civitai_download_lands_in_the_lora_folder_and_is_identified(
    window: MainWindow, remote: RemoteEnv, qtbot: QtBot
) -> None:
    assert window.civitai_tab is not None
    assert window.downloads is not None
    assert window.tabs is not None
    page = window.civitai_tab.page
    with qtbot.waitSignal(page.loaded, timeout=TIMEOUT):
        page.show_model(LORA_MODEL_ID)
    with qtbot.waitSignal(window.downloads.completed, timeout=TIMEOUT) as completed:
        page.files.cellWidget(0, 5).click()
        assert window.tabs.tabText(3) == "Downloads (1)"
    target = Path(remote.a1111_root.path) / "models" / "Lora" / "sd_xl_turbo_lora_v1.safetensors"
    assert completed.args is not None
    assert Path(completed.args[1]) == target
    assert target.read_bytes() == remote.lora
    _wait_added(window, qtbot, str(target))
    asset = window.library.get_by_path(target)
    assert asset is not None
    links = window.library.remote_links(asset.id)
    assert [(link.site, link.version_id) for link in links] == [("civitai", str(LORA_VERSION_ID))]
    assert window.tabs.tabText(3) == "Downloads"
    row = window.downloads_tab.model.row_of(completed.args[0].id)  # type: ignore[union-attr]
    assert row is not None
    model = window.downloads_tab.model  # type: ignore[union-attr]
    assert model.index(row, DownloadColumn.STATUS).data() == "Completed"
    assert model.index(row, DownloadColumn.PROGRESS).data(PROGRESS_ROLE) == 100


def test_downloads_tab_shows_progress_and_cancels(
    window: MainWindow, remote: RemoteEnv, qtbot: QtBot
) -> None:
    assert window.downloads is not None
    assert window.downloads_tab is not None
    data = b"x" * (512 * 1024)
    remote.file_state.add("/slow.bin", data, Fault(trickle=(8 * 1024, 0.02)))
    target = Path(remote.a1111_root.path) / "models" / "Stable-diffusion"
    download_id = window.downloads.enqueue(
        DownloadRequest(
            url=remote.files.base_url + "/slow.bin",
            target_dir=target,
            source=DownloadSource.URL,
            expected_size=len(data),
            file_name="slow.bin",
        )
    )
    tab = window.downloads_tab
    row = tab.model.row_of(download_id)
    assert row is not None
    qtbot.waitUntil(lambda: 0 < tab.model.index(row, 0).data(PROGRESS_ROLE) < 100, timeout=TIMEOUT)
    assert tab.model.index(row, DownloadColumn.SPEED).data().endswith(("KiB/s", "MiB/s"))
    tab.table.selectionModel().select(
        tab.model.index(row, 0),
        QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows,
    )
    assert tab.pause_button.isEnabled()
    assert tab.cancel_button.isEnabled()
    tab.cancel_button.click()
    qtbot.waitUntil(lambda: not window.downloads.is_running(download_id), timeout=TIMEOUT)  # type: ignore[union-attr]
    record = remote.store.get(download_id)
    assert record is not None
    assert record.status is DownloadStatus.CANCELLED
    assert not (target / "slow.bin.part").exists()
    assert not (target / "slow.bin").exists()
    assert tab.model.index(row, DownloadColumn.STATUS).data() == "Cancelled"
    assert tab.retry_button.isEnabled()


def test_failed_download_shows_the_error(window: MainWindow, remote: RemoteEnv, qtbot: QtBot) -> None:
    assert window.downloads is not None
    assert window.downloads_tab is not None
    remote.file_state.add("/gone.bin", b"", Fault(status=404, json_body={"error": "Model not found"}))
    download_id = window.downloads.enqueue(
        DownloadRequest(url=remote.files.base_url + "/gone.bin", target_dir=Path(remote.a1111_root.path))
    )
    with qtbot.waitSignal(window.downloads.failed, timeout=TIMEOUT):
        pass
    qtbot.waitUntil(lambda: not window.downloads.is_running(download_id), timeout=TIMEOUT)  # type: ignore[union-attr]
    model = window.downloads_tab.model
    row = model.row_of(download_id)
    assert model.index(row, DownloadColumn.STATUS).data() == "Failed"
    error = model.index(row, DownloadColumn.ERROR).data()
    assert "not found" in error
    assert error in model.index(row, DownloadColumn.NAME).data(Qt.ItemDataRole.ToolTipRole)


def test_huggingface_search_file_tree_and_download(
    window: MainWindow, remote: RemoteEnv, qtbot: QtBot
) -> None:
    tab = window.huggingface_tab
    assert tab is not None
    tab.tags.setText("lora")
    tab.sort.setCurrentText("Most liked")  # sends sort=likes
    with qtbot.waitSignal(tab.results_loaded, timeout=TIMEOUT):
        tab.search()
    assert tab.results_model.rowCount() == 1
    assert tab.results_model.index(0).data().startswith("someone/pixel-lora")
    listing = next(p for _, p, _ in remote.hub.requests if p.startswith("/api/models?"))
    assert "filter=lora" in listing
    assert "sort=likes" in listing
    with qtbot.waitSignal(tab.repository_loaded, timeout=TIMEOUT):
        tab.results.setCurrentIndex(tab.results_model.index(0))
    paths = [tab.files_model.index(r, HfColumn.PATH).data() for r in range(tab.files_model.rowCount())]
    assert sorted(paths) == ["README.md", "pixel_lora.safetensors"]
    weight_row = paths.index("pixel_lora.safetensors")
    assert len(tab.files_model.index(weight_row, HfColumn.SHA256).data()) == 12
    assert tab.files_model.index(weight_row, HfColumn.IN_LIBRARY).data() == ""
    button = tab.files.indexWidget(tab.files_model.index(weight_row, HfColumn.DOWNLOAD))
    assert button is not None
    assert tab.files.indexWidget(tab.files_model.index(paths.index("README.md"), HfColumn.DOWNLOAD)) is None
    assert window.downloads is not None
    with qtbot.waitSignal(window.downloads.completed, timeout=TIMEOUT) as completed:
        button.click()
    target = Path(remote.a1111_root.path) / "models" / "Lora" / "pixel_lora.safetensors"
    assert completed.args is not None
    assert Path(completed.args[1]) == target
    _wait_added(window, qtbot, str(target))
    asset = window.library.get_by_path(target)
    assert asset is not None
    links = window.library.remote_links(asset.id)
    assert [(link.site, link.model_id) for link in links] == [("huggingface", "someone/pixel-lora")]


def test_download_models_pass_the_model_tester(qtmodeltester: object, remote: RemoteEnv) -> None:
    downloads = DownloadsModel()
    downloads.set_records(
        [
            DownloadRecord(
                1, "http://x/a", DownloadSource.URL, Path("/tmp"), DownloadStatus.RUNNING, total=10
            ),
            DownloadRecord(
                2, "http://x/b", DownloadSource.URL, Path("/tmp"), DownloadStatus.FAILED, error="boom"
            ),
        ]
    )
    qtmodeltester.check(downloads)  # type: ignore[attr-defined]
    hf_results = HfResultsModel()
    hf_results.set_results(remote.remote.huggingface().search_models(limit=5))
    qtmodeltester.check(hf_results)  # type: ignore[attr-defined]
    files = HfFilesModel()
    detail = remote.remote.huggingface().model_info("someone/pixel-lora")
    files.set_rows([HfFileRow(f, i == 0) for i, f in enumerate(detail.files)])
    qtmodeltester.check(files)  # type: ignore[attr-defined]


def test_site_tabs_are_built_right_after_the_window_is_drawn(
    remote: RemoteEnv, make_services: ServicesFactory, qtbot: QtBot
) -> None:
    services = make_services(remote.library, settings=remote.settings, remote=remote.remote)
    main = MainWindow(services, load_later=True)
    qtbot.addWidget(main)
    assert main.civitai_tab is None, "the site tabs are not built before the first paint"
    main.show()
    qtbot.waitUntil(lambda: main.civitai_tab is not None and main.tabs is not None, timeout=TIMEOUT)
    assert main.tabs is not None
    assert [main.tabs.tabText(i) for i in range(main.tabs.count())][:3] == [
        "Library",
        "Civitai",
        "Hugging Face",
    ]
    main.close()


def test_downloads_tab_takes_a_pasted_link_into_the_chosen_folder(
    window: MainWindow, remote: RemoteEnv, qtbot: QtBot, tmp_path: Path
) -> None:
    tab = window.downloads_tab
    assert tab is not None
    assert window.downloads is not None
    assert tab.queue_view.currentWidget() is tab.empty_label
    assert "Paste a Civitai or Hugging Face link above" in tab.empty_label.text()
    assert tab.root_combo.currentData() == remote.a1111_root.path, "the download folder of the settings"
    assert "set in Settings › Sites" in tab.root_hint.text()

    QTest.keyClicks(tab.target_field, "civitai.com/models/oops")
    QTest.mouseClick(tab.download_button, Qt.MouseButton.LeftButton)
    assert "expected civitai:" in tab.feedback.text()
    assert "\n" not in tab.feedback.text()
    assert not [w for w in QApplication.topLevelWidgets() if isinstance(w, QDialog) and w.isVisible()]

    tab.target_field.clear()
    url = f"https://civitai.com/models/{LORA_MODEL_ID}/turbo?modelVersionId={LORA_VERSION_ID}"
    QTest.keyClicks(tab.target_field, url)
    with qtbot.waitSignal(window.downloads.completed, timeout=TIMEOUT) as completed:
        QTest.keyClick(tab.target_field, Qt.Key.Key_Return)
    assert completed.args is not None
    lora_folder = Path(remote.a1111_root.path) / "models" / "Lora"
    assert Path(completed.args[1]) == lora_folder / "sd_xl_turbo_lora_v1.safetensors"
    # Said while it runs; once done, the line says where the file is (it no longer says "Downloading").
    qtbot.waitUntil(
        lambda: tab.feedback.text() == f"Downloaded sd_xl_turbo_lora_v1.safetensors into {lora_folder}",
        timeout=TIMEOUT,
    )
    assert tab.target_field.text() == ""
    assert tab.queue_view.currentWidget() is tab.table

    comfy = tmp_path / "comfy"
    (comfy / "models" / "loras").mkdir(parents=True)
    window.library.add_root(comfy, LibraryLayout.COMFYUI)
    tab.refresh_roots()
    tab.root_combo.setCurrentIndex(tab.root_combo.findData(str(comfy)))
    assert "chosen above" in tab.root_hint.text()
    # The Hub file has the same bytes: gone from disk, the library no longer has it, so it downloads.
    (lora_folder / "sd_xl_turbo_lora_v1.safetensors").unlink()
    QTest.keyClicks(tab.target_field, "hf:someone/pixel-lora/pixel_lora.safetensors")
    with qtbot.waitSignal(window.downloads.completed, timeout=TIMEOUT) as completed:
        QTest.mouseClick(tab.download_button, Qt.MouseButton.LeftButton)
    assert completed.args is not None
    assert Path(completed.args[1]) == comfy / "models" / "loras" / "pixel_lora.safetensors"
    asset = window.library.get_by_path(completed.args[1])
    assert asset is not None
    assert window.model.row_of(asset.id) is not None, "the library rows were refreshed"


def test_a_pasted_link_to_a_missing_file_says_so_under_the_field(window: MainWindow, qtbot: QtBot) -> None:
    tab = window.downloads_tab
    assert tab is not None
    QTest.keyClicks(tab.target_field, "civitai:999999999")
    QTest.mouseClick(tab.download_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(tab.download_button.isEnabled, timeout=TIMEOUT)
    assert "Civitai does not have model version 999999999" in tab.feedback.text()
    assert tab.feedback.styleSheet() == ERROR_STYLE
    assert tab.model.rowCount() == 0


def test_a_file_already_in_the_library_is_not_downloaded_twice(
    window: MainWindow, remote: RemoteEnv, qtbot: QtBot
) -> None:
    """After one download, the model page, the Hugging Face files and the paste field all say the file
    is in the library, and nothing downloads a second copy."""
    assert window.civitai_tab is not None
    assert window.huggingface_tab is not None
    assert window.downloads is not None
    assert window.downloads_tab is not None
    page = window.civitai_tab.page
    with qtbot.waitSignal(page.loaded, timeout=TIMEOUT):
        page.show_model(LORA_MODEL_ID)
    with qtbot.waitSignal(window.downloads.completed, timeout=TIMEOUT) as completed:
        page.files.cellWidget(0, 5).click()
    assert completed.args is not None
    owned = Path(completed.args[1])
    _wait_added(window, qtbot, str(owned))
    asset = window.library.get_by_path(owned)
    assert asset is not None

    with qtbot.waitSignal(page.loaded, timeout=TIMEOUT):
        page.show_model(LORA_MODEL_ID)
    button = page.files.cellWidget(0, 5)
    assert (button.text(), button.isEnabled()) == ("In library", False)
    assert button.toolTip() == f"Already in the library: {owned}"

    hf = window.huggingface_tab
    with qtbot.waitSignal(hf.repository_loaded, timeout=TIMEOUT):
        hf.open_repository("someone/pixel-lora")
    paths = [hf.files_model.index(r, HfColumn.PATH).data() for r in range(hf.files_model.rowCount())]
    hf_button = hf.files.indexWidget(
        hf.files_model.index(paths.index("pixel_lora.safetensors"), HfColumn.DOWNLOAD)
    )
    assert (hf_button.text(), hf_button.isEnabled()) == ("In library", False)
    assert str(owned) in hf_button.toolTip()

    tab = window.downloads_tab
    url = f"{remote.hub.base_url}/someone/pixel-lora/blob/main/pixel_lora.safetensors"
    QTest.keyClicks(tab.target_field, url)
    QTest.mouseClick(tab.download_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(tab.download_button.isEnabled, timeout=TIMEOUT)
    assert tab.feedback.text() == f"Already in the library: {owned} (#{asset.id})"
    assert tab.feedback.styleSheet() != ERROR_STYLE
    assert len(window.downloads.records()) == 1
    assert sorted(p.name for p in owned.parent.iterdir()) == [owned.name]


def test_a_new_download_folder_in_the_settings_applies_at_once(
    window: MainWindow, remote: RemoteEnv, tmp_path: Path
) -> None:
    tab = window.downloads_tab
    assert tab is not None
    other = tmp_path / "other-root"
    other.mkdir()
    window.library.add_root(other, LibraryLayout.FLAT)
    tab.refresh_roots()
    assert tab.root_combo.currentData() == remote.a1111_root.path

    remote.settings.download_root = str(other)
    window.apply_settings()

    assert tab.root_combo.currentData() == str(other)
    assert "set in Settings › Sites" in tab.root_hint.text()
    assert tab.root_combo.itemText(tab.root_combo.count() - 1) == "Choose folder…"


def test_the_civitai_results_follow_files_the_library_gains_by_scan_and_hashing(
    remote: RemoteEnv, make_services: ServicesFactory, qtbot: QtBot
) -> None:
    """A result tile's "In library" follows the library, not only downloads: the file copied into the
    library folder by hand is badged once F5's scan and Ctrl+Shift+H's hashing have ended."""
    from catalog.hashing_job import hash_pending

    def hashing(progress: ProgressCallback, cancel: CancelToken) -> object:
        return hash_pending(remote.library, workers=1, progress=progress, cancel=cancel)

    services = scanning_services(remote, make_services, hash_pending=hashing)
    window = MainWindow(services)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    tab = window.civitai_tab
    assert tab is not None
    with qtbot.waitSignal(tab.model.page_loaded, timeout=TIMEOUT):
        tab.search()
    tile = next(
        tab.model.index(row)
        for row in range(tab.model.rowCount())
        if tab.model.index(row).data(CivitaiRole.MODEL).id == LORA_MODEL_ID
    )
    assert tile.data(CivitaiRole.IN_LIBRARY) is False

    copied = Path(remote.a1111_root.path) / "models" / "Lora" / "copied_by_hand.safetensors"
    copied.write_bytes(remote.lora)
    with qtbot.waitSignal(window.job_ended, timeout=TIMEOUT):
        QTest.keyClick(window, Qt.Key.Key_F5)
    qtbot.waitUntil(lambda: window.current_job is None, timeout=TIMEOUT)
    QTest.keyClick(
        window, Qt.Key.Key_H, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    )
    qtbot.waitUntil(lambda: tile.data(CivitaiRole.IN_LIBRARY) is True, timeout=TIMEOUT)
    window.close()


def test_a_download_that_lands_refreshes_the_civitai_marks_once_not_again_after_the_watchers_rescan(
    window: MainWindow, remote: RemoteEnv, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The tab marks a landed download at once; the rescan the file watcher starts for it finds the file
    in place already (the service brought it in) and asks the library nothing more for the tab, though
    it sees the library's corrupt and unsafe files again."""
    tab = window.civitai_tab
    assert tab is not None
    assert window.downloads is not None
    with qtbot.waitSignal(window.job_ended, timeout=TIMEOUT):
        window.rescan()  # the catalog as the scan finds it: two of the fixture's files read afresh
    refreshes: list[None] = []
    refresh = tab.refresh_library_marks
    monkeypatch.setattr(tab, "refresh_library_marks", lambda: (refreshes.append(None), refresh())[1])
    with qtbot.waitSignal(tab.page.loaded, timeout=TIMEOUT):
        tab.page.show_model(LORA_MODEL_ID)
    with qtbot.waitSignal(window.downloads.completed, timeout=TIMEOUT) as completed:
        tab.page.files.cellWidget(0, 5).click()
    assert completed.args is not None
    _wait_added(window, qtbot, completed.args[1])
    assert len(refreshes) == 1

    with qtbot.waitSignal(window.job_ended, timeout=TIMEOUT):
        window.rescan(by_watcher=True)
    assert len(refreshes) == 1


def test_the_watchers_rescan_of_a_landed_download_says_nothing_after_added(
    window: MainWindow, remote: RemoteEnv, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The outside tester saw "Added … to the library" replaced within seconds by the watcher's rescan of
    the file already in place ("Scan: … 0 new, 5 unchanged"): with no recent line before it, a rescan that
    is no news said its outcome anyway. Now the line stays as it was: empty once the notice fades."""
    monkeypatch.setattr(status_bar, "FLASH_MS", 300)
    monkeypatch.setattr(status_bar, "OUTCOME_FOLLOW_UP_S", 0.2)
    tab = window.civitai_tab
    assert tab is not None
    assert window.downloads is not None
    with qtbot.waitSignal(window.job_ended, timeout=TIMEOUT):
        window.rescan()  # the catalog as the scan finds it: two of the fixture's files read afresh
    qtbot.wait(400)  # a while later, the user downloads
    with qtbot.waitSignal(tab.page.loaded, timeout=TIMEOUT):
        tab.page.show_model(LORA_MODEL_ID)
    with qtbot.waitSignal(window.downloads.completed, timeout=TIMEOUT) as completed:
        QTest.mouseClick(tab.page.files.cellWidget(0, 5), Qt.MouseButton.LeftButton)
    assert completed.args is not None
    _wait_added(window, qtbot, completed.args[1])
    assert window.status.flashed() == f"Added {Path(completed.args[1]).name} to the library"

    with qtbot.waitSignal(window.job_ended, timeout=TIMEOUT):
        window.rescan(by_watcher=True)  # what the watcher starts for the file that landed
    qtbot.waitUntil(lambda: window.status.flashed() == "", timeout=TIMEOUT)
    assert window.status.job_label.text() == ""
