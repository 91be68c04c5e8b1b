"""SFTP code loads with stock clients: OpenSSH sftp in batch mode (sshpass),
curl sftp:// and paramiko for the requests stock clients never send. The code
load behind the subsystem is tandemd's stand-in (src/daemon/sftp_standin.c):
the real bundle verifier over the stream, nothing installed."""
import os
import re
import subprocess
import xml.etree.ElementTree as ET

import paramiko
import pytest

from test_transport_shell import MANAGE, MONITOR, SSH_OPTS, Tandemd, paramiko_client


@pytest.fixture
def bundles(tmp_path, tandem):
    keys = tmp_path / "keys"
    tandem("bundle", "keygen", "--out", keys, check=True)
    other = tmp_path / "other"
    tandem("bundle", "keygen", "--out", other, check=True)
    (tmp_path / "mc.bin").write_bytes(os.urandom(300000))
    made = {}
    for name, key in (("good", keys), ("foreign", other)):
        out = tmp_path / (name + ".tar")
        tandem("bundle", "create", "--key", key / "bundle.key", "--version",
               "TS250P003", "--model", "2324sa", "--component",
               "mc=TSM250P003:%s" % (tmp_path / "mc.bin"), "-o", out,
               check=True)
        made[name] = out
    data = made["good"].read_bytes()
    made["truncated"] = tmp_path / "truncated.tar"
    made["truncated"].write_bytes(data[:len(data) // 2])
    made["keys"] = keys
    return made


@pytest.fixture
def tandemd(tmp_path, bundles):
    d = Tandemd(tmp_path / "state", "--keys", bundles["keys"], "--model", "2324sa")
    yield d
    if d.proc.poll() is None:
        assert d.stop() == 0


def sftp_batch(port, user, password, commands, cwd):
    batch = cwd / "batch"
    batch.write_text("".join(c + "\n" for c in commands))
    # sftp -b turns BatchMode on, which forbids passwords; sshpass needs it off.
    return subprocess.run(
        ["sshpass", "-p", password, "sftp", *SSH_OPTS, "-o", "BatchMode=no",
         "-P", str(port), "-b", str(batch), "%s@127.0.0.1" % user],
        capture_output=True, text=True, timeout=60, cwd=cwd)


def test_openssh_sftp_put_flash_and_get_progress(tandemd, bundles, tmp_path):
    r = sftp_batch(tandemd.ports["sftp"], *MANAGE,
                   ["put %s flash" % bundles["good"], "get progress p.xml",
                    "get progress:lastcodeload:text last.txt"], tmp_path)
    assert r.returncode == 0, r.stderr
    last = (tmp_path / "last.txt").read_text()
    assert "Bundle TS250P003 verified" in last
    root = ET.parse(tmp_path / "p.xml").getroot()
    assert root.tag == "RESPONSE"
    props = {p.get("name"): p.text for p in root.iter("PROPERTY")}
    assert props["activity"] == "none"
    assert props["controller"] == "A"
    assert int(props["bytes-received"]) == bundles["good"].stat().st_size


def test_openssh_sftp_force_target_and_ssh_port(tandemd, bundles, tmp_path):
    """flash:force arrives as its own name; the SSH port serves sftp too."""
    r = sftp_batch(tandemd.ports["ssh"], *MANAGE,
                   ["put %s flash:force" % bundles["good"]], tmp_path)
    assert r.returncode == 0, r.stderr


def test_openssh_sftp_truncated_bundle_fails(tandemd, bundles, tmp_path):
    r = sftp_batch(tandemd.ports["sftp"], *MANAGE,
                   ["put %s flash" % bundles["truncated"]], tmp_path)
    assert r.returncode != 0
    r = sftp_batch(tandemd.ports["sftp"], *MANAGE,
                   ["get progress:lastcodeload:text last.txt"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert "Codeload failed: bundle rejected (truncated)" in \
        (tmp_path / "last.txt").read_text()


def test_openssh_sftp_monitor_may_not_flash(tandemd, bundles, tmp_path):
    r = sftp_batch(tandemd.ports["sftp"], *MONITOR,
                   ["put %s flash" % bundles["good"]], tmp_path)
    assert r.returncode != 0
    assert "Permission denied" in r.stderr
    # Reading progress is fine for monitor.
    r = sftp_batch(tandemd.ports["sftp"], *MONITOR, ["get progress p.xml"],
                   tmp_path)
    assert r.returncode == 0, r.stderr


def test_openssh_sftp_other_names_refused(tandemd, bundles, tmp_path):
    for cmd in ("put %s firmware.bin" % bundles["good"], "get flash x",
                "rm progress", "mkdir d", "get /etc/passwd x",
                "put %s ../flash2" % bundles["good"]):
        r = sftp_batch(tandemd.ports["sftp"], *MANAGE, [cmd], tmp_path)
        assert r.returncode != 0, cmd
    assert not (tmp_path / "x").exists()


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
    assert "Bundle TS250P003 verified" in r.stdout
    r = curl(url + "/progress", home=tmp_path)
    assert "<PROPERTY name=\"activity\" type=\"string\">none</PROPERTY>" in r.stdout


def test_curl_foreign_signature_fails_during_upload(tandemd, bundles, tmp_path):
    """A bad signature is found at the manifest, so a WRITE fails and curl
    (which ignores errors on CLOSE) reports it."""
    url = "sftp://manage:%%21manage@127.0.0.1:%d" % tandemd.ports["sftp"]
    r = curl("-T", bundles["foreign"], url + "/flash", home=tmp_path)
    assert r.returncode != 0
    r = curl(url + "/progress:lastcodeload:text", home=tmp_path)
    assert "unknown-key" in r.stdout or "signature" in r.stdout, r.stdout


def test_paramiko_out_of_order_write_refused(tandemd, bundles):
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
    # A second code load may start afterwards: the first was aborted.
    with sftp.open("flash", "wb") as g:
        g.write(data)
    assert "verified" in sftp.open("progress:lastcodeload:text").read().decode()
    assert sorted(sftp.listdir("/")) == ["flash", "flash:force", "progress",
                                        "progress:lastcodeload:text"]
    with pytest.raises(IOError):
        sftp.remove("progress")
    with pytest.raises(IOError):
        sftp.rename("flash", "x")
    c.close()


def test_paramiko_second_upload_while_one_runs_is_busy(tandemd, bundles):
    data = bundles["good"].read_bytes()
    c1 = paramiko_client(tandemd.ports["sftp"], *MANAGE)
    c2 = paramiko_client(tandemd.ports["sftp"], *MANAGE)
    f = c1.open_sftp().open("flash", "wb")
    f.write(data[:1024])
    f.flush()
    s2 = c2.open_sftp()
    with pytest.raises(IOError, match="already in progress"):
        s2.open("flash", "wb")
    xml = s2.open("progress").read().decode()
    assert re.search(r">codeload<", xml)
    # The first client vanishes mid-upload: the code load is abandoned.
    c1.close()
    for _ in range(50):
        if ">none<" in s2.open("progress").read().decode():
            break
        import time
        time.sleep(0.1)
    assert "client went away" in s2.open("progress:lastcodeload:text").read().decode()
    c2.close()


def test_sftp_port_refuses_shell(tandemd):
    c = paramiko_client(tandemd.ports["sftp"], *MANAGE)
    with pytest.raises(paramiko.SSHException):
        c.exec_command("show versions", timeout=10)
    c.close()
