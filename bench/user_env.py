"""The environment a timed command runs in: the caller's, as a user's shell would have it.

``PYTHONDONTWRITEBYTECODE`` (set in some development shells and CI images) is dropped: with it, every
command compiles Atelier's modules from source (about 40 ms of a 0.16 s ``inspect`` on the 2-core dev
machine) while the standard library and the installed packages load from their bytecode, a cost no user's
machine pays. The bench warms the bytecode with an untimed run first, as a user's first start does.
"""

from __future__ import annotations

import os


def user_env() -> dict[str, str]:
    """``os.environ`` without the settings a user's command does not run with."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env
