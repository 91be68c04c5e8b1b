"""What FTP refuses, each time checking both the reply and that the
controller's firmware did not change: commands before login, other names
and paths, reading, the monitor role, bad bundles, an older version without
force, a second upload while one runs, a client that vanishes mid-upload,
data connections to another host, and a flash write error."""
import ftplib
import re
import socket
import subprocess
import time

import pytest

from conftest import program
from ftp_helpers import MANAGE, MONITOR, Controller


def login(ctl, user=MANAGE):
    f = ftplib.FTP()
    f.connect("127.0.0.1", ctl.ftp, timeout=60)
    f.login(*user)
    return f


def load(ctl, path, target="flash"):
    """STOR over ftplib: (True, 226 text) or (False, error text)."""
    f = login(ctl)
    try:
        with open(path, "rb") as fh:
            return True, f.storbinary("STOR " + target, fh)
    except ftplib.all_errors as e:
        return False, str(e)
    finally:
        try:
            f.quit()
        except ftplib.all_errors:
            pass


@pytest.fixture
def ctl(tmp_path, bundles):
    """A controller running TS250P003, confirmed after its restart."""
    c = Controller(tmp_path / "a", bundles.keys)
    ok, text = load(c, bundles.make("TS250P003"))
    assert ok, text
    c.restart_after_load()
    before = c.firmware()
    assert before[0] == "TS250P003"
    c.before = before
    yield c
    c.stop()


def unchanged(ctl):
    assert ctl.proc.poll() is None, "tandemd stopped"
    assert ctl.firmware() == ctl.before


def restarts_scheduled(ctl):
    """How many MC restarts the event log holds: each one is logged (event
    1009) as it is scheduled, before its delay runs."""
    r = ctl.ssh("show events")
    assert r.returncode == 0, r.stderr
    return len(re.findall(r"Management controller A restarting in", r.stdout))


def wait_idle(ctl, timeout=20):
    """Until no code load runs (show firmware-update-status)."""
    deadline = time.monotonic() + timeout
    while True:
        r = ctl.ssh("show firmware-update-status")
        assert r.returncode == 0, r.stderr
        if re.search(r"Activity: none\n", r.stdout):
            return
        assert time.monotonic() < deadline, r.stdout
        time.sleep(0.1)


def test_commands_before_login_get_530(ctl):
    f = ftplib.FTP()
    f.connect("127.0.0.1", ctl.ftp, timeout=30)
    for cmd in ("PASV", "STOR flash", "RETR flash", "LIST", "CWD /"):
        with pytest.raises(ftplib.error_perm, match="^530"):
            f.sendcmd(cmd)
    f.close()
    unchanged(ctl)


@pytest.mark.parametrize("name", ["firmware", "../flash", "/flash/../x",
                                  "/tmp/flash", "flash:bogus", "flash/x"])
def test_other_names_refused(ctl, bundles, name):
    ok, text = load(ctl, bundles.make("TS250P009"), name)
    assert not ok and text.startswith("553"), text
    unchanged(ctl)


@pytest.mark.parametrize("cmd", ["RETR flash", "DELE flash", "MKD x",
                                 "RMD x", "RNFR flash", "SIZE flash",
                                 "APPE flash", "SITE CHMOD 777 flash"])
def test_reading_and_changing_files_refused(ctl, cmd):
    f = login(ctl)
    with pytest.raises(ftplib.error_perm, match="^5"):
        f.sendcmd(cmd)
    f.quit()
    unchanged(ctl)


def test_monitor_may_not_flash(ctl):
    # The family's monitor user has no FTP interface: refused at login.
    with pytest.raises(ftplib.error_perm, match="^530 .*interface"):
        login(ctl, MONITOR)
    unchanged(ctl)


def test_user_without_manage_role_may_not_flash(ctl, bundles):
    r = ctl.ssh("create user password Viewer-2026 roles monitor "
                "interfaces ftp viewer")
    assert r.returncode == 0, r.stdout
    f = login(ctl, ("viewer", "Viewer-2026"))
    with pytest.raises(ftplib.error_perm, match="^550 Permission denied"):
        with open(bundles.make("TS250P009"), "rb") as fh:
            f.storbinary("STOR flash", fh)
    f.quit()
    unchanged(ctl)


def test_truncated_bundle(ctl, bundles, tmp_path):
    data = bundles.make("TS250P009").read_bytes()
    cut = tmp_path / "cut.bundle"
    cut.write_bytes(data[:len(data) - 5000])
    ok, text = load(ctl, cut)
    assert not ok and text.startswith("554"), text
    assert "truncated" in text.lower()
    unchanged(ctl)


def test_tampered_bundle(ctl, bundles, tmp_path):
    data = bytearray(bundles.make("TS250P009").read_bytes())
    data[len(data) // 2] ^= 0x10
    bad = tmp_path / "bad.bundle"
    bad.write_bytes(bytes(data))
    ok, text = load(ctl, bad)
    assert not ok and text.startswith("554"), text
    assert "sha256" in text
    unchanged(ctl)


def test_wrong_model(ctl, bundles):
    ok, text = load(ctl, bundles.make("TS250P009", model="2312fc"))
    assert not ok and text.startswith("554"), text
    assert "2324sa" in text and "2312fc" in text
    unchanged(ctl)


def test_unknown_signing_key(ctl, bundles, tmp_path):
    other = tmp_path / "other"
    subprocess.run([program("tandem"), "bundle", "keygen", "--out", other],
                   check=True, capture_output=True)
    b = bundles.make("TS250P010", key=other / "bundle.key")
    ok, text = load(ctl, b)
    assert not ok and text.startswith("554"), text
    assert "key" in text
    unchanged(ctl)


def test_older_needs_force_then_loads(ctl, bundles):
    old = bundles.make("TS250P001")
    ok, text = load(ctl, old)
    assert not ok and text.startswith("554"), text
    assert "flash:force" in text
    unchanged(ctl)
    ok, text = load(ctl, old, "flash:force")
    assert ok and "Codeload completed successfully." in text, text
    ctl.restart_after_load()
    assert ctl.firmware()[0] == "TS250P001"
    ctl.before = ctl.firmware()


def test_same_version_other_content_needs_force(ctl, bundles):
    """TS250P003 with other component bytes is not the installed bundle:
    554 without flash:force, saying why; loaded with it."""
    twin = bundles.make("TS250P003", size=300_001)
    assert twin.name != bundles.make("TS250P003").name
    ok, text = load(ctl, twin)
    assert not ok and text.startswith("554"), text
    assert ("bundle TS250P003 has the installed version but different "
            "content") in text, text
    unchanged(ctl)
    ok, text = load(ctl, twin, "flash:force")
    assert ok and "Codeload completed successfully." in text, text
    ctl.restart_after_load()
    assert ctl.firmware()[0] == "TS250P003"
    ctl.before = ctl.firmware()


def test_same_version_is_a_successful_noop(ctl, bundles):
    b = bundles.make("TS250P003")
    restarts = restarts_scheduled(ctl)      # the fixture's own load's
    assert restarts >= 1
    f = login(ctl)
    for _ in range(2):
        # A restart would be scheduled as the reply is sent, before the
        # session reads its next command: the second STOR would then be
        # refused with 450 "restarting". Both are the same no-op instead.
        with open(b, "rb") as fh:
            text = f.storbinary("STOR flash", fh)
        assert "Not attempted (Versions match)" in text, text
        assert "RETURN_CODE: 8" in text
    f.quit()
    assert restarts_scheduled(ctl) == restarts
    unchanged(ctl)


def pasv_port(f):
    host, port = ftplib.parse227(f.sendcmd("PASV"))
    return port


def test_second_upload_busy_and_vanishing_client(ctl, bundles):
    data = bundles.make("TS250P011", size=2_000_000).read_bytes()
    first = login(ctl)
    first.sendcmd("TYPE I")
    dsock = socket.create_connection(("127.0.0.1", pasv_port(first)))
    first.sock.sendall(b"STOR flash\r\n")
    assert first.getresp().startswith("150")
    dsock.sendall(data[:len(data) // 2])
    # The code load began before the 150: the second is refused at once.
    ok, text = load(ctl, bundles.make("TS250P012"))
    assert not ok and text.startswith("450"), text
    assert "already in progress" in text
    # The first client vanishes mid-upload: both connections just close.
    dsock.close()
    first.sock.close()
    wait_idle(ctl)
    unchanged(ctl)
    ok, text = load(ctl, bundles.make("TS250P012"))
    assert ok and "Codeload completed successfully." in text, text
    ctl.restart_after_load()
    assert ctl.firmware()[0] == "TS250P012"


@pytest.mark.parametrize("cmd", ["PORT 10,0,0,9,200,10",
                                 "EPRT |1|127.0.0.2|51000|",
                                 "EPRT |2|::1|51000|"])
def test_data_connection_only_to_the_control_peer(ctl, cmd):
    f = login(ctl)
    with pytest.raises(ftplib.error_perm, match="^50"):
        f.sendcmd(cmd)
    f.quit()
    unchanged(ctl)


@pytest.mark.parametrize("fault, says", [
    ("write-error=sc", "sc"),
    # the image is read back once it has arrived whole: a bit the flash
    # flipped is still found and named
    ("corrupt=sc", "read-back of sc failed"),
])
def test_flash_fault_keeps_the_active_bank(tmp_path, bundles, fault, says):
    ctl = Controller(tmp_path / "w", bundles.keys)
    ok, text = load(ctl, bundles.make("TS250P003"))
    assert ok, text
    assert ctl.wait_exit() == 75
    ctl.env["TANDEM_FAULTS"] = fault
    ctl.start()
    ctl.before = ctl.firmware()
    try:
        ok, text = load(ctl, bundles.make("TS250P013"))
        assert not ok and text.startswith("551"), text
        assert says in text, text
        unchanged(ctl)
    finally:
        ctl.stop()


def test_disabled_ftp_refuses_connections(ctl):
    r = ctl.ssh("set protocols ftp disabled")
    assert r.returncode == 0 and "Success" in r.stdout, r.stdout
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", ctl.ftp), timeout=5)
    r = ctl.ssh("set protocols ftp enabled")
    assert r.returncode == 0, r.stdout
    login(ctl).quit()
    unchanged(ctl)
