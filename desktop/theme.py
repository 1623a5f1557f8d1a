"""Light and dark looks: the Fusion style with our palettes, plus ``resources/style.qss``.

Fusion draws the same on every platform, so one palette per theme gives a predictable look; the style
sheet only adds spacing and a few accents and refers to palette colors (``palette(mid)``), so it works
unchanged in both themes. "system" follows the desktop's color scheme, also when it changes while the
app runs.
"""

from __future__ import annotations

from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

from desktop.qt_namespace import Qt
from desktop.resources import style_sheet

ACCENT = QColor("#6d5dfc")
FUSION = "fusion"
IN_FUSION = "atelier_in_fusion"  # the application's property: its style is Fusion already
FOLLOWS_SCHEME = "atelier_follows_scheme"  # the application's property: follow_system_scheme is connected
THEMES = ("system", "light", "dark")


def _palette(dark: bool) -> QPalette:
    palette = QPalette()
    role = QPalette.ColorRole
    if dark:
        colors = {
            role.Window: "#1d1f24",
            role.WindowText: "#e6e7ea",
            role.Base: "#16181c",
            role.AlternateBase: "#1f2227",
            role.ToolTipBase: "#2a2d33",
            role.ToolTipText: "#e6e7ea",
            role.PlaceholderText: "#7d828c",
            role.Text: "#e6e7ea",
            role.Button: "#272a30",
            role.ButtonText: "#e6e7ea",
            role.BrightText: "#ffffff",
            role.Light: "#3a3e46",
            role.Midlight: "#30333a",
            role.Mid: "#3a3e46",
            role.Dark: "#111216",
            role.Shadow: "#000000",
            role.Link: "#9d92ff",
        }
    else:
        colors = {
            role.Window: "#f4f5f7",
            role.WindowText: "#1f2328",
            role.Base: "#ffffff",
            role.AlternateBase: "#f7f8fa",
            role.ToolTipBase: "#ffffff",
            role.ToolTipText: "#1f2328",
            role.PlaceholderText: "#8a8f98",
            role.Text: "#1f2328",
            role.Button: "#ffffff",
            role.ButtonText: "#1f2328",
            role.BrightText: "#ffffff",
            role.Light: "#ffffff",
            role.Midlight: "#eceef1",
            role.Mid: "#d5d8de",
            role.Dark: "#a0a5ad",
            role.Shadow: "#5c6067",
            role.Link: "#5446e0",
        }
    for color_role, value in colors.items():
        palette.setColor(color_role, QColor(value))
    palette.setColor(role.Highlight, ACCENT)
    palette.setColor(role.HighlightedText, QColor("#ffffff"))
    disabled = QColor("#6b7079") if dark else QColor("#a3a8b0")
    for color_role in (role.Text, role.WindowText, role.ButtonText):
        palette.setColor(QPalette.ColorGroup.Disabled, color_role, disabled)
    return palette


DARK, LIGHT = "dark", "light"  # a desktop's colour scheme, as ``Settings.desktop_scheme`` keeps it


def is_dark(theme: str, desktop_scheme: str = "") -> bool:
    """Whether ``theme`` is dark here; for "system", ``desktop_scheme`` where it is known ("dark" or
    "light"), else the desktop is asked (:func:`desktop_is_dark`)."""
    if theme == "dark":
        return True
    if theme == "light":
        return False
    if desktop_scheme in (DARK, LIGHT):
        return desktop_scheme == DARK
    return desktop_is_dark()


def desktop_is_dark() -> bool:
    """Whether the desktop's color scheme is dark (what "system" follows).

    Qt answers with a ``Qt.ColorScheme``, so asking builds PySide's ``Qt`` namespace (~10 ms, see
    ``desktop.qt_namespace``): a returning user's window starts in the scheme the desktop had when it
    last closed (``Settings.desktop_scheme``) and asks once its first frame is drawn
    (:func:`follow_system_scheme`)."""
    return QGuiApplication.styleHints().colorScheme() == Qt.ColorScheme.Dark


def desktop_scheme() -> str:
    """The desktop's colour scheme now, as ``Settings.desktop_scheme`` keeps it."""
    return DARK if desktop_is_dark() else LIGHT


def apply_theme(
    app: QApplication, theme: str, *, with_style_sheet: bool = True, desktop_scheme: str = ""
) -> None:
    """Sets style, palette and style sheet for ``theme`` ("light", "dark" or "system").

    ``with_style_sheet=False`` leaves the sheet for :func:`apply_style_sheet`: while an application
    style sheet is set, Qt matches its rules again each time a widget is added to a parent, which made
    building the main window three times slower; built first and styled once, the window appears sooner
    and looks the same (``desktop.app.open_main_window``). ``desktop_scheme``: the desktop's scheme
    where already known (see :func:`is_dark`).
    """
    use_fusion(app)
    app.setProperty("atelier_theme", theme)
    _set_palette(app, _palette(is_dark(theme, desktop_scheme)))
    if with_style_sheet:
        apply_style_sheet(app)


def _set_palette(app: QApplication, palette: QPalette) -> None:
    """Gives every widget ``palette``, also the ones the style sheet has already styled.

    Qt's style sheet style gives each widget it polishes a palette of its own, copied from the
    application's palette of that moment (the sheet's ``palette(mid)`` and ``background`` are resolved
    into it). Those widgets then keep the old colors when the application's palette changes: switching
    the theme at run time left the status bar, the dock titles and most labels with the old theme's
    text on the new theme's background. Taking the sheet off first gives each widget its inherited
    palette back; set again, the sheet styles them from the new palette.
    """
    if app.palette() == palette:
        return  # the same theme again (settings saved unchanged): nothing to repolish
    sheet = app.styleSheet()
    if sheet:
        app.setStyleSheet("")
    app.setPalette(palette)
    if sheet:
        app.setStyleSheet(sheet)


def use_fusion(app: QApplication) -> None:
    """Puts an application made elsewhere (tests, embedding) in the Fusion style, once; Atelier's own is
    made in it (``desktop.app.create_application``), without asking for its style from Python."""
    if app.property(IN_FUSION):
        return
    if app.style().name().lower() != FUSION:  # setting it again would polish every widget again
        app.setStyle(FUSION)
    app.setProperty(IN_FUSION, True)


def apply_style_sheet(app: QApplication) -> None:
    """The app's style sheet (``resources/style.qss``, its images by absolute path), set once."""
    sheet = style_sheet()
    if app.styleSheet() != sheet:
        app.setStyleSheet(sheet)


def follow_system_scheme(app: QApplication) -> None:
    """Re-applies the theme when the desktop switches light/dark and the theme is "system": now, where
    the window started in another scheme (the one kept from the last session, see ``desktop_is_dark``),
    then on each switch; connected once per application (a second call would apply it twice)."""
    _keep_to_desktop_scheme(app)
    if app.property(FOLLOWS_SCHEME):
        return

    def on_changed(_scheme: Qt.ColorScheme) -> None:
        if app.property("atelier_theme") == "system":
            apply_theme(app, "system")

    QGuiApplication.styleHints().colorSchemeChanged.connect(on_changed)
    app.setProperty(FOLLOWS_SCHEME, True)


def _keep_to_desktop_scheme(app: QApplication) -> None:
    if app.property("atelier_theme") == "system" and app.palette() != _palette(desktop_is_dark()):
        apply_theme(app, "system")
