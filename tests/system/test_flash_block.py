"""The flash store's block backend through the programs (docs/flash.md
"Storage backends"): `tandem flash`, tandem-loader and tandemd open a block
store by its state dir alone. On files standing in for partitions, and, as
root with loop devices, on loop devices: install, a read-back failure that
changes nothing, export, the loader's trial rollback, `check` of a damaged
bank; tandemd's storage options make the store or refuse a different one."""
import json
import os
import shutil
import subprocess

import pytest

from conftest import program
from flash_helpers import bundle, boot, faults, init_store, install, \
    mc_script, show
from test_transport_shell import Tandemd

EXIT_READBACK = 44
EXIT_CORRUPT = 49


def loop_available():
    return (os.geteuid() == 0 and os.path.exists("/dev/loop-control")
            and shutil.which("losetup") is not None
            and subprocess.run(["losetup", "-f"], capture_output=True)
            .returncode == 0)


@pytest.fixture(params=["files", "loop"])
def devices(request, tmp_path):
    """Paths of bank 0, bank 1 and the boot records; their backing files."""
    backing = []
    for name, size in (("bank0", 4 << 20), ("bank1", 4 << 20),
                       ("bootrec", 64 << 10)):
        p = tmp_path / f"part-{name}"
        with open(p, "wb") as f:
            f.truncate(size)
        backing.append(p)
    if request.param == "files":
        yield [str(p) for p in backing], backing
        return
    if not loop_available():
        pytest.skip("loop devices need root, /dev/loop-control, losetup "
                    "and a free loop device")
    devs = []
    try:
        for p in backing:
            devs.append(subprocess.run(
                ["losetup", "--find", "--show", str(p)], check=True,
                capture_output=True, text=True).stdout.strip())
        yield devs, backing
    finally:
        for d in devs:
            subprocess.run(["losetup", "-d", d])


def storage_args(devs):
    return ["--storage", "block", "--storage-bank0", devs[0],
            "--storage-bank1", devs[1], "--storage-bootrec", devs[2]]


def versions(s):
    return {c["name"]: c["version"] for c in s["components"]}


def test_install_readback_export_rollback(tmp_path, tandem, devices):
    devs, _ = devices
    state = tmp_path / "a"
    r = tandem("flash", "init", state, *storage_args(devs))
    assert r.returncode == 0, r.stderr
    stored = json.loads((state / "flash" / "storage.json").read_text())
    assert stored == {"backend": "block", "bank0": devs[0],
                      "bank1": devs[1], "bootrec": devs[2]}
    assert not (state / "flash" / "bank0").exists()
    v1 = bundle(tmp_path, tandem, "TS250P001", {
        "mc": ("M1", mc_script(tmp_path / "mc1", "v1")),
        "sc": ("S1", os.urandom(300000)),
        "same": ("K1", b"kept" * 5000)})
    v2 = bundle(tmp_path, tandem, "TS250P002", {
        "mc": ("M2", mc_script(tmp_path / "mc2", "v2")),
        "sc": ("S2", os.urandom(300000)),
        "same": ("K1", tmp_path / "same-K1.bin")})
    v3 = bundle(tmp_path, tandem, "TS250P003", {
        "mc": ("M3", mc_script(tmp_path / "mc3", "v3", confirm=False)),
        "sc": ("S3", os.urandom(300000)),
        "same": ("K1", tmp_path / "same-K1.bin")})
    assert install(tandem, state, v1).returncode == 0
    b = boot(state)
    assert b.returncode == 0 and "mc v1 started" in b.stdout, b.stderr

    # A bit flipped on its way to the device: caught, nothing changes.
    r = install(tandem, state, v2, env=faults("corrupt=sc"))
    assert r.returncode == EXIT_READBACK, r.stderr
    assert "read-back of sc failed" in r.stderr
    assert show(tandem, state)["bundle_version"] == "TS250P001"
    assert boot(state).returncode == 0

    r = install(tandem, state, v2)
    assert r.returncode == 0, r.stderr
    assert "same         K1               skipped" in r.stdout
    b = boot(state)
    assert b.returncode == 0 and "mc v2 started" in b.stdout, b.stderr
    s = show(tandem, state)
    assert versions(s)["sc"] == "S2" and s["previous_version"] == "TS250P001"

    # The export is the signed bundle again.
    out = tmp_path / "export.tar"
    assert tandem("flash", "export", state, "-o", out).returncode == 0
    r = tandem("bundle", "verify", "--pubkey",
               tmp_path / "keys" / "bundle.pub", out)
    assert r.returncode == 0, r.stderr

    # A bank whose MC never confirms: three boots, then the loader rolls
    # back to v2 and says so.
    assert install(tandem, state, v3).returncode == 0
    for n in range(1, 4):
        b = boot(state)
        assert b.returncode == 3 and "mc v3 started" in b.stdout
    b = boot(state)
    assert b.returncode == 0 and "mc v2 started" in b.stdout, b.stderr
    s = show(tandem, state)
    assert s["bundle_version"] == "TS250P002" and not s["trial"]
    assert "started 3 times without confirming" in s["last_result"]
    c = tandem("flash", "check", state)
    assert c.returncode == 0, c.stdout


def test_check_finds_a_damaged_active_image(tmp_path, tandem, devices):
    devs, backing = devices
    state = tmp_path / "a"
    assert tandem("flash", "init", state, *storage_args(devs)).returncode \
        == 0
    v1 = bundle(tmp_path, tandem, "TS250P001", {
        "mc": ("M1", mc_script(tmp_path / "mc1", "v1")),
        "sc": ("S1", b"\x11" * 100000)})
    assert install(tandem, state, v1).returncode == 0
    bank = show(tandem, state)["active_bank"]
    # sc's data lies in the middle of the active bank's partition.
    with open(devs[bank], "r+b") as f:
        data = f.read(1 << 20)
        at = data.index(b"\x11" * 4096) + 100
        f.seek(at)
        f.write(b"\x12")
    c = tandem("flash", "check", state)
    assert c.returncode == EXIT_CORRUPT, c.stdout
    assert "sc" in c.stdout and "FAILED" in c.stdout


def test_tandemd_storage_options(tmp_path, devices):
    devs, _ = devices
    state = tmp_path / "a"
    tandemd = program("tandemd")

    def run(*args):
        return subprocess.run([tandemd, "--state", state, "-n", *args],
                              capture_output=True, text=True, timeout=60)

    r = run(*storage_args(devs))
    assert r.returncode == 0, r.stderr
    # -n checks and makes nothing; a real start makes the store.
    assert not (state / "flash" / "storage.json").exists()
    d = Tandemd(state, *storage_args(devs))
    assert d.stop() == 0
    assert (state / "flash" / "storage.json").exists()
    assert run(*storage_args(devs)).returncode == 0
    assert run().returncode == 0      # as the store was made
    r = run("--storage", "dir")
    assert r.returncode == 1
    assert "was made with --storage block" in r.stderr
    r = run(*storage_args([devs[0], devs[0], devs[2]]))
    assert r.returncode == 1 and "not --storage block" in r.stderr
    r = run("--storage-bank0", devs[0])
    assert r.returncode == 1 and "is for --storage block" in r.stderr
    r = run("--storage", "nand")
    assert r.returncode == 2 and "dir or block" in r.stderr


def test_new_store_refusals(tmp_path, tandem):
    """Three partitions, each large enough: else nothing is made."""
    state = tmp_path / "a"
    for name, size in (("b0", 4 << 20), ("b1", 4096), ("br", 64 << 10)):
        with open(tmp_path / name, "wb") as f:
            f.truncate(size)
    args = ["--storage", "block", "--storage-bank0", tmp_path / "b0",
            "--storage-bootrec", tmp_path / "br"]
    r = tandem("flash", "init", state, *args, "--storage-bank1",
               tmp_path / "b1")
    assert r.returncode == 40 + 11, r.stderr
    assert "too small for bank 1" in r.stderr
    r = tandem("flash", "init", state, *args, "--storage-bank1",
               tmp_path / "b0")
    assert "are the same device" in r.stderr
    r = tandem("flash", "init", state, *args)
    assert r.returncode == 40 + 11 and "needs --storage-bank1" in r.stderr
    assert not (state / "flash" / "storage.json").exists()


def test_dir_store_untouched_by_block_options(tmp_path, tandem):
    """A dir store is never turned into a block one."""
    state = tmp_path / "a"
    assert init_store(tandem, state).returncode == 0
    r = init_store(tandem, state, "block")
    assert r.returncode != 0
    assert "was made with --storage dir" in r.stderr
    assert (state / "flash" / "bootrec.0").exists() or \
        (state / "flash" / "bootrec.1").exists()
    assert not (state / "flash" / "storage.json").exists()


def test_bundle_larger_than_the_bank_refused(tmp_path, tandem):
    """ENOSPC before the bank is touched: the active bank stays."""
    state = tmp_path / "a"
    assert init_store(tandem, state, "block",
                      bank_bytes=1 << 20).returncode == 0
    v1 = bundle(tmp_path, tandem, "TS250P001", {
        "mc": ("M1", mc_script(tmp_path / "mc1", "v1"))})
    v2 = bundle(tmp_path, tandem, "TS250P002", {
        "mc": ("M2", mc_script(tmp_path / "mc2", "v2")),
        "sc": ("S2", os.urandom(2 << 20))})
    assert install(tandem, state, v1).returncode == 0
    assert boot(state).returncode == 0
    r = install(tandem, state, v2)
    assert r.returncode == 40 + 2, r.stderr
    assert "bytes of bank" in r.stderr and "parts/bank" in r.stderr
    s = show(tandem, state)
    assert s["bundle_version"] == "TS250P001" and not s["trial"]
    assert tandem("flash", "check", state).returncode == 0


def ftp_load(ctl, path):
    """STOR flash over ftplib: (True, 226 text) or (False, error text)."""
    import ftplib
    from ftp_helpers import MANAGE
    f = ftplib.FTP()
    f.connect("127.0.0.1", ctl.ftp, timeout=60)
    f.login(*MANAGE)
    try:
        with open(path, "rb") as fh:
            return True, f.storbinary("STOR flash", fh)
    except ftplib.all_errors as e:
        return False, str(e)
    finally:
        f.close()


def test_ftp_loads_into_a_block_store(tmp_path, bundles, devices):
    """tandemd on a block store: the update engine installs a load over
    FTP, a corrupted write is refused with the active bank kept, and the
    restart runs the new bundle."""
    from ftp_helpers import Controller
    devs, _ = devices
    state = tmp_path / "a"
    ctl = Controller(state, bundles.keys, *storage_args(devs),
                     faults="corrupt=sc")
    try:
        before = ctl.firmware()
        ok, text = ftp_load(ctl, bundles.make("TS250P003"))
        assert not ok and text.startswith("5"), text
        assert ctl.firmware() == before
        ctl.stop()
        ctl.env.pop("TANDEM_FAULTS")
        ctl.start()
        ok, text = ftp_load(ctl, bundles.make("TS250P003"))
        assert ok and "Codeload completed successfully." in text, text
        ctl.restart_after_load()
        assert ctl.firmware()[0] == "TS250P003"
        assert json.loads((state / "flash" / "storage.json").read_text())[
            "backend"] == "block"
    finally:
        ctl.stop()
