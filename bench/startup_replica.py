"""A reference window for ``bench.bench_startup --replica``: Atelier's first frame rebuilt from stock PySide6
widgets, without any of Atelier's code.

It has what the first frame shows, in the same places and at the same size (see the real window's
``desktop.main_window``): the menu bar's six menus, a document-mode tab bar with the Library tab and the
board's toggle in its corner, the sidebar (a tree of sections), the filter bar (a search field with its
icon, six filter combo boxes, the favorites, updates, sort and view buttons), an empty grid, the details
pane's room, the compose board's dock, and the status bar with the count; in the Fusion style, with
Atelier's palette, its style sheet and its icons, the desktop's colour scheme read as the "system" theme
reads it. What it leaves out is everything Atelier's own code does before that frame: reading its
settings, checking the catalog, importing its modules, its Python models, delegates and layouts.

So the replica tells the two parts of the start apart: what a window of these widgets costs in PySide6
(the replica against the bare window), and what Atelier adds to that (Atelier against the replica).
Kept in step with the real first frame by hand: a widget added to or taken from it belongs here too.
"""

from __future__ import annotations

from pathlib import Path

RESOURCES = Path(__file__).resolve().parents[1] / "resources"

# Run after ``bench_startup.PROBE`` (which defines ``Frames``), like the bare window's script.
REPLICA_WINDOW = f"""
RESOURCES = {str(RESOURCES)!r}
"""
REPLICA_WINDOW += """
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPalette, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView, QComboBox, QDockWidget, QHBoxLayout, QLabel, QLineEdit, QListView, QMainWindow,
    QSplitter, QStackedWidget, QStatusBar, QTabWidget, QToolButton, QTreeView, QVBoxLayout, QWidget,
)

ICONS = RESOURCES + "/icons/"
QGuiApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
app = QApplication(["replica", "-style", "fusion"])
frames = Frames([(lambda: window, lambda: True)])  # the first frame
dark = QGuiApplication.styleHints().colorScheme() == Qt.ColorScheme.Dark
palette = QPalette()
role = QPalette.ColorRole
light = {role.Window: "#f4f5f7", role.WindowText: "#1f2328", role.Base: "#ffffff", role.Text: "#1f2328",
         role.Button: "#ffffff", role.ButtonText: "#1f2328", role.Mid: "#d5d8de", role.Highlight: "#6d5dfc"}
for color_role, value in light.items():
    palette.setColor(color_role, QColor(value))
app.setPalette(palette)
app.setWindowIcon(QIcon(ICONS + "app.svg"))

window = QMainWindow()
window.setWindowTitle("Atelier")
window.setWindowIcon(QIcon(ICONS + "app.svg"))
window.resize(1760, 860)
for title in ("&File", "&Edit", "&Library", "&Organize", "&View", "&Help"):
    window.menuBar().addMenu(title)

sections = QStandardItemModel()
for title in ("Library", "Folders", "Kinds", "Architectures", "Tags"):
    sections.appendRow(QStandardItem(title))
sidebar = QTreeView()
sidebar.setModel(sections)
sidebar.setHeaderHidden(True)
sidebar.setMinimumWidth(150)

bar = QWidget()
bar_layout = QHBoxLayout(bar)
search = QLineEdit()
search.setPlaceholderText("Search models…")
search.setClearButtonEnabled(True)
search.addAction(QIcon(ICONS + "search.svg"), QLineEdit.ActionPosition.LeadingPosition)
search.setFixedWidth(260)
bar_layout.addWidget(search)
for label, entries in (("All kinds", 8), ("All architectures", 16), ("All tags", 0), ("Any rating", 5),
                       ("Any status", 5), ("Not hidden", 2), ("Sort: Name", 8)):
    combo = QComboBox()
    combo.addItem(label, None)
    for entry in range(entries):
        combo.addItem(f"{label} {entry}", entry)
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
    bar_layout.addWidget(combo)
for name in ("heart", "update", "chevron-up", "grid", "table"):
    button = QToolButton()
    button.setCheckable(True)
    button.setIcon(QIcon(ICONS + name + ".svg"))
    button.setIconSize(QSize(18, 18))
    bar_layout.addWidget(button)

grid = QListView()
grid.setViewMode(QListView.ViewMode.IconMode)
grid.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
grid.setModel(QStandardItemModel())
views = QStackedWidget()
views.addWidget(grid)
center = QWidget()
center_layout = QVBoxLayout(center)
center_layout.setContentsMargins(0, 0, 0, 0)
center_layout.addWidget(bar)
center_layout.addWidget(views, 1)
details = QWidget()
details.setMinimumWidth(300)

splitter = QSplitter(Qt.Orientation.Horizontal)
for pane in (sidebar, center, details):
    splitter.addWidget(pane)
splitter.setSizes([200, 820, 340])
tabs = QTabWidget()
tabs.setDocumentMode(True)
tabs.addTab(splitter, "Library")
toggle = QToolButton()
toggle.setText("Compose board")
toggle.setIcon(QIcon(ICONS + "board.svg"))
toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
tabs.setCornerWidget(toggle, Qt.Corner.TopRightCorner)
window.setCentralWidget(tabs)
dock = QDockWidget("Compose board")
dock.setWidget(QWidget())
window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
window.resizeDocks([dock], [400], Qt.Orientation.Horizontal)
status = QStatusBar()
status.addWidget(QLabel("10,000 models"))
window.setStatusBar(status)

with open(RESOURCES + "/style.qss", encoding="utf-8") as sheet:
    app.setStyleSheet(sheet.read().replace("url(icons:", "url(" + ICONS))
window.show()
app.exec()
print(frames.times[0], frames.times[0], frames.cpu[0])
"""
