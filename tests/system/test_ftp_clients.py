"""Firmware over FTP with four stock clients against a running tandemd:
curl -T, lftp, Python's ftplib and inetutils ftp typed into a pty as an
operator would. Each installs a bundle; the controller restarts into it and
`show versions` reports it. Passive and active data connections both."""
import ftplib
import os
import pty
import re
import select
import subprocess
import time

import pytest

from ftp_helpers import MANAGE


def installed(ctl, version):
    """After the load the MC restarts; the new one runs `version`."""
    ctl.restart_after_load()
    assert ctl.firmware()[0] == version
    r = ctl.ssh("show versions")
    assert r.returncode == 0, r.stderr
    assert "Bundle Version: %s" % version in r.stdout


@pytest.mark.parametrize("mode", ["passive", "active"])
def test_curl_upload(ctl, bundles, mode):
    b = bundles.make("TS250P002")
    args = ["curl", "-sS", "-v", "-T", str(b),
            "ftp://manage:%%21manage@127.0.0.1:%d/flash" % ctl.ftp]
    if mode == "active":
        args[1:1] = ["-P", "127.0.0.1"]
    r = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    # curl -v shows the server's replies: the whole code load is there.
    assert "< 226-File Transfer Complete. Starting Operation:" in r.stderr
    assert "Codeload completed successfully." in r.stderr
    assert "RETURN_CODE: 9" in r.stderr
    assert ("EPRT" if mode == "active" else "EPSV") in r.stderr
    installed(ctl, "TS250P002")


@pytest.mark.parametrize("mode", ["on", "off"])
def test_lftp_upload(ctl, bundles, mode):
    b = bundles.make("TS250P003")
    script = ("set ftp:passive-mode %s; set net:max-retries 1; "
              "put %s -o flash; bye" % (mode, b))
    r = subprocess.run(["lftp", "-u", "%s,%s" % MANAGE, "-p", str(ctl.ftp),
                        "-e", script, "127.0.0.1"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    installed(ctl, "TS250P003")


@pytest.mark.parametrize("passive", [True, False])
def test_ftplib_upload_reply(ctl, bundles, passive):
    b = bundles.make("TS250P004")
    f = ftplib.FTP()
    f.connect("127.0.0.1", ctl.ftp, timeout=60)
    welcome = f.login(*MANAGE)
    # The instructions come with the login, as the family's server does.
    assert "put <bundle file> flash" in welcome
    f.set_pasv(passive)
    with open(b, "rb") as fh:
        reply = f.storbinary("STOR flash", fh)
    assert reply.startswith("226")
    assert "Controller A current bundle: none, loading bundle TS250P004" \
        in reply
    assert "Codeload completed successfully." in reply
    assert "RETURN_CODE: 9" in reply
    assert "Restarting Management Controller..." in reply
    f.quit()
    installed(ctl, "TS250P004")


# ftp's prompt at the start of a line (readline may first switch on
# bracketed paste); the login text's "  ftp> put ..." lines never match.
PROMPT = r"(?:\n|\x1b\[\?2004h)ftp> "


class Terminal:
    """A program in a pty, answered at its prompts."""

    def __init__(self, argv):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            try:
                os.execvp(argv[0], argv)
            finally:
                os._exit(127)
        self.seen = b""

    def expect(self, pattern, timeout=60):
        deadline = time.monotonic() + timeout
        rx = re.compile(pattern.encode())
        while not rx.search(self.seen):
            left = deadline - time.monotonic()
            assert left > 0, "no %r in %r" % (pattern, self.seen)
            r, _, _ = select.select([self.fd], [], [], left)
            if r:
                try:
                    data = os.read(self.fd, 4096)
                except OSError:
                    data = b""
                assert data, "EOF before %r in %r" % (pattern, self.seen)
                self.seen += data
        m = rx.search(self.seen)
        out, self.seen = self.seen[:m.end()], self.seen[m.end():]
        return out.decode(errors="replace")

    def send(self, line):
        os.write(self.fd, line.encode() + b"\r")

    def wait(self, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r, _, _ = select.select([self.fd], [], [], 0.1)
            if r:
                try:
                    if os.read(self.fd, 4096):
                        continue
                except OSError:
                    pass
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                os.close(self.fd)
                return os.waitstatus_to_exitcode(status)
        raise AssertionError("ftp did not exit")


@pytest.mark.parametrize("passive", [False, True])
def test_inetutils_ftp_typed_by_an_operator(ctl, bundles, passive):
    b = bundles.make("TS250P005")
    t = Terminal(["ftp", "127.0.0.1", str(ctl.ftp)])
    t.expect(r"Name \([^)]*\): ")
    t.send(MANAGE[0])
    t.expect(r"Password:")
    t.send(MANAGE[1])
    assert "230 Login successful." in t.expect(PROMPT)
    if passive:
        t.send("passive")
        assert "Passive mode on" in t.expect(PROMPT)
    t.send("put %s flash:force" % b)
    out = t.expect(PROMPT)
    assert "226-File Transfer Complete. Starting Operation:" in out
    assert "Codeload completed successfully." in out
    assert ("227 Entering Passive Mode" in out) == passive
    t.send("quit")
    assert t.wait() == 0
    installed(ctl, "TS250P005")
