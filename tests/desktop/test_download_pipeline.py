"""One download pipeline: the same Civitai file downloaded through the window's adapter (a real Qt event
loop) and through the CLI lands identically in two profiles: the same place in the library folder, the
same hashes, the same Civitai links, the same catalog row. And a download killed mid-way by a crash
shows as interrupted with its bytes on disk when the window opens, then continues by itself, while one
the user stopped with Ctrl+C stays paused until Resume."""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QItemSelectionModel, Qt
from pytestqt.qtbot import QtBot

from app.cli import main as cli_main
from app.context import AppContext
from app.secrets import TokenStore
from app.serialize import asset_to_json
from core.downloads import DownloadStatus
from core.sizes import human_size
from desktop.download_manager import DownloadManager
from desktop.models.downloads_model import DownloadColumn
from desktop.tabs.downloads_tab import DownloadsTab
from tests.app.download_sites import FILE_PATH, VERSION_ID, Sites, kill_mid_download, loopback_sites
from tests.app.download_stops import stop_mid_download
from tests.fakes.file_server import Fault

TIMEOUT = 15_000
# What differs between two profiles by construction: ids, the absolute place and the clock.
VOLATILE = {
    *("id", "path", "root_id", "asset_id", "inode", "mtime_ns"),
    *("added_at", "updated_at", "scanned_at", "fetched_at"),
}


@pytest.fixture
def sites(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sites]:
    with loopback_sites(tmp_path) as made:
        for name, value in made.env.items():
            monkeypatch.setenv(name, value)
        yield made


def _a1111(folder: Path) -> Path:
    (folder / "models" / "Stable-diffusion").mkdir(parents=True)
    (folder / "webui.py").write_text("")
    return folder


def _row(context: AppContext, path: Path) -> dict[str, Any]:
    asset = context.library.get_by_path(path)
    assert asset is not None, f"{path} is not in the library"
    links = [
        {k: v for k, v in link.items() if k not in VOLATILE}
        for link in asset_to_json(asset, links=list(context.library.remote_links(asset.id)))["remote_links"]
    ]
    row = {k: v for k, v in asset_to_json(asset).items() if k not in VOLATILE}
    return {**row, "remote_links": links}


def _strip_ids(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_ids(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_strip_ids(v) for v in value]
    return value


def test_window_and_cli_downloads_land_identically(sites: Sites, tmp_path: Path, qtbot: QtBot) -> None:
    cli_root = _a1111(tmp_path / "cli-webui")
    cli_dir = tmp_path / "cli-profile"
    assert cli_main(["scan", str(cli_root), "--data-dir", str(cli_dir)]) == 0
    assert cli_main(["download", f"civitai:{VERSION_ID}", "--data-dir", str(cli_dir)]) == 0

    gui_root = _a1111(tmp_path / "gui-webui")
    gui = AppContext(tmp_path / "gui-profile", tokens=TokenStore(tmp_path / "gui-profile", use_keyring=False))
    gui.add_root(gui_root)
    manager = DownloadManager(gui.downloads, lambda: 2)
    try:
        manager.start()
        with qtbot.waitSignal(manager.completed, timeout=TIMEOUT) as completed:
            assert manager.enqueue_target(f"https://civitai.com/models/910001?modelVersionId={VERSION_ID}")
        assert completed.args is not None
        gui_path = Path(completed.args[1])
        cli = AppContext(cli_dir)
        try:
            cli_path = cli_root / gui_path.relative_to(gui_root)
            assert gui_path.relative_to(gui_root) == Path("models/Lora/pixel_art.safetensors")
            assert cli_path.read_bytes() == gui_path.read_bytes() == sites.lora
            gui_row, cli_row = _row(gui, gui_path), _row(cli, cli_path)
            assert gui_row["hashes"] is not None, "the downloaded file is hashed at once"
            assert gui_row["hashes"]["blake3"]
            assert (gui_row["kind"], gui_row["architecture"]) == ("lora", "sd1")
            link = gui_row["remote_links"][0]
            ids = (link["site"], link["model_id"], link["version_id"])
            assert ids == ("civitai", "910001", str(VERSION_ID))
            assert _strip_ids(gui_row) == _strip_ids(cli_row)
        finally:
            cli.close()
    finally:
        manager.shutdown()
        gui.close()
    lookups = [p for method, p, _ in sites.civitai.requests if method == "POST"]
    assert lookups == [], "a downloaded file needs no hash lookup, in either front end"


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_a_download_killed_mid_way_shows_interrupted_and_continues_when_the_window_opens(
    tmp_path: Path, qtbot: QtBot
) -> None:
    with loopback_sites(tmp_path, rank=64) as sites:
        data_dir = tmp_path / "profile"
        context = AppContext(data_dir, tokens=TokenStore(data_dir, use_keyring=False))
        context.add_root(sites.root)
        context.close()
        part = kill_mid_download(sites, data_dir, at_least=4096)  # a few blocks in: mid-way
        kept = part.stat().st_size

        context = AppContext(data_dir, tokens=TokenStore(data_dir, use_keyring=False))
        manager = DownloadManager(context.downloads, lambda: 2)
        tab = DownloadsTab(manager)
        qtbot.addWidget(tab)
        try:
            with qtbot.waitSignal(manager.completed, timeout=TIMEOUT) as completed:
                manager.start()
                # Before the event loop turns: the row as the user first sees it.
                row = tab.model.row_of(manager.records()[0].id)
                assert row is not None
                assert tab.model.index(row, DownloadColumn.STATUS).data() == "Interrupted"
                assert (
                    tab.model.index(row, DownloadColumn.PROGRESS).data().startswith(f"{human_size(kept)} /")
                )
                tooltip = tab.model.index(row, DownloadColumn.NAME).data(Qt.ItemDataRole.ToolTipRole)
                assert "continues by itself" in tooltip
                assert tab.summary.text() == "1 active"
            assert completed.args is not None
            final = Path(completed.args[1])
            assert final.read_bytes() == sites.lora
            assert not part.exists()
            assert tab.model.index(row, DownloadColumn.STATUS).data() == "Completed"
            asset = context.library.get_by_path(final)
            assert asset is not None
            assert asset.hashes is not None
        finally:
            manager.shutdown()
            context.close()


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child")
def test_a_download_stopped_with_ctrl_c_stays_paused_when_the_window_opens_until_resume(
    tmp_path: Path, qtbot: QtBot
) -> None:
    with loopback_sites(tmp_path, rank=64) as sites:
        data_dir = tmp_path / "profile"
        context = AppContext(data_dir, tokens=TokenStore(data_dir, use_keyring=False))
        context.add_root(sites.root)
        context.close()
        part, _ = stop_mid_download(sites, signal.SIGINT, at_least=4096)
        kept = part.stat().st_size
        sent_before = sites.file_state.sent[FILE_PATH]
        del sites.file_state.faults[FILE_PATH]  # a fast host: a wrong restart would show at once

        context = AppContext(data_dir, tokens=TokenStore(data_dir, use_keyring=False))
        manager = DownloadManager(context.downloads, lambda: 2)
        tab = DownloadsTab(manager)
        qtbot.addWidget(tab)
        try:
            manager.start()
            (record,) = manager.records()
            qtbot.wait(500)  # the event loop turns: nothing starts by itself
            assert not manager.is_running(record.id)
            assert sites.file_state.sent[FILE_PATH] == sent_before
            assert part.stat().st_size == kept
            row = tab.model.row_of(record.id)
            assert row is not None
            assert tab.model.index(row, DownloadColumn.STATUS).data() == "Paused"
            assert tab.model.index(row, DownloadColumn.PROGRESS).data().startswith(f"{human_size(kept)} /")
            tooltip = tab.model.index(row, DownloadColumn.NAME).data(Qt.ItemDataRole.ToolTipRole)
            assert "Stopped by you" in tooltip
            assert tab.summary.text() != "1 active"

            # The row selected as a click selects it. Not selectRow(): with the table's extended
            # selection it reads the application's keyboard modifiers, which an earlier test's
            # synthetic Ctrl key events in the same worker can leave set (it then toggled the row off).
            flags = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
            tab.table.selectionModel().select(tab.model.index(row, 0), flags)
            qtbot.waitUntil(tab.resume_button.isEnabled, timeout=5000)
            with qtbot.waitSignal(manager.completed, timeout=TIMEOUT) as completed:
                qtbot.mouseClick(tab.resume_button, Qt.MouseButton.LeftButton)
            assert completed.args is not None
            assert Path(completed.args[1]).read_bytes() == sites.lora
            assert sites.file_state.sent[FILE_PATH] - sent_before == len(sites.lora) - kept
        finally:
            manager.shutdown()
            context.close()


def test_a_download_paused_just_before_the_window_closes_stays_paused(
    sites: Sites, tmp_path: Path, qtbot: QtBot
) -> None:
    sites.file_state.faults[FILE_PATH] = Fault(trickle=(512, 0.05))
    data_dir = tmp_path / "window-profile"
    context = AppContext(data_dir, tokens=TokenStore(data_dir, use_keyring=False))
    context.add_root(sites.root)
    manager = DownloadManager(context.downloads, lambda: 2)
    try:
        manager.start()
        with qtbot.waitSignal(manager.progressed, timeout=TIMEOUT) as progressed:
            assert manager.enqueue_target(f"civitai:{VERSION_ID}")
        assert progressed.args is not None
        download_id = progressed.args[0]
        manager.pause(download_id)  # Pause, then close the window before the job has ended
        assert manager.shutdown()
        assert context.downloads.get(download_id).status is DownloadStatus.PAUSED
    finally:
        manager.shutdown()
        context.close()


def test_a_completed_download_the_library_never_got_is_added_when_the_window_opens(
    sites: Sites, tmp_path: Path, qtbot: QtBot
) -> None:
    """The app stopped between the file's rename and its library entry: the next start adds the file
    with its Civitai link, without fetching it again or making a second copy."""
    data_dir = tmp_path / "profile"
    context = AppContext(data_dir, tokens=TokenStore(data_dir, use_keyring=False))
    context.add_root(sites.root)
    service = context.downloads
    queued = service.enqueue(service.parse_target(f"civitai:{VERSION_ID}"))
    path = service.downloader.run_one(queued.download_id)  # the engine alone: complete, not cataloged
    context.close()
    sent_before = sites.file_state.sent[FILE_PATH]

    context = AppContext(data_dir, tokens=TokenStore(data_dir, use_keyring=False))
    manager = DownloadManager(context.downloads, lambda: 2)
    try:
        assert context.library.get_by_path(path) is None
        manager.start()

        def linked() -> bool:  # the last step of bringing it in: its page's link
            asset = context.library.get_by_path(path)
            return asset is not None and bool(list(context.library.remote_links(asset.id)))

        qtbot.waitUntil(linked, timeout=TIMEOUT)
        asset = context.library.get_by_path(path)
        assert asset is not None
        assert asset.hashes is not None
        assert [link.version_id for link in context.library.remote_links(asset.id)] == [str(VERSION_ID)]
        assert sites.file_state.sent[FILE_PATH] == sent_before, "nothing fetched again"
        assert sorted(p.name for p in path.parent.iterdir()) == [path.name]
    finally:
        manager.shutdown()
        context.close()


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_a_download_whose_command_was_killed_while_the_window_was_open_is_continued_when_asked_again(
    tmp_path: Path, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The window opened first; a ``download`` command was killed mid-way, leaving its row "running"
    with no process behind it. Asking the window for the same file continues it (it sat at
    "Downloading 36%" with nothing fetched until Cancel and Retry)."""
    with loopback_sites(tmp_path, rank=64) as sites:
        for name, value in sites.env.items():
            monkeypatch.setenv(name, value)
        data_dir = Path(sites.env["ATELIER_DATA_DIR"])
        context = AppContext(data_dir, tokens=TokenStore(data_dir, use_keyring=False))
        context.add_root(sites.root)
        manager = DownloadManager(context.downloads, lambda: 2)
        try:
            manager.start()
            part = kill_mid_download(sites, data_dir, at_least=4096)  # a few blocks in: mid-way
            (record,) = context.downloads.list()
            assert record.status is DownloadStatus.RUNNING  # as the killed command left it
            kept = part.stat().st_size
            sent_before = sites.file_state.sent[FILE_PATH]

            with qtbot.waitSignal(manager.completed, timeout=TIMEOUT) as completed:
                assert manager.enqueue_target(f"civitai:{VERSION_ID}")
            assert completed.args is not None
            assert completed.args[0].id == record.id, "the same download, continued"
            assert Path(completed.args[1]).read_bytes() == sites.lora
            assert sites.file_state.sent[FILE_PATH] - sent_before == len(sites.lora) - kept
        finally:
            manager.shutdown()
            context.close()
