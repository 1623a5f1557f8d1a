"""The generation settings of the board: prompt texts, sampler, steps, CFG, seed, size, batch, clip skip
and the hires fix; for flow-matching checkpoints (Flux.1, SD3.5, Chroma, Qwen-Image, Z-Image) Shift, and
for Flux.1 Forge's Distilled CFG Scale.

The limits of each control are the limits ``Recipe`` validates, so a recipe built from the form is
valid except for a seed typed by hand, which is checked when the recipe is built. The seed is a line
edit, not a spin box: seeds go up to 2**64 - 1 and a Qt spin box holds 32 bits. Distilled CFG Scale and
Shift rest at their lowest step to mean "the model's own" (``None`` in the recipe), as Forge leaves them
out of the infotext; a flow checkpoint's sampler and schedule lists are those it renders with.
"""

from __future__ import annotations

from PySide6.QtCore import QMimeData, QRegularExpression, QSize, Signal
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.family_defaults import family_defaults
from core.render.families import family_of
from core.render.recipe import (
    MAX_BATCH,
    MAX_CLIP_SKIP,
    MAX_GUIDANCE,
    MAX_SEED,
    MAX_SHIFT,
    MAX_SIZE,
    MAX_STEPS,
    SCHEDULE_TYPES,
    Recipe,
    Sampler,
)
from core.render.samplers import (
    FLOW_ARCHITECTURES,
    supported_samplers,
    supported_schedules,
    unavailable_reason,
)
from core.taxonomy import Architecture
from desktop.compose.hires_form import HiresForm
from desktop.compose.prompt_text import append_terms, remove_term
from desktop.compose.wheel_guard import guard_wheel
from desktop.qt_namespace import Qt
from desktop.resources import icon

SIZE_STEP = 8
MIN_SIZE = 64
MAX_CFG = 30.0
GUIDANCE_UNSET = -0.1  # the spin box's lowest step: "the model's default" (Recipe.guidance None)
FLOW_DEFAULT_SAMPLER = "Euler"  # what Forge and ComfyUI use for Flux; a pasted sampler is kept as written
SHIFT_UNSET = 0.0  # Shift must be above 0: its lowest step means the model's own (Recipe.shift None)


class ParameterError(ValueError):
    """A setting typed into the form that no recipe can hold (the message names the field)."""


class SizeSpinBox(QSpinBox):
    """A width or height: a multiple of 8 between 64 and 4096; a typed value snaps to the nearest one."""

    def __init__(self, value: int = 512, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setRange(MIN_SIZE, MAX_SIZE)
        self.setSingleStep(SIZE_STEP)
        self.setSuffix(" px")
        self.setValue(value)
        self.editingFinished.connect(self.snap)

    def snap(self) -> None:
        value = self.value()
        snapped = min(MAX_SIZE, max(MIN_SIZE, round(value / SIZE_STEP) * SIZE_STEP))
        if snapped != value:
            self.setValue(snapped)


class PromptEditor(QPlainTextEdit):
    """A prompt field that leaves dragged files to the board (a file manager's drag also carries text)."""

    def canInsertFromMimeData(self, source: QMimeData) -> bool:  # noqa: N802
        return not source.hasUrls() and super().canInsertFromMimeData(source)


def _prompt_editor(placeholder: str) -> PromptEditor:
    editor = PromptEditor()
    editor.setPlaceholderText(placeholder)
    editor.setTabChangesFocus(True)
    editor.setMinimumHeight(60)
    return editor


class ParametersForm(QWidget):
    """Prompt, negative prompt and the numeric settings; ``apply_to`` / ``show_recipe`` convert."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.prompt = _prompt_editor(
            "Prompt (<lora:name:0.8> and <hypernet:name:1> tags typed here are applied too)"
        )
        self.negative = _prompt_editor("Negative prompt")
        # Sampler and schedule type apart, as A1111 1.9+ and Forge offer them; a name from pasted
        # infotext that is not listed (or not runnable) is added as written and refused at Render.
        self.sampler = QComboBox()
        self.sampler.setObjectName("sampler")
        self.sampler.addItems([sampler.value for sampler in Sampler])
        for index in range(self.sampler.count()):
            reason = unavailable_reason(self.sampler.itemText(index))
            if reason:  # offered as in A1111, so a pasted name shows; Render refuses it by name
                self.sampler.setItemData(index, reason, Qt.ItemDataRole.ToolTipRole)
        self.schedule = QComboBox()
        self.schedule.setObjectName("schedule")
        self.schedule.addItems(list(SCHEDULE_TYPES))
        self.steps = QSpinBox()
        self.steps.setRange(1, MAX_STEPS)
        self.cfg = QDoubleSpinBox()
        self.cfg.setRange(0.0, MAX_CFG)
        self.cfg.setSingleStep(0.5)
        self.cfg.setDecimals(1)
        self.seed = QLineEdit()
        self.seed.setValidator(QRegularExpressionValidator(QRegularExpression(r"-1|\d{1,20}"), self.seed))
        self.seed.setPlaceholderText("-1 = random")
        self.dice = QToolButton()
        self.dice.setIcon(icon("dice"))  # an icon, not an emoji: not every system has an emoji font
        self.dice.setIconSize(QSize(18, 18))
        self.dice.setAccessibleName("Random seed")
        self.dice.setToolTip("Random seed (-1): a new seed for every render")
        self.dice.clicked.connect(lambda: self.seed.setText("-1"))
        self.width_box = SizeSpinBox()
        self.height_box = SizeSpinBox()
        self.batch = QSpinBox()
        self.batch.setRange(1, MAX_BATCH)
        self.clip_skip = QSpinBox()
        self.clip_skip.setRange(1, MAX_CLIP_SKIP)
        self.guidance = QDoubleSpinBox()
        self.guidance.setObjectName("distilledCfg")
        self.guidance.setRange(GUIDANCE_UNSET, MAX_GUIDANCE)
        self.guidance.setSingleStep(0.1)
        self.guidance.setDecimals(1)
        self.guidance.setToolTip(
            "Forge's Distilled CFG Scale: the guidance Flux.1 dev was distilled with (3.5 by default); "
            "CFG scale above 1 with a negative prompt adds real classifier-free guidance"
        )
        self.shift = QDoubleSpinBox()
        self.shift.setObjectName("shift")
        self.shift.setRange(SHIFT_UNSET, MAX_SHIFT)
        self.shift.setSingleStep(0.5)
        self.shift.setDecimals(2)
        self.shift.setSpecialValueText("model's own")
        self.shift.setToolTip("The flow-matching time shift (Forge's Shift); lowest = the model's own")
        self._family: Architecture | None = None
        self._label: str | None = None  # the checkpoint's base-model label (picks a Z-Image variant)
        self._defaults = family_defaults(None, None)
        # CFG and steps the user chose (typed, or brought by pasted parameters): no default replaces them.
        self._chosen: set[str] = set()
        self._filling = False  # the form itself is setting values: they are not the user's
        self._flow = False
        self.hires = HiresForm()
        guard_wheel(
            self.sampler,
            self.schedule,
            self.steps,
            self.cfg,
            self.width_box,
            self.height_box,
            self.batch,
            self.clip_skip,
            self.guidance,
            self.shift,
        )

        seed_row = QHBoxLayout()
        seed_row.addWidget(self.seed, 1)
        seed_row.addWidget(self.dice)
        size_row = QHBoxLayout()
        size_row.addWidget(self.width_box)
        size_row.addWidget(QLabel("×"))
        size_row.addWidget(self.height_box)
        form = QFormLayout()
        form.addRow("Sampler", self.sampler)
        form.addRow("Schedule type", self.schedule)
        form.addRow("Steps", self.steps)
        form.addRow("CFG scale", self.cfg)
        form.addRow("Distilled CFG Scale", self.guidance)
        form.addRow("Shift", self.shift)
        form.addRow("Seed", seed_row)
        form.addRow("Size", size_row)
        form.addRow("Batch", self.batch)
        form.addRow("Clip skip", self.clip_skip)
        self.form = form
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("<b>Prompt</b>"))
        layout.addWidget(self.prompt, 2)
        layout.addWidget(QLabel("<b>Negative prompt</b>"))
        layout.addWidget(self.negative, 1)
        layout.addLayout(form)
        layout.addWidget(self.hires)

        for editor in (self.prompt, self.negative):
            editor.textChanged.connect(self.changed)
        self.sampler.currentTextChanged.connect(lambda _text: self.changed.emit())
        self.schedule.currentTextChanged.connect(lambda _text: self.changed.emit())
        self.seed.textChanged.connect(lambda _text: self.changed.emit())
        for box in (self.steps, self.width_box, self.height_box, self.batch, self.clip_skip):
            box.valueChanged.connect(lambda _value: self.changed.emit())
        self.cfg.valueChanged.connect(lambda _value: self.changed.emit())
        self.cfg.valueChanged.connect(lambda _value: self._mark_chosen("cfg"))
        self.steps.valueChanged.connect(lambda _value: self._mark_chosen("steps"))
        self.guidance.valueChanged.connect(lambda _value: self.changed.emit())
        self.shift.valueChanged.connect(lambda _value: self.changed.emit())
        self.sampler.currentTextChanged.connect(lambda _text: self._offer_schedules())
        self.hires.changed.connect(self.changed)
        for box in (self.width_box, self.height_box):
            box.valueChanged.connect(
                lambda _value: self.hires.set_first_pass(self.width_box.value(), self.height_box.value())
            )
        self.show_recipe(Recipe(), chosen=False)
        self._show_family_rows()

    # -- the checkpoint's family --------------------------------------------------------------------

    def set_family(self, architecture: Architecture | None, base_model_label: str | None = None) -> None:
        """Shows the fields and sampler lists of ``architecture``'s family (None: no checkpoint), and
        puts the checkpoint's defaults (:func:`app.family_defaults.family_defaults`, the CLI's rule) in
        the CFG and steps the user has not chosen: the family's CFG (1 for Flux.1, steered by its
        distilled guidance), a Z-Image variant's CFG and steps by its base-model label (``ZImageBase``:
        CFG 4, 28 steps; Turbo's 1 and 8 without one); an SD default left on the board would double a
        distilled model's cost. A value the user typed or pasted stays."""
        if (architecture, base_model_label) == (self._family, self._label):
            return
        self._family, self._label = architecture, base_model_label
        self._defaults = family_defaults(architecture, base_model_label)
        flow = architecture in FLOW_ARCHITECTURES
        if flow != self._flow:
            self._flow = flow
            self._offer_samplers()
        self._filling = True
        try:
            if "cfg" not in self._chosen:
                self.cfg.setValue(self._defaults.cfg)
            if "steps" not in self._chosen:
                self.steps.setValue(self._defaults.steps)
        finally:
            self._filling = False
        self._show_family_rows()

    @property
    def defaults_note(self) -> str | None:
        """The plan's line of which variant's defaults the board assumed, while CFG or steps are still
        the assumed ones (None when the label said, or the user chose both)."""
        return self._defaults.note_unless(
            cfg_given="cfg" in self._chosen, steps_given="steps" in self._chosen
        )

    @property
    def chosen_settings(self) -> frozenset[str]:
        """Which of CFG and steps the user chose (kept when the checkpoint changes)."""
        return frozenset(self._chosen)

    def keep_chosen(self, fields: frozenset[str]) -> None:
        """Makes ``fields`` the chosen settings again (a board put back by Undo follows as it did)."""
        self._chosen = set(fields)

    def _mark_chosen(self, field: str) -> None:
        if not self._filling:
            self._chosen.add(field)

    @property
    def flow(self) -> bool:
        """Whether the checkpoint is flow-matching (Shift applies; fewer samplers run)."""
        return self._flow

    @property
    def guided(self) -> bool:
        """Whether the checkpoint takes a distilled guidance (Flux.1)."""
        family = family_of(self._family)
        return family is not None and family.default_guidance is not None

    def _show_family_rows(self) -> None:
        """The rows that apply to the checkpoint's family: Distilled CFG Scale (Flux.1), Shift (flow
        models); Clip skip and the hires fix only for the UNet families (SD 1.x/2.x, SDXL): a transformer
        family's render takes neither (it refuses the hires fix by name), so Clip skip is hidden and the
        hires group greyed out saying why, and the recipe leaves both out."""
        family = family_of(self._family)
        default = family.default_guidance if family is not None else None
        self.guidance.setSpecialValueText(f"default ({default:g})" if default is not None else "default")
        self.form.setRowVisible(self.guidance, self.guided)
        self.form.setRowVisible(self.shift, self._flow)
        self.form.setRowVisible(self.clip_skip, family is None)
        self.hires.set_unavailable(
            None if family is None else f"The hires fix is not available for {family.label} yet"
        )

    def _offer_samplers(self) -> None:
        """The sampler list of the family: every A1111 sampler for SD (the unavailable ones say why),
        only those that render a flow model for a flow checkpoint; the current choice is kept."""
        current = self.sampler.currentText()
        self.sampler.blockSignals(True)
        self.sampler.clear()
        names = supported_samplers(flow=True) if self._flow else [sampler.value for sampler in Sampler]
        self.sampler.addItems(names)
        for index in range(self.sampler.count()):
            reason = unavailable_reason(self.sampler.itemText(index), flow=self._flow)
            if reason:  # offered as in A1111, so a pasted name shows; Render refuses it by name
                self.sampler.setItemData(index, reason, Qt.ItemDataRole.ToolTipRole)
        if self._flow and current not in names:
            current = FLOW_DEFAULT_SAMPLER  # SD's default Euler a does not run a flow model
        elif current and self.sampler.findText(current) < 0:
            self.sampler.addItem(current)  # kept as chosen; the plan says why it cannot render
        self.sampler.setCurrentText(current)
        self.sampler.blockSignals(False)
        self._offer_schedules()

    def _offer_schedules(self) -> None:
        """The schedule types of the sampler: all of A1111's for SD, those it renders for a flow model."""
        current = self.schedule.currentText()
        names = (
            supported_schedules(self.sampler.currentText(), flow=True) if self._flow else list(SCHEDULE_TYPES)
        )
        if current and current not in names:
            names.append(current)
        if [self.schedule.itemText(i) for i in range(self.schedule.count())] == names:
            return
        self.schedule.blockSignals(True)
        self.schedule.clear()
        self.schedule.addItems(names)
        self.schedule.setCurrentText(current)
        self.schedule.blockSignals(False)

    # -- text ---------------------------------------------------------------------------------------

    def editor(self, negative: bool) -> QPlainTextEdit:
        return self.negative if negative else self.prompt

    def insert_terms(self, terms: tuple[str, ...] | list[str], negative: bool = False) -> None:
        """Appends the terms not yet in the prompt (or the negative prompt)."""
        editor = self.editor(negative)
        text = editor.toPlainText()
        updated = append_terms(text, terms)
        if updated != text:
            editor.setPlainText(updated)

    def remove_term(self, term: str, negative: bool = False) -> None:
        editor = self.editor(negative)
        text = editor.toPlainText()
        updated = remove_term(text, term)
        if updated != text:
            editor.setPlainText(updated)

    # -- recipe -------------------------------------------------------------------------------------

    def seed_value(self) -> int:
        text = self.seed.text().strip() or "-1"
        try:
            seed = int(text)
        except ValueError:
            raise ParameterError(f"The seed must be a whole number or -1 (random), not {text!r}") from None
        if not -1 <= seed <= MAX_SEED:
            raise ParameterError(f"The seed must be -1 (random) or between 0 and {MAX_SEED}, not {seed}")
        return seed

    def apply_to(self, recipe: Recipe) -> Recipe:
        """``recipe`` with the form's settings; raises ParameterError for a seed no recipe can hold."""
        self.width_box.snap()
        self.height_box.snap()
        return recipe.replace(
            prompt=self.prompt.toPlainText().strip(),
            negative_prompt=self.negative.toPlainText().strip(),
            sampler=self.sampler.currentText(),
            schedule=self.schedule.currentText(),
            steps=self.steps.value(),
            cfg=round(self.cfg.value(), 2),
            seed=self.seed_value(),
            width=self.width_box.value(),
            height=self.height_box.value(),
            batch=self.batch.value(),
            clip_skip=self.clip_skip.value() if family_of(self._family) is None else 1,
            hires=self.hires.hires(),
            guidance=self._guidance() if self.guided else None,
            shift=self._shift() if self._flow else None,
        )

    def _guidance(self) -> float | None:
        value = round(self.guidance.value(), 1)
        return None if value <= GUIDANCE_UNSET else value

    def _shift(self) -> float | None:
        value = round(self.shift.value(), 2)
        return None if value <= SHIFT_UNSET else value

    def show_recipe(self, recipe: Recipe, *, chosen: bool = True) -> None:
        """Shows the recipe's texts and settings (its assets are the slots' business). ``chosen``: the
        recipe is the user's (pasted parameters, a stored render), so its CFG and steps are kept when the
        checkpoint changes; False for the blank board, whose values follow the checkpoint's defaults."""
        self._filling = True
        try:
            self._show_recipe(recipe)
        finally:
            self._filling = False
        self._chosen = {"cfg", "steps"} if chosen else set()

    def _show_recipe(self, recipe: Recipe) -> None:
        self.prompt.setPlainText(recipe.prompt)
        self.negative.setPlainText(recipe.negative_prompt)
        for box, name in ((self.sampler, recipe.sampler), (self.schedule, recipe.schedule)):
            if box.findText(name) < 0:
                box.addItem(name)  # kept as the infotext says; Render refuses it by name
            box.setCurrentText(name)
        self.steps.setValue(recipe.steps)
        self.cfg.setValue(min(recipe.cfg, MAX_CFG))
        self.seed.setText(str(recipe.seed))
        self.width_box.setValue(recipe.width)
        self.height_box.setValue(recipe.height)
        self.batch.setValue(recipe.batch)
        self.clip_skip.setValue(recipe.clip_skip)
        self.guidance.setValue(GUIDANCE_UNSET if recipe.guidance is None else recipe.guidance)
        self.shift.setValue(SHIFT_UNSET if recipe.shift is None else recipe.shift)
        self.hires.show_hires(recipe.hires)
