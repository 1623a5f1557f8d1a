"""Atelier's launcher.

``python main.py`` opens the desktop app; ``python main.py <command> ...`` runs the same services
headless (scan, inspect, search, show, ...). See ``python main.py --help``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

DATA_DIR_OPTION = "--data-dir"


def window_start(args: Sequence[str]) -> tuple[bool, str | None]:
    """``(True, data dir or None)`` when the command line only opens the window: nothing, or
    ``--data-dir DIR`` alone; else ``(False, None)``.

    Such a start does without the command-line parser (``app.cli`` builds every command's name and
    help), so the window is drawn sooner. Anything else — a command, ``--help``, a mistake — is read by
    the parser as always, and a value the parser could read differently (empty, or starting with ``-``)
    is left to it too.
    """
    if not args:
        return True, None
    if len(args) == 2 and args[0] == DATA_DIR_OPTION and args[1] and not args[1].startswith("-"):
        return True, args[1]
    prefix = DATA_DIR_OPTION + "="
    if len(args) == 1 and args[0].startswith(prefix) and len(args[0]) > len(prefix):
        return True, args[0][len(prefix) :]
    return False, None


def main(argv: Sequence[str] | None = None) -> int:
    from app.safe_output import use_safe_output

    use_safe_output()  # file names that are not UTF-8 print as their bytes, never as a traceback

    args_list = list(sys.argv[1:] if argv is None else argv)
    window_only, data_dir = window_start(args_list)
    catalog: str | None = None  # --catalog URL: the window opens the server's catalog, as commands do
    if not window_only:
        from app.cli import parse_command_line, run_command

        args = parse_command_line(args_list)
        if args.command is not None:
            return run_command(args)
        data_dir = getattr(args, "data_dir", None)
        catalog = getattr(args, "catalog", None)
    from app.settings import DataDirError, resolve_data_dir

    try:
        resolve_data_dir(data_dir)
    except DataDirError as error:
        print(f"atelier: {error}", file=sys.stderr)
        return 2
    # The GUI is imported only when needed, so headless commands never load Qt.
    from desktop.launch import launch_gui

    return launch_gui(data_dir, [sys.argv[0], *args_list], catalog=catalog)


if __name__ == "__main__":
    import signal

    # A command started in the background by a script inherits SIGINT as ignored; Ctrl+C (kill -INT)
    # must stop it from the first moment, not only once the command's own handler is installed.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # Ctrl+C while Python was still loading, before a command could answer it
        print(file=sys.stderr)
        sys.exit(130)
