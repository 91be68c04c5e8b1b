"""Power cuts during the boot-record writes of tandem-loader (the trial boot
count, the rollback) and of the MC's confirmation (`tandem flash confirm`),
at every I/O step (issue 14). A cut loses what a power failure would
(src/common/powerloss.c). After each cut `tandem flash check` passes, the
record is the old or the new one, and the next boot runs the bank the
rules say; a cut after the last step keeps what that step completed:
the count is durable before the MC starts (so a crash of the MC still
counts), the confirmation and the rollback once they are done."""
import os
import shutil

import pytest

from conftest import program
from flash_helpers import bundle, boot, init_store, install, mc_script, show

POWERCUT_STATUS = 86


def mc_confirming_under_faults(path, tag):
    """An MC image whose confirmation takes its faults from CONFIRM_FAULTS,
    so a cut can be aimed at it and not at the loader that started it."""
    tool = program("tandem")
    path.write_text(f'#!/bin/sh\necho "mc {tag} started"\n'
                    f'TANDEM_FAULTS="$CONFIRM_FAULTS" exec "{tool}" flash '
                    f'confirm "$TANDEM_STATE_DIR"\n')
    return path


def env(loader="", confirm=""):
    e = dict(os.environ)
    e["TANDEM_FAULTS"] = loader
    e["CONFIRM_FAULTS"] = confirm
    return e


def fresh(pristine, work):
    state = work / "a"
    shutil.rmtree(state, ignore_errors=True)
    shutil.copytree(pristine, state)
    return state


def record(tandem, state):
    s = show(tandem, state)
    return s["bundle_version"], s["trial"], s["boot_count"]


def checked(tandem, state, n):
    c = tandem("flash", "check", state)
    assert c.returncode == 0, (n, c.stdout, c.stderr)


def cut_walk(tandem, pristine, work, spec_env, after_cut, allowed, loss):
    """Cuts at steps 1, 2, ... until the boot runs through; returns the
    record the cut after the last step left and the number of cuts."""
    last = None
    n = 1
    while True:
        state = fresh(pristine, work)
        b = boot(state, env=spec_env(f"powercut={n},powerloss={loss}"))
        if b.returncode != POWERCUT_STATUS:
            return last, n - 1, b
        got = record(tandem, state)
        assert got in allowed, (n, got, b.stderr)
        checked(tandem, state, n)
        after_cut(state, n)
        last = got
        n += 1
        assert n < 100


def provisioned(tmp_path, tandem, mc2, backend="dir"):
    """A store running v1 (confirmed) with v2 (MC script mc2) installed on
    trial, not yet booted: the state every walk starts from."""
    work = tmp_path / "work"
    work.mkdir()
    pristine = work / "pristine"
    v1 = bundle(tmp_path, tandem, "TS250P001", {
        "mc": ("M1", mc_script(tmp_path / "mc1", "v1"))})
    v2 = bundle(tmp_path, tandem, "TS250P002", {"mc": ("M2", mc2)})
    assert init_store(tandem, pristine, backend).returncode == 0
    assert install(tandem, pristine, v1).returncode == 0
    assert boot(pristine).returncode == 0
    assert install(tandem, pristine, v2).returncode == 0
    return work, pristine


# all: every change not yet durable is lost; keep-last: the newest change
# of names survives (test_flash_powercut.py).
# Steps of one boot record write: dir: write, fsync, rename, fsync of
# flash/; block: the slot's write and the device's fsync.
RECORD_STEPS = {"dir": 4, "block": 2}


@pytest.mark.parametrize("loss", ["all", "keep-last"])
def test_powercut_during_boot_count_and_confirm(tmp_path, tandem, loss):
    count_and_confirm(tmp_path, tandem, loss, "dir")


@pytest.mark.parametrize("loss", ["all", "keep-last"])
def test_block_powercut_during_boot_count_and_confirm(tmp_path, tandem,
                                                      loss):
    count_and_confirm(tmp_path, tandem, loss, "block")


def count_and_confirm(tmp_path, tandem, loss, backend):
    work, pristine = provisioned(
        tmp_path, tandem, mc_confirming_under_faults(tmp_path / "mc2", "v2"),
        backend)
    assert record(tandem, pristine) == ("TS250P002", True, 0)

    def runs_v2_confirmed(state, n):
        b = boot(state, env=env())
        assert b.returncode == 0 and "mc v2 started" in b.stdout, \
            (n, b.stdout, b.stderr)
        assert record(tandem, state)[:2] == ("TS250P002", False), n

    # The loader's count: old (0) or new (1), then the MC runs.
    last, cuts, b = cut_walk(
        tandem, pristine, work, lambda spec: env(loader=spec),
        runs_v2_confirmed, {("TS250P002", True, 0), ("TS250P002", True, 1)},
        loss)
    assert b.returncode == 0 and "mc v2 started" in b.stdout, b.stderr
    assert cuts >= RECORD_STEPS[backend], cuts
    assert last == ("TS250P002", True, 1)

    # The confirmation, after a count that was made durable.
    last, cuts, b = cut_walk(
        tandem, pristine, work, lambda spec: env(confirm=spec),
        runs_v2_confirmed, {("TS250P002", True, 1), ("TS250P002", False, 0)},
        loss)
    assert b.returncode == 0, b.stderr
    assert cuts >= RECORD_STEPS[backend], cuts
    assert last == ("TS250P002", False, 0)


@pytest.mark.parametrize("loss", ["all", "keep-last"])
def test_powercut_during_rollback(tmp_path, tandem, loss):
    rollback_cuts(tmp_path, tandem, loss, "dir")


@pytest.mark.parametrize("loss", ["all", "keep-last"])
def test_block_powercut_during_rollback(tmp_path, tandem, loss):
    rollback_cuts(tmp_path, tandem, loss, "block")


def rollback_cuts(tmp_path, tandem, loss, backend):
    work, pristine = provisioned(
        tmp_path, tandem, mc_script(tmp_path / "mc2", "v2", confirm=False),
        backend)
    for _ in range(3):
        assert boot(pristine).returncode == 3
    assert record(tandem, pristine) == ("TS250P002", True, 3)

    def rolled_back_and_said(state, n):
        b = boot(state, env=env())
        assert b.returncode == 0 and "mc v1 started" in b.stdout, \
            (n, b.stdout, b.stderr)
        s = show(tandem, state)
        assert (s["bundle_version"], s["trial"]) == ("TS250P001", False), n
        assert "bank 0 (bundle TS250P002) started 3 times without " \
            "confirming" in s["last_result"], (n, s["last_result"])

    last, cuts, b = cut_walk(
        tandem, pristine, work, lambda spec: env(loader=spec),
        rolled_back_and_said,
        {("TS250P002", True, 3), ("TS250P001", False, 0)}, loss)
    assert b.returncode == 0 and "mc v1 started" in b.stdout, b.stderr
    assert cuts >= 4 + RECORD_STEPS[backend], cuts  # the note, the record
    assert last == ("TS250P001", False, 0)
