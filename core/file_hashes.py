"""The record of every hash of one file (kept apart from ``core.hashing`` so that reading it costs nothing:
the catalog's records and the GUI import it at start-up, the hashing machinery only when hashing)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FileHashes:
    """All hashes of one file, rendered the way Civitai stores them (uppercase hex).

    ``autov1`` is None for files under 2 MiB (as on Civitai); ``autov3`` is None for files that are not
    safetensors.
    """

    sha256: str
    blake3: str
    crc32: str
    autov1: str | None
    autov2: str
    autov3: str | None

    def to_json(self) -> dict[str, str | None]:
        return {
            "sha256": self.sha256,
            "blake3": self.blake3,
            "crc32": self.crc32,
            "autov1": self.autov1,
            "autov2": self.autov2,
            "autov3": self.autov3,
        }
