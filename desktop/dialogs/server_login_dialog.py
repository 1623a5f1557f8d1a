"""Shown before the window when the catalog's server answered but refused the login (a wrong password,
or none kept for it).

Trying again with the same password can never work, so this is not the "server down" box: it says the
server refused the login, and asks for the password. Try again connects with the typed one; the server
keeps it with the user's other secrets (``app.secrets``) only once it accepted it, as ``--catalog`` with
a password in the URL does (:func:`app.server_catalog.open_server_catalog`). The other ways on are the
server box's: this computer's own catalog for this run, or quitting.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.catalog_check import LOCAL_CATALOG_BUTTON, QUIT_BUTTON, TRY_AGAIN_BUTTON, ServerChoice


class ServerLoginDialog(QDialog):
    """The refusal, a password field, and the user's choice in ``choice`` (with ``password``)."""

    def __init__(
        self,
        server: str,
        user: str | None,
        reason: str,
        parent: QWidget | None = None,
        *,
        retried: bool = False,
    ) -> None:
        """``retried``: the password the user just typed was refused too (the heading says so: the same
        dialog coming back without a word would look as if Try again did nothing)."""
        super().__init__(parent)
        self.setWindowTitle("The catalog's server refused the login")  # Qt adds " — Atelier"
        self.setMinimumWidth(560)
        self.choice = ServerChoice.QUIT

        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 18, 20, 16)
        layout.setSpacing(10)
        self.heading = QLabel(
            "The catalog's server refused that password too"
            if retried
            else "The catalog's server refused the password"
        )
        self.heading.setObjectName("detailsTitle")
        layout.addWidget(self.heading)
        self.message = QLabel(f"{server} answered: {reason}")
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        who = f"the user {user}" if user else "the user"
        self.advice = QLabel(
            f"Type the password of {who} on this server and try again: it is kept with your other "
            "secrets once the server accepts it. Or open this computer's own catalog for now; the server "
            "stays in Settings › Catalog on a server (or --catalog / ATELIER_CATALOG_URL) for the next start."
        )
        self.advice.setWordWrap(True)
        layout.addWidget(self.advice)

        form = QFormLayout()
        self.password_field = QLineEdit()
        self.password_field.setEchoMode(QLineEdit.EchoMode.Password)
        self.password_field.setPlaceholderText("the server's password")
        form.addRow("Password:", self.password_field)
        layout.addLayout(form)

        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.quit_button = QPushButton(QUIT_BUTTON)
        self.local_button = QPushButton(LOCAL_CATALOG_BUTTON)
        self.try_again_button = QPushButton(TRY_AGAIN_BUTTON)
        for button in (self.quit_button, self.local_button, self.try_again_button):
            button.setAutoDefault(False)
            buttons.addWidget(button)
        self.try_again_button.setDefault(True)  # Enter in the field tries the password
        self.try_again_button.setEnabled(False)  # an empty password is what was refused already
        layout.addLayout(buttons)

        self.password_field.textChanged.connect(lambda text: self.try_again_button.setEnabled(bool(text)))
        self.try_again_button.clicked.connect(lambda: self._choose(ServerChoice.TRY_AGAIN))
        self.local_button.clicked.connect(lambda: self._choose(ServerChoice.LOCAL))
        self.quit_button.clicked.connect(lambda: self._choose(ServerChoice.QUIT))
        self.password_field.setFocus()

    @property
    def password(self) -> str:
        return self.password_field.text()

    def _choose(self, choice: ServerChoice) -> None:
        self.choice = choice
        if choice is ServerChoice.QUIT:
            self.reject()
        else:
            self.accept()
