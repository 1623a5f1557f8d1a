"""The version of the identification rules, kept with every cataloged file.

Why: a catalog row says what a file is as the rules that read its header decided. An update that changes
what some header is taken for (a new family, a sharper rule, a family left open where it was guessed)
would otherwise leave every file already cataloged with the old answer until it changed on disk. Each
row keeps the version of the rules that identified it (``assets.identified_with``, 0 for rows from before
it was kept); a scan reads the header of every unchanged file identified by older rules again and writes
the new answer, keeping the file's hashes, the user's corrections and a Civitai label's family
(``catalog.scan_writes``). Nothing is re-read where a newer version identified the row (a machine with an
older Atelier sharing the catalog leaves it as it is).

Bump :data:`RULES_VERSION` with any change to ``core.identify`` (or to what the scan hands it) that can
change an identification: the next scan of every library then re-identifies its files, once.
``tests/core/identify/test_rules_version.py`` fails when the test factory's identifications change under
the same version.
"""

from __future__ import annotations

RULES_VERSION = 2
"""1: the rules of 2026-12-06 (the first version kept; every older row is 0). 2: Kolors, Hunyuan-DiT and
Stable Video Diffusion are families of their own (they were SDXL/other, other and SD 2.x pix2pix);
bitsandbytes NF4/FP4 checkpoints are read through their packed weights (Flux.1 NF4 was ``other``); a
transformer no row shares most names with is no longer given a "nearest match"."""
