"""The Hugging Face tab's states in the real window, against the loopback Hub (and a dead port)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton
from pytestqt.qtbot import QtBot

from catalog.scanner import Scanner
from core.jobs import CancelToken, ProgressCallback
from desktop.main_window import MainWindow
from desktop.models.hf_files_model import HfColumn
from desktop.tabs.huggingface_tab import HuggingFaceTab
from tests.desktop.conftest import ServicesFactory
from tests.desktop.remote_support import HF_LORA_REPO, RemoteEnv

TIMEOUT = 10_000
GATED_REPO = "someone/gated-lora"


@pytest.fixture
def window(remote: RemoteEnv, make_services: ServicesFactory, qtbot: QtBot) -> Iterator[MainWindow]:
    library = remote.library

    def scan(ids: Sequence[int] | None, progress: ProgressCallback, cancel: CancelToken) -> object:
        return Scanner(library, progress=progress, cancel=cancel).scan(ids)

    services = make_services(library, settings=remote.settings, scan_roots=scan, remote=remote.remote)
    main = MainWindow(services)
    qtbot.addWidget(main)
    yield main
    main.close()


@pytest.fixture
def tab(window: MainWindow) -> HuggingFaceTab:
    assert window.huggingface_tab is not None
    return window.huggingface_tab


def _open_first_result(window: MainWindow, tab: HuggingFaceTab, qtbot: QtBot, words: str) -> None:
    """As a user does: the Hugging Face tab, ``words`` typed and Return, a click on the first result."""
    window.resize(1400, 900)
    window.show()
    qtbot.waitExposed(window)
    assert window.tabs is not None
    window.tabs.setCurrentWidget(tab)
    tab.search_field.setText(words)
    with qtbot.waitSignal(tab.results_loaded, timeout=TIMEOUT):
        qtbot.keyClick(tab.search_field, Qt.Key.Key_Return)
    first = tab.results.visualRect(tab.results_model.index(0)).center()
    with qtbot.waitSignal(tab.repository_loaded, timeout=TIMEOUT):
        qtbot.mouseClick(tab.results.viewport(), Qt.MouseButton.LeftButton, pos=first)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_before_a_search_both_panes_say_what_to_do(tab: HuggingFaceTab) -> None:
    assert tab.results_stack.currentWidget() is tab.results_state
    assert tab.results_state.title.text() == "Search Hugging Face"
    assert "part of a repository name" in tab.results_state.body.text()
    assert tab.repo_state.title.text() == "No repository selected"


def test_sort_choices_are_words_and_the_hub_gets_its_keys(
    tab: HuggingFaceTab, remote: RemoteEnv, qtbot: QtBot
) -> None:
    labels = [tab.sort.itemText(i) for i in range(tab.sort.count())]
    assert labels == ["Most downloaded", "Most liked", "Trending", "Recently updated", "Newest"]
    tab.sort.setCurrentText("Recently updated")
    with qtbot.waitSignal(tab.results_loaded, timeout=TIMEOUT):
        qtbot.keyClick(tab.search_field, Qt.Key.Key_Return)
    listing = next(p for _, p, _ in remote.hub.requests if p.startswith("/api/models?"))
    assert "sort=lastModified" in listing  # huggingface_hub's spelling of the Hub's key
    assert tab.results_stack.currentWidget() is tab.results


def test_no_result_says_what_to_try(tab: HuggingFaceTab, qtbot: QtBot) -> None:
    tab.search_field.setText("no-such-repository")
    tab.tags.setText("lora")
    with qtbot.waitSignal(tab.results_loaded, timeout=TIMEOUT):
        tab.search()
    assert tab.results_stack.currentWidget() is tab.results_state
    assert tab.results_state.title.text() == "No repositories match “no-such-repository”"
    assert tab.results_state.body.text() == "Try again: remove a tag, or try part of the name only."


def test_a_refused_connection_shows_the_error_state_within_two_seconds(
    tab: HuggingFaceTab, remote: RemoteEnv, qtbot: QtBot
) -> None:
    port = _free_port()
    remote.settings.hf_endpoint = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    with qtbot.waitSignal(tab.results_model.failed, timeout=2000):
        tab.search()
    assert time.monotonic() - started < 2.0
    assert tab.results_state.title.text() == "Could not search Hugging Face"
    assert tab.results_state.body.text().startswith(
        f"Cannot reach 127.0.0.1:{port} — the connection was refused"
    )
    assert tab.results_state.button.text() == "Retry"
    remote.settings.hf_endpoint = remote.hub.base_url
    with qtbot.waitSignal(tab.results_loaded, timeout=TIMEOUT):
        qtbot.mouseClick(tab.results_state.button, Qt.MouseButton.LeftButton)
    assert tab.results_model.summary(0) is not None


def test_a_repository_that_cannot_be_opened_says_so_with_retry(
    tab: HuggingFaceTab, remote: RemoteEnv, qtbot: QtBot
) -> None:
    remote.settings.hf_endpoint = f"http://127.0.0.1:{_free_port()}"
    with qtbot.waitSignal(tab.message, timeout=2000):
        tab.open_repository(HF_LORA_REPO)
    assert tab.repo_stack.currentWidget() is tab.repo_state
    assert tab.repo_state.title.text() == f"Could not open {HF_LORA_REPO}"
    remote.settings.hf_endpoint = remote.hub.base_url
    with qtbot.waitSignal(tab.repository_loaded, timeout=TIMEOUT):
        qtbot.mouseClick(tab.repo_state.button, Qt.MouseButton.LeftButton)
    assert tab.repo_stack.currentIndex() == 1


def test_a_gated_file_without_a_token_says_so_on_its_button_and_downloads_once_a_token_is_set(
    window: MainWindow, tab: HuggingFaceTab, remote: RemoteEnv, qtbot: QtBot, tmp_path: Path
) -> None:
    """The button stays enabled: its tooltip and a click say the token is needed (nothing is queued, as
    the Hub would refuse the file); with the token in Settings the same button downloads it."""
    from tests.factory.models import kohya_lora, write_case

    lora = write_case(kohya_lora("sd1", rank=3), tmp_path / "gated").read_bytes()
    remote.hub.state.add(
        {"id": GATED_REPO, "sha": "e" * 40, "tags": ["lora"]},
        contents={"gated_lora.safetensors": lora},
        gated_token="hf_gated_token",
    )
    _open_first_result(window, tab, qtbot, "gated")
    assert tab.repo_note.text().endswith("No token is set yet.")
    button = tab.files.indexWidget(tab.files_model.index(0, HfColumn.DOWNLOAD))
    assert isinstance(button, QPushButton)
    needs = (
        f"{GATED_REPO} is gated: add a Hugging Face token with access in Settings › Sites (or set "
        "HF_TOKEN), then press Download again"
    )
    assert button.isEnabled()
    assert button.toolTip() == needs

    with qtbot.waitSignal(tab.message, timeout=TIMEOUT) as said:
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert said.args == [needs]
    assert remote.store.list() == []  # nothing queued to fail with a login error

    remote.remote.tokens.set("huggingface", "hf_gated_token")
    assert window.downloads is not None
    with qtbot.waitSignal(window.downloads.completed, timeout=TIMEOUT) as completed:
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert completed.args is not None
    assert Path(completed.args[1]).read_bytes() == lora


def test_the_open_repository_says_in_library_as_the_library_changes(
    window: MainWindow, tab: HuggingFaceTab, remote: RemoteEnv, qtbot: QtBot, tmp_path: Path
) -> None:
    """A file downloaded from the open repository says "In library" once it lands; deleted on disk and
    rescanned, it offers Download again, without the repository opened again (as the Civitai tab's)."""
    from tests.factory.models import kohya_lora, write_case

    lora = write_case(kohya_lora("sd1", rank=3), tmp_path / "plain").read_bytes()
    remote.hub.state.add(
        {"id": "someone/plain-lora", "sha": "d" * 40, "tags": ["lora"]},
        contents={"plain_lora.safetensors": lora},
    )
    _open_first_result(window, tab, qtbot, "plain")

    def button() -> QPushButton:
        widget = tab.files.indexWidget(tab.files_model.index(0, HfColumn.DOWNLOAD))
        assert isinstance(widget, QPushButton)
        return widget

    assert (button().text(), button().isEnabled()) == ("Download", True)
    assert window.downloads is not None
    with qtbot.waitSignal(window.downloads.completed, timeout=TIMEOUT) as completed:
        qtbot.mouseClick(button(), Qt.MouseButton.LeftButton)
    assert completed.args is not None
    landed = Path(completed.args[1])
    qtbot.waitUntil(lambda: (button().text(), button().isEnabled()) == ("In library", False), timeout=TIMEOUT)

    for companion in landed.parent.glob(landed.stem + ".*"):
        companion.unlink()
    window.rescan()  # what the watcher or F5 does: the job's end refreshes the marks
    qtbot.waitUntil(lambda: (button().text(), button().isEnabled()) == ("Download", True), timeout=TIMEOUT)
