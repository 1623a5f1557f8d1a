"""The Sites page of the settings: values round-trip through settings.json, tokens through the
TokenStore (a 0600 file here), and never into settings.json."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import cast

from pytestqt.qtbot import QtBot

from app.live_settings import LiveSettings
from app.secrets import TokenStore
from app.settings import SettingsStore
from catalog.records import RootRecord
from desktop.dialogs.settings_dialog import SettingsDialog
from desktop.dialogs.sites_page import CUSTOM
from desktop.services import RemoteServices, RemoteSettings
from tests.desktop.remote_support import RemoteEnv


def _remote(env: RemoteEnv, settings: LiveSettings, tokens: TokenStore) -> RemoteServices:
    return env.remote._replace(tokens=tokens, settings=cast("RemoteSettings", settings))


def test_sites_settings_round_trip(remote: RemoteEnv, tmp_path: Path, qtbot: QtBot) -> None:
    data_dir = tmp_path / "profile"
    settings = LiveSettings(SettingsStore(data_dir))
    tokens = TokenStore(data_dir, use_keyring=False)
    roots: list[RootRecord] = list(remote.library.roots())
    dialog = SettingsDialog(settings, roots, remote=_remote(remote, settings, tokens))
    qtbot.addWidget(dialog)
    sites = dialog.sites
    assert sites is not None
    assert "readable only by you" in sites.token_store.text()
    assert sites.civitai_token.edit.echoMode() == sites.civitai_token.edit.EchoMode.Password
    sites.civitai_token.show_box.setChecked(True)
    assert sites.civitai_token.edit.echoMode() == sites.civitai_token.edit.EchoMode.Normal

    sites.civitai_token.edit.setText("civitai-secret-123")
    sites.hf_token.edit.setText("hf_secret_456")
    sites.civitai_host.setCurrentIndex(sites.civitai_host.findData("https://civitai.red"))
    sites.hf_endpoint.setText("http://mirror.example/")
    sites.nsfw_level.setCurrentIndex(sites.nsfw_level.findData(4))
    sites.concurrency.setValue(3)
    sites.download_root.setCurrentIndex(sites.download_root.findData(remote.a1111_root.path))
    sites.subfolder.setText("{base_model}")
    dialog.accept()

    saved = SettingsStore(data_dir).load()
    assert saved.civitai_base_url == "https://civitai.red"
    assert saved.hf_endpoint == "http://mirror.example"
    assert saved.nsfw_max_level == 4
    assert saved.download_concurrency == 3
    assert saved.download_root == remote.a1111_root.path
    assert saved.download_subfolder == "{base_model}"
    text = (data_dir / "settings.json").read_text(encoding="utf-8")
    assert "secret" not in text
    reread = TokenStore(data_dir, use_keyring=False)
    assert reread.get("civitai") == "civitai-secret-123"
    assert reread.get("huggingface") == "hf_secret_456"
    assert stat.S_IMODE((data_dir / "tokens.json").stat().st_mode) == 0o600

    again = SettingsDialog(settings, roots, remote=_remote(remote, settings, reread))
    qtbot.addWidget(again)
    assert again.sites is not None
    assert again.sites.civitai_token.text() == "civitai-secret-123"
    assert again.sites.civitai_host.currentData() == "https://civitai.red"
    again.sites.civitai_host.setCurrentIndex(again.sites.civitai_host.findData(CUSTOM))
    again.sites.civitai_custom.setText("https://my.mirror/")
    again.sites.civitai_token.edit.clear()
    again.accept()
    assert SettingsStore(data_dir).load().civitai_base_url == "https://my.mirror"
    assert TokenStore(data_dir, use_keyring=False).get("civitai") is None


def test_without_remote_services_there_is_no_sites_page(remote: RemoteEnv, qtbot: QtBot) -> None:
    dialog = SettingsDialog(remote.settings, [])
    qtbot.addWidget(dialog)
    assert dialog.sites is None
    assert dialog.pages.count() == 1
