"""Settings: library folders, thumbnails, background hashing and Civitai lookup, watching, theme, the
catalog on a server; and, when the remote tabs are enabled, a "Sites" page (``desktop.dialogs.sites_page``).

The catalog field takes a PostgreSQL URL (a library shared by several machines) or nothing (this
computer's catalog file); it applies from the next start. A password typed into it goes to the secrets
(``app.server_catalog.catalog_url_to_save``), never to ``settings.json``; a URL that names no server is
said under the field and the dialog stays open.

Values are read from and written to the injected ``DesktopSettings`` (``save`` persists them). Folder
changes are not applied by the dialog: it reports ``added_paths`` and ``removed_root_ids`` and the
window applies them (adding a root detects its layout and is followed by a scan, which is the
window's job, not a dialog's).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.settings import MAX_KEEP_CHECKPOINTS_GB
from catalog.records import RootRecord
from core.layouts import TOOL_NAMES
from desktop.dialogs.sites_page import SitesPage
from desktop.qt_namespace import USER_ROLE
from desktop.services import DesktopSettings, RemoteServices
from desktop.widgets.page_scroll import ScrollingPage, open_at_full_height

if TYPE_CHECKING:
    from app.server_catalog import SecretKeeper  # imports SQLAlchemy: only where a URL is saved

THEME_CHOICES = (("system", "Follow the system"), ("light", "Light"), ("dark", "Dark"))
ROOT_ID_ROLE = USER_ROLE + 1
NEW_PATH_ROLE = USER_ROLE + 2
MIN_THUMBNAIL, MAX_THUMBNAIL = 96, 384
MAX_HASH_WORKERS = 8
# (setting value, label); the combo box is editable for other torch devices such as "cuda:1".
RENDER_DEVICE_CHOICES = (
    ("", "Automatic (CUDA, then MPS, then CPU)"),
    ("cpu", "CPU"),
    ("cuda", "CUDA"),
    ("mps", "MPS"),
)


class SettingsDialog(QDialog):
    def __init__(
        self,
        settings: DesktopSettings,
        roots: Sequence[RootRecord] | None,
        parent: QWidget | None = None,
        *,
        remote: RemoteServices | None = None,
        secrets: SecretKeeper | None = None,
        folders_problem: str = "",
    ) -> None:
        """``roots`` None: the library folders cannot be read now (the catalog's server does not answer);
        ``folders_problem`` says so in the folders box, whose buttons are off, and every setting kept in
        settings.json (the catalog field first: the way to this computer's own catalog) still saves."""
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setMinimumWidth(560)
        self._settings = settings
        self._removed: list[int] = []
        self._secrets = secrets if secrets is not None else remote.tokens if remote is not None else None
        outer = QVBoxLayout(self)
        outer.setContentsMargins(18, 16, 18, 14)
        self.pages = QTabWidget()
        general_page = ScrollingPage()  # scrolls on a small screen rather than squeezing its rows
        layout = QVBoxLayout(general_page.page)
        layout.setSpacing(12)
        self.pages.addTab(general_page, "General")
        self.sites: SitesPage | None = None
        if remote is not None:
            self.sites = SitesPage(remote.settings, remote.tokens, roots)
            sites_page = ScrollingPage()
            sites_layout = QVBoxLayout(sites_page.page)
            sites_layout.setContentsMargins(0, 0, 0, 0)
            sites_layout.addWidget(self.sites)
            self.pages.addTab(sites_page, "Sites")
        outer.addWidget(self.pages)

        folders_box = QGroupBox("Library folders")
        folders_layout = QVBoxLayout(folders_box)
        self.folders = QListWidget()
        self.folders.setAlternatingRowColors(True)
        for root in roots or ():
            layout_name = TOOL_NAMES[root.layout]
            item = QListWidgetItem(
                f"{root.path}    —  {layout_name}"
                if root.placed_here  # else its path is another computer's: said as such
                else f"{root.name}    —  not mapped on this computer (elsewhere: {root.path})"
            )
            item.setData(ROOT_ID_ROLE, root.id)
            item.setToolTip(root.path)
            self.folders.addItem(item)
        folders_layout.addWidget(self.folders)
        buttons_row = QHBoxLayout()
        self.add_folder_button = QPushButton("Add folder…")
        self.add_folder_button.clicked.connect(self._on_add_clicked)
        self.remove_folder_button = QPushButton("Remove")
        self.remove_folder_button.setToolTip("Removes the folder from the library; no file is deleted")
        self.remove_folder_button.clicked.connect(self.remove_selected_folder)
        buttons_row.addWidget(self.add_folder_button)
        buttons_row.addWidget(self.remove_folder_button)
        buttons_row.addStretch(1)
        folders_layout.addLayout(buttons_row)
        self.folders_problem = QLabel(folders_problem)
        self.folders_problem.setObjectName("foldersProblem")
        self.folders_problem.setWordWrap(True)
        self.folders_problem.setStyleSheet("color: #c0392b;")
        self.folders_problem.setVisible(roots is None)
        folders_layout.addWidget(self.folders_problem)
        if roots is None:
            for widget in (self.folders, self.add_folder_button, self.remove_folder_button):
                widget.setEnabled(False)
        layout.addWidget(folders_box)

        general = QGroupBox("Preferences")
        form = QFormLayout(general)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        self.thumbnail_size = QSpinBox()
        self.thumbnail_size.setRange(MIN_THUMBNAIL, MAX_THUMBNAIL)
        self.thumbnail_size.setSingleStep(16)
        self.thumbnail_size.setSuffix(" px")
        self.thumbnail_size.setValue(max(MIN_THUMBNAIL, min(MAX_THUMBNAIL, settings.thumbnail_size)))
        form.addRow("Thumbnail width", self.thumbnail_size)
        self.hash_in_background = QCheckBox("Hash new files in the background after a scan")
        self.hash_in_background.setChecked(settings.hash_in_background)
        form.addRow("Hashing", self.hash_in_background)
        self.hash_workers = QSpinBox()
        self.hash_workers.setRange(1, MAX_HASH_WORKERS)
        self.hash_workers.setValue(max(1, min(MAX_HASH_WORKERS, settings.hash_workers)))
        self.hash_workers.setToolTip("Files hashed at the same time; more helps on fast SSDs")
        form.addRow("Hashing workers", self.hash_workers)
        self.auto_lookup_civitai = QCheckBox("Look hashed files up on Civitai (names, creator, examples)")
        self.auto_lookup_civitai.setChecked(settings.auto_lookup_civitai)
        self.auto_lookup_civitai.setToolTip(
            "After hashing, files without a Civitai link are looked up by hash, 100 per request. "
            "Only the hashes are sent. Offline, this waits quietly for the next time."
        )
        form.addRow("Civitai", self.auto_lookup_civitai)
        self.check_updates_daily = QCheckBox("Check for newer versions of Civitai files once a day")
        self.check_updates_daily.setChecked(settings.check_updates_daily)
        self.check_updates_daily.setToolTip(
            "After start, at most once a day, ask Civitai whether the models of your files have newer "
            "versions (100 models per request). Library › Check for updates asks at any time."
        )
        form.addRow("Updates", self.check_updates_daily)
        self.watch_folders = QCheckBox("Pick up files added or removed while Atelier runs")
        self.watch_folders.setChecked(settings.watch_folders)
        form.addRow("Watch folders", self.watch_folders)
        self.theme = QComboBox()
        for value, label in THEME_CHOICES:
            self.theme.addItem(label, value)
        self.theme.setCurrentIndex(max(0, self.theme.findData(settings.theme)))
        form.addRow("Theme", self.theme)
        layout.addWidget(general)

        renderer = QGroupBox("Renderer")
        render_form = QFormLayout(renderer)
        render_form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        self.render_device = QComboBox()
        self.render_device.setEditable(True)  # "cuda:1" on a machine with two GPUs
        for value, label in RENDER_DEVICE_CHOICES:
            self.render_device.addItem(label, value)
        current = self.render_device.findData(settings.render_device)
        if current >= 0:
            self.render_device.setCurrentIndex(current)
        else:
            self.render_device.setEditText(settings.render_device)
        self.render_device.setToolTip("Used from the next start; an unusable device falls back to automatic")
        render_form.addRow("Device", self.render_device)
        self.keep_checkpoints = QDoubleSpinBox()
        self.keep_checkpoints.setRange(0.0, MAX_KEEP_CHECKPOINTS_GB)
        self.keep_checkpoints.setDecimals(0)
        self.keep_checkpoints.setSuffix(" GB")
        self.keep_checkpoints.setSpecialValueText("only the current one")
        self.keep_checkpoints.setValue(settings.render_keep_checkpoints_gb)
        self.keep_checkpoints.setToolTip(
            "Memory the recently used checkpoints may take together, so switching back does not reload"
        )
        render_form.addRow("Keep checkpoints loaded", self.keep_checkpoints)
        layout.addWidget(renderer)
        layout.addWidget(self._catalog_box(settings.catalog_url))

        box = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        box.accepted.connect(self.accept)
        box.rejected.connect(self.reject)
        outer.addWidget(box)
        open_at_full_height(self)  # before it is shown: centred on the window at this size

    def _catalog_box(self, current: str) -> QGroupBox:
        box = QGroupBox("Catalog")
        form = QFormLayout(box)
        self.catalog_url = QLineEdit(current)
        self.catalog_url.setPlaceholderText("empty: this computer's catalog file")
        self.catalog_url.setToolTip(
            "A PostgreSQL server shared by several machines: postgresql://user@host:5432/atelier"
        )
        self.catalog_url.setClearButtonEnabled(True)
        self.catalog_url.setMinimumWidth(360)
        self.catalog_url.setEnabled(self._secrets is not None)  # none: a read-only data folder
        form.addRow("Catalog on a server", self.catalog_url)
        note = QLabel(
            "Used from the next start; --catalog and ATELIER_CATALOG_URL win over it. A password typed "
            "here is kept with your tokens, never in the settings file."
        )
        note.setWordWrap(True)
        note.setObjectName("hint")
        form.addRow("", note)
        self.catalog_error = QLabel()
        self.catalog_error.setWordWrap(True)
        self.catalog_error.setStyleSheet("color: #c0392b;")
        self.catalog_error.hide()
        form.addRow("", self.catalog_error)
        return box

    def _save_catalog_url(self) -> bool:
        """Puts the typed catalog URL in the settings (its password in the secrets); False, with the
        reason under the field, when it names no server."""
        typed = self.catalog_url.text().strip()
        if self._secrets is None or typed == self._settings.catalog_url:
            return True
        from app.server_catalog import catalog_url_to_save
        from core.errors import AtelierError

        try:
            self._settings.catalog_url = catalog_url_to_save(typed, self._secrets)
        except AtelierError as error:
            self.catalog_error.setText(str(error))
            self.catalog_error.show()
            self.pages.setCurrentIndex(0)
            self.catalog_url.setFocus()
            return False
        self.catalog_url.setText(self._settings.catalog_url)
        return True

    # -- folders ------------------------------------------------------------------------------------

    def choose_folder(self) -> Path | None:
        """Asks for a folder; a separate method so tests can answer without a native dialog."""
        chosen = QFileDialog.getExistingDirectory(self, "Add a library folder")
        return Path(chosen) if chosen else None

    def _on_add_clicked(self) -> None:
        path = self.choose_folder()
        if path is not None:
            self.add_folder(path)

    def add_folder(self, path: Path) -> None:
        if str(path) in {str(p) for p in self.added_paths()}:
            return
        item = QListWidgetItem(f"{path}    —  new")
        item.setData(NEW_PATH_ROLE, str(path))
        item.setToolTip(str(path))
        self.folders.addItem(item)
        self.folders.setCurrentItem(item)

    def remove_selected_folder(self) -> None:
        item = self.folders.currentItem()
        if item is None:
            return
        root_id = item.data(ROOT_ID_ROLE)
        if root_id is not None:
            self._removed.append(int(root_id))
        self.folders.takeItem(self.folders.row(item))

    def added_paths(self) -> list[Path]:
        paths = (self.folders.item(row).data(NEW_PATH_ROLE) for row in range(self.folders.count()))
        return [Path(path) for path in paths if path]

    def removed_root_ids(self) -> list[int]:
        return list(self._removed)

    # -- saving -------------------------------------------------------------------------------------

    def _chosen_render_device(self) -> str:
        """The device setting: a listed choice's value, or what the user typed (e.g. ``cuda:1``)."""
        text = self.render_device.currentText().strip()
        for value, label in RENDER_DEVICE_CHOICES:
            if text == label:
                return value
        return text

    def accept(self) -> None:
        if not self._save_catalog_url():
            return
        self._settings.thumbnail_size = self.thumbnail_size.value()
        self._settings.hash_in_background = self.hash_in_background.isChecked()
        self._settings.hash_workers = self.hash_workers.value()
        self._settings.auto_lookup_civitai = self.auto_lookup_civitai.isChecked()
        self._settings.check_updates_daily = self.check_updates_daily.isChecked()
        self._settings.watch_folders = self.watch_folders.isChecked()
        self._settings.theme = str(self.theme.currentData())
        self._settings.render_device = self._chosen_render_device()
        self._settings.render_keep_checkpoints_gb = self.keep_checkpoints.value()
        if self.sites is not None:
            self.sites.apply()  # sets the remote settings (saved just below) and stores the tokens
        self._settings.save()
        super().accept()
