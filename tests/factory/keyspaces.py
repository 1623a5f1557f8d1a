"""Real model key spaces (tests/data/keyspaces, from ljleb/sd-mecha, MIT) as tensor specs.

Each YAML lists every tensor of a real layout with shape and dtype; ``optional`` keys may be absent in
real files and ``aliases`` are older names. Tests use them to build header-only or zero-filled files of
the true layout, so identification is checked against what real files contain.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

from tests.factory.safetensors_writer import YAML_DTYPES, TensorSpec

KEYSPACE_DIR = Path(__file__).resolve().parents[1] / "data" / "keyspaces"


@cache
def _load(name: str) -> dict[str, dict[str, dict[str, object]]]:
    with (KEYSPACE_DIR / f"{name}.yaml").open(encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    return data["components"]  # type: ignore[no-any-return]


def keyspace_components(name: str) -> list[str]:
    return list(_load(name))


def keyspace(
    name: str,
    *,
    components: tuple[str, ...] | None = None,
    include_optional: bool = False,
    dtype: str | None = None,
    use_alias: bool = False,
) -> dict[str, TensorSpec]:
    """Tensor specs of the named key space (e.g. ``sd1-ldm``), optionally only some components."""
    specs: dict[str, TensorSpec] = {}
    for component, tensors in _load(name).items():
        if components is not None and component not in components:
            continue
        for key, info in tensors.items():
            if info.get("optional") and not include_optional:
                continue
            aliases = info.get("aliases") or []
            assert isinstance(aliases, list)
            tensor_name = str(aliases[0]) if use_alias and aliases else key
            shape = tuple(int(x) for x in info["shape"])  # type: ignore[attr-defined]
            specs[tensor_name] = (dtype or YAML_DTYPES[str(info["dtype"])], shape)
    return specs
