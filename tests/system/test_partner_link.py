"""The partner link between two real tandemd processes, as `tandem enclosure
init` provisions them: B listens (--link-port 0), A dials (--partner). Each
controller's `show events` holds both controllers' events; an enclosure
setting changed on one holds on the other, also when it was changed while
the other was stopped; a wrong enclosure key gets no link, an event on B,
and B goes on serving; a partner that stops answering is reported down."""
import os
import re
import select
import signal
import subprocess
import time

import pytest

from conftest import program

MANAGE = ("manage", "!manage")
HEARTBEAT_MS = "100"


def wait_for(fn, timeout=30, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        r = fn()
        if r:
            return r
        assert time.monotonic() < deadline, "timed out waiting for " + what
        time.sleep(0.1)


class Tandemd:
    """One controller's tandemd; its listeners' ports read from stdout."""

    def __init__(self, enc, ctl, *extra):
        self.enc, self.ctl, self.extra = enc, ctl, extra
        self.start()

    def start(self):
        env = dict(os.environ)
        env.pop("TANDEM_FAULTS", None)
        self.proc = subprocess.Popen(
            [program("tandemd"), "--state", str(self.enc / self.ctl),
             "--controller", self.ctl, "--address", "127.0.0.1",
             "--ssh-port", "0", "--sftp-port", "0", "--telnet-port", "0",
             "--ftp-port", "0", "--http-port", "0",
             "--https-port", "0", "--simulator", "--heartbeat-ms",
             HEARTBEAT_MS, *self.extra],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, env=env)
        want = {"ssh", "link"} if self.ctl == "b" else {"ssh"}
        self.ports, pending = {}, b""
        deadline = time.monotonic() + 20
        while not want <= set(self.ports):
            left = deadline - time.monotonic()
            assert left > 0, "tandemd %s did not open %s" % (self.ctl, want)
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

    def ssh(self, command):
        return subprocess.run(
            ["sshpass", "-p", MANAGE[1], "ssh", "-p", str(self.ports["ssh"]),
             "-o", "StrictHostKeyChecking=no",
             "-o", "UserKnownHostsFile=/proc/self/no-known-hosts",
             "-o", "LogLevel=error",
             "-o", "PubkeyAuthentication=no", "%s@127.0.0.1" % MANAGE[0],
             command], capture_output=True, text=True, timeout=30).stdout

    def events(self):
        return self.ssh("show events")

    def pfu_setting(self):
        m = re.search(r"^Partner Firmware Upgrade: (\w+)",
                      self.ssh("show advanced-settings"), re.M)
        return m and m.group(1)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.send_signal(signal.SIGTERM)
            assert self.proc.wait(timeout=20) == 0
        err = self.proc.stderr.read().decode(errors="replace")
        assert "runtime error" not in err and "Sanitizer" not in err, err


@pytest.fixture
def enc(tmp_path):
    d = tmp_path / "enc"
    subprocess.run([program("tandem"), "enclosure", "init", str(d)],
                   check=True, capture_output=True)
    return d


@pytest.fixture
def pair(enc):
    running = []

    def start(ctl, *extra):
        key = ["--enclosure-key", str(enc / "enclosure.key")]
        if ctl == "b":
            t = Tandemd(enc, "b", "--link-port", "0", *key, *extra)
        else:
            b = next(r for r in running if r.ctl == "b")
            t = Tandemd(enc, "a", "--partner",
                        "127.0.0.1:%d" % b.ports["link"], *key, *extra)
        running.append(t)
        return t

    yield start
    for t in running:
        t.stop()


def test_events_of_both_controllers_on_each(pair):
    b = pair("b")
    a = pair("a")
    wait_for(lambda: "Partner controller B is up" in a.events(),
             what="A to see B")
    wait_for(lambda: "Partner controller A is up" in b.events(),
             what="B to see A")
    # Each log holds the other's events, numbered by their origin.
    ev_a = wait_for(lambda: (lambda t: "#B" in t and t)(a.events()),
                    what="B's events on A")
    assert re.search(r"#B\d+: .*Controller B INFORMATIONAL Management "
                     r"controller B started", ev_a), ev_a
    assert re.search(r"#A\d+: .*Controller A INFORMATIONAL Management "
                     r"controller A started", ev_a), ev_a
    ev_b = wait_for(lambda: (lambda t: re.search(
        r"#A\d+: .*Management controller A started", t) and t)(b.events()),
        what="A's events on B")
    assert re.search(r"#A\d+: .*Partner controller B is up", ev_b), ev_b
    # Forwarded events are stored once and not sent back: each origin
    # event appears once in each log.
    for log in (a.events(), b.events()):
        ids = re.findall(r"#([AB]\d+):", log)
        assert len(ids) == len(set(ids)), log


def test_setting_changed_on_b_holds_on_a(pair):
    b = pair("b")
    a = pair("a")
    wait_for(lambda: "Partner controller B is up" in a.events())
    assert a.pfu_setting() == "Enabled"
    out = b.ssh("set advanced-settings partner-firmware-upgrade disabled")
    assert "Success" in out, out
    wait_for(lambda: a.pfu_setting() == "Disabled", what="the mirror")
    assert "mirrored from the partner" in a.events()
    # A protocol switch takes effect on the partner as a local change
    # would: A opens its FTP listener.
    assert "ftp" not in a.ports
    out = b.ssh("set protocols ftp enabled")
    assert "Success" in out, out
    wait_for(lambda: "ftp: Enabled" in a.ssh("show protocols").replace(
        "File Transfer Protocol (FTP)", "ftp"), what="ftp on A")
    # Back on A: B takes it too, and nothing loops back.
    out = a.ssh("set advanced-settings partner-firmware-upgrade enabled")
    assert "Success" in out, out
    wait_for(lambda: b.pfu_setting() == "Enabled", what="the mirror to B")
    assert a.pfu_setting() == "Enabled"
    changes = re.findall(r"Setting 'partner-firmware-upgrade' was set",
                         a.events())
    assert len(changes) == 4, a.events()    # 2 changes x 2 controllers


def test_change_while_a_is_stopped_reaches_a(pair):
    b = pair("b")
    a = pair("a")
    wait_for(lambda: "Partner controller A is up" in b.events())
    a.stop()
    wait_for(lambda: "Partner controller A is down" in b.events(),
             what="B to see A go")
    out = b.ssh("set advanced-settings partner-firmware-upgrade disabled")
    assert "Success" in out, out
    # Events carry whole seconds: A comes back in a later one than B's.
    now = int(time.time())
    wait_for(lambda: int(time.time()) > now, what="the next second")
    a.start()
    wait_for(lambda: a.pfu_setting() == "Disabled", what="the change")
    # What B logged while A was away reached A when it came back.
    ev = wait_for(lambda: (lambda t: "Partner controller A is down" in t
                           and t)(a.events()), what="B's events on A")
    assert re.search(r"#B\d+: .*Partner controller A is down", ev), ev
    # Listed by time, newest first: A's restart is above what B logged
    # before it, although B's event was stored on A after it.
    assert ev.index("Management controller A started") < \
        ev.index("Partner controller A is down"), ev
    # A's own older value did not win back on B.
    assert b.pfu_setting() == "Disabled"


def test_wrong_key_gets_no_link(pair, tmp_path):
    b = pair("b")
    wrong = tmp_path / "wrong.key"
    wrong.write_text("ab" * 32 + "\n")
    wrong.chmod(0o600)
    a = pair("a", "--enclosure-key", str(wrong))
    ev = wait_for(lambda: (lambda t: "Partner link refused" in t and t)(
        b.events()), what="B's refusal event")
    assert re.search(r"WARNING Partner link refused: 127\.0\.0\.1: .*"
                     r"handshake failed", ev), ev
    # B keeps serving, and the link never came up on either side.
    assert "Bundle Version: TS250P001" in b.ssh("show versions")
    assert "Partner controller" not in a.events()
    assert "Partner controller" not in b.events()


def test_partner_that_stops_answering_is_down(pair):
    b = pair("b")
    a = pair("a")
    wait_for(lambda: "Partner controller B is up" in a.events())
    # Stopped, not closed: only the missed heartbeats can tell.
    b.proc.send_signal(signal.SIGSTOP)
    ev = wait_for(lambda: (lambda t: "Partner controller B is down" in t
                           and t)(a.events()), what="A to see B down")
    assert re.search(r"#A\d+: .*WARNING Partner controller B is down: ",
                     ev), ev
    b.proc.send_signal(signal.SIGCONT)
    wait_for(lambda: a.events().count("Partner controller B is up") == 2,
             what="the link to return")
