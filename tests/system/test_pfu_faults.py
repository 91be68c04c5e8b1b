"""PFU under faults, on a running `tandem enclosure up`: A loads TS250P002
from an operator and pushes it to B while the partner link drops mid
transfer, B's power is cut mid-flash, B's MC is killed again and again, or
A's MC is killed mid-attempt. Whatever happens, the pair converges or halts
within the attempt limit, never makes more attempts than the limit, never
updates in both directions (B never pushes to A), and each controller ends
with a bootable bank and a running MC. After a halt, `rollback firmware` on
A (or pfu-auto-rollback by itself) brings the pair back to matching."""
import ftplib
import os
import re
import signal
import subprocess
import time

import pytest

from conftest import program

OLD, NEW = "TS250P001", "TS250P002"
LIMIT = 3


def wait_for(fn, timeout=120, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        r = fn()
        if r:
            return r
        assert time.monotonic() < deadline, "timed out waiting for " + what
        time.sleep(0.3)


def tandem(*args, **kw):
    return subprocess.run([program("tandem"), *map(str, args)],
                          capture_output=True, text=True, timeout=180, **kw)


def own_addresses():
    """Loopback addresses of this run's own, apart from other tests'."""
    n = os.getpid()
    net = "127.%d.%d" % (150 + n % 50, (n // 50) % 256)
    return net + ".2", net + ".3"


class Enclosure:
    def __init__(self, d, uplog):
        self.d, self.uplog = d, uplog
        self.ports = {}
        for line in (d / "run" / "layout").read_text().splitlines():
            ctl, svc, addr, port = line.split()
            self.ports[(ctl, svc)] = (addr, int(port))

    def cli(self, ctl, *commands):
        """Commands typed on the controller's serial console."""
        # Logged out at the end: a serial console stays logged in.
        text = "\nmanage\n!manage\n" + "".join(c + "\n" for c in commands) \
            + "exit\n"
        r = tandem("enclosure", "console", "--dir", self.d, ctl, input=text)
        assert r.returncode == 0, r.stderr
        return r.stdout

    def fault(self, ctl, spec):
        r = tandem("enclosure", "fault", "--dir", self.d, ctl, spec)
        assert r.returncode == 0, r.stderr
        return r.stdout

    def log(self, ctl):
        """The controller's tandemd log, all of it (rotated files too)."""
        run = self.d / "run"
        return "".join((run / n).read_text(errors="replace")
                       for n in ("%s.log.2" % ctl, "%s.log.1" % ctl,
                                 "%s.log" % ctl) if (run / n).exists())

    def event_file(self, ctl):
        """The controller's own event log, read from its state directory
        (works while its MC is off)."""
        d = self.d / ctl
        return "".join((d / n).read_text(errors="replace")
                       for n in ("events.log.1", "events.log")
                       if (d / n).exists())

    def events(self, ctl):
        return self.cli(ctl, "show events last 1000 both")

    def pid(self, ctl):
        try:
            return int((self.d / "run" / ("%s.pid" % ctl)).read_text())
        except (FileNotFoundError, ValueError):
            return None

    def running(self, ctl):
        pid = self.pid(ctl)
        if not pid:
            return False
        try:
            stat = open("/proc/%d/stat" % pid).read()
        except FileNotFoundError:
            return False
        return stat.rsplit(")", 1)[1].split()[0] != "Z"

    def bundle(self, ctl):
        """The bundle of the controller's active bank, from its flash."""
        r = tandem("flash", "show", self.d / ctl)
        m = re.search(r"^Bundle Version: (\S+)", r.stdout, re.M)
        return m and m.group(1)

    def status(self):
        return tandem("enclosure", "status", self.d).stdout

    def pfu_line(self, ctl):
        m = re.search(r"^controller %s:.*?^  PFU: (.*)$" % ctl.upper(),
                      self.status(), re.M | re.S)
        return m and m.group(1)

    def load(self, ctl, name):
        addr, port = self.ports[(ctl, "ftp")]
        f = ftplib.FTP()
        f.connect(addr, port, timeout=120)
        f.login("manage", "!manage")
        try:
            with open(self.d / "bundles" / name, "rb") as fh:
                return f.storbinary("STOR flash", fh)
        finally:
            f.close()


@pytest.fixture
def enclosure(tmp_path):
    d = tmp_path / "enc"
    uplog = tmp_path / "up.log"
    a, b = own_addresses()
    started = []

    def up(*faults):
        args = [program("tandem"), "enclosure", "up", "--dir", d,
                "--addresses", "%s,%s" % (a, b), "--port-base", "43000"]
        for f in faults:
            args += ["--faults", f]
        with open(uplog, "w") as log:
            p = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        started.append(p)
        wait_for(lambda: "Both controllers are up" in uplog.read_text(),
                 what="the enclosure")
        e = Enclosure(d, uplog)
        # A takes the operator's load over FTP.
        assert "Success" in e.cli("a", "set protocols ftp enabled")
        return e

    yield up
    for p in started:
        p.send_signal(signal.SIGINT)
        assert p.wait(timeout=60) == 0
    # Each controller's stderr (sanitizer reports at exit too) is in its
    # log; the enclosure's own in up.log.
    for path in [uplog, d / "run" / "a.log", d / "run" / "b.log"]:
        text = path.read_text(errors="replace") if path.exists() else ""
        assert "runtime error" not in text and "Sanitizer" not in text, \
            (path, text[-3000:])


def attempts(e):
    """A's attempt count for NEW, from its records (0 when none)."""
    line = e.pfu_line("a") or ""
    m = re.search(r"(\d+) attempts?", line)
    return int(m.group(1)) if m else 0


def check_end_state(e):
    """Each controller has a bootable bank and a running MC; nothing was
    ever pushed from B to A."""
    for ctl in ("a", "b"):
        r = tandem("flash", "check", e.d / ctl)
        assert r.returncode == 0, (ctl, r.stdout, r.stderr)
        wait_for(lambda: e.running(ctl), what="%s's MC running" % ctl)
    for ctl in ("a", "b"):
        log = e.log(ctl)
        assert "runtime error" not in log and "Sanitizer" not in log, log
    # B never pushes to A: no PFU send from B, no receive on A.
    ev_b = e.events("b")
    assert not re.search(r"#B\d+: .*PFU sending package", ev_b), ev_b
    ev_a = e.events("a")
    assert not re.search(r"#A\d+: .*Partner firmware update: receiving "
                         r"bundle", ev_a), ev_a
    # B's records are A's, mirrored: each names B as the controller updated
    # ("from the partner to this controller"), never A.
    line = e.pfu_line("b") or "none"
    assert line == "none" or "from the partner to this controller" in line, \
        line
    assert "to partner TDA" not in line, line


def halted(e):
    line = e.pfu_line("a") or ""
    return "halted" in line and line


def test_link_drops_every_transfer_halts_then_rollback(enclosure):
    # B's side counts the frames it takes: every push is cut mid-transfer.
    e = enclosure("b:link-drop=3")
    reply = e.load("a", NEW + ".bundle")
    assert "Codeload completed successfully." in reply, reply
    line = wait_for(lambda: halted(e), timeout=240, what="the halt")
    assert "%d attempts" % LIMIT in line, line
    ev_b = e.events("b")
    assert "the link-drop fault point cut the link" in ev_b, ev_b
    ev_a = e.events("a")
    assert ev_a.count("PFU sending package to partner") == LIMIT, ev_a
    assert re.search(r"CRITICAL Partner Firmware Update halted after 3 "
                     r"failed attempts", ev_a), ev_a
    assert e.bundle("b") == OLD
    # Roll back: A returns to the old bundle and the pair matches.
    out = e.cli("a", "rollback firmware noprompt")
    assert "Success" in out, out
    wait_for(lambda: e.bundle("a") == OLD, what="A's roll-back")
    wait_for(lambda: "Bundle Version: %s" % OLD in
             e.cli("a", "show versions"), what="A back on the old bundle")
    # B shows both controllers on the old bundle once A is back.
    versions = wait_for(lambda: (lambda t: t.count(
        "Bundle Version: %s" % OLD) >= 2 and t)(
        e.cli("b", "show versions")), what="B to show A on the old bundle")
    assert "Bundle Version: %s" % NEW not in versions, versions
    # PFU no longer tries: A, restarted on the old bundle, reports PFU
    # idle, and no attempt was made after the halt.
    status = wait_for(lambda: (lambda t: re.search(
        r"^PFU Status: Idle", t, re.M) and t)(
        e.cli("a", "show firmware-update-status")), what="PFU idle on A")
    assert "Bundle Version: %s" % OLD in e.cli("a", "show versions")
    ev_a = e.events("a")
    assert ev_a.count("PFU sending package to partner") == LIMIT, ev_a
    assert re.search(r"PFU state: Halted -> Idle", ev_a), ev_a
    assert attempts(e) == LIMIT, status
    check_end_state(e)


def test_link_drop_once_converges(enclosure):
    # A's side counts the frames it sends; cleared after the first cut.
    e = enclosure("a:link-drop=2")
    reply = e.load("a", NEW + ".bundle")
    assert "Codeload completed successfully." in reply, reply
    wait_for(lambda: "attempt 1 of 3 failed" in e.events("a"),
             what="the first attempt to fail")
    e.fault("a", "clear")
    wait_for(lambda: e.bundle("b") == NEW, timeout=180, what="B updated")
    line = wait_for(lambda: (lambda l: "complete" in l and l)(
        e.pfu_line("a") or ""), timeout=120, what="PFU complete")
    assert attempts(e) == 2, line
    check_end_state(e)


def test_b_power_cut_mid_flash_auto_rollback(enclosure):
    # Every partner load on B loses power at its 6th I/O step.
    e = enclosure("b:powercut=6@partner")
    assert "Success" in e.cli(
        "a", "set advanced-settings pfu-auto-rollback enabled")
    reply = e.load("a", NEW + ".bundle")
    assert "Codeload completed successfully." in reply, reply
    wait_for(lambda: halted(e) or e.bundle("a") == OLD, timeout=300,
             what="the halt")
    # The roll-back comes by itself: A returns to the old bundle.
    wait_for(lambda: e.bundle("a") == OLD, timeout=120,
             what="A's automatic roll-back")
    assert attempts(e) == LIMIT
    # Each attempt cut B's power mid-flash; the supply powered it on.
    cuts = e.uplog.read_text().count(
        "controller B: simulated power cut; powering it on")
    assert cuts == LIMIT, e.uplog.read_text()
    ev_a = e.events("a")
    assert ev_a.count("PFU sending package to partner") == LIMIT, ev_a
    assert "PFU state: Sending -> Halted" in ev_a, ev_a
    assert e.bundle("b") == OLD
    wait_for(lambda: e.running("a"), what="A running")
    wait_for(lambda: "Bundle Version: %s" % OLD in
             e.cli("a", "show versions"), what="A on the old bundle")
    e.fault("b", "clear")
    check_end_state(e)


def test_b_killed_repeatedly_then_converges(enclosure):
    # A slow midplane keeps each push long enough to kill B in it.
    e = enclosure("a:link-delay=30")
    reply = e.load("a", NEW + ".bundle")
    assert "Codeload completed successfully." in reply, reply
    for kills in range(2):
        wait_for(lambda: e.event_file("b").count(
            "Partner firmware update: receiving bundle") > kills,
            timeout=120, what="push %d to B" % (kills + 1))
        pid = e.pid("b")
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: e.pid("b") != pid and e.running("b"),
                 what="B powered on again")
        assert attempts(e) <= LIMIT
    e.fault("a", "clear")
    # Two attempts cut by B's restarts; the third (the last allowed)
    # finds a healthy B and converges.
    wait_for(lambda: e.bundle("b") == NEW or halted(e), timeout=240,
             what="B updated or a halt")
    assert e.bundle("b") == NEW, e.status()
    # Each cut attempt names the link, not this controller's own bank.
    ev_a = e.events("a")
    assert re.search(r"PFU attempt 1 of 3 failed: .*partner link", ev_a), \
        ev_a
    assert "failed: exporting" not in ev_a, ev_a
    wait_for(lambda: "complete" in (e.pfu_line("a") or ""), timeout=120,
             what="PFU complete")
    assert attempts(e) == LIMIT
    check_end_state(e)


def test_a_killed_mid_attempt(enclosure):
    e = enclosure()
    # Armed in the running controller this time.
    assert e.fault("a", "link-delay=30").strip() == \
        "controller A: armed link-delay=30"
    reply = e.load("a", NEW + ".bundle")
    assert "Codeload completed successfully." in reply, reply
    wait_for(lambda: "receiving bundle" in e.event_file("b"), timeout=120,
             what="a push to B")
    pid = e.pid("a")
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: e.pid("a") != pid and e.running("a"),
             what="A powered on again")
    # A went mid-transfer: B abandoned that load and changed nothing.
    wait_for(lambda: "the code load was abandoned: the partner link "
             "dropped" in e.event_file("b"), what="B's abandoned load")
    e.fault("a", "clear")
    wait_for(lambda: e.bundle("b") == NEW or halted(e), timeout=240,
             what="B updated or a halt")
    assert attempts(e) <= LIMIT
    # The attempt cut by A's restart counts: at least two were made.
    wait_for(lambda: e.bundle("b") == NEW, timeout=120, what="B updated")
    wait_for(lambda: "complete" in (e.pfu_line("a") or ""), timeout=120,
             what="PFU complete")
    assert 2 <= attempts(e) <= LIMIT
    assert "this controller restarted during the attempt" in e.events("a")
    check_end_state(e)


def test_a_killed_while_b_restarts_on_the_new_bundle(enclosure):
    e = enclosure()
    reply = e.load("a", NEW + ".bundle")
    assert "Codeload completed successfully." in reply, reply
    # The push is done and B restarts into it; A waits for its return.
    wait_for(lambda: "PFU state: Sending -> Verifying" in e.event_file("a"),
             timeout=120, what="A verifying")
    pid = e.pid("a")
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: e.pid("a") != pid and e.running("a"),
             what="A powered on again")
    # B came back on the new bundle: A's restarted PFU finds the pair
    # matching, whatever it counted for the cut attempt, and pushes no
    # more.
    line = wait_for(lambda: (lambda l: "complete" in l and l)(
        e.pfu_line("a") or ""), timeout=120, what="PFU complete")
    assert e.bundle("b") == NEW
    assert 1 <= attempts(e) <= LIMIT, line
    assert e.events("a").count("PFU sending package to partner") == \
        attempts(e)
    # The attempt cut by A's restart, when A saw it before it saw B back
    # on the new bundle (then it is simply complete), says where it was:
    # waiting for the partner, never sending.
    ev = e.events("a")
    assert "failed while sending the bundle" not in ev, ev
    if "restarted during the attempt" in ev:
        assert "attempt 1 of 3 failed while waiting for the partner: this " \
            "controller restarted during the attempt" in ev, ev
    check_end_state(e)
