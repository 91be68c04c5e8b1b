"""`tandem update` against a running `tandem enclosure up`, over HTTPS with
the controller's own certificate (--cacert): a bundle loaded into A and
followed through A's MC restart and PFU until B runs it too (exit 0); a
damaged bundle refused before it is sent and a tampered one refused by the
controller's verification (5); an older bundle without --force (10); A's MC
killed mid-follow, the update still ending well (0); a PFU that halts
because B's flash fails in every push (8), then the readiness check that
refuses the next update (6); a controller that cannot be reached (3) or
whose certificate is not trusted (3); a wrong password (4). Output is captured
through a pipe: plain lines, never a carriage return."""
import os
import re
import signal
import subprocess
import tarfile

import pytest

from bundle_edit import SIGNATURE_DEFECTS, rewrite
from conftest import program
from enclosure_helpers import Enclosure, own_addresses, tandem
from test_transport_shell import Pty

PORT_BASE = 53000
PASSWORD = "!manage"


def enclosure(tmp, first, port_base):
    # init names 127.0.0.2/.3 in the HTTPS certificates; on this run's own
    # addresses each tandemd makes a certificate for its address at start
    # (which --cacert then checks).
    return Enclosure(tmp, own_addresses(first), port_base)


@pytest.fixture(scope="module")
def enc(tmp_path_factory):
    e = enclosure(tmp_path_factory.mktemp("update"), 200, PORT_BASE)
    yield e
    e.stop()


@pytest.fixture
def fresh(tmp_path):
    """An enclosure of its own, for a test that leaves PFU halted."""
    e = enclosure(tmp_path, 220, PORT_BASE + 3000)
    yield e
    e.stop()


def update(enc, *args, ctl="a", password=PASSWORD, stdin=None, cacert=True):
    addr, port = enc.ports[(ctl, "https")]
    env = {"PATH": "/usr/bin:/bin"}
    if password is not None:
        env["TANDEM_PASSWORD"] = password
    extra = ["--cacert", enc.dir / ctl / "config" / "https.crt"] \
        if cacert else []
    return subprocess.run(
        [program("tandem"), "update", "--host", "%s:%d" % (addr, port),
         "--timeout", "90", *map(str, extra), *map(str, args)],
        input=stdin, capture_output=True, text=True, timeout=150, env=env)


def bundle_of(enc, ctl):
    r = tandem("flash", "show", enc.dir / ctl)
    m = re.search(r"^Bundle Version: (\S+)", r.stdout, re.M)
    return m and m.group(1)


def test_help_lists_every_exit_code():
    r = subprocess.run([program("tandem"), "update", "--help"],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 0
    for code in range(11):
        assert re.search(r"^ *%d  \S" % code, r.stdout, re.M), code
    assert "TANDEM_PASSWORD" in r.stdout


def test_unreachable_controller(enc, tmp_path):
    # A port nothing listens on, on A's own address.
    addr, _ = enc.ports[("a", "https")]
    r = subprocess.run(
        [program("tandem"), "update", "--host", "%s:%d" % (addr, 9),
         "--insecure", str(enc.bundle("TS250P002"))],
        capture_output=True, text=True, timeout=60,
        env={"TANDEM_PASSWORD": PASSWORD})
    assert r.returncode == 3, (r.stdout, r.stderr)
    assert "cannot connect" in r.stderr
    assert "Couldn't connect" in r.stderr or "refused" in r.stderr


def test_untrusted_certificate_is_refused(enc):
    """No --cacert: the controller's self-signed certificate is not in the
    system's store, so TLS is refused, as curl without -k refuses it."""
    r = update(enc, enc.bundle("TS250P002"), cacert=False)
    assert r.returncode == 3, (r.stdout, r.stderr)
    assert "TLS refused" in r.stderr and "--cacert" in r.stderr


def test_bad_password(enc):
    r = update(enc, enc.bundle("TS250P002"), password="wrong")
    assert r.returncode == 4, (r.stdout, r.stderr)
    assert "refused the login of user 'manage'" in r.stderr
    assert "Authentication Unsuccessful" in r.stderr
    assert bundle_of(enc, "a") == "TS250P001"


def test_monitor_may_not_load(enc):
    r = update(enc, "--user", "monitor", enc.bundle("TS250P002"),
               password="!monitor")
    assert r.returncode == 4, (r.stdout, r.stderr)
    assert "which may not load firmware" in r.stderr
    assert bundle_of(enc, "a") == "TS250P001"


def test_damaged_bundle_is_not_sent(enc, tmp_path):
    """A component's bytes changed: its hash no longer matches, so the tool
    refuses it before anything is sent."""
    src = enc.bundle("TS250P002")
    with tarfile.open(src) as t:
        member = next(m.name for m in t.getmembers()
                      if not m.name.startswith("manifest"))
    bad = rewrite(src, tmp_path / "damaged.bundle", member,
                  lambda data: bytes([data[0] ^ 1]) + data[1:])
    r = update(enc, bad)
    assert r.returncode == 5, (r.stdout, r.stderr)
    assert "bundle refused by verification" in r.stderr
    assert "nothing was sent" in r.stderr
    assert bundle_of(enc, "a") == "TS250P001"


def test_tampered_bundle_refused_by_the_controller(enc, tmp_path):
    """The manifest changed after signing (its hashes still match): only the
    signature tells, and the controller's verification refuses it."""
    member, edit = SIGNATURE_DEFECTS["manifest-version"]
    bad = rewrite(enc.bundle("TS250P002"), tmp_path / "tampered.bundle",
                  member, edit)
    r = update(enc, bad)
    assert r.returncode == 5, (r.stdout, r.stderr)
    assert "bundle refused by verification" in r.stderr
    assert "nothing was sent" not in r.stderr
    assert "upload: 100%" in r.stdout            # it went up, then refused
    assert bundle_of(enc, "a") == "TS250P001"
    assert bundle_of(enc, "b") == "TS250P001"


def test_success_both_controllers_plain_lines(enc):
    """The password as one line of stdin (not a terminal); A restarts, PFU
    brings B to the bundle; exit 0 only once both run it."""
    r = update(enc, enc.bundle("TS250P002"), password=None,
               stdin=PASSWORD + "\n")
    assert r.returncode == 0, (r.stdout, r.stderr)
    out = r.stdout
    assert "\r" not in out and "\033" not in out  # plain lines, no bar
    lines = out.splitlines()
    assert lines[0].startswith("loading %s (TS250P002, " %
                               enc.bundle("TS250P002"))
    uploads = [ln for ln in lines if ln.startswith("upload: ")]
    assert uploads[-1].startswith("upload: 100% ")
    assert len(uploads) <= 10                    # one a 10% step
    assert any("Codeload completed successfully." in ln for ln in lines)
    assert "controller A: management controller restarting" in lines
    assert lines[-1] == "done: controllers A and B both run TS250P002"
    assert bundle_of(enc, "a") == "TS250P002"
    assert bundle_of(enc, "b") == "TS250P002"
    # Done means settled: neither on trial, PFU not running, so the next
    # update may start at once.
    health = enc.cli("a", "check firmware-upgrade-health")
    assert "Overall Health: Pass" in health, health


def test_older_bundle_needs_force(enc):
    r = update(enc, enc.bundle("TS250P001"))
    assert r.returncode == 10, (r.stdout, r.stderr)
    assert "--force loads it anyway" in r.stderr
    assert bundle_of(enc, "a") == "TS250P002"


def test_terminal_shows_a_bar(enc):
    """On a terminal: one line redrawn in place with the bar, percent, MB/s
    and the stage; the outcome on its own line."""
    addr, port = enc.ports[("a", "https")]
    t = Pty([program("tandem"), "update", "--host", "%s:%d" % (addr, port),
             "--insecure", str(enc.bundle("TS250P001"))],
            env={"TANDEM_PASSWORD": PASSWORD, "PATH": "/usr/bin:/bin"})
    t.expect(r"\r\[#{30}\] 100%\s+[\d.]+ MB/s\s+uploading")
    t.expect(r"\r?\n.*tandem update: bundle refused: .*older")
    assert t.wait(timeout=60) == 10


def test_controller_killed_mid_follow(enc):
    """A's MC is killed while PFU pushes to B (each frame to B delayed, so
    the push takes a while): the tool finds A unreachable, keeps trying,
    logs in again once A is back, and PFU's next attempt brings B over."""
    r = tandem("enclosure", "fault", "--dir", enc.dir, "a", "link-delay=100")
    assert r.returncode == 0, r.stderr
    addr, port = enc.ports[("a", "https")]
    p = subprocess.Popen(
        [program("tandem"), "update", "--host", "%s:%d" % (addr, port),
         "--cacert", str(enc.dir / "a" / "config" / "https.crt"),
         "--timeout", "120", str(enc.bundle("TS250P003"))],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={"TANDEM_PASSWORD": PASSWORD})
    seen = []
    try:
        for line in p.stdout:
            seen.append(line)
            if line.startswith("stage: PFU Sending"):
                break
        assert seen and seen[-1].startswith("stage: PFU Sending"), seen
        pid = int((enc.dir / "run" / "a.pid").read_text())
        os.kill(pid, signal.SIGKILL)
        rest, err = p.communicate(timeout=150)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        tandem("enclosure", "fault", "--dir", enc.dir, "a", "clear")
    out = "".join(seen) + rest
    assert p.returncode == 0, (out, err)
    assert "stage: restarting" in rest, out       # A seen going away
    assert out.endswith("done: controllers A and B both run TS250P003\n")
    assert bundle_of(enc, "a") == "TS250P003"
    assert bundle_of(enc, "b") == "TS250P003"


def test_halted_pfu_then_readiness_refused(fresh):
    """B's flash fails in every load A pushes to it: PFU halts after its
    one allowed attempt and the tool says so (8); A runs the bundle. The
    next update is refused by the readiness check until that is dealt
    with (6)."""
    enc = fresh
    assert "Success" in enc.cli("a", "set advanced-settings "
                                "pfu-attempt-limit 1 pfu-backoff-seconds 1")
    r = tandem("enclosure", "fault", "--dir", enc.dir, "b",
               "write-error=mc@partner")
    assert r.returncode == 0, r.stderr
    r = update(enc, enc.bundle("TS250P003"))
    assert r.returncode == 8, (r.stdout, r.stderr)
    assert re.search(r"PFU halted after 1 attempt\(s\): controller B still "
                     r"runs TS250P001", r.stderr), r.stderr
    assert bundle_of(enc, "a") == "TS250P003"
    assert bundle_of(enc, "b") == "TS250P001"
    assert "PFU Status: Halted" in enc.cli("a", "show system")
    r = update(enc, enc.bundle("TS250P003"))
    assert r.returncode == 6, (r.stdout, r.stderr)
    assert "readiness check refused the update" in r.stderr
    assert "upload" not in r.stdout               # nothing was sent
