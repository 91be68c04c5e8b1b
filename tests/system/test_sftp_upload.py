"""SFTP code loads with stock clients: OpenSSH sftp in batch mode (sshpass),
curl sftp:// and paramiko for the requests stock clients never send. Behind
the subsystem is the real update engine: verify, write the inactive bank,
read back, activate; then tandemd exits 75 (CONTROLLER_EXIT_RESTART) for its
supervisor, which here is the test: it starts tandemd again on the same
state dir and checks `show versions` and `tandem flash show`."""
import json
import os
import subprocess
import time
import xml.etree.ElementTree as ET

import paramiko
import pytest

from conftest import program
from test_transport_shell import (MANAGE, SSH_OPTS, Tandemd,
                                  paramiko_client, ssh_run)

EXIT_RESTART = 75


@pytest.fixture
def bundles(tmp_path, tandem):
    keys = tmp_path / "keys"
    tandem("bundle", "keygen", "--out", keys, check=True)
    other = tmp_path / "other"
    tandem("bundle", "keygen", "--out", other, check=True)
    (tmp_path / "mc.bin").write_bytes(os.urandom(300000))
    made = {}
    for name, key, version in (("good", keys, "TS250P003"),
                               ("newer", keys, "TS250P004"),
                               ("foreign", other, "TS250P005")):
        out = tmp_path / (name + ".tar")
        tandem("bundle", "create", "--key", key / "bundle.key", "--version",
               version, "--model", "2324sa", "--component",
               "mc=TSM%s:%s" % (version[2:], tmp_path / "mc.bin"), "-o", out,
               check=True)
        made[name] = out
    data = made["good"].read_bytes()
    made["truncated"] = tmp_path / "truncated.tar"
    made["truncated"].write_bytes(data[:len(data) // 2])
    made["keys"] = keys
    return made


def start(tmp_path, bundles):
    return Tandemd(tmp_path / "state", "--keys", bundles["keys"],
                   "--model", "2324sa")


@pytest.fixture
def tandemd(tmp_path, bundles):
    d = start(tmp_path, bundles)
    yield d
    if d.proc.poll() is None:
        assert d.stop() == 0


def flash_show(tmp_path):
    r = subprocess.run([program("tandem"), "flash", "show", "--json",
                        str(tmp_path / "state")], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def assert_unchanged(d, tmp_path):
    """The firmware is as a fresh controller has it, and tandemd runs on."""
    assert flash_show(tmp_path)["bundle_version"] == ""
    r = ssh_run(d.ports["ssh"], *MANAGE, "show versions")
    assert r.returncode == 0, r.stderr
    assert "Bundle Version: N/A" in r.stdout
    assert d.proc.poll() is None


def restarted(d, tmp_path, bundles):
    """Waits for the MC restart a code load schedules, then starts tandemd
    again on the same state, as its supervisor would."""
    rc = d.proc.wait(timeout=15)
    err = d.proc.stderr.read().decode(errors="replace")
    assert rc == EXIT_RESTART, err
    assert "runtime error" not in err and "Sanitizer" not in err, err
    return start(tmp_path, bundles)


def assert_running(d, version):
    """`show versions` over ssh exec shows the bundle, confirmed."""
    r = ssh_run(d.ports["ssh"], *MANAGE, "show versions")
    assert r.returncode == 0, r.stderr
    assert "Bundle Version: %s\n" % version in r.stdout, r.stdout
    assert "Management Controller Code Version: TSM%s\n" % version[2:] \
        in r.stdout


def restarts_scheduled(d):
    """How many MC restarts the event log holds: each is logged (event
    1009) as it is scheduled, before its delay runs."""
    r = ssh_run(d.ports["ssh"], *MANAGE, "show events")
    assert r.returncode == 0, r.stderr
    return r.stdout.count("Management controller A restarting in")


def sftp_batch(port, user, password, commands, cwd):
    batch = cwd / "batch"
    batch.write_text("".join(c + "\n" for c in commands))
    # sftp -b turns BatchMode on, which forbids passwords; sshpass needs it off.
    return subprocess.run(
        ["sshpass", "-p", password, "sftp", *SSH_OPTS, "-o", "BatchMode=no",
         "-P", str(port), "-b", str(batch), "%s@127.0.0.1" % user],
        capture_output=True, text=True, timeout=60, cwd=cwd)


def progress(text):
    """controller A's properties from the `get progress` document."""
    root = ET.fromstring(text)
    assert root.tag == "RESPONSE"
    objs = {o.get("name"): {p.get("name"): p.text for p in o.iter("PROPERTY")}
            for o in root.iter("OBJECT")}
    return objs["controller-a-progress"]


def test_openssh_sftp_put_flash_and_get_progress(tandemd, bundles, tmp_path):
    r = sftp_batch(tandemd.ports["sftp"], *MANAGE,
                   ["put %s flash" % bundles["good"], "get progress p.xml",
                    "get progress:lastcodeload:text last.txt",
                    # The MC restarts in 2 s: nothing more is taken.
                    "put %s flash:force" % bundles["newer"]], tmp_path)
    last = (tmp_path / "last.txt").read_text()
    assert "Bundle TS250P003 (built " in last
    assert "Controller A current bundle: none, loading bundle TS250P003" in last
    assert "STATUS: Updated Management Controller firmware to TSM250P003." \
        in last
    assert "Codeload completed successfully.\n" in last
    assert "RETURN_CODE: " in last
    props = progress((tmp_path / "p.xml").read_text())
    assert props["activity"] == "none"
    assert props["controller"] == "A"
    assert props["last-codeload"] == "success"
    assert props["last-codeload-version"] == "TS250P003"
    # The second put was refused: the batch failed on it.
    assert r.returncode == 1
    assert 'dest open "/flash:force": Failure' in r.stderr, r.stderr
    fl = flash_show(tmp_path)
    assert fl["bundle_version"] == "TS250P003"
    # The flash store counts the components' bytes it took in, not the
    # tar's headers and padding.
    assert int(props["bytes-received"]) == \
        sum(c["size"] for c in fl["components"])
    assert fl["trial"] is True                   # until the MC starts again
    d = restarted(tandemd, tmp_path, bundles)
    try:
        assert_running(d, "TS250P003")
        assert flash_show(tmp_path)["trial"] is False   # confirmed at start
    finally:
        assert d.stop() == 0


def test_openssh_sftp_force_target_and_ssh_port(tandemd, bundles, tmp_path):
    """The SSH port serves sftp too; the same version loads only with
    flash:force."""
    r = sftp_batch(tandemd.ports["ssh"], *MANAGE,
                   ["put %s flash" % bundles["good"]], tmp_path)
    assert r.returncode == 0, r.stderr
    d = restarted(tandemd, tmp_path, bundles)
    try:
        # tandemd confirms its trial boot (a boot record write) just
        # after its listeners open: count writes from after that.
        deadline = time.monotonic() + 10
        while flash_show(tmp_path)["trial"]:
            assert time.monotonic() < deadline, "never confirmed"
            time.sleep(0.05)
        seq = flash_show(tmp_path)["sequence"]
        restarts = restarts_scheduled(d)
        # A restart is scheduled before the CLOSE is answered, and a put
        # while one is scheduled is refused ("restarting"): the second put
        # succeeding shows the first scheduled none.
        r = sftp_batch(d.ports["ssh"], *MANAGE,
                       ["put %s flash" % bundles["good"],
                        "put %s flash" % bundles["good"],
                        "get progress:lastcodeload:text last.txt"], tmp_path)
        assert r.returncode == 0, r.stderr
        last = (tmp_path / "last.txt").read_text()
        assert "MC Software: NOT ATTEMPTED (Versions match)" in last
        assert "Not attempted (Versions match)" in last
        assert flash_show(tmp_path)["sequence"] == seq   # nothing written
        assert restarts_scheduled(d) == restarts        # and no restart
        assert d.proc.poll() is None
        r = sftp_batch(d.ports["ssh"], *MANAGE,
                       ["put %s flash:force" % bundles["good"],
                        "get progress:lastcodeload:text last.txt"], tmp_path)
        assert r.returncode == 0, r.stderr
        assert "Codeload completed successfully." in \
            (tmp_path / "last.txt").read_text()
        assert flash_show(tmp_path)["sequence"] > seq
        d = restarted(d, tmp_path, bundles)
        assert_running(d, "TS250P003")
    finally:
        if d.proc.poll() is None:
            assert d.stop() == 0


def test_openssh_sftp_same_version_other_content_needs_force(
        tandemd, bundles, tmp_path, tandem):
    """TS250P003 again with another mc is not "the same version": refused
    without flash:force, saying why, nothing written; loaded with it."""
    r = sftp_batch(tandemd.ports["sftp"], *MANAGE,
                   ["put %s flash" % bundles["good"]], tmp_path)
    assert r.returncode == 0, r.stderr
    d = restarted(tandemd, tmp_path, bundles)
    try:
        other = tmp_path / "other-mc.bin"
        other.write_bytes(os.urandom(300000))
        twin = tmp_path / "twin.tar"
        tandem("bundle", "create", "--key", bundles["keys"] / "bundle.key",
               "--version", "TS250P003", "--model", "2324sa", "--component",
               "mc=TSM250P003:%s" % other, "-o", twin, check=True)
        deadline = time.monotonic() + 10
        while flash_show(tmp_path)["trial"]:
            assert time.monotonic() < deadline, "never confirmed"
            time.sleep(0.05)
        seq = flash_show(tmp_path)["sequence"]
        r = sftp_batch(d.ports["sftp"], *MANAGE, ["put %s flash" % twin],
                       tmp_path)
        assert r.returncode != 0
        assert ("bundle TS250P003 has the installed version but different "
                "content; force installs it anyway") in r.stderr, r.stderr
        assert flash_show(tmp_path)["sequence"] == seq
        r = sftp_batch(d.ports["sftp"], *MANAGE,
                       ["put %s flash:force" % twin,
                        "get progress:lastcodeload:text last.txt"], tmp_path)
        assert r.returncode == 0, r.stderr
        assert "Codeload completed successfully." in \
            (tmp_path / "last.txt").read_text()
        assert flash_show(tmp_path)["sequence"] > seq
        d = restarted(d, tmp_path, bundles)
    finally:
        if d.proc.poll() is None:
            assert d.stop() == 0


def test_openssh_sftp_truncated_bundle_fails(tandemd, bundles, tmp_path):
    r = sftp_batch(tandemd.ports["sftp"], *MANAGE,
                   ["put %s flash" % bundles["truncated"]], tmp_path)
    # Every byte was taken; the end of the bundle never came: CLOSE fails.
    assert r.returncode == 1
    assert "close remote: Failure" in r.stderr, r.stderr
    r = sftp_batch(tandemd.ports["sftp"], *MANAGE,
                   ["get progress:lastcodeload:text last.txt"], tmp_path)
    assert r.returncode == 0, r.stderr
    last = (tmp_path / "last.txt").read_text()
    assert "Controller A: bundle rejected (truncated)" in last
    assert "the active bank (0) is unchanged" in last
    assert "RETURN_CODE: " in last
    assert "Codeload completed successfully." not in last
    assert_unchanged(tandemd, tmp_path)


def test_openssh_sftp_monitor_may_not_flash(tandemd, bundles, tmp_path):
    # SFTP is the FTP interface (the family's monitor has none): a monitor
    # that may use it.
    viewer = ("viewer", "Viewer-2324x")
    r = ssh_run(tandemd.ports["ssh"], *MANAGE, "create user interfaces "
                "cli,ftp password %s roles monitor %s" % (viewer[1], viewer[0]))
    assert r.returncode == 0, r.stdout
    r = sftp_batch(tandemd.ports["sftp"], *viewer,
                   ["put %s flash" % bundles["good"]], tmp_path)
    assert r.returncode == 1
    assert 'dest open "/flash": Permission denied' in r.stderr, r.stderr
    # Reading progress is fine for monitor.
    r = sftp_batch(tandemd.ports["sftp"], *viewer, ["get progress p.xml"],
                   tmp_path)
    assert r.returncode == 0, r.stderr
    assert progress((tmp_path / "p.xml").read_text())["activity"] == "none"
    assert_unchanged(tandemd, tmp_path)


def test_openssh_sftp_other_names_refused(tandemd, bundles, tmp_path):
    for cmd, says in (
            ("put %s firmware.bin" % bundles["good"],
             'dest open "/firmware.bin": No such file or directory'),
            ("get flash x", 'remote open "/flash": Permission denied'),
            ("rm progress", "remote delete /progress: Operation unsupported"),
            ("mkdir d", 'remote mkdir "/d": Operation unsupported'),
            ("get /etc/passwd x", 'File "/etc/passwd" not found.'),
            ("put %s ../flash2" % bundles["good"],
             'dest open "/../flash2": No such file or directory')):
        r = sftp_batch(tandemd.ports["sftp"], *MANAGE, [cmd], tmp_path)
        assert r.returncode == 1, cmd
        assert says in r.stderr, (cmd, r.stderr)
    assert not (tmp_path / "x").exists()
    assert_unchanged(tandemd, tmp_path)


def curl(*args, home):
    return subprocess.run(["curl", "-sS", "--insecure", *map(str, args)],
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "HOME": str(home)})


def test_curl_upload_and_progress(tandemd, bundles, tmp_path):
    url = "sftp://manage:%%21manage@127.0.0.1:%d" % tandemd.ports["sftp"]
    r = curl("-T", bundles["good"], url + "/flash", home=tmp_path)
    assert r.returncode == 0, r.stderr
    r = curl(url + "/progress:lastcodeload:text", home=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "Bundle TS250P003 (built " in r.stdout
    assert "Codeload completed successfully." in r.stdout
    r = curl(url + "/progress", home=tmp_path)
    assert "<PROPERTY name=\"activity\" type=\"string\"" in r.stdout
    assert progress(r.stdout)["activity"] == "none"
    assert flash_show(tmp_path)["bundle_version"] == "TS250P003"
    d = restarted(tandemd, tmp_path, bundles)
    try:
        assert_running(d, "TS250P003")
        # A newer bundle over curl on the restarted controller.
        url = "sftp://manage:%%21manage@127.0.0.1:%d" % d.ports["sftp"]
        r = curl("-T", bundles["newer"], url + "/flash", home=tmp_path)
        assert r.returncode == 0, r.stderr
        d = restarted(d, tmp_path, bundles)
        assert_running(d, "TS250P004")
    finally:
        if d.proc.poll() is None:
            assert d.stop() == 0


def test_curl_foreign_signature_fails_during_upload(tandemd, bundles, tmp_path):
    """A bad signature is found at the manifest, so a WRITE fails and curl
    (which ignores errors on CLOSE) reports it."""
    url = "sftp://manage:%%21manage@127.0.0.1:%d" % tandemd.ports["sftp"]
    r = curl("-T", bundles["foreign"], url + "/flash", home=tmp_path)
    assert r.returncode == 79, r.stderr      # CURLE_SSH: the WRITE failed
    r = curl(url + "/progress:lastcodeload:text", home=tmp_path)
    assert "bundle rejected (unknown-key): manifest.sig: signed by key " \
        in r.stdout, r.stdout
    assert "which this controller does not trust" in r.stdout, r.stdout
    assert "The firmware was not changed." in r.stdout, r.stdout
    assert_unchanged(tandemd, tmp_path)


def test_paramiko_out_of_order_write_refused(tandemd, bundles, tmp_path):
    c = paramiko_client(tandemd.ports["sftp"], *MANAGE)
    sftp = c.open_sftp()
    data = bundles["good"].read_bytes()
    f = sftp.open("flash", "wb")
    f.write(data[:4096])
    f.seek(65536)
    with pytest.raises(IOError, match="Out-of-order write"):
        f.write(data[65536:70000])
        f.flush()
    f.close()            # paramiko swallows the CLOSE failure
    assert "Out-of-order write at offset 65536 (expected 4096)" in \
        sftp.open("progress:lastcodeload:text").read().decode()
    assert flash_show(tmp_path)["bundle_version"] == ""
    assert sorted(sftp.listdir("/")) == ["flash", "flash:force", "progress",
                                        "progress:lastcodeload:text"]
    with pytest.raises(IOError):
        sftp.remove("progress")
    with pytest.raises(IOError):
        sftp.rename("flash", "x")
    # A second code load may start afterwards: the first was aborted.
    with sftp.open("flash", "wb") as g:
        g.write(data)
    assert "Codeload completed successfully." in \
        sftp.open("progress:lastcodeload:text").read().decode()
    c.close()
    d = restarted(tandemd, tmp_path, bundles)
    try:
        assert_running(d, "TS250P003")
    finally:
        assert d.stop() == 0


def test_paramiko_second_upload_while_one_runs_is_busy(tandemd, bundles,
                                                       tmp_path):
    data = bundles["good"].read_bytes()
    c1 = paramiko_client(tandemd.ports["sftp"], *MANAGE)
    c2 = paramiko_client(tandemd.ports["sftp"], *MANAGE)
    f = c1.open_sftp().open("flash", "wb")
    f.write(data[:1024])
    f.flush()
    s2 = c2.open_sftp()
    with pytest.raises(IOError, match="already in progress"):
        s2.open("flash", "wb")
    props = progress(s2.open("progress").read().decode())
    assert props["activity"] == "codeload"
    # The first client vanishes mid-upload: the code load is abandoned.
    c1.close()
    deadline = time.monotonic() + 10
    while progress(s2.open("progress").read().decode())["activity"] != "none":
        assert time.monotonic() < deadline, "the code load never ended"
        time.sleep(0.1)
    last = s2.open("progress:lastcodeload:text").read().decode()
    assert "Codeload failed: the SFTP client went away" in last
    assert "The firmware was not changed." in last
    c2.close()
    assert_unchanged(tandemd, tmp_path)


def test_sftp_port_refuses_shell(tandemd):
    c = paramiko_client(tandemd.ports["sftp"], *MANAGE)
    with pytest.raises(paramiko.SSHException):
        c.exec_command("show versions", timeout=10)
    c.close()
