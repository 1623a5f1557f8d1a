"""The "Sites" page of the settings: tokens, Civitai host, Hugging Face endpoint, NSFW level, downloads.

Tokens go to the ``TokenStore`` (the system keyring, or a file only the user can read) and never to
``settings.json`` or the catalog; the page says which store is in use. ``apply`` writes the fields to the
settings object; the dialog saves it.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QWidget,
)

from catalog.records import RootRecord
from desktop.services import RemoteSettings, TokenKeeper

CIVITAI_HOSTS = (("https://civitai.com", "civitai.com"), ("https://civitai.red", "civitai.red"))
CUSTOM = "custom"
NSFW_CHOICES = ((1, "PG"), (2, "PG-13"), (4, "R"), (8, "X"), (16, "XXX"))
MAX_CONCURRENCY = 6
# Said where the library folders would be chosen while the catalog cannot be read (its server is down).
UNREAD_FOLDERS = "The library folders cannot be read now: the catalog does not answer"


class TokenField(QWidget):
    """A password field with a show/hide toggle."""

    def __init__(self, value: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.edit = QLineEdit(value)
        self.edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.show_box = QCheckBox("Show")
        self.show_box.toggled.connect(
            lambda shown: self.edit.setEchoMode(
                QLineEdit.EchoMode.Normal if shown else QLineEdit.EchoMode.Password
            )
        )
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.edit, 1)
        layout.addWidget(self.show_box)

    def text(self) -> str:
        return self.edit.text().strip()


class SitesPage(QWidget):
    """``roots``: the library folders to offer as the download folder; None when the catalog cannot be
    read now (its server does not answer): the download folder setting is then shown and kept as is."""

    def __init__(
        self,
        settings: RemoteSettings,
        tokens: TokenKeeper,
        roots: Sequence[RootRecord] | None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._settings = settings
        self._tokens = tokens
        self._initial = {site: tokens.get(site) or "" for site in ("civitai", "huggingface")}
        form = QFormLayout(self)

        self.civitai_token = TokenField(self._initial["civitai"])
        self.civitai_token.edit.setPlaceholderText("Civitai API key (for early-access and login-only files)")
        form.addRow("Civitai API key", self.civitai_token)
        self.hf_token = TokenField(self._initial["huggingface"])
        self.hf_token.edit.setPlaceholderText("hf_… (for gated repositories)")
        form.addRow("Hugging Face token", self.hf_token)
        self.token_store = QLabel(f"Tokens are stored in {tokens.backend}, never in the settings file.")
        self.token_store.setWordWrap(True)
        form.addRow("", self.token_store)

        self.civitai_host = QComboBox()
        for url, label in CIVITAI_HOSTS:
            self.civitai_host.addItem(label, url)
        self.civitai_host.addItem("Custom…", CUSTOM)
        self.civitai_custom = QLineEdit()
        self.civitai_custom.setPlaceholderText("https://mirror.example")
        index = self.civitai_host.findData(settings.civitai_base_url)
        if index < 0:
            index = self.civitai_host.findData(CUSTOM)
            self.civitai_custom.setText(settings.civitai_base_url)
        self.civitai_host.currentIndexChanged.connect(self._update_custom)
        self.civitai_host.setCurrentIndex(index)
        host_row = QHBoxLayout()
        host_row.addWidget(self.civitai_host)
        host_row.addWidget(self.civitai_custom, 1)
        form.addRow("Civitai site", host_row)
        self.hf_endpoint = QLineEdit(settings.hf_endpoint)
        self.hf_endpoint.setPlaceholderText("empty: $HF_ENDPOINT, else https://huggingface.co")
        form.addRow("Hugging Face endpoint", self.hf_endpoint)

        self.nsfw_level = QComboBox()
        for level, label in NSFW_CHOICES:
            self.nsfw_level.addItem(label, level)
        self.nsfw_level.setCurrentIndex(max(0, self.nsfw_level.findData(settings.nsfw_max_level)))
        self.nsfw_level.setToolTip("Images above this level are shown blurred")
        form.addRow("Show images up to", self.nsfw_level)
        self.concurrency = QSpinBox()
        self.concurrency.setRange(1, MAX_CONCURRENCY)
        self.concurrency.setValue(max(1, min(MAX_CONCURRENCY, settings.download_concurrency)))
        form.addRow("Downloads at once", self.concurrency)
        self.download_root = QComboBox()
        self.download_root.addItem("The first library folder added", "")
        for root in roots or ():
            if root.placed_here:  # a shared folder not mapped here: its path is another machine's
                self.download_root.addItem(root.path, root.path)
        self.download_root.setToolTip(
            "Where downloads go unless you choose another folder on the Downloads tab; "
            "each file goes to the folder for its kind (models/Lora, embeddings…) inside it"
        )
        if roots is None:  # the library folders cannot be read now: the setting is kept as it is
            if settings.download_root:
                self.download_root.addItem(settings.download_root, settings.download_root)
            self.download_root.setEnabled(False)
            self.download_root.setToolTip(UNREAD_FOLDERS)
        self.download_root.setCurrentIndex(max(0, self.download_root.findData(settings.download_root)))
        form.addRow("Download folder", self.download_root)
        self.subfolder = QLineEdit(settings.download_subfolder)
        self.subfolder.setPlaceholderText("optional, e.g. {base_model} or {base_model}/{model_name}")
        form.addRow("Subfolder", self.subfolder)
        self._update_custom()

    def _update_custom(self) -> None:
        self.civitai_custom.setEnabled(self.civitai_host.currentData() == CUSTOM)

    def civitai_base_url(self) -> str:
        chosen = str(self.civitai_host.currentData())
        if chosen != CUSTOM:
            return chosen
        custom = self.civitai_custom.text().strip().rstrip("/")
        return custom if custom.startswith(("http://", "https://")) else self._settings.civitai_base_url

    def apply(self) -> None:
        """Writes the fields to the settings (the dialog saves them) and changed tokens to the store."""
        settings = self._settings
        settings.civitai_base_url = self.civitai_base_url()
        settings.hf_endpoint = self.hf_endpoint.text().strip().rstrip("/")
        settings.nsfw_max_level = int(self.nsfw_level.currentData())
        settings.download_concurrency = self.concurrency.value()
        settings.download_root = str(self.download_root.currentData())
        settings.download_subfolder = self.subfolder.text().strip()
        for site, field in (("civitai", self.civitai_token), ("huggingface", self.hf_token)):
            if field.text() != self._initial[site]:
                self._tokens.set(site, field.text() or None)
