"""The board's hires fix controls, as A1111's txt2img offers them: upscaler, factor or size, steps,
denoising strength, under one check box that turns the second pass on.

A1111's "Resize width to / height to" win over "Upscale by" when set; 0 leaves them to the factor, and
one side 0 keeps the proportions. The line under the controls says the size the second pass renders
at, computed by :func:`core.render.hires.target_size` (the same as the render). An upscaler named by
pasted parameters that Atelier cannot run ("4x-UltraSharp") is shown as written and refused by name
at Render, never replaced.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QSpinBox,
    QWidget,
)

from core.render.hires import DEFAULT_DENOISING, UPSCALERS, HiresFix, target_size, upscaler_refusal
from core.render.recipe import MAX_SIZE, MAX_STEPS
from desktop.compose.wheel_guard import guard_wheel

_SIZE_STEP = 8


def _resize_box(label: str) -> QSpinBox:
    box = QSpinBox()
    box.setRange(0, MAX_SIZE)
    box.setSingleStep(_SIZE_STEP)
    box.setSpecialValueText("by factor")  # 0: A1111 uses the factor (or the proportions) for this side
    box.setAccessibleName(label)
    return box


TOOLTIP = "Render at the size above, upscale, then denoise again at the larger size (A1111)"


class HiresForm(QGroupBox):
    """A checkable "Hires fix" group; :meth:`hires` reads it, :meth:`show_hires` fills it."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Hires fix", parent)
        self.setObjectName("hiresFix")
        self.setCheckable(True)
        self.setChecked(False)
        self.setToolTip(TOOLTIP)
        self._wanted = False  # on as the user or the pasted parameters left it (while it is unavailable too)
        self.upscaler = QComboBox()
        self.upscaler.setObjectName("hiresUpscaler")
        self.upscaler.addItems(list(UPSCALERS))
        self.scale = QDoubleSpinBox()
        self.scale.setObjectName("hiresScale")
        self.scale.setRange(1.0, 8.0)
        self.scale.setSingleStep(0.05)
        self.scale.setDecimals(2)
        self.scale.setValue(2.0)
        self.resize_width = _resize_box("Resize width to")
        self.resize_height = _resize_box("Resize height to")
        self.steps = QSpinBox()
        self.steps.setObjectName("hiresSteps")
        self.steps.setRange(0, MAX_STEPS)
        self.steps.setSpecialValueText("same as Steps")
        self.denoising = QDoubleSpinBox()
        self.denoising.setObjectName("denoisingStrength")
        self.denoising.setRange(0.0, 1.0)
        self.denoising.setSingleStep(0.05)
        self.denoising.setDecimals(2)
        self.denoising.setValue(DEFAULT_DENOISING)
        self.target = QLabel()
        self.target.setObjectName("hiresTarget")
        self.target.setProperty("secondary", True)
        self.target.setWordWrap(True)
        guard_wheel(
            self.upscaler, self.scale, self.resize_width, self.resize_height, self.steps, self.denoising
        )

        resize_row = QHBoxLayout()
        resize_row.addWidget(self.resize_width)
        resize_row.addWidget(QLabel("×"))
        resize_row.addWidget(self.resize_height)
        form = QFormLayout(self)
        form.setContentsMargins(0, 6, 0, 0)  # the labels line up with the settings above
        form.addRow("Upscaler", self.upscaler)
        form.addRow("Upscale by", self.scale)
        form.addRow("Resize to", resize_row)
        form.addRow("Hires steps", self.steps)
        form.addRow("Denoising", self.denoising)
        form.addRow(self.target)

        self.toggled.connect(self._on_toggled)
        self.upscaler.currentTextChanged.connect(lambda _text: self.changed.emit())
        for box in (self.resize_width, self.resize_height, self.steps):
            box.valueChanged.connect(lambda _value: self.changed.emit())
        for double in (self.scale, self.denoising):
            double.valueChanged.connect(lambda _value: self.changed.emit())
        self.changed.connect(self._sync)
        self.first_pass = (512, 512)
        self._sync()

    def _on_toggled(self, on: bool) -> None:
        if self.isEnabled():
            self._wanted = on
        self.changed.emit()

    def set_unavailable(self, reason: str | None) -> None:
        """Greys the group out for a checkpoint family the hires fix does not render (``reason`` says
        why, in its title and tooltip) and leaves it out of the recipe; None offers it again, on if it
        was. Its values are kept either way."""
        if (reason is None) == self.isEnabled():
            return
        self.setEnabled(reason is None)
        self.setTitle("Hires fix" if reason is None else "Hires fix (not for this checkpoint)")
        self.setToolTip(TOOLTIP if reason is None else reason)
        self.setChecked(self._wanted and reason is None)

    def hires(self) -> HiresFix | None:
        """The hires fix the controls describe, or None when it is off (or unavailable)."""
        if not self.isChecked() or not self.isEnabled():
            return None
        resize = (self.resize_width.value(), self.resize_height.value())
        return HiresFix(
            upscaler=self.upscaler.currentText(),
            scale=round(self.scale.value(), 2),
            resize=resize if any(resize) else None,
            steps=self.steps.value(),
            denoising=round(self.denoising.value(), 2),
        )

    def show_hires(self, hires: HiresFix | None) -> None:
        """Shows ``hires`` (None: off, the other controls keep their values for the next time); while
        unavailable it stays off, and comes on with a checkpoint it renders for."""
        self._wanted = hires is not None
        self.setChecked(self._wanted and self.isEnabled())
        if hires is not None:
            if self.upscaler.findText(hires.upscaler) < 0:
                self.upscaler.addItem(hires.upscaler)  # as the parameters say; Render refuses it by name
            self.upscaler.setCurrentText(hires.upscaler)
            self.scale.setValue(hires.scale)
            self.resize_width.setValue(hires.resize[0] if hires.resize else 0)
            self.resize_height.setValue(hires.resize[1] if hires.resize else 0)
            self.steps.setValue(hires.steps)
            self.denoising.setValue(hires.denoising)
        self._sync()

    def set_first_pass(self, width: int, height: int) -> None:
        """The board's size (the first pass), from which the target size line is computed."""
        self.first_pass = (width, height)
        self._sync()

    def _sync(self) -> None:
        """The factor is greyed while a resize size rules; the target line says the final size."""
        resizing = bool(self.resize_width.value() or self.resize_height.value())
        self.scale.setEnabled(not resizing)
        hires = self.hires() if self.isChecked() else None
        if hires is None:
            self.target.setText("Off: one pass at the size above")
            return
        problem = upscaler_refusal(hires)
        final = target_size(hires, *self.first_pass)
        text = f"Second pass at {final.width}×{final.height}"
        self.target.setText(f"{text}; {problem}" if problem else text)
        self.target.setToolTip(problem or "")
        self.upscaler.setToolTip(problem or "Latent upscalers resize the latents; the others the image")
