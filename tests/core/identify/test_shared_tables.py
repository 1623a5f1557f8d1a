"""Files sharing one tensor table (read once, shared read-only) are identified exactly as on their own.

The safetensors reader hands every file with the same tensor table the same ``TensorTable``, and the
LoRA findings that depend only on the tensors are kept with it; what depends on the metadata (the base
model a trainer claims, trigger words, the summary) must still be each file's own.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from core.formats import safetensors_header as sh
from core.formats.model_file import TensorTable
from core.identify import identify
from core.taxonomy import Architecture, FileFormat
from tests.core.identify.test_fast_path_equivalence import FACTORY
from tests.factory import models
from tests.factory.models import to_header, write_case


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    sh._TABLES.clear()
    yield
    sh._TABLES.clear()


def test_two_loras_with_one_table_keep_their_own_metadata_facts(tmp_path: Path) -> None:
    base = models.kohya_lora("sd1")
    honest = base.with_metadata(ss_base_model_version="sd_v1", **{"modelspec.trigger_phrase": "cat ears"})
    claims_xl = base.with_metadata(
        ss_base_model_version="sdxl_base_v1-0", **{"modelspec.trigger_phrase": "dog tail"}
    )
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    one = sh.read_safetensors_header(write_case(honest, tmp_path / "a"))
    two = sh.read_safetensors_header(write_case(claims_xl, tmp_path / "b"))
    assert two.tensors is one.tensors

    first, second = identify(one), identify(two)

    assert first.architecture is second.architecture is Architecture.SD1
    assert first.reasons[-1] == "metadata agrees (ss_base_model_version=sd_v1)"
    assert second.reasons[:-1] == first.reasons[:-1]
    assert second.reasons[-1].endswith("says sdxl; the tensors decide sd1")
    assert (first.trigger_words, second.trigger_words) == (("cat ears",), ("dog tail",))
    # Each is what the file alone gives, read without any shared table.
    assert first == identify(replace(to_header(honest), tensors=dict(one.tensors)))
    assert second == identify(replace(to_header(claims_xl), tensors=dict(two.tensors)))


@pytest.mark.parametrize("label", sorted(FACTORY))
def test_every_factory_file_is_identified_alike_from_a_shared_table(tmp_path: Path, label: str) -> None:
    case = FACTORY[label]()
    if case.format is not FileFormat.SAFETENSORS or case.diffusers is not None:
        pytest.skip("not a single safetensors file")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = sh.read_safetensors_header(write_case(case, tmp_path / "a"))
    again = sh.read_safetensors_header(write_case(case, tmp_path / "b"))
    assert isinstance(first.tensors, TensorTable)
    assert again.tensors is first.tensors

    alone = identify(replace(first, tensors=dict(first.tensors)))
    assert identify(first) == alone
    assert identify(again) == alone
