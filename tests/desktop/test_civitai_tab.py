"""The Civitai tab against the loopback fake: search, paging on scroll, filters, covers, model page."""

from __future__ import annotations

import hashlib
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from PySide6.QtCore import QModelIndex, QPoint, QSize, Qt, QThreadPool
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtWidgets import QMenu, QToolButton
from pytestqt.qtbot import QtBot

from app.organize.engine import delete_assets
from core.taxonomy import FileStatus
from desktop.download_manager import DownloadManager
from desktop.models.civitai_results_model import CivitaiQuery, CivitaiResultsModel, CivitaiRole
from desktop.remote_images import RemoteImageCache, blur, load_remote_image
from desktop.tabs.civitai_tab import REFILTER_DELAY_MS, CivitaiTab
from desktop.widgets.civitai_model_page import IMAGE_ROLE
from tests.desktop.remote_support import CHARTURNER_ID, CHARTURNER_V1, LORA_MODEL_ID, ULZZANG_ID, RemoteEnv
from tests.fakes.civitai_api import CivitaiState
from tests.fakes.file_server import Fault
from tests.trash import own_trash

TIMEOUT = 10_000


@pytest.fixture
def tab(remote: RemoteEnv, qtbot: QtBot, tmp_path: Path) -> Iterator[CivitaiTab]:
    manager = DownloadManager(remote.remote.downloads(), lambda: 2)
    # The images load on a pool of their own: the fetches keep the site's politeness interval (a
    # quarter of a second per image and host), so a page's example images still queued when the test
    # ends would hold its teardown for seconds; they are dropped, and only the running one waited for.
    # One thread: the images all come from one host, whose interval lets one fetch through at a time
    # anyway; a second thread would only be one more fetch asleep in it at teardown.
    pool = QThreadPool()
    pool.setMaxThreadCount(1)
    images = RemoteImageCache(
        remote.remote.fetch_image,
        tmp_path / "cache" / "remote",
        QSize(180, 240),
        max_level=lambda: 1,
        pool=pool,
    )
    widget = CivitaiTab(remote.remote, remote.library, manager, images)
    qtbot.addWidget(widget)
    yield widget
    widget.shutdown()
    manager.shutdown()
    pool.clear()
    images.wait()


def _search(tab: CivitaiTab, qtbot: QtBot) -> None:
    with qtbot.waitSignal(tab.model.page_loaded, timeout=TIMEOUT):
        tab.search()


def _query_of(path: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(path).query)


def test_search_shows_results_and_fetches_the_next_page(
    tab: CivitaiTab, remote: RemoteEnv, qtbot: QtBot
) -> None:
    tab.model.page_size = 2
    _search(tab, qtbot)
    assert tab.model.rowCount() == 2
    if tab.model.canFetchMore(QModelIndex()):
        with qtbot.waitSignal(tab.model.page_loaded, timeout=TIMEOUT):
            tab.model.fetchMore(QModelIndex())  # what the view calls when scrolled to the end
    else:  # the view's own layout, with room left below the first page, asked for the next one already
        qtbot.waitUntil(lambda: tab.model.rowCount() == 3, timeout=TIMEOUT)
    assert tab.model.rowCount() == 3  # the three SFW models of the fake
    assert not tab.model.canFetchMore(QModelIndex())
    searches = [p for _, p, _ in remote.civitai.requests if urlsplit(p).path == "/api/v1/models"]
    assert "cursor" not in _query_of(searches[0])
    assert _query_of(searches[1])["cursor"] == ["2|3"]
    names = {tab.model.index(row).data(CivitaiRole.MODEL).name for row in range(3)}
    assert len(names) == 3


def test_filters_are_sent(tab: CivitaiTab, remote: RemoteEnv, qtbot: QtBot) -> None:
    tab.search_field.setText("lora")
    next(a for a in tab.type_actions if a.text() == "LoRA").setChecked(True)  # the user's words…
    next(a for a in tab.base_actions if a.text() == "SDXL 1.0").setChecked(True)
    tab.sort.setCurrentText("Newest")
    tab.period.setCurrentText("Past month")
    tab.nsfw.setChecked(True)
    _search(tab, qtbot)
    path = next(p for _, p, _ in remote.civitai.requests if urlsplit(p).path == "/api/v1/models")
    query = _query_of(path)
    assert query["query"] == ["lora"]
    assert query["types"] == ["LORA"]  # …the API's values
    assert query["baseModels"] == ["SDXL 1.0"]
    assert query["sort"] == ["Newest"]
    assert query["period"] == ["Month"]
    assert query["nsfw"] == ["true"]
    assert tab.model.rowCount() == 1
    assert "LoRA" in tab.model.index(0).data()


def _row_of(model: CivitaiResultsModel, model_id: int) -> int:
    return next(r for r in range(model.rowCount()) if model.index(r).data(CivitaiRole.MODEL).id == model_id)


def test_in_library_badge(tab: CivitaiTab, qtbot: QtBot) -> None:
    _search(tab, qtbot)
    owned = tab.model.index(_row_of(tab.model, CHARTURNER_ID))
    assert owned.data(CivitaiRole.IN_LIBRARY) is True
    assert "In library" in owned.data()
    others = [tab.model.index(r) for r in range(tab.model.rowCount()) if r != owned.row()]
    assert not any(index.data(CivitaiRole.IN_LIBRARY) for index in others)


def test_covers_load_off_thread_and_over_level_images_are_blurred(
    tab: CivitaiTab, remote: RemoteEnv, qtbot: QtBot, tmp_path: Path
) -> None:
    tab.nsfw.setChecked(True)
    _search(tab, qtbot)
    index = tab.model.index(_row_of(tab.model, ULZZANG_ID))
    url = index.data(CivitaiRole.COVER_URL)
    assert index.data(Qt.ItemDataRole.DecorationRole) is None  # not loaded yet: never blocks
    qtbot.waitUntil(lambda: isinstance(index.data(Qt.ItemDataRole.DecorationRole), QImage), timeout=TIMEOUT)
    cover = index.data(Qt.ItemDataRole.DecorationRole)
    sharp = load_remote_image(url, remote.remote.fetch_image, None, QSize(180, 240), blurred=False)
    assert sharp is not None
    assert cover.size() == sharp.size()
    assert cover != sharp  # level 4 (R) above the user's level 1: blurred
    assert cover == blur(sharp)
    cached = list((tmp_path / "cache" / "remote").rglob("*"))
    assert any(p.is_file() for p in cached)  # content-addressed disk cache

    pg_index = tab.model.index(_row_of(tab.model, CHARTURNER_ID))
    qtbot.waitUntil(
        lambda: isinstance(pg_index.data(Qt.ItemDataRole.DecorationRole), QImage), timeout=TIMEOUT
    )
    pg_url = pg_index.data(CivitaiRole.COVER_URL)
    pg_sharp = load_remote_image(pg_url, remote.remote.fetch_image, None, QSize(180, 240), blurred=False)
    assert pg_index.data(Qt.ItemDataRole.DecorationRole) == pg_sharp  # level 1: shown as is


def test_model_page_shows_versions_files_trigger_words_and_images(tab: CivitaiTab, qtbot: QtBot) -> None:
    page = tab.page
    with qtbot.waitSignal(page.loaded, timeout=TIMEOUT):
        page.show_model(CHARTURNER_ID)
    assert page.title.text().startswith("CharTurner")
    assert page.versions.count() == 3
    assert page.files.rowCount() == 1
    assert page.files.item(0, 0).text() == "21charturnerv2.pt"
    assert page.files.cellWidget(0, 5) is not None  # the Download button
    assert [b.text() for b in page.trigger_buttons] == ["21charturnerv2"]
    page.trigger_buttons[0].click()
    assert QGuiApplication.clipboard().text() == "21charturnerv2"
    assert not page.newer_badge.isHidden()
    assert "CharTurner V2 - For 2.1" in page.newer_badge.text()
    assert "CharTurner V1" in page.newer_badge.text()

    page.versions.setCurrentIndex(2)  # V1: the one the library has
    assert page.files.item(0, 4).text() == "✓ In library"
    assert page.image_model.rowCount() > 0
    with_prompt = next(
        row
        for row in range(page.image_model.rowCount())
        if page.image_model.item(row).data(IMAGE_ROLE).prompt
    )
    page.image_view.setCurrentIndex(page.image_model.index(with_prompt, 0))
    image = page.image_model.item(with_prompt).data(IMAGE_ROLE)
    assert page.image_info.toPlainText().startswith(image.prompt)
    qtbot.waitUntil(
        lambda: page.image_model.item(0).data(Qt.ItemDataRole.DecorationRole) is not None, timeout=TIMEOUT
    )


def test_description_never_loads_remote_resources(tab: CivitaiTab) -> None:
    from PySide6.QtCore import QUrl

    assert tab.page.description.loadResource(2, QUrl("https://tracker.example/pixel.png")) is None


def test_results_model_passes_the_model_tester(
    remote: RemoteEnv, qtmodeltester: object, qtbot: QtBot
) -> None:
    images = RemoteImageCache(remote.remote.fetch_image, None, QSize(64, 64), max_level=lambda: 1)
    model = CivitaiResultsModel(remote.remote.civitai, remote.library, images)
    with qtbot.waitSignal(model.page_loaded, timeout=TIMEOUT):
        model.search(CivitaiQuery())
    qtmodeltester.check(model)  # type: ignore[attr-defined]
    model.shutdown()
    images.wait()


def test_a_missing_assets_hash_opens_its_model_at_that_version(
    tab: CivitaiTab, remote: RemoteEnv, qtbot: QtBot
) -> None:
    """A replayed image names a file by its short hash; the tab shows the version that has it."""
    version = remote.civitai.state.versions[CHARTURNER_V1]
    digest = next(value for f in version["files"] for value in (f.get("hashes") or {}).values())
    with qtbot.waitSignal(tab.page.loaded, timeout=TIMEOUT):
        tab.find_file(str(digest).lower())
    assert tab.page.title.text().startswith("CharTurner")
    current = tab.page.current_version()
    assert current is not None
    assert current.id == CHARTURNER_V1
    assert tab.page.files.cellWidget(0, 5) is not None  # the Download button
    with qtbot.waitSignal(tab.page.failed, timeout=TIMEOUT) as failed:
        tab.find_file("0123456789")
    assert "no file with hash 0123456789" in failed.args[0]


# -- what the panes say, and that they keep their width ------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_before_a_search_the_grid_says_what_can_be_searched(tab: CivitaiTab, qtbot: QtBot) -> None:
    assert tab.results_stack.currentWidget() is tab.state
    assert tab.state.title.text() == "Search Civitai"
    assert "model name, a creator or a tag" in tab.state.body.text()
    assert tab.page.empty_hint.title.text() == "No model selected"
    with qtbot.waitSignal(tab.model.page_loaded, timeout=TIMEOUT):
        qtbot.mouseClick(tab.state.button, Qt.MouseButton.LeftButton)  # "Show the most downloaded"
    assert tab.results_stack.currentWidget() is tab.results
    assert tab.status.text() == "3 models"


def test_no_result_says_what_to_try(tab: CivitaiTab, remote: RemoteEnv, qtbot: QtBot) -> None:
    tab.search_field.setText("no such model anywhere")
    tab.check_filter(tab.base_actions, "SDXL 1.0")
    _search(tab, qtbot)
    assert tab.results_stack.currentWidget() is tab.state
    assert tab.state.title.text() == "No models match “no such model anywhere”"
    assert tab.state.body.text().startswith("Try fewer words, or another type or base model.")
    assert tab.state.button.text() == "Clear filters"
    with qtbot.waitSignal(tab.model.page_loaded, timeout=TIMEOUT):
        qtbot.mouseClick(tab.state.button, Qt.MouseButton.LeftButton)
    assert tab.query().base_models == ()
    searches = [p for _, p, _ in remote.civitai.requests if urlsplit(p).path == "/api/v1/models"]
    assert "baseModels" not in _query_of(searches[-1])


def test_a_refused_connection_shows_the_error_state_within_two_seconds(
    tab: CivitaiTab, remote: RemoteEnv, qtbot: QtBot
) -> None:
    port = _free_port()
    remote.settings.civitai_base_url = f"http://127.0.0.1:{port}"
    tab.search_field.setText("detail tweaker")
    started = time.monotonic()
    with qtbot.waitSignal(tab.model.failed, timeout=2000):
        qtbot.keyClick(tab.search_field, Qt.Key.Key_Return)
    assert time.monotonic() - started < 2.0
    assert tab.results_stack.currentWidget() is tab.state
    assert tab.state.title.text() == "Could not search Civitai"
    assert tab.state.body.text().startswith(f"Cannot reach 127.0.0.1:{port} — the connection was refused.")
    assert tab.state.button.text() == "Retry"
    assert not tab.state.button.isHidden()

    remote.settings.civitai_base_url = remote.civitai.base_url  # back online: Retry asks the site again
    with qtbot.waitSignal(tab.model.page_loaded, timeout=TIMEOUT):
        qtbot.mouseClick(tab.state.button, Qt.MouseButton.LeftButton)
    assert tab.state.title.text() == "No models match “detail tweaker”"  # the fake has no such model


def test_a_request_to_wait_is_shown_while_searching(tab: CivitaiTab, remote: RemoteEnv, qtbot: QtBot) -> None:
    state: CivitaiState = remote.civitai.state
    state.fail_next(429, retry_after="1")
    bodies: list[str] = []
    tab.model.waiting.connect(lambda _text: bodies.append(tab.state.body.text()))
    _search(tab, qtbot)
    host = remote.civitai.base_url.removeprefix("http://")
    assert bodies == [f"{host} asked us to wait 1 s… (try 2 of 4)"]
    assert tab.results_stack.currentWidget() is tab.results


def test_filters_and_tiles_use_the_users_words(tab: CivitaiTab, qtbot: QtBot) -> None:
    periods = [(tab.period.itemText(i), tab.period.itemData(i)) for i in range(tab.period.count())]
    assert periods[0] == ("All time", "AllTime")
    assert ("Most downloaded", "Most Downloaded") in [
        (tab.sort.itemText(i), tab.sort.itemData(i)) for i in range(tab.sort.count())
    ]
    assert tab.sort.currentText() == "Most downloaded"
    types = {a.text(): a.data() for a in tab.type_actions}
    assert types["Embedding"] == "TextualInversion"
    assert types["LoRA"] == "LORA"
    _search(tab, qtbot)
    texts = [tab.model.index(r).data() for r in range(tab.model.rowCount())]
    assert not any("TextualInversion" in t or "LORA" in t for t in texts)
    with qtbot.waitSignal(tab.page.loaded, timeout=TIMEOUT):
        tab.page.show_model(CHARTURNER_ID)
    assert tab.page.subtitle.text().startswith("Embedding")
    assert all(
        "TextualInversion" not in tab.page.versions.itemText(i) for i in range(tab.page.versions.count())
    )


def test_states_and_long_pages_do_not_change_the_panes_widths(
    tab: CivitaiTab, remote: RemoteEnv, qtbot: QtBot
) -> None:
    tab.resize(1300, 800)
    tab.show()
    qtbot.waitExposed(tab)
    left = tab.results_stack.parentWidget()

    def sizes() -> tuple[int, int, int, int]:
        """The panes' widths and the least widths they ask for: a bigger minimum is what forces a jump."""
        return (
            tab.results_stack.width(),
            tab.page.width(),
            left.minimumSizeHint().width(),
            tab.page.minimumSizeHint().width(),
        )

    widths = sizes()
    long_words = [f"trigger phrase number {n} with several words" for n in range(25)]
    charturner = remote.civitai.state.models[CHARTURNER_ID]
    charturner["name"] = "A model name that goes on and on " * 6
    charturner["modelVersions"][0]["trainedWords"] = long_words
    remote.civitai.state.add_model(charturner)
    with qtbot.waitSignal(tab.page.loaded, timeout=TIMEOUT):
        tab.page.show_model(CHARTURNER_ID)
    qtbot.wait(50)
    assert sizes() == widths
    assert len(tab.page.trigger_buttons) == 25
    for button in tab.page.trigger_buttons:  # they wrap onto lines inside the page, none cut off
        right_edge = button.mapTo(tab.page, QPoint(button.width(), 0)).x()
        assert right_edge <= tab.page.width()
    assert tab.page.trigger_buttons[-1].y() > tab.page.trigger_buttons[0].y()
    state: CivitaiState = remote.civitai.state
    reason = "Your region is blocked for this content, see the terms of service " * 8  # a long site text
    state.fail_next(403, body={"error": reason})
    with qtbot.waitSignal(tab.model.failed, timeout=TIMEOUT):
        tab.search()
    qtbot.wait(50)
    assert "(Civitai said: Your region is blocked" in tab.state.body.text()
    assert sizes() == widths


# -- after a download, and the filter menus ------------------------------------------------------------


def _newest_charturner_served_as(remote: RemoteEnv) -> str:
    """CharTurner's newest version offers the fake's LoRA (downloadable); the library has V1 only."""
    model = remote.civitai.state.models[CHARTURNER_ID]
    file = model["modelVersions"][0]["files"][0]
    file.update(
        name="charturner_v2.safetensors",
        hashes={"SHA256": hashlib.sha256(remote.lora).hexdigest().upper()},
        sizeKB=len(remote.lora) / 1024,
        downloadUrl=remote.files.base_url
        + remote.file_state.add("/files/charturner_v2.safetensors", remote.lora),
    )
    remote.civitai.state.add_model(model)
    return str(model["modelVersions"][0]["name"])


def _click_tile(tab: CivitaiTab, qtbot: QtBot, model_id: int) -> None:
    index = tab.model.index(_row_of(tab.model, model_id))
    tab.results.scrollTo(index)
    with qtbot.waitSignal(tab.page.loaded, timeout=TIMEOUT):
        qtbot.mouseClick(
            tab.results.viewport(), Qt.MouseButton.LeftButton, pos=tab.results.visualRect(index).center()
        )


def test_a_download_marks_the_page_and_the_tile_and_gets_the_versions_cover(
    tab: CivitaiTab, remote: RemoteEnv, qtbot: QtBot
) -> None:
    """The page and the tile say "In library" the moment the file lands (no second Search), the
    "Newer version" line goes, and the file has the version's first image as its cover."""
    newest = _newest_charturner_served_as(remote)
    tab.show()
    _search(tab, qtbot)
    _click_tile(tab, qtbot, CHARTURNER_ID)
    page = tab.page
    assert f"Newer version available: {newest}" in page.newer_badge.text()
    assert page.files.item(0, 4).text() == ""
    tile = tab.model.index(_row_of(tab.model, CHARTURNER_ID))
    assert tile.data(CivitaiRole.IN_LIBRARY) is True  # V1 already: the tile's mark is per model

    with qtbot.waitSignal(tab.manager.completed, timeout=TIMEOUT) as completed:
        qtbot.mouseClick(page.files.cellWidget(0, 5), Qt.MouseButton.LeftButton)
    assert completed.args is not None
    path = Path(completed.args[1])

    qtbot.waitUntil(lambda: page.files.item(0, 4).text() == "✓ In library", timeout=TIMEOUT)
    button = page.files.cellWidget(0, 5)
    assert (button.text(), button.isEnabled()) == ("In library", False)
    assert button.toolTip() == f"Already in the library: {path}"
    assert page.newer_badge.isHidden()
    assert page.current_version() is not None
    assert page.current_version().name == newest  # type: ignore[union-attr]

    asset = remote.library.get_by_path(path)
    assert asset is not None
    (cover,) = [p for p in remote.library.previews(asset.id) if p.is_cover]
    assert cover.source == "civitai"
    assert Path(cover.path).is_file()
    version = remote.civitai.state.models[CHARTURNER_ID]["modelVersions"][0]
    first_sfw = next(i for i in version["images"] if (i.get("nsfwLevel") or 1) <= 1)
    served = remote.file_state.files[urlsplit(first_sfw["url"]).path]
    assert Path(cover.path).read_bytes() == served


def test_a_download_puts_the_in_library_badge_on_its_tile(
    tab: CivitaiTab, remote: RemoteEnv, qtbot: QtBot
) -> None:
    tab.show()
    _search(tab, qtbot)
    tile = tab.model.index(_row_of(tab.model, LORA_MODEL_ID))
    assert tile.data(CivitaiRole.IN_LIBRARY) is False
    _click_tile(tab, qtbot, LORA_MODEL_ID)
    with qtbot.waitSignal(tab.manager.completed, timeout=TIMEOUT):
        qtbot.mouseClick(tab.page.files.cellWidget(0, 5), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tile.data(CivitaiRole.IN_LIBRARY) is True, timeout=TIMEOUT)
    assert tile.data().startswith("✓ In library")


def _open_menu(button: QToolButton, qtbot: QtBot) -> QMenu:
    menu = button.menu()
    menu.popup(button.mapToGlobal(button.rect().bottomLeft()))
    qtbot.waitUntil(menu.isVisible, timeout=TIMEOUT)
    return menu


def test_the_base_models_menu_stays_open_while_ticking(tab: CivitaiTab, qtbot: QtBot) -> None:
    tab.show()
    menu = _open_menu(tab.base_button, qtbot)
    for label in ("Pony Diffusion", "Flux.1 Dev"):
        action = next(a for a in tab.base_actions if a.text() == label)
        qtbot.mouseClick(menu, Qt.MouseButton.LeftButton, pos=menu.actionGeometry(action).center())
        assert menu.isVisible(), f"the menu closed after ticking {label}"
    assert tab.query().base_models == ("Pony", "Flux.1 D")
    menu.setActiveAction(tab.base_actions[0])
    qtbot.keyClick(menu, Qt.Key.Key_Space)
    assert tab.base_actions[0].isChecked()
    assert menu.isVisible()
    qtbot.keyClick(menu, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not menu.isVisible(), timeout=TIMEOUT)


def test_a_changed_filter_searches_again_once(tab: CivitaiTab, remote: RemoteEnv, qtbot: QtBot) -> None:
    def searches() -> list[str]:
        return [p for _, p, _ in remote.civitai.requests if urlsplit(p).path == "/api/v1/models"]

    tab.show()
    menu = _open_menu(tab.types_button, qtbot)
    qtbot.mouseClick(menu, Qt.MouseButton.LeftButton, pos=menu.actionGeometry(tab.type_actions[0]).center())
    qtbot.wait(REFILTER_DELAY_MS + 200)
    assert searches() == [], "before a first search a filter only prepares one"
    menu.close()
    _search(tab, qtbot)
    assert len(searches()) == 1

    menu = _open_menu(tab.types_button, qtbot)
    lora = next(a for a in tab.type_actions if a.data() == "LORA")
    with qtbot.waitSignal(tab.model.page_loaded, timeout=TIMEOUT):
        qtbot.mouseClick(
            menu, Qt.MouseButton.LeftButton, pos=menu.actionGeometry(tab.type_actions[0]).center()
        )
        qtbot.mouseClick(menu, Qt.MouseButton.LeftButton, pos=menu.actionGeometry(lora).center())
    assert len(searches()) == 2, "two quick ticks are one search"
    assert _query_of(searches()[-1])["types"] == ["LORA"]
    menu.close()

    with qtbot.waitSignal(tab.model.page_loaded, timeout=TIMEOUT):
        qtbot.mouseClick(tab.nsfw, Qt.MouseButton.LeftButton)
    assert _query_of(searches()[-1])["nsfw"] == ["true"]
    assert len(searches()) == 3


def test_download_of_a_deleted_version_says_where_to_forget_the_deletion(
    tab: CivitaiTab, remote: RemoteEnv, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The outside tester deleted a downloaded LoRA and pressed Download on its page again: each press only
    repeated "You deleted this version on …", with no word on what to do. The line now says it."""
    own_trash(monkeypatch, tmp_path / "xdg-data")
    tab.show()
    _search(tab, qtbot)
    _click_tile(tab, qtbot, LORA_MODEL_ID)
    with qtbot.waitSignal(tab.manager.completed, timeout=TIMEOUT) as completed:
        qtbot.mouseClick(tab.page.files.cellWidget(0, 5), Qt.MouseButton.LeftButton)
    assert completed.args is not None
    asset = remote.library.get_by_path(Path(completed.args[1]))
    assert asset is not None
    delete_assets(remote.library, [asset.id])
    qtbot.waitUntil(lambda: tab.page.files.cellWidget(0, 5).isEnabled(), timeout=TIMEOUT)

    with qtbot.waitSignal(tab.message, timeout=TIMEOUT) as told:
        qtbot.mouseClick(tab.page.files.cellWidget(0, 5), Qt.MouseButton.LeftButton)
    assert told.args is not None
    line = told.args[0]
    assert line.startswith("You deleted this version on 20")
    assert line.endswith("). To download it again, forget it in Library › Deleted files…")


def test_the_download_button_says_queued_then_downloading_then_in_library(
    tab: CivitaiTab, remote: RemoteEnv, qtbot: QtBot
) -> None:
    """The outside tester clicked Download and the button still read "Download"; a second click quietly
    added nothing. While the file is in the queue the button says how far it is, disabled; after, "In
    library". The file trickles from the host so the download lasts long enough to be seen."""
    newest = _newest_charturner_served_as(remote)
    path = "/files/charturner_v2.safetensors"
    remote.file_state.faults[path] = Fault(trickle=(max(1, len(remote.lora) // 40), 0.05))
    tab.show()
    _search(tab, qtbot)
    _click_tile(tab, qtbot, CHARTURNER_ID)
    page = tab.page
    assert page.current_version().name == newest  # type: ignore[union-attr]
    assert page.files.cellWidget(0, 5).text() == "Download"

    qtbot.mouseClick(page.files.cellWidget(0, 5), Qt.MouseButton.LeftButton)

    button = page.files.cellWidget(0, 5)
    assert button.text() in ("Queued", "Downloading…")
    assert not button.isEnabled()
    qtbot.waitUntil(lambda: page.files.cellWidget(0, 5).text() == "Downloading…", timeout=TIMEOUT)
    button = page.files.cellWidget(0, 5)
    assert button.width() >= button.sizeHint().width(), "the word is not cut"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)  # a second click: nothing
    assert len(tab.manager.records()) == 1
    qtbot.waitUntil(lambda: page.files.cellWidget(0, 5).text() == "In library", timeout=TIMEOUT)
    assert not page.files.cellWidget(0, 5).isEnabled()
    assert len(tab.manager.records()) == 1


def test_a_filter_button_names_its_ticked_choices_elided(tab: CivitaiTab, qtbot: QtBot) -> None:
    """ "Types" in bold said a filter was on, not which: the button now names the ticked types, cut
    with "…" past a fixed width so the bar cannot be pushed about; the tooltip has them all."""
    tab.show()
    assert tab.types_button.text() == "Types"
    menu = _open_menu(tab.types_button, qtbot)
    lora = next(a for a in tab.type_actions if a.data() == "LORA")
    qtbot.mouseClick(menu, Qt.MouseButton.LeftButton, pos=menu.actionGeometry(lora).center())
    assert tab.types_button.text() == f"Types: {lora.text()}"
    for action in tab.type_actions:
        if not action.isChecked():
            qtbot.mouseClick(menu, Qt.MouseButton.LeftButton, pos=menu.actionGeometry(action).center())
    menu.close()

    text = tab.types_button.text()
    assert text.startswith(f"Types: {tab.type_actions[0].text()}, ")  # in the menu's order
    assert text.endswith("…")
    assert tab.types_button.fontMetrics().horizontalAdvance(text) <= 170 + 10
    assert tab.types_button.toolTip() == "Types: " + ", ".join(a.text() for a in tab.type_actions)
    tab.clear_filters()
    assert tab.types_button.text() == "Types"


def test_a_file_deleted_on_disk_is_not_in_library_and_downloads_again(
    tab: CivitaiTab, remote: RemoteEnv, qtbot: QtBot
) -> None:
    """A file removed on disk (the rescan marks it missing) no longer counts as in the library: the tile,
    the file's row and its Download button offer it again, and the Download lands the file."""
    from catalog.scanner import Scanner

    tab.show()
    _search(tab, qtbot)
    _click_tile(tab, qtbot, LORA_MODEL_ID)
    with qtbot.waitSignal(tab.manager.completed, timeout=TIMEOUT) as completed:
        qtbot.mouseClick(tab.page.files.cellWidget(0, 5), Qt.MouseButton.LeftButton)
    assert completed.args is not None
    path = Path(completed.args[1])
    tile = tab.model.index(_row_of(tab.model, LORA_MODEL_ID))
    qtbot.waitUntil(lambda: tile.data(CivitaiRole.IN_LIBRARY) is True, timeout=TIMEOUT)

    for sidecar in path.parent.glob(path.stem + ".*"):
        sidecar.unlink()
    Scanner(remote.library).scan([remote.a1111_root.id])
    asset = remote.library.get_by_path(path)
    assert asset is not None
    assert asset.status is FileStatus.MISSING
    tab.refresh_library_marks()  # what the window does when a scan ends
    qtbot.waitUntil(lambda: tile.data(CivitaiRole.IN_LIBRARY) is False, timeout=TIMEOUT)
    assert "In library" not in tile.data()

    _click_tile(tab, qtbot, LORA_MODEL_ID)  # the model opened again
    page = tab.page
    assert page.files.item(0, 4).text() == ""
    button = page.files.cellWidget(0, 5)
    assert (button.text(), button.isEnabled()) == ("Download", True)
    with qtbot.waitSignal(tab.manager.completed, timeout=TIMEOUT) as again:
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert again.args is not None
    landed = Path(again.args[1])
    assert landed.read_bytes() == remote.lora
    qtbot.waitUntil(lambda: page.files.item(0, 4).text() == "✓ In library", timeout=TIMEOUT)
    qtbot.waitUntil(lambda: tile.data(CivitaiRole.IN_LIBRARY) is True, timeout=TIMEOUT)
