"""The one error family of conversion: a sentence saying why a file was not converted and what to do."""

from __future__ import annotations

from core.errors import AtelierError


class ConvertError(AtelierError):
    """A conversion refused or failed; nothing was written (a partial file is removed first)."""
