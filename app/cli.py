"""The headless commands: ``python main.py <command>`` (or ``atelier <command>``).

Each command prints a human summary by default and one JSON document with ``--json``. Errors print one
clear line on stderr and exit non-zero: 1 for a failure of the work, 2 for a usage error (``render`` and
``grid`` exit 3 when assets are missing from the library).

A command starts at once: this module imports nothing heavy, ``--help`` lists the commands from
``app.cli_registry`` alone, and a command line imports only the module of the command it names (which
declares that command's arguments and handler). The command line is therefore read in two steps: which
command (every command known by name only), then that command's own arguments.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TextIO

from app.cli_registry import COMMAND_ENTRIES, command_entry
from app.command_access import refuse_if_read_only
from app.interrupts import EXIT_INTERRUPTED, ctrl_c_handling
from app.messages import user_message
from core.errors import AtelierError, UsageError
from core.waits import WaitNotice, waits_reported_to

if TYPE_CHECKING:
    from app.context import AppContext

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a writer whose reader went away

Handler = Callable[["AppContext", argparse.Namespace, TextIO], int]


class CliError(AtelierError):
    """A failure to report as one line on stderr."""


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The command line's parser: every command by name and one-line help, and ``command`` (with the
    other commands of its module) with all its arguments, declared by the module that implements it."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--data-dir",
        default=argparse.SUPPRESS,
        help="where the catalog and settings live (default: $ATELIER_DATA_DIR or the platform's data dir)",
    )
    common.add_argument(
        "--catalog",
        default=argparse.SUPPRESS,
        metavar="URL",
        help="the catalog on a PostgreSQL server, postgresql://user@host/db (default: $ATELIER_CATALOG_URL, "
        "else the data dir's file); a password given here is kept with your other secrets",
    )
    parser = argparse.ArgumentParser(
        prog="atelier",
        description="Atelier: a model library for Stable Diffusion. Without a command, opens the app.",
        parents=[common],
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    full = command_entry(command).module if command is not None else None
    for entry in COMMAND_ENTRIES:
        if entry.module != full:
            # Known by name only: what follows it is read once the command's own module is loaded.
            sub.add_parser(entry.name, help=entry.help, add_help=False)
    if full is not None:
        importlib.import_module(full).add_commands(sub, common)
    return parser


def parse_command_line(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The parsed command line; ``search``'s words may come before, between or after its options.

    ``search civitai --type LORA pixel`` leaves "pixel" over after argparse's one run of positionals;
    for ``search`` such leftover words join the query, for every other command they are an error.
    """
    # Which command: anything wrong before it (an unknown command, -h) is answered here already.
    command = build_parser().parse_known_args(argv)[0].command
    parser = build_parser(command)
    args, extra = parser.parse_known_args(argv)
    if extra:
        if args.command == "search" and not any(item.startswith("-") for item in extra):
            args.words = [*args.words, *extra]
        else:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def command_handler(command: str) -> Handler:
    """The function that runs ``command``, from the one module that implements it."""
    handlers: dict[str, Handler] = importlib.import_module(command_entry(command).module).COMMANDS
    return handlers[command]


def main(argv: Sequence[str] | None = None) -> int:
    """Run one headless command (``main.py`` opens the desktop app when no command is given)."""
    args = parse_command_line(argv)
    if args.command is None:
        build_parser().print_help(sys.stderr)
        return EXIT_USAGE
    return run_command(args)


def run_command(args: argparse.Namespace, out: TextIO | None = None) -> int:
    from app.context import AppContext

    out = out or sys.stdout
    handler = command_handler(args.command)
    try:
        context = AppContext(getattr(args, "data_dir", None), catalog=getattr(args, "catalog", None))
    except AtelierError as exc:  # a data dir that cannot be used, a catalog URL that names no database
        print(f"atelier {args.command}: {user_message(exc)}", file=sys.stderr)
        return EXIT_USAGE
    try:
        # A site's "wait and try again" is said on stderr while the command waits (the window shows it
        # in the pane that asked); the result still goes to stdout.
        with (
            ctrl_c_handling(args.command) as stopped,
            waits_reported_to(lambda notice: _say_wait(args.command, notice)),
        ):
            refuse_if_read_only(context, args)  # a changing command in a read-only data folder: one line
            code = handler(context, args, out)
        out.flush()  # a closed pipe shows here, inside the handling below, not at interpreter exit
        for line in stopped:  # Ctrl+C stopped an operation after a file: what it did, exit 130
            print(f"atelier {args.command}: {line}", file=sys.stderr)
        return EXIT_INTERRUPTED if stopped else code
    except BrokenPipeError:
        # The reader went away (``show 3 | head``): stop quietly, as command-line tools do.
        silence_stdout()
        return EXIT_BROKEN_PIPE
    except UsageError as exc:  # asked in a way the user corrects (README: exit 2, as a wrong option)
        return _report_error(args, out, user_message(exc), EXIT_USAGE)
    except (AtelierError, OSError) as exc:
        # Every expected failure (remote, catalog, render, a download target, a file) is one line, never a
        # traceback.
        return _report_error(args, out, user_message(exc), getattr(exc, "exit_code", EXIT_FAILED))
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return _report_error(args, out, "interrupted", EXIT_INTERRUPTED)
    finally:
        context.close()


def _report_error(args: argparse.Namespace, out: TextIO, message: str, code: int) -> int:
    """The command's one error line on stderr; with ``--json`` also ``{"error", "exit_code"}`` on stdout,
    so a script reading the JSON sees the failure too."""
    print(f"atelier {args.command}: {message}", file=sys.stderr)
    if getattr(args, "json", False):
        try:
            from app.serialize import json_text  # a message may quote a name that is not UTF-8

            json.dump(json_text({"error": message, "exit_code": code}), out)
            out.write("\n")
            out.flush()
        except (BrokenPipeError, ValueError):
            silence_stdout()
    return code


def _say_wait(command: str, notice: WaitNotice) -> None:
    """Says a wait a user would notice (a second or more); a quick second try goes unsaid, so a
    failure stays the one line the command ends with."""
    if notice.seconds >= 1:
        print(f"atelier {command}: {notice.text()}", file=sys.stderr, flush=True)


def silence_stdout() -> None:
    """Point stdout at /dev/null so Python's final flush after a closed pipe stays quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass  # stdout has no file descriptor (captured in tests): nothing will flush to a pipe
