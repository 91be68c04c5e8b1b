"""Component handlers (docs/handlers.md), with the simulator's own handler
(sim/handlers/device-file) for the SC image: a load installs and verifies
the image in its device before the bank is activated; `show versions`
reports what the handler says the device runs; a handler that fails
refuses the load with its message (RETURN_CODE 28), activates nothing and
gives the devices back the active bundle; a roll-back's devices follow
the bank at the next start; a bad --handler is refused at start."""
import ftplib
import pathlib
import re
import subprocess

import pytest

from conftest import ROOT, program
from ftp_helpers import MANAGE, Bundles, Controller, RESTART

HANDLER = ROOT / "sim" / "handlers" / "device-file"


@pytest.fixture(scope="module")
def bundles(tmp_path_factory):
    return Bundles(tmp_path_factory.mktemp("bundles"))


def put(ctl, bundle):
    """STOR flash: the reply's text, or the ftplib error's."""
    f = ftplib.FTP()
    f.connect("127.0.0.1", ctl.ftp, timeout=60)
    f.login(*MANAGE)
    try:
        with open(bundle, "rb") as fh:
            return True, f.storbinary("STOR flash", fh)
    except ftplib.Error as err:
        return False, str(err)
    finally:
        f.close()


def sc_version(ctl):
    """The SC version `show versions` gives for this controller."""
    r = ctl.ssh("show versions")
    assert r.returncode == 0, r.stderr
    for line in r.stdout.splitlines():
        if line.startswith("Storage Controller Code Version:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(r.stdout)


def device(state):
    return pathlib.Path(state) / "devices"


def storage(tmp_path, backend):
    """tandemd's storage options: the dir store, or the block backend on
    files standing in for three partitions (handlers then read checked
    copies of the images, docs/handlers.md)."""
    if backend == "dir":
        return []
    parts = []
    for name, size in (("bank0", 8 << 20), ("bank1", 8 << 20),
                       ("bootrec", 64 << 10)):
        with open(tmp_path / name, "wb") as f:
            f.truncate(size)
        parts.append(tmp_path / name)
    return ["--storage", "block", "--storage-bank0", parts[0],
            "--storage-bank1", parts[1], "--storage-bootrec", parts[2]]


@pytest.mark.parametrize("backend", ["dir", "block"])
def test_load_installs_through_the_handler_and_versions_come_from_it(
        tmp_path, bundles, backend):
    state = tmp_path / "a"
    ctl = Controller(state, bundles.keys, "--handler", "sc:%s" % HANDLER,
                     *storage(tmp_path, backend))
    try:
        b = bundles.make("TS250P010")
        ok, text = put(ctl, b)
        assert ok, text
        assert "installed and verified by its handler; it reports " \
            "version S010" in text, text
        # The device holds the image, written before the bank was made
        # active, byte for byte.
        sc = (device(state) / "sc.img").read_bytes()
        assert sc == (bundles.tmp / "sc-TS250P010.bin").read_bytes()
        ctl.restart_after_load()
        assert sc_version(ctl) == "S010"
        # What the device says it runs, not what the bank lists.
        (device(state) / "sc.version").write_text("S010-field-fix\n")
        assert sc_version(ctl) == "S010-field-fix"
        assert ctl.firmware()[0] == "TS250P010"
        # A device that cannot tell: N/A, never the bank's word.
        (device(state) / "sc.version").unlink()
        assert sc_version(ctl) == "N/A"
    finally:
        ctl.stop()


@pytest.mark.parametrize("backend", ["dir", "block"])
@pytest.mark.parametrize("fault,message", [
    ("install", "the simulated sc device refused the image"),
    ("verify", "the simulated sc device gives back other data"),
])
def test_failing_handler_refuses_the_load_and_activates_nothing(
        tmp_path, bundles, fault, message, backend):
    state = tmp_path / "a"
    ctl = Controller(state, bundles.keys, "--handler", "sc:%s" % HANDLER,
                     *storage(tmp_path, backend))
    try:
        ok, text = put(ctl, bundles.make("TS250P010"))
        assert ok, text
        ctl.restart_after_load()
        before = ctl.firmware()
        image = (device(state) / "sc.img").read_bytes()
        (device(state) / ("fail-" + fault)).write_text("sc\n")
        ok, text = put(ctl, bundles.make("TS250P011"))
        assert not ok, text
        assert text.startswith("551"), text
        assert message in text, text
        assert "\nRETURN_CODE: 28\n" in text, text
        assert "not activated; the active bank (1) is unchanged" in text, \
            text
        # Nothing activated: the same bank and images, no restart, and
        # the device back on the active bundle's image and version.
        assert ctl.proc.poll() is None
        assert ctl.firmware() == before
        (device(state) / ("fail-" + fault)).unlink()
        assert (device(state) / "sc.img").read_bytes() == image
        assert sc_version(ctl) == "S010"
        # The last code load's report keeps the handler's message.
        r = ctl.ssh("show firmware-update-status")
        assert message in r.stdout, r.stdout
    finally:
        ctl.stop()


def test_devices_follow_the_active_bank_at_start(tmp_path, bundles):
    """A device left on another version (here: changed behind the
    daemon's back, as a roll-back leaves it) gets the active bank's image
    at the next start."""
    state = tmp_path / "a"
    ctl = Controller(state, bundles.keys, "--handler", "sc:%s" % HANDLER)
    try:
        ok, text = put(ctl, bundles.make("TS250P010"))
        assert ok, text
        ctl.restart_after_load()
        (device(state) / "sc.img").write_bytes(b"other firmware")
        (device(state) / "sc.version").write_text("S999\n")
        ctl.stop()
        ctl.start()
        assert sc_version(ctl) == "S010"
        assert (device(state) / "sc.img").read_bytes() == \
            (bundles.tmp / "sc-TS250P010.bin").read_bytes()
    finally:
        ctl.stop()


@pytest.mark.parametrize("spec,why", [
    ("sc", "expected TYPE:PATH"),
    ("sc:relative/path", "must be absolute"),
    ("sc:/nonexistent/handler", "No such file"),
    ("sc:{tmp}/plain", "not an executable file"),
    ("bad name:/bin/true", "not a component name"),
])
def test_bad_handler_option_is_refused(tmp_path, spec, why):
    (tmp_path / "plain").write_text("#!/bin/sh\n")
    (tmp_path / "plain").chmod(0o644)
    r = subprocess.run([program("tandemd"), "--state", str(tmp_path / "a"),
                        "--handler", spec.format(tmp=tmp_path), "-n"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2, r.stderr
    assert why in r.stderr, r.stderr


def test_two_handlers_for_one_type_refused(tmp_path):
    r = subprocess.run([program("tandemd"), "--state", str(tmp_path / "a"),
                        "--handler", "sc:%s" % HANDLER,
                        "--handler", "sc:/bin/true", "-n"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "has a handler already" in r.stderr, \
        r.stderr
    r = subprocess.run([program("tandemd"), "--state", str(tmp_path / "a"),
                        "--handler", "sc:%s" % HANDLER, "-n"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and "handler sc:%s" % HANDLER in r.stdout, \
        r.stdout + r.stderr


def test_simulator_devices_follow_loads_and_a_failing_handler_refuses(
        tmp_path):
    """In `tandem enclosure up` each controller's SC and EC are devices
    programmed by the simulator's handler: provisioned with the factory
    bundle at first start, reported by show versions on both controllers
    (the partner's through the link), updated by a load, and a device that
    refuses its image refuses the load on that controller only."""
    from enclosure_helpers import Enclosure, own_addresses, versions, \
        wait_for
    enc = Enclosure(tmp_path, own_addresses(230), 57000)
    try:
        for ctl in "ab":
            dev = enc.dir / ctl / "devices"
            assert (dev / "sc.version").read_text().strip() == "TSS250R01"
            assert (dev / "ec.version").exists()
        # B's SC device as A's show versions reports it, over the link.
        (enc.dir / "b" / "devices" / "sc.version").write_text("TSS-B\n")
        assert versions(enc, "b", "b")["Storage Controller Code Version"] \
            == "TSS-B"
        wait_for(lambda: versions(enc, "a", "b").get(
            "Storage Controller Code Version") == "TSS-B",
            what="A to see B's SC as B's handler reports it")
        (enc.dir / "b" / "devices" / "sc.version").write_text(
            "TSS250R01\n")
        versions(enc, "b", "b")     # asks B's handler again
        # A refusing SC device on B: B's load fails with its message,
        # B stays on its bundle; A's own load is unaffected.
        for ctl in "ab":
            assert "Success" in enc.cli(ctl, "set protocols ftp enabled")
        (enc.dir / "b" / "devices" / "fail-install").write_text("sc\n")
        out = enc.ftp_put("b", enc.bundle("TS250P002"))
        assert "the simulated sc device refused the image" in out, out
        assert "RETURN_CODE: 28" in out, out
        assert versions(enc, "b", "b")["Bundle Version"] == "TS250P001"
        assert (enc.dir / "b" / "devices" / "sc.version").read_text() \
            .strip() == "TSS250R01"
        # A's readiness check waits until it has seen B's load end.
        wait_for(lambda: re.search(r"Overall Health: +Pass", enc.cli(
            "a", "check firmware-upgrade-health")), what="A ready to load")
        out = enc.ftp_put("a", enc.bundle("TS250P002"))
        assert "Codeload completed successfully." in out, out
        assert "installed and verified by its handler" in out, out
        wait_for(lambda: versions(enc, "a", "a").get("Bundle Version") ==
                 "TS250P002", timeout=120, what="A on TS250P002")
        sc = versions(enc, "a", "a")["Storage Controller Code Version"]
        assert sc == (enc.dir / "a" / "devices" / "sc.version") \
            .read_text().strip()
        assert sc != "TSS250R01"
    finally:
        enc.stop()
