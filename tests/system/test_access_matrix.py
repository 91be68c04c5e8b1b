"""Who may start what, on which port: every transport (SSH CLI on the SSH
port, telnet, FTP, SFTP on the SFTP port, the sftp subsystem on the SSH
port) x role (manage, monitor) x interface rights (cli, ftp, both) x
protocol switch, each allowed or refused with the reason the client shows.
SFTP is the FTP right (config.h); port 22's sftp follows `set protocols
sftp`. Stock clients: OpenSSH ssh and sftp (sshpass), telnet in a pty,
inetutils ftp. One daemon and its users for the whole file."""
import subprocess

import pytest

from test_transport_shell import (MANAGE, SSH_OPTS, Tandemd, refused,
                                  ssh_run, telnet_login)

PASSWORD = "Matrix-2324x"
USERS = {                      # name: (role, interfaces)
    "mcli": ("manage", "cli"), "mftp": ("manage", "ftp"),
    "mall": ("manage", "cli,ftp"),
    "rcli": ("monitor", "cli"), "rftp": ("monitor", "ftp"),
    "rall": ("monitor", "cli,ftp"),
}
# What each transport needs, and what a user without it is told.
NEEDS = {"ssh": "cli", "telnet": "cli", "ftp": "ftp", "sftp": "ftp",
         "sftp22": "ftp"}
CLI_NEED = "the CLI needs the cli interface"
FTP_NEED = "FTP and SFTP need the ftp interface"


@pytest.fixture(scope="module")
def d(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("matrix")
    t = Tandemd(tmp / "state", "--enable", "telnet", "--enable", "ftp",
                "--set", "login-failure-delay-ms=0")
    t.wait_for_line(r"^(telnet|ftp) listening", count=2)
    for name, (role, ifaces) in USERS.items():
        r = ssh_run(t.ports["ssh"], *MANAGE, "create user interfaces %s "
                    "password %s roles %s %s" % (ifaces, PASSWORD, role, name))
        assert r.returncode == 0, r.stdout
    junk = tmp / "junk.bin"
    junk.write_bytes(b"not a bundle\n" * 100)
    t.junk, t.tmp = junk, tmp
    yield t
    if t.proc.poll() is None:
        assert t.stop() == 0


def ssh_cli(d, user):
    r = subprocess.run(
        ["sshpass", "-p", PASSWORD, "ssh", "-o", "LogLevel=info", *SSH_OPTS,
         "-T", "-p", str(d.ports["ssh"]), "%s@127.0.0.1" % user,
         "show protocols"], capture_output=True, text=True, timeout=30)
    return r.returncode, r.stdout + r.stderr


def telnet(d, user):
    t = telnet_login(d.ports["telnet"], user, PASSWORD)
    seen = t.expect(r"# $|Login refused: [^\r\n]*\r\n").decode(
        errors="replace")
    if "Login refused" not in seen:
        t.send("exit\r")
    t.wait()
    return (1 if "Login refused" in seen else 0), seen


def ftp(d, user, put=None):
    script = "open 127.0.0.1 %d\nuser %s %s\n" % (d.ports["ftp"], user,
                                                    PASSWORD)
    if put:
        script += "binary\nput %s flash\n" % put
    r = subprocess.run(["ftp", "-inv"], input=script + "quit\n",
                       capture_output=True, text=True, timeout=30,
                       cwd=d.tmp)
    out = r.stdout + r.stderr
    return (0 if "230 Login successful" in out else 1), out


def sftp(d, user, port, put=None):
    batch = d.tmp / ("batch-%s-%d" % (user, port))
    batch.write_text("put %s flash\n" % put if put else
                     "get progress %s/p.xml\n" % d.tmp)
    r = subprocess.run(
        ["sshpass", "-p", PASSWORD, "sftp", "-o", "LogLevel=info", *SSH_OPTS,
         "-o", "BatchMode=no", "-P", str(port), "-b", str(batch),
         "%s@127.0.0.1" % user], capture_output=True, text=True, timeout=60)
    return r.returncode, r.stdout + r.stderr


def attempt(d, transport, user, put=None):
    if transport == "ssh":
        return ssh_cli(d, user)
    if transport == "telnet":
        return telnet(d, user)
    if transport == "ftp":
        return ftp(d, user, put)
    port = d.ports["sftp"] if transport == "sftp" else d.ports["ssh"]
    return sftp(d, user, port, put)


@pytest.mark.parametrize("user", sorted(USERS))
@pytest.mark.parametrize("transport", sorted(NEEDS))
def test_interface_rights(d, transport, user):
    role, ifaces = USERS[user]
    rc, out = attempt(d, transport, user)
    if NEEDS[transport] in ifaces.split(","):
        assert rc == 0, out
        if transport == "ssh":
            assert "Success: Command completed successfully." in out
        return
    assert rc != 0, out
    need = CLI_NEED if NEEDS[transport] == "cli" else FTP_NEED
    if transport == "sftp22":          # port 22 logs in; the session is refused
        why = "Error: user '%s' may not use this interface: %s" % (user, need)
    elif transport == "ssh":
        why = "Error: user '%s' may not use this interface: %s" % (user, need)
    elif transport == "ftp":
        why = ("530 Login refused: user '%s' may not log in on this "
               "interface: %s." % (user, need))
    elif transport == "telnet":
        why = ("Login refused: user '%s' may not log in on this interface: "
               "%s." % (user, need))
    else:
        why = "user '%s' may not log in on this interface: %s" % (user, need)
    assert why in out, out


@pytest.mark.parametrize("user", ["mall", "rall"])
@pytest.mark.parametrize("transport", ["ftp", "sftp", "sftp22"])
def test_firmware_upload_needs_manage(d, transport, user):
    """A manage user's upload reaches the update engine (which refuses the
    junk and says why); a monitor's is refused before it."""
    rc, out = attempt(d, transport, user, put=d.junk)
    if user == "mall":
        assert "not a valid ustar archive" in out, out
    elif transport == "ftp":
        assert ("550 Permission denied: user 'rall' may not update" in out), \
            out
    else:
        assert ("Only a user with the manage role may update firmware" in out
                or "Permission denied" in out), out
        assert "ustar" not in out, out


def test_switches(d):
    """Each switch closes its own way in, and only that: sftp off refuses
    the SFTP port and port 22's subsystem (saying why) while SSH's CLI
    stays; ftp and telnet off close their ports; back on, all serve."""
    r = ssh_run(d.ports["ssh"], *MANAGE, "set protocols sftp disabled")
    assert r.returncode == 0, r.stdout
    d.wait_for_line(r"^sftp closed")
    try:
        assert refused(d.ports["sftp"])
        rc, out = attempt(d, "sftp22", "mall")
        assert rc != 0
        assert ("Error: SFTP is disabled on this controller (set protocols "
                "sftp enabled)") in out, out
        rc, out = attempt(d, "sftp22", "mall", put=d.junk)
        assert rc != 0 and "ustar" not in out, out
        assert attempt(d, "ssh", "mall")[0] == 0
    finally:
        r = ssh_run(d.ports["ssh"], *MANAGE, "set protocols sftp enabled")
        assert r.returncode == 0, r.stdout
        d.wait_for_line(r"^sftp listening")
    assert attempt(d, "sftp22", "mall")[0] == 0
    assert attempt(d, "sftp", "mall")[0] == 0
    for proto in ("ftp", "telnet"):
        r = ssh_run(d.ports["ssh"], *MANAGE, "set protocols %s disabled" % proto)
        assert r.returncode == 0, r.stdout
        d.wait_for_line(r"^%s closed" % proto)
        try:
            assert refused(d.ports[proto])
            assert attempt(d, "sftp", "mall")[0] == 0
        finally:
            r = ssh_run(d.ports["ssh"], *MANAGE,
                        "set protocols %s enabled" % proto)
            assert r.returncode == 0, r.stdout
            d.wait_for_line(r"^%s listening" % proto)
        assert attempt(d, proto, "mall")[0] == 0
