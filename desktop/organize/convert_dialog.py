"""“Convert to safetensors…” in the library's context menu, and the dialog that asks how.

The dialog shows the file and the new name beside it, and offers the three choices of ``app.convert``:
fp16 (half the size; refused with the tensor's name if a value would overflow), EMA pruning (checkpoints
only: the EMA copy and optimizer state A1111 never loads) and trashing the old file (undoable from the
Edit menu). The conversion runs as a window job (progress and Cancel in the status bar); the views reload
when it ends and the status bar says what was written. A file that cannot be converted (an unsafe
pickle, a safetensors file, a hypernetwork...) gets a disabled entry that says why.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, cast

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QMenu,
    QVBoxLayout,
    QWidget,
)

from catalog.records import AssetRecord
from core.jobs import CancelToken, ProgressCallback
from core.sizes import human_size
from core.taxonomy import AssetKind, FileStatus

if TYPE_CHECKING:
    from catalog.library import Library
    from desktop.main_window import MainWindow

# ``app.convert`` (and through it the pickle reader, numpy and safetensors) is imported on first use, so
# the window opens without it.

MENU_TEXT = "Convert to safetensors…"


def install_convert(window: MainWindow) -> ConvertActions:
    """Adds “Convert to safetensors…” to the library's context menu."""
    actions = ConvertActions(window)
    window.convert_actions = actions  # type: ignore[attr-defined]
    return actions


def short_refusal(record: AssetRecord) -> str:
    """The few words shown after the disabled menu entry (the full reason is its tooltip)."""
    from core.convert.convert import safetensors_target

    if record.status is FileStatus.UNSAFE:
        return "unsafe pickle"
    if record.format.value == "safetensors":
        return "already safetensors"
    if record.status is FileStatus.MISSING:
        return "file missing"
    if record.status is FileStatus.CORRUPT:
        return "unreadable"
    if record.kind is AssetKind.HYPERNETWORK:
        return "hypernetworks stay .pt"
    if safetensors_target(Path(record.path)).exists():
        return f"{safetensors_target(Path(record.path)).name} exists"
    return "not a torch pickle"


class ConvertDialog(QDialog):
    """Asks for fp16 / prune / trash-the-old-file before converting one file."""

    def __init__(self, record: AssetRecord, parent: QWidget | None = None) -> None:
        from core.convert.convert import safetensors_target

        super().__init__(parent)
        self.record = record
        self.setWindowTitle("Convert to safetensors")
        self.setObjectName("convertDialog")
        source = Path(record.path)
        target = safetensors_target(source)
        layout = QVBoxLayout(self)
        heading = QLabel(
            f"Convert <b>{source.name}</b> ({human_size(record.size)}) to <b>{target.name}</b> beside it?"
        )
        heading.setWordWrap(True)
        layout.addWidget(heading)
        explain = QLabel(
            "The new file holds the same tensors and metadata and is read back and checked before it gets "
            "its name. Your name, notes, tags, rating, collections and previews come with it; sidecars "
            "keep working because the name before the extension stays the same."
        )
        explain.setWordWrap(True)
        explain.setObjectName("hint")
        layout.addWidget(explain)
        self.fp16_box = QCheckBox("Store floating-point weights as fp16 (about half the size)")
        self.fp16_box.setToolTip(
            "fp32 and bf16 tensors become fp16; a value fp16 cannot hold stops the conversion with its name"
        )
        self.prune_box = QCheckBox("Prune EMA weights and optimizer state (checkpoints)")
        is_checkpoint = record.kind in {AssetKind.CHECKPOINT, AssetKind.UNKNOWN}
        self.prune_box.setEnabled(is_checkpoint)
        self.prune_box.setToolTip(
            "Drops model_ema.* and optimizer state, which A1111, Forge and ComfyUI never load"
            if is_checkpoint
            else f"Only checkpoints carry EMA weights; this is a {record.kind.value}"
        )
        self.trash_box = QCheckBox(f"Move {source.name} to the trash afterwards (undo from the Edit menu)")
        for box in (self.fp16_box, self.prune_box, self.trash_box):
            layout.addWidget(box)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.convert_button = buttons.addButton("Convert", QDialogButtonBox.ButtonRole.AcceptRole)
        self.convert_button.setDefault(True)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)


class ConvertActions:
    """The context-menu section and the jobs; one per window (``window.convert_actions``)."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.library = cast("Library", window.library)
        self.dialog: ConvertDialog | None = None
        self._converted: dict[str, int] = {}  # job title -> the new file's asset id, once it exists
        window.context_menu_sections.append(self.add_context_section)
        window.job_ended.connect(self._select_converted)

    def add_context_section(self, menu: QMenu, records: list[AssetRecord]) -> None:
        from app.convert import convert_refusal

        menu.setToolTipsVisible(True)
        action = menu.addAction(MENU_TEXT)
        action.setObjectName("convertAction")
        if len(records) != 1:
            action.setText(f"{MENU_TEXT} (one file at a time)")
            action.setEnabled(False)
            return
        record = records[0]
        refusal = convert_refusal(record)
        if refusal is not None:
            action.setText(f"{MENU_TEXT} ({short_refusal(record)})")
            action.setToolTip(refusal)
            action.setEnabled(False)
            return
        action.setToolTip("Write a verified .safetensors copy beside it; the catalog follows")
        action.triggered.connect(lambda _checked=False: self.ask(record))

    def ask(self, record: AssetRecord) -> ConvertDialog:
        dialog = ConvertDialog(record, self.window)
        self.dialog = dialog

        def accepted() -> None:
            self.dialog = None
            self.convert(
                record,
                fp16=dialog.fp16_box.isChecked(),
                prune=dialog.prune_box.isChecked() and dialog.prune_box.isEnabled(),
                trash_old=dialog.trash_box.isChecked(),
            )

        dialog.accepted.connect(accepted)
        dialog.rejected.connect(lambda: setattr(self, "dialog", None))
        dialog.finished.connect(dialog.deleteLater)
        dialog.finished.connect(self.window.give_keys_back)
        dialog.open()
        return dialog

    def convert(self, record: AssetRecord, *, fp16: bool, prune: bool, trash_old: bool) -> None:
        library = self.library
        asset_id = record.id

        def job(progress: ProgressCallback, cancel: CancelToken) -> str:
            from app.convert import convert_asset

            outcome = convert_asset(
                library,
                asset_id,
                fp16=fp16,
                prune=prune,
                trash_old=trash_old,
                progress=progress,
                cancel=cancel,
            )
            self._converted[title] = outcome.asset.id
            return outcome.summary

        title = f"Converting {record.file_name}"
        self.window.run_job(title, job)

    def _select_converted(self, title: str) -> None:
        """After the job (the views have reloaded): the new .safetensors row selected, in the details."""
        asset_id = self._converted.pop(title, None)
        if asset_id is None:
            return
        row = self.window.model.row_of(asset_id)
        if row is not None:  # a filter may hide it (a "ckpt only" search, say): then nothing to show
            self.window.select_row(row)
