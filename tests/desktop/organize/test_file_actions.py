"""Move, rename, delete and undo in the real window, driven by keys and clicks, checked on the disk.

The files are real (tmp folders), the catalog is a real Library, the engine is the app's, and deletes
go to a per-test system trash (``XDG_DATA_HOME`` in tmp).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QFileDialog, QMenu, QMessageBox, QWidget
from pytestqt.qtbot import QtBot

from desktop.main_window import MainWindow
from desktop.models.asset_table_model import AssetColumn
from desktop.models.sidebar_model import SidebarRole
from desktop.organize.file_actions import FileActions
from tests.desktop.conftest import PopulatedLibrary

JOB_MS = 10000


def actions(window: MainWindow) -> FileActions:
    found = window.file_actions  # type: ignore[attr-defined]
    assert isinstance(found, FileActions)
    return found


def names(window: MainWindow) -> set[str]:
    model = window.model
    return {model.index(row, AssetColumn.NAME).data() for row in range(model.rowCount())}


def select(window: MainWindow, *asset_ids: int) -> None:
    from PySide6.QtCore import QItemSelectionModel

    window.selection.clearSelection()
    for number, asset_id in enumerate(asset_ids):
        row = window.model.row_of(asset_id)
        assert row is not None
        flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
        if number == 0:
            flags |= QItemSelectionModel.SelectionFlag.Current
        window.selection.setCurrentIndex(window.model.index(row, 0), flags)


def focus(qtbot: QtBot, widget: QWidget) -> None:
    """Gives ``widget`` the keyboard focus, its window active again (a dialog that closed had it)."""
    widget.window().activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is widget.window(), timeout=2000)
    widget.setFocus()
    qtbot.waitUntil(widget.hasFocus, timeout=2000)


def menu_action(menu: QMenu, text: str):  # type: ignore[no-untyped-def]
    for action in menu.actions():
        if action.text().replace("&", "") == text:
            return action
    raise AssertionError(f"no {text!r} in {[a.text() for a in menu.actions()]}")


def click_menu_item(qtbot: QtBot, menu: QMenu, text: str) -> None:
    action = menu_action(menu, text)
    QTest.mouseClick(
        menu, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, menu.actionGeometry(action).center()
    )


def hover_menu_item(menu: QMenu, text: str) -> None:
    """Rests the mouse on an item, as a user opening a submenu does."""
    center = menu.actionGeometry(menu_action(menu, text)).center()
    QTest.mouseMove(menu, center)
    QTest.qWait(50)
    QTest.mouseMove(menu, center + QPoint(2, 0))


def open_context_menu(qtbot: QtBot, window: MainWindow, asset_id: int) -> QMenu:
    row = window.model.row_of(asset_id)
    assert row is not None
    view = window.current_view()
    point = view.visualRect(window.model.index(row, 0)).center()
    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, point)
    view.customContextMenuRequested.emit(point)  # what a right-click (or the Menu key) asks for
    qtbot.waitUntil(lambda: isinstance(QApplication.activePopupWidget(), QMenu), timeout=2000)
    menu = QApplication.activePopupWidget()
    assert isinstance(menu, QMenu)
    return menu


def test_f2_renames_the_file_its_sidecars_and_the_row(
    qtbot: QtBot, window: MainWindow, populated: PopulatedLibrary
) -> None:
    root = populated.root_dir
    select(window, populated.ids["pixelArtStyle"])
    focus(qtbot, window.grid)
    qtbot.keyClick(window.grid, Qt.Key.Key_F2)
    dialog = actions(window).rename_dialog
    assert dialog is not None
    assert dialog.isVisible()
    assert dialog.field.selectedText() == "pixelArtStyle"  # the name without its extension
    qtbot.keyClicks(dialog.field, "pixel art v2")
    with qtbot.waitSignal(window.job_ended, timeout=JOB_MS):
        qtbot.keyClick(dialog.field, Qt.Key.Key_Return)
    assert (root / "pixel art v2.safetensors").is_file()
    assert (root / "pixel art v2.preview.png").is_file()  # the preview took the new name
    assert not (root / "pixelArtStyle.safetensors").exists()
    assert not (root / "pixelArtStyle.preview.png").exists()
    record = populated.library.get(populated.ids["pixelArtStyle"])
    assert record is not None
    assert record.path == str(root / "pixel art v2.safetensors")
    assert "pixel art v2" in names(window)
    assert "pixelArtStyle" not in names(window)
    assert window.status.job_label.text().startswith("Renaming “pixelArtStyle.safetensors”: renamed 1 file")
    assert window.status.flashed() == "Renaming “pixelArtStyle.safetensors”: renamed 1 file"


def test_f2_in_the_table_and_an_existing_name_said_inline(
    qtbot: QtBot, window: MainWindow, populated: PopulatedLibrary
) -> None:
    window.set_view_mode("table")
    select(window, populated.ids["easynegative"])
    focus(qtbot, window.table)
    qtbot.keyClick(window.table, Qt.Key.Key_F2)
    dialog = actions(window).rename_dialog
    assert dialog is not None
    assert dialog.isVisible()
    assert dialog.field.selectedText() == "easynegative"
    qtbot.keyClicks(dialog.field, "evil")
    dialog.field.setText("evil.ckpt")  # the other file's full name
    assert dialog.problem.text() == "“evil.ckpt” already exists in this folder."
    qtbot.keyClick(dialog.field, Qt.Key.Key_Return)
    assert dialog.isVisible()
    qtbot.keyClick(dialog.field, Qt.Key.Key_Escape)
    assert not dialog.isVisible()
    assert (populated.root_dir / "easynegative.pt").is_file()


def test_delete_goes_to_the_trash_and_ctrl_z_brings_it_back(
    qtbot: QtBot, window: MainWindow, populated: PopulatedLibrary, trash_home: Path
) -> None:
    root = populated.root_dir
    ids = populated.ids
    assert not actions(window).undo_action.isEnabled()
    select(window, ids["pixelArtStyle"], ids["sdxl_vae"])
    focus(qtbot, window.grid)
    qtbot.keyClick(window.grid, Qt.Key.Key_Delete)
    dialog = actions(window).delete_dialog
    assert dialog is not None
    assert dialog.isVisible()
    assert dialog.summary.text().startswith("Move 2 files and 1 sidecar (")
    listed = [dialog.files.topLevelItem(i).text(0) for i in range(dialog.files.topLevelItemCount())]
    assert sorted(listed) == ["pixelArtStyle.safetensors", "sdxl_vae.safetensors"]
    with qtbot.waitSignal(window.job_ended, timeout=JOB_MS):
        qtbot.keyClick(dialog.delete_button, Qt.Key.Key_Return)
    for name in ("pixelArtStyle.safetensors", "pixelArtStyle.preview.png", "sdxl_vae.safetensors"):
        assert not (root / name).exists()
        assert (trash_home / "files" / name).exists()
    assert {"pixelArtStyle", "sdxl_vae"}.isdisjoint(names(window))
    assert window.model.rowCount() == 5

    undo = actions(window).undo_action
    assert undo.isEnabled()
    assert undo.text().replace("&", "").startswith("Undo ")
    focus(qtbot, window.grid)
    with qtbot.waitSignal(window.job_ended, timeout=JOB_MS):
        qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    for name in ("pixelArtStyle.safetensors", "pixelArtStyle.preview.png", "sdxl_vae.safetensors"):
        assert (root / name).exists()
        assert not (trash_home / "files" / name).exists()
    assert {"pixelArtStyle", "sdxl_vae"} <= names(window)
    record = populated.library.get(ids["pixelArtStyle"])
    assert record is not None
    assert record.tags == ("style",)


def test_del_in_the_search_field_deletes_no_file(
    qtbot: QtBot, window: MainWindow, populated: PopulatedLibrary
) -> None:
    select(window, populated.ids["dreamshaper_8"])
    search = window.filter_bar.search
    focus(qtbot, search)
    qtbot.keyClicks(search, "dre")
    search.setCursorPosition(0)
    qtbot.keyClick(search, Qt.Key.Key_Delete)
    assert search.text() == "re"
    assert actions(window).delete_dialog is None
    assert (populated.root_dir / "dreamshaper_8.safetensors").is_file()


def test_context_menu_move_to_chooses_a_folder(
    qtbot: QtBot, window: MainWindow, populated: PopulatedLibrary
) -> None:
    root = populated.root_dir
    menu = open_context_menu(qtbot, window, populated.ids["pixelArtStyle"])
    click_menu_item(qtbot, menu, "Move to…")
    chooser = actions(window).folder_dialog
    assert isinstance(chooser, QFileDialog)
    qtbot.waitUntil(chooser.isVisible, timeout=2000)
    assert chooser.directory().absolutePath() == str(root)  # it starts in the file's folder
    places = [url.toLocalFile() for url in chooser.sidebarUrls()]
    assert places == [str(root)]  # the library roots are its places
    chooser.setDirectory(str(root / "styles"))  # as a double-click on "styles" does
    buttons = chooser.findChild(QDialogButtonBox, "buttonBox")
    assert buttons is not None
    move_here = buttons.button(QDialogButtonBox.StandardButton.Open)
    assert move_here.text() == "Move here"
    with qtbot.waitSignal(window.job_ended, timeout=JOB_MS):
        QTest.mouseClick(move_here, Qt.MouseButton.LeftButton)
    assert (root / "styles" / "pixelArtStyle.safetensors").is_file()
    assert (root / "styles" / "pixelArtStyle.preview.png").is_file()
    record = populated.library.get(populated.ids["pixelArtStyle"])
    assert record is not None
    assert record.path == str(root / "styles" / "pixelArtStyle.safetensors")


def test_context_menu_move_to_submenu_lists_the_library_folders(
    qtbot: QtBot, window: MainWindow, populated: PopulatedLibrary
) -> None:
    root = populated.root_dir
    menu = open_context_menu(qtbot, window, populated.ids["dreamshaper_8"])
    move_to = menu_action(menu, "Move to").menu()
    assert isinstance(move_to, QMenu)
    hover_menu_item(menu, "Move to")
    qtbot.waitUntil(move_to.isVisible, timeout=3000)
    roots_menu = menu_action(move_to, "models").menu()  # the root, a submenu of its folders
    assert isinstance(roots_menu, QMenu)
    assert [a.text() for a in roots_menu.actions() if not a.isSeparator()] == [
        "Into “models”",
        "checkpoints",
        "styles",
    ]
    hover_menu_item(move_to, "models")
    qtbot.waitUntil(roots_menu.isVisible, timeout=3000)
    with qtbot.waitSignal(window.job_ended, timeout=JOB_MS):
        click_menu_item(qtbot, roots_menu, "checkpoints")
    assert (root / "checkpoints" / "dreamshaper_8.safetensors").is_file()
    assert not (root / "dreamshaper_8.safetensors").exists()


def test_a_name_conflict_is_asked_and_answered_by_keyboard(
    qtbot: QtBot, window: MainWindow, populated: PopulatedLibrary
) -> None:
    root = populated.root_dir
    theirs = root / "styles" / "pixelArtStyle.safetensors"
    theirs.write_bytes(b"someone else's file")
    record = populated.library.get(populated.ids["pixelArtStyle"])
    assert record is not None
    actions(window).move([record], root / "styles")
    dialog = actions(window).conflict_dialog
    assert dialog is not None
    qtbot.waitUntil(dialog.isVisible, timeout=2000)
    assert [c.source.name for c in dialog.conflicts] == ["pixelArtStyle.safetensors"]
    qtbot.waitUntil(dialog.combos[0].hasFocus, timeout=2000)
    qtbot.keyClick(dialog.combos[0], Qt.Key.Key_Down)  # Skip -> Keep both
    with qtbot.waitSignal(window.job_ended, timeout=JOB_MS):
        qtbot.keyClick(dialog.combos[0], Qt.Key.Key_Return)
    assert theirs.read_bytes() == b"someone else's file"  # never overwritten
    assert (root / "styles" / "pixelArtStyle (2).safetensors").is_file()
    assert (root / "styles" / "pixelArtStyle (2).preview.png").is_file()
    moved = populated.library.get(populated.ids["pixelArtStyle"])
    assert moved is not None
    assert moved.path == str(root / "styles" / "pixelArtStyle (2).safetensors")


def test_a_conflict_cancelled_moves_nothing(
    qtbot: QtBot, window: MainWindow, populated: PopulatedLibrary
) -> None:
    root = populated.root_dir
    (root / "styles" / "easynegative.pt").write_bytes(b"other")
    record = populated.library.get(populated.ids["easynegative"])
    assert record is not None
    actions(window).move([record], root / "styles")
    dialog = actions(window).conflict_dialog
    assert dialog is not None
    qtbot.waitUntil(dialog.isVisible, timeout=2000)
    qtbot.keyClick(dialog.combos[0], Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: actions(window).conflict_dialog is None, timeout=2000)
    assert window.current_job is None
    assert (root / "easynegative.pt").is_file()
    assert (root / "styles" / "easynegative.pt").read_bytes() == b"other"


def test_a_folder_outside_the_library_is_refused_in_one_line(
    qtbot: QtBot, window: MainWindow, populated: PopulatedLibrary, tmp_path: Path
) -> None:
    record = populated.library.get(populated.ids["easynegative"])
    assert record is not None
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    actions(window).move([record], outside)
    assert window.status.flashed() == (
        f"{outside} is not in a library folder: choose a folder inside one (or add it in Settings)"
    )
    assert (populated.root_dir / "easynegative.pt").is_file()


def test_the_sidebar_shows_the_roots_folders(
    qtbot: QtBot, window: MainWindow, populated: PopulatedLibrary
) -> None:
    model = window.sidebar_model
    root_index = model.folder_index(str(populated.root_dir))
    assert root_index.isValid()
    children = [model.index(row, 0, root_index) for row in range(model.rowCount(root_index))]
    assert [child.data() for child in children] == ["checkpoints", "styles"]
    styles = children[1]
    assert model.index(0, 0, styles).data() == "pixel"
    assert styles.data(SidebarRole.FOLDER_PATH) == str(populated.root_dir / "styles")
    # A folder made outside the app shows once the folders are read again (after any job: scan, move).
    (populated.root_dir / "vae").mkdir()
    window.job_ended.emit("Scan")
    qtbot.waitUntil(lambda: model.folder_index(str(populated.root_dir / "vae")).isValid(), timeout=5000)


def test_edit_menu_offers_undo_with_the_operation_and_the_history(
    qtbot: QtBot, window: MainWindow, populated: PopulatedLibrary
) -> None:
    record = populated.library.get(populated.ids["animeLineart"])
    assert record is not None
    with qtbot.waitSignal(window.job_ended, timeout=JOB_MS):
        actions(window).move([record], populated.root_dir / "styles")
    edit = window.edit_menu
    edit.aboutToShow.emit()
    undo = actions(window).undo_action
    assert undo.isEnabled()
    assert undo.text().replace("&", "") == "Undo Move “animeLineart.safetensors” to styles"
    actions(window).show_history()
    history = actions(window).history_dialog
    assert history is not None
    assert history.isVisible()
    first = history.list.topLevelItem(0)
    assert first.text(0) == "Move “animeLineart.safetensors” to styles"
    assert history.undo_button.isEnabled()
    with qtbot.waitSignal(window.job_ended, timeout=JOB_MS):
        QTest.mouseClick(history.undo_button, Qt.MouseButton.LeftButton)
    assert (populated.root_dir / "animeLineart.safetensors").is_file()
    rows = [
        [history.list.topLevelItem(i).text(c) for c in (0, 2, 3)]  # type: ignore[union-attr]
        for i in range(history.list.topLevelItemCount())
    ]
    assert rows == [
        ["Undo: Move “animeLineart.safetensors” to styles", "1", "Done"],
        ["Move “animeLineart.safetensors” to styles", "1", "Undone"],
    ]
    assert not history.undo_button.isEnabled()  # an undone move (and an undo) cannot be undone again
    assert not actions(window).undo_action.isEnabled()


def test_skipped_conflicts_are_said_in_the_outcome(
    qtbot: QtBot, window: MainWindow, populated: PopulatedLibrary
) -> None:
    root = populated.root_dir
    for name in ("pixelArtStyle.safetensors", "easynegative.pt"):
        (root / "styles" / name).write_bytes(b"theirs")
    records = [populated.library.get(populated.ids[n]) for n in ("easynegative", "pixelArtStyle", "sdxl_vae")]
    actions(window).move([r for r in records if r is not None], root / "styles")
    dialog = actions(window).conflict_dialog
    assert dialog is not None
    qtbot.waitUntil(dialog.isVisible, timeout=2000)
    assert [c.source.name for c in dialog.conflicts] == ["easynegative.pt", "pixelArtStyle.safetensors"]
    qtbot.keyClick(dialog.combos[1], Qt.Key.Key_Down)  # pixelArtStyle: keep both; easynegative: skip
    with qtbot.waitSignal(window.job_ended, timeout=JOB_MS):
        qtbot.keyClick(dialog.combos[1], Qt.Key.Key_Enter)
    assert (root / "easynegative.pt").is_file()  # skipped: where it was
    assert (root / "styles" / "easynegative.pt").read_bytes() == b"theirs"
    assert (root / "styles" / "pixelArtStyle (2).safetensors").is_file()
    assert (root / "styles" / "sdxl_vae.safetensors").is_file()
    assert window.status.flashed() == "Moving 2 files to styles: moved 2 files; 1 left where it was"


def test_the_outcome_line_says_failures_and_cancels() -> None:
    from app.organize.engine import OperationResult
    from desktop.organize.file_actions import result_text

    failed = OperationResult(
        7, "move", 1, 2, (("/m/a.safetensors", "permission denied"), ("/m/b.pt", "disk full")), True
    )
    assert result_text(failed, "moved {files}") == (
        "moved 1 file; 2 skipped; 2 failed: a.safetensors: permission denied (and 1 more); "
        "cancelled (what was done is kept)"
    )
    assert result_text(OperationResult(8, "delete", 3, 0, (), False), "moved {files} to the trash") == (
        "moved 3 files to the trash"
    )


def test_a_sidebar_folder_clicked_shows_the_files_in_it(
    qtbot: QtBot, window: MainWindow, populated: PopulatedLibrary
) -> None:
    root = populated.root_dir
    records = [populated.library.get(populated.ids[n]) for n in ("pixelArtStyle", "easynegative")]
    with qtbot.waitSignal(window.job_ended, timeout=JOB_MS):
        actions(window).move([r for r in records if r is not None], root / "styles")
    sidebar = window.sidebar
    styles = window.sidebar_model.folder_index(str(root / "styles"))
    assert styles.isValid()
    sidebar.expand(styles.parent())
    sidebar.scrollTo(styles)
    QTest.mouseClick(sidebar.viewport(), Qt.MouseButton.LeftButton, pos=sidebar.visualRect(styles).center())
    qtbot.waitUntil(lambda: names(window) == {"pixelArtStyle", "easynegative"}, timeout=3000)
    assert window.status.count_label.text() == "2 of 7 models"
    pixel = window.sidebar_model.folder_index(str(root / "styles" / "pixel"))
    sidebar.expand(styles)
    QTest.mouseClick(sidebar.viewport(), Qt.MouseButton.LeftButton, pos=sidebar.visualRect(pixel).center())
    qtbot.waitUntil(lambda: window.model.rowCount() == 0, timeout=3000)
    root_entry = window.sidebar_model.folder_index(str(root))
    QTest.mouseClick(
        sidebar.viewport(), Qt.MouseButton.LeftButton, pos=sidebar.visualRect(root_entry).center()
    )
    qtbot.waitUntil(lambda: window.model.rowCount() == 7, timeout=3000)


def test_ctrl_z_works_at_once_after_the_delete_dialog_closed(
    qtbot: QtBot, window: MainWindow, populated: PopulatedLibrary, trash_home: Path
) -> None:
    """No click needed after the dialog: the window is active again and the view has the keys."""
    root = populated.root_dir
    select(window, populated.ids["sdxl_vae"])
    focus(qtbot, window.grid)
    qtbot.keyClick(window.grid, Qt.Key.Key_Delete)
    dialog = actions(window).delete_dialog
    assert dialog is not None
    qtbot.waitUntil(lambda: QApplication.activeWindow() is dialog, timeout=2000)
    with qtbot.waitSignal(window.job_ended, timeout=JOB_MS):
        QTest.mouseClick(dialog.delete_button, Qt.MouseButton.LeftButton)
    assert not (root / "sdxl_vae.safetensors").exists()

    assert actions(window).undo_action.text() == "&Undo Delete “sdxl_vae.safetensors”"
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=2000)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is window.grid, timeout=2000)
    with qtbot.waitSignal(window.job_ended, timeout=JOB_MS):
        QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert (root / "sdxl_vae.safetensors").exists()


def kind_dialog(qtbot: QtBot, window: MainWindow) -> QMessageBox:
    qtbot.waitUntil(lambda: actions(window).kind_dialog is not None, timeout=2000)
    dialog = actions(window).kind_dialog
    assert dialog is not None
    qtbot.waitUntil(dialog.isVisible, timeout=2000)
    return dialog


def click_button(dialog: QMessageBox, text: str) -> None:
    button = next(b for b in dialog.buttons() if b.text().replace("&", "") == text)
    QTest.mouseClick(button, Qt.MouseButton.LeftButton)


def test_a_lora_moved_into_the_hypernetworks_folder_of_a1111_is_asked_first(
    qtbot: QtBot, window: MainWindow, populated: PopulatedLibrary, tmp_path: Path
) -> None:
    """Asked before anything moves (a note afterwards was replaced by the watcher's rescan within
    seconds): Cancel leaves the file, Move anyway moves it; a file into its own kind's folder is not asked."""
    from core.taxonomy import LibraryLayout

    webui = tmp_path / "stable-diffusion-webui"
    hypernetworks = webui / "models" / "hypernetworks"
    hypernetworks.mkdir(parents=True)
    (webui / "models" / "Lora").mkdir()
    a1111 = populated.library.add_root(webui, LibraryLayout.A1111)
    window.refresh_sidebar()
    qtbot.waitUntil(lambda: window.sidebar_model.folder_tree(a1111.id) is not None, timeout=5000)
    source = populated.root_dir / "pixelArtStyle.safetensors"
    hint = "AUTOMATIC1111 will not load a LoRA from models/hypernetworks (it reads a hypernetwork there)."

    # The context menu's Move to › stable-diffusion-webui › models › hypernetworks, clicked.
    menu = open_context_menu(qtbot, window, populated.ids["pixelArtStyle"])
    hover_menu_item(menu, "Move to")
    move_to = menu_action(menu, "Move to").menu()
    qtbot.waitUntil(move_to.isVisible, timeout=3000)
    hover_menu_item(move_to, "stable-diffusion-webui")
    webui_menu = menu_action(move_to, "stable-diffusion-webui").menu()
    qtbot.waitUntil(webui_menu.isVisible, timeout=3000)
    hover_menu_item(webui_menu, "models")
    models_menu = menu_action(webui_menu, "models").menu()
    qtbot.waitUntil(models_menu.isVisible, timeout=3000)
    click_menu_item(qtbot, models_menu, "hypernetworks")
    dialog = kind_dialog(qtbot, window)
    assert dialog.informativeText() == hint
    assert source.is_file()  # nothing moved while asked
    click_button(dialog, "Cancel")
    qtbot.waitUntil(lambda: actions(window).kind_dialog is None, timeout=2000)
    qtbot.wait(100)
    assert window.current_job is None
    assert source.is_file()  # cancelled: left as it was
    assert not (hypernetworks / source.name).exists()

    lora = populated.library.get(populated.ids["pixelArtStyle"])
    assert lora is not None
    actions(window).move([lora], hypernetworks)
    dialog = kind_dialog(qtbot, window)
    with qtbot.waitSignal(window.job_ended, timeout=JOB_MS):
        click_button(dialog, "Move anyway")
    assert (hypernetworks / "pixelArtStyle.safetensors").is_file()  # a hint, never a refusal
    assert window.status.flashed().endswith("moved 1 file")

    vae = populated.library.get(populated.ids["sdxl_vae"])
    assert vae is not None
    actions(window).move([vae], webui / "models" / "Lora")
    assert kind_dialog(qtbot, window).informativeText() == (
        "AUTOMATIC1111 will not load a VAE from models/Lora (it reads a LoRA there)."
    )
    click_button(actions(window).kind_dialog, "Cancel")  # type: ignore[arg-type]
    moved = populated.library.get(populated.ids["pixelArtStyle"])
    assert moved is not None
    with qtbot.waitSignal(window.job_ended, timeout=JOB_MS):
        actions(window).move([moved], webui / "models" / "Lora")  # its own folder: nothing to ask
    assert actions(window).kind_dialog is None
    assert window.status.flashed().endswith("moved 1 file")
    assert (populated.root_dir / "sdxl_vae.safetensors").is_file()
