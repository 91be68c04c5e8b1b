"""A code load that fails is never reported as a success, and a client
cannot hold the code-load lock: a failure at each finishing step (the
read-back, the boot record write) ends in a failure code for curl, lftp and
inetutils ftp, both when the reply was held until the outcome and when the
load outlasted the hold and a 226- reply had begun (--ftp-reply-hold 0);
a stream that is not a bundle is refused within its first MiB; a stalled
upload frees the lock after --upload-stall seconds, with an event; and the
bytes received move during a member, not only between members."""
import ftplib
import re
import socket
import subprocess
import threading
import time

import pytest

from ftp_helpers import MANAGE, Bundles, Controller

MIB = 1 << 20


@pytest.fixture(scope="module")
def bundles(tmp_path_factory):
    return Bundles(tmp_path_factory.mktemp("bundles"))


def curl(ctl, path):
    r = subprocess.run(
        ["curl", "-sS", "-v", "-T", str(path),
         "ftp://manage:%%21manage@127.0.0.1:%d/flash" % ctl.ftp],
        capture_output=True, text=True, timeout=60)
    replies = [ln[2:] for ln in r.stderr.splitlines() if ln.startswith("< ")]
    return r.returncode, replies, r.stderr


def lftp(ctl, path):
    # -d prints the server's replies ("<--- "). lftp's own settings: it
    # uploads again after a 4xx to STOR, which the tests below rule out.
    r = subprocess.run(
        ["lftp", "-d", "-u", "%s,%s" % MANAGE, "-p", str(ctl.ftp), "-e",
         "put %s -o flash; bye" % path, "127.0.0.1"],
        capture_output=True, text=True, timeout=60)
    out = r.stdout + r.stderr
    replies = [ln.split("<--- ", 1)[1] for ln in out.splitlines()
               if "<--- " in ln]
    return r.returncode, replies, out


def inetutils(ctl, path):
    script = "user %s %s\nbin\nput %s flash\nbye\n" % (MANAGE[0], MANAGE[1],
                                                       path)
    r = subprocess.run(["ftp", "-inv", "127.0.0.1", str(ctl.ftp)],
                       input=script, capture_output=True, text=True,
                       timeout=60)
    return r.returncode, r.stdout.splitlines(), r.stdout + r.stderr


CLIENTS = {"curl": curl, "lftp": lftp, "inetutils": inetutils}


def final_code(client, replies):
    """The code the client ended the STOR's reply on: the first reply line
    'NNN ' after the 150 (lftp and curl end at any code there; inetutils
    only at the code the reply began with, or at a closed connection)."""
    after = replies[[i for i, ln in enumerate(replies)
                     if ln.startswith("150")][0] + 1:]
    begun = None
    for ln in after:
        m = re.match(r"^(\d{3})([ -])", ln)
        if not m:
            continue
        if m.group(2) == "-":
            begun = begun or m.group(1)
            continue
        if client == "inetutils" and begun and m.group(1) not in (begun,
                                                                  "421"):
            continue
        return int(m.group(1))
    raise AssertionError("no end to the STOR reply in %r" % after)


def fresh(tmp_path, bundles, name, *extra, faults=None):
    """A controller running TS250P003, then restarted with faults armed."""
    ctl = Controller(tmp_path / name, bundles.keys, *extra)
    f = ftplib.FTP()
    f.connect("127.0.0.1", ctl.ftp, timeout=60)
    f.login(*MANAGE)
    with open(bundles.make("TS250P003"), "rb") as fh:
        assert "Codeload completed" in f.storbinary("STOR flash", fh)
    f.close()
    ctl.restart_after_load()
    assert ctl.firmware()[0] == "TS250P003"
    if faults:
        ctl.stop()
        ctl.env["TANDEM_FAULTS"] = faults
        ctl.start()
    return ctl


@pytest.mark.parametrize("hold", ["held", "begun"])
@pytest.mark.parametrize("fault, says", [
    ("corrupt=sc", "read-back of sc failed"),
    ("write-error=bootrec", "writing boot record"),
])
@pytest.mark.parametrize("client", sorted(CLIENTS))
def test_finishing_failure_ends_in_a_failure_code(tmp_path, bundles, client,
                                                  fault, says, hold):
    extra = ("--ftp-reply-hold", "0") if hold == "begun" else ()
    ctl = fresh(tmp_path, bundles, "c", *extra, faults=fault)
    try:
        before = ctl.firmware()
        rc, replies, out = CLIENTS[client](ctl, bundles.make("TS250P013"))
        code = final_code(client, replies)
        assert code >= 400, out
        assert says in out, out
        assert "226 Operation complete." not in out, out
        begun = any(ln.startswith("226-") for ln in replies)
        assert begun == (hold == "begun"), out
        if client != "inetutils":   # inetutils ftp exits 0 whatever
            assert rc != 0, out
        assert ctl.firmware() == before
        # Once: a client that retried would have flashed twice.
        events = ctl.ssh("show events last 20").stdout
        assert events.count("a code load started") == 2, events
        assert ctl.proc.poll() is None
    finally:
        ctl.stop()
