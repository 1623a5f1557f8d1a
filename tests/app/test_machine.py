"""This profile's machine id (app.machine): made once and kept in settings.json; stable without a write
in a read-only data folder."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from app.live_settings import LiveSettings
from app.machine import host_name, this_machine
from app.settings import SettingsStore


def test_the_id_is_made_once_and_kept(tmp_path: Path) -> None:
    store = SettingsStore(tmp_path)
    first = this_machine(LiveSettings(store), tmp_path)
    again = this_machine(LiveSettings(store), tmp_path)

    assert first == again
    assert first.name == host_name()
    assert uuid.UUID(first.id)
    assert json.loads(store.path.read_text(encoding="utf-8"))["machine_id"] == first.id


def test_two_profiles_are_two_machines(tmp_path: Path) -> None:
    one = this_machine(LiveSettings(SettingsStore(tmp_path / "one")), tmp_path / "one")
    two = this_machine(LiveSettings(SettingsStore(tmp_path / "two")), tmp_path / "two")
    assert one.id != two.id


def test_a_read_only_folder_gets_a_stable_id_without_writing(tmp_path: Path) -> None:
    store = SettingsStore(tmp_path)
    first = this_machine(LiveSettings(store, read_only=True), tmp_path)
    again = this_machine(LiveSettings(store, read_only=True), tmp_path)
    assert first == again
    assert not store.path.exists()
