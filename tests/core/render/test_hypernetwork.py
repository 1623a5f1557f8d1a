"""A1111 hypernetworks: loading real ``.pt`` files and applying them to tiny but real diffusers UNets.

The expected results come from an independent, hand-written version of A1111's formula: each test
variant lists its Sequential layout by hand (which index holds which layer), the MLP is evaluated with
plain ``torch.nn.functional`` calls on the tensors written to the file, and the UNet reference is a copy
whose ``to_k``/``to_v`` inputs are wrapped by hand, so it runs diffusers' stock attention processor.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
import torch
import torch.nn.functional as F  # noqa: N812

from core.render.hypernetwork import (
    Hypernetwork,
    HypernetworkFormatError,
    HypernetworkPatcher,
    load_hypernetwork,
    parse_dropout_structure,
)
from tests.factory.tiny_pipeline import SD1_CONTEXT, SD1_WIDTHS, tiny_sd1_pipeline, tiny_sdxl_pipeline

pytestmark = pytest.mark.slow  # builds two tiny pipelines and renders with them (~10 s on 2 idle cores)

# A layout is the Sequential in order: ("linear", in-multiplier, out-multiplier), ("ln", multiplier),
# an activation name, or "dropout". It is written by hand from A1111's rules, not derived by the code.
Layout = list[Any]
States = dict[int, tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]]

RELU_121: Layout = [("linear", 1, 2), "relu", ("linear", 2, 1)]
VARIANTS: dict[str, tuple[dict[str, Any], Layout]] = {
    "relu-121": (
        {"layer_structure": [1, 2, 1], "activation_func": "relu", "activate_output": False},
        RELU_121,
    ),
    "layer-norm": (
        {
            "layer_structure": [1, 2, 1],
            "activation_func": "relu",
            "is_layer_norm": True,
            "activate_output": False,
        },
        [("linear", 1, 2), "relu", ("ln", 2), ("linear", 2, 1), ("ln", 1)],
    ),
    "activate-output": (
        {"layer_structure": [1, 2, 1], "activation_func": "tanh", "activate_output": True},
        [("linear", 1, 2), "tanh", ("linear", 2, 1), "tanh"],
    ),
    "deep-dropout-structure": (
        {
            "layer_structure": [1, 1.5, 1.5, 1],
            "activation_func": "leakyrelu",
            "activate_output": False,
            "use_dropout": True,
            "dropout_structure": [0, 0.3, 0.3, 0],
        },
        [
            ("linear", 1, 1.5),
            "leakyrelu",
            "dropout",
            ("linear", 1.5, 1.5),
            "leakyrelu",
            "dropout",
            ("linear", 1.5, 1),
        ],
    ),
    "deep-old-dropout-flags": (  # no dropout_structure: A1111 derives [0, 0.3, 0, 0]
        {
            "layer_structure": [1, 1.5, 1.5, 1],
            "activation_func": "relu",
            "activate_output": False,
            "use_dropout": True,
            "last_layer_dropout": False,
        },
        [("linear", 1, 1.5), "relu", "dropout", ("linear", 1.5, 1.5), "relu", ("linear", 1.5, 1)],
    ),
    "defaults-linear": (
        {},
        [("linear", 1, 2), ("linear", 2, 1)],
    ),  # no settings at all: [1,2,1], no activation
    "swish-default-activate-output": (  # 'swish' is Hardswish in A1111; activate_output defaults to True
        {"layer_structure": [1, 2, 1], "activation_func": "swish"},
        [("linear", 1, 2), "hardswish", ("linear", 2, 1), "hardswish"],
    ),
    "torch-activation-by-name": (
        {"layer_structure": [1, 2, 1], "activation_func": "softplus", "activate_output": False},
        [("linear", 1, 2), "softplus", ("linear", 2, 1)],
    ),
}
_ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "relu": torch.relu,
    "tanh": torch.tanh,
    "leakyrelu": F.leaky_relu,
    "hardswish": F.hardswish,
    "softplus": F.softplus,
}
_CLASS_NAMES = {"relu": "ReLU", "tanh": "Tanh", "leakyrelu": "LeakyReLU", "hardswish": "Hardswish"}


class Payload:
    """A class that is not a tensor or plain value: torch.load(weights_only=True) must refuse it."""


def _random_state(width: int, layout: Layout, generator: torch.Generator) -> dict[str, torch.Tensor]:
    state: dict[str, torch.Tensor] = {}
    for index, layer in enumerate(layout):
        if isinstance(layer, tuple) and layer[0] == "linear":
            size_in, size_out = int(width * layer[1]), int(width * layer[2])
            state[f"linear.{index}.weight"] = torch.randn(size_out, size_in, generator=generator) * 0.3
            state[f"linear.{index}.bias"] = torch.randn(size_out, generator=generator) * 0.1
        elif isinstance(layer, tuple) and layer[0] == "ln":
            size = int(width * layer[1])
            state[f"linear.{index}.weight"] = 1 + torch.randn(size, generator=generator) * 0.1
            state[f"linear.{index}.bias"] = torch.randn(size, generator=generator) * 0.1
    return state


def write_hypernetwork(
    path: Path,
    widths: tuple[int, ...] = SD1_WIDTHS,
    variant: str = "relu-121",
    seed: int = 0,
    **extra: Any,
) -> States:
    """Write an A1111-style hypernetwork dict with torch.save; return the per-width (k, v) states."""
    settings, layout = VARIANTS[variant]
    generator = torch.Generator().manual_seed(seed)
    states: States = {
        width: (_random_state(width, layout, generator), _random_state(width, layout, generator))
        for width in widths
    }
    data: dict[Any, Any] = dict(states)
    data.update(
        {
            "name": path.stem + "-trained",
            "step": 1234,
            "weight_initialization": "Normal",
            "sd_checkpoint": None,
        }
    )
    data.update(settings)
    data.update(extra)
    torch.save(data, path)
    return states


def hand_mlp(x: torch.Tensor, state: dict[str, torch.Tensor], layout: Layout) -> torch.Tensor:
    """The residual branch of A1111's HypernetworkModule, written out op by op."""
    for index, layer in enumerate(layout):
        if isinstance(layer, tuple) and layer[0] == "linear":
            x = F.linear(x, state[f"linear.{index}.weight"], state[f"linear.{index}.bias"])
        elif isinstance(layer, tuple) and layer[0] == "ln":
            weight, bias = state[f"linear.{index}.weight"], state[f"linear.{index}.bias"]
            x = F.layer_norm(x, weight.shape, weight, bias, eps=1e-5)
        elif layer != "dropout":  # dropout is off at inference
            x = _ACTIVATIONS[layer](x)
    return x


# One hypernetwork in a hand-written chain: its states, layout and strength.
Hand = tuple[States, Layout, float]


def hand_context(context: torch.Tensor, chain: list[Hand], side: int) -> torch.Tensor:
    """A1111's apply_hypernetworks for keys (side 0) or values (side 1): x + MLP(x) * strength, chained."""
    for states, layout, strength in chain:
        pair = states.get(context.shape[-1])
        if pair is not None:
            context = context + hand_mlp(context, pair[side], layout) * strength
    return context


class HandWrapped(torch.nn.Module):
    """Wraps a to_k/to_v Linear so its input goes through the hand-written hypernetwork chain first."""

    def __init__(self, inner: torch.nn.Module, chain: list[Hand], side: int) -> None:
        super().__init__()
        self.inner, self.chain, self.side = inner, chain, side

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.inner(hand_context(x, self.chain, self.side))
        return out


def hand_wrapped_unet(unet: Any, chain: list[Hand]) -> Any:
    from diffusers.models.attention_processor import Attention

    clone = copy.deepcopy(unet)
    assert {type(p).__name__ for p in clone.attn_processors.values()} == {"AttnProcessor2_0"}  # stock only
    for module in clone.modules():
        if isinstance(module, Attention):
            module = cast("Any", module)
            module.to_k = HandWrapped(module.to_k, chain, 0)
            module.to_v = HandWrapped(module.to_v, chain, 1)
    return clone


def _sd1_inputs() -> dict[str, Any]:
    generator = torch.Generator().manual_seed(7)
    return {
        "sample": torch.randn(2, 4, 8, 8, generator=generator),
        "timestep": torch.tensor(500),
        "encoder_hidden_states": torch.randn(2, 9, SD1_CONTEXT, generator=generator),
    }


def _unet_out(unet: Any, inputs: dict[str, Any]) -> torch.Tensor:
    with torch.no_grad():
        out: torch.Tensor = unet(**inputs).sample
    return out


def _render(pipe: Any) -> Any:
    return pipe(
        prompt="a cat in a hat",
        num_inference_steps=2,
        height=32,
        width=32,
        generator=torch.Generator().manual_seed(3),
        output_type="np",
    ).images


@pytest.fixture(scope="module")
def sd1(tmp_path_factory: pytest.TempPathFactory) -> Any:
    pipe = tiny_sd1_pipeline(tmp_path_factory.mktemp("tokenizers"))
    pipe.set_progress_bar_config(disable=True)
    return pipe


@pytest.fixture
def patcher(sd1: Any) -> Iterator[HypernetworkPatcher]:
    patcher = HypernetworkPatcher(sd1)
    yield patcher
    patcher.restore()


# ------------------------------------------------------------------------------------------------ loading


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_load_builds_a1111_layout_and_formula(tmp_path: Path, variant: str) -> None:
    states = write_hypernetwork(tmp_path / "hn.pt", widths=(32,), variant=variant)
    _, layout = VARIANTS[variant]

    hypernetwork = load_hypernetwork(tmp_path / "hn.pt")

    assert hypernetwork.widths == (32,)
    assert (hypernetwork.name, hypernetwork.trained_name, hypernetwork.step) == ("hn", "hn-trained", 1234)
    x = torch.randn(3, 5, 32, generator=torch.Generator().manual_seed(1))
    for side, module in enumerate(hypernetwork.modules[32]):
        assert not module.training
        names = [type(layer).__name__ for layer in module]
        expected = [
            {"linear": "Linear", "ln": "LayerNorm"}[layer[0]]
            if isinstance(layer, tuple)
            else {"dropout": "Dropout", "softplus": "Softplus"}.get(layer, _CLASS_NAMES.get(layer))
            for layer in layout
        ]
        assert names == expected
        torch.testing.assert_close(module(x), hand_mlp(x, states[32][side], layout))


def test_dropout_probabilities_follow_the_structure(tmp_path: Path) -> None:
    write_hypernetwork(tmp_path / "hn.pt", widths=(32,), variant="deep-dropout-structure")
    write_hypernetwork(
        tmp_path / "hn2.pt",
        widths=(32,),
        variant="deep-dropout-structure",
        dropout_structure=[0, 0.1, 0.25, 0],
    )

    first = load_hypernetwork(tmp_path / "hn.pt")
    second = load_hypernetwork(tmp_path / "hn2.pt")

    assert [m.p for m in first.modules[32][0] if isinstance(m, torch.nn.Dropout)] == [0.3, 0.3]
    assert [m.p for m in second.modules[32][1] if isinstance(m, torch.nn.Dropout)] == [0.1, 0.25]
    assert second.dropout_structure == (0.0, 0.1, 0.25, 0.0)


@pytest.mark.parametrize(
    ("structure", "use_dropout", "last_layer_dropout", "expected"),
    [
        ([1, 2, 1], False, True, [0, 0, 0]),
        ([1, 2, 1], True, False, [0, 0, 0]),
        ([1, 2, 1], True, True, [0, 0.3, 0]),
        ([1, 2, 2, 1], True, False, [0, 0.3, 0, 0]),
        ([1, 2, 2, 1], True, True, [0, 0.3, 0.3, 0]),
        (None, True, True, [0, 0.3, 0]),
    ],
)
def test_parse_dropout_structure_matches_a1111(
    structure: list[float] | None, use_dropout: bool, last_layer_dropout: bool, expected: list[float]
) -> None:
    assert parse_dropout_structure(structure, use_dropout, last_layer_dropout) == expected


def test_old_linear1_linear2_format_loads(tmp_path: Path) -> None:
    generator = torch.Generator().manual_seed(2)

    def old_state() -> dict[str, torch.Tensor]:
        return {
            "linear1.weight": torch.randn(64, 32, generator=generator) * 0.3,
            "linear1.bias": torch.randn(64, generator=generator) * 0.1,
            "linear2.weight": torch.randn(32, 64, generator=generator) * 0.3,
            "linear2.bias": torch.randn(32, generator=generator) * 0.1,
        }

    k_state, v_state = old_state(), old_state()
    torch.save({32: (k_state, v_state)}, tmp_path / "old.pt")

    hypernetwork = load_hypernetwork(tmp_path / "old.pt")

    x = torch.randn(4, 32, generator=generator)
    for module, state in zip(hypernetwork.modules[32], (k_state, v_state), strict=True):
        expected = F.linear(
            F.linear(x, state["linear1.weight"], state["linear1.bias"]), *_pair(state, "linear2")
        )
        torch.testing.assert_close(module(x), expected)
    assert hypernetwork.layer_structure == (1.0, 2.0, 1.0)


def _pair(state: dict[str, torch.Tensor], prefix: str) -> tuple[torch.Tensor, torch.Tensor]:
    return state[f"{prefix}.weight"], state[f"{prefix}.bias"]


def _drop_key(data: dict[Any, Any]) -> None:
    del data[32][0]["linear.2.bias"]


def _wrong_shape(data: dict[Any, Any]) -> None:
    data[32][1]["linear.2.weight"] = torch.zeros(32, 65)


def _squash_indices(data: dict[Any, Any]) -> None:  # keys of a file without activations, settings say relu
    state = data[32][0]
    state["linear.1.weight"], state["linear.1.bias"] = (
        state.pop("linear.2.weight"),
        state.pop("linear.2.bias"),
    )


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (_drop_key, "missing ['linear.2.bias']"),
        (_wrong_shape, "shapes do not match"),
        (_squash_indices, "unexpected ['linear.1.bias', 'linear.1.weight']"),
        (lambda data: data.update(layer_structure=[1, 2, 2]), "start and end with 1"),
        (lambda data: data.update(activation_func="nonsense"), "unsupported activation function 'nonsense'"),
        (lambda data: data.update(dropout_structure=[0, 0.3]), "one entry per layer_structure entry"),
        (lambda data: data.update(dropout_structure=[0, 1.5, 0]), "must be below 1"),
        (lambda data: data.update({32: (data[32][0],)}), "(keys, values) pair"),
        (lambda data: data.update({32: (data[32][0], {"linear.0.weight": "text"})}), "are not tensors"),
    ],
)
def test_bad_settings_or_weights_are_reported(
    tmp_path: Path, mutate: Callable[[dict[Any, Any]], Any], message: str
) -> None:
    write_hypernetwork(tmp_path / "hn.pt", widths=(32,))
    data = torch.load(tmp_path / "hn.pt", weights_only=True)
    data[32] = (dict(data[32][0]), dict(data[32][1]))
    mutate(data)
    torch.save(data, tmp_path / "bad.pt")

    with pytest.raises(HypernetworkFormatError) as caught:
        load_hypernetwork(tmp_path / "bad.pt")

    assert message in str(caught.value)
    assert "bad.pt" in str(caught.value)


def test_unreadable_and_foreign_files_are_refused(tmp_path: Path) -> None:
    (tmp_path / "garbage.pt").write_bytes(b"this is not a torch file at all")
    write_hypernetwork(tmp_path / "whole.pt", widths=(32,))
    (tmp_path / "truncated.pt").write_bytes((tmp_path / "whole.pt").read_bytes()[:500])
    torch.save({32: (Payload(), Payload())}, tmp_path / "pickled.pt")
    torch.save(torch.zeros(3), tmp_path / "tensor.pt")
    torch.save({"layer_structure": [1, 2, 1], "name": "empty"}, tmp_path / "empty.pt")

    for name in ("garbage.pt", "truncated.pt"):
        with pytest.raises(HypernetworkFormatError, match=r"not a readable \.pt file"):
            load_hypernetwork(tmp_path / name)
    with pytest.raises(HypernetworkFormatError, match="was refused: it contains pickled objects"):
        load_hypernetwork(tmp_path / "pickled.pt")
    with pytest.raises(HypernetworkFormatError, match="expected a dict of layers, found Tensor"):
        load_hypernetwork(tmp_path / "tensor.pt")
    with pytest.raises(HypernetworkFormatError, match="no integer width keys"):
        load_hypernetwork(tmp_path / "empty.pt")


# ------------------------------------------------------------------------------------------------ applying


def _hand_attention(attn: Any, x: torch.Tensor, context: torch.Tensor, chain: list[Hand]) -> torch.Tensor:
    """Attention written out by hand: Q from x, K/V from the hypernetwork-transformed context."""
    heads = attn.heads
    q = attn.to_q(x)
    k = attn.to_k(hand_context(context, chain, 0))
    v = attn.to_v(hand_context(context, chain, 1))

    def split(t: torch.Tensor) -> torch.Tensor:
        return t.view(t.shape[0], t.shape[1], heads, -1).transpose(1, 2)

    q, k, v = split(q), split(k), split(v)
    weights = (q @ k.transpose(-1, -2) * q.shape[-1] ** -0.5).softmax(dim=-1)
    out = (weights @ v).transpose(1, 2).reshape(x.shape[0], x.shape[1], -1)
    result: torch.Tensor = attn.to_out[1](attn.to_out[0](out))
    return result


def test_processor_matches_hand_written_attention(
    tmp_path: Path, sd1: Any, patcher: HypernetworkPatcher
) -> None:
    states = write_hypernetwork(tmp_path / "hn.pt", variant="layer-norm")
    hypernetwork = load_hypernetwork(tmp_path / "hn.pt")
    chain: list[Hand] = [(states, VARIANTS["layer-norm"][1], 0.8)]
    block = sd1.unet.mid_block.attentions[0].transformer_blocks[0]  # query width 64, text context 32
    generator = torch.Generator().manual_seed(5)
    x = torch.randn(2, 16, 64, generator=generator)
    text = torch.randn(2, 9, SD1_CONTEXT, generator=generator)

    assert patcher.apply([(hypernetwork, 0.8)]) == []
    with torch.no_grad():
        self_out, cross_out = block.attn1(x), block.attn2(x, encoder_hidden_states=text)
        self_hand, cross_hand = (
            _hand_attention(block.attn1, x, x, chain),
            _hand_attention(block.attn2, x, text, chain),
        )
        plain = _hand_attention(block.attn1, x, x, [])

    torch.testing.assert_close(self_out, self_hand, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(cross_out, cross_hand, atol=1e-5, rtol=1e-4)
    assert (self_out - plain).abs().max() > 1e-3  # the hypernetwork really changed the self-attention


def test_two_chained_hypernetworks_match_hand_wrapped_unet(
    tmp_path: Path, sd1: Any, patcher: HypernetworkPatcher
) -> None:
    first_states = write_hypernetwork(tmp_path / "a.pt", variant="deep-dropout-structure", seed=1)
    second_states = write_hypernetwork(tmp_path / "b.pt", widths=(32,), variant="activate-output", seed=2)
    first, second = load_hypernetwork(tmp_path / "a.pt"), load_hypernetwork(tmp_path / "b.pt")
    chain: list[Hand] = [
        (first_states, VARIANTS["deep-dropout-structure"][1], 0.7),
        (second_states, VARIANTS["activate-output"][1], 1.3),
    ]
    inputs = _sd1_inputs()
    bare = _unet_out(sd1.unet, inputs)
    expected = _unet_out(hand_wrapped_unet(sd1.unet, chain), inputs)
    swapped = _unet_out(hand_wrapped_unet(sd1.unet, chain[::-1]), inputs)

    warnings = patcher.apply([(first, 0.7), (second, 1.3)])

    assert warnings == ["hypernetwork 'b' has no modules for width 64; those layers are unchanged"]
    patched = _unet_out(sd1.unet, inputs)
    torch.testing.assert_close(patched, expected, atol=1e-5, rtol=1e-4)
    assert (patched - bare).abs().max() > 1e-3
    assert (patched - swapped).abs().max() > 1e-4  # the order of the chain matters, and is kept


def test_strength_changes_in_place_between_renders(
    tmp_path: Path, sd1: Any, patcher: HypernetworkPatcher
) -> None:
    states = write_hypernetwork(tmp_path / "hn.pt")
    hypernetwork = load_hypernetwork(tmp_path / "hn.pt")
    inputs = _sd1_inputs()
    expected = _unet_out(hand_wrapped_unet(sd1.unet, [(states, RELU_121, 0.4)]), inputs)

    patcher.apply([(hypernetwork, 1.0)])
    installed = patcher.processor
    patcher.apply([(hypernetwork, 0.4)])

    assert patcher.processor is installed
    assert (
        sd1.unet.attn_processors["mid_block.attentions.0.transformer_blocks.0.attn1.processor"] is installed
    )
    torch.testing.assert_close(_unet_out(sd1.unet, inputs), expected, atol=1e-5, rtol=1e-4)


def test_render_strength_zero_is_bare_and_restore_gives_stock_processors(
    tmp_path: Path, sd1: Any, patcher: HypernetworkPatcher
) -> None:
    write_hypernetwork(tmp_path / "hn.pt")
    hypernetwork = load_hypernetwork(tmp_path / "hn.pt")
    stock = dict(sd1.unet.attn_processors)
    bare = _render(sd1)

    patcher.apply([(hypernetwork, 0.0)])
    at_zero = _render(sd1)
    patcher.apply([(hypernetwork, 1.0)])
    at_one = _render(sd1)
    patcher.restore()
    restored = _render(sd1)

    assert at_zero.tobytes() == bare.tobytes()
    assert abs(at_one - bare).max() > 1e-3
    assert restored.tobytes() == bare.tobytes()
    assert all(sd1.unet.attn_processors[name] is processor for name, processor in stock.items())

    patcher.apply([(hypernetwork, 1.0)])
    assert patcher.apply([]) == []
    assert all(sd1.unet.attn_processors[name] is processor for name, processor in stock.items())


def test_only_layers_with_matching_width_are_patched(
    tmp_path: Path, sd1: Any, patcher: HypernetworkPatcher
) -> None:
    write_hypernetwork(tmp_path / "narrow.pt", widths=(64,))
    write_hypernetwork(tmp_path / "sd1-real.pt", widths=(320, 640, 768, 1280))
    stock = dict(sd1.unet.attn_processors)
    mid = "mid_block.attentions.0.transformer_blocks.0"

    warnings = patcher.apply([(load_hypernetwork(tmp_path / "narrow.pt"), 1.0)])

    assert warnings == ["hypernetwork 'narrow' has no modules for width 32; those layers are unchanged"]
    patched = {name for name, processor in sd1.unet.attn_processors.items() if processor is not stock[name]}
    assert patched == {f"{mid}.attn1.processor"}  # the only attention whose context is 64 wide

    warnings = patcher.apply([(load_hypernetwork(tmp_path / "sd1-real.pt"), 1.0)])
    assert warnings == [
        "hypernetwork 'sd1-real' has no modules for any attention width of this model "
        "(file: 320, 640, 768, 1280; model: 32, 64); it is not applied"
    ]
    assert all(sd1.unet.attn_processors[name] is processor for name, processor in stock.items())


def test_modules_follow_the_unet_dtype(tmp_path: Path, sd1: Any) -> None:
    states = write_hypernetwork(tmp_path / "hn.pt")
    hypernetwork = load_hypernetwork(tmp_path / "hn.pt")
    unet = copy.deepcopy(sd1.unet).to(torch.float64)
    inputs = {k: v.double() if v.is_floating_point() else v for k, v in _sd1_inputs().items()}
    expected = _unet_out(hand_wrapped_unet(unet, [(_double(states), RELU_121, 1.0)]), inputs)

    HypernetworkPatcher(SimpleNamespace(unet=unet)).apply([(hypernetwork, 1.0)])

    assert all(
        p.dtype == torch.float64
        for pair in hypernetwork.modules.values()
        for m in pair
        for p in m.parameters()
    )
    torch.testing.assert_close(_unet_out(unet, inputs), expected)


def _double(states: States) -> States:
    def cast(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {key: value.double() for key, value in state.items()}

    return {width: (cast(k), cast(v)) for width, (k, v) in states.items()}


def test_sdxl_unet_matches_hand_wrapped_and_render_changes(tmp_path: Path) -> None:
    pipe = tiny_sdxl_pipeline(tmp_path / "tokenizers")
    pipe.set_progress_bar_config(disable=True)
    states = write_hypernetwork(tmp_path / "xl.pt", widths=(64,), variant="layer-norm")
    hypernetwork = load_hypernetwork(tmp_path / "xl.pt")
    generator = torch.Generator().manual_seed(11)
    inputs = {
        "sample": torch.randn(1, 4, 8, 8, generator=generator),
        "timestep": torch.tensor(300),
        "encoder_hidden_states": torch.randn(1, 7, 64, generator=generator),
        "added_cond_kwargs": {
            "text_embeds": torch.randn(1, 32, generator=generator),
            "time_ids": torch.tensor([[64.0, 64.0, 0.0, 0.0, 64.0, 64.0]]),
        },
    }
    expected = _unet_out(hand_wrapped_unet(pipe.unet, [(states, VARIANTS["layer-norm"][1], 0.9)]), inputs)
    bare = _render(pipe)
    patcher = HypernetworkPatcher(pipe)

    assert patcher.apply([(hypernetwork, 0.9)]) == []
    torch.testing.assert_close(_unet_out(pipe.unet, inputs), expected, atol=1e-5, rtol=1e-4)
    assert abs(_render(pipe) - bare).max() > 1e-3


def test_bad_strength_is_rejected(tmp_path: Path, sd1: Any, patcher: HypernetworkPatcher) -> None:
    write_hypernetwork(tmp_path / "hn.pt")
    hypernetwork: Hypernetwork = load_hypernetwork(tmp_path / "hn.pt")

    with pytest.raises(ValueError, match="strength nan is not a number"):
        patcher.apply([(hypernetwork, float("nan"))])
