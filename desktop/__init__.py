"""PySide6 user interface: windows, Qt item models, delegates and workers."""

from desktop.pyside_sources import read_sources_quickly

read_sources_quickly()  # before the window's modules are imported (see desktop.pyside_sources)
