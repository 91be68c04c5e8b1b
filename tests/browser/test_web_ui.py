"""The web UI in headless Chromium (Debian's chromium, driven by
playwright-core from npm) against `tandem enclosure up`, once at a laptop's
viewport and once at a phone's: ui_flow.mjs is the operator (log in,
versions, PFU settings, an update through PFU to done, a halted PFU and
the roll-back); this file starts the enclosure, gives the browser its
address, and checks afterwards, from the controllers' flash, that what the
page showed happened. Screenshots of every step are kept under
BUILD/browser-artifacts/<viewport>/.

Chromium, node or playwright-core missing is a failure, not a skip:
scripts/install-deps installs all three."""
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "tests" / "system"))
from conftest import BUILD, program  # noqa: E402

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
MID = "TS250P002"
NEW = "TS250P003"
FLOW_TIMEOUT = 900


def wait_for(fn, timeout=90, what="a state"):
    deadline = time.monotonic() + timeout
    while True:
        r = fn()
        if r:
            return r
        assert time.monotonic() < deadline, "timed out waiting for " + what
        time.sleep(0.3)


def own_addresses(first):
    """Loopback addresses of this run's own (Linux routes all of 127/8 to
    lo), apart from other tests' enclosures."""
    n = os.getpid()
    net = "127.%d.%d" % (first + n % 20, (n // 20) % 256)
    return net + ".2", net + ".3"


def tandem(*args):
    return subprocess.run([program("tandem"), *map(str, args)],
                          capture_output=True, text=True, timeout=120)


def flash_bundle(d, ctl):
    r = tandem("flash", "show", d / ctl)
    m = re.search(r"^Bundle Version: (\S+)", r.stdout, re.M)
    return m and m.group(1)


def test_browser_tools_present():
    assert os.access(CHROMIUM, os.X_OK), \
        "%s is missing: run scripts/install-deps (Debian package chromium)" \
        % CHROMIUM
    assert shutil.which("node"), "node is missing: run scripts/install-deps"
    assert (ROOT / "node_modules" / "playwright-core").is_dir(), \
        "playwright-core is missing: run scripts/install-deps (npm ci)"


@pytest.mark.parametrize("viewport,first,port_base", [
    ("laptop", 180, 44000),
    ("phone", 200, 45000),
])
def test_operator_session(tmp_path, viewport, first, port_base):
    test_browser_tools_present()
    d = tmp_path / "enc"
    uplog = tmp_path / "up.log"
    a, b = own_addresses(first)
    with open(uplog, "w") as log:
        up = subprocess.Popen(
            [program("tandem"), "enclosure", "up", "--dir", d, "--addresses",
             "%s,%s" % (a, b), "--port-base", str(port_base)],
            stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: "Both controllers are up" in uplog.read_text(),
                 what="the enclosure")
        ports = {}
        for line in (d / "run" / "layout").read_text().splitlines():
            ctl, svc, addr, port = line.split()
            ports[(ctl, svc)] = (addr, int(port))
        addr, port = ports[("a", "https")]
        artifacts = BUILD / "browser-artifacts" / viewport
        shutil.rmtree(artifacts, ignore_errors=True)
        env = dict(os.environ, TANDEM_URL="https://%s:%d/" % (addr, port),
                   TANDEM_HTTP_URL="http://%s:%d/" % ports[("a", "http")],
                   TANDEM_B_URL="https://%s:%d/" % ports[("b", "https")],
                   TANDEM_ENC=str(d), TANDEM_TOOL=program("tandem"),
                   VIEWPORT=viewport, ARTIFACTS=str(artifacts),
                   CHROMIUM=CHROMIUM)
        r = subprocess.run(["node", str(HERE / "ui_flow.mjs")], env=env,
                           cwd=ROOT, capture_output=True, text=True,
                           timeout=FLOW_TIMEOUT)
        print(r.stdout)
        assert r.returncode == 0, "%s\n%s\nscreenshots: %s" % (
            r.stdout, r.stderr, artifacts)
        # What the page showed, from the controllers' flash and PFU
        # records: the pair updated to MID, A took NEW and its PFU halted
        # on B's failing flash, the roll-back returned A to MID; A took NEW
        # again and halted again, and NEW loaded into B from its own page
        # completed the record.
        assert flash_bundle(d, "a") == NEW
        assert flash_bundle(d, "b") == NEW
        status = tandem("enclosure", "status", d).stdout
        assert re.search(r"PFU: %s to partner \S+: complete" % NEW, status), \
            status
    finally:
        up.send_signal(signal.SIGINT)
        assert up.wait(timeout=60) == 0
    for path in [uplog, d / "run" / "a.log", d / "run" / "b.log"]:
        text = path.read_text(errors="replace") if path.exists() else ""
        assert "runtime error" not in text and "Sanitizer" not in text, \
            (path, text[-3000:])
