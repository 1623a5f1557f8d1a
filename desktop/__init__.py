"""PySide6 user interface: windows, Qt item models, delegates and workers."""
