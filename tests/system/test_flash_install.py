"""`tandem flash install/show/check`: verified install into the inactive
bank, skipping, version and trial refusals, injected faults."""
import os
import subprocess
import tarfile

import pytest

from flash_helpers import bundle, boot, faults, install, mc_script, show


@pytest.fixture
def store(tmp_path, tandem):
    state = tmp_path / "a"
    r = tandem("flash", "init", state)
    assert r.returncode == 0, r.stderr
    v1 = bundle(tmp_path, tandem, "TS250P001", {
        "mc": ("M1", mc_script(tmp_path / "mc1", "v1")),
        "sc": ("S1", os.urandom(300000)),
    })
    v2 = bundle(tmp_path, tandem, "TS250P002", {
        "mc": ("M2", mc_script(tmp_path / "mc2", "v2")),
        "sc": ("S1", (tmp_path / "sc-S1.bin")),
    })
    r = install(tandem, state, v1)
    assert r.returncode == 0, r.stderr
    assert boot(state).returncode == 0  # v1 starts and confirms
    return tmp_path, state, v1, v2


def test_install_activates_inactive_bank_on_trial(store, tandem):
    _, state, _, v2 = store
    assert show(tandem, state)["active_bank"] == 1
    r = install(tandem, state, v2)
    assert r.returncode == 0, r.stderr
    s = show(tandem, state)
    assert s["active_bank"] == 0 and s["trial"] is True
    assert s["bundle_version"] == "TS250P002"
    assert s["previous_version"] == "TS250P001"
    # sc was identical on read-back: skipped, not rewritten (I1: bank 1
    # keeps its own copy, shared with bank 0).
    assert "sc           S1               skipped" in r.stdout
    # No second copy of the bundle: the bank is the bundle (export.c).
    assert not (state / "flash/bundle").exists()
    assert tandem("flash", "check", state).returncode == 0


def test_same_bundle_is_not_attempted(store, tandem):
    _, state, v1, _ = store
    before = show(tandem, state)
    r = install(tandem, state, v1)
    assert r.returncode == 0, r.stderr
    assert "Not attempted (Versions match)" in r.stdout
    assert show(tandem, state)["sequence"] == before["sequence"]


def test_same_version_other_content_needs_force(store, tandem):
    """A version names one content: TS250P001 again with another sc is not
    "the same version" and is refused without force, bank untouched."""
    tmp, state, _, _ = store
    before = show(tandem, state)
    other = bundle(tmp, tandem, "TS250P001", {
        "mc": ("M1", mc_script(tmp / "mc1b", "v1")),
        "sc": ("S1", os.urandom(300000)),
    }, name="TS250P001-other.tar")
    r = install(tandem, state, other)
    assert r.returncode == 45, (r.returncode, r.stderr)
    assert ("bundle TS250P001 has the installed version but different "
            "content; force installs it anyway") in r.stderr
    assert show(tandem, state) == before
    r = install(tandem, state, other, "--force")
    assert r.returncode == 0, r.stderr
    assert "sc           S1               installed" in r.stdout
    assert show(tandem, state)["sequence"] > before["sequence"]


def test_damaged_active_image_is_reflashed_not_skipped(store, tandem):
    """Same versions, but the active sc no longer reads back right."""
    _, state, v1, _ = store
    sc = state / "flash/bank1/sc"
    data = bytearray(sc.read_bytes())
    data[5] ^= 1
    sc.write_bytes(bytes(data))
    r = install(tandem, state, v1)
    assert r.returncode == 0, r.stderr
    assert "sc           S1               installed" in r.stdout
    assert show(tandem, state)["active_bank"] == 0


def test_older_refused_without_force(store, tandem):
    tmp, state, _, v2 = store
    assert install(tandem, state, v2).returncode == 0
    # v2 starts and confirms itself: off trial, so only the version refuses.
    b = boot(state)
    assert b.returncode == 0 and "mc v2 started" in b.stdout, b.stderr
    s = show(tandem, state)
    assert s["bundle_version"] == "TS250P002" and not s["trial"]
    old = bundle(tmp, tandem, "TS250P000", {"mc": ("M0", b"x")},
                 executable=None)
    r = install(tandem, state, old)
    assert r.returncode == 45, r.stderr
    assert "older than the installed TS250P002" in r.stderr
    r = install(tandem, state, old, "--force")
    assert r.returncode == 0, r.stderr


def test_install_refused_while_on_trial(store, tandem):
    _, state, v1, v2 = store
    assert install(tandem, state, v2).returncode == 0
    r = install(tandem, state, v1, "--force")
    assert r.returncode == 47 and "on trial" in r.stderr
    assert tandem("flash", "confirm", state).returncode == 0
    assert install(tandem, state, v1, "--force").returncode == 0


def test_busy_while_another_install_holds_the_lock(store, tandem):
    _, state, _, v2 = store
    holder = subprocess.Popen(["flock", "-x", str(state / "flash/lock"),
                               "sleep", "30"])
    try:
        deadline = 50
        while deadline and subprocess.run(
                ["flock", "-n", str(state / "flash/lock"), "true"]
                ).returncode == 0:
            deadline -= 1
            subprocess.run(["sleep", "0.1"])
        r = install(tandem, state, v2)
        assert r.returncode == 46 and "another install" in r.stderr
    finally:
        holder.kill()
        holder.wait()


def test_corruption_caught_by_readback_names_component(store, tandem):
    _, state, _, v2 = store
    r = install(tandem, state, v2, "--force", env=faults("corrupt=sc"))
    assert r.returncode == 44, r.stderr
    assert "read-back of sc failed" in r.stderr
    assert "the active bank (1) is unchanged" in r.stderr
    s = show(tandem, state)
    assert s["active_bank"] == 1 and s["bundle_version"] == "TS250P001"
    assert tandem("flash", "check", state).returncode == 0


# An image larger than several read-back ranges (FLASH_READBACK_RANGE,
# 16 MiB): its first ranges are read back while the rest is written.
BIG = 40 * 1024 * 1024


@pytest.fixture
def big(tmp_path, tandem):
    state = tmp_path / "a"
    assert tandem("flash", "init", state).returncode == 0
    v1 = bundle(tmp_path, tandem, "TS250P001", {
        "mc": ("M1", mc_script(tmp_path / "mc1", "v1")),
        "sc": ("S1", os.urandom(1000)),
    })
    assert install(tandem, state, v1).returncode == 0
    assert boot(state).returncode == 0
    v2 = bundle(tmp_path, tandem, "TS250P002", {
        "mc": ("M2", mc_script(tmp_path / "mc2", "v2")),
        "sc": ("S2", os.urandom(BIG)),
        "ec": ("E2", os.urandom(3 * 1024 * 1024 + 77)),
        "cpld": ("P2", os.urandom(5000)),   # sc's verdict is in by then
    })
    return tmp_path, state, v2


@pytest.mark.parametrize("comp", ["sc", "ec", "cpld"])
def test_corruption_inside_a_range_read_back_early_is_caught(big, tandem,
                                                             comp):
    """The bit flips in the middle of the image, which the overlapping
    read-back reaches before the image's last byte is written: it is
    still found, and attributed to the flash (44), not the bundle. Slow
    flash (20 ms a 1 MiB write) keeps the read-back well ahead of the
    writing, so a flip made too late would be missed."""
    _, state, v2 = big
    r = install(tandem, state, v2,
                env=faults(f"corrupt={comp},slow-flash=20"))
    assert r.returncode == 44, r.stderr
    assert f"read-back of {comp} failed" in r.stderr
    assert "differs from the signed manifest" in r.stderr
    assert "the active bank (1) is unchanged" in r.stderr
    s = show(tandem, state)
    assert s["active_bank"] == 1 and s["bundle_version"] == "TS250P001"
    assert tandem("flash", "check", state).returncode == 0
    r = install(tandem, state, v2)
    assert r.returncode == 0, r.stderr
    assert show(tandem, state)["bundle_version"] == "TS250P002"
    assert tandem("flash", "check", state).returncode == 0


def test_tampered_first_range_of_a_large_image_is_a_bundle_error(big,
                                                                 tandem):
    tmp, state, v2 = big
    with tarfile.open(v2) as t:
        at = t.getmember("sc").offset_data
    data = bytearray(v2.read_bytes())
    data[at + 1000] ^= 0x04   # early in sc: its first range
    bad = tmp / "tampered.tar"
    bad.write_bytes(bytes(data))
    r = install(tandem, state, bad)
    assert r.returncode == 43, r.stderr
    assert "component 'sc': sha256 mismatch" in r.stderr
    assert show(tandem, state)["active_bank"] == 1


@pytest.mark.parametrize("fault", ["enospc", "write-error"])
def test_write_failure_of_a_large_image_stops_its_read_back(big, tandem,
                                                           fault):
    _, state, v2 = big
    r = install(tandem, state, v2, env=faults(f"{fault}=ec"))
    assert r.returncode == (42 if fault == "enospc" else 41), r.stderr
    assert "writing ec to bank 0" in r.stderr
    assert "the active bank (1) is unchanged" in r.stderr
    assert not (state / "flash/bank0/manifest.json").exists()
    assert show(tandem, state)["active_bank"] == 1
    assert install(tandem, state, v2).returncode == 0


@pytest.mark.parametrize("comp", ["mc", "sc", "bundle.xml"])
def test_enospc_leaves_active_bank_untouched(store, tandem, comp):
    _, state, _, v2 = store
    active = {p.name: p.read_bytes()
              for p in (state / "flash/bank1").iterdir()}
    r = install(tandem, state, v2, "--force", env=faults(f"enospc={comp}"))
    assert r.returncode == 42, r.stderr
    assert "No space left on device" in r.stderr
    assert "the active bank (1) is unchanged" in r.stderr
    assert f"writing {comp} to bank 0" in r.stderr
    assert {p.name: p.read_bytes()
            for p in (state / "flash/bank1").iterdir()} == active
    assert not (state / "flash/bank0/manifest.json").exists()
    assert show(tandem, state)["active_bank"] == 1
    assert install(tandem, state, v2).returncode == 0


def test_bad_signature_changes_nothing(store, tandem):
    tmp, state, _, v2 = store
    bad = tmp / "bad.tar"
    data = bytearray(v2.read_bytes())
    data[600] ^= 1  # inside manifest.json
    bad.write_bytes(bytes(data))
    before = sorted(p.name for p in (state / "flash/bank0").iterdir())
    r = install(tandem, state, bad)
    assert r.returncode == 43, r.stderr
    assert sorted(p.name for p in (state / "flash/bank0").iterdir()) == before


def test_tampered_payload_is_a_bundle_error_not_a_flash_error(store, tandem):
    """Images are hashed once, in the read-back; a CRC of what arrived tells
    a bundle that never matched its manifest (exit 43) from flash that
    changed what was written (44, the corruption test above)."""
    tmp, state, _, v2 = store
    data = bytearray(v2.read_bytes())
    data[len(data) - 4000] ^= 0x40       # inside sc, the last payload
    bad = tmp / "tampered.tar"
    bad.write_bytes(bytes(data))
    r = install(tandem, state, bad, "--force")
    assert r.returncode == 43, r.stderr
    assert "component 'sc': sha256 mismatch" in r.stderr
    assert "the active bank (1) is unchanged" in r.stderr
    s = show(tandem, state)
    assert s["active_bank"] == 1 and s["bundle_version"] == "TS250P001"
    assert tandem("flash", "check", state).returncode == 0
    assert install(tandem, state, v2, "--force").returncode == 0


def test_newer_format_store_is_refused_not_rewritten(store, tandem):
    _, state, _, v2 = store
    rec = state / "flash/bootrec.0"
    raw = bytearray(rec.read_bytes())
    raw[8] = 2  # format version
    rec.write_bytes(bytes(raw))
    for args in (["show", state], ["check", state]):
        r = tandem("flash", *args)
        assert r.returncode == 48, r.stderr
        assert "newer than this build" in r.stderr
    r = install(tandem, state, v2)
    assert r.returncode == 48
    assert boot(state).returncode == 1
    assert rec.read_bytes() == bytes(raw)


def test_bad_crc_record_is_ignored(store, tandem):
    _, state, _, _ = store
    s = show(tandem, state)
    newest = max((state / "flash").glob("bootrec.*"),
                 key=lambda p: int.from_bytes(p.read_bytes()[16:24],
                                              "little"))
    raw = bytearray(newest.read_bytes())
    raw[40] ^= 0xff
    newest.write_bytes(bytes(raw))
    s2 = show(tandem, state)
    assert s2["sequence"] == s["sequence"] - 1


def test_check_fails_when_active_image_damaged(store, tandem):
    _, state, _, _ = store
    (state / "flash/bank1/sc").write_bytes(b"nope")
    r = tandem("flash", "check", state)
    assert r.returncode == 49
    assert "sc in bank 1 reads back 4 bytes" in r.stderr
    assert "DAMAGED" in r.stdout
