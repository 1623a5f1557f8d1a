"""Organizing the user's files (move, rename, delete, link, undo, recovery): the use cases both front ends
call, applied through the catalog's operations journal. See :mod:`app.organize.engine`."""
