"""The organize dialogs as a user meets them: typed into, answered with the keyboard."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog
from pytestqt.qtbot import QtBot

from core.organize import names
from core.organize.plan import REASON_EXISTS, REASON_INSIDE, Conflict
from desktop.organize.conflict_dialog import ConflictChoice, ConflictDialog
from desktop.organize.delete_dialog import DeleteDialog, DeletedItem, delete_summary
from desktop.organize.rename_dialog import RenameDialog, name_problem, stem_length


def test_name_problems_are_said_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "taken.safetensors").write_bytes(b"x")
    (tmp_path / "mine.safetensors").write_bytes(b"x")
    assert name_problem("", tmp_path, "mine.safetensors") == "Type a name."
    assert name_problem("   ", tmp_path, "mine.safetensors") == "Type a name."
    assert "“/”" in (name_problem("a/b.safetensors", tmp_path, "mine.safetensors") or "")
    too_long = "é" * 128 + ".safetensors"  # 256 + 12 bytes in UTF-8 though only 140 characters
    assert (
        name_problem(too_long, tmp_path, "mine.safetensors")
        == "The name is too long: 268 bytes, at most 255."
    )
    assert name_problem("taken.safetensors", tmp_path, "mine.safetensors") == (
        "“taken.safetensors” already exists in this folder."
    )
    assert name_problem("mine.safetensors", tmp_path, "mine.safetensors") is None
    assert name_problem("ñandú lora (v2).safetensors", tmp_path, "mine.safetensors") is None


def test_on_windows_a_name_windows_would_change_or_refuse_is_said_while_typing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(names, "WINDOWS_NAME_RULES", True)
    current = "mine.safetensors"
    assert name_problem("a:b.safetensors", tmp_path, current) == (
        'Windows does not allow “:” in a name (nor any of < > : " | ? * or control characters).'
    )
    assert name_problem("CON.safetensors", tmp_path, current) == (
        "Windows keeps “CON” for a device, with any extension: choose another name."
    )
    assert name_problem("mine.safetensors.", tmp_path, current) == (
        "Windows drops a dot or space at the end of a name: remove it."
    )
    assert name_problem("a\\b.safetensors", tmp_path, current) == (
        "A name cannot contain “\\”: to move the file, use Move to… or drag it onto a folder."
    )
    monkeypatch.setattr(names, "WINDOWS_NAME_RULES", False)
    assert name_problem("a:b.safetensors", tmp_path, current) is None  # an ordinary name on Linux


def test_stem_selection() -> None:
    assert stem_length("pixel.art.safetensors", is_folder=False) == len("pixel.art")
    assert stem_length("noext", is_folder=False) == len("noext")
    assert stem_length(".hidden", is_folder=False) == len(".hidden")
    assert stem_length("sd-turbo.v1", is_folder=True) == len("sd-turbo.v1")


def test_rename_dialog_selects_the_stem_and_says_what_is_wrong(qtbot: QtBot, tmp_path: Path) -> None:
    model = tmp_path / "pixelArtStyle.safetensors"
    model.write_bytes(b"x")
    (tmp_path / "other.safetensors").write_bytes(b"x")
    dialog = RenameDialog(model)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    assert dialog.field.selectedText() == "pixelArtStyle"
    assert not dialog.rename_button.isEnabled()  # the same name: nothing to do yet
    qtbot.keyClicks(dialog.field, "other")  # typing replaces the selected stem
    assert dialog.field.text() == "other.safetensors"
    assert dialog.problem.isVisible()
    assert dialog.problem.text() == "“other.safetensors” already exists in this folder."
    qtbot.keyClick(dialog.field, Qt.Key.Key_Return)
    assert dialog.isVisible()  # Enter does not accept a taken name
    dialog.field.setSelection(0, len("other"))
    qtbot.keyClicks(dialog.field, "pixel/art")
    assert "“/”" in dialog.problem.text()
    dialog.field.selectAll()
    qtbot.keyClick(dialog.field, Qt.Key.Key_Delete)
    assert dialog.problem.text() == "Type a name."
    qtbot.keyClicks(dialog.field, "pixel art v2.ckpt")
    assert not dialog.problem.isVisible()
    assert dialog.warning.text() == (
        "The extension changes from .safetensors to .ckpt: tools read the file by its extension."
    )
    assert dialog.rename_button.isEnabled()  # said, not refused
    for _ in range(len("ckpt")):
        qtbot.keyClick(dialog.field, Qt.Key.Key_Backspace)
    qtbot.keyClicks(dialog.field, "safetensors")
    assert not dialog.warning.isVisible()
    assert dialog.rename_button.isEnabled()
    with qtbot.waitSignal(dialog.accepted, timeout=2000):
        qtbot.keyClick(dialog.field, Qt.Key.Key_Return)
    assert dialog.new_name() == "pixel art v2.safetensors"


def test_delete_dialog_names_files_sidecars_and_size(qtbot: QtBot, tmp_path: Path) -> None:
    items = [
        DeletedItem(
            tmp_path / "a.safetensors",
            3 * 2**20,
            ((tmp_path / "a.preview.png", 2**20), (tmp_path / "a.civitai.info", 1024)),
        ),
        DeletedItem(tmp_path / "b.pt", 1024),
    ]
    assert delete_summary(items) == "Move 2 files and 2 sidecars (4.0 MiB) to the trash?"
    assert delete_summary(items[:1]) == "Move “a.safetensors” and its 2 sidecars (4.0 MiB) to the trash?"
    assert delete_summary(items[1:]) == "Move “b.pt” (1.0 KiB) to the trash?"
    dialog = DeleteDialog(items)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    top = [dialog.files.topLevelItem(i).text(0) for i in range(dialog.files.topLevelItemCount())]
    assert top == ["a.safetensors", "b.pt"]
    first = dialog.files.topLevelItem(0)
    assert [first.child(i).text(0) for i in range(first.childCount())] == ["a.preview.png", "a.civitai.info"]
    assert first.text(1) == "3.0 MiB"
    with qtbot.waitSignal(dialog.rejected, timeout=2000):
        qtbot.keyClick(dialog, Qt.Key.Key_Escape)


def test_conflict_dialog_answered_by_keyboard(qtbot: QtBot, tmp_path: Path) -> None:
    conflicts = [
        Conflict(1, tmp_path / "a.safetensors", tmp_path / "to" / "a.safetensors", "already exists"),
        Conflict(2, tmp_path / "b.safetensors", tmp_path / "to" / "b.safetensors", "already exists"),
        Conflict(3, tmp_path / "d", tmp_path / "d" / "x", "inside itself", REASON_INSIDE),
    ]
    assert conflicts[0].code == REASON_EXISTS
    dialog = ConflictDialog(conflicts)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    assert dialog.choices() == [ConflictChoice.SKIP] * 3  # never overwrite; skip unless told
    first = dialog.combos[0]
    qtbot.waitUntil(first.hasFocus, timeout=2000)
    qtbot.keyClick(first, Qt.Key.Key_Down)  # Keep both
    assert dialog.choices()[0] is ConflictChoice.KEEP_BOTH
    qtbot.keyClick(dialog.combos[2], Qt.Key.Key_Down)  # "Keep both" is off for a folder into itself
    assert dialog.choices()[2] is ConflictChoice.SKIP
    with qtbot.waitSignal(dialog.accepted, timeout=2000):
        qtbot.keyClick(first, Qt.Key.Key_Return)
    assert dialog.choices() == [ConflictChoice.KEEP_BOTH, ConflictChoice.SKIP, ConflictChoice.SKIP]


def test_conflict_dialog_for_all_and_cancel(qtbot: QtBot, tmp_path: Path) -> None:
    conflicts = [
        Conflict(i, tmp_path / f"{i}.pt", tmp_path / "to" / f"{i}.pt", "already exists") for i in range(3)
    ]
    dialog = ConflictDialog(conflicts)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    dialog.all_choice.setFocus()
    qtbot.waitUntil(dialog.all_choice.hasFocus, timeout=2000)
    qtbot.keyClick(dialog.all_choice, Qt.Key.Key_Down)
    qtbot.keyClick(dialog.all_choice, Qt.Key.Key_Down)  # "Keep both" for every row
    assert dialog.choices() == [ConflictChoice.KEEP_BOTH] * 3
    with qtbot.waitSignal(dialog.finished, timeout=2000) as finished:
        qtbot.keyClick(dialog.all_choice, Qt.Key.Key_Escape)
    assert finished.args == [QDialog.DialogCode.Rejected]


def test_a_model_renamed_without_its_extension_keeps_it(qtbot: QtBot, tmp_path: Path) -> None:
    """Ctrl+A and a new name (the extension typed away): the file keeps .safetensors, as ``atelier
    rename`` does; renamed to a bare ``detail`` it was no model any more and left the library."""
    model = tmp_path / "sd1-lora-unet.safetensors"
    model.write_bytes(b"x")
    (tmp_path / "taken.safetensors").write_bytes(b"x")
    dialog = RenameDialog(model)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    qtbot.keyClick(dialog.field, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(dialog.field, "taken")
    assert (
        dialog.problem.text() == "“taken.safetensors” already exists in this folder."
    )  # the name it would get
    dialog.field.selectAll()
    qtbot.keyClicks(dialog.field, "sd1-lora-unet")
    assert not dialog.rename_button.isEnabled()  # the same name once the extension is kept
    dialog.field.selectAll()
    qtbot.keyClicks(dialog.field, "detail_renamed")
    assert dialog.warning.text() == "It keeps its .safetensors extension: detail_renamed.safetensors"
    with qtbot.waitSignal(dialog.accepted, timeout=2000):
        qtbot.keyClick(dialog.field, Qt.Key.Key_Return)
    assert dialog.new_name() == "detail_renamed.safetensors"
