"""The window side of organizing files: move, rename, delete and undo, the sidebar's folder tree."""
