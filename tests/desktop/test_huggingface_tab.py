"""The Hugging Face tab's states in the real window, against the loopback Hub (and a dead port)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator, Sequence

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from catalog.scanner import Scanner
from core.jobs import CancelToken, ProgressCallback
from desktop.main_window import MainWindow
from desktop.tabs.huggingface_tab import HuggingFaceTab
from tests.desktop.conftest import ServicesFactory
from tests.desktop.remote_support import HF_LORA_REPO, RemoteEnv

TIMEOUT = 10_000


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
