"""A tandemd with FTP enabled on free loopback ports, signed bundles for it,
and what the firmware is: shared by the FTP system tests."""
import json
import os
import re
import select
import signal
import subprocess
import time

from conftest import program

MANAGE = ("manage", "!manage")
MONITOR = ("monitor", "!monitor")
RESTART = 75          # tandemd's exit status asking to be started again


class Controller:
    """tandemd for one controller; its listener ports read from stdout."""

    def __init__(self, state, keys, *extra, faults=None,
                 want=("ftp", "ssh")):
        self.state, self.keys, self.extra = state, keys, extra
        self.want = want
        self.env = dict(os.environ)
        self.env.pop("TANDEM_FAULTS", None)
        if faults:
            self.env["TANDEM_FAULTS"] = faults
        self.start()

    def start(self):
        self.proc = subprocess.Popen(
            [program("tandemd"), "--state", str(self.state),
             "--address", "127.0.0.1", "--ssh-port", "0", "--sftp-port", "0",
             "--telnet-port", "0", "--ftp-port", "0", "--http-port", "0",
             "--https-port", "0", "--simulator",
             "--keys", str(self.keys), "--enable", "ftp", *self.extra],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, env=self.env)
        self.ports, pending = {}, b""
        deadline = time.monotonic() + 20
        while any(p not in self.ports for p in self.want):
            left = deadline - time.monotonic()
            if left <= 0:
                self.proc.kill()    # no daemon outlives a failed start
                self.proc.wait()
            assert left > 0, "tandemd did not open %s" % " and ".join(
                self.want)
            r, _, _ = select.select([self.proc.stdout], [], [], left)
            if not r:
                continue
            data = os.read(self.proc.stdout.fileno(), 4096)
            assert data, "tandemd exited: %s" % self.proc.stderr.read()
            pending += data
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                m = re.match(rb"^(\w+) listening on [\d.]+:(\d+)$", line)
                if m:
                    self.ports[m.group(1).decode()] = int(m.group(2))

    @property
    def ftp(self):
        return self.ports["ftp"]

    def wait_exit(self, timeout=20):
        rc = self.proc.wait(timeout=timeout)
        self.check_stderr()
        return rc

    def check_stderr(self):
        err = self.proc.stderr.read().decode(errors="replace")
        # Sanitizer builds: any finding fails the test that ran.
        assert "runtime error" not in err and "Sanitizer" not in err, err

    def restart_after_load(self):
        """A successful load restarts the MC: tandemd exits 75 and, as a
        supervisor would, we start it again."""
        assert self.wait_exit() == RESTART
        self.start()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            assert self.proc.wait(timeout=20) in (0, RESTART)
            self.check_stderr()

    def firmware(self):
        """The flash store's view: bundle version and each image's sha256."""
        r = subprocess.run([program("tandem"), "flash", "show", "--json",
                            str(self.state)], capture_output=True, text=True,
                           check=True)
        st = json.loads(r.stdout)
        return st["bundle_version"], {c["name"]: c["sha256"]
                                      for c in st["components"]}

    def ssh(self, command):
        r = subprocess.run(
            ["sshpass", "-p", MANAGE[1], "ssh", "-p", str(self.ports["ssh"]),
             "-o", "StrictHostKeyChecking=no",
             "-o", "UserKnownHostsFile=/proc/self/no-known-hosts",
             "-o", "LogLevel=error", "-o", "PubkeyAuthentication=no",
             "%s@127.0.0.1" % MANAGE[0], command],
            capture_output=True, text=True, timeout=30)
        return r


class Bundles:
    """Signed bundles for model 2324sa, made with `tandem bundle`."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.keys = tmp / "keys"
        subprocess.run([program("tandem"), "bundle", "keygen", "--out",
                        self.keys], check=True, capture_output=True)

    def make(self, version, size=300_000, model="2324sa", key=None):
        # One file per content: the same version with another size is
        # another bundle (same version, other content).
        out = self.tmp / ("%s-%s%s.bundle" % (
            version, model, "" if size == 300_000 else "-%d" % size))
        if out.exists():
            return out
        mc = self.tmp / ("mc-%s.bin" % version)
        sc = self.tmp / ("sc-%s.bin" % version)
        mc.write_bytes(b"#!/bin/sh\nexit 0\n")
        sc.write_bytes((version.encode() * (size // len(version) + 1))[:size])
        subprocess.run([program("tandem"), "bundle", "create", "--key",
                        key or self.keys / "bundle.key", "--version", version,
                        "--model", model,
                        "--component", "mc=M%s:%s" % (version[-3:], mc),
                        "--component", "sc=S%s:%s" % (version[-3:], sc),
                        "-o", out], check=True, capture_output=True)
        return out
