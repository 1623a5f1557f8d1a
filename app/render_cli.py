"""The CLI's render commands: ``render`` (a recipe from options, or replayed from infotext) and ``grid``.

Assets are named as in the library (file name, display name, alias, or a hash) or given as paths. Every
image is stored in the library's renders folder and gallery; ``--out`` writes a copy where the user wants
it, never over an existing file unless ``--overwrite`` asks (:mod:`app.render_out`). Exit codes: 0
rendered, 1 the render failed, 2 bad options, 3 assets are missing (listed on stderr with their hashes,
so they can be fetched with ``atelier download``); nothing is rendered then.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

from app.context import AppContext
from app.family_defaults import with_family_defaults as apply_family_defaults
from app.messages import user_message
from app.progress_bar import ProgressBar
from app.render_out import OutError, check_out, copy_out
from app.render_service import MisplacedAsset, RenderError, RenderPlan, StoredRender
from core.errors import AtelierError, UsageError
from core.jobs import Progress
from core.render.grid import GridAxisError, parse_axis
from core.render.hires import DEFAULT_DENOISING, DEFAULT_UPSCALER, UPSCALERS, HiresFix
from core.render.recipe import (
    AssetRef,
    EmbeddingUse,
    HypernetworkUse,
    LoraUse,
    Recipe,
    Sampler,
    split_sampler,
)
from core.render.tokenizer import FETCH_NOTICE
from core.sources.errors import RemoteError
from core.taxonomy import AssetKind, describe_kind

if TYPE_CHECKING:
    from core.render.memory import Placement

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_MISSING = 3


def _let_sizes_start_with_minus(parser: argparse.ArgumentParser) -> None:
    """``--size -64x64`` reaches :func:`_size`, which refuses it as a size, instead of argparse's
    "expected one argument": argparse takes a word starting with '-' for an option unless it looks like
    a negative number, and a negative size is typed like one."""
    matcher = parser._negative_number_matcher
    parser._negative_number_matcher = re.compile(rf"{matcher.pattern}|^-\d[\d.]*[xX]")


def _size(text: str) -> tuple[int, int]:
    width, sep, height = text.lower().partition("x")
    if not sep or not width.strip().isdigit() or not height.strip().isdigit():
        raise argparse.ArgumentTypeError(f"size must be WIDTHxHEIGHT, e.g. 512x768, not {text!r}")
    return int(width), int(height)


def _hires_size(text: str) -> tuple[int, int]:
    """``1024x0``: a hires size may leave one side 0 (the proportions decide it)."""
    width, sep, height = text.lower().partition("x")
    if not sep or not width.strip().isdigit() or not height.strip().isdigit():
        raise argparse.ArgumentTypeError(f"size must be WIDTHxHEIGHT, e.g. 1024x1536 or 1024x0, not {text!r}")
    return int(width), int(height)


def _hires_from_args(args: argparse.Namespace) -> HiresFix | None:
    """The hires fix the options ask for, or None when none of its switches is given."""
    upscale, resize, upscaler = args.hires_upscale, args.hires_resize, args.hires_upscaler
    if upscale is None and resize is None and upscaler is None:
        return None
    return HiresFix(
        upscaler=upscaler or DEFAULT_UPSCALER,
        scale=2.0 if upscale is None else upscale,
        resize=resize,
        steps=args.hires_steps,
        denoising=args.denoising,
    )


def _add_recipe_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", help="checkpoint name, alias, hash or path")
    parser.add_argument("--vae", help="VAE name or path (default: the checkpoint's own)")
    parser.add_argument(
        "--text-encoder",
        action="append",
        default=[],
        metavar="NAME",
        help="a separate text-encoder file (clip_l, clip_g, t5xxl, qwen_3_4b, qwen_2.5_vl_7b) for a Flux.1, "
        "SD3.5, Chroma, Z-Image or Qwen-Image model stored without its own; repeatable",
    )
    parser.add_argument("--lora", action="append", default=[], metavar="NAME[:WEIGHT]", help="repeatable")
    parser.add_argument("--embedding", action="append", default=[], metavar="NAME", help="repeatable")
    parser.add_argument("--negative-embedding", action="append", default=[], metavar="NAME")
    parser.add_argument("--hypernetwork", action="append", default=[], metavar="NAME[:STRENGTH]")
    parser.add_argument("--prompt", default="")
    parser.add_argument("--negative", default="", help="negative prompt")
    parser.add_argument("--seed", type=int, default=-1, help="-1 (default) picks one")
    parser.add_argument(
        "--steps",
        type=int,
        default=None,
        help="sampling steps (default 20; Z-Image: 8 for Turbo, 28 for Base, by its Civitai base model)",
    )
    parser.add_argument(
        "--cfg",
        type=float,
        default=None,
        help="CFG scale (default 7; 1 for Flux.1, as Forge's Flux preset: its distilled guidance steers, "
        "and for Z-Image, whose released Turbo model is distilled to run without CFG)",
    )
    parser.add_argument(
        "--distilled-cfg",
        type=float,
        default=None,
        metavar="X",
        help="Forge's Distilled CFG Scale: the guidance a distilled model was trained with; used by "
        "Flux.1 dev (default 3.5), ignored by other families",
    )
    parser.add_argument(
        "--shift",
        type=float,
        default=None,
        metavar="X",
        help="Forge's Shift, the flow-matching time shift (Flux.1, SD3.5, Chroma, Z-Image, Qwen-Image); "
        "default: the model's own",
    )
    parser.add_argument("--size", type=_size, default=(512, 512), metavar="WxH")
    parser.add_argument(
        "--sampler",
        default=None,
        help="as A1111 names it, e.g. 'DPM++ 2M' (or 'DPM++ 2M Karras'); default Euler a, or Euler for a "
        "flow-matching model (Flux.1, SD3.5, Chroma, Z-Image) as Forge uses",
    )
    parser.add_argument(
        "--schedule",
        default=None,
        help="A1111's schedule type: Automatic (default), Karras, Exponential, ...",
    )
    parser.add_argument("--clip-skip", type=int, default=1)
    hires = parser.add_argument_group(
        "hires fix", "a second pass at a larger size, as A1111's; on when any of the first three is given"
    )
    hires.add_argument("--hires-upscale", type=float, metavar="FACTOR", help="upscale by (e.g. 2)")
    hires.add_argument(
        "--hires-resize", type=_hires_size, metavar="WxH", help="resize to (0: keep proportions)"
    )
    hires.add_argument(
        "--hires-upscaler", metavar="NAME", help=f"one of {', '.join(UPSCALERS)} (default {DEFAULT_UPSCALER})"
    )
    hires.add_argument("--hires-steps", type=int, default=0, help="0 (default): as many as --steps")
    hires.add_argument("--denoising", type=float, default=DEFAULT_DENOISING, help="denoising strength")
    parser.add_argument(
        "--out",
        type=Path,
        help="also write the PNG here: a new file, or a folder to put it in (under a free name); an "
        "existing file is refused",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="let --out FILE replace an existing PNG (never a file of the library, a gallery image or a "
        "file that is not a PNG)",
    )
    parser.add_argument("--json", action="store_true")


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    render = sub.add_parser(
        "render",
        parents=[common],
    )
    _add_recipe_options(render)
    _let_sizes_start_with_minus(render)
    render.add_argument("--batch", type=int, default=1)
    render.add_argument(
        "--infotext",
        metavar="IMAGE|@FILE|TEXT",
        help="replay generation parameters: an image's (a .png/.jpg/.webp path: its parameters), a text "
        "file's (@FILE, or a path to an existing .txt file, as Forge and A1111 save them), or the "
        "infotext text itself",
    )
    render.add_argument(
        "--plan",
        action="store_true",
        help="print what would be rendered (settings, files, hashes, what is missing) and render nothing; "
        "exits as the render would refuse (3 missing, 2 refused) or 0",
    )
    grid = sub.add_parser("grid", parents=[common])
    _add_recipe_options(grid)
    _let_sizes_start_with_minus(grid)
    grid.add_argument(
        "--x",
        required=True,
        help="lora:NAME=0,0.5,1 | seed=1,2 | cfg=4,7 | steps=10,20 | checkpoint=a,b | sampler=Euler,DPM++ 2M "
        "| clip-skip=1,2 | guidance=2.5,3.5 (Distilled CFG) | shift=1,3 | vae=ae,None | "
        "text-encoder:t5xxl_fp16=t5xxl_fp16,t5xxl_fp8_e4m3fn | prompt-sr=red fox,blue bird (A1111's Prompt "
        "S/R: the first value, <lora:…> tags included, replaced in the prompt by each)",
    )
    grid.add_argument("--y", help="a second axis, same forms as --x")


def _ref(value: str) -> AssetRef:
    """A library name, or a path when a file or folder exists there."""
    path = Path(value).expanduser()
    if path.exists():
        return AssetRef(path.stem if path.is_file() else path.name, path=str(path.resolve()))
    return AssetRef(value)


def _number(text: str) -> float | None:
    """``text`` as a finite number, or None (``abc``, ``nan`` and ``inf`` are no weight)."""
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _weighted(value: str) -> tuple[AssetRef, float]:
    """``NAME:0.8`` -> (ref, 0.8); a value without a number after its last colon is a name (one may
    contain ':') with weight 1: :func:`bad_weight` refuses it when the library has no such name."""
    name, sep, weight = value.rpartition(":")
    number = _number(weight) if sep else None
    if number is not None:
        return _ref(name), number
    return _ref(value), 1.0


def bad_weight(args: argparse.Namespace, plan: RenderPlan) -> str | None:
    """Why a ``--lora NAME:W`` or ``--hypernetwork NAME:S`` given is a usage error, or None: a value
    whose part after its last colon is no number, and that names no file as a whole, has a bad weight
    (``detail:abc``), not a missing LoRA; a name with a colon that the library has stays a name."""
    missing = {(item.kind, item.name) for item in plan.missing}
    options = (
        ("--lora", AssetKind.LORA, "LoRA", "weight", args.lora),
        ("--hypernetwork", AssetKind.HYPERNETWORK, "hypernetwork", "strength", args.hypernetwork),
    )
    for flag, kind, label, what, values in options:
        for value in values:
            name, sep, weight = value.rpartition(":")
            if sep and _number(weight) is None and (kind, value) in missing:
                given = f"{weight!r} is not a {what}" if weight else f"no {what} follows the ':'"
                return (
                    f"{flag} {value}: {given} (a number, e.g. {name}:0.8), and the library has no "
                    f"{label} named {value!r}"
                )
    return None


def recipe_from_args(args: argparse.Namespace) -> Recipe:
    """The recipe the options describe. Raises ValueError with a message for invalid values."""
    width, height = args.size
    loras = tuple(LoraUse(ref, weight) for ref, weight in map(_weighted, args.lora))
    hypernetworks = tuple(
        HypernetworkUse(ref, strength) for ref, strength in map(_weighted, args.hypernetwork)
    )
    embeddings = tuple(EmbeddingUse(_ref(name)) for name in args.embedding)
    embeddings += tuple(EmbeddingUse(_ref(name), negative=True) for name in args.negative_embedding)
    return Recipe(
        checkpoint=_ref(args.checkpoint) if args.checkpoint else None,
        vae=_ref(args.vae) if args.vae else None,
        text_encoders=tuple(_ref(name) for name in getattr(args, "text_encoder", [])),
        loras=loras,
        embeddings=embeddings,
        hypernetworks=hypernetworks,
        prompt=args.prompt,
        negative_prompt=args.negative,
        seed=args.seed,
        steps=Recipe().steps if args.steps is None else args.steps,
        cfg=Recipe().cfg if args.cfg is None else args.cfg,
        width=width,
        height=height,
        clip_skip=args.clip_skip,
        batch=getattr(args, "batch", 1),
        sampler=split_sampler(args.sampler or Sampler.EULER_A.value, args.schedule)[0],
        schedule=split_sampler(args.sampler or Sampler.EULER_A.value, args.schedule)[1],
        hires=_hires_from_args(args),
        guidance=getattr(args, "distilled_cfg", None),
        shift=getattr(args, "shift", None),
    )


def with_family_defaults(plan: RenderPlan, args: argparse.Namespace) -> RenderPlan:
    """``plan`` with the checkpoint's defaults (:func:`app.family_defaults.with_family_defaults`, the
    board's rule too) for what the user left unset: Euler for a flow-matching model, the family's CFG,
    and a Z-Image variant's CFG and steps by the checkpoint's base-model label, with the plan's note of
    what was assumed. A sampler the user named is kept, and refused by name."""
    return apply_family_defaults(
        plan,
        sampler_given=args.sampler is not None,
        cfg_given=args.cfg is not None,
        steps_given=args.steps is not None,
    )


class CommandFailedError(AtelierError):
    """A render or grid that ends with ``exit_code`` (2 refused as asked, 3 missing files, 1 failed).

    Raised, not printed: ``app.cli`` says every command's failure one way (the ``atelier CMD:`` line on
    stderr; with ``--json`` the ``{"error", "exit_code"}`` object on stdout too).
    """

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def _fail(message: str, code: int) -> NoReturn:
    if code == EXIT_USAGE:
        raise UsageError(message)
    raise CommandFailedError(message, code)


class _CivitaiOffers:
    """Looks up missing assets' hashes on Civitai to print the command that downloads each.

    It uses its own session with one quick retry and short timeouts, and stops asking after the first
    failure: offline, the missing list must still appear at once (it is what the command is about).
    """

    def __init__(self, context: AppContext) -> None:
        self._context = context
        self._client: Any = None
        self._reachable = True

    def offer(self, file_hash: str) -> str | None:
        """``python main.py download civitai:123 ("v2.0" of model 45)``, or None."""
        if not self._reachable:
            return None
        try:
            if self._client is None:
                from app.site_keys import civitai_tokens
                from core.net import make_session
                from core.sources.civitai import CivitaiClient

                context = self._context
                session = make_session(
                    auth=civitai_tokens(context.civitai_base_url, context.tokens.get("civitai")),
                    retries=1,
                    backoff_factor=0.2,
                    timeout=(3.0, 10.0),
                )
                self._client = CivitaiClient(session, self._context.civitai_base_url())
            version = self._client.version_by_hash(file_hash)
        except (RemoteError, OSError) as error:
            self._reachable = False
            print(f"  (Civitai not asked further: {user_message(error)})", file=sys.stderr)
            return None
        except ValueError:
            return None
        if version is None:
            return None
        model = f" of model {version.model_id}" if version.model_id is not None else ""
        return f'python main.py download civitai:{version.id}  ("{version.name}"{model})'


_FLAGS = {
    AssetKind.CHECKPOINT: "--checkpoint",
    AssetKind.VAE: "--vae",
    AssetKind.TEXT_ENCODER: "--text-encoder",
    AssetKind.LORA: "--lora",
    AssetKind.EMBEDDING: "--embedding",
    AssetKind.HYPERNETWORK: "--hypernetwork",
}


def misplaced_line(item: MisplacedAsset) -> str:
    """``add_detail is a LoRA; --checkpoint needs a checkpoint (use --lora add_detail)``."""
    text = f"{item.name} is {item.what}; {_FLAGS[item.slot]} needs {describe_kind(item.slot)}"
    flag = _FLAGS.get(item.actual)
    return text + (f" (use {flag} {shlex.quote(item.use_as)})" if flag else "")


def cli_problem(plan: RenderPlan) -> str | None:
    """Why the plan cannot render, said the command line's way: a diffusion model without its text
    encoders or VAE names the option that gives them (the service says it for every front end)."""
    problem = plan.problem
    if problem is None or problem != plan.parts_problem:
        return problem
    if not plan.own_text_encoders and not plan.recipe.text_encoders:
        return f"{problem} with --text-encoder NAME, once for each"
    if "without its text encoders" in problem:  # some slots filled, others named as missing
        return f"{problem} (add it with --text-encoder NAME)"
    if "without a VAE" in problem:
        return f"{problem} with --vae NAME"
    return problem  # a chosen file that is not what its slot needs: the line names the file already


def _check_plan(
    command: str, plan: RenderPlan, context: AppContext | None = None, *, from_options: bool = True
) -> int | None:
    """An exit code when the plan cannot be rendered (missing assets listed), else None.

    With a ``context``, each missing asset that has a hash is looked up on Civitai and the command
    that downloads it is printed under it.
    """
    if plan.sampler_problem:
        return _fail(plan.sampler_problem, EXIT_USAGE)
    if plan.misplaced:
        lines = [
            misplaced_line(wrong)
            if from_options
            else f"{wrong.name} is {wrong.what}, not {describe_kind(wrong.slot)}"
            for wrong in plan.misplaced
        ]
        _fail("; ".join(lines), EXIT_USAGE)
    if plan.missing:
        offers = _CivitaiOffers(context) if context is not None else None
        # Each missing file on a line of its own, whole (with Civitai's download under it), then the
        # command's one failure line, which a long list would be cut in (app.messages.MAX_LENGTH).
        for item in plan.missing:
            print(f"  - {item.message}", file=sys.stderr)
            offer = offers.offer(item.hash) if offers is not None and item.hash else None
            if offer:
                print(f"    {item.name} is on Civitai: {offer}", file=sys.stderr)
        names = "; ".join(item.message for item in plan.missing)
        _fail(f"missing from the library, nothing rendered: {names}", EXIT_MISSING)
    if plan.lora_problem and plan.problem == plan.lora_problem:
        return _fail(f"cannot render: {plan.lora_problem}", EXIT_USAGE)
    problem = cli_problem(plan)
    if problem is not None:
        return _fail(f"cannot render: {problem}", EXIT_FAILED)
    return None


def infotext_source(value: str) -> str:
    """What ``--infotext`` replays: ``@FILE`` or the path of an existing ``.txt`` file gives that file's
    text; anything else (an image path, or the infotext itself) is passed on as given. Raises ValueError
    for an ``@FILE`` that cannot be read."""
    named = value[1:] if value.startswith("@") else value
    path: Path | None = None
    if value.startswith("@"):
        path = Path(named).expanduser()
        if path.suffix.lower() in (".png", ".jpg", ".jpeg", ".webp"):
            return str(path)  # an image: its parameters chunk, read as for a bare image path
    elif "\n" not in value and len(value) < 4096 and value.lower().endswith(".txt"):
        candidate = Path(value).expanduser()
        path = candidate if candidate.is_file() else None
    if path is None:
        return value
    try:
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        raise ValueError(f"cannot read the infotext file {path}: {reason}") from error


def _is_folder(text: str) -> bool:
    """Whether ``--infotext`` names a folder; a long infotext is no file name at all (ENAMETOOLONG)."""
    try:
        return Path(text).expanduser().is_dir()
    except OSError:
        return False


def cmd_render(context: AppContext, args: argparse.Namespace, out: TextIO) -> int:
    service = context.render_service
    try:
        if args.infotext:
            if _is_folder(args.infotext):
                return _fail(f"{args.infotext} is a folder: give --infotext an image or text", EXIT_USAGE)
            plan = service.plan_from_infotext(infotext_source(args.infotext))
        else:
            if not args.checkpoint:
                return _fail("give --checkpoint (or --infotext to replay an image)", EXIT_USAGE)
            plan = with_family_defaults(service.prepare(recipe_from_args(args)), args)
    except RenderError as error:
        return _fail(user_message(error), EXIT_FAILED)
    except ValueError as error:
        return _fail(user_message(error), EXIT_USAGE)
    weight_problem = None if args.infotext else bad_weight(args, plan)
    if weight_problem is not None:
        return _fail(weight_problem, EXIT_USAGE)
    placement = service.placement(plan) if plan.ready else None
    if args.plan:
        return _show_plan(service.with_hashes(plan), args.json, out, placement)
    code = _check_plan("render", plan, context, from_options=not args.infotext)
    if code is not None:
        return code
    if placement is not None and not placement.runnable:
        return _fail(f"this machine cannot run the model: {placement.reason}", EXIT_FAILED)
    try:
        check_out(args.out, plan.recipe.batch, context.library, overwrite=args.overwrite)
    except OutError as error:
        return _fail(f"{error}; nothing rendered", EXIT_USAGE)
    _warn("render", plan.warnings + ((plan.defaults_note,) if plan.defaults_note else ()), args.json)
    try:
        with ProgressBar("Rendering", phased=True) as bar:
            stored = service.render(plan, progress=_with_notices("render", bar.update))
    except RenderError as error:
        return _fail(user_message(error), EXIT_FAILED)
    copies = copy_out(args.out, [item.path for item in stored], context.library, overwrite=args.overwrite)
    _report(stored, copies, args.json, out, noted=plan.warnings)
    return EXIT_OK


def cmd_grid(context: AppContext, args: argparse.Namespace, out: TextIO) -> int:
    service = context.render_service
    if not args.checkpoint:
        return _fail("give --checkpoint (the base of every cell)", EXIT_USAGE)
    try:
        x = parse_axis(args.x)
        y = parse_axis(args.y) if args.y else None
        typed = recipe_from_args(args)
        defaults = with_family_defaults(service.prepare(typed), args).recipe
        # The cells start from the prompts as typed, tags included: A1111 applies Prompt S/R to that text
        # and reads each cell's networks after (prepare does, per cell), so S/R can swap a <lora:…> tag.
        base = defaults.replace(
            prompt=typed.prompt,
            negative_prompt=typed.negative_prompt,
            loras=typed.loras,
            hypernetworks=typed.hypernetworks,
            embeddings=typed.embeddings,
        )
    except (GridAxisError, ValueError) as error:
        return _fail(user_message(error), EXIT_USAGE)
    except RenderError as error:
        return _fail(user_message(error), EXIT_FAILED)
    plan = service.prepare(base)
    weight_problem = bad_weight(args, plan)
    if weight_problem is not None:
        return _fail(weight_problem, EXIT_USAGE)
    code = _check_plan("grid", plan, context)
    if code is not None:
        return code
    try:
        check_out(args.out, 1, context.library, overwrite=args.overwrite)
    except OutError as error:
        return _fail(f"{error}; nothing rendered", EXIT_USAGE)
    try:
        with ProgressBar("Rendering grid", phased=True) as bar:
            stored = service.render_grid(base, x, y, progress=_with_notices("grid", bar.update))
    except GridAxisError as error:
        return _fail(user_message(error), EXIT_USAGE)
    except RenderError as error:
        if error.missing:
            return _check_plan("grid", RenderPlan(base, None, None, error.missing, ())) or EXIT_MISSING
        return _fail(user_message(error), EXIT_FAILED)
    copies = copy_out(args.out, [stored.path], context.library, overwrite=args.overwrite)
    _report([stored], copies, args.json, out)
    return EXIT_OK


def _show_plan(plan: RenderPlan, as_json: bool, out: TextIO, placement: Placement | None = None) -> int:
    """Print the plan (nothing is loaded or rendered); the exit code says whether it would render."""
    from app.render_plan_view import plan_document, plan_lines

    if as_json:
        json.dump(plan_document(plan, placement), out, indent=2)
        out.write("\n")
    else:
        lines = plan_lines(plan, placement=placement)
        for line in lines:
            print(line, file=out)
        problem = cli_problem(plan) or ""
        listed = bool(plan.sampler_problem or plan.misplaced or plan.missing)  # lines above say why
        if placement is not None and not placement.runnable:
            print("Would not render on this machine.", file=out)
        else:
            print(
                "Ready to render."
                if plan.ready
                else "Would not render" + ("." if listed else f": {problem}"),
                file=out,
            )
    if plan.ready and (placement is None or placement.runnable):
        return EXIT_OK
    if plan.ready:
        return EXIT_FAILED
    if plan.sampler_problem or plan.misplaced or plan.problem == plan.lora_problem:
        return EXIT_USAGE
    return EXIT_MISSING if plan.missing else EXIT_FAILED


def _with_notices(command: str, update: Callable[[Progress], None]) -> Callable[[Progress], None]:
    """``update`` that also prints, as its own line, a notice the user must see even when no bar is
    drawn (stderr not a terminal): the one-time fetch of a tokenizer from the Hub."""

    def report(progress: Progress) -> None:
        if progress.message.startswith(FETCH_NOTICE):
            print(f"atelier {command}: {progress.message}", file=sys.stderr, flush=True)
        update(progress)

    return report


def _warn(command: str, warnings: tuple[str, ...], quiet: bool) -> None:
    if not quiet:
        for warning in warnings:
            print(f"atelier {command}: note: {warning}", file=sys.stderr)


def _item_json(item: StoredRender, path: Path) -> dict[str, Any]:
    return {
        "path": str(path),
        "library_path": str(item.path),
        "render_id": item.render.id,
        "seed": item.seed,
        "infotext": item.infotext,
        "elapsed": round(item.elapsed, 3),
        "device": item.device,
        "warnings": list(item.warnings),
    }


def _report(
    stored: list[StoredRender], paths: list[Path], as_json: bool, out: TextIO, noted: tuple[str, ...] = ()
) -> None:
    """The saved images and the render's warnings, less those already noted before it ran (``noted``):
    each is said once."""
    items = [_item_json(item, path) for item, path in zip(stored, paths, strict=True)]
    if as_json:
        document = dict(items[0])
        if len(items) > 1:
            document["images"] = items
        json.dump(document, out, indent=2)
        out.write("\n")
        return
    for item in items:
        print(
            f"Saved {item['path']} (seed {item['seed']}, {item['elapsed']:.1f} s on {item['device']})",
            file=out,
        )
    for warning in stored[0].warnings:
        if warning not in noted:
            print(f"  ! {warning}", file=out)


# the handlers app.cli runs, by command name (app.cli_registry lists the commands)
COMMANDS = {"render": cmd_render, "grid": cmd_grid}
