"""The main job as an operator meets it: `tandem enclosure up` runs both
controllers under their loaders; a bundle loaded over FTP into A restarts
A's MC into the new bank (confirmed, with events), B is untouched, and a
fault armed in B (a flash write error) is reported and changes nothing."""
import ftplib
import os
import re
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


def ssh(ports, ctl, command):
    addr, port = ports[(ctl, "ssh")]
    return subprocess.run(
        ["sshpass", "-p", "!manage", "ssh", "-p", str(port),
         "-o", "StrictHostKeyChecking=no",
         "-o", "UserKnownHostsFile=/proc/self/no-known-hosts",
         "-o", "LogLevel=error", "-o", "PubkeyAuthentication=no",
         "manage@" + addr, command], capture_output=True, text=True,
        timeout=30)


def wait_for(fn, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        try:
            r = fn()
            if r:
                return r
        except (OSError, subprocess.SubprocessError):
            pass
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.3)


def own_addresses():
    """Two loopback addresses of this run's own (Linux routes all 127/8 to
    lo): never the family's 127.0.0.2/.3, so neither an enclosure already
    running there nor a second run of this test is in the way."""
    n = os.getpid()
    net = "127.%d.%d" % (100 + n % 100, (n // 100) % 256)
    return net + ".2", net + ".3"


@pytest.fixture
def enclosure(tmp_path):
    d = tmp_path / "enc"
    log = open(tmp_path / "up.log", "w+")
    a, b = own_addresses()
    p = subprocess.Popen([program("tandem"), "enclosure", "up", "--dir", d,
                          "--faults", "b:write-error=sc",
                          "--addresses", "%s,%s" % (a, b),
                          "--port-base", "30000"],
                         stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: "Both controllers are up" in
                 (tmp_path / "up.log").read_text(), timeout=60)
        ports = layout(d)
        assert ports[("a", "ssh")] == (a, 30022), ports
        assert ports[("b", "sftp")] == (b, 31122), ports
        # The partner link's port: B listens there, A dials it.
        assert ports[("b", "link")] == (b, 31400), ports
        assert ports[("a", "link")] == (a, 30400), ports
        yield d, ports, tmp_path / "up.log"
    finally:
        p.send_signal(signal.SIGINT)
        assert p.wait(timeout=30) == 0
        assert "enclosure stopped" in (tmp_path / "up.log").read_text()


def bundle_version(ports, ctl, of=None):
    """Controller `of`'s bundle (default: ctl's own) as `show versions` on
    ctl reports it: both controllers are listed, A first."""
    r = ssh(ports, ctl, "show versions")
    m = re.search(r"^Controller %s Versions\n-+\n(?:.*\n)*?Bundle Version: "
                  r"(\S+)" % (of or ctl).upper(), r.stdout, re.M)
    return m and m.group(1)


def upload(ports, ctl, path):
    addr, port = ports[(ctl, "ftp")]
    f = ftplib.FTP()
    f.connect(addr, port, timeout=60)
    f.login("manage", "!manage")
    try:
        with open(path, "rb") as fh:
            return f.storbinary("STOR flash", fh)
    except (ftplib.error_temp, ftplib.error_perm) as e:
        return str(e)
    finally:
        f.close()


def test_update_a_over_ftp_and_a_fault_in_b(enclosure):
    d, ports, uplog = enclosure
    assert bundle_version(ports, "a") == "TS250P001"
    assert bundle_version(ports, "b") == "TS250P001"
    for ctl in "ab":
        r = ssh(ports, ctl, "set protocols ftp enabled")
        assert "Success" in r.stdout, r.stdout
    new = d / "bundles" / "TS250P002.bundle"

    reply = upload(ports, "a", new)
    assert "Codeload completed successfully." in reply
    assert "MC Software: NOT ATTEMPTED (Versions match)" in reply
    assert "SC Software: SUCCESSFUL" in reply
    wait_for(lambda: "controller A: its MC is restarting" in uplog.read_text())
    assert wait_for(lambda: bundle_version(ports, "a") == "TS250P002")
    # The outcome survives the restart, for tools that poll afterwards.
    status = ssh(ports, "a", "show firmware-update-status").stdout
    assert "Completion Status: Success" in status
    events = ssh(ports, "a", "show events last 20").stdout
    assert "TS250P002 started on bank" in events
    assert "confirmed healthy" in events

    # B has a flash write error armed: the load fails, B keeps running.
    reply = upload(ports, "b", new)
    assert reply.startswith("551"), reply
    assert "sc" in reply
    assert bundle_version(ports, "b") == "TS250P001"
    st = subprocess.run([program("tandem"), "flash", "check", d / "b"],
                        capture_output=True, text=True)
    assert st.returncode == 0, st.stdout + st.stderr
    status = ssh(ports, "b", "show firmware-update-status").stdout
    assert "Failed" in status


@pytest.mark.parametrize("args, says", [
    (["--addresses", "127.0.0.2"], "--addresses needs two different IPv4"),
    (["--addresses", "127.0.0.9,127.0.0.9"], "--addresses needs two"),
    (["--addresses", "127.0.0.9,localhost"], "--addresses needs two"),
    (["--port-base", "80"], "--port-base must be a number from 1024 to 64000"),
    (["--port-base", "64001"], "--port-base must be"),
    (["--port-base", "30000x"], "--port-base must be"),
])
def test_up_refuses_bad_layout_options(tmp_path, args, says):
    d = tmp_path / "enc"
    r = subprocess.run([program("tandem"), "enclosure", "up", "--dir", d,
                        *args], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2, r.stdout + r.stderr
    assert says in r.stderr, r.stderr
    assert not d.exists()


def test_every_subcommand_takes_dir_option(tmp_path, tandem):
    """init, status and down take --dir DIR as up, fault and console do
    (the start-up table prints --dir), and still their one argument."""
    d = tmp_path / "enc"
    r = tandem("enclosure", "init", "--dir", d)
    assert r.returncode == 0, r.stderr
    assert (d / "a" / "flash").is_dir() and (d / "b" / "flash").is_dir()
    by_option = tandem("enclosure", "status", "--dir", d)
    assert by_option.returncode == 0
    assert by_option.stdout.startswith("enclosure %s: down\n" % d)
    assert "controller A: bundle TS250P001" in by_option.stdout
    assert tandem("enclosure", "status", d).stdout == by_option.stdout
    r = tandem("enclosure", "down", "--dir", d)
    assert r.returncode == 1
    assert "no enclosure is up in %s" % d in r.stderr
    r = tandem("enclosure", "status", d, "extra")
    assert r.returncode == 2 and "usage: tandem enclosure status" in r.stderr
def test_each_controller_runs_from_its_config_file(enclosure):
    """`up` writes DIR/a.conf and DIR/b.conf from its layout and starts
    each loader with --config, which hands it on to the MC."""
    d, ports, uplog = enclosure
    assert (f"Controller configs (tandemd --config): {d}/a.conf, "
            f"{d}/b.conf") in uplog.read_text()
    for ctl in "ab":
        conf = (d / f"{ctl}.conf").read_text()
        section = conf.split("[tandemd]\n", 1)[1]
        keys = dict(line.split(" = ", 1) for line in section.splitlines()
                    if " = " in line)
        addr, ssh_port = ports[(ctl, "ssh")]
        assert keys["state"] == str((d / ctl).resolve()), keys
        assert (keys["controller"], keys["address"], keys["ssh-port"],
                keys["simulator"]) == (ctl, addr, str(ssh_port), "true")
        if ctl == "a":
            b_addr, link = ports[("b", "link")]
            assert keys["partner"] == f"{b_addr}:{link}", keys
        else:
            assert keys["link-port"] == str(ports[("b", "link")][1]), keys
        pid = int((d / "run" / f"{ctl}.pid").read_text())
        argv = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
        conf_path = str((d / f"{ctl}.conf").resolve()).encode()
        assert argv[1:3] == [b"--config", conf_path], argv
