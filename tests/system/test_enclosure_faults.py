"""The simulator's operator tools on a running enclosure: `tandem
enclosure fault` arms and clears fault points in a live controller without
restarting it, a fault limited to loads the partner pushes leaves the
operator's own load working (the field report's case), `tandem enclosure
console` logs in on a controller's serial console, and init's TS250P003
bundle carries a new MC that the loader then runs."""
import ftplib
import os
import pty
import select
import signal
import subprocess
import time

import pytest

from conftest import program


def layout(d):
    ports = {}
    for line in (d / "run" / "layout").read_text().splitlines():
        ctl, svc, addr, port = line.split()
        ports[(ctl, svc)] = (addr, int(port))
    return ports


def wait_for(fn, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        r = fn()
        if r:
            return r
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def own_addresses():
    """Loopback addresses of this run's own, apart from test_enclosure's."""
    n = os.getpid()
    net = "127.%d.%d" % (200 + n % 50, (n // 50) % 256)
    return net + ".2", net + ".3"


def tandem(*args, **kw):
    return subprocess.run([program("tandem"), *map(str, args)],
                          capture_output=True, text=True, timeout=120, **kw)


@pytest.fixture
def enclosure(tmp_path):
    d = tmp_path / "enc"
    uplog = tmp_path / "up.log"
    a, b = own_addresses()
    with open(uplog, "w") as log:
        p = subprocess.Popen([program("tandem"), "enclosure", "up", "--dir",
                              d, "--addresses", "%s,%s" % (a, b),
                              "--port-base", "40000"],
                             stdout=log, stderr=subprocess.STDOUT)
    try:
        try:
            wait_for(lambda: "Both controllers are up" in uplog.read_text())
        except AssertionError:
            raise AssertionError("enclosure not up; its output:\n%s\n%s" % (
                uplog.read_text(), "\n".join(
                    "%s:\n%s" % (f, f.read_text()[-2000:])
                    for f in sorted((d / "run").glob("*.log"))
                    if (d / "run").exists())))
        yield d, layout(d), uplog
    finally:
        p.send_signal(signal.SIGINT)
        assert p.wait(timeout=30) == 0
    assert not (d / "run" / "a.console").exists()


def identity(d, ctl):
    """The controller's pid and its start time (field 22 of stat)."""
    pid = int((d / "run" / ("%s.pid" % ctl)).read_text())
    stat = open("/proc/%d/stat" % pid).read()
    return pid, stat.rsplit(")", 1)[1].split()[19]


def upload(ports, ctl, path, target="flash"):
    addr, port = ports[(ctl, "ftp")]
    f = ftplib.FTP()
    f.connect(addr, port, timeout=120)
    f.login("manage", "!manage")
    try:
        with open(path, "rb") as fh:
            return f.storbinary("STOR " + target, fh)
    except (ftplib.error_temp, ftplib.error_perm) as e:
        return str(e)
    finally:
        f.close()


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
        self.send("manage\r")
        self.expect("Password: ")
        self.send("!manage\r")
        self.expect("# ")

    def run(self, command):
        self.send(command + "\r")
        return self.expect("# ")

    def detach(self):
        self.send("\x1d")
        assert self.p.wait(timeout=10) == 0
        rest = b""
        try:
            while select.select([self.master], [], [], 1)[0]:
                chunk = os.read(self.master, 4096)
                if not chunk:
                    break
                rest += chunk
        except OSError:
            pass
        os.close(self.master)
        assert b"[detached from controller" in self.buf + rest


def test_fault_arms_and_clears_a_running_controller(enclosure):
    d, ports, _ = enclosure
    # The console from a script: stdin a pipe, detached at its end.
    r = tandem("enclosure", "console", "--dir", d, "a",
               input="\nmanage\n!manage\nset protocols ftp enabled\n"
                     "show versions\n")
    assert r.returncode == 0, r.stderr
    assert "Success" in r.stdout, r.stdout
    assert "Bundle Version: TS250P001" in r.stdout
    before = identity(d, "a")
    new = d / "bundles" / "TS250P002.bundle"

    r = tandem("enclosure", "fault", "--dir", d, "a", "write-error=sc")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "controller A: armed write-error=sc"
    reply = upload(ports, "a", new)
    assert reply.startswith("551"), reply
    assert "sc" in reply

    r = tandem("enclosure", "fault", "--dir", d, "a", "clear")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "controller A: no fault points armed"
    # Armed, failed and cleared in one run of the controller.
    assert identity(d, "a") == before
    assert "faults armed: write-error=sc" in (d / "run" / "a.log").read_text()
    reply = upload(ports, "a", new)
    assert "Codeload completed successfully." in reply, reply


def test_fault_refusals_change_nothing(enclosure, tmp_path):
    d, _, _ = enclosure
    r = tandem("enclosure", "fault", "--dir", d, "b", "write-error=mc")
    assert r.returncode == 0, r.stderr
    for spec, says in [("flood=1", "unknown fault 'flood'"),
                       ("write-error=mc@nowhere", "not a load source"),
                       ("write-error", "lacks '='")]:
        r = tandem("enclosure", "fault", "--dir", d, "b", spec)
        assert r.returncode == 2, r.stdout
        assert says in r.stderr
        assert (d / "run" / "b.faults").read_text() == "write-error=mc\n"
        assert "armed write-error=mc\n" in \
            (d / "run" / "b.faults.armed").read_text()
    r = tandem("enclosure", "fault", "--dir", d, "c", "clear")
    assert r.returncode == 2
    r = tandem("enclosure", "fault", "--dir", tmp_path / "none", "a", "clear")
    assert r.returncode == 1 and "no enclosure is up" in r.stderr
    r = tandem("enclosure", "up", "--dir", tmp_path / "other", "--faults",
               "a:write-error=mc@nowhere")
    assert r.returncode == 2 and "not a load source" in r.stderr
    assert not (tmp_path / "other").exists()


def test_partner_fault_spares_the_operators_load_and_the_new_mc_boots(
        enclosure):
    d, ports, uplog = enclosure
    mc = d / "bundles" / "TS250P003.bundle"
    r = tandem("bundle", "inspect", mc)
    assert "Bundle Version: TS250P003" in r.stdout
    row = [l for l in r.stdout.splitlines() if l.startswith("mc ")][0]
    assert "TSM250P003" in row and "executable" in row

    con = Console(d, "b")
    con.login()
    # B's forced load would make it bring A along (PFU): this test is about
    # B alone.
    assert "Success" in con.run(
        "set advanced-settings partner-firmware-upgrade disabled")
    assert "Success" in con.run("set protocols ftp enabled")
    # Limited to FTP loads, the fault fails this one: the engine tells
    # the fault points where each load comes from ...
    r = tandem("enclosure", "fault", "--dir", d, "b", "write-error=mc@ftp")
    assert r.returncode == 0, r.stderr
    reply = upload(ports, "b", mc, "flash:force")
    assert reply.startswith("551"), reply
    assert "mc" in reply
    # ... then only the partner's: the operator's own flash of B works.
    r = tandem("enclosure", "fault", "--dir", d, "b", "write-error=mc@partner")
    assert r.returncode == 0, r.stderr
    assert "armed write-error=mc@partner" in r.stdout
    old = identity(d, "b")
    reply = upload(ports, "b", mc, "flash:force")
    assert "Codeload completed successfully." in reply, reply
    assert "MC Software: SUCCESSFUL" in reply, reply

    # B restarts into the new MC image: the loader execs it from its bank.
    wait_for(lambda: "controller B: its MC is restarting" in uplog.read_text())
    con.expect("login: ")        # the same console, the new MC's prompt
    pid, _ = identity(d, "b")
    assert pid != old[0]
    assert "/b/flash/bank" in os.readlink("/proc/%d/exe" % pid)
    # What was armed holds across the restart.
    armed = wait_for(lambda: "pid %d\n" % pid in
                     (d / "run" / "b.faults.armed").read_text() and
                     (d / "run" / "b.faults.armed").read_text())
    assert "armed write-error=mc@partner" in armed
    con.send("manage\r")
    con.expect("Password: ")
    con.send("!manage\r")
    con.expect("# ")
    versions = con.run("show versions")
    assert "Bundle Version: TS250P003" in versions
    assert "Management Controller Code Version: TSM250P003" in versions
    con.detach()
    r = tandem("enclosure", "status", d)
    assert "controller B: bundle TS250P003" in r.stdout
    assert "MC: running, pid %d" % pid in r.stdout
    assert "PFU: none" in r.stdout
