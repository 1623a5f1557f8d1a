"""Identifications may change only with ``RULES_VERSION``: the catalog re-reads unchanged files only then.

A catalog row keeps the version of the rules that identified it, and a scan reads a file again only when
its row's version is older than :data:`~core.identify.rules_version.RULES_VERSION`. A change to
``core.identify`` that changes what a file is taken for, without a bump, would leave every library with
the old answers. ``rules_snapshot.json`` records, for one version, what each case of the test factory is
identified as (every case of ``FACTORY`` and every family x dialect LoRA of ``tests.factory.family_loras``);
this test fails when an identification differs from it under the same version.

After bumping the version (or adding factory cases), write the snapshot again::

    python -m tests.core.identify.test_rules_version
"""

from __future__ import annotations

import json
from pathlib import Path

from core.identify import identify
from core.identify.rules_version import RULES_VERSION
from tests.core.identify.test_fast_path_equivalence import FACTORY
from tests.factory.family_loras import DIALECTS, FAMILY_MODULES, family_lora
from tests.factory.models import ModelCase, to_header

SNAPSHOT = Path(__file__).with_name("rules_snapshot.json")
WRITE_AGAIN = "python -m tests.core.identify.test_rules_version"


def _corpus() -> dict[str, ModelCase]:
    cases = {label: make() for label, make in FACTORY.items()}
    for family in FAMILY_MODULES:
        for dialect in DIALECTS:
            cases[f"{family} lora ({dialect})"] = family_lora(family, dialect)
    return cases


def _identified() -> dict[str, str]:
    """What the catalog keeps of each case's identification, as one line."""
    lines = {}
    for label, case in _corpus().items():
        found = identify(to_header(case))
        fields = (found.kind, found.architecture, found.network, found.variant, found.prediction)
        lines[label] = " / ".join(str(field.value) if field is not None else "-" for field in fields)
    return lines


def test_identifications_change_only_with_a_new_rules_version() -> None:
    snapshot = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    if snapshot["version"] != RULES_VERSION:
        raise AssertionError(
            f"rules_snapshot.json was written for rules version {snapshot['version']}, the rules are "
            f"{RULES_VERSION}: write it again ({WRITE_AGAIN})"
        )
    now = _identified()
    changed = [
        f"{label}: {before} -> {now[label]}"
        for label, before in snapshot["cases"].items()
        if label in now and now[label] != before
    ]
    assert not changed, (
        "identification changed without a new RULES_VERSION (core/identify/rules_version.py), so "
        "cataloged files would keep the old answer; bump it, then write the snapshot again "
        f"({WRITE_AGAIN}):\n" + "\n".join(changed)
    )
    unrecorded = sorted(set(now) - set(snapshot["cases"]))
    assert not unrecorded, f"factory cases the snapshot lacks ({WRITE_AGAIN}): {unrecorded}"


if __name__ == "__main__":
    SNAPSHOT.write_text(
        json.dumps({"version": RULES_VERSION, "cases": _identified()}, indent=1, sort_keys=True) + "\n",
        encoding="utf-8",
    )
    print(f"wrote {SNAPSHOT}")
