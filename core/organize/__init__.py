"""Pure planning of changes to the user's files: which files travel together, where they go, what conflicts.

Nothing here touches the disk on its own: the callables that answer "does this path exist?" are passed in,
so a plan is data that the window can show and a test can build without files. ``app.organize`` applies
plans through the catalog's operations journal.
"""
