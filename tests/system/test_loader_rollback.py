"""tandem-loader: boots the active bank's executable MC image, counts trial
boots, rolls back after 3 unconfirmed ones and says why."""
import os

from conftest import program
from flash_helpers import bundle, boot, install, mc_script, show
import subprocess


def test_mc_that_never_confirms_is_rolled_back(tmp_path, tandem):
    state = tmp_path / "a"
    assert tandem("flash", "init", state).returncode == 0
    v1 = bundle(tmp_path, tandem, "TS250P001", {
        "mc": ("M1", mc_script(tmp_path / "mc1", "v1")),
        "sc": ("S1", os.urandom(5000))})
    v2 = bundle(tmp_path, tandem, "TS250P002", {
        "mc": ("M2", mc_script(tmp_path / "mc2", "v2", confirm=False)),
        "sc": ("S2", os.urandom(5000))})
    assert install(tandem, state, v1).returncode == 0
    b = boot(state)
    assert b.returncode == 0 and "mc v1 started" in b.stdout
    assert install(tandem, state, v2).returncode == 0
    for n in range(1, 4):
        b = boot(state)
        assert b.returncode == 3 and "mc v2 started" in b.stdout
        s = show(tandem, state)
        assert s["trial"] and s["boot_count"] == n
        assert s["bundle_version"] == "TS250P002"
    b = boot(state)
    assert b.returncode == 0, b.stderr
    assert "mc v1 started" in b.stdout
    assert "rolled back to bank 1 (bundle TS250P001)" in b.stderr
    s = show(tandem, state)
    assert s["bundle_version"] == "TS250P001" and not s["trial"]
    assert {c["name"]: c["version"] for c in s["components"]}["sc"] == "S1"
    assert "bank 0 (bundle TS250P002) started 3 times without confirming" \
        in s["last_result"]
    assert tandem("flash", "check", state).returncode == 0


def test_confirmed_bank_stays(tmp_path, tandem):
    state = tmp_path / "a"
    tandem("flash", "init", state)
    v1 = bundle(tmp_path, tandem, "TS250P001", {
        "mc": ("M1", mc_script(tmp_path / "mc1", "v1"))})
    assert install(tandem, state, v1).returncode == 0
    for _ in range(5):
        b = boot(state)
        assert b.returncode == 0 and "mc v1 started" in b.stdout
    s = show(tandem, state)
    assert not s["trial"] and s["last_result"] == ""


def test_args_and_daemon_fallback(tmp_path, tandem):
    state = tmp_path / "a"
    tandem("flash", "init", state)
    d = tmp_path / "fake-tandemd"
    d.write_text('#!/bin/sh\necho "daemon $TANDEM_BOOT_BANK $*"\n')
    d.chmod(0o755)
    loader = program("tandem-loader")
    r = subprocess.run([loader, "--daemon", d, state, "--", "-f", "x"],
                       capture_output=True, text=True, timeout=30)
    assert r.stdout.strip() == "daemon 0 -f x", r.stderr
    # A bundle without an executable MC image boots the daemon too.
    nb = bundle(tmp_path, tandem, "TS250P001", {"sc": ("S1", b"abc")},
                executable=None)
    assert install(tandem, state, nb).returncode == 0
    r = subprocess.run([loader, "--daemon", d, state],
                       capture_output=True, text=True, timeout=30)
    assert r.stdout.strip() == "daemon 1", r.stderr
    assert show(tandem, state)["boot_count"] == 1


def test_missing_store_starts_daemon_damaged_store_does_not(tmp_path):
    d = tmp_path / "fake-tandemd"
    d.write_text("#!/bin/sh\necho daemon\n")
    d.chmod(0o755)
    loader = program("tandem-loader")
    r = subprocess.run([loader, "--daemon", d, tmp_path / "none"],
                       capture_output=True, text=True, timeout=30)
    assert r.stdout.strip() == "daemon"
    (tmp_path / "bad/flash").mkdir(parents=True)
    (tmp_path / "bad/flash/bootrec.0").write_bytes(b"garbage")
    r = subprocess.run([loader, "--daemon", d, tmp_path / "bad"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and r.stdout == ""
    assert "neither boot record is valid" in r.stderr
