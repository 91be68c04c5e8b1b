"""An enclosure as the operator drives it, for the system tests that run
`tandem enclosure up` on their own loopback addresses and high ports: the
layout, the CLI over OpenSSH, inetutils ftp fed a script on stdin, OpenSSH
sftp in batch mode, the serial console on a pty, and the event log."""
import os
import pty
import re
import select
import signal
import subprocess
import threading
import time

from conftest import program

MANAGE = ("manage", "!manage")
SSH_OPTS = ["-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/proc/self/no-known-hosts",
            "-o", "LogLevel=error",
            "-o", "PubkeyAuthentication=no"]


def wait_for(fn, timeout=60, what="a state"):
    """fn() until it is true; errors from a controller still restarting
    (connection refused, a client's timeout) count as not yet."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            r = fn()
            if r:
                return r
        except (OSError, subprocess.SubprocessError):
            pass
        assert time.monotonic() < deadline, "timed out waiting for " + what
        time.sleep(0.3)


_enclosures_made = 0


def own_addresses(first):
    """Two loopback addresses of this run's own in 127.first.x/24 (Linux
    routes all of 127/8 to lo), so neither the family's addresses nor
    another test file's enclosure are in the way."""
    global _enclosures_made
    n = os.getpid()
    # Each enclosure of the run its own pair too: one still shutting down
    # (or left by a failed test) must not answer the next one's link.
    _enclosures_made += 1
    net = "127.%d.%d" % (first + n % 20,
                         (n // 20 + 37 * _enclosures_made) % 256)
    return net + ".2", net + ".3"


def tandem(*args, **kw):
    return subprocess.run([program("tandem"), *map(str, args)],
                          capture_output=True, text=True, timeout=120, **kw)


class Enclosure:
    """`tandem enclosure up` in DIR, stopped with SIGINT as Ctrl-C does."""

    def __init__(self, tmp, addresses, port_base, faults=()):
        self.dir = tmp / "enc"
        self.tmp = tmp
        self.uplog = tmp / "up.log"
        args = []
        for f in faults:
            args += ["--faults", f]
        with open(self.uplog, "w") as log:
            self.proc = subprocess.Popen(
                [program("tandem"), "enclosure", "up", "--dir", self.dir,
                 "--addresses", ",".join(addresses), "--port-base",
                 str(port_base), *args],
                stdout=log, stderr=subprocess.STDOUT)
        try:
            self._wait_up()
        except BaseException:
            # A test that never gets the enclosure must not leave it
            # running for the next one.
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
            raise

    def _wait_up(self):
        wait_for(lambda: "Both controllers are up" in self.uplog.read_text(),
                 what="the enclosure to come up")
        self.ports = {}
        for line in (self.dir / "run" / "layout").read_text().splitlines():
            ctl, svc, addr, port = line.split()
            self.ports[(ctl, svc)] = (addr, int(port))
        # "Both controllers are up" is their listeners; the partner link
        # connects a moment later, and a load refuses until it has.
        for ctl in "ab":
            wait_for(lambda: "Other MC Status: Operational" in
                     self.cli(ctl, "show system"),
                     what="controller %s to see its partner" % ctl)

    def stop(self):
        self.proc.send_signal(signal.SIGINT)
        assert self.proc.wait(timeout=30) == 0
        text = self.uplog.read_text()
        assert "enclosure stopped" in text
        # Sanitizer builds: a finding in either controller fails the test.
        for ctl in "ab":
            log = self.dir / "run" / ("%s.log" % ctl)
            body = log.read_text(errors="replace") if log.exists() else ""
            for bad in ("runtime error", "Sanitizer"):
                assert bad not in body and bad not in text, (ctl, bad)

    def bundle(self, name):
        return self.dir / "bundles" / ("%s.bundle" % name)

    def cli(self, ctl, command):
        """One CLI command over OpenSSH; the reply's text."""
        addr, port = self.ports[(ctl, "ssh")]
        r = subprocess.run(
            ["sshpass", "-p", MANAGE[1], "ssh", "-p", str(port), *SSH_OPTS,
             "%s@%s" % (MANAGE[0], addr), command],
            capture_output=True, text=True, timeout=30)
        return r.stdout + r.stderr

    def ftp_put(self, ctl, path, target="flash"):
        """inetutils ftp as an operator's script drives it: `ftp -inv`, the
        commands on stdin. Its exit status is 0 whatever the server said,
        so the caller reads the replies."""
        addr, port = self.ports[(ctl, "ftp")]
        script = ("open %s %d\nuser %s \"%s\"\nbinary\nput %s %s\nbye\n" %
                  (addr, port, MANAGE[0], MANAGE[1], path, target))
        r = subprocess.run(["ftp", "-inv"], input=script, capture_output=True,
                           text=True, timeout=180, cwd=self.tmp)
        assert r.returncode == 0, r.stdout + r.stderr
        return r.stdout + r.stderr

    def sftp_get(self, ctl, remote):
        """`get REMOTE` with OpenSSH sftp in batch mode; the file's text,
        or None when the get failed."""
        addr, port = self.ports[(ctl, "sftp")]
        stamp = "%s-%d-%d" % (ctl, threading.get_ident(),
                              time.monotonic_ns())
        local = self.tmp / ("got-" + stamp)
        batch = self.tmp / ("batch-" + stamp)
        batch.write_text("get %s %s\n" % (remote, local))
        # sftp -b turns BatchMode on, which forbids passwords; sshpass
        # needs it off.
        r = subprocess.run(
            ["sshpass", "-p", MANAGE[1], "sftp", *SSH_OPTS,
             "-o", "BatchMode=no", "-P", str(port), "-b", str(batch),
             "%s@%s" % (MANAGE[0], addr)],
            capture_output=True, text=True, timeout=60)
        batch.unlink()
        if r.returncode != 0 or not local.exists():
            return None
        text = local.read_text()
        local.unlink()
        return text

    def events(self, ctl):
        """`show events` on ctl: both controllers' events, newest first."""
        return self.cli(ctl, "show events")

    def pid(self, ctl):
        return int((self.dir / "run" / ("%s.pid" % ctl)).read_text())

    def fault(self, ctl, spec):
        r = tandem("enclosure", "fault", "--dir", self.dir, ctl, spec)
        assert r.returncode == 0, r.stdout + r.stderr
        return r.stdout


def controller_section(text, ctl):
    """Controller ctl's own block of `show versions` (both are listed)."""
    m = re.search(r"^Controller %s Versions\n-+\n((?:.+\n)+)" % ctl.upper(),
                  text, re.M)
    return m.group(1) if m else ""


def versions(enc, on, of):
    """{display name: value} of controller `of` as `show versions` on `on`
    reports it."""
    block = controller_section(enc.cli(on, "show versions"), of)
    return dict(line.split(": ", 1) for line in block.splitlines()
                if ": " in line)


class Console:
    """`tandem enclosure console` on a pty, as a terminal user runs it."""

    def __init__(self, d, ctl):
        self.master, slave = pty.openpty()
        self.p = subprocess.Popen([program("tandem"), "enclosure", "console",
                                   "--dir", d, ctl],
                                  stdin=slave, stdout=slave, stderr=slave)
        os.close(slave)
        self.buf = b""
        self.expect("Ctrl-] detaches]")

    def send(self, text):
        os.write(self.master, text.encode())

    def expect(self, text, timeout=60):
        want = text.encode()
        deadline = time.monotonic() + timeout
        while want not in self.buf:
            left = deadline - time.monotonic()
            assert left > 0, "no %r in %r" % (text, self.buf[-600:])
            if select.select([self.master], [], [], left)[0]:
                try:
                    self.buf += os.read(self.master, 4096)
                except OSError:
                    assert False, "console ended: %r" % self.buf[-600:]
        i = self.buf.index(want) + len(want)
        seen, self.buf = self.buf[:i], self.buf[i:]
        return seen.decode(errors="replace")

    def login(self):
        self.send("\r")
        self.expect("login: ")
        self.send("%s\r" % MANAGE[0])
        self.expect("Password: ")
        self.send("%s\r" % MANAGE[1])
        self.expect("# ")

    def run(self, command):
        self.send(command + "\r")
        return self.expect("# ")

    def detach(self):
        self.send("\x1d")
        assert self.p.wait(timeout=10) == 0
        os.close(self.master)
