"""How many files are hashed at once by default, in a module of its own.

Settings need this number at every start (the window's and every command's), while the hashing module
imports its hash libraries and the container readers: keeping the number here lets a start read its
settings without loading any of that.
"""

from __future__ import annotations

import os

# One file per core (every hash function in core.hashing releases the GIL on large buffers, so threads
# put every core to work; measured by bench/bench_hash_many.py), at least two so one file's open and first
# read overlap another's hashing, at most eight (a disk's queue).
DEFAULT_WORKERS = max(2, min(8, os.cpu_count() or 2))
