"""The tokenizer repositories of the rendered families as the loopback Hub lists them, without bytes.

A render plan asks the Hub endpoint (a HEAD of ``{repo}/resolve/main/{subfolder}/tokenizer_config.json``)
whether it holds each tokenizer it would fetch. A test that wants a plan to be ready, without fetching
anything, lists them here: the HEAD answers, a download would find no bytes (as before). Tests that do
fetch serve real tokenizer files with ``tests.factory.tiny_families.add_tokenizer_repo``.
"""

from __future__ import annotations

from core.render.families import FAMILIES
from core.render.tokenizer import PROBE_FILE
from tests.fakes.hub_api import HubState


def list_family_tokenizers(state: HubState) -> HubState:
    """``state`` with every family tokenizer's repository listing its ``tokenizer_config.json``."""
    tokenizers = {
        (slot.tokenizer.repo, slot.tokenizer.subfolder)
        for family in FAMILIES.values()
        for slot in family.encoders
        if slot.tokenizer is not None
    }
    for repo, subfolder in sorted(tokenizers):
        name = f"{subfolder}/{PROBE_FILE}"
        sibling = {"rfilename": name, "size": 2, "blobId": "0" * 40}
        known = state.repos.get(repo)
        if known is None:
            state.add({"id": repo, "siblings": [sibling]})
        elif known.sibling(name) is None:
            known.info["siblings"].append(sibling)
    return state
