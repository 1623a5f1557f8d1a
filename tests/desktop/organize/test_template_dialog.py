"""Organize › Organize by template… on the real window over real files: typing a template shows the live
plan (moves, highlighted conflicts, unchanged count), a bad template is said in one line, the scope and
target choices change the plan, Apply moves the files (sidecars along) as a window job and the library
follows; Cancel leaves everything consistent."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QBrush
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QCheckBox, QMenu
from pytestqt.qtbot import QtBot

from app.organize.oplock import operation_lock
from catalog.library import Library
from catalog.records import AssetQuery
from core.jobs import Progress
from desktop.main_window import MainWindow
from desktop.organize import template_dialog
from desktop.organize.template_dialog import CONFLICT_BACKGROUND, TemplateDialog
from tests.app.organize.template_library import linked_lora, open_library, write_embedding
from tests.desktop.conftest import FakeSettings, ServicesFactory

SHOTS = Path("/tmp/atelier_helpers/shots")


@dataclass
class TemplateSettings(FakeSettings):
    organize_template: str = ""


@pytest.fixture(autouse=True)
def _plan_soon(monkeypatch: pytest.MonkeyPatch) -> None:
    """The plan starts 20 ms after the template changes instead of the user's 250 ms: the tests type
    a whole template at once (no event loop turns between the keys) and wait for the plan, so only the
    wait shortens; the same timer restarts on each change."""
    monkeypatch.setattr(template_dialog, "PLAN_DELAY_MS", 20)


@pytest.fixture
def real_library(tmp_path: Path) -> Iterator[tuple[Library, Path]]:
    root = tmp_path / "models"
    linked_lora(root / "incoming")
    for index in range(4):
        write_embedding(root / "downloads" / f"embedding{index}.safetensors", index, sdxl=index % 2 == 1)
    library = open_library(tmp_path / "data", root)
    try:
        yield library, root.resolve()
    finally:
        library.close()


@pytest.fixture
def window(
    real_library: tuple[Library, Path], make_services: ServicesFactory, trash_home: Path, qtbot: QtBot
) -> Iterator[MainWindow]:
    library, _root = real_library
    main = MainWindow(make_services(library, settings=TemplateSettings()))
    qtbot.addWidget(main)
    main.resize(1360, 860)
    main.show()
    qtbot.waitExposed(main)
    yield main
    main.close()


def _open(window: MainWindow, qtbot: QtBot) -> TemplateDialog:
    organizer = window.template_organizer  # type: ignore[attr-defined]
    assert organizer.action in window.organize_menu.actions()
    organizer.action.trigger()
    dialog: TemplateDialog = organizer.dialog
    qtbot.waitExposed(dialog)
    qtbot.waitUntil(lambda: dialog.plan is not None, timeout=5000)
    return dialog


def _type_template(dialog: TemplateDialog, qtbot: QtBot, text: str) -> None:
    edit = dialog.template_edit
    edit.setFocus()
    QTest.keyClick(edit, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClick(edit, Qt.Key.Key_Delete)
    QTest.keyClicks(edit, text)
    qtbot.waitUntil(lambda: not dialog.planning, timeout=5000)


def _rows(dialog: TemplateDialog) -> list[tuple[str, str, str, bool]]:
    model = dialog.model
    return [
        (row.source, row.target, row.note, row.conflict)
        for row in (model.row(i) for i in range(model.rowCount()))
    ]


def _click_box(box: QCheckBox) -> None:
    """A click on the check box's square (the box spans the form's width; its text is short)."""
    QTest.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(6, box.height() // 2))


def _shot(widget: object, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    QApplication.processEvents()
    widget.grab().save(str(SHOTS / name))  # type: ignore[attr-defined]


def test_typing_a_template_shows_the_plan_live(window: MainWindow, qtbot: QtBot) -> None:
    dialog = _open(window, qtbot)
    _type_template(dialog, qtbot, "{kind}/{architecture}/{creator}")

    rows = _rows(dialog)
    assert ("incoming/detail_tweaker.safetensors", "LoRA/SD 1.x/OedoSoldier/detail_tweaker.safetensors") in [
        (source, target) for source, target, _, _ in rows
    ]
    assert ("downloads/embedding1.safetensors", "Embedding/SDXL/embedding1.safetensors", "", False) in rows
    lora = next(row for row in rows if row[0] == "incoming/detail_tweaker.safetensors")
    assert lora[2] == "with 1 sidecar and 1 preview"
    assert dialog.summary_label.text() == (
        "5 files to move (7 with sidecars and previews) · 0 conflicts · 0 already in place"
    )
    assert dialog.apply_button.isEnabled()
    assert dialog.apply_button.text() == "Apply (5 moves)"
    _shot(dialog, "template_dialog_plan.png")


def test_conflicts_are_highlighted_and_a_bad_template_is_one_line(window: MainWindow, qtbot: QtBot) -> None:
    dialog = _open(window, qtbot)
    _type_template(dialog, qtbot, "{kind}/same.{ext}")

    conflicts = [row for row in _rows(dialog) if row[3]]
    assert len(conflicts) == 3  # four embeddings to one name: the first moves, three are refused
    assert all("another file of this operation goes to" in note for _, _, note, _ in conflicts)
    first = dialog.model.index(0, 0)
    background = dialog.model.data(first, Qt.ItemDataRole.BackgroundRole)
    assert isinstance(background, QBrush)
    assert background.color() == CONFLICT_BACKGROUND
    assert "3 conflicts (left where they are)" in dialog.summary_label.text()
    _shot(dialog, "template_dialog_conflicts.png")

    _click_box(dialog.rename_box)  # number the taken names instead
    assert dialog.rename_box.isChecked()
    qtbot.waitUntil(lambda: not dialog.planning and dialog.plan is not None, timeout=5000)
    rows = _rows(dialog)
    assert not [row for row in rows if row[3]]
    assert sorted(target for _, target, _, _ in rows if target.startswith("Embedding/")) == [
        "Embedding/same (2).safetensors",
        "Embedding/same (3).safetensors",
        "Embedding/same (4).safetensors",
        "Embedding/same.safetensors",
    ]
    assert "0 conflicts" in dialog.summary_label.text()
    _shot(dialog, "template_fix_rename_conflicts.png")
    _click_box(dialog.rename_box)

    _type_template(dialog, qtbot, "{kind}/{creater}")
    assert dialog.error_label.isVisible()
    assert dialog.error_label.text().startswith(
        "unknown field {creater} in the template (did you mean {creator}?)"
    )
    assert not dialog.apply_button.isEnabled()
    assert dialog.apply_button.text() == "Apply"
    assert dialog.model.rowCount() == 0
    _shot(dialog, "template_dialog_error.png")


def test_insert_field_and_scope_and_target(window: MainWindow, qtbot: QtBot) -> None:
    dialog = _open(window, qtbot)
    _type_template(dialog, qtbot, "{kind}")
    field = next(a for a in dialog.fields_menu.actions() if a.text() == "{creator}")
    assert "creator on Civitai" in field.toolTip()
    dialog.template_edit.end(False)
    field.trigger()
    assert dialog.template_edit.text() == "{kind}/{creator}"
    qtbot.waitUntil(lambda: not dialog.planning, timeout=5000)

    combo = dialog.scope_combo
    lora_scope = next(i for i in range(combo.count()) if combo.itemText(i).startswith("LoRA files"))
    combo.setFocus()
    while combo.currentIndex() != lora_scope:
        QTest.keyClick(combo, Qt.Key.Key_Down)
    qtbot.waitUntil(lambda: not dialog.planning and dialog.plan is not None, timeout=5000)
    assert [row[1] for row in _rows(dialog)] == ["LoRA/OedoSoldier/detail_tweaker.safetensors"]


def test_apply_moves_the_files_as_a_job_and_the_library_follows(
    window: MainWindow, real_library: tuple[Library, Path], qtbot: QtBot
) -> None:
    library, root = real_library
    dialog = _open(window, qtbot)
    _type_template(dialog, qtbot, "{kind}/{architecture}/{creator}")
    dialog.remember_box.setChecked(True)

    with qtbot.waitSignal(window.job_ended, timeout=15000):
        QTest.mouseClick(dialog.apply_button, Qt.MouseButton.LeftButton)
    assert not dialog.isVisible()
    target = root / "LoRA" / "SD 1.x" / "OedoSoldier"
    assert sorted(p.name for p in target.iterdir()) == [
        "detail_tweaker.civitai.info",
        "detail_tweaker.preview.png",
        "detail_tweaker.safetensors",
    ]
    assert not (root / "incoming").exists()
    record = library.get_by_path(target / "detail_tweaker.safetensors")
    assert record is not None
    shown = {window.model.record(row).path for row in range(window.model.rowCount())}  # type: ignore[union-attr]
    assert str(target / "detail_tweaker.safetensors") in shown  # the views were re-read
    assert window.status.job_label.text() == "Organize by template: moved 5 files"
    assert window.services.settings.organize_template == "{kind}/{architecture}/{creator}"  # type: ignore[attr-defined]
    _shot(window, "template_window_after.png")

    again = _open(window, qtbot)
    assert again.template_edit.text() == "{kind}/{architecture}/{creator}"  # remembered
    assert again.summary_label.text() == "0 files to move · 0 conflicts · 5 already in place"
    assert not again.apply_button.isEnabled()


def _cancel_at(window: MainWindow, library: Library, qtbot: QtBot, when: Callable[[Progress], bool]) -> None:
    """Apply, then click the real Cancel button while the job is held at the first progress report that
    ``when`` accepts (on the job's thread), and let it go on: a cancel at a known point of the run."""
    reached, go_on = threading.Event(), threading.Event()

    def hold(progress: Progress) -> None:  # runs on the job's thread, before the file it names moves
        if not reached.is_set() and when(progress):
            reached.set()
            go_on.wait(10)

    with operation_lock(library.path):  # another operation runs: the job waits for it, not yet moving
        dialog: TemplateDialog = window.template_organizer.dialog  # type: ignore[attr-defined]
        QTest.mouseClick(dialog.apply_button, Qt.MouseButton.LeftButton)
        handle = window.current_job
        assert handle is not None
        handle.signals.progressed.connect(hold, Qt.ConnectionType.DirectConnection)
        qtbot.waitUntil(lambda: "Waiting for another" in window.status.job_label.text(), timeout=5000)
        QTest.qWait(120)  # the job's next progress report is not held back as too soon after this one
    qtbot.waitUntil(reached.is_set, timeout=5000)
    with qtbot.waitSignal(window.job_ended, timeout=15000):
        QTest.mouseClick(window.status.cancel_button, Qt.MouseButton.LeftButton)
        go_on.set()


def _moved(root: Path) -> list[Path]:
    return [p for p in root.rglob("*.safetensors") if p.relative_to(root).parts[0] in ("LoRA", "Embedding")]


def test_cancel_says_how_many_moved_and_keeps_the_library_consistent(
    window: MainWindow, real_library: tuple[Library, Path], qtbot: QtBot
) -> None:
    """Cancel clicked while the first file moves: that one is kept (and said), the other four stay."""
    library, root = real_library
    dialog = _open(window, qtbot)
    _type_template(dialog, qtbot, "{kind}/{architecture}")

    _cancel_at(window, library, qtbot, lambda progress: bool(progress.total))

    assert window.status.job_label.text() == (
        "Organize by template stopped: 1 of 5 files moved (Edit › Undo reverses them)"
    )
    assert len(_moved(root)) == 1
    for record in library.search(AssetQuery()):
        assert Path(record.path).exists()
    _shot(window, "template_fix_cancelled.png")


def test_a_cancel_after_the_last_file_says_everything_moved(
    window: MainWindow, real_library: tuple[Library, Path], qtbot: QtBot
) -> None:
    library, root = real_library
    dialog = _open(window, qtbot)
    _type_template(dialog, qtbot, "{kind}/{architecture}")

    _cancel_at(
        window, library, qtbot, lambda progress: bool(progress.total) and progress.done == progress.total
    )

    assert window.status.job_label.text() == (
        "Organize by template: moved 5 files, all of them, before Cancel took effect"
    )
    assert len(_moved(root)) == 5


def test_the_context_menu_organizes_the_selection(
    window: MainWindow, real_library: tuple[Library, Path], qtbot: QtBot
) -> None:
    library, root = real_library
    records = [library.get_by_path(root / "downloads" / f"embedding{i}.safetensors") for i in (0, 1)]
    assert all(records)
    menu = QMenu(window)
    for section in window.context_menu_sections:
        section(menu, records)  # type: ignore[arg-type]
    action = next(a for a in menu.actions() if a.text() == "Organize by template…")
    action.trigger()
    dialog: TemplateDialog = window.template_organizer.dialog  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: dialog.plan is not None, timeout=5000)
    assert dialog.scope_combo.currentText() == "The 2 selected files"
    _type_template(dialog, qtbot, "{kind}")
    assert sorted(row[0] for row in _rows(dialog)) == [
        "downloads/embedding0.safetensors",
        "downloads/embedding1.safetensors",
    ]
