"""The config file (docs/config.md) read by tandemd, tandem-loader and
tandem: keys are long options, flags override the file, repeated keys
repeat the option, errors name FILE:LINE: KEY; the serial from the file,
a command or a flag; `tandem user add` from stdin or a yescrypt hash,
then a real SSH login as that user."""
import ctypes
import json
import os
import re
import select
import signal
import subprocess
import time

import pytest

from conftest import program
from test_transport_shell import Tandemd


def tandemd(*args, env=None):
    return subprocess.run([program("tandemd"), *map(str, args)],
                          capture_output=True, text=True, timeout=60,
                          env=env)


def check_output(out):
    """tandemd -n's KEY VALUE lines as a dict."""
    return dict(line.split(" ", 1) for line in out.splitlines()
                if " " in line and not line.endswith(" port"))


def started(state, *args):
    """A real start of tandemd (free ports), stopped once it serves: what
    it stores, as opposed to `-n`, which stores nothing."""
    d = Tandemd(state, *args)
    assert d.stop() == 0


def write(path, text):
    path.write_text(text)
    return path


def test_file_read_and_flags_override(tmp_path):
    conf = write(tmp_path / "t.conf",
                 "# a controller\n[tandemd]\n"
                 f"state = {tmp_path}/st\ncontroller = b\n"
                 "model = 2324xx ; inline comment\n"
                 "serial = SN-0001\naddress = 127.0.0.9\n"
                 "ssh-port = 2222\n\n[tandem-loader]\ndaemon = /nowhere\n")
    r = tandemd("--config", conf, "-n")
    assert r.returncode == 0, r.stderr
    v = check_output(r.stdout)
    assert (v["config"], v["state"], v["controller"], v["serial"],
            v["model"], v["address"]) == (str(conf), f"{tmp_path}/st", "B",
                                          "SN-0001", "2324xx", "127.0.0.9")
    assert "ssh port 2222" in r.stdout
    # Flags win over the file, in either order on the command line.
    r = tandemd("--controller", "a", "--config", conf, "--serial", "SN-0002",
                "--ssh-port", "2223", "-n")
    assert r.returncode == 0, r.stderr
    v = check_output(r.stdout)
    assert (v["controller"], v["serial"], v["model"]) == ("A", "SN-0002",
                                                          "2324xx")
    assert "ssh port 2223" in r.stdout
    # A check stores nothing: not even the state directory.
    assert not (tmp_path / "st").exists()
    started(tmp_path / "st", "--config", conf, "--serial", "SN-0002")
    assert (tmp_path / "st/config/serial").read_text() == "SN-0002\n"
    # TANDEM_CONFIG names the file when --config does not; --no-config
    # reads none.
    env = dict(os.environ, TANDEM_CONFIG=str(conf))
    r = tandemd("-n", env=env)
    assert r.returncode == 0 and check_output(r.stdout)["controller"] == "B"
    r = tandemd("--no-config", "-n", env=env)
    assert r.returncode == 2 and "usage: tandemd" in r.stderr


def test_repeated_keys_are_repeated_options(tmp_path):
    conf = write(tmp_path / "t.conf",
                 f"[tandemd]\nstate = {tmp_path}/st\n"
                 "set = system-name=rack7\n"
                 "set = system-location=row 3\n"
                 "enable = telnet\nenable = ftp\ndisable = ftp\n")
    r = tandemd("--config", conf, "-n")
    assert r.returncode == 0, r.stderr
    assert not (tmp_path / "st").exists()
    started(tmp_path / "st", "--config", conf)
    s = json.loads((tmp_path / "st/config/settings.json").read_text())
    flat = json.dumps(s)
    assert '"rack7"' in flat and '"row 3"' in flat, flat
    # The later entry wins: ftp enabled, then disabled; telnet enabled.
    text = json.dumps(s["settings"] if "settings" in s else s)
    assert re.search(r'"telnet": true', text), text
    assert re.search(r'"ftp": false', text), text


@pytest.mark.parametrize("body,line,want", [
    ("[tandemd]\nstate = x\n\nbogus = 1\n", 4,
     "bogus: not an option of tandemd"),
    ("[tandemd]\nhelp = true\n", 2, "help: not an option of tandemd"),
    ("state = x\n", 1, "state: outside any section"),
    ("[tandemd]\nstate = x\n[tandemdd]\nstate = y\n", 4,
     "[tandemdd]: no program reads this section"),
    ("[tandemd]\nsimulator = maybe\n", 2,
     "simulator: expected true or false, not 'maybe'"),
    ("[tandemd]\nstate = x\n[tandemd\n", 3, "expected [section]"),
    ("[tandemd]\nstate = " + "x" * 200 + "\n", 2, "longer than 196 bytes"),
    ("[tandemd]\nstate = x\nheartbeat-ms = 3\n", 3,
     "heartbeat-ms: bad --heartbeat-ms '3'"),
    ("[tandemd]\nstate = x\nssh-port = 70000\n", 3,
     "ssh-port: bad port '70000'"),
])
def test_errors_name_file_line_and_key(tmp_path, body, line, want):
    conf = write(tmp_path / "bad.conf", body)
    r = tandemd("--config", conf, "-n")
    assert r.returncode == 2, r.stdout
    assert f"{conf}:{line}: " in r.stderr and want in r.stderr, r.stderr
    assert not (tmp_path / "x").exists()    # nothing was started


def test_missing_config_file_is_an_error(tmp_path):
    r = tandemd("--config", tmp_path / "none.conf", "-n")
    assert r.returncode == 2
    assert f"{tmp_path}/none.conf: No such file" in r.stderr, r.stderr


def test_other_programs_sections_are_theirs(tmp_path):
    """tandemd checks only [tandemd]; the loader checks its own."""
    conf = write(tmp_path / "t.conf",
                 f"[tandemd]\nstate = {tmp_path}/st\n"
                 "[tandem-loader]\nnot-a-loader-key = 1\n")
    assert tandemd("--config", conf, "-n").returncode == 0
    r = subprocess.run([program("tandem-loader"), "--config", str(conf)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert (f"{conf}:4: not-a-loader-key: not an option of tandem-loader"
            in r.stderr), r.stderr


def test_serial_from_file_and_command(tmp_path):
    st = tmp_path / "st"
    # A device-tree file ends with a NUL, sysfs ones with a newline.
    sfile = tmp_path / "serial-number"
    sfile.write_bytes(b"DT-4711\0")
    conf = write(tmp_path / "t.conf",
                 f"[tandemd]\nstate = {st}\nserial-file = {sfile}\n")
    r = tandemd("--config", conf, "-n")
    assert r.returncode == 0, r.stderr
    assert check_output(r.stdout)["serial"] == "DT-4711"
    assert not st.exists()
    started(st, "--config", conf)
    assert (st / "config/serial").read_text() == "DT-4711\n"
    # The command line's --serial-command replaces the file's serial-file.
    r = tandemd("--config", conf, "--serial-command",
                "printf 'CMD-%s\\n' 42", "-n")
    assert r.returncode == 0, r.stderr
    assert check_output(r.stdout)["serial"] == "CMD-42"
    started(st, "--config", conf, "--serial-command", "printf 'CMD-%s\\n' 42")
    # Without one, the kept serial stays.
    r = tandemd("--state", st, "--no-config", "-n")
    v = check_output(r.stdout)
    assert (v["serial"], v["config"]) == ("CMD-42", "(none)")
    # -n on a state that has one changes none of its files.
    before = {p: p.read_bytes() for p in (st / "config").rglob("*")
              if p.is_file()}
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    r = tandemd("--state", st, "--no-config", "--serial", "OTHER-1",
                "--enable", "ftp", "--set", "system-name=other", "--user",
                "newbie:Secret-1234:manage", "-n",
                env=dict(os.environ, TMPDIR=str(scratch)))
    assert r.returncode == 0, r.stderr
    assert check_output(r.stdout)["serial"] == "OTHER-1"
    assert {p: p.read_bytes() for p in (st / "config").rglob("*")
            if p.is_file()} == before
    assert list(scratch.iterdir()) == []       # its scratch copy is gone


@pytest.mark.parametrize("option,value,want", [
    ("--serial-file", "{tmp}/absent", "{tmp}/absent: No such file"),
    ("--serial-file", "{tmp}/empty", "gave no serial"),
    ("--serial-command", "echo out; exit 3",
     "--serial-command 'echo out; exit 3' failed (exit status 3)"),
    ("--serial-command", "true", "gave no serial"),
    ("--serial-command", "echo 'two words'",
     "may hold only letters, digits"),
    ("--serial-command", "kill -9 $$", "failed (signal 9)"),
    # A hung command, and one that closes its output and hangs: both are
    # killed at the 10 s deadline (the command's own timeout).
    ("--serial-command", "sleep 60", "did not finish within 10 s"),
    ("--serial-command", "echo S1; exec >&-; sleep 60",
     "did not finish within 10 s"),
    ("--serial", "x" * 40, "longer than 31 bytes"),
])
def test_serial_failures_stop_the_start(tmp_path, option, value, want):
    (tmp_path / "empty").write_text("\n")
    st = tmp_path / "st"
    r = tandemd("--state", st, "--no-config",
                option, value.format(tmp=tmp_path), "-n")
    assert r.returncode == 1, r.stdout
    assert want.format(tmp=tmp_path) in r.stderr, r.stderr
    assert not st.exists()    # nothing was made


def test_loader_reads_its_section_and_passes_config(tmp_path):
    fake = tmp_path / "fake-daemon"
    fake.write_text('#!/bin/sh\necho "args: $*"\n'
                    'echo "state: $TANDEM_STATE_DIR"\n')
    fake.chmod(0o755)
    conf = write(tmp_path / "t.conf",
                 f"[tandem-loader]\ndaemon = {fake}\n\n"
                 f"[tandemd]\nstate = {tmp_path}/st\n")
    loader = program("tandem-loader")
    r = subprocess.run([loader, "--config", str(conf), "--", "--console"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert f"args: --config {conf} --console" in r.stdout
    assert f"state: {tmp_path}/st" in r.stdout    # [tandemd]'s state
    # --state on the command line wins; so does --daemon.
    r = subprocess.run([loader, "--config", str(conf), "--daemon",
                        "/bin/echo", "--state", str(tmp_path / "other")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout == f"--config {conf}\n", r
    assert f"{tmp_path}/other/flash: no flash store" in r.stderr


def test_tool_reads_its_subcommand_section(tmp_path, tandem):
    conf = write(tmp_path / "t.conf",
                 "[tandem update]\nhost = 127.0.0.1\ntimeout = 0\n")
    r = tandem("update", "--config", conf, "x.bundle")
    assert r.returncode == 2 and "--timeout is 1 to 86400" in r.stderr
    # The host comes from the file: the options are complete, and the
    # password is what it asks for next.
    env = {k: v for k, v in os.environ.items() if k != "TANDEM_PASSWORD"}
    r = tandem("update", "--no-config", "x.bundle", env=env,
               stdin=subprocess.DEVNULL)
    assert r.returncode == 2 and "needs --host" in r.stderr, r.stderr
    write(conf, "[tandem update]\nhost = 127.0.0.1\ntimeout = 5\n")
    r = tandem("update", "--config", conf, "x.bundle", env=env,
               stdin=subprocess.DEVNULL)
    assert r.returncode == 2 and "no password" in r.stderr, r.stderr
    write(conf, "[tandem update]\nhots = 127.0.0.1\n")
    r = tandem("update", "--config", conf, "x.bundle")
    assert r.returncode == 2
    assert f"{conf}:2: hots: not an option of tandem update" in r.stderr


def yescrypt(password):
    """A yescrypt hash made by libcrypt itself, as mkpasswd would."""
    lc = ctypes.CDLL("libcrypt.so.1")
    lc.crypt_gensalt.restype = ctypes.c_char_p
    lc.crypt.restype = ctypes.c_char_p
    salt = lc.crypt_gensalt(b"$y$", 0, None, 0)
    return lc.crypt(password.encode(), salt).decode()


def ssh(port, user, password, command):
    return subprocess.run(
        ["sshpass", "-p", password, "ssh", "-p", str(port),
         "-o", "StrictHostKeyChecking=no",
         "-o", "UserKnownHostsFile=/proc/self/no-known-hosts",
         "-o", "LogLevel=error", "-o", "PubkeyAuthentication=no",
         "-o", "NumberOfPasswordPrompts=1",
         f"{user}@127.0.0.1", command],
        capture_output=True, text=True, timeout=60)


def start(conf):
    d = subprocess.Popen([program("tandemd"), "--config", str(conf)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, deadline = b"", time.monotonic() + 60
    while True:
        assert time.monotonic() < deadline, out
        r, _, _ = select.select([d.stdout], [], [], 1)
        if r:
            chunk = os.read(d.stdout.fileno(), 4096)
            assert chunk, d.stderr.read()
            out += chunk
            m = re.search(rb"^ssh listening on [\d.]+:(\d+)$", out, re.M)
            if m:
                return d, int(m.group(1))


def test_user_add_then_ssh_login(tmp_path, tandem):
    st = tmp_path / "st"
    conf = write(tmp_path / "t.conf",
                 f"[tandemd]\nstate = {st}\naddress = 127.0.0.1\n"
                 "ssh-port = 0\nsftp-port = 0\ntelnet-port = 0\n"
                 "ftp-port = 0\nhttp-port = 0\nhttps-port = 0\n")
    # State from the config's [tandemd]; the password from stdin.
    r = tandem("user", "add", "--config", conf, "alice", "--role", "manage",
               input="Alice#pw1\n")
    assert r.returncode == 0, r.stderr
    assert "Alice#pw1" not in (st / "config/users.json").read_text()
    # A pre-hashed entry, for images: no clear password given at all.
    r = tandem("user", "add", "--state", st, "bob", "--role", "monitor",
               "--password-hash", yescrypt("Bob#pass2"),
               stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    before = (st / "config/users.json").read_bytes()
    for args, stdin, want in [
        (["alice", "--role", "manage"], "Other#pw1\n", "already exists"),
        (["carol", "--role", "manage"], "short\n", "password"),
        (["carol", "--role", "manage"], "", "no password on stdin"),
        (["carol", "--role", "boss"], "Carol#pw1\n", "role"),
        (["carol", "--role", "monitor", "--password-hash", "$6$abc$def"],
         "", "not a yescrypt password hash"),
        (["carol", "--role", "monitor", "--password-hash", "$y$j9T$bad"],
         "", "not a yescrypt password hash"),
    ]:
        r = tandem("user", "add", "--state", st, *args, input=stdin)
        assert r.returncode != 0 and want in r.stderr, (args, r.stderr)
    assert (st / "config/users.json").read_bytes() == before
    # A pre-hashed entry in the config file; a bad one stops the start.
    good = (conf.read_text() +
            f"user-hash = erin:monitor:{yescrypt('Erin#pw12')}\n")
    write(conf, conf.read_text() + "user-hash = frank:monitor:$y$j9T$x\n")
    r = tandemd("--config", conf, "-n")
    assert r.returncode == 2 and \
        "--user-hash frank: not a yescrypt password hash" in r.stderr, r
    write(conf, good)
    d, port = start(conf)
    try:
        r = ssh(port, "erin", "Erin#pw12", "show users")
        assert r.returncode == 0 and "erin" in r.stdout, r
        r = ssh(port, "alice", "Alice#pw1", "show users")
        assert r.returncode == 0 and "alice" in r.stdout and "bob" in \
            r.stdout, r
        r = ssh(port, "bob", "Bob#pass2", "show users")
        assert r.returncode == 0 and "alice" in r.stdout, r
        r = ssh(port, "bob", "Alice#pw1", "show users")
        assert r.returncode != 0 and "alice" not in r.stdout
    finally:
        d.send_signal(signal.SIGTERM)
        assert d.wait(timeout=30) == 0


def test_user_add_on_a_terminal_asks_twice_without_echo(tmp_path):
    st = tmp_path / "st"
    master, slave = os.openpty()
    try:
        p = subprocess.Popen([program("tandem"), "user", "add", "--state",
                              str(st), "--no-config", "dave", "--role",
                              "monitor"], stdin=slave, stdout=slave,
                             stderr=slave)
        os.close(slave)
        seen = b""

        def expect(text):
            nonlocal seen
            deadline = time.monotonic() + 30
            while text not in seen:
                assert time.monotonic() < deadline, seen
                r, _, _ = select.select([master], [], [], 1)
                if r:
                    seen += os.read(master, 1024)

        expect(b"Password for dave: ")
        os.write(master, b"Dave#pw12\n")
        expect(b"Again: ")
        os.write(master, b"Dave#pw12\n")
        assert p.wait(timeout=30) == 0
        try:
            while select.select([master], [], [], 0.5)[0]:
                seen += os.read(master, 1024)
        except OSError:
            pass    # the terminal closed with its last process
        assert b"user dave (monitor) added" in seen, seen
        assert b"Dave#pw12" not in seen, seen     # never echoed
    finally:
        os.close(master)
    users = json.loads((st / "config/users.json").read_text())["users"]
    assert [u["name"] for u in users] == ["dave"]
