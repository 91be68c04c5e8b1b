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


@pytest.fixture
def bundles(tmp_path):
    """Signed bundles for the FTP and SFTP tests (ftp_helpers.Bundles)."""
    from ftp_helpers import Bundles
    return Bundles(tmp_path)


@pytest.fixture
def ctl(tmp_path, bundles):
    """One controller trusting the bundles' key (ftp_helpers.Controller)."""
    from ftp_helpers import Controller
    c = Controller(tmp_path / "a", bundles.keys)
    yield c
    c.stop()
