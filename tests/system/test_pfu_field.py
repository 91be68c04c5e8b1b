"""Partner firmware update on a running `tandem enclosure up`, driven as the
operator does with stock clients: inetutils ftp fed a script, OpenSSH ssh
and sftp with sshpass, and the controller's serial console on a pty.

- The field failure: B's MC flash fails in loads the partner pushes, PFU
  tries exactly the limit, backs off between tries, halts with a critical
  event, and both controllers keep serving; then the field procedure on
  B's console (disable PFU, enable FTP, `put ... flash:force`) brings the
  pair level, and PFU, enabled again, sends nothing more.
- A healthy PFU: one transfer, the progress tools poll, the partner's
  outcome in the last code load's text; the same bundle again is a no-op.
- The PFU setting holds on both controllers, also when changed while A is
  powered off."""
import re
import subprocess
import threading
import time

import pytest

from enclosure_helpers import (Console, Enclosure, own_addresses, tandem,
                               versions, wait_for)

PORT_BASE = 50000
NEW = "TS250P003"           # init's bundle with a new MC
NEW_MC = "TSM250P003"
OLD = "TS250P001"           # the factory bundle both controllers start on
OLD_MC = "TSM250R01"
LIMIT = 3                   # pfu-attempt-limit's default


@pytest.fixture
def enclosure(tmp_path):
    started = []

    def up(*faults):
        e = Enclosure(tmp_path, own_addresses(150), PORT_BASE, faults)
        started.append(e)
        return e
    yield up
    for e in started:
        if e.proc.poll() is None:
            e.stop()


def count(text, pattern):
    return len(re.findall(pattern, text, re.M))


SENDING = r"^\S+ \S+ \[269\] #A\d+: .* PFU sending package to partner"
RECEIVING = r"^\S+ \S+ \[269\] #B\d+: .* receiving bundle %s from " \
    r"controller A" % NEW
HALTED = r"^\S+ \S+ \[269\] #A\d+: .* Controller A CRITICAL Partner " \
    r"Firmware Update halted after %d failed attempts" % LIMIT


def ftp_login(enc, ctl):
    """inetutils ftp: log in and leave; the client's whole dialogue."""
    addr, port = enc.ports[(ctl, "ftp")]
    r = subprocess.run(["ftp", "-inv"], input="open %s %d\nuser manage "
                       "\"!manage\"\nbye\n" % (addr, port),
                       capture_output=True, text=True, timeout=30)
    return r.stdout + r.stderr


def serving(enc):
    """Both controllers answer the CLI and FTP."""
    for ctl in "ab":
        out = enc.cli(ctl, "show system")
        assert "Success: Command completed successfully." in out, out
        assert "230 Login successful." in ftp_login(enc, ctl)


def fw_status(enc, ctl):
    return enc.cli(ctl, "show firmware-update-status")


def field(text, name):
    m = re.search(r"^%s: (.*)$" % re.escape(name), text, re.M)
    return m and m.group(1)


def backoff_seconds(enc):
    return int(field(enc.cli("a", "show advanced-settings"),
                     "PFU Retry Delay (s)"))


@pytest.mark.parametrize("fault, clear", [
    ("write-error=mc@partner", False),     # as in the field: nothing cleared
    ("write-error=mc", True),              # B's flash fixed before the flash
], ids=["partner-only", "cleared-live"])
def test_field_failure_then_field_procedure(enclosure, fault, clear):
    enc = enclosure("b:" + fault)
    assert "Success" in enc.cli("a", "set protocols ftp enabled")
    b_pid = enc.pid("b")

    reply = enc.ftp_put("a", enc.bundle(NEW))
    assert "Codeload completed successfully." in reply, reply
    assert "RETURN_CODE: 9" in reply, reply

    # A restarts into the new bundle and confirms it, then pushes to B.
    wait_for(lambda: versions(enc, "a", "a").get("Bundle Version") == NEW,
             what="A on the new bundle")
    wait_for(lambda: count(enc.events("a"), SENDING) >= 1,
             what="the first PFU attempt")
    # Both keep serving while PFU tries (between its first attempt and the
    # halt, a back-off of seconds at least) and after it halts.
    checks = 0

    def halted():
        nonlocal checks
        status = fw_status(enc, "a")
        if "PFU Status: Halted" in status:
            return status
        serving(enc)
        checks += 1
        return None
    status = wait_for(halted, timeout=120, what="PFU to halt")
    assert checks >= 1
    serving(enc)

    # What the operator sees on A.
    assert field(status, "PFU Attempts") == "%d of %d" % (LIMIT, LIMIT)
    assert field(status, "PFU Target Bundle") == NEW
    reason = field(status, "PFU Reason")
    # B's own error, word for word as B's update engine logged it.
    own = re.search(r"#B\d+: .* ERROR Firmware update progress: the code "
                    r"load failed: (.+)\. The firmware was not changed\.$",
                    enc.events("b"), re.M)
    assert own and "writing mc to bank" in own.group(1), own
    assert reason.endswith("while installing on the partner: " +
                           own.group(1)), (reason, own.group(1))
    ways = field(status, "PFU Ways Out")
    assert ways.startswith("Roll forward:") and "flash it to %s by hand" \
        % NEW in ways and "Or roll back:" in ways \
        and "`rollback firmware`" in ways, ways
    assert field(status, "Partner Outcome").startswith(
        "Partner: Codeload failed: writing mc to bank"), status
    # `show system` is the enclosure's: both controllers say PFU halted
    # and the system degraded, each naming where to look.
    system = enc.cli("a", "show system")
    assert field(system, "PFU Status") == "Halted", system
    assert field(system, "Health") == "Degraded", system
    assert field(system, "Health Reason").startswith(
        "Partner firmware upgrade halted: %d attempts failed" % LIMIT)
    system = enc.cli("b", "show system")
    assert field(system, "PFU Status") == "Halted", system
    assert field(system, "Health") == "Degraded", system
    assert field(system, "Health Reason") == "Partner firmware upgrade " \
        "halted on controller A (show firmware-update-status there).", system
    health = enc.cli("a", "check firmware-upgrade-health")
    assert field(health, "Overall Health") == "Fail", health
    assert field(health, "Reason ID") == "pfu-halted", health
    assert field(health, "Readiness Reason").startswith(
        "Partner firmware upgrade halted: %d attempts failed" % LIMIT)
    for ctl in "ab":
        ev = enc.events(ctl)
        assert count(ev, HALTED) == 1, ev
        assert count(ev, SENDING) == LIMIT, ev
        assert count(ev, RECEIVING) == LIMIT, ev
        # Backed off after each failure but the last, then halted.
        assert count(ev, r"PFU state: Sending -> Backoff \(attempt \d of "
                     r"%d failed" % LIMIT) == LIMIT - 1, ev
        assert count(ev, r"PFU state: Sending -> Halted") == 1, ev
        for n in range(1, LIMIT + 1):
            assert "PFU attempt %d of %d failed: writing mc to bank" \
                % (n, LIMIT) in ev, ev
    # B never restarted and runs its old bundle; its flash store is sound.
    assert enc.pid("b") == b_pid
    assert versions(enc, "b", "b")["Bundle Version"] == OLD
    assert versions(enc, "b", "b")["Management Controller Code Version"] \
        == OLD_MC
    st = tandem("enclosure", "status", enc.dir).stdout
    assert "controller B: bundle %s" % OLD in st, st
    assert re.search(r"^controller A: .*\n.*\n  PFU: %s to partner TDB\w+: "
                     r"halted, 3 attempts; last failure: writing mc" % NEW,
                     st, re.M), st
    # B's copy of the record, read as such.
    assert re.search(r"^controller B: .*\n.*\n  PFU: %s from the partner to "
                     r"this controller: halted, 3 attempts" % NEW, st,
                     re.M), st
    assert tandem("flash", "check", enc.dir / "b").returncode == 0

    # The operator closes FTP (an enclosure setting: both controllers).
    assert "Success" in enc.cli("a", "set protocols ftp disabled")
    wait_for(lambda: "230 Login successful." not in ftp_login(enc, "b"),
             what="B's FTP to close")

    if clear:
        assert enc.fault("b", "clear").strip() == \
            "controller B: no fault points armed"

    # The field procedure, typed on B's console.
    con = Console(enc.dir, "b")
    con.login()
    out = con.run("set advanced-settings partner-firmware-upgrade disabled")
    assert "Success: Command completed successfully." in out, out
    out = con.run("set protocols ftp enabled")
    assert "Success: Command completed successfully." in out, out
    con.detach()
    # Disabled on B holds on A.
    wait_for(lambda: field(enc.cli("a", "show advanced-settings"),
                           "Partner Firmware Upgrade") == "Disabled",
             what="the setting on A")
    assert field(enc.cli("a", "show system"), "PFU Status") == "Disabled"

    reply = wait_for(lambda: (lambda r: "230 Login successful." in r and r)(
        enc.ftp_put("b", enc.bundle(NEW), "flash:force")),
        what="B's FTP to open")
    assert "Codeload completed successfully." in reply, reply
    assert "MC Software: SUCCESSFUL" in reply, reply
    if not clear:
        # Nothing was disarmed: the operator's load simply is not PFU's.
        armed = (enc.dir / "run" / "b.faults.armed").read_text()
        assert "armed write-error=mc@partner" in armed, armed
    wait_for(lambda: enc.pid("b") != b_pid, what="B to restart")

    def level():
        seen = {}
        for on in "ab":
            va, vb = versions(enc, on, "a"), versions(enc, on, "b")
            if not (va.get("Bundle Version") == vb.get("Bundle Version")
                    == NEW):
                return None
            seen[on] = va, vb
        return seen
    # On either controller, both controllers' versions are equal (the
    # partner's MC loader version included: it travels with its state).
    for on, (va, vb) in wait_for(level, what="both on %s" % NEW).items():
        assert va == vb, (on, va, vb)
        assert vb["Management Controller Code Version"] == NEW_MC
        assert vb["Management Controller Loader Code Version"] != "N/A"

    # The new MC on B: the console shows its login prompt.
    con = Console(enc.dir, "b")
    con.login()
    out = con.run("show versions")
    assert out.count("Bundle Version: %s" % NEW) == 2, out
    out = con.run("set advanced-settings partner-firmware-upgrade enabled")
    assert "Success: Command completed successfully." in out, out
    out = con.run("set protocols ftp disabled")
    assert "Success: Command completed successfully." in out, out
    con.detach()

    # PFU looks again: the partner runs the target, nothing to send.
    status = wait_for(lambda: (lambda s: "PFU Status: Complete" in s and s)(
        fw_status(enc, "a")), what="PFU to see the pair level")
    assert field(status, "PFU Reason") == "the partner runs %s" % NEW
    assert field(status, "PFU Attempts") == "0 of %d" % LIMIT
    # Absence of a further attempt: give PFU a whole back-off period.
    time.sleep(backoff_seconds(enc) + 1)
    for ctl in "ab":
        ev = enc.events(ctl)
        assert count(ev, SENDING) == LIMIT, ev
        assert count(ev, RECEIVING) == LIMIT, ev
    health = enc.cli("a", "check firmware-upgrade-health")
    assert field(health, "Overall Health") == "Pass", health
    for ctl in "ab":
        system = enc.cli(ctl, "show system")
        assert field(system, "Health") == "OK", system
    assert field(enc.cli("a", "show system"), "PFU Status") == "Complete"
    assert "230 Login successful." not in ftp_login(enc, "b")
    assert tandem("flash", "check", enc.dir / "b").returncode == 0


class ProgressPoll(threading.Thread):
    """Polls SFTP `get progress` on both controllers, as tools do, and
    keeps every activity seen for each controller."""

    def __init__(self, enc):
        super().__init__(daemon=True)
        self.enc, self.seen, self.halt = enc, {"A": set(), "B": set()}, \
            threading.Event()

    def run(self):
        while not self.halt.is_set():
            for ctl in "ab":
                for who, act in activities(self.enc, ctl) or ():
                    self.seen[who].add(act)

    def stop(self):
        self.halt.set()
        self.join(timeout=120)


def activities(enc, ctl):
    """[(controller, activity)] of `get progress` on ctl, or None."""
    xml = enc.sftp_get(ctl, "progress")
    if xml is None:
        return None
    return re.findall(r'display-name="Controller">([AB])</PROPERTY>\n'
                      r'(?:.*\n)*?.*display-name="Activity">([a-z]*)<', xml)


def test_healthy_pfu_one_transfer_then_versions_match(enclosure):
    enc = enclosure()
    assert "Success" in enc.cli("a", "set protocols ftp enabled")
    poll = ProgressPoll(enc)
    poll.start()
    try:
        reply = enc.ftp_put("a", enc.bundle(NEW))
        assert "Codeload completed successfully." in reply, reply
        wait_for(lambda: all(versions(enc, on, of).get("Bundle Version")
                             == NEW for on in "ab" for of in "ab"),
                 timeout=120, what="both controllers on %s" % NEW)
        wait_for(lambda: "PFU Status: Complete" in fw_status(enc, "a"),
                 what="PFU to complete")
    finally:
        poll.stop()
    # Tools poll until both controllers say none.
    for ctl in "ab":
        assert sorted(activities(enc, ctl)) == [("A", "none"),
                                                ("B", "none")]
    # While it ran, each controller was seen in a code load or idle (or not
    # answering while its MC restarted); the final state is asserted above.
    for who in "AB":
        assert poll.seen[who] <= {"codeload", "none", "unknown"}, poll.seen
    text = enc.sftp_get("a", "progress:lastcodeload:text")
    assert "Codeload completed successfully." in text, text
    assert "Partner: Codeload completed successfully." in text, text

    ev = enc.events("b")
    assert count(ev, RECEIVING) == 1, ev
    assert count(ev, SENDING) == 1, ev
    va, vb = versions(enc, "a", "a"), versions(enc, "a", "b")
    assert va == vb, (va, vb)
    assert vb["Management Controller Code Version"] == NEW_MC

    # The same bundle again: a successful no-op that sends nothing.
    record = (enc.dir / "a" / "config" / "pfu.json").read_bytes()
    reply = enc.ftp_put("a", enc.bundle(NEW))
    assert "Not attempted (Versions match)" in reply, reply
    assert "RETURN_CODE: 8" in reply, reply
    # PFU looks again (the status it shows is then Idle: the last load
    # installed nothing), and finds nothing to do.
    status = wait_for(lambda: (lambda s: "PFU Status: Idle" in s and s)(
        fw_status(enc, "a")), what="PFU to look at the no-op")
    assert field(status, "Last Outcome") == \
        "Not attempted (Versions match) (RETURN_CODE: 8)", status
    assert field(status, "PFU Reason") == \
        "bundle %s was not installed by the last code load" % NEW, status
    time.sleep(backoff_seconds(enc) + 1)    # a PFU pass had its chance
    assert (enc.dir / "a" / "config" / "pfu.json").read_bytes() == record
    ev = enc.events("b")
    assert count(ev, RECEIVING) == 1, ev
    assert versions(enc, "b", "b")["Bundle Version"] == NEW


def pfu_setting(enc, ctl):
    return field(enc.cli(ctl, "show advanced-settings"),
                 "Partner Firmware Upgrade")


def test_pfu_setting_holds_on_both_and_reaches_a_powered_off(enclosure,
                                                               tmp_path):
    enc = enclosure()
    con = Console(enc.dir, "b")
    con.login()
    out = con.run("set advanced-settings partner-firmware-upgrade disabled")
    assert "Success" in out, out
    con.detach()
    wait_for(lambda: pfu_setting(enc, "a") == "Disabled",
             what="B's change on A")
    assert "Setting 'partner-firmware-upgrade' was set to 'Disabled' on " \
        "controller B (mirrored from the partner)." in enc.events("a")

    out = enc.cli("a", "set advanced-settings partner-firmware-upgrade "
                  "enabled")
    assert "Success" in out, out
    wait_for(lambda: pfu_setting(enc, "b") == "Enabled",
             what="A's change on B")

    # Changed while A is off: `shutdown a` leaves A off until `up` runs
    # again, which powers it on.
    out = enc.cli("a", "shutdown a")
    assert "Success" in out, out
    wait_for(lambda: "controller A is shut down" in enc.uplog.read_text(),
             what="A to power off")
    wait_for(lambda: field(enc.cli("b", "show system"), "Other MC Status")
             == "Not Operational", what="B to see A gone")
    out = enc.cli("b", "set advanced-settings partner-firmware-upgrade "
                  "disabled")
    assert "Success" in out, out
    enc.stop()
    enc = enclosure()                     # the same directory: power on
    wait_for(lambda: pfu_setting(enc, "a") == "Disabled",
             what="the change made while A was off")
    assert pfu_setting(enc, "b") == "Disabled"
    assert field(enc.cli("a", "show system"), "PFU Status") == "Disabled"
