"""Atelier's launcher.

``python main.py`` opens the desktop app; ``python main.py <command> ...`` runs the same services
headless (scan, inspect, search, show, ...). See ``python main.py --help``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    from app.cli import parse_command_line, run_command, use_safe_output

    use_safe_output()  # file names that are not UTF-8 print as their bytes, never as a traceback

    args_list = list(sys.argv[1:] if argv is None else argv)
    args = parse_command_line(args_list)
    if args.command is not None:
        return run_command(args)
    from app.settings import DataDirError, resolve_data_dir

    try:
        resolve_data_dir(getattr(args, "data_dir", None))
    except DataDirError as error:
        print(f"atelier: {error}", file=sys.stderr)
        return 2
    # The GUI is imported only when needed, so headless commands never load Qt.
    from desktop.launch import launch_gui

    return launch_gui(getattr(args, "data_dir", None), [sys.argv[0], *args_list])


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
