"""The Compose tab: render and grid controls, the live preview and the results gallery, and the board.

The board itself lives in ``board_panel``, which the main window docks beside whichever of the Library
and Compose tabs is shown, so models are dragged onto it straight from the library. The tab owns the
flow around one render: build the recipe from the board, ``prepare`` it (resolution,
missing assets, warnings), ask for confirmation when the combination looks wrong, then run the render on
a worker with progress, live previews and cancel, and finally show the stored result in the gallery.
The render service is made on first use, so opening the window never loads the renderer; the service
loads torch itself on the first render, on the worker.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QModelIndex, QObject, QTimer, Signal
from PySide6.QtGui import QGuiApplication, QImage, QShowEvent
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from catalog.records import RenderRecord
from core.jobs import CancelToken, Progress, ProgressCallback
from core.render.phases import is_step
from core.render.recipe import Recipe
from core.render.samplers import FLOW_ARCHITECTURES
from core.wording import counted
from desktop.compose.board import IMAGE_SUFFIXES, ComposeBoard, as_catalog_has_it
from desktop.compose.board_panel import BoardPanel
from desktop.compose.board_state import BoardKeeper, board_file_of, read_board
from desktop.compose.board_undo import (
    BoardSnapshot,
    cleared_line,
    replaced_line,
    restore_snapshot,
    take_snapshot,
)
from desktop.compose.gallery import THUMBNAIL_SIZE, GalleryView, RendersModel
from desktop.compose.gone_files import with_gone_files_missing
from desktop.compose.images import ImageView, pil_to_qimage
from desktop.compose.notices import MissingList, WarningBanner, missing_sentence
from desktop.compose.service import MissingLike, PlanLike, RenderServiceLike
from desktop.qt_namespace import Qt
from desktop.services import AssetLibrary
from desktop.thumbnails import ThumbnailCache
from desktop.workers import JobHandle, JobRunner

GALLERY_LIMIT = 200
PLAN_DELAY_MS = 250  # the plan follows the board a moment after typing stops
START_HINT = "Drop a checkpoint from the library on the board to start"
READY_HINT = "Ready: press Render"
CANCELLING = "Cancelling after the current step…"
AXIS_EXAMPLE = (
    "e.g. lora:add_detail=0,0.5,1 · seed=1,2,3 · cfg=4,7,10 · steps=10,20 · checkpoint=a,b · "
    "prompt-sr=red fox,blue bird"
)

ServiceFactory = Callable[[], RenderServiceLike]


class _PreviewBridge(QObject):
    """Carries live previews from the render worker to the GUI thread (queued: it lives on the GUI)."""

    image = Signal(QImage, int, int)  # preview, step done, total steps


class ComposeTab(QWidget):
    """Compose, render and browse renders; ``message`` goes to the status bar."""

    message = Signal(str)
    cover_changed = Signal(int)  # asset id whose preview was set from a render
    find_on_civitai = Signal(str)  # a hash or name to search for
    render_finished = Signal(object)  # the service's result (list of StoredRender, or one for a grid)
    preview_updated = Signal(int, int)  # step done, total steps: a live preview is on screen

    def __init__(
        self,
        library: AssetLibrary,
        service_factory: ServiceFactory,
        cache_dir: Path,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.library = library
        self._service_factory = service_factory
        self._service: RenderServiceLike | None = None
        self._pending: Callable[[], None] | None = None
        # Warnings the user answered "Render anyway" to in this session: not asked again while the same
        # words would be shown (a changed weight or tag changes them, and asks again).
        self._answered: set[str] = set()
        self._asking: frozenset[str] = frozenset()
        self._job: JobHandle | None = None
        self._finished_ok = False  # whether the job that is ending delivered its result
        self._missing_status = ""  # the status line said about the missing list, while it is shown
        self._failure_status = ""  # "Render failed: …", about the recipe the board held then
        # What the status line says while nothing else was said: the start hint, READY_HINT, or why Render
        # would refuse the board now (the plan's refusal); it follows each new plan.
        self._readiness = START_HINT
        self._steps = 0  # denoising steps of the running single render (0: a grid, or none)
        self._grid_cells = 0  # cells of the running grid (0: a single render), for the finished line
        self._cancelling = False
        self._previewed: tuple[int, int] | None = None  # step, total of the running render's last preview
        self._gallery_loaded = False
        self.jobs = JobRunner(self, max_threads=2)
        self._bridge = _PreviewBridge(self)
        self._bridge.image.connect(self._on_preview)

        self.board = ComposeBoard(library)
        self.board.message.connect(self.message)
        self.board.image_dropped.connect(self.paste_parameters)
        self.board.render_dropped.connect(self.load_dropped_render)
        self.board.changed.connect(self._on_board_changed)
        self.missing = MissingList()
        self.missing.find_requested.connect(self.find_on_civitai)
        self.board_panel = BoardPanel(self.board, self.missing)
        self.board_panel.render_requested.connect(self.start_render)
        self.paste_button = self.board_panel.paste_button
        self.paste_button.clicked.connect(lambda: self.paste_parameters(None))
        self.clear_button = self.board_panel.clear_button
        self.clear_button.clicked.connect(self.clear_board)
        self.plan_view = self.board_panel.plan
        self._pasted_warnings: tuple[str, tuple[str, ...]] = ("", ())  # (its infotext, parse warnings)
        self._plan_timer = QTimer(self)
        self._plan_timer.setSingleShot(True)
        self._plan_timer.setInterval(PLAN_DELAY_MS)
        self._plan_timer.timeout.connect(self.refresh_plan)
        self._plan_generation = 0  # counts the plans shown: a late memory line joins only its own
        self.plan_view.show_lines([START_HINT])

        self.banner = WarningBanner()
        self.banner.confirmed.connect(self._on_confirmed)
        self.banner.dismissed.connect(self._on_dismissed)
        self.render_button = QPushButton("Render")
        self.render_button.setDefault(True)
        self.render_button.clicked.connect(self.start_render)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("")  # idle: no "0 / 1"
        self.status_label = QLabel(START_HINT)
        self.status_label.setWordWrap(True)
        self.device_label = QLabel()
        self.device_label.setProperty("secondary", True)
        self.preview = ImageView("The preview appears here while rendering")
        self.grid_x = QLineEdit()
        self.grid_x.setPlaceholderText("X axis: " + AXIS_EXAMPLE)
        self.grid_y = QLineEdit()
        self.grid_y.setPlaceholderText("Y axis (optional): " + AXIS_EXAMPLE)
        self.grid_button = QPushButton("Render grid")
        self.grid_button.clicked.connect(self.start_grid)

        self.thumbnails = ThumbnailCache(cache_dir, THUMBNAIL_SIZE, self)
        self.gallery_model = RendersModel(self.thumbnails, self)
        self.gallery = GalleryView(self.gallery_model, library)
        self.gallery.selectionModel().currentChanged.connect(lambda _c, _p: self._on_gallery_current())
        self.gallery.use_as_preview.connect(self.use_as_preview)
        self.gallery.load_recipe.connect(self.load_render_recipe)
        self.gallery.copied.connect(self.message)
        self.infotext = QPlainTextEdit()
        self.infotext.setReadOnly(True)
        self.infotext.setPlaceholderText("The parameters of the selected render")
        self.infotext.setMaximumHeight(140)

        self._build_layout()
        path = board_file_of(library)  # kept across restarts in the library's data folder
        self.board_keeper = BoardKeeper(self.board, path, self) if path is not None else None
        self._restore_board()

    def _build_layout(self) -> None:
        controls = QHBoxLayout()
        controls.addWidget(self.render_button)
        controls.addWidget(self.cancel_button)
        controls.addWidget(self.progress, 1)
        grid_form = QFormLayout()
        grid_form.addRow("X", self.grid_x)
        grid_form.addRow("Y", self.grid_y)
        grid_row = QHBoxLayout()
        grid_row.addLayout(grid_form, 1)
        grid_row.addWidget(self.grid_button, 0, Qt.AlignmentFlag.AlignBottom)
        center = QWidget()
        center_layout = QVBoxLayout(center)
        center_layout.addWidget(self.banner)
        center_layout.addLayout(controls)
        center_layout.addWidget(self.status_label)
        center_layout.addWidget(self.preview, 1)
        center_layout.addWidget(self.infotext)
        center_layout.addWidget(QLabel("<b>X/Y grid</b>"))
        center_layout.addLayout(grid_row)
        center_layout.addWidget(self.device_label)

        results = QWidget()
        results_layout = QVBoxLayout(results)
        results_layout.addWidget(QLabel("<b>Renders</b>"))
        results_layout.addWidget(self.gallery, 1)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(center)
        splitter.addWidget(results)
        splitter.setSizes([640, 300])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)

    # -- the service --------------------------------------------------------------------------------

    @property
    def service(self) -> RenderServiceLike:
        """The render service, made on first use (opening the catalog; torch waits for a render)."""
        if self._service is None:
            self._service = self._service_factory()
        return self._service

    def _prepare(self, recipe: Recipe) -> PlanLike:
        """The service's plan of ``recipe``, with library files gone from the disk since the last scan
        listed as missing (see ``desktop.compose.gone_files``)."""
        plan: PlanLike = with_gone_files_missing(self.service.prepare(recipe))
        return plan

    def set_civitai_search(self, available: bool) -> None:
        """Whether missing assets get a "Find on Civitai" button (the Civitai tab exists)."""
        self.missing.can_search = available

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802
        super().showEvent(event)
        if not self._gallery_loaded:
            self.refresh_gallery()

    # -- board input --------------------------------------------------------------------------------

    def add_assets(self, ids: Sequence[int]) -> list[str]:
        """The main window's "Send to compose board" path: same routing as a drop."""
        return self.board.add_asset_ids(ids)

    def paste_parameters(self, text_or_png: str | Path | None = None) -> bool:
        """Fills the board from infotext (``None``: the clipboard's text) or a PNG carrying it.

        Returns whether the board was filled; missing assets are listed with their hash.
        """
        source: str | Path | None = text_or_png
        if source is None:
            source = QGuiApplication.clipboard().text().strip()
            if not source:
                self._say("The clipboard holds no text; copy an image's parameters first")
                return False
        elif isinstance(source, str) and source.lower().endswith(IMAGE_SUFFIXES) and Path(source).is_file():
            source = Path(source)
        # A dropped PNG's parameters were read from it, not pasted: the message names the file.
        done = f"Parameters read from {source.name}" if isinstance(source, Path) else "Parameters pasted"
        try:
            plan: PlanLike = with_gone_files_missing(self.service.plan_from_infotext(source))
        except Exception as exc:  # a user action's boundary: RenderError, OSError, a parse error
            self._say(f"Cannot read these parameters: {exc}")
            return False
        before = self._snapshot()
        self.board_panel.show_notice("")  # it spoke of the board being replaced
        self._pasted_warnings = (plan.recipe.source_infotext, tuple(plan.warnings))
        self.board.load_recipe(plan.recipe)
        self.missing.show_missing(plan.missing)
        self._offer_undo(
            before,
            f"The parameters of {source.name}" if isinstance(source, Path) else "The pasted parameters",
        )
        self.refresh_plan()
        if plan.missing:
            self._say_missing(f"{done}; " + _not_in_library(len(plan.missing)))
        else:
            self._say(done)
        return True

    # -- rendering ----------------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        return self._job is not None

    def start_render(self) -> None:
        """Render the board (after confirmation when ``prepare`` warns)."""
        self._request(grid=False)

    def start_grid(self) -> None:
        """Render an X/Y grid of the board over the axes typed in the grid fields."""
        self._request(grid=True)

    def _request(self, grid: bool) -> None:
        if self.busy:
            self._say("A render is running; cancel it first")
            return
        self.banner.hide()
        self._pending = None
        try:
            recipe = self.board.recipe()
            axes = self._axes() if grid else None
        except ValueError as exc:
            self._say(str(exc))
            return
        try:
            plan: PlanLike = self._prepare(recipe)
        except Exception as exc:  # a user action's boundary: an unreadable file given by path...
            self._say(f"Cannot prepare the render: {exc}")
            return
        self.missing.show_missing(plan.missing)
        if plan.missing:
            self._say_missing("Cannot render: " + missing_sentence(plan.missing))
            return
        if recipe.checkpoint is None and not (axes is not None and _varies_checkpoint(axes)):
            self._say("Drop a checkpoint on the board first")
            return
        if not grid and not plan.ready:
            self._say(_refusal(plan))
            return

        def start() -> None:
            if axes is None:
                self._run_render(plan)
            else:
                self._run_grid(recipe, axes)

        asked = frozenset(plan.warnings)
        if asked and not self._was_answered(asked):
            self._pending, self._asking = start, asked
            self.banner.show_warnings(plan.warnings)
            self._say("Check the warnings, then render anyway or change the board")
            return
        start()

    def _axes(self) -> tuple[Any, Any]:
        from core.render.grid import parse_axis

        x_text, y_text = self.grid_x.text().strip(), self.grid_y.text().strip()
        if not x_text:
            raise ValueError("Type an X axis for the grid, " + AXIS_EXAMPLE)
        return parse_axis(x_text), parse_axis(y_text) if y_text else None

    def _was_answered(self, asked: frozenset[str]) -> bool:
        """Whether the user already chose "Render anyway" to each of these warnings, whatever else
        changed on the board since (steps, seed, size change between most renders): the same question on
        every Render teaches to click through it unread."""
        return asked <= self._answered

    def _on_confirmed(self) -> None:
        pending, self._pending = self._pending, None
        self._answered |= self._asking
        if pending is not None:
            pending()

    def _on_dismissed(self) -> None:
        self._pending = None
        self._say("Render cancelled")

    def _preview_sink(self) -> Callable[[Any, int, int], None]:
        bridge = self._bridge

        def sink(image: Any, step: int, total: int) -> None:  # on the worker
            bridge.image.emit(pil_to_qimage(image), step, total)

        return sink

    def _run_render(self, plan: PlanLike) -> None:
        service, sink = self.service, self._preview_sink()
        hires = plan.recipe.hires
        self._steps = plan.recipe.steps + (hires.steps_run(plan.recipe.steps) if hires else 0)
        self._grid_cells = 0

        def job(progress: ProgressCallback, cancel: CancelToken) -> tuple[Any, QImage]:
            stored = service.render(plan, progress=progress, cancel=cancel, preview=sink)
            last = stored[-1]
            return stored, QImage(str(last.path))

        self._run("Rendering", job)

    def _run_grid(self, recipe: Recipe, axes: tuple[Any, Any]) -> None:
        service, sink = self.service, self._preview_sink()
        self._steps = 0  # a grid's count runs over all its cells' steps
        x, y = axes
        self._grid_cells = len(x.values) * (len(y.values) if y is not None else 1)

        def job(progress: ProgressCallback, cancel: CancelToken) -> tuple[Any, QImage]:
            stored = service.render_grid(recipe, x, y, progress=progress, cancel=cancel, preview=sink)
            return stored, QImage(str(stored.path))

        self._run("Rendering grid", job)

    def _run(self, title: str, job: Callable[[ProgressCallback, CancelToken], Any]) -> None:
        handle = self.jobs.start(title, job)
        self._job = handle
        self._finished_ok = False
        self._cancelling = False
        self._previewed = None
        self._set_busy(True)
        self.progress.setRange(0, 0)  # busy until the first step (loading the checkpoint)
        self.progress.setFormat("%v / %m")
        self._say(f"{title}…")
        handle.signals.progressed.connect(self._on_progress)
        handle.signals.finished.connect(self._on_finished)
        handle.signals.failed.connect(self._on_failed)
        handle.signals.cancelled.connect(lambda: self._on_unfinished("cancelled", "Render cancelled"))
        handle.signals.ended.connect(self._on_ended)

    def cancel(self) -> None:
        """Stops the running render within a step."""
        if self._job is not None:
            self._job.cancel()
            self.cancel_button.setEnabled(False)
            self._cancelling = True
            # The renderer stops between steps: a slow step (or the load) finishes first.
            self.progress.setFormat(CANCELLING)
            self._say(CANCELLING)

    def _set_busy(self, busy: bool) -> None:
        self.render_button.setEnabled(not busy)
        self.board_panel.render_button.setEnabled(not busy)  # the board's own Render, beside the library
        self.grid_button.setEnabled(not busy)
        self.cancel_button.setEnabled(busy)

    def _on_progress(self, progress: Progress) -> None:
        """Steps, or what the renderer is doing before the first one ("Loading checkpoint…" n / m).

        A finished load says so at once ("Step 0 of 20"), instead of "Loading checkpoint… 6 / 6"
        standing until the first denoising step ends, and so does the start of sampling (after "Loading
        LoRA x…", whose words would otherwise stay up for a first step that takes minutes on a slow CPU);
        while cancelling, the bar keeps saying so.
        """
        if progress.total:
            self.progress.setRange(0, progress.total)
            self.progress.setValue(min(progress.done, progress.total))
        if self._cancelling:
            return
        loaded = progress.total is not None and progress.done >= progress.total and not is_step(progress)
        sampling = is_step(progress) and progress.done == 0
        if (loaded or sampling) and self._steps:
            self.progress.setRange(0, self._steps)
            self.progress.setValue(0)
            self.progress.setFormat(f"Step 0 of {self._steps}")
            self.status_label.setText(
                f"Rendering: step 1 of {self._steps}…"
                if sampling
                else f"Checkpoint loaded; rendering {self._steps} steps…"
            )
        elif progress.message:
            self.status_label.setText(progress.message)
            self.progress.setFormat(f"{progress.message}  %v / %m" if progress.total else progress.message)
        else:
            self.progress.setFormat("%v / %m")

    def _on_board_changed(self) -> None:
        """The start hint goes once a checkpoint is on the board (and comes back when it is removed);
        missing assets the board no longer names leave the list, and the status stops counting them; a
        failed render's line goes, as it spoke of the recipe before this change."""
        pruned = self.missing.prune(self._board_names)
        self._plan_timer.start()
        if self.busy:
            return
        text = self.status_label.text()
        has_checkpoint = self.board.checkpoint.ref is not None
        hint = READY_HINT if has_checkpoint else START_HINT
        stale = {START_HINT, self._failure_status} - {""}  # lines the next plan's readiness replaces
        if pruned and text == self._missing_status:
            remaining = len(self.missing.rows)
            self._missing_status = _not_in_library(remaining).capitalize() if remaining else ""
            self.status_label.setText(self._missing_status or hint)
        elif has_checkpoint and text in stale:
            self.status_label.setText(READY_HINT)  # until the plan, a moment later, says otherwise
        elif not has_checkpoint and text in {READY_HINT, self._readiness, *stale}:
            self._show_readiness(START_HINT)

    def refresh_plan(self) -> PlanLike | None:
        """Shows what Render would do with the board now: the plan ``render --plan`` prints; returns the
        plan prepared (None when the board names nothing or the recipe was refused).

        ``prepare`` only reads the catalog, so this runs on the GUI thread, a moment after the last
        change; parse warnings of pasted parameters stay while the board still holds that text.
        """
        self._plan_timer.stop()
        if self.board.checkpoint.ref is None and not self.board.named_refs():
            self.plan_view.show_lines([START_HINT])
            self._show_readiness(START_HINT)
            return None
        try:
            recipe = self.board.recipe()
            prepared = plan = self._prepare(recipe)
        except Exception as exc:  # a setting no recipe holds, an unreadable file: the plan says so
            self.plan_view.show_lines([f"Refused: {exc}"])
            self._show_readiness(f"Cannot render: {exc}" if self.board.checkpoint.ref else START_HINT)
            return None
        from app.render_plan_view import plan_lines
        from app.render_service import RenderPlan

        if not isinstance(plan, RenderPlan):
            self._show_readiness_of(plan)
            return prepared  # a stand-in service (tests) has no plan to show
        text, warnings = self._pasted_warnings
        if warnings and recipe.source_infotext == text:
            plan = dataclasses.replace(plan, warnings=tuple(dict.fromkeys((*warnings, *plan.warnings))))
        self._show_readiness_of(plan)
        # Which Z-Image variant's CFG and steps the form assumed (the "Defaults:" line render --plan prints).
        plan = dataclasses.replace(plan, defaults_note=self.board.parameters.defaults_note)
        with_hashes = getattr(self.service, "with_hashes", None)
        shown = with_hashes(plan) if with_hashes is not None else plan
        self.plan_view.show_lines([*plan_lines(shown, paths=False), *_unlisted_problem(shown)])
        self._plan_generation += 1
        self._place(shown, self._plan_generation)
        return prepared

    def _show_readiness_of(self, plan: PlanLike) -> None:
        """The status line after a new plan: the start hint without a checkpoint, READY_HINT when Render
        would run, else why it would not (the words a click on Render says)."""
        if self.board.checkpoint.ref is None:
            self._show_readiness(START_HINT)
        elif plan.ready:
            self._show_readiness(READY_HINT)
        else:
            self._show_readiness(_refusal(plan))

    def _show_readiness(self, text: str) -> None:
        """Makes ``text`` the readiness line. The status line shows it while it shows a readiness line (a
        render's result or a paste's message stays until the next one); both Render buttons stay
        enabled, their tooltip saying why a click would refuse."""
        shown = self.status_label.text()
        follows = shown in (START_HINT, READY_HINT, self._readiness)
        self._readiness = text
        tip = "" if text in (START_HINT, READY_HINT) else text
        self.render_button.setToolTip(tip)
        self.board_panel.render_button.setToolTip(tip)
        if follows and not self.busy:
            self.status_label.setText(text)

    def _place(self, plan: Any, generation: int) -> None:
        """Adds the memory line (full GPU, model offload, sequential offload or cannot run, with the
        numbers) to the plan of a Flux.1/SD3.5/Chroma model. Choosing the device loads torch, so the
        service is asked on a worker; a plan the board has moved on from since is not updated."""
        placement_of = getattr(self.service, "placement", None)
        if placement_of is None or plan.architecture not in FLOW_ARCHITECTURES:
            return
        from app.render_plan_view import plan_lines

        def job(_progress: ProgressCallback, _cancel: CancelToken) -> Any:
            return placement_of(plan)

        def show(placement: Any) -> None:
            if placement is not None and generation == self._plan_generation:
                lines = plan_lines(plan, paths=False, placement=placement)
                self.plan_view.show_lines([*lines, *_unlisted_problem(plan)])

        handle = self.jobs.start("Memory plan", job)
        handle.signals.finished.connect(show)

    def _board_names(self, item: MissingLike) -> bool:
        """Whether the board still names the missing ``item`` (by hash, else by name)."""
        for ref in self.board.named_refs():
            if item.hash and ref.hash:
                if ref.hash.casefold() == item.hash.casefold():
                    return True
            elif ref.name == item.name:
                return True
        return False

    def _on_failed(self, text: str) -> None:
        """A failed render: its line speaks of the recipe the board held then, so the board's next change
        (a plan of another recipe) replaces it (see ``_on_board_changed``)."""
        self._failure_status = f"Render failed: {text}"
        self._on_unfinished("failed", self._failure_status)

    def _on_unfinished(self, what: str, status: str) -> None:
        """A cancelled or failed render: once its own preview replaced the last render's image, the
        parameters box says so instead of showing that render's infotext under this one's picture."""
        self._say(status)
        if self._previewed is not None:
            self.gallery.setCurrentIndex(QModelIndex())  # a click on the last render shows it again
            self.gallery.clearSelection()
            step, total = self._previewed
            self.infotext.setPlainText(
                f"Render {what} at step {step} of {total}: this preview was not stored. "
                "Select a render in the gallery to see its parameters."
            )

    def _on_preview(self, image: QImage, step: int, total: int) -> None:
        self.preview.set_image(image)
        self._previewed = (step, total)
        self.progress.setFormat("%v / %m")  # denoising steps now, whatever was loading before
        if total:
            self.progress.setRange(0, total)
            self.progress.setValue(min(step, total))
        self.preview_updated.emit(step, total)

    def _on_finished(self, result: tuple[Any, QImage]) -> None:
        self._finished_ok = True
        stored, image = result
        items = list(stored) if isinstance(stored, (list, tuple)) else [stored]
        last = items[-1]
        self.preview.set_image(image)
        self.infotext.setPlainText(last.infotext)
        seconds = sum(float(getattr(item, "elapsed", 0.0)) for item in items)
        # A grid is one stored image of many renders: the line counts its cells.
        what = (
            f"a grid of {counted(self._grid_cells, 'image')}"
            if self._grid_cells
            else counted(len(items), "image")
        )
        self._say(f"Rendered {what} in {seconds:.1f} s, seed {last.seed}")
        self.device_label.setText(f"Device: {last.device}")
        self.refresh_gallery(select=getattr(last.render, "id", None))
        self._describe_device()
        self.render_finished.emit(stored)

    def _on_ended(self) -> None:
        """Back to idle; a failed or cancelled render leaves an empty bar, a finished one a full bar."""
        self._job = None
        self._set_busy(False)
        self.progress.setFormat("")
        if self.progress.maximum() == 0 or not self._finished_ok:
            self.progress.setRange(0, 1)
            self.progress.setValue(0)

    def _describe_device(self) -> None:
        """Device and memory in use, asked of the service on a worker (it reads torch's counters)."""
        service = self.service

        def job(_progress: ProgressCallback, _cancel: CancelToken) -> str:
            return service.device_description()

        handle = self.jobs.start("Device", job)
        handle.signals.finished.connect(lambda text: self.device_label.setText(f"Device: {text}"))

    # -- the gallery --------------------------------------------------------------------------------

    def refresh_gallery(self, select: int | None = None) -> None:
        self._gallery_loaded = True
        records = [r for r in self.service.renders(None, GALLERY_LIMIT) if isinstance(r, RenderRecord)]
        self.gallery_model.set_records(records)
        row = self.gallery_model.row_of(select) if select is not None else None
        if row is not None:
            self.gallery.setCurrentIndex(self.gallery_model.index(row, 0))

    def _on_gallery_current(self) -> None:
        record = self.gallery.current_record()
        if record is None or self.busy:
            return
        self.show_render(record)

    def show_render(self, record: RenderRecord) -> None:
        """Shows a stored render large, with its infotext."""
        image = QImage(record.path)
        self.preview.set_image(image)
        self.infotext.setPlainText(record.infotext)
        if image.isNull():
            self._say(f"The image of this render is gone: {record.path}")

    def use_as_preview(self, render_id: int, asset_id: int) -> None:
        try:
            self.service.use_as_preview(render_id, asset_id)
        except Exception as exc:  # RenderError (unknown render or asset), OSError
            self._say(f"Could not set the preview: {exc}")
            return
        asset = self.library.get(asset_id)
        name = asset.display_name or Path(asset.file_name).stem if asset is not None else str(asset_id)
        self._say(f"The render is now the preview of {name}")
        self.cover_changed.emit(asset_id)

    def load_render_recipe(self, record: RenderRecord) -> None:
        """Puts a stored render's recipe back on the board (exactly, from the stored JSON)."""
        from core.render.recipe_codec import recipe_from_dict

        try:
            recipe = recipe_from_dict(record.recipe)
        except ValueError:
            self.paste_parameters(record.infotext)  # an older or foreign record: its infotext will do
            return
        before = self._snapshot()
        self._put_on_board(recipe)
        self._offer_undo(before, "The render's recipe")
        self._say("Loaded the render's recipe into the board")

    def load_dropped_render(self, render_id: int) -> None:
        """A render dragged from the gallery onto the board: its recipe, as "Load recipe into board"."""
        row = self.gallery_model.row_of(render_id)
        record = self.gallery_model.record(row) if row is not None else None
        if record is None:
            self._say("That render is no longer in the gallery")
            return
        self.load_render_recipe(record)

    def clear_board(self) -> None:
        """Clear board: the blank board (following the next checkpoint's defaults); what it held comes
        back with Undo beside the notice (or Ctrl+Z in the board), as after a dropped PNG."""
        before = self._snapshot()
        self._pasted_warnings = ("", ())
        self.board_panel.show_notice("")
        self.board.clear()
        if isinstance(before, BoardSnapshot):
            self.board_panel.show_notice(f"{cleared_line(before)}.", lambda: self._undo_replace(before))
        elif before is not None:
            self.board_panel.show_notice(f"Cleared the board; {before}.")

    def _put_on_board(self, recipe: Recipe) -> Sequence[MissingLike]:
        """Replaces the board with ``recipe`` and lists the files it names that the library lacks."""
        self._pasted_warnings = ("", ())
        self.board_panel.show_notice("")  # it spoke of the board being replaced
        self.board.load_recipe(recipe)
        missing = self._prepare(recipe).missing if recipe.refs() else ()
        self.missing.show_missing(missing)
        return missing

    def _snapshot(self) -> BoardSnapshot | str | None:
        """The board before a recipe replaces it (None: an empty board, nothing to undo); a half-typed
        setting no recipe holds gives the sentence saying the board cannot come back."""
        try:
            return take_snapshot(self.board, self._pasted_warnings)
        except ValueError as exc:
            return f"the board before could not be kept ({exc})"

    def _offer_undo(self, before: BoardSnapshot | str | None, source: str) -> None:
        """Under the board: what was replaced, with Undo (and Ctrl+Z) putting it back exactly."""
        said = self.board_panel.notice.text()  # what loading the recipe said ("left out: …")
        if before is None:
            return
        if isinstance(before, str):
            self.board_panel.show_notice(
                " ".join(part for part in (f"{source} replaced the board; {before}.", said) if part)
            )
            return
        line = replaced_line(before, source)
        self.board_panel.show_notice(
            " ".join(part for part in (f"{line}.", said) if part), lambda: self._undo_replace(before)
        )

    def _undo_replace(self, before: BoardSnapshot) -> None:
        """The board back as it was before the paste or drop, its missing list and parse warnings too."""
        self._pasted_warnings = before.pasted_warnings
        restore_snapshot(self.board, before)
        try:
            missing = self._prepare(before.recipe).missing if before.recipe.refs() else ()
        except Exception:  # a user action's boundary: the plan, a moment later, says what is wrong
            missing = ()
        self.missing.show_missing(missing)
        self.refresh_plan()
        self._say("The board is back as it was before")

    def _restore_board(self) -> None:
        """The board as it was left at the last quit (see ``desktop.compose.board_state``); files that
        left the library or the disk since are listed as missing, as a dropped PNG's are."""
        if self.board_keeper is None:
            return
        try:
            recipe = read_board(self.board_keeper.path)
        except Exception as exc:  # a hand-edited or newer file: the board starts empty and says why
            self._say(f"The board saved at the last quit could not be read ({exc}); it starts empty")
            return
        if recipe is None:
            return
        missing = self._put_on_board(as_catalog_has_it(recipe, self.library))
        if missing:
            self._say_missing("Board restored; " + _not_in_library(len(missing)))

    def on_window_job_ended(self, _title: str) -> None:
        """The window's ``job_ended``. After a rename, a move, a removal, a download or a scan (the one at
        start too; F2, Move to, Undo and a rescan each run as a window job): the board
        names files as the catalog has them now, and the missing list follows at once: a file a scan
        found gone is listed (not first when Render refuses it), one found again leaves the list."""
        if not self.board.follow_catalog():
            return
        plan = self.refresh_plan()
        missing = plan.missing if plan is not None else ()
        listed = self.status_label.text() == self._missing_status
        self.missing.show_missing(missing)
        if self.busy:
            return
        if missing:
            self._say_missing(_not_in_library(len(missing)).capitalize())
        elif self._missing_status and listed:
            self._missing_status = ""
            self.status_label.setText(self._readiness)  # the plan just prepared said it

    # -- misc ---------------------------------------------------------------------------------------

    def _say(self, text: str) -> None:
        self.status_label.setText(text)
        self.message.emit(text)

    def _say_missing(self, text: str) -> None:
        """Says ``text`` about the missing list; it changes or goes when the list does."""
        self._missing_status = text
        self._say(text)

    def shutdown(self) -> None:
        if self.board_keeper is not None:
            self.board_keeper.flush()
        self.jobs.shutdown()


def _not_in_library(count: int) -> str:
    return f"{count} asset{'' if count == 1 else 's'} {'is' if count == 1 else 'are'} not in the library"


def _refusal(plan: PlanLike) -> str:
    """Why Render refuses ``plan``, naming every model that does not fit: the refusal, then the plan's
    other warnings (a second LoRA of another family is a warning while the first one is refused)."""
    if plan.missing:
        return "Cannot render: " + missing_sentence(plan.missing)
    problem = getattr(plan, "problem", None) or "the recipe is not ready"
    others = [warning for warning in plan.warnings if warning not in problem]
    return f"Cannot render: {problem}" + (f". Also: {'; '.join(others)}" if others else "")


def _unlisted_problem(plan: Any) -> list[str]:
    """Why Render would refuse the plan, when no line of the plan says it already (a checkpoint of a
    family Atelier does not render, a diffusion model without its text encoders or VAE, a family's
    refusal of embeddings or the hires fix); sampler refusals, missing and misplaced files have lines."""
    if plan.sampler_problem or plan.missing or plan.misplaced or not plan.problem:
        return []
    return [f"Refused: {plan.problem}"]


def _varies_checkpoint(axes: tuple[Any, Any]) -> bool:
    """Whether an axis names the checkpoints itself (the board may then hold none; a text-encoder or
    VAE axis still needs the board's checkpoint, and the grid's cells already reload per file)."""
    return any(axis is not None and str(axis.kind) == "checkpoint" for axis in axes)
