"""PySide6 user interface: windows, Qt item models, delegates and workers."""

from desktop.pyside_imports import without_feature_imports

without_feature_imports()  # before the window's modules are imported (see desktop.pyside_imports)
