"""What a render would do, shown before it runs: ``render --plan`` and the compose board's plan panel.

Both front ends show the same :class:`~app.render_service.RenderPlan` (the recipe resolved against the
library) through this one module: :func:`plan_document` is the JSON shape ``render --plan --json``
prints, and :func:`plan_lines` the same facts as the lines the CLI prints and the board shows. Nothing
here renders or imports torch: a plan is names, files, numbers and the reasons it would be refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.render_service import RenderPlan
from core.render.families import encoder_slot_names, family_of
from core.render.family_rules import family_guidance
from core.render.hires import hires_refusal, target_size
from core.render.recipe import AssetRef, Recipe
from core.render.samplers import FLOW_ARCHITECTURES, effective_schedule, refusal
from core.taxonomy import AssetKind, describe_model

if TYPE_CHECKING:
    from core.render.memory import Placement


def _ref(ref: AssetRef | None) -> dict[str, Any] | None:
    if ref is None:
        return None
    return {"name": ref.name or Path(ref.path or "").stem, "path": ref.path, "hash": ref.hash}


def _hires(recipe: Recipe) -> dict[str, Any] | None:
    hires = recipe.hires
    if hires is None:
        return None
    target = target_size(hires, recipe.width, recipe.height)
    return {
        "upscaler": hires.upscaler,
        "upscale": hires.scale if hires.resize is None else None,
        "resize": f"{hires.resize[0]}x{hires.resize[1]}" if hires.resize is not None else None,
        "steps": hires.second_pass_steps(recipe.steps),
        "hires_steps": hires.steps,
        "denoising_strength": hires.denoising,
        "size": f"{target.width}x{target.height}",
    }


def plan_document(plan: RenderPlan, placement: Placement | None = None) -> dict[str, Any]:
    """The plan as JSON types: settings, every network with its weights, files, hashes, problems, and
    (for Flux.1/SD3.5/Chroma) how this machine would hold the model: ``memory`` with the mode
    (gpu, model_offload, sequential_offload, cpu, cannot_run), the reason and the byte counts."""
    recipe = plan.recipe
    checkpoint = _ref(recipe.checkpoint)
    if checkpoint is not None and plan.architecture is not None:
        checkpoint["architecture"] = plan.architecture.value
    flow = plan.architecture in FLOW_ARCHITECTURES
    refusals = [
        text for text in (refusal(recipe.sampler, recipe.schedule, flow=flow), hires_refusal(recipe)) if text
    ]
    return {
        "ready": plan.ready,
        "problem": plan.problem,
        "prompt": recipe.prompt,
        "negative_prompt": recipe.negative_prompt,
        "sampler": recipe.sampler,
        "schedule": recipe.schedule,
        "schedule_used": effective_schedule(recipe.sampler, recipe.schedule, flow=flow),
        "steps": recipe.steps,
        "cfg": recipe.cfg,
        "distilled_cfg": recipe.guidance,  # None: the family's default (Flux.1 dev 3.5)
        "distilled_cfg_used": _guidance_used(plan, recipe),  # what the render will use; None: no such input
        "shift": recipe.shift,  # None: the model's own
        "seed": recipe.seed,
        "size": f"{recipe.width}x{recipe.height}",
        "clip_skip": recipe.clip_skip,
        "batch": recipe.batch,
        "hires": _hires(recipe),
        "model": checkpoint,
        "vae": _ref(recipe.vae),
        "text_encoders": [_ref(ref) for ref in recipe.text_encoders],
        "text_encoder_slots": list(encoder_slot_names(plan.architecture)),
        "memory": placement.as_dict() if placement is not None else None,
        "tokenizers_to_fetch": list(plan.tokenizers_to_fetch),
        "tokenizer_endpoint": plan.tokenizer_endpoint,
        "loras": [
            {
                **(_ref(use.ref) or {}),
                "unet_weight": use.weight,
                "text_encoder_weight": use.effective_text_encoder_weight,
                "enabled": use.enabled,
            }
            for use in recipe.loras
        ],
        "embeddings": [{**(_ref(use.ref) or {}), "negative": use.negative} for use in recipe.embeddings],
        "hypernetworks": [
            {**(_ref(use.ref) or {}), "strength": use.strength} for use in recipe.hypernetworks
        ],
        "missing": [
            {"kind": item.kind.value, "name": item.name, "hash": item.hash, "message": item.message}
            for item in plan.missing
        ],
        "misplaced": [item.message for item in plan.misplaced],
        "refusals": refusals,
        "warnings": list(plan.warnings),
        "base_model": plan.base_model_label,
        "defaults_note": plan.defaults_note,  # which variant's defaults were assumed, when no label says
    }


def _named(entry: dict[str, Any], paths: bool = True, misplaced: frozenset[str] = frozenset()) -> str:
    """``add_detail [7c6bd7b7a2] (/models/Lora/add_detail.safetensors)``; "not found" without a file, and
    "wrong kind" for a file that exists but is another kind than its slot (``misplaced`` names them)."""
    text = entry["name"] or "?"
    if entry.get("hash"):
        text += f" [{entry['hash']}]"
    if not entry.get("path"):
        return text + (" (wrong kind: see below)" if entry["name"] in misplaced else " (not found)")
    return text + (f" ({entry['path']})" if paths else "")


def _steps(count: int) -> str:
    return f"{count} step" if count == 1 else f"{count} steps"


def _number(value: float) -> str:
    return f"{value:g}"


def plan_lines(plan: RenderPlan, *, paths: bool = True, placement: Placement | None = None) -> list[str]:
    """The plan as short ``Label: value`` lines, in the order a user checks them (``paths`` False
    leaves the files' paths out, for the narrow board; a file not found still says so)."""
    doc = plan_document(plan, placement)
    wrong = frozenset(item.name for item in plan.misplaced)
    lines: list[str] = []
    model = doc["model"]
    if model is not None:
        kind = describe_model(AssetKind.CHECKPOINT, plan.architecture) if plan.architecture else None
        lines.append(f"Model: {_named(model, paths, wrong)}" + (f", {kind}" if kind else ""))
    else:
        lines.append("Model: none chosen")
    if doc["vae"]:
        lines.append(f"VAE: {_named(doc['vae'], paths, wrong)}")
    else:
        lines.append("VAE: the checkpoint's own" if plan.own_vae else "VAE: needed, none chosen")
    if doc["text_encoder_slots"]:
        given = [_named(entry, paths, wrong) for entry in doc["text_encoders"] if entry is not None]
        wanted = ", ".join(doc["text_encoder_slots"])
        lines.append(
            f"Text encoders: {', '.join(given)}"
            if given
            else f"Text encoders ({wanted}): "
            + ("the checkpoint's own" if plan.own_text_encoders else "needed, none chosen")
        )
    memory = doc["memory"]
    if memory is not None:
        if memory["runnable"]:
            lines.append(f"Memory: {memory['mode'].replace('_', ' ')}; {memory['reason']}")
        else:
            lines.append(f"Cannot run here: {memory['reason']}")
    for where in doc["tokenizers_to_fetch"]:
        fetch = "cannot be fetched now" if plan.tokenizer_problem else "will be fetched once"
        lines.append(f"Tokenizer {where}: {fetch} from {doc['tokenizer_endpoint']}")
    schedule = doc["schedule"]
    if doc["schedule_used"] and doc["schedule_used"] != schedule:
        schedule += f" ({doc['schedule_used']})"
    guided = ""
    if doc["distilled_cfg"] is not None and doc["distilled_cfg_used"] is not None:
        guided += f", Distilled CFG {_number(doc['distilled_cfg'])}"
    elif doc["distilled_cfg_used"] is not None:
        guided += f", Distilled CFG {_number(doc['distilled_cfg_used'])} (the model's default)"
    if doc["shift"] is not None:
        guided += f", Shift {_number(doc['shift'])}"
    lines.append(
        f"Sampler: {doc['sampler']}, schedule {schedule}, {doc['steps']} steps, CFG {_number(doc['cfg'])}"
        + guided
    )
    if doc["defaults_note"]:
        lines.append(f"Defaults: {doc['defaults_note']}")
    seed = "random" if doc["seed"] == -1 else str(doc["seed"])
    # A transformer family ignores clip skip (the plan warns): only an SD render shows it.
    shown_skip = doc["clip_skip"] > 1 and family_of(plan.architecture) is None
    extras = f", clip skip {doc['clip_skip']}" if shown_skip else ""
    extras += f", batch {doc['batch']}" if doc["batch"] > 1 else ""
    lines.append(f"Seed: {seed}, size {doc['size']}{extras}")
    hires = doc["hires"]
    if hires is not None:
        how = f"x{_number(hires['upscale'])}" if hires["resize"] is None else f"to {hires['resize']}"
        lines.append(
            f"Hires fix: {hires['upscaler']} {how} -> {hires['size']}, {_steps(hires['steps'])} "
            f"at denoising {_number(hires['denoising_strength'])}"
        )
    for lora in doc["loras"]:
        weights = f"UNet {_number(lora['unet_weight'])}, TE {_number(lora['text_encoder_weight'])}"
        off = "" if lora["enabled"] else " (off)"
        lines.append(f"LoRA: {_named(lora, paths, wrong)}, {weights}{off}")
    for embedding in doc["embeddings"]:
        side = " (negative)" if embedding["negative"] else ""
        lines.append(f"Embedding: {_named(embedding, paths, wrong)}{side}")
    for hypernetwork in doc["hypernetworks"]:
        lines.append(
            f"Hypernetwork: {_named(hypernetwork, paths, wrong)}, "
            f"strength {_number(hypernetwork['strength'])}"
        )
    lines += [f"Missing: {item['message']}" for item in doc["missing"]]
    lines += [f"Wrong slot: {text}" for text in doc["misplaced"]]
    lines += [f"Refused: {text}" for text in doc["refusals"]]
    lines += [f"Warning: {text}" for text in doc["warnings"]]
    return lines


def _guidance_used(plan: RenderPlan, recipe: Recipe) -> float | None:
    """The distilled guidance the render will use (the recipe's or the family's default), for the plan to
    say even when the user typed none; None for a family without that input."""
    family = family_of(plan.architecture)
    if family is None or plan.takes_guidance is False:
        return None  # Flux.1 schnell: no distilled-guidance input (the plan warns when one is typed)
    return family_guidance(family, recipe)
