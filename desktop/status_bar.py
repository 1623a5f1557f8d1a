"""The window's status bar: the result count, one message place, and the running job's progress.

Layout, left to right: the count ("14 models", always shown), then the message — a job's progress or
outcome, or for a few seconds a flashed notice, in the same place so the eye never hunts for it — and at
the right edge the progress bar and Cancel while a job runs. A message too long for the bar is cut after
its last whole word with "…"; the whole text is in its tooltip.

Jobs report through ``JobHandle`` signals (queued from the pool thread), so this widget only ever runs
on the GUI thread. When a job ends its outcome stays readable in the bar ("Scan: 12 new, ...") until the
next job starts, because a scan often finishes while the user looks elsewhere. A notice flashed right
after (the same action's follow-up) lets it come back when the notice fades; a notice of a later,
unrelated action replaces it for good, so an old job's line never comes back minutes later.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, QTimer
from PySide6.QtGui import QAction, QFontMetrics
from PySide6.QtWidgets import QLabel, QProgressBar, QPushButton, QSizePolicy, QStatusBar, QWidget

from desktop.catalog_guard import guard_catalog_calls
from desktop.qt_namespace import Qt, set_enum_property
from desktop.widgets.elided_label import ElidedLabel
from desktop.workers import JobHandle

if TYPE_CHECKING:
    from core.jobs import Progress

FLASH_MS = 4000
IDLE_CANCEL = "&Cancel the running job"  # the Library menu's entry while no job runs (disabled)
# How long after a job ended a flashed notice still belongs to it (its follow-up): the outcome comes back
# when that notice fades. A notice later than this is another action's, and the outcome is gone.
OUTCOME_FOLLOW_UP_S = 4.0
# A catalog that answers again after it did not: said longer than a notice, and it replaces a job's line
# that the unreachable catalog left (stale from then on).
CATALOG_BACK = "The catalog answers again; live updates are back"
CATALOG_BACK_MS = 10_000
CATALOG_LOST = "Live updates paused: the catalog does not answer"


_PROGRESS_RANGE_MAX = 2**31 - 1


# Characters drawn from fallback fonts (CJK, accents above capitals) with their own, taller line box; the
# message place is as tall as they need, or their line is centred lower and loses its underscores.
_TALLEST_LINE = "像素 Ég_y"


# The tallest sample line's height per font (QFont.key()), for MessageLabel._line_height: measured, or
# remembered from the last session (remember_line_height) and measured again once the window is drawn.
_SAMPLE_HEIGHTS: dict[str, int] = {}


def remember_line_height(font_key: str, height: int) -> None:
    """The sample line's height for ``font_key`` as the last session measured it (``Settings``): measuring
    loads the fallback fonts of the sample's scripts (~15M instructions, a tenth of the window's own
    start), so the first frame uses this and :meth:`AppStatusBar.measure_line_height` checks it once the
    window is drawn."""
    _SAMPLE_HEIGHTS[font_key] = height


def _measured_line_height(metrics: QFontMetrics) -> int:
    return max(metrics.height(), metrics.boundingRect(_TALLEST_LINE).height())


class MessageLabel(ElidedLabel):
    """The status bar's message place: an elided line tall enough for any script a file name may use."""

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(super().sizeHint().width(), self._line_height())

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return QSize(super().minimumSizeHint().width(), self._line_height())

    def _line_height(self) -> int:
        metrics = self.fontMetrics()
        # The sample's height depends on the font alone: measured once per font, not in every layout
        # pass (the start's layouts asked about 90 times before the first frame).
        key = self.font().key()
        sample = _SAMPLE_HEIGHTS.get(key)
        if sample is None:
            sample = _SAMPLE_HEIGHTS[key] = _measured_line_height(metrics)
        text = self.text()
        own = metrics.boundingRect(text).height() if text else 0
        return max(sample, own) + 2

    def setText(self, text: str) -> None:  # noqa: N802
        super().setText(text)
        self.updateGeometry()  # a line in a script taller still than the sample makes room for itself


def job_text(title: str, message: str) -> str:
    """ "Scan: 3 of 12", but "Hashing 10 of 12 files" when the message already names the job."""
    if not message:
        return f"{title}…"
    if message.casefold().startswith(title.casefold()):
        return message
    return f"{title}: {message}"


# A job title short enough to name on the Cancel button ("Cancel scan"); a longer one is in its tooltip.
_NAMED_ON_BUTTON = 24
_PROPER_NAMES = ("Civitai", "Hugging Face")  # kept capitalised after "Cancel"


def cancel_text(title: str) -> str:
    """ "Cancel scan": the button names its job, so beside a download's notice ("Downloading X to …") it
    does not look like the download's Cancel."""
    if len(title) > _NAMED_ON_BUTTON:
        return "Cancel job"
    if title.startswith(_PROPER_NAMES):
        return f"Cancel {title}"
    return f"Cancel {title[:1].lower()}{title[1:]}"


def cancel_tip(title: str) -> str:
    return (
        f"Stop “{title}”; what was done so far is kept. "
        "Downloads are not stopped here: pause or cancel them in the Downloads tab."
    )


def done_percent(progress: Progress) -> int:
    """How far the bar is, in whole percent, said in the text beside it.

    A job's words may count other things than its bar: hashing says which file it is on ("file 12 of
    12") while its bar counts bytes, so the last, largest file read "12 of 12" beside a bar at 45%. With
    the bar's own percentage in the text, the two always agree. Rounded down: 100% only when done.
    """
    if not progress.total:
        return 0
    return max(0, min(100, progress.done * 100 // progress.total))


def _unreachable(error: BaseException | None) -> bool:
    """``error`` is the catalog not answering (its server down): a line that is stale once it answers."""
    if error is None:
        return False
    from catalog.errors import CatalogUnreachableError  # only once a job failed: not before the first frame

    return isinstance(error, CatalogUnreachableError)


class AppStatusBar(QStatusBar):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # An action refused by a catalog server that does not answer is said here, in one line.
        guard_catalog_calls(self)
        self.setSizeGripEnabled(False)
        self.count_label = QLabel()
        self.count_label.setContentsMargins(8, 0, 8, 0)
        self.count_label.setSizePolicy(QSizePolicy.Policy.Minimum, QSizePolicy.Policy.Preferred)
        self.addWidget(self.count_label)
        # The message place: the job's text, or a flashed notice over it for a few seconds. Two labels
        # in one spot (one shown at a time), so the job's outcome comes back when the notice fades.
        # Not QStatusBar.showMessage: that hides the count.
        self.job_label = MessageLabel(at_words=True)  # cut at its end, between words
        self.job_label.setContentsMargins(8, 0, 4, 0)
        self.addWidget(self.job_label, 1)
        self.flash_label = MessageLabel(at_words=True)  # cut at its end, between words
        self.flash_label.setContentsMargins(8, 0, 4, 0)
        self.flash_label.hide()
        self.addWidget(self.flash_label, 1)
        self._flash_timer = QTimer(self)
        self._flash_timer.setSingleShot(True)
        self._flash_timer.timeout.connect(self._end_flash)
        # While the catalog does not answer (its server is down), said at the right edge until it does.
        self.catalog_state = QLabel(CATALOG_LOST)
        self.catalog_state.setObjectName("catalogState")
        self.catalog_state.setContentsMargins(8, 0, 8, 0)
        self.catalog_state.setStyleSheet("color: #c0392b;")
        self.catalog_state.hide()
        self.addPermanentWidget(self.catalog_state)
        self._line_left_by_lost_catalog = False  # the job line says the catalog could not be reached
        self.progress = QProgressBar()
        self.progress.setFixedWidth(180)
        self.progress.setTextVisible(False)
        self.addPermanentWidget(self.progress)
        self.cancel_button = QPushButton("Cancel")
        # Never in the focus chain: a tab or field that hides while a scan runs passed the focus on to
        # it, where Space or Enter stopped the scan. A click still works, and keeps the focus where it was.
        set_enum_property(self.cancel_button, "focusPolicy", "NoFocus")
        self.addPermanentWidget(self.cancel_button)
        self.cancel_button.clicked.connect(self._on_cancel_clicked)
        self._cancel_action: QAction | None = None  # made with the menus' entries, after the first frame
        self._handle: JobHandle | None = None
        self._outcome_at: float | None = None  # when the job line last got an outcome (time.monotonic)
        self._set_busy(False)

    @property
    def cancel_action(self) -> QAction:
        """The Cancel button from the keyboard (the button takes no focus): the Library menu's entry,
        named and enabled as the button is (MainWindow puts it there with the menus' entries)."""
        if self._cancel_action is None:
            self._cancel_action = QAction(IDLE_CANCEL, self)
            self._cancel_action.triggered.connect(self._on_cancel_clicked)
            self._sync_cancel_action()
        return self._cancel_action

    def _sync_cancel_action(self) -> None:
        action = self._cancel_action
        if action is None:
            return
        busy = self._handle is not None and not self.cancel_button.isHidden()
        action.setText(f"&{self.cancel_button.text()}" if busy else IDLE_CANCEL)
        action.setToolTip(self.cancel_button.toolTip() if busy else "")
        action.setEnabled(busy and self.cancel_button.isEnabled())

    def measure_line_height(self) -> tuple[str, int]:
        """Measures the message place's sample line again (a height remembered by the last session may
        be another font set's, see ``remember_line_height``) and makes room for it where it changed;
        returns (the font's key, the height) for the next start."""
        key = self.job_label.font().key()
        height = _measured_line_height(self.job_label.fontMetrics())
        if _SAMPLE_HEIGHTS.get(key) != height:
            _SAMPLE_HEIGHTS[key] = height
            for label in (self.job_label, self.flash_label):
                label.updateGeometry()
        return key, height

    @property
    def handle(self) -> JobHandle | None:
        return self._handle

    def show_count(self, shown: int, total: int) -> None:
        noun = "model" if total == 1 else "models"
        if shown == total:
            self.count_label.setText(f"{total} {noun}")
        else:
            self.count_label.setText(f"{shown} of {total} {noun}")

    def flash(self, message: str, duration_ms: int | None = None) -> None:
        """Shows ``message`` for a few seconds (``duration_ms``, else ``FLASH_MS``) in the message place
        (a board or download notice)."""
        if not message:
            self._end_flash()
            return
        if self._handle is None and not self._outcome_is_recent():
            self.job_label.setText("")  # an old job's outcome: this notice is about something else
            self._outcome_at = None
        self.flash_label.setText(message)
        self.job_label.hide()
        self.flash_label.show()
        self._flash_timer.start(FLASH_MS if duration_ms is None else duration_ms)

    # -- the catalog's own state (``desktop.live_changes`` follows it) ------------------------------

    def catalog_lost(self, problem: str) -> None:
        """The catalog stopped answering (``problem``: the feed's one line, also the marker's tooltip):
        said now, and at the right edge until :meth:`catalog_back`."""
        self.catalog_state.setToolTip(problem)
        self.catalog_state.show()
        self.flash(problem)

    def catalog_back(self) -> None:
        """The catalog answers again: the marker goes, and the reconnection is said where the eye is;
        a job's line about the catalog not answering is stale now and replaced by it."""
        self.catalog_state.hide()
        if self._handle is None and self._line_left_by_lost_catalog:
            self.job_label.setText(CATALOG_BACK)
            self._outcome_at = time.monotonic()
            self._line_left_by_lost_catalog = False
        self.flash(CATALOG_BACK, CATALOG_BACK_MS)

    def _outcome_is_recent(self) -> bool:
        at = self._outcome_at
        return at is not None and time.monotonic() - at <= OUTCOME_FOLLOW_UP_S

    def catalog_is_lost(self) -> bool:
        return not self.catalog_state.isHidden()

    def _end_flash(self) -> None:
        self._flash_timer.stop()
        self.flash_label.setText("")
        self.flash_label.hide()
        self.job_label.show()

    def flashed(self) -> str:
        """The message flashed last, while it is shown (empty once it has faded)."""
        return self.flash_label.text()

    def track(self, handle: JobHandle, *, is_news: Callable[[object], bool] | None = None) -> None:
        """Shows ``handle``'s progress until it ends, then its outcome; a job nobody asked for (a scan
        after the file watcher saw changes) gives ``is_news``: an outcome that is no news puts the line
        shown before it back (the outcome of what the user did), an empty line too: a notice that faded
        ("Added … to the library") is not followed by the rescan of the file already in place."""
        before = (self.job_label.text(), self._outcome_at)
        self._handle = handle
        # While it runs, progress messages carry paths: their file name (the end) must stay readable.
        self.job_label.set_elide_mode(Qt.TextElideMode.ElideMiddle)
        self.job_label.setText(f"{handle.title}…")
        self.cancel_button.setText(cancel_text(handle.title))
        self.cancel_button.setToolTip(cancel_tip(handle.title))
        self._sync_cancel_action()
        self.progress.setRange(0, 0)  # busy until the first report says how much there is
        self._set_busy(True)
        handle.signals.progressed.connect(self._on_progressed)

        def finished(result: object) -> None:
            if is_news is not None and not is_news(result):
                self._ended(handle, before[0])
                self._outcome_at = before[1]  # as fresh as it was: not a new outcome
            else:
                self._ended(handle, f"{handle.title}: {result}" if result is not None else None)

        handle.signals.finished.connect(finished)
        handle.signals.failed.connect(
            lambda message: self._ended(
                handle, f"{handle.title} failed: {message}", catalog_lost=_unreachable(handle.error)
            )
        )
        handle.signals.cancelled.connect(lambda: self._ended(handle, f"{handle.title} cancelled"))

    def _on_progressed(self, progress: Progress) -> None:
        if self._handle is None:
            return
        if progress.total:
            # QProgressBar takes 32-bit ints; byte counts of a large library (hashing) exceed them.
            scale = max(1, -(-progress.total // _PROGRESS_RANGE_MAX))
            self.progress.setRange(0, progress.total // scale)
            self.progress.setValue(min(progress.done, progress.total) // scale)
        else:
            self.progress.setRange(0, 0)
        text = progress.message or (f"{progress.done} of {progress.total}" if progress.total else "")
        if progress.total and "%" not in text:
            text = f"{text} ({done_percent(progress)}%)"
        self.job_label.setText(job_text(self._handle.title, text))

    def _ended(self, handle: JobHandle, message: str | None, *, catalog_lost: bool = False) -> None:
        """``message``: the line to leave ("" leaves it empty); None says that the job finished."""
        if handle is not self._handle:
            return
        self._handle = None
        self._outcome_at = time.monotonic()
        self._line_left_by_lost_catalog = catalog_lost
        self._set_busy(False)
        self.job_label.set_elide_mode(Qt.TextElideMode.ElideRight, at_words=True)  # a summary: whole words
        self.job_label.setText(f"{handle.title} finished" if message is None else message)

    def _on_cancel_clicked(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self.cancel_button.setEnabled(False)
            self._sync_cancel_action()
            self.job_label.setText(f"{self._handle.title}: cancelling…")

    def _set_busy(self, busy: bool) -> None:
        self.progress.setVisible(busy)
        self.cancel_button.setVisible(busy)
        self.cancel_button.setEnabled(busy)
        self._sync_cancel_action()
