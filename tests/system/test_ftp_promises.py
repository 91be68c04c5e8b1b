"""What docs/ftp.md promises and no other test exercised, spoken as raw
protocol bytes to the real tandemd (and with ftplib where a client's view
matters): SYST before login, AUTH TLS refused, three wrong passwords close
the connection, the session limit, 552 when the flash is full, 450 while
the active bank is on trial and while the MC is restarting. Each time the
firmware is checked unchanged where nothing may change."""
import ftplib
import socket
import subprocess
import time

from conftest import program
from ftp_helpers import MANAGE, Controller

FTP_SESSIONS_MAX = 8          # src/ftp/ftp.h
FTP_LOGIN_TRIES_MAX = 3


class Raw:
    """One control connection, read reply by reply with a deadline."""

    def __init__(self, port, timeout=10):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout)
        self.sock.settimeout(timeout)
        self.pending = b""

    def reply(self):
        """The next complete reply (multi-line replies joined), or b"" at
        the end of the connection."""
        lines = []
        while True:
            while b"\r\n" not in self.pending:
                data = self.sock.recv(4096)
                if not data:
                    assert not lines and not self.pending, self.pending
                    return b""
                self.pending += data
            line, self.pending = self.pending.split(b"\r\n", 1)
            lines.append(line)
            if len(line) >= 4 and line[:3].isdigit() and line[3:4] == b" " \
                    and (len(lines) == 1 or line[:3] == lines[0][:3]):
                return b"\n".join(lines)

    def send(self, line):
        self.sock.sendall(line.encode() + b"\r\n")
        return self.reply()

    def closed(self):
        """True once the server has closed the connection."""
        return self.reply() == b""

    def close(self):
        self.sock.close()


def load(ctl, path, target="flash", f=None):
    """STOR over ftplib: (True, 226 text) or (False, error text)."""
    own = f is None
    if own:
        f = ftplib.FTP()
        f.connect("127.0.0.1", ctl.ftp, timeout=60)
        f.login(*MANAGE)
    try:
        with open(path, "rb") as fh:
            return True, f.storbinary("STOR " + target, fh)
    except ftplib.all_errors as e:
        return False, str(e)
    finally:
        if own:
            f.close()


def test_syst_before_login_and_auth_tls_refused(ctl):
    r = Raw(ctl.ftp)
    assert r.reply().startswith(b"220 ")
    # Clients ask SYST before USER and switch to binary only on this.
    assert r.send("SYST") == b"215 UNIX Type: L8"
    reply = r.send("AUTH TLS")
    assert reply.startswith(b"534 TLS is not offered here"), reply
    # The session goes on in plain FTP.
    assert r.send("USER manage").startswith(b"331 ")
    assert r.send("PASS !manage").startswith(b"230")
    assert r.send("QUIT").startswith(b"221 ")
    r.close()
    # A client that insists on TLS gives up instead of sending a password.
    c = subprocess.run(["curl", "-sS", "--ssl-reqd", "-T", "/dev/null",
                        "ftp://manage:%%21manage@127.0.0.1:%d/flash" % ctl.ftp],
                       capture_output=True, text=True, timeout=30)
    assert c.returncode == 64, c.stderr        # CURLE_USE_SSL_FAILED
    assert ctl.firmware()[0] == ""


def test_three_wrong_passwords_close_the_connection(ctl):
    r = Raw(ctl.ftp)
    assert r.reply().startswith(b"220 ")
    for n in range(1, FTP_LOGIN_TRIES_MAX + 1):
        assert r.send("USER manage").startswith(b"331 ")
        reply = r.send("PASS wrong-%d" % n)
        if n < FTP_LOGIN_TRIES_MAX:
            assert reply.startswith(b"530 Login incorrect."), reply
    assert reply.startswith(b"421 Login incorrect. Too many failures"), reply
    assert r.closed()
    r.close()
    # Other connections are not affected (no lockout after 3 failures).
    f = ftplib.FTP()
    f.connect("127.0.0.1", ctl.ftp, timeout=30)
    assert f.login(*MANAGE).startswith("230")
    f.quit()


def logged_in(port):
    r = Raw(port)
    assert r.reply().startswith(b"220 ")
    assert r.send("USER %s" % MANAGE[0]).startswith(b"331 ")
    assert r.send("PASS %s" % MANAGE[1]).startswith(b"230")
    return r


def test_session_limit(ctl):
    """8 sessions logged in: the next is told 421 and closed. (Sessions
    not logged in would be cut to make room: test_admission.py.)"""
    socks = []
    try:
        for _ in range(FTP_SESSIONS_MAX):
            socks.append(logged_in(ctl.ftp))
        extra = Raw(ctl.ftp)
        reply = extra.reply()
        assert reply.startswith(b"421 Too many FTP sessions"), reply
        assert extra.closed()
        extra.close()
        # A slot frees when a session ends: wait for it with a deadline.
        assert socks.pop().send("QUIT").startswith(b"221 ")
        deadline = time.monotonic() + 10
        while True:
            r = Raw(ctl.ftp)
            reply = r.reply()
            if reply.startswith(b"220 "):
                r.close()
                break
            assert reply.startswith(b"421 "), reply
            r.close()
            assert time.monotonic() < deadline, "no slot freed"
            time.sleep(0.05)
    finally:
        for r in socks:
            r.close()


def test_552_when_the_flash_is_full(tmp_path, bundles):
    ctl = Controller(tmp_path / "full", bundles.keys, faults="enospc=sc")
    try:
        before = ctl.firmware()
        ok, text = load(ctl, bundles.make("TS250P003"))
        assert not ok and text.startswith("552"), text
        assert "No space left on device" in text, text
        assert ctl.firmware() == before
        assert ctl.proc.poll() is None
    finally:
        ctl.stop()


def test_450_while_on_trial_then_while_restarting(ctl, bundles):
    # An install beside the running controller (`tandem flash install`)
    # leaves its active bank on trial until the MC restarts into it.
    r = subprocess.run([program("tandem"), "flash", "install", ctl.state,
                        bundles.make("TS250P003"), "--pubkey",
                        bundles.keys / "bundle.pub"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    trial = ctl.firmware()
    assert trial[0] == "TS250P003"
    ok, text = load(ctl, bundles.make("TS250P004"))
    assert not ok and text.startswith("450"), text
    assert "on trial" in text, text
    assert ctl.firmware() == trial
    # The restart confirms TS250P003; a load then activates TS250P004 and
    # schedules a restart, after which the same session is refused 450.
    ctl.stop()
    ctl.start()
    f = ftplib.FTP()
    f.connect("127.0.0.1", ctl.ftp, timeout=60)
    f.login(*MANAGE)
    ok, text = load(ctl, bundles.make("TS250P004"), f=f)
    assert ok and "Codeload completed successfully." in text, text
    loaded = ctl.firmware()
    ok, text = load(ctl, bundles.make("TS250P005"), f=f)
    assert not ok and text.startswith("450"), text
    assert "The management controller is restarting" in text, text
    assert ctl.firmware() == loaded
    f.close()
    ctl.restart_after_load()
    assert ctl.firmware()[0] == "TS250P004"
