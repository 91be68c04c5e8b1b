"""The loader with the real MC: a bundle whose MC image fails to start is
rolled back after 3 boots, and the tandemd of the previous bank then runs
the previous versions and says why in its event log."""
import os
import pathlib
import re
import select
import signal
import subprocess
import time

from conftest import program
from flash_helpers import bundle, init_store, install, show

# The MC image is tandemd itself: a block bank needs room for it.
BLOCK_BANK = 16 << 20


def ssh_port(d):
    """The ssh port a starting tandemd prints."""
    out, deadline = b"", time.monotonic() + 30
    while True:
        assert time.monotonic() < deadline, out
        r, _, _ = select.select([d.stdout], [], [], 1)
        if r:
            chunk = os.read(d.stdout.fileno(), 4096)
            assert chunk, d.stderr.read()
            out += chunk
            m = re.search(rb"^ssh listening on [\d.]+:(\d+)$", out, re.M)
            if m:
                return int(m.group(1))


def ssh_command(port, text):
    """One command over stock ssh as manage; its output."""
    return subprocess.run(
        ["sshpass", "-p", "!manage", "ssh", "-p", str(port),
         "-o", "StrictHostKeyChecking=no",
         "-o", "UserKnownHostsFile=/proc/self/no-known-hosts",
         "-o", "LogLevel=error", "-o", "PubkeyAuthentication=no",
         "manage@127.0.0.1", text],
        capture_output=True, text=True, timeout=30).stdout


def test_broken_mc_rolled_back_and_reported(tmp_path, tandem):
    broken_mc_rolled_back(tmp_path, tandem, "dir")


def test_block_broken_mc_rolled_back_and_reported(tmp_path, tandem):
    broken_mc_rolled_back(tmp_path, tandem, "block")


def broken_mc_rolled_back(tmp_path, tandem, backend):
    state = tmp_path / "a"
    assert init_store(tandem, state, backend,
                      bank_bytes=BLOCK_BANK).returncode == 0
    broken = tmp_path / "broken-mc"
    broken.write_text("#!/bin/sh\necho 'mc cannot start' >&2\nexit 3\n")
    v1 = bundle(tmp_path, tandem, "TS250P001", {
        "mc": ("M1", pathlib.Path(program("tandemd"))),
        "sc": ("S1", os.urandom(4000))})
    v2 = bundle(tmp_path, tandem, "TS250P002", {
        "mc": ("M2", broken), "sc": ("S2", os.urandom(4000))})
    assert install(tandem, state, v1).returncode == 0
    assert tandem("flash", "confirm", state).returncode == 0
    assert install(tandem, state, v2).returncode == 0

    argv = [program("tandem-loader"), str(state), "--", "--state", str(state),
            "--address", "127.0.0.1", "--ssh-port", "0", "--sftp-port", "0",
            "--telnet-port", "0", "--ftp-port", "0", "--http-port", "0",
             "--https-port", "0", "--simulator"]
    for n in range(1, 4):
        r = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        assert r.returncode == 3 and "mc cannot start" in r.stderr
        assert show(tandem, state)["boot_count"] == n

    d = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        port = ssh_port(d)
        v = ssh_command(port, "show versions")
        assert "Bundle Version: TS250P001" in v, v
        ev = ssh_command(port, "show events")
        assert re.search(r"CRITICAL MC loader: .*rollback: bank \d \(bundle "
                         r"TS250P002\) started 3 times without confirming",
                         ev), ev
    finally:
        d.send_signal(signal.SIGTERM)
        assert d.wait(timeout=20) == 0
    s = show(tandem, state)
    assert s["bundle_version"] == "TS250P001" and not s["trial"]


def test_status_follows_an_offline_install_beside_the_daemon(tmp_path,
                                                             tandem):
    """tandemd keeps the store's status between commands; `tandem flash`
    run beside it (install, confirm) shows at the next command."""
    status_follows(tmp_path, tandem, "dir")


def test_block_status_follows_an_offline_install_beside_the_daemon(
        tmp_path, tandem):
    status_follows(tmp_path, tandem, "block")


def status_follows(tmp_path, tandem, backend):
    state = tmp_path / "a"
    assert init_store(tandem, state, backend).returncode == 0
    v = {n: bundle(tmp_path, tandem, n, {"mc": ("M" + n[-1], b"mc" + n.encode()),
                                         "sc": ("S" + n[-1], os.urandom(4000))},
                   executable=None)
         for n in ("TS250P001", "TS250P002")}
    assert install(tandem, state, v["TS250P001"]).returncode == 0
    assert tandem("flash", "confirm", state).returncode == 0
    d = subprocess.Popen(
        [program("tandemd"), "--state", str(state), "--address", "127.0.0.1",
         "--ssh-port", "0", "--sftp-port", "0", "--telnet-port", "0",
         "--ftp-port", "0", "--http-port", "0",
             "--https-port", "0", "--simulator"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        port = ssh_port(d)

        def command(text):
            return ssh_command(port, text)

        assert "Bundle Version: TS250P001" in command("show versions")
        assert install(tandem, state, v["TS250P002"]).returncode == 0
        out = command("show versions")
        assert "Bundle Version: TS250P002" in out, out
        assert "on trial" in command("show controllers")
        assert tandem("flash", "confirm", state).returncode == 0
        assert "on trial" not in command("show controllers")
    finally:
        d.send_signal(signal.SIGTERM)
        assert d.wait(timeout=30) == 0
