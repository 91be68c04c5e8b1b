"""Power cut at every I/O step of an install (DESIGN.md "Fault points",
issue 14). A cut loses what a power failure would (src/common/powerloss.c:
data not fsynced since its last write, names whose directory was not
fsynced since they changed), so this proves durability as well as the
order of the steps. After each cut the controller boots, runs entirely the
old or entirely the new bundle, `tandem flash check` passes, and the
install then succeeds; a cut after the last step (the install done, about
to report success) leaves the new bundle."""
import os
import pathlib
import shutil
import tarfile

import pytest

from flash_helpers import (bundle, boot, faults, init_store, install,
                           mc_script, show)

POWERCUT_STATUS = 86


def signed_pair(b):
    """A bundle's manifest.json and manifest.sig, the bytes a bank keeps."""
    with tarfile.open(b) as tar:
        return tuple(tar.extractfile(name).read()
                     for name in ("manifest.json", "manifest.sig"))


def versions(s):
    return {c["name"]: c["version"] for c in s["components"]}


# all: every change not yet durable is lost. keep-last: the newest change
# of names survives and the older ones are lost, which a directory fsync
# that orders them (the manifest removed before the images) must prevent.
@pytest.mark.parametrize("loss", ["all", "keep-last"])
def test_powercut_at_every_step(tmp_path, tandem, loss):
    cut_dir(tmp_path, tandem, loss, "dir")


# The same walk on the block backend: files standing in for partitions.
@pytest.mark.parametrize("loss", ["all", "keep-last"])
def test_block_powercut_at_every_step(tmp_path, tandem, loss):
    cut_dir(tmp_path, tandem, loss, "block")


def cut_dir(tmp_path, tandem, loss, backend):
    # tmpfs when there is one: the power-loss model, not the disk, decides
    # what survives a cut, so fsync's cost on a disk buys nothing here.
    shm = pathlib.Path("/dev/shm")
    work = pathlib.Path(
        os.environ.get("TANDEM_CUT_DIR") or
        (shm if shm.is_dir() and os.access(shm, os.W_OK) else tmp_path))
    work = work / f"tandem-cut-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    try:
        run_cuts(tmp_path, work, tandem, loss, backend)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run_cuts(tmp, work, tandem, loss, backend):
    old = {"mc": ("M1", mc_script(tmp / "mc1", "v1"))}
    new = {"mc": ("M2", mc_script(tmp / "mc2", "v2"))}
    for i in range(6):
        old[f"c{i}"] = (f"C{i}-1", os.urandom(20000 + i * 7000))
        new[f"c{i}"] = (f"C{i}-2", os.urandom(20000 + i * 7000))
    old["same"] = ("K1", b"unchanged" * 1000)
    new["same"] = ("K1", tmp / "same-K1.bin")
    # The bank an install clears holds a whole earlier bundle (v0).
    older = {"mc": ("M0", mc_script(tmp / "mc0", "v0")),
             "same": ("K0", b"earlier" * 1000)}
    for i in range(6):
        older[f"c{i}"] = (f"C{i}-0", os.urandom(20000 + i * 7000))
    v0 = bundle(tmp, tandem, "TS250P000", older)
    v1 = bundle(tmp, tandem, "TS250P001", old)
    v2 = bundle(tmp, tandem, "TS250P002", new)
    want_old = {"bundle.xml": "TS250P001",
                **{k: v[0] for k, v in old.items()}}
    want_new = {"bundle.xml": "TS250P002",
                **{k: v[0] for k, v in new.items()}}

    signed = [signed_pair(b) for b in (v0, v1, v2)]

    pristine = work / "pristine"
    assert init_store(tandem, pristine, backend).returncode == 0
    assert install(tandem, pristine, v0).returncode == 0
    assert boot(pristine).returncode == 0
    assert install(tandem, pristine, v1).returncode == 0
    assert boot(pristine).returncode == 0
    assert versions(show(tandem, pristine)) == want_old

    cut_points = 0
    last_cut = None
    n = 1
    while True:
        state = work / "a"
        shutil.rmtree(state, ignore_errors=True)
        shutil.copytree(pristine, state)
        r = install(tandem, state, v2, "--chunk-size", "1024",
                    env=faults(f"powercut={n},powerloss={loss}"))
        if r.returncode == 0:
            break  # the install has fewer than n steps: all were cut
        assert r.returncode == POWERCUT_STATUS, (n, r.stderr)
        cut_points += 1

        # Restart: the loader boots whichever bank the records name.
        b = boot(state)
        assert b.returncode == 0, (n, b.stdout, b.stderr)
        s = show(tandem, state)
        got = versions(s)
        assert got in (want_old, want_new), (n, got)
        last_cut = got
        assert "mc v2 started" in b.stdout if got == want_new else \
            "mc v1 started" in b.stdout
        c = tandem("flash", "check", state)
        assert c.returncode == 0, (n, c.stdout, c.stderr)
        # The other bank too is whole or has no manifest, never a bank
        # that looks complete with an image missing or damaged.
        assert "FAILED" not in c.stdout, (n, c.stdout)
        assert "missing" not in c.stdout, (n, c.stdout)
        # A bank with manifest.json holds the exact signed pair of one
        # bundle: manifest.json is written last, after its manifest.sig.
        # (block: check reads both back against their entry headers.)
        for bank in ("bank0", "bank1") if backend == "dir" else ():
            d = state / "flash" / bank
            if (d / "manifest.json").exists():
                sig = d / "manifest.sig"
                pair = ((d / "manifest.json").read_bytes(),
                        sig.read_bytes() if sig.exists() else None)
                assert pair in signed, (n, bank, "manifest.json without "
                                        "its bundle's manifest.sig")

        r = install(tandem, state, v2)
        assert r.returncode == 0, (n, r.stderr)
        assert boot(state).returncode == 0
        assert versions(show(tandem, state)) == want_new, n
        n += 1
        assert n < 5000
    print(f"\npower cut at each of {cut_points} I/O steps of the install "
          f"({backend}), 0 mixed")
    assert cut_points >= 200
    # The cut after the last step: everything the install did is durable.
    assert last_cut == want_new


def test_powercut_at_every_step_of_init(tmp_path, tandem):
    """A store being created: after a cut, init again makes a whole one;
    a cut after init's last step leaves a store that needs no init."""
    init_cuts(tmp_path, tandem, "dir")


def test_block_powercut_at_every_step_of_init(tmp_path, tandem):
    init_cuts(tmp_path, tandem, "block")


def init_cuts(tmp_path, tandem, backend):
    cuts = 0
    n = 1
    while True:
        state = tmp_path / f"s{n}" / "a"
        r = init_store(tandem, state, backend,
                       env=faults(f"powercut={n}"))
        if r.returncode == 0:
            break
        assert r.returncode == POWERCUT_STATUS, (n, r.stderr)
        cuts += 1
        last = tandem("flash", "show", "--json", state).returncode
        r = init_store(tandem, state, backend)
        assert r.returncode == 0, (n, r.stderr)
        c = tandem("flash", "check", state)
        assert c.returncode == 0, (n, c.stdout, c.stderr)
        n += 1
        assert n < 200
    assert cuts >= 4, cuts
    assert last == 0, "the store init completed did not survive the cut"
