"""Before the window opens: a catalog that cannot be opened is shown to the user, never replaced.

The check is the context's own (``AppContext.catalog_problem``): one ``stat`` and one header read, so a
healthy library opens as fast as before. Its schema revision is read too (``sqlite3``, read-only) unless
the file is as the window left it when it last closed (``AppContext.catalog_as_checked``). In a read-only
data folder the catalog is opened here, before the window, because nothing can be repaired there and a
schema that would need an update must be said before an empty window is shown. When something is wrong,
``CatalogProblemDialog`` offers a backup, a new empty library or quitting (a server's catalog: trying
again, this computer's own catalog or quitting), and this loop carries the choice out through the context
(which moves the old file aside) until the catalog opens or the user quits.
"""

from __future__ import annotations

import sys
from enum import Enum
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QApplication

from catalog.db_file import schema_written_by_newer
from core.errors import AtelierError
from desktop.theme import apply_theme

if TYPE_CHECKING:
    from app.context import AppContext
    from catalog.catalog_url import CatalogLocation
    from catalog.errors import ServerLoginRefusedError


def catalog_problem(context: AppContext) -> AtelierError | None:
    """What keeps the library from opening; None when the window can go on."""
    if not context.read_only and context.server_catalog is None:
        problem = context.catalog_problem()
        if problem is not None or context.catalog_as_checked():  # as the window left it: known, not read
            return problem
        if (newer := schema_written_by_newer(context.catalog_path)) is not None:
            # Said now, not after an empty window: opening would refuse it (the CLI says the same).
            from catalog.errors import SchemaTooNewError  # SQLAlchemy's errors: not before first paint

            return SchemaTooNewError.of_revision(newer)
        return None
    try:
        # Opened now (read-only, or on a server): a refusal must be seen before the window, not as an
        # empty window and a traceback.
        context.library  # noqa: B018
    except AtelierError as error:
        return error
    return None


def settle_catalog(context: AppContext) -> bool:
    """Ask until the catalog can be opened (True) or the user quits (False; the problem is printed).

    The dialog's modules are imported only when something is wrong: a healthy start goes on to the
    window's first paint without them."""
    typed_password = False  # the server refused a password the user typed in the dialog
    while (problem := catalog_problem(context)) is not None:
        from PySide6.QtWidgets import QMessageBox

        from app.catalog_access import without_command_hint
        from app.messages import user_message
        from catalog.errors import ServerLoginRefusedError
        from desktop.dialogs.catalog_problem_dialog import CatalogChoice, CatalogProblemDialog

        application = QApplication.instance()
        if isinstance(application, QApplication):  # the dialog looks like the window will
            apply_theme(application, context.settings.theme)
        message = user_message(problem)
        if context.server_catalog is not None and isinstance(problem, ServerLoginRefusedError):
            # The server answered: only another password helps, so the user is asked for one.
            choice, password = ask_for_the_password(context.server_catalog, problem, retried=typed_password)
            if choice is ServerChoice.QUIT:
                print(f"atelier: {message}", file=sys.stderr)
                return False
            if choice is ServerChoice.LOCAL:
                context.use_local_catalog()
            else:  # the next round connects with it
                context.server_catalog = with_given_password(context.server_catalog, password)
                typed_password = True
            continue
        if context.server_catalog is not None:
            choice = ask_about_the_server(message)
            if choice is ServerChoice.QUIT:
                print(f"atelier: {message}", file=sys.stderr)
                return False
            if choice is ServerChoice.LOCAL:
                context.use_local_catalog()
            continue  # Try again: the next round connects to the server anew
        dialog = CatalogProblemDialog(
            without_command_hint(message), context.data_dir, can_change=not context.read_only
        )
        dialog.exec()
        if dialog.choice is CatalogChoice.QUIT:
            print(f"atelier: {message}", file=sys.stderr)
            return False
        source = dialog.chosen_file if dialog.choice is CatalogChoice.RESTORE else None
        try:
            context.start_new_catalog(source)
        except (AtelierError, OSError) as error:
            QMessageBox.warning(None, "The catalog was not changed", user_message(error))
    return True


LOCAL_CATALOG_BUTTON = "Open this computer's catalog"
TRY_AGAIN_BUTTON = "Try again"
QUIT_BUTTON = "Quit"


class ServerChoice(Enum):
    """What the user chose when the server's catalog could not be opened before the window."""

    TRY_AGAIN = "try again"  # connect again (the server was restarting, the network coming back)
    LOCAL = "local"  # this computer's own catalog file for this run
    QUIT = "quit"


def ask_about_the_server(message: str) -> ServerChoice:
    """The server's catalog cannot be opened (``message`` says why): try it again (the default: a server
    being restarted answers a moment later), open this computer's own catalog for this run, or quit. The
    server stays in the settings whatever the choice."""
    from PySide6.QtWidgets import QMessageBox

    box = QMessageBox(QMessageBox.Icon.Warning, "Atelier", message)
    box.setInformativeText(
        "Try again once the server answers, or open this computer's own catalog for now; the server stays "
        "in Settings › Catalog on a server (or --catalog / ATELIER_CATALOG_URL) for the next start."
    )
    again = box.addButton(TRY_AGAIN_BUTTON, QMessageBox.ButtonRole.ActionRole)
    local = box.addButton(LOCAL_CATALOG_BUTTON, QMessageBox.ButtonRole.AcceptRole)
    box.addButton(QUIT_BUTTON, QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(again)
    box.exec()
    clicked = box.clickedButton()
    if clicked is again:
        return ServerChoice.TRY_AGAIN
    return ServerChoice.LOCAL if clicked is local else ServerChoice.QUIT


def ask_for_the_password(
    server: CatalogLocation, refused: ServerLoginRefusedError, *, retried: bool = False
) -> tuple[ServerChoice, str]:
    """The server refused the login (``refused`` says how; ``retried``: the password the user typed last
    time): the user's choice, with the password they typed to try again with."""
    from desktop.dialogs.server_login_dialog import ServerLoginDialog

    user = server.server.username if server.server is not None else None
    dialog = ServerLoginDialog(str(server), user, refused.reason, retried=retried)
    dialog.exec()
    return dialog.choice, dialog.password


def with_given_password(server: CatalogLocation, password: str) -> CatalogLocation:
    """``server`` with the password the user typed, as if given in ``--catalog``'s URL: the catalog opens
    with it, and keeps it with the other secrets only once the server accepted it
    (:func:`app.server_catalog.open_server_catalog`); every message still masks it."""
    from dataclasses import replace

    from catalog.catalog_url import parse

    assert server.server is not None
    return parse(replace(server.server, password=password).render(hide_password=False))
