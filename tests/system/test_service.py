"""tandemd under a service manager, as the built tandem.service runs it
(systemd is not PID 1 here, so the test plays it, from the unit file's own
rules): Type=notify readiness (READY=1 only once the listeners are open),
WATCHDOG=1 pings from the event loop, a watchdog that expires (the MC
frozen) gets SIGABRT and a restart, an exit 75 (MC restart) a restart, an
exit 0 (shutdown) none; and with stderr as the journal's stream
(JOURNAL_STREAM) every diagnostic line carries its syslog priority.
docs/integration.md ("Service") is the contract checked here."""
import os
import re
import signal
import socket
import subprocess
import threading
import time

import pytest

from conftest import BUILD, program
from test_transport_shell import ssh_run

WATCHDOG_USEC = 1_000_000       # the unit's 30 s, shortened
MANAGE = ("manage", "Tandem!svc1")


def wait_for(fn, timeout=120, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        r = fn()
        if r:
            return r
        assert time.monotonic() < deadline, "timed out waiting for " + what
        time.sleep(0.1)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def unit_service(path):
    out, section = {}, None
    for line in open(path):
        line = line.strip()
        if line.startswith("["):
            section = line
        elif section == "[Service]" and "=" in line and \
                not line.startswith("#"):
            k, v = line.split("=", 1)
            out[k] = v
    return out


class Manager:
    """systemd's part for one service: the notify socket, the watchdog
    (armed at READY=1; SIGABRT, then SIGCONT as systemd sends it, on a
    missed ping), and
    Restart=on-failure with RestartForceExitStatus/RestartPreventExitStatus
    from the unit."""

    def __init__(self, tmp, argv, unit):
        assert unit["Type"] == "notify" and unit["NotifyAccess"] == "main"
        assert unit["Restart"] == "on-failure"
        assert "WatchdogSec" in unit
        self.force = {int(x) for x in unit["RestartForceExitStatus"].split()}
        self.prevent = {int(x) for x in
                        unit.get("RestartPreventExitStatus", "").split()}
        self.argv = argv
        self.log = tmp / "service.log"
        self.sock_path = str(tmp / "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.sock_path)
        self.sock.settimeout(0.05)
        self.lock = threading.Lock()
        self.events = []        # (start number, message or "exit N")
        self.exits = []
        self.starts = 0
        self.proc = None
        self.last_ping = None
        self.stopping = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def note(self, what):
        with self.lock:
            self.events.append((self.starts, what))

    def spawn(self):
        log = open(self.log, "a")
        st = os.fstat(log.fileno())
        env = dict(os.environ, NOTIFY_SOCKET=self.sock_path,
                   WATCHDOG_USEC=str(WATCHDOG_USEC),
                   JOURNAL_STREAM="%d:%d" % (st.st_dev, st.st_ino))
        env.pop("TANDEM_FAULTS", None)

        def no_core():
            import resource
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                     stdout=log, stderr=log, env=env,
                                     preexec_fn=no_core)
        log.close()
        # As systemd: WATCHDOG_PID would be this pid; the loader's exec
        # keeps it, so the MC's pings come from the main process. The
        # watchdog is armed once start-up is complete (READY=1).
        with self.lock:
            self.starts += 1
            self.last_ping = None

    def run(self):
        self.spawn()
        while True:
            try:
                msg = self.sock.recv(4096).decode()
                self.note(msg)
                if "WATCHDOG=1" in msg or "READY=1" in msg:
                    with self.lock:
                        self.last_ping = time.monotonic()
            except socket.timeout:
                pass
            rc = self.proc.poll()
            if rc is None:
                if self.last_ping is not None and \
                        time.monotonic() - self.last_ping > \
                        WATCHDOG_USEC / 1e6:
                    self.note("watchdog expired")
                    self.proc.send_signal(signal.SIGABRT)
                    self.proc.send_signal(signal.SIGCONT)
                    with self.lock:
                        self.last_ping = time.monotonic() + 30
                continue
            self.exits.append(rc)
            self.note("exit %d" % rc)
            if self.stopping or rc in self.prevent or \
                    (rc == 0 and rc not in self.force):
                return
            self.spawn()

    def seen(self, what, start=None):
        with self.lock:
            return [n for n, m in self.events
                    if what in m and (start is None or n == start)]

    def stop(self):
        self.stopping = True
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        self.thread.join(timeout=60)
        self.sock.close()

    def log_text(self):
        return self.log.read_text(errors="replace")


@pytest.fixture
def service(tmp_path):
    unit_path = BUILD / "tandem.service"
    assert unit_path.exists(), "%s: meson makes it" % unit_path
    unit = unit_service(unit_path)
    if unit["Type"] != "notify":
        pytest.skip("built without libsystemd (-Dsystemd=disabled)")
    state = tmp_path / "state"
    ssh = free_port()
    argv = [program("tandem-loader"), "--daemon", program("tandemd"),
            str(state), "--", "--state", str(state), "--address",
            "127.0.0.1", "--ssh-port", str(ssh), "--disable", "sftp",
            "--disable", "https", "--user", "%s:%s:manage" % MANAGE]
    m = Manager(tmp_path, argv, unit)
    m.ssh_port = ssh
    yield m
    m.stop()


def test_readiness_watchdog_restarts_and_journal_levels(service):
    m = service
    # READY=1 comes once the listener is open: its line is already out.
    wait_for(lambda: m.seen("READY=1", 1), what="READY=1")
    assert "ssh listening on 127.0.0.1:%d" % m.ssh_port in m.log_text()
    assert m.seen("STATUS=Controller A serving on 127.0.0.1", 1)
    # The event loop pings at half the interval.
    wait_for(lambda: len(m.seen("WATCHDOG=1", 1)) >= 4, what="pings")

    # Exit 75 (restart mc): RestartForceExitStatus starts it again.
    r = ssh_run(m.ssh_port, *MANAGE, "restart mc a noprompt")
    assert r.returncode == 0, r.stdout + r.stderr
    wait_for(lambda: m.seen("READY=1", 2), what="READY=1 after exit 75")
    assert m.exits == [75], m.exits
    assert m.seen("STOPPING=1", 1)

    # A frozen MC stops pinging: the watchdog's SIGABRT ends it and
    # Restart=on-failure starts it again.
    os.kill(m.proc.pid, signal.SIGSTOP)
    wait_for(lambda: m.seen("watchdog expired", 2), what="expiry")
    wait_for(lambda: m.seen("READY=1", 3), what="READY=1 after the watchdog")
    assert m.exits == [75, -signal.SIGABRT], m.exits

    # A shutdown (exit 0) is not restarted.
    r = ssh_run(m.ssh_port, *MANAGE, "shutdown a noprompt")
    assert r.returncode == 0, r.stdout + r.stderr
    wait_for(lambda: m.exits[-1:] == [0], what="exit 0")
    m.thread.join(timeout=30)
    assert not m.thread.is_alive() and m.starts == 3

    # The journal's stream: every line from the loader and the MC starts
    # with its priority (the listeners' lines on stdout carry none).
    log = m.log_text()
    diag = [ln for ln in log.splitlines()
            if re.match(r"(<\d>)?tandem(d|-loader): ", ln)]
    assert diag and all(re.match(r"<[346]>", ln) for ln in diag), diag
    assert any(ln.startswith("<6>tandem-loader: ") for ln in diag)
    assert any(ln.startswith("<6>tandemd: watchdog: pinging every 500 ms")
               for ln in diag), diag


def test_without_a_service_manager(tmp_path):
    """Without a manager (no NOTIFY_SOCKET) tandemd runs as before and
    says nothing about one."""
    state = tmp_path / "state"
    env = dict(os.environ)
    for k in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "JOURNAL_STREAM"):
        env.pop(k, None)
    p = subprocess.Popen([program("tandemd"), "--state", str(state),
                          "--address", "127.0.0.1", "--ssh-port", "0",
                          "--disable", "sftp", "--disable", "https"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True, env=env)
    out = ""
    while "ssh listening on" not in out:
        line = p.stdout.readline()
        assert line, out
        out += line
    p.send_signal(signal.SIGTERM)
    out += p.communicate(timeout=60)[0]
    assert p.returncode == 0, out
    assert "service manager" not in out and "watchdog" not in out, out
    assert not re.search(r"^<\d>", out, re.M), out
