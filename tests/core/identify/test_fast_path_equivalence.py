"""The LoRA scan by suffix counts must identify every file exactly as the name-by-name scan does.

``scan_lora`` reads a LoRA's names through a few probe names and C-level suffix counts; ``scan_every_name``
classifies each name in turn, as Atelier always did. Both run here over every file the test factory can
build (each network type and dialect, every other kind) and over LoRAs and checkpoints built from the real
key spaces of ``tests/data/keyspaces`` (copied from the reference data), in the writer's name order and
shuffled; the scans and the whole identifications must be equal, field for field.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from core.formats.model_file import ModelHeader, TensorInfo
from core.identify import identify
from core.identify.lora_scan import _periodic_columns, _scan_by_suffixes, scan_every_name, scan_lora
from core.identify.matchers import DEFAULT_REGISTRY
from core.identify.matchers.lora import lora_matcher
from core.identify.registry import MatcherRegistry
from core.taxonomy import FileFormat
from tests.factory import models
from tests.factory.keyspaces import keyspace, keyspace_components
from tests.factory.models import ModelCase, to_header

NETWORKS = ("lora", "locon", "dora", "loha", "lokr", "ia3", "full", "glora", "oft")
SDXL_META = {"ss_base_model_version": "sdxl_base_v1-0", "ss_tag_frequency": '{"1_x": {"tok": 5}}'}
KEYSPACES = (
    "sd1-ldm",
    "sd1-kohya",
    "sdxl-sgm",
    "sdxl-kohya",
    "sdxl-kohya_but_diffusers",
    "sdxl-diffusers_unet_only",
    "sd3-comfyui",
    "flux-flux",
)


def _factory_cases() -> dict[str, Callable[[], ModelCase]]:
    cases: dict[str, Callable[[], ModelCase]] = {}
    for arch in ("sd1", "sd2", "sdxl"):
        for network in NETWORKS:
            parts = (
                ((True, True), (True, False), (False, True))
                if network in ("lora", "loha")
                else ((True, True),)
            )
            for unet, text in parts:
                label = f"kohya {arch} {network} unet={unet} text={text}"
                cases[label] = lambda a=arch, n=network, u=unet, t=text: models.kohya_lora(
                    a, n, unet=u, text=t
                )
    cases["kohya sdxl with metadata"] = lambda: models.kohya_lora("sdxl", metadata=SDXL_META)
    cases["kohya sd1 claiming sdxl"] = lambda: models.kohya_lora("sd1", metadata=SDXL_META)
    for arch in ("sd1", "sdxl"):
        for dora in (False, True):
            cases[f"onetrainer {arch} dora={dora}"] = lambda a=arch, d=dora: models.onetrainer_lora(a, dora=d)
            cases[f"peft {arch} dora={dora}"] = lambda a=arch, d=dora: models.peft_lora(a, dora=d)
    for dialect in ("kohya", "ai_toolkit", "diffusers", "onetrainer", "xlabs"):
        for hidden in (3072, 4096, 6144):
            cases[f"flux {dialect} {hidden}"] = lambda d=dialect, h=hidden: models.flux_lora(d, hidden=h)
    simple: dict[str, Callable[[], ModelCase]] = {
        "sdxl unet lora without attn2": models.sdxl_unet_lora_without_cross_attention,
        "legacy attention processors": models.legacy_attn_procs_lora,
        "flux2 klein lora": models.flux2_klein_lora,
        "sd1 checkpoint": models.sd1_checkpoint,
        "sd2 checkpoint": models.sd2_checkpoint,
        "sdxl checkpoint": models.sdxl_checkpoint,
        "sdxl unet ldm": models.sdxl_unet_only_ldm,
        "sdxl unet diffusers": models.sdxl_unet_only_diffusers,
        "sdxl refiner": models.sdxl_refiner_checkpoint,
        "sd3": models.sd3_checkpoint,
        "flux": models.flux_checkpoint,
        "flux2": models.flux2_checkpoint,
        "a1111 embedding": models.a1111_embedding,
        "emb_params embedding": models.emb_params_embedding,
        "sdxl embedding": models.sdxl_embedding,
        "diffusers embedding": models.diffusers_embedding,
        "hypernetwork": models.hypernetwork,
        "vae": models.vae,
        "diffusers vae": models.diffusers_vae,
        "ldm controlnet": models.ldm_controlnet,
        "diffusers controlnet": models.diffusers_controlnet_sdxl,
        "flux controlnet": models.flux_controlnet,
        "ip adapter": models.ip_adapter,
        "ip adapter plus": lambda: models.ip_adapter("sdxl", plus=True),
        "flux ip adapter": models.flux_ip_adapter,
        "realesrgan": models.realesrgan,
        "esrgan": models.esrgan_old,
        "srvgg": models.srvgg_compact,
        "swinir": models.swinir,
        "clip vision": models.clip_vision,
        "clip-l": models.clip_l_text_encoder,
        "t5xxl": models.t5xxl_text_encoder,
        "bundled text encoders": models.bundled_text_encoders,
        "random keys": models.random_keys,
    }
    cases.update(simple)
    return cases


FACTORY = _factory_cases()


def _header(
    tensors: Mapping[str, tuple[str, tuple[int, ...]]], order: list[str] | None = None
) -> ModelHeader:
    """A header of ``tensors`` in the given name order (the writer's sorted order by default)."""
    infos: dict[str, TensorInfo] = {}
    offset = 0
    for name in order or sorted(tensors):
        dtype, shape = tensors[name]
        size = 2
        for dim in shape:
            size *= dim
        infos[name] = TensorInfo(dtype=dtype, shape=shape, data_offsets=(offset, offset + size))
        offset += size
    return ModelHeader(path=Path("x.safetensors"), format=FileFormat.SAFETENSORS, size=offset, tensors=infos)


def _keyspace_lora(space: str, dialect: str) -> dict[str, tuple[str, tuple[int, ...]]]:
    """A LoRA over every matrix and convolution of a real key space, named as ``dialect`` names modules."""
    specs: dict[str, tuple[str, tuple[int, ...]]] = {}
    for name, (_, shape) in keyspace(space).items():
        if not name.endswith(".weight") or len(shape) not in (2, 4):
            continue
        path = name[: -len(".weight")]
        kernel = shape[2:]
        if dialect == "kohya":
            component, _, rest = path.partition(".")
            module = f"lora_{component}_{rest.replace('.', '_')}"
            specs[f"{module}.lora_down.weight"] = ("F16", (8, shape[1], *kernel))
            specs[f"{module}.lora_up.weight"] = ("F16", (shape[0], 8, *(1 for _ in kernel)))
            specs[f"{module}.alpha"] = ("F16", ())
        else:
            specs[f"{path}.lora_A.weight"] = ("F16", (8, shape[1], *kernel))
            specs[f"{path}.lora_B.weight"] = ("F16", (shape[0], 8, *(1 for _ in kernel)))
    return specs


def _full_scan_registry() -> MatcherRegistry:
    """The default registry with the LoRA matcher on the name-by-name scan."""
    registry = MatcherRegistry()
    for matcher in DEFAULT_REGISTRY.matchers:
        match = lora_matcher(scan_every_name) if matcher.name == "lora" else matcher.match
        registry.register(matcher.name, matcher.priority, match)
    return registry


FULL_SCAN = _full_scan_registry()


def _assert_same(header: ModelHeader) -> None:
    assert scan_lora(header.tensors) == scan_every_name(header.tensors)
    fast = identify(header)
    full = identify(header, registry=FULL_SCAN)
    assert fast.to_json() == full.to_json()


@pytest.mark.parametrize("label", sorted(FACTORY))
def test_every_factory_file_is_identified_as_the_full_scan_identifies_it(label: str) -> None:
    header = to_header(FACTORY[label]())
    _assert_same(header)
    shuffled = list(header.tensors)
    random.Random(label).shuffle(shuffled)
    _assert_same(_header({n: (i.dtype, i.shape) for n, i in header.tensors.items()}, shuffled))


@pytest.mark.parametrize("space", KEYSPACES)
def test_real_key_spaces_are_identified_as_the_full_scan_identifies_them(space: str) -> None:
    checkpoint = keyspace(space)
    _assert_same(_header(checkpoint))
    for component in keyspace_components(space):
        _assert_same(_header(keyspace(space, components=(component,))))
    for dialect in ("kohya", "peft"):
        lora = _keyspace_lora(space, dialect)
        _assert_same(_header(lora))
        order = list(lora)
        random.Random(space).shuffle(order)
        _assert_same(_header(lora, order))


@pytest.mark.parametrize(
    "label",
    ["kohya sd1 lora unet=True text=True", "kohya sdxl lora unet=True text=True", "peft sdxl dora=False"],
)
def test_common_loras_take_the_suffix_path(label: str) -> None:
    """Not a vacuous comparison: the everyday files really are scanned by suffix counts."""
    assert _scan_by_suffixes(to_header(FACTORY[label]()).tensors) is not None


def _kohya_module(name: str) -> dict[str, tuple[str, tuple[int, ...]]]:
    return {
        f"{name}.lora_down.weight": ("F16", (4, 768)),
        f"{name}.lora_up.weight": ("F16", (320, 4)),
        f"{name}.alpha": ("F16", ()),
    }


def _many_modules(count: int = 200) -> dict[str, tuple[str, tuple[int, ...]]]:
    specs: dict[str, tuple[str, tuple[int, ...]]] = {}
    for index in range(count):
        specs.update(_kohya_module(f"lora_unet_down_blocks_{index}_attentions_0_attn2_to_k"))
    return specs


@pytest.mark.parametrize(
    "extra",
    [
        {"lora_unet_odd.hada_w1_a": ("F16", (320, 4)), "lora_unet_odd.hada_w1_b": ("F16", (4, 768))},
        {"text_projection.weight": ("F16", (768, 768))},
        {"unet.x.processor.to_q_lora.down.weight": ("F16", (4, 768))},
        {
            "lora_unet_x.lora_magnitude_vector": ("F16", (320,)),
            "lora_unet_y.lora_magnitude_vector.weight": ("F16", (320,)),
        },
        {"lora_unet_new\nline.lora_down.weight": ("F16", (4, 768))},
        {"lora_unet_m.lora_mid.weight": ("F16", (4, 4, 3, 3)), "lora_unet_m.dora_scale": ("F16", (320, 1))},
        {".alpha": ("F16", ())},
        {"lora_down.weight": ("F16", (4, 768))},
    ],
    ids=[
        "loha among lora",
        "stray name",
        "legacy name",
        "magnitude both forms",
        "newline",
        "mid+dora",
        "bare alpha",
        "bare token",
    ],
)
def test_names_the_probes_miss_give_the_same_scan(extra: dict[str, tuple[str, tuple[int, ...]]]) -> None:
    """A name unlike the probed ones, anywhere but in a probe run, must not change the answer."""
    specs = _many_modules()
    order = sorted(specs)
    middle = len(order) // 4  # outside the three probe runs
    order[middle:middle] = list(extra)
    _assert_same(_header({**specs, **extra}, order))


def test_kohya_names_take_the_periodic_path() -> None:
    """Not vacuous: a kohya LoRA's names repeat alpha/lora_down/lora_up, checked one slice per position."""
    names = sorted(_many_modules())
    endings = {".alpha": "alpha", ".lora_down.weight": "lora_down", ".lora_up.weight": "lora_up"}
    columns = _periodic_columns(names, endings)
    assert columns is not None
    assert [len(chosen) for chosen, _ in columns.values()] == [200, 200, 200]


@pytest.mark.parametrize(
    "replacement",
    [
        "lora_unet_other.alpha",  # the period's up-projection slot holds another module's alpha
        "lora_unet_other.lora_down.weight",  # a down-projection where an up-projection belongs
        "lora_unet_x.lora_up.weight\nlora_unet_y.alpha",  # ends like an alpha, holds an up ending inside
        "lora_unet_x.lora_up.weight\ntail",  # the slot's ending inside the name, not at its end
        "text_projection.weight",  # no module tensor at all
        "lora_unet_other.hada_w1_a",  # another algorithm's primary token
    ],
    ids=["alpha slot", "down slot", "newline alpha", "newline tail", "stray", "loha"],
)
def test_a_name_breaking_the_period_gives_the_same_scan(replacement: str) -> None:
    """The file keeps its length (so the periodic check runs) but one name, outside the probe runs, is
    not what its position in the period says: the answer must be the name-by-name scan's."""
    specs = _many_modules()
    order = sorted(specs)
    position = len(order) // 4 + 2  # an up-projection slot, outside the three probe runs
    assert order[position].endswith(".lora_up.weight")
    replaced = order[position]
    order[position] = replacement
    info = {**specs, replacement: ("F16", (320, 4))}
    del info[replaced]
    _assert_same(_header(info, order))


def test_modules_written_in_another_order_midway_give_the_same_scan() -> None:
    """One module's tensors in another order (down, alpha, up) breaks the period without changing counts."""
    specs = _many_modules()
    order = sorted(specs)
    start = (len(order) // 4) // 3 * 3
    alpha, down, up = order[start : start + 3]
    order[start : start + 3] = [down, alpha, up]
    _assert_same(_header(specs, order))
