"""flash:force never skips a check (docs/ftp.md, DESIGN.md): a bundle for
another model, one signed by a key the controller does not trust, and one
whose manifest or signature was edited after signing (still valid JSON) are
each refused with their own reason, with force, on every way in: FTP typed
as a script types it (`ftp -inv`, `put FILE flash:force`), OpenSSH sftp and
`tandem flash install --force`. Each time the firmware before and after is
the same and tandemd still runs, without a restart."""
import subprocess

import pytest

from bundle_edit import SIGNATURE_DEFECTS, defective
from conftest import program
from ftp_helpers import MANAGE, Bundles, Controller
from test_sftp_upload import sftp_batch

# (exit code of `tandem bundle verify`, its error name, what every
# transport must say) per defect; docs/bundle.md lists the codes.
SIGNATURE_REASON = "does not match manifest.json"
DEFECTS = {
    "wrong-model": (27, "model-not-supported",
                    "is not made for model 2324sa"),
    "unknown-key": (16, "unknown-key", "which this controller does not trust"),
    **{name: (15, "bad-signature", SIGNATURE_REASON)
       for name in SIGNATURE_DEFECTS},
}


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """Keys, a good bundle TS250P003 and each defective one (newer, so only
    the defect can refuse it; force would take an older one too)."""
    tmp = tmp_path_factory.mktemp("refusals")
    b = Bundles(tmp)
    b.good = b.make("TS250P003")
    newer = b.make("TS250P004")
    other = tmp / "other"
    subprocess.run([program("tandem"), "bundle", "keygen", "--out", other],
                   check=True, capture_output=True)
    b.bad = {"wrong-model": b.make("TS250P004", model="2312fc"),
             "unknown-key": b.make("TS250P005", key=other / "bundle.key")}
    for name in SIGNATURE_DEFECTS:
        b.bad[name] = defective(newer, tmp, name)
    return b


@pytest.fixture(scope="module")
def ctl(made, tmp_path_factory):
    """One controller running TS250P003 for all refusals: none restarts it."""
    c = Controller(tmp_path_factory.mktemp("ctl") / "a", made.keys)
    try:
        r = ftp_script(c, "put %s flash" % made.good)
        assert "Codeload completed successfully." in r.stdout, r.stdout
        c.restart_after_load()
        c.before = c.firmware()
        assert c.before[0] == "TS250P003"
        yield c
    finally:
        c.stop()


def ftp_script(ctl, *commands):
    """inetutils ftp as the array's scripts drive it: `ftp -inv`, commands
    on stdin; the replies are in stdout."""
    script = "user %s %s\nbinary\n%s\nbye\n" % (*MANAGE, "\n".join(commands))
    return subprocess.run(["ftp", "-inv", "127.0.0.1", str(ctl.ftp)],
                          input=script, capture_output=True, text=True,
                          timeout=60)


def unchanged(ctl, pid):
    """Same firmware, same process: nothing installed, no restart begun."""
    assert ctl.proc.poll() is None, "tandemd stopped"
    assert ctl.proc.pid == pid
    assert ctl.firmware() == ctl.before
    r = ctl.ssh("show firmware-update-status")
    assert r.returncode == 0, r.stderr
    # The last code load failed: only a successful one schedules a restart.
    assert "Completion Status: Failed" in r.stdout, r.stdout
    assert "Codeload completed successfully." not in r.stdout


@pytest.mark.parametrize("defect", sorted(DEFECTS))
def test_verify_exit_code_per_defect(made, tandem, defect):
    code, name, reason = DEFECTS[defect]
    r = tandem("bundle", "verify", "--pubkey", made.keys / "bundle.pub",
               "--model", "2324sa", made.bad[defect])
    assert r.returncode == code, r.stderr
    assert r.stderr.startswith("tandem bundle: %s: " % name), r.stderr
    assert reason in r.stderr


@pytest.mark.parametrize("defect", sorted(DEFECTS))
def test_ftp_put_flash_force_refused(ctl, made, defect):
    pid = ctl.proc.pid
    r = ftp_script(ctl, "put %s flash:force" % made.bad[defect])
    _, name, reason = DEFECTS[defect]
    final = [l for l in r.stdout.splitlines() if l.startswith("554 ")]
    assert len(final) == 1, r.stdout
    assert final[0].startswith("554 bundle rejected (%s): " % name), final
    assert reason in final[0] and "is unchanged" in final[0], final
    assert "Codeload completed successfully." not in r.stdout
    unchanged(ctl, pid)


@pytest.mark.parametrize("defect", sorted(DEFECTS))
def test_sftp_put_flash_force_refused(ctl, made, defect, tmp_path):
    pid = ctl.proc.pid
    r = sftp_batch(ctl.ports["sftp"], *MANAGE,
                   ["put %s flash:force" % made.bad[defect]], tmp_path)
    assert r.returncode == 1, r.stderr
    # OpenSSH sftp shows only the status code: the reason is in the report.
    assert 'remote "/flash:force": Failure' in r.stderr, r.stderr
    r = sftp_batch(ctl.ports["sftp"], *MANAGE,
                   ["get progress:lastcodeload:text last.txt"], tmp_path)
    assert r.returncode == 0, r.stderr
    last = (tmp_path / "last.txt").read_text()
    _, name, reason = DEFECTS[defect]
    assert "bundle rejected (%s)" % name in last and reason in last, last
    assert "the active bank" in last and "is unchanged" in last, last
    assert "Codeload completed successfully." not in last
    unchanged(ctl, pid)


@pytest.fixture(scope="module")
def store(made, tmp_path_factory):
    state = tmp_path_factory.mktemp("offline") / "a"
    tool = program("tandem")
    subprocess.run([tool, "flash", "init", state], check=True,
                   capture_output=True)
    subprocess.run([tool, "flash", "install", state, made.good, "--pubkey",
                    made.keys / "bundle.pub"], check=True, capture_output=True)
    subprocess.run([tool, "flash", "confirm", state], check=True,
                   capture_output=True)
    return state


@pytest.mark.parametrize("defect", sorted(DEFECTS))
def test_flash_install_force_refused(store, made, tandem, defect):
    before = tandem("flash", "show", "--json", store).stdout
    assert '"bundle_version": "TS250P003"' in before, before
    r = tandem("flash", "install", store, made.bad[defect], "--pubkey",
               made.keys / "bundle.pub", "--model", "2324sa", "--force")
    assert r.returncode == 43, r.stderr
    _, name, reason = DEFECTS[defect]
    assert "(%s)" % name in r.stderr and reason in r.stderr, r.stderr
    assert tandem("flash", "show", "--json", store).stdout == before
    assert tandem("flash", "check", store).returncode == 0
