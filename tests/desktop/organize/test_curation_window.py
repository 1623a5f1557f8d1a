"""Curation in the real window, driven by real clicks and keys: the bulk edit dialog on a multi-selection,
an override in the details pane (and its reset), the hidden filter, the deleted-files dialog."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QCheckBox, QComboBox, QMenu, QPushButton
from pytestqt.qtbot import QtBot

from catalog.orm import DeletedFile
from catalog.records import AssetQuery, HiddenFilter
from core.taxonomy import AssetKind
from desktop.main_window import MainWindow
from desktop.models.asset_table_model import AssetColumn
from desktop.organize.bulk_edit_dialog import BulkEditDialog
from desktop.organize.curation_actions import CurationActions
from desktop.organize.deleted_files_dialog import DeletedFilesDialog
from tests.desktop.conftest import PopulatedLibrary
from tests.desktop.organize.grid_keys import click_into_grid

SHOTS = Path("/tmp/atelier_helpers/shots")


def curation(window: MainWindow) -> CurationActions:
    found = window.curation_actions  # type: ignore[attr-defined]
    assert isinstance(found, CurationActions)
    return found


def click_row(
    window: MainWindow, asset_id: int, modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier
) -> None:
    row = window.model.row_of(asset_id)
    assert row is not None
    table = window.table
    rect = table.visualRect(window.model.index(row, AssetColumn.NAME))
    QTest.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, modifier, rect.center())


def choose(qtbot: QtBot, combo: QComboBox, text: str) -> None:
    """Picks the entry ``text`` with the arrow keys on the focused combo, as a keyboard user does (each
    key press is a real ``activated`` choice)."""
    target = combo.findText(text)
    assert target >= 0, text
    combo.window().activateWindow()
    combo.setFocus()
    qtbot.waitUntil(combo.hasFocus, timeout=3000)
    key = Qt.Key.Key_Down if target > combo.currentIndex() else Qt.Key.Key_Up
    while combo.currentIndex() != target:
        QTest.keyClick(combo, key)


def shoot(widget: object, name: str) -> None:
    if SHOTS.is_dir():
        widget.grab().save(str(SHOTS / name))  # type: ignore[attr-defined]


def test_bulk_edit_dialog_on_a_multi_selection(
    window: MainWindow, populated: PopulatedLibrary, qtbot: QtBot
) -> None:
    library = populated.library
    ids = populated.ids
    window.set_view_mode("table")
    click_row(window, ids["dreamshaper_8"])
    click_row(window, ids["pixelArtStyle"], Qt.KeyboardModifier.ControlModifier)
    click_row(window, ids["easynegative"], Qt.KeyboardModifier.ControlModifier)
    assert len(window.selected_records()) == 3

    QTest.keyClick(window, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    dialog = curation(window).dialog
    assert isinstance(dialog, BulkEditDialog)
    qtbot.waitExposed(dialog)
    assert dialog.windowTitle() == "Edit 3 files"
    # Mixed values are shown as mixed: dreamshaper is a favorite rated 4, the others are not.
    assert dialog.rating.currentText() == "(mixed)"
    assert dialog.favorite.checkState() == Qt.CheckState.PartiallyChecked
    assert dialog.favorite.text() == "Favorite (mixed)"
    assert "On some: style (mixed)" in dialog.tags_summary.text()
    shoot(dialog, "curation_bulk_edit.png")

    dialog.add_tags.setFocus()
    QTest.keyClicks(dialog.add_tags, "keeper, sd1")
    QTest.keyClicks(dialog.add_collections, "Favorites 2026")
    nsfw: QCheckBox = dialog.nsfw
    QTest.mouseClick(
        nsfw, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(8, nsfw.height() // 2)
    )
    assert nsfw.isChecked()
    apply: QPushButton = dialog.findChild(QPushButton, "applyBulkEdit")
    assert apply.text() == "Apply to 3 files"
    QTest.mouseClick(apply, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=3000)

    records = library.get_many([ids["dreamshaper_8"], ids["pixelArtStyle"], ids["easynegative"]])
    assert [r.tags for r in records] == [("keeper", "sd1"), ("style", "keeper", "sd1"), ("keeper", "sd1")]
    assert all(r.collections == ("Favorites 2026",) for r in records)
    assert all(r.nsfw for r in records)
    assert [r.favorite for r in records] == [True, False, False]  # left mixed: each keeps its own
    assert [r.rating for r in records] == [4, 0, 0]
    assert "keeper" in [window.filter_bar.tag.itemText(i) for i in range(window.filter_bar.tag.count())]


def test_hide_from_the_context_section_and_show_with_the_filter(
    window: MainWindow, populated: PopulatedLibrary, qtbot: QtBot
) -> None:
    ids = populated.ids
    before = window.model.rowCount()
    window.set_view_mode("table")
    click_row(window, ids["mystery"])
    menu = QMenu()
    curation(window).add_context_section(menu, window.selected_records())
    hide = next(action for action in menu.actions() if action.text() == "Hide")
    hide.trigger()
    assert window.model.rowCount() == before - 1
    assert window.model.row_of(ids["mystery"]) is None
    choose(qtbot, window.filter_bar.hidden, "Hidden only")
    qtbot.waitUntil(lambda: window.model.rowCount() == 1, timeout=3000)
    assert window.model.row_of(ids["mystery"]) == 0
    assert populated.library.search_ids(AssetQuery(hidden=HiddenFilter.ONLY)) == [ids["mystery"]]


def test_override_in_the_details_pane_and_reset(
    window: MainWindow, populated: PopulatedLibrary, qtbot: QtBot
) -> None:
    ids = populated.ids
    window.set_view_mode("table")
    click_row(window, ids["animeLineart"])
    details = window.details
    qtbot.waitUntil(
        lambda: details.record is not None and details.record.id == ids["animeLineart"], timeout=3000
    )
    identity = details.identity
    details.ensureWidgetVisible(identity)
    assert identity.kind.currentText() == "LoRA (file)"
    assert not identity.reset.isVisible()

    choose(qtbot, identity.kind, "Embedding")
    record = populated.library.get(ids["animeLineart"])
    assert record is not None
    assert (record.kind, record.file_kind) == (AssetKind.EMBEDDING, AssetKind.LORA)
    assert identity.note.text() == "Embedding (you set; file says LoRA)"
    assert identity.reset.isVisible()
    assert populated.library.search_ids(AssetQuery(kinds=(AssetKind.EMBEDDING,))) == sorted(
        [ids["easynegative"], ids["animeLineart"]],
        key=lambda i: populated.library.get(i).file_name.lower(),  # type: ignore[union-attr]
    )
    # The table row follows (the kind column shows the user's word).
    row = window.model.row_of(ids["animeLineart"])
    assert row is not None
    kind_cell = window.model.index(row, AssetColumn.KIND)
    assert kind_cell.data() == "Embedding*"
    assert kind_cell.data(Qt.ItemDataRole.ToolTipRole) == "Embedding (you set; file says LoRA)"
    architecture_cell = window.model.index(row, AssetColumn.ARCHITECTURE)
    assert not architecture_cell.data().endswith("*")  # the file's own, unmarked
    badge_texts = [details._badges.itemAt(i).widget().text() for i in range(details._badges.count())]
    assert "Embedding (you set)" in badge_texts
    details.ensureWidgetVisible(identity.reset)
    shoot(window, "curation_override_details.png")

    QTest.mouseClick(identity.reset, Qt.MouseButton.LeftButton)
    record = populated.library.get(ids["animeLineart"])
    assert record is not None
    assert (record.kind, record.kind_override) == (AssetKind.LORA, None)
    assert not identity.reset.isVisible()
    assert window.model.index(row, AssetColumn.KIND).data() == "LoRA · LoHa"  # no mark: the file's own


def test_the_details_pane_starts_at_the_title_of_another_asset(
    window: MainWindow, populated: PopulatedLibrary, qtbot: QtBot
) -> None:
    ids = populated.ids
    window.set_view_mode("table")
    details = window.details
    bar = details.verticalScrollBar()
    window.resize(1360, 560)  # a laptop's height: the pane scrolls
    click_row(window, ids["animeLineart"])
    qtbot.waitUntil(lambda: bar.maximum() > 0, timeout=3000)
    # Scrolled down with Page Down on the scroll bar, as a user reads the hashes.
    while bar.value() < bar.maximum():
        before = bar.value()
        QTest.keyClick(bar, Qt.Key.Key_PageDown)
        if bar.value() == before:
            break
    assert bar.value() > 0
    # The same asset shown again (as after an edit in the pane) keeps the place.
    scrolled = bar.value()
    details.show_asset(populated.library.get(ids["animeLineart"]))
    assert bar.value() == scrolled
    click_row(window, ids["dreamshaper_8"])
    qtbot.waitUntil(lambda: details.record is not None and details.record.id == ids["dreamshaper_8"])
    assert bar.value() == 0


def test_trigger_words_and_weight_are_edited_in_the_pane(
    window: MainWindow, populated: PopulatedLibrary, qtbot: QtBot
) -> None:
    ids = populated.ids
    window.set_view_mode("table")
    click_row(window, ids["animeLineart"])
    usage = window.details.usage
    window.details.ensureWidgetVisible(usage)
    usage.trigger_words.setFocus()
    QTest.keyClicks(usage.trigger_words, "lineart, monochrome")
    QTest.keyClick(usage.trigger_words, Qt.Key.Key_Return)
    usage.weight.setFocus()
    QTest.keyClicks(usage.weight, "0.65")
    QTest.keyClick(usage.weight, Qt.Key.Key_Return)
    record = populated.library.get(ids["animeLineart"])
    assert record is not None
    assert record.trigger_words == ("lineart", "monochrome")
    assert record.preferred_weight == 0.65


def test_cover_from_an_image_file(
    window: MainWindow, populated: PopulatedLibrary, tmp_path: Path, qtbot: QtBot
) -> None:
    from PIL import Image

    ids = populated.ids
    window.set_view_mode("table")
    click_row(window, ids["dreamshaper_8"])
    picture = tmp_path / "my cover.webp"
    Image.new("RGB", (90, 120), (10, 200, 90)).save(picture)
    window.details.cover_button.choose_image(picture)
    record = populated.library.get(ids["dreamshaper_8"])
    assert record is not None
    assert record.cover_path is not None
    cover = Path(record.cover_path)
    assert cover.parent == populated.library.path.parent / "covers"
    with Image.open(cover) as image:
        assert (image.format, image.size) == ("PNG", (90, 120))
    assert not (populated.root_dir / "dreamshaper_8.preview.png").exists()  # nothing written by the model


def test_deleted_files_dialog_lists_and_forgets(
    window: MainWindow, populated: PopulatedLibrary, qtbot: QtBot
) -> None:
    with populated.library._db.session_scope(write=True) as session:
        session.add(
            DeletedFile(
                path=str(populated.root_dir / "old_lora.safetensors"),
                file_name="old_lora.safetensors",
                kind="lora",
                size=100,
                sha256="AB" * 32,
                site="civitai",
                model_id="4201",
                version_id="130072",
                model_name="Detail Tweaker",
                version_name="v1.0",
                deleted_at=datetime(2026, 11, 30, 12, 0, tzinfo=UTC),
            )
        )
    curation(window).deleted_action.trigger()
    dialog = curation(window).deleted_dialog
    assert isinstance(dialog, DeletedFilesDialog)
    qtbot.waitExposed(dialog)
    assert dialog.model.rowCount() == 1
    assert dialog.model.item(0, 0).text() == "Detail Tweaker"
    assert "version 130072" in dialog.model.item(0, 1).text()
    shoot(dialog, "curation_deleted_files.png")
    rect = dialog.table.visualRect(dialog.model.index(0, 0))
    QTest.mouseClick(
        dialog.table.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, rect.center()
    )
    assert dialog.forget.isEnabled()
    QTest.mouseClick(dialog.forget, Qt.MouseButton.LeftButton)
    assert dialog.model.rowCount() == 0
    assert populated.library.deleted_files() == []
    QApplication.processEvents()


def test_a_render_becomes_the_cover_from_the_cover_menu(
    window: MainWindow, populated: PopulatedLibrary, qtbot: QtBot
) -> None:
    from PIL import Image

    from catalog.records import NewRender, RenderAssetLink, RenderRole

    library = populated.library
    ids = populated.ids
    library.renders_dir.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (64, 64), (250, 200, 0)).save(library.renders_dir / "r1.png")
    render = library.add_render(
        NewRender(
            path="r1.png",
            width=64,
            height=64,
            seed=1,
            recipe={},
            assets=(RenderAssetLink(ids["dreamshaper_8"], RenderRole.CHECKPOINT),),
        )
    )
    window.set_view_mode("table")
    click_row(window, ids["dreamshaper_8"])
    button = window.details.cover_button
    button.renders_menu.aboutToShow.emit()  # what opening the submenu does: list this file's renders
    (choice,) = [a for a in button.renders_menu.actions() if a.text().startswith(f"#{render.id} ")]
    assert choice.text().endswith("uses this file")
    choice.trigger()
    record = library.get(ids["dreamshaper_8"])
    assert record is not None
    assert record.cover_path == render.path
    assert window.details.record is not None
    assert window.details.record.cover_path == render.path


def test_write_sidecars_from_the_context_section(
    window: MainWindow, populated: PopulatedLibrary, qtbot: QtBot
) -> None:
    import json

    ids = populated.ids
    library = populated.library
    from catalog.records import UserDataChanges

    library.update_user_data(
        ids["pixelArtStyle"],
        UserDataChanges(notes="best at 0.6", preferred_weight=0.6, trigger_words=("pixel",)),
    )
    window.set_view_mode("table")
    click_row(window, ids["pixelArtStyle"])
    menu = QMenu()
    curation(window).add_context_section(menu, window.selected_records())
    next(action for action in menu.actions() if action.text() == "Write sidecars").trigger()
    written = json.loads((populated.root_dir / "pixelArtStyle.json").read_text(encoding="utf-8"))
    assert written["activation text"] == "pixel"
    assert written["preferred weight"] == 0.6
    assert written["notes"] == "best at 0.6"
    assert written["sd version"] == "SDXL"
    assert window.status.flashed() == "Wrote sidecars for 1 file"


def test_deleted_files_dialog_restores_what_the_trash_still_has(
    window: MainWindow, populated: PopulatedLibrary, trash_home: Path, qtbot: QtBot
) -> None:
    from app.organize.engine import delete_assets

    library, ids, root = populated.library, populated.ids, populated.root_dir
    delete_assets(library, [ids["pixelArtStyle"]])
    delete_assets(library, [ids["sdxl_vae"]])
    (trash_home / "files" / "sdxl_vae.safetensors").unlink()  # the user emptied it from the trash since
    with library._db.session_scope(write=True) as session:
        session.add(  # deleted by another tool: remembered (e.g. by an import), never journaled
            DeletedFile(
                path=str(root / "elsewhere.safetensors"),
                file_name="elsewhere.safetensors",
                kind="lora",
                size=100,
                sha256="CD" * 32,
                deleted_at=datetime(2026, 11, 30, 12, 0, tzinfo=UTC),
            )
        )
    curation(window).deleted_action.trigger()
    dialog = curation(window).deleted_dialog
    assert isinstance(dialog, DeletedFilesDialog)
    qtbot.waitExposed(dialog)

    def click(file_name: str) -> None:
        row = next(
            r for r in range(dialog.model.rowCount()) if dialog.model.item(r, 0).toolTip() == file_name
        )
        rect = dialog.table.visualRect(dialog.model.index(row, 0))
        QTest.mouseClick(
            dialog.table.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, rect.center()
        )

    assert dialog.model.rowCount() == 3
    click("elsewhere.safetensors")
    assert not dialog.restore.isEnabled()
    assert dialog.restore.toolTip().startswith("Deleted by another tool")
    click("sdxl_vae.safetensors")
    assert not dialog.restore.isEnabled()
    assert dialog.restore.toolTip() == "Emptied from the trash: the file is gone"
    click("pixelArtStyle.safetensors")
    assert dialog.restore.isEnabled()
    assert dialog.restore.toolTip().startswith("Put it back from the trash")
    shoot(dialog, "curation_fix_deleted_restore.png")
    with qtbot.waitSignal(window.job_ended, timeout=10000):
        QTest.mouseClick(dialog.restore, Qt.MouseButton.LeftButton)
    assert (root / "pixelArtStyle.safetensors").exists()
    assert (root / "pixelArtStyle.preview.png").exists()
    record = library.get(ids["pixelArtStyle"])
    assert record is not None
    assert record.tags == ("style",)  # the catalog entry and the user's data are back
    qtbot.waitUntil(lambda: dialog.model.rowCount() == 2, timeout=3000)
    names = {dialog.model.item(r, 0).toolTip() for r in range(dialog.model.rowCount())}
    assert names == {"sdxl_vae.safetensors", "elsewhere.safetensors"}


def test_a_wheel_over_the_kind_does_not_override_it(
    window: MainWindow, populated: PopulatedLibrary, qtbot: QtBot
) -> None:
    from PySide6.QtCore import QPointF
    from PySide6.QtGui import QWheelEvent

    ids = populated.ids
    window.set_view_mode("table")
    window.resize(1360, 560)
    click_row(window, ids["animeLineart"])
    details = window.details
    kind = details.identity.kind
    details.ensureWidgetVisible(kind)
    window.table.setFocus()  # the user scrolls the pane, the kind was never clicked
    # Delivered to the window as the windowing system does: Qt finds the widget under the pointer.
    centre = QPointF(kind.mapTo(window, kind.rect().center()))
    for _ in range(3):  # the wheel turned towards the reader, with the pointer over the kind
        wheel = QWheelEvent(
            centre,
            QPointF(kind.mapToGlobal(kind.rect().center())),
            QPoint(0, -120),
            QPoint(0, -120),
            Qt.MouseButton.NoButton,
            Qt.KeyboardModifier.NoModifier,
            Qt.ScrollPhase.NoScrollPhase,
            False,
        )
        QApplication.sendEvent(window.windowHandle(), wheel)
    record = populated.library.get(ids["animeLineart"])
    assert record is not None
    assert record.kind_override is None
    assert kind.currentText() == "LoRA (file)"


def test_f2_works_at_once_after_the_bulk_edit_dialog_is_closed_with_esc(
    qtbot: QtBot, window: MainWindow, populated: PopulatedLibrary
) -> None:
    """The outside tester pressed Ctrl+E, then Esc, then F2: nothing happened until he clicked the grid
    (no window manager hands the activation back on Xvfb). The view has the keys again at once."""
    click_into_grid(qtbot, window, populated.ids["sdxl_vae"])
    grid = window.grid
    QTest.keyClick(grid, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    dialog = curation(window).dialog
    qtbot.waitUntil(lambda: QApplication.activeWindow() is dialog, timeout=2000)
    QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=2000)

    qtbot.waitUntil(lambda: QApplication.focusWidget() is grid, timeout=2000)
    QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_F2)
    files = window.file_actions  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: files.rename_dialog is not None, timeout=2000)
    files.rename_dialog.reject()
