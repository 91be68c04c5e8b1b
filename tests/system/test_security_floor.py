"""Anti-rollback and keys (docs/bundle.md "Security version", "Keys";
docs/flash.md "Security floor"), on a running tandemd over FTP: a bundle
below the controller's security floor is refused with and without
flash:force, naming both numbers, and `tandem flash show` is byte for byte
the same after; a bundle at or above the floor loads; the floor rises only
once the new bank is confirmed and survives restarts; `rollback firmware`
to a bank below the floor is refused; a key added to the trust store
(rotation) is accepted beside the old one, and a key listed as revoked is
refused although its public key is still trusted."""
import json
import shutil
import subprocess
import time

import pytest

from conftest import program
from ftp_helpers import Controller
from test_bundle_refusals import ftp_script


def tandem(*args):
    return subprocess.run([program("tandem"), *map(str, args)],
                          capture_output=True, text=True, timeout=120)


def keygen(path):
    r = tandem("bundle", "keygen", "--out", path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[-1].startswith("key id: "), r.stdout
    return r.stdout.splitlines()[-1].split()[-1]


class Made:
    """Keys and bundles: make(version, sv, key) signs one once."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.ids = {name: keygen(tmp / name) for name in ("old", "new")}

    def make(self, version, sv=0, key="old"):
        out = self.tmp / ("%s-sv%d-%s.bundle" % (version, sv, key))
        if out.exists():
            return out
        mc = self.tmp / ("mc-%s-%d.bin" % (version, sv))
        sc = self.tmp / ("sc-%s-%d.bin" % (version, sv))
        mc.write_bytes(b"#!/bin/sh\nexit 0\n")
        sc.write_bytes((b"%s/%d/" % (version.encode(), sv)) * 20000)
        args = ["--security-version", str(sv)] if sv else []
        r = tandem("bundle", "create", "--key", self.tmp / key / "bundle.key",
                   "--version", version, "--model", "2324sa",
                   "--component", "mc=M%s:%s" % (version[-3:], mc),
                   "--component", "sc=S%s:%s" % (version[-3:], sc),
                   *args, "-o", out)
        assert r.returncode == 0, r.stderr
        return out

    def trust(self, name, *keys, revoked=()):
        """A trust store directory holding the named keys' public keys
        and, if any, the revocation list."""
        d = self.tmp / name
        d.mkdir()
        for k in keys:
            shutil.copy(self.tmp / k / "bundle.pub", d / ("%s.pub" % k))
        if revoked:
            (d / "revoked").write_text("# revoked keys\n" + "".join(
                "%s %s key withdrawn\n" % (self.ids[k], k) for k in revoked))
        return d


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    return Made(tmp_path_factory.mktemp("keys"))


def show(ctl):
    r = tandem("flash", "show", "--json", ctl.state)
    assert r.returncode == 0, r.stderr
    return r.stdout


def confirmed(ctl):
    """Waits until the restarted tandemd has confirmed its bank."""
    deadline = time.monotonic() + 20
    while json.loads(show(ctl))["trial"]:
        assert time.monotonic() < deadline, "the bank was never confirmed"
        time.sleep(0.05)


def load(ctl, bundle, target="flash"):
    """An FTP load that must succeed; tandemd restarts into it and
    confirms it."""
    r = ftp_script(ctl, "put %s %s" % (bundle, target))
    assert "Codeload completed successfully." in r.stdout, r.stdout
    ctl.restart_after_load()
    confirmed(ctl)


def refused(ctl, bundle, target, *needles):
    """An FTP load refused with 554 and every needle in its reply; the
    flash store shows the same, the daemon runs on, no restart."""
    before, pid = show(ctl), ctl.proc.pid
    r = ftp_script(ctl, "put %s %s" % (bundle, target))
    final = [ln for ln in r.stdout.splitlines() if ln.startswith("554 ")]
    assert len(final) == 1, r.stdout
    for n in needles:
        assert n in final[0], final[0]
    assert "is unchanged" in final[0], final[0]
    assert "Codeload completed successfully." not in r.stdout
    assert show(ctl) == before
    assert ctl.proc.poll() is None and ctl.proc.pid == pid
    return final[0]


def floor_of(ctl):
    st = json.loads(show(ctl))
    return st["security_floor"], st["security_version"], st["trial"]


@pytest.fixture
def ctl(made, tmp_path):
    c = Controller(tmp_path / "a", made.tmp / "old")
    yield c
    c.stop()


def test_below_floor_refused_with_and_without_force(ctl, made):
    load(ctl, made.make("TS250P003", sv=2))
    assert floor_of(ctl) == (2, 2, False)
    low = made.make("TS250P004", sv=1)
    for target in ("flash", "flash:force"):
        line = refused(ctl, low, target, "security version 1",
                       "security floor 2", "even with force")
        # Force cannot help: the reply must not suggest it.
        assert "Use flash:force" not in line, line
        st = ctl.ssh("show firmware-update-status").stdout
        assert "security floor 2" in st and "(RETURN_CODE: 27)" in st, st
    # The same through the offline tool: exit 40 + 13.
    before = show(ctl)
    ctl.stop()
    r = tandem("flash", "install", ctl.state, low, "--pubkey",
               made.tmp / "old" / "bundle.pub", "--force")
    assert r.returncode == 53, r.stderr
    assert "security floor 2" in r.stderr, r.stderr
    assert show(ctl) == before
    ctl.start()
    # At the floor, then above it: accepted.
    load(ctl, made.make("TS250P004", sv=2))
    assert floor_of(ctl) == (2, 2, False)
    load(ctl, made.make("TS250P005", sv=3))
    assert floor_of(ctl) == (3, 3, False)
    assert ctl.firmware()[0] == "TS250P005"


def test_floor_rises_only_when_confirmed_and_survives_restart(ctl, made):
    load(ctl, made.make("TS250P003", sv=2))
    r = ftp_script(ctl, "put %s flash" % made.make("TS250P006", sv=5))
    assert "Codeload completed successfully." in r.stdout, r.stdout
    assert "Bundle security version: 5." in r.stdout, r.stdout
    ctl.wait_exit()
    # Activated, on trial, not confirmed: the floor has not moved, so the
    # fallback to TS250P003 stays possible.
    assert floor_of(ctl) == (2, 5, True)
    floor_file = ctl.state / "flash" / "security-floor"
    assert floor_file.read_text() == "2\n"
    ctl.start()                       # confirms itself healthy
    confirmed(ctl)
    assert floor_of(ctl) == (5, 5, False)
    assert floor_file.read_text() == "5\n"
    ctl.stop()
    ctl.start()
    assert floor_of(ctl) == (5, 5, False)
    refused(ctl, made.make("TS250P007", sv=4), "flash:force",
            "security version 4", "security floor 5")


def test_rollback_below_floor_refused(ctl, made):
    load(ctl, made.make("TS250P003", sv=2))
    load(ctl, made.make("TS250P008", sv=3))
    before, pid = show(ctl), ctl.proc.pid
    r = ctl.ssh("rollback firmware noprompt")
    out = r.stdout + r.stderr
    assert "security version 2" in out and "security floor 3" in out, out
    assert "TS250P003" in out, out
    assert "Success" not in out, out
    assert show(ctl) == before
    assert ctl.proc.poll() is None and ctl.proc.pid == pid


def test_rotated_key_accepted_revoked_key_refused(made, tmp_path):
    state = tmp_path / "a"
    c = Controller(state, made.trust("trust-old", "old"))
    try:
        load(c, made.make("TS250P003"))
        # Not yet trusted: the new key's bundle is refused by id.
        refused(c, made.make("TS250P004", key="new"), "flash",
                "(unknown-key)", made.ids["new"])
        c.stop()
        # Rotation: the new key added beside the old one.
        c.keys = made.trust("trust-both", "old", "new")
        c.start()
        load(c, made.make("TS250P004", key="new"))
        assert c.firmware()[0] == "TS250P004"
        load(c, made.make("TS250P005", key="old"))    # still trusted
        c.stop()
        # Revocation: the old key listed as revoked, its public key still
        # in the store.
        c.keys = made.trust("trust-revoked", "old", "new", revoked=["old"])
        c.start()
        refused(c, made.make("TS250P006", key="old"), "flash:force",
                "(revoked-key)",
                "signed by revoked key %s" % made.ids["old"])
        load(c, made.make("TS250P006", key="new"))
        assert c.firmware()[0] == "TS250P006"
    finally:
        c.stop()
    # The tool says the same, with its own exit code.
    r = tandem("bundle", "verify", "--pubkey", made.tmp / "trust-revoked",
               made.make("TS250P006", key="old"))
    assert r.returncode == 34, r.stderr
    assert r.stderr.startswith("tandem bundle: revoked-key: "), r.stderr
