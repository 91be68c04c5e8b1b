"""`tandem flash export`: the active bank's signed bundle rebuilt from the
bank (no kept copy), valid for `tandem bundle verify` and for installing
into another controller; a bad image stops it, naming the component."""
import os
import subprocess

import pytest

from conftest import program
from flash_helpers import boot, bundle, install, mc_script, show

SC_SIZE = 3 * 1024 * 1024 + 12345   # several read chunks, ragged end


@pytest.fixture
def installed(tmp_path, tandem):
    state = tmp_path / "a"
    assert tandem("flash", "init", state).returncode == 0
    v1 = bundle(tmp_path, tandem, "TS250P001", {
        "mc": ("M1", mc_script(tmp_path / "mc1", "v1")),
        "sc": ("S1", os.urandom(SC_SIZE)),
        "empty": ("E1", b""),
    })
    r = install(tandem, state, v1)
    assert r.returncode == 0, r.stderr
    assert boot(state).returncode == 0
    return tmp_path, state, v1


def verify(tandem, tmp, path):
    return tandem("bundle", "verify", "--pubkey", tmp / "keys/bundle.pub",
                  path)


def export_stdout(state):
    return subprocess.run([program("tandem"), "flash", "export", str(state),
                           "-o", "-"], capture_output=True, timeout=60)


def test_export_verifies_and_installs_elsewhere(installed, tandem):
    tmp, state, v1 = installed
    out = tmp / "exported.tar"
    r = tandem("flash", "export", state, "-o", out)
    assert r.returncode == 0, r.stderr
    v = verify(tandem, tmp, out)
    assert v.returncode == 0, v.stderr
    assert "Verified: signature" in v.stdout
    # Same members in the format's order as the original bundle.
    names = subprocess.run(["tar", "tf", out], capture_output=True,
                           text=True, check=True).stdout.split()
    assert names == ["manifest.json", "manifest.sig", "bundle.xml", "mc",
                     "sc", "empty"]
    assert out.stat().st_size == v1.stat().st_size
    assert not (tmp / "exported.tar.tmp").exists()

    other = tmp / "b"
    assert tandem("flash", "init", other).returncode == 0
    r = install(tandem, other, out)
    assert r.returncode == 0, r.stderr
    a, b = show(tandem, state), show(tandem, other)
    assert b["bundle_version"] == a["bundle_version"] == "TS250P001"
    assert b["components"] and \
        [(c["name"], c["version"], c["sha256"], c["executable"])
         for c in b["components"]] == \
        [(c["name"], c["version"], c["sha256"], c["executable"])
         for c in a["components"]]
    assert tandem("flash", "check", other).returncode == 0
    # The exported MC image still runs (the executable flag survives).
    assert "mc v1 started" in boot(other).stdout


def test_export_to_stdout_is_the_same_bytes(installed, tandem):
    tmp, state, _ = installed
    out = tmp / "file.tar"
    assert tandem("flash", "export", state, "-o", out).returncode == 0
    r = export_stdout(state)
    assert r.returncode == 0, r.stderr
    assert r.stdout == out.read_bytes()


@pytest.mark.parametrize("damage", ["flip", "truncate", "missing"])
def test_bad_active_image_fails_export_naming_it(installed, tandem, damage):
    tmp, state, _ = installed
    active = show(tandem, state)["active_bank"]
    sc = state / f"flash/bank{active}/sc"
    if damage == "flip":
        data = bytearray(sc.read_bytes())
        data[SC_SIZE - 3] ^= 0x40  # in the last chunk
        sc.write_bytes(bytes(data))
        why = "reads back with a sha256 that differs"
    elif damage == "truncate":
        os.truncate(sc, SC_SIZE - 1)
        why = f"is {SC_SIZE - 1} bytes, the signed manifest says {SC_SIZE}"
    else:
        sc.unlink()
        why = "is missing"
    out = tmp / "bad.tar"
    r = tandem("flash", "export", state, "-o", out)
    assert r.returncode == 44, r.stderr
    assert f"sc in bank {active} {why}" in r.stderr
    assert not out.exists() and not (tmp / "bad.tar.tmp").exists()
    # On a stream the bad member is never completed: what went out is
    # cut short inside sc, and a receiver sees a truncated bundle.
    s = export_stdout(state)
    assert s.returncode == 44
    assert len(s.stdout) < SC_SIZE
    part = tmp / "part.tar"
    part.write_bytes(s.stdout)
    assert verify(tandem, tmp, part).returncode != 0


def test_empty_store_has_nothing_to_export(tmp_path, tandem):
    state = tmp_path / "a"
    assert tandem("flash", "init", state).returncode == 0
    r = tandem("flash", "export", state, "-o", tmp_path / "x.tar")
    assert r.returncode == 50
    assert "holds no bundle" in r.stderr
    assert not (tmp_path / "x.tar").exists()


def test_export_refused_while_install_runs(installed, tandem):
    tmp, state, _ = installed
    holder = subprocess.Popen(["flock", "-x", str(state / "flash/lock"),
                               "sleep", "30"])
    try:
        for _ in range(50):
            if subprocess.run(["flock", "-n", str(state / "flash/lock"),
                               "true"]).returncode != 0:
                break
            subprocess.run(["sleep", "0.1"])
        r = tandem("flash", "export", state, "-o", tmp / "x.tar")
        assert r.returncode == 46 and "install is writing" in r.stderr
    finally:
        holder.kill()
        holder.wait()


def test_export_usage(installed, tandem):
    _, state, _ = installed
    assert tandem("flash", "export", state).returncode == 2
