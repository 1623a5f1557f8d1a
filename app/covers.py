"""A custom cover for a model from any image ("Set cover from image…", ``set --cover IMAGE``).

The picture is converted to PNG with Pillow and stored in the data dir (``covers/`` beside the catalog,
named by asset and content), never next to the model: choosing a cover must not write into the user's
model folders. Writing it there, as ``<stem>.preview.png`` for A1111 and other tools, is the separate,
explicit "Write sidecars" step (:mod:`app.sidecar_writer`). A render becomes a cover through
``Library.use_render_as_preview`` (the render already lives in the data dir).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Protocol

from catalog.path_text import shown
from catalog.preview_adding import AddsPreviews
from catalog.records import PreviewRecord
from core.errors import AtelierError
from core.formats.model_file import UnreadableFileError
from core.formats.safe_open import open_regular
from core.formats.sidecar_writing import write_png_atomic

COVERS_FOLDER = "covers"
MAX_COVER_SIDE = 2048  # larger pictures are scaled down: a cover is shown at most a few hundred pixels


class CoverError(AtelierError):
    """A file that cannot become a cover (not an image Pillow reads)."""


class CoverLibrary(AddsPreviews, Protocol):
    @property
    def path(self) -> Path: ...


def covers_dir(library: CoverLibrary) -> Path:
    """Where custom covers live: ``covers/`` next to the catalog file."""
    return Path(library.path).parent / COVERS_FOLDER


def cover_from_image(library: CoverLibrary, asset_id: int, image_path: Path) -> PreviewRecord:
    """Make the picture at ``image_path`` the cover of ``asset_id`` (a PNG copy in the data dir).

    Raises:
        CoverError: not an image (or a damaged one).
        NotFoundError: no asset ``asset_id``.
    """
    from PIL import Image, UnidentifiedImageError

    source = Path(image_path).expanduser()
    name = shown(source.name)
    try:
        # Only a regular file is opened (a named pipe would block); Pillow refuses images over
        # MAX_IMAGE_PIXELS, so a few bytes that decode to gigapixels are an error, not gigabytes.
        with open_regular(source) as fh, Image.open(fh) as opened:
            opened.load()
            image = opened.convert("RGBA" if _has_alpha(opened) else "RGB")
    except FileNotFoundError:
        raise CoverError(f"{shown(str(source))}: no such file") from None
    except UnreadableFileError as exc:
        raise CoverError(f"{name}: {exc.reason}") from None
    except Image.DecompressionBombError:
        raise CoverError(f"{name} has far too many pixels to be a cover (a decompression bomb?)") from None
    except UnidentifiedImageError:
        raise CoverError(
            f"{name} is not an image Atelier can read: choose a picture (PNG, JPEG, WebP...)"
        ) from None
    except (OSError, ValueError, SyntaxError) as exc:
        if isinstance(exc, OSError) and exc.errno is not None:  # the file could not be read, not decoded
            from app.messages import user_message

            raise CoverError(user_message(exc)) from None
        # Pillow's own words for a damaged image name its internals: said plainly instead.
        raise CoverError(f"{name} is a damaged image Atelier cannot read: choose another picture") from None
    image.thumbnail((MAX_COVER_SIDE, MAX_COVER_SIDE))
    digest = hashlib.sha1(image.tobytes(), usedforsecurity=False).hexdigest()[:12]
    folder = covers_dir(library)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{asset_id}-{digest}.png"
    if not target.exists():
        write_png_atomic(target, lambda fh: image.save(fh, format="PNG"))
    return library.add_preview(
        asset_id, str(target), "custom", make_cover=True, width=image.width, height=image.height
    )


def _has_alpha(image: object) -> bool:
    mode = getattr(image, "mode", "")
    info = getattr(image, "info", {})
    return mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in info)
