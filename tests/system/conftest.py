"""Shared fixtures: where the built programs are, and scratch directories."""
import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("TANDEM_BUILD", ROOT / "build"))


def program(name):
    """Path of a built program, e.g. program('tandem')."""
    for sub in ("src/tool", "src/daemon", "src/loader"):
        p = BUILD / sub / name
        if p.exists():
            return str(p)
    raise FileNotFoundError(f"{name} not built under {BUILD}")


@pytest.fixture
def tandem():
    """Runs `tandem ARGS...` and returns the CompletedProcess."""
    exe = program("tandem")

    def run(*args, check=False, **kw):
        return subprocess.run([exe, *map(str, args)], capture_output=True,
                              text=True, check=check, timeout=300, **kw)
    return run
