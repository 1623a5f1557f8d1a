"""A dialog page that scrolls instead of squeezing, and a dialog opened at its full height where it fits.

Why: Qt opens a dialog at most two thirds of the screen high, then lays its rows out between their
minimum and preferred heights. A tall page (Settings: folders, preferences, renderer, catalog) got its
form rows squeezed below their size hints on a 1000-pixel screen, where spin boxes lose their arrows and
combo boxes their text. Here the page never gets less than its size hint (it scrolls on a screen too
small for it), and :func:`open_at_full_height` gives the dialog its preferred size within the screen.

A page that scrolls must not let the mouse wheel change a field it passes over: a spin box or combo box
takes wheel events, so scrolling the page stopped on the first one under the pointer and changed its
value (Settings' "Keep checkpoints loaded" went from "only the current one" to "1 GB"). Such fields take
the wheel only once the user has clicked or tabbed into them; until then it scrolls the page.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QSize
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QAbstractSpinBox, QComboBox, QWidget

from desktop.qt_namespace import Qt
from desktop.widgets.vertical_scroll import VerticalScrollArea

SCREEN_MARGIN = 80  # left free above and below a dialog: its title bar, a panel, a little air


class _WholePage(QWidget):
    """The page inside: never laid out smaller than its size hint (the scroll area scrolls instead)."""

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return self.sizeHint()


class ScrollingPage(VerticalScrollArea):
    """A vertical scroll area around :attr:`page` (lay it out) whose size hint is the whole page's (a
    plain QScrollArea's stops at 24 lines of text), so a dialog asks for the room the page wants."""

    def __init__(self) -> None:
        self.page = _WholePage()
        super().__init__(self.page)
        self._fields_guarded = False

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802
        if not self._fields_guarded:  # the page is built by now: its fields leave the wheel to the page
            self._fields_guarded = True
            for field in [*self.page.findChildren(QAbstractSpinBox), *self.page.findChildren(QComboBox)]:
                field.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # the wheel alone gives it no focus
                field.installEventFilter(self)
        super().showEvent(event)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if (
            event.type() == QEvent.Type.Wheel
            and isinstance(watched, QAbstractSpinBox | QComboBox)
            and not watched.hasFocus()
        ):
            QCoreApplication.sendEvent(self.verticalScrollBar(), event)  # the page scrolls instead
            return True
        return super().eventFilter(watched, event)

    def sizeHint(self) -> QSize:  # noqa: N802
        hint = self.page.sizeHint()
        return QSize(hint.width() + self.verticalScrollBar().sizeHint().width(), hint.height())


def open_at_full_height(dialog: QWidget) -> None:
    """Resize ``dialog`` (before it is shown) to its size hint, within the available screen."""
    dialog.ensurePolished()  # the style sheet's paddings are part of the hint
    wanted = dialog.sizeHint().expandedTo(dialog.minimumSize())
    screen = dialog.screen()
    if screen is not None:
        room = screen.availableGeometry().size() - QSize(SCREEN_MARGIN, SCREEN_MARGIN)
        wanted = wanted.boundedTo(room).expandedTo(dialog.minimumSize())
    dialog.resize(wanted)
