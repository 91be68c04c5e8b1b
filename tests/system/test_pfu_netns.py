"""Two controllers as two hosts: each in its own network namespace, joined
by a veth pair, each run as a deployment runs it: a power supply starts
`tandem-loader`, which execs the MC image of the controller's active flash
bank (tandemd) with the partner link's flags; an exit 75 (MC restart) or a
death starts the loader again. Over that link: `show versions` on A lists
B; a bundle loaded into A reaches B by PFU; and when the veth is cut while
B is receiving a pushed bundle, the attempt fails, PFU backs off, waits
while the link stays down, and converges once it is back, never making
more attempts than the limit; with the link cut at every attempt it halts
at the limit. Both controllers keep a bootable bank throughout.

Needs root and `ip netns add`; skipped (with the reason) otherwise."""
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time

import pytest

from conftest import program

PID = os.getpid()
NET = "10.%d.%d" % (64 + PID % 64, (PID // 64) % 256)
ADDR = {"a": NET + ".1", "b": NET + ".2"}
USER, PASSWORD = "manage", "Tandem!netns1"
FTP_USER = "loader"
LINK_PORT = 7400                # each namespace has the family's ports free
HEARTBEAT_MS = 200
BACKOFF_S = 2
PARTNER_WAIT_S = 40
RESTART = 75                    # tandemd: restart my MC
SLOW_FLASH_MS = 700             # B's flash, while the veth is cut


def wait_for(fn, timeout=90, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        r = fn()
        if r:
            return r
        assert time.monotonic() < deadline, "timed out waiting for " + what
        time.sleep(0.2)


def ip(*args, check=True):
    return subprocess.run(["ip", *map(str, args)], capture_output=True,
                          text=True, timeout=30, check=check)


class Hosts:
    """Two namespaces, a veth pair between them, and their cleanup."""

    made_count = 0

    def __init__(self):
        # Each test its own namespaces and subnet: nothing a test before
        # it left behind (a socket, a neighbour entry) is in the way.
        Hosts.made_count += 1
        n = Hosts.made_count
        net = "10.%d.%d" % (64 + PID % 64, (PID // 64 + 41 * n) % 256)
        ADDR.update(a=net + ".1", b=net + ".2")
        self.ns = {c: "tandem-%s-%d-%d" % (c, PID, n) for c in "ab"}
        self.veth = {c: "tv%s%d%d" % (c, PID % 100000, n) for c in "ab"}
        self.made = []

    def make(self):
        for c in "ab":
            r = ip("netns", "add", self.ns[c], check=False)
            if r.returncode != 0:
                return r.stderr.strip() or "ip netns add failed"
            self.made.append(self.ns[c])
        ip("link", "add", self.veth["a"], "netns", self.ns["a"], "type",
           "veth", "peer", "name", self.veth["b"], "netns", self.ns["b"])
        for c in "ab":
            ip("-n", self.ns[c], "link", "set", "lo", "up")
            ip("-n", self.ns[c], "addr", "add", ADDR[c] + "/24", "dev",
               self.veth[c])
            ip("-n", self.ns[c], "link", "set", self.veth[c], "up")
        return None

    def link(self, up):
        """The cable: A's end of the veth down or up (the pair follows)."""
        ip("-n", self.ns["a"], "link", "set", self.veth["a"],
           "up" if up else "down")

    def run(self, c, argv, **kw):
        return subprocess.run(["ip", "netns", "exec", self.ns[c], *argv],
                              capture_output=True, text=True, **kw)

    def remove(self):
        for ns in self.made:
            ip("netns", "del", ns, check=False)
        self.made = []


class Power:
    """One controller's power supply: runs its loader in its namespace and
    starts it again after an MC restart (75) or a death; an exit 0 (a
    stop) leaves it off."""

    def __init__(self, hosts, enc, c, settings):
        self.hosts, self.enc, self.c = hosts, enc, c
        self.state = enc / c
        self.log = enc / ("%s.log" % c)
        self.faults = enc / ("%s.faults" % c)
        self.faults.write_text("clear\n")
        self.settings = settings
        self.exits, self.pid, self.stopping = [], None, False
        self.proc = None
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.supply, daemon=True)
        self.thread.start()

    def argv(self):
        c, args = self.c, [
            "--state", str(self.state), "--controller", self.c,
            "--address", ADDR[self.c], "--ftp-port", "21",
            "--ssh-port", "22", "--telnet-port", "23", "--sftp-port", "1022",
            "--user", "%s:%s:manage" % (USER, PASSWORD), "--enable", "ftp",
            "--enclosure-key", str(self.enc / "enclosure.key"),
            "--heartbeat-ms", str(HEARTBEAT_MS)]
        if c == "a":
            args += ["--partner", "%s:%d" % (ADDR["b"], LINK_PORT)]
        else:
            args += ["--link-port", str(LINK_PORT)]
        for s in self.settings:
            args += ["--set", s]
        return ["ip", "netns", "exec", self.hosts.ns[c],
                program("tandem-loader"), "--daemon", program("tandemd"),
                str(self.state), "--", *args]

    def supply(self):
        env = dict(os.environ)
        env.pop("TANDEM_FAULTS", None)
        env["TANDEM_FAULTS_FILE"] = str(self.faults)
        while True:
            with self.lock:
                if self.stopping:
                    return
                with open(self.log, "a") as log:
                    # ip netns exec and the loader exec: one pid.
                    self.proc = subprocess.Popen(
                        self.argv(), stdin=subprocess.DEVNULL, stdout=log,
                        stderr=log, env=env)
                self.pid = self.proc.pid
            rc = self.proc.wait()
            with self.lock:
                self.exits.append(rc)
                self.pid = None
                if rc == 0 or self.stopping:
                    return
            time.sleep(0.2 if rc == RESTART else 1.0)

    def arm(self, spec):
        """Arms fault points in the running tandemd, as `tandem enclosure
        fault` does: the faults file, SIGUSR1, its answer."""
        pid = wait_for(lambda: self.pid, what="controller %s on" % self.c)
        answer = self.faults.with_name(self.faults.name + ".armed")
        before = answer.read_text() if answer.exists() else ""
        self.faults.write_text(spec + "\n")
        os.kill(pid, signal.SIGUSR1)
        wait_for(lambda: answer.exists() and answer.read_text() != before
                 and "pid %d\n" % pid in answer.read_text(),
                 what="the faults' answer")
        assert "error" not in answer.read_text(), answer.read_text()

    def stop(self):
        with self.lock:
            self.stopping = True
            proc = self.proc
        if proc and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.thread.join(timeout=30)

    def log_text(self):
        return self.log.read_text(errors="replace")


class Enclosure:
    def __init__(self, hosts, enc, settings):
        self.hosts, self.enc = hosts, enc
        self.power = {c: Power(hosts, enc, c, settings) for c in "ab"}
        self.ftp_user = set()

    def ssh(self, c, command):
        """The CLI of controller c, from a host in c's namespace."""
        r = self.hosts.run(c, [
            "sshpass", "-p", PASSWORD, "ssh", "-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/proc/self/no-known-hosts",
            "-o", "LogLevel=error",
            "-o", "PubkeyAuthentication=no", "-o", "ConnectTimeout=5",
            "%s@%s" % (USER, ADDR[c]), command], timeout=30)
        return r.stdout if r.returncode == 0 else ""

    def versions(self, on, of):
        """Controller `of`'s bundle as `show versions` on `on` lists it."""
        m = re.search(r"^Controller %s Versions\n-+\n(?:.*\n)*?Bundle "
                      r"Version: (\S+)" % of.upper(),
                      self.ssh(on, "show versions"), re.M)
        return m and m.group(1)

    def upload(self, c, bundle):
        """curl's STOR of a bundle into controller c's flash target, as a
        user the operator made for FTP (--user grants CLI and WBI)."""
        if c not in self.ftp_user:
            out = self.ssh(c, "create user interfaces cli,ftp password %s "
                           "roles manage %s" % (PASSWORD, FTP_USER))
            assert "Success" in out, out
            self.ftp_user.add(c)
        r = self.hosts.run(c, [
            "curl", "-sS", "-v", "--user", "%s:%s" % (FTP_USER, PASSWORD), "-T",
            str(bundle), "ftp://%s/flash" % ADDR[c]], timeout=300)
        return r.stdout + r.stderr

    def records(self, c):
        """Controller c's PFU attempt records (its config/pfu.json)."""
        path = self.enc / c / "config" / "pfu.json"
        if not path.exists():
            return []
        return json.loads(path.read_text() or "{}").get("records", [])

    def record(self, c, target):
        return next((r for r in self.records(c) if r["target"] == target),
                    None)

    def events(self, c):
        path = self.enc / c / "events.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def bootable(self, c):
        """`tandem flash check` on c's state: its banks and boot records."""
        r = subprocess.run([program("tandem"), "flash", "check",
                            self.enc / c], capture_output=True, text=True,
                           timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr

    def both_run(self, target):
        return (self.versions("a", "a") == target and
                self.versions("b", "b") == target and
                self.versions("a", "b") == target)

    def stop(self):
        for p in self.power.values():
            p.stop()
        for c, p in self.power.items():
            text = p.log_text()
            assert "runtime error" not in text and "Sanitizer" not in text, \
                text[-4000:]
            # Every exit was an MC restart, or the stop at the end.
            assert all(rc in (RESTART, 0) for rc in p.exits), \
                (c, p.exits, text[-4000:])


@pytest.fixture
def hosts():
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root")
    for tool in ("ip", "sshpass", "curl"):
        if not shutil.which(tool):
            pytest.skip("%s is not installed" % tool)
    h = Hosts()
    try:
        why = h.make()
        if why:
            pytest.skip("ip netns add failed: %s" % why)
        yield h
    finally:
        h.remove()


@pytest.fixture
def enclosure(hosts, tmp_path):
    """enclosure(*settings): both controllers powered on in their
    namespaces, with short PFU timings and the extra --set settings."""
    made = []

    def power_on(*extra):
        enc = tmp_path / "enc"
        subprocess.run([program("tandem"), "enclosure", "init", enc],
                       check=True, capture_output=True, timeout=120)
        made.append(Enclosure(hosts, enc, [
            "pfu-backoff-seconds=%d" % BACKOFF_S,
            "pfu-partner-wait-seconds=%d" % PARTNER_WAIT_S, *extra]))
        return made[-1]
    yield power_on
    for e in made:
        e.stop()


def pushes_received(e, target):
    """How many of A's pushes of target B has begun to receive."""
    return e.events("b").count("receiving bundle %s from controller A" %
                               target)


def cut_while_receiving(hosts, e, target, n):
    """Waits for B to be receiving push n of target, then cuts the veth."""
    wait_for(lambda: pushes_received(e, target) >= n, what="push %d" % n)
    hosts.link(False)


def start_on(e, target):
    """Both controllers up and linked, each running target."""
    # Under the sanitizers a first start (users hashed with yescrypt, the
    # HTTPS certificate made, every SSH login hashed again) takes long.
    assert wait_for(lambda: e.both_run(target), timeout=240,
                    what="both on " + target)


def test_link_and_pfu_across_hosts_survive_a_cut_cable(hosts, enclosure):
    e = enclosure()
    start_on(e, "TS250P001")
    # The link crosses the veth: A, in its own namespace, lists B.
    versions = e.ssh("a", "show versions")
    assert "Controller B Versions" in versions, versions
    assert e.ssh("b", "show versions").count("Bundle Version: TS250P001") \
        == 2

    # A healthy PFU between the hosts: A loads TS250P002, restarts into it
    # and brings B to it.
    reply = e.upload("a", e.enc / "bundles" / "TS250P002.bundle")
    assert "Codeload completed successfully." in reply, reply
    # curl quits after the reply: A's MC restarts without waiting out the
    # delay left for a client that keeps its session.
    wait_for(lambda: "stopping now, not after 2 s: the FTP client that "
             "loaded has quit" in e.power["a"].log_text(),
             what="A's restart at the client's QUIT")
    wait_for(lambda: e.both_run("TS250P002"), timeout=120,
             what="PFU to TS250P002")
    rec = wait_for(lambda: (e.record("a", "TS250P002") or {}).get(
        "complete") and e.record("a", "TS250P002"), what="A's record")
    assert rec["attempts"] == 1, rec
    assert pushes_received(e, "TS250P002") == 1

    # The cable is cut while B is receiving TS250P003 (a new MC): B's slow
    # flash holds the transfer open.
    e.power["b"].arm("slow-flash=%d" % SLOW_FLASH_MS)
    reply = e.upload("a", e.enc / "bundles" / "TS250P003.bundle")
    assert "Codeload completed successfully." in reply, reply
    cut_while_receiving(hosts, e, "TS250P003", 1)
    rec = wait_for(lambda: (e.record("a", "TS250P003") or {}).get(
        "reason") and e.record("a", "TS250P003"), what="attempt 1 fails")
    assert rec["attempts"] == 1 and not rec["halted"], rec
    assert not rec["complete"] and not rec["in_flight"], rec
    assert "partner link" in rec["reason"], rec
    # While the link stays down PFU waits once its back-off is over (the
    # pre-flight: link down), with no further attempt.
    wait_for(lambda: "partner link down" in
             e.ssh("a", "show firmware-update-status"),
             what="A waits for the link")
    assert e.record("a", "TS250P003")["attempts"] == 1
    assert pushes_received(e, "TS250P003") == 1
    # B never activated what it did not fully receive.
    assert e.versions("b", "b") == "TS250P002"
    e.bootable("b")
    e.bootable("a")

    hosts.link(True)
    wait_for(lambda: e.both_run("TS250P003"), timeout=150,
             what="PFU to TS250P003 after the link returns")
    rec = wait_for(lambda: (e.record("a", "TS250P003") or {}).get(
        "complete") and e.record("a", "TS250P003"), what="complete")
    assert rec["attempts"] == 2, rec
    assert pushes_received(e, "TS250P003") == 2
    # B's copy of the record agrees: the count is shared.
    assert e.record("b", "TS250P003")["attempts"] == 2
    # B runs the new MC from its own bank.
    pid = e.power["b"].pid
    assert "/b/flash/bank" in os.readlink("/proc/%d/exe" % pid)
    e.bootable("a")
    e.bootable("b")


def test_pfu_halts_at_the_limit_when_every_attempt_is_cut(hosts,
                                                          enclosure):
    e = enclosure("pfu-attempt-limit=2")
    start_on(e, "TS250P001")
    e.power["b"].arm("slow-flash=%d" % SLOW_FLASH_MS)
    reply = e.upload("a", e.enc / "bundles" / "TS250P002.bundle")
    assert "Codeload completed successfully." in reply, reply
    for n in (1, 2):
        cut_while_receiving(hosts, e, "TS250P002", n)
        wait_for(lambda: (e.record("a", "TS250P002") or {}).get(
            "attempts") == n and not e.record("a", "TS250P002")[
            "in_flight"], what="attempt %d fails" % n)
        hosts.link(True)
    rec = wait_for(lambda: (e.record("a", "TS250P002") or {}).get(
        "halted") and e.record("a", "TS250P002"), what="the halt")
    assert rec["attempts"] == 2 and not rec["complete"], rec
    status = wait_for(lambda: "Halted" in (s := e.ssh(
        "a", "show firmware-update-status")) and s, what="Halted shown")
    assert "rollback firmware" in status, status
    # The link is back and well, yet no third attempt comes.
    wait_for(lambda: e.versions("a", "b") == "TS250P001",
             what="A sees B again")
    time.sleep(4 * BACKOFF_S)   # nothing may happen here; checked below
    assert e.record("a", "TS250P002")["attempts"] == 2
    assert pushes_received(e, "TS250P002") == 2
    assert "halted after 2 failed attempts" in e.events("a")
    assert e.versions("b", "b") == "TS250P001"
    assert e.versions("a", "a") == "TS250P002"
    e.bootable("a")
    e.bootable("b")
