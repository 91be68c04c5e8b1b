"""What a client sends never reaches the log raw, and the CLI refuses what it
cannot run as typed: an SSH banner with terminal escapes, a NUL inside a
telnet command, a MiB-long login name on telnet, SSH and FTP; piped SSH input
arrives whole; shutdown joins every thread (a telnet listener closed by its
own session, a pending restart timer, the console) so the sanitizer build
finds nothing. Real tandemd, stock or raw-socket clients."""
import re
import signal
import socket
import subprocess
import time

import paramiko
import pytest

from test_transport_shell import MANAGE, Tandemd, ssh_run

LOGIN_NAME_MAX = 29        # SHELL_LOGIN_NAME_MAX, the family's user names


@pytest.fixture
def daemon(tmp_path):
    d = Tandemd(tmp_path / "state", "--enable", "telnet", "--enable", "ftp",
                "--idle-seconds", "30")
    d.wait_for_line(r"^telnet listening")
    d.wait_for_line(r"^ftp listening")
    yield d
    if d.proc.poll() is None:
        assert d.stop() == 0


def stop_and_log(d, status=0):
    """SIGTERM, the exit status, and the daemon's whole stderr (its log)."""
    d.proc.send_signal(signal.SIGTERM)
    assert d.proc.wait(timeout=15) == status
    err = d.proc.stderr.read()
    text = err.decode(errors="replace")
    assert "runtime error" not in text and "Sanitizer" not in text, text
    return err


class Raw:
    """A raw TCP client that reads up to a token within a deadline."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), 5)
        self.got = b""

    def until(self, token, timeout=5):
        deadline = time.monotonic() + timeout
        while token not in self.got:
            left = deadline - time.monotonic()
            assert left > 0, "no %r in %r" % (token, self.got[-300:])
            self.s.settimeout(left)
            chunk = self.s.recv(65536)
            assert chunk, "closed before %r: %r" % (token, self.got[-300:])
            self.got += chunk
        before, _, self.got = self.got.partition(token)
        return before + token

    def closed(self, timeout=5):
        """True once the server has closed (reading what it still sends)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.s.settimeout(deadline - time.monotonic())
            try:
                chunk = self.s.recv(65536)
            except ConnectionResetError:
                return True
            if not chunk:
                return True
            self.got += chunk
        return False


def telnet_logged_in(port):
    t = Raw(port)
    t.until(b"login: ")
    t.s.sendall(b"manage\r\n")
    t.until(b"Password: ")
    t.s.sendall(b"!manage\r\n")
    t.until(b"# ")
    return t


def test_ssh_banner_escapes_reach_the_log_escaped(daemon):
    """A version banner with ANSI colour and an OSC title sequence: the
    failed key exchange is logged, with every control byte as \\xNN."""
    s = Raw(daemon.ports["ssh"])
    s.until(b"\r\n")                              # the server's banner
    s.s.sendall(b"SSH-1.0-\x1b[31mEVIL\x1b]0;owned\x07\x9b2J\r\n")
    assert s.closed()
    err = stop_and_log(daemon)
    assert b"\x1b" not in err and b"\x07" not in err and b"\x9b" not in err
    assert (b"(banner: SSH-1.0-\\x1b[31mEVIL\\x1b]0;owned\\x07\\x9b2J)"
            in err), err


def test_repeated_key_exchange_failures_are_summarised(daemon):
    for _ in range(8):
        s = Raw(daemon.ports["ssh"])
        s.until(b"\r\n")
        s.s.sendall(b"SSH-1.0-old\r\n")
        assert s.closed()
    err = stop_and_log(daemon).decode()
    # One line a listener and minute (src/common/listener.h), the rest
    # counted and said when the window ends or, here, at shutdown.
    assert err.count("key exchange failed") == 1, err
    assert "ssh: 7 more connections refused or cut in the last" in err, err


def test_telnet_nul_inside_a_command_refused_with_position(daemon):
    t = telnet_logged_in(daemon.ports["telnet"])
    cmd = b"create user password Tandem-2324x na\x00me"
    t.s.sendall(cmd + b"\r\n")
    reply = t.until(b"# ")
    assert (b"Error: The command contains a control character (0x00) at "
            b"byte %d." % (cmd.index(b"\x00") + 1) in reply), reply
    # the same command without the NUL creates its user: the refusal is
    # what kept "name" out
    t.s.sendall(b"create user password Tandem-2324x other\r\n")
    assert b"Success" in t.until(b"# ")
    t.s.sendall(b"show users\r\n")
    users = t.until(b"# ")
    assert b"\r\nother " in users, users
    assert b"\r\nname " not in users and b"\r\nna" not in users, users
    t.s.sendall(b"show ver\x1b[Asions\r\n")   # an arrow key mid-word
    assert b"control character (0x1b) at byte 9." in t.until(b"# ")
    t.s.close()


def test_telnet_mib_login_name_refused_at_once(daemon):
    t = Raw(daemon.ports["telnet"])
    t.until(b"login: ")
    start = time.monotonic()
    # No line end: the refusal must not wait for one.
    t.s.sendall(b"n" * 4096)
    reply = t.until(b"characters).\r\n")
    assert time.monotonic() - start < 1.0
    assert (b"Login name too long (at most %d characters)." % LOGIN_NAME_MAX
            in reply), reply
    assert b"Password" not in reply
    try:
        t.s.sendall(b"n" * (1 << 20))
    except (BrokenPipeError, ConnectionResetError):
        pass                                  # hung up mid-MiB: also right
    assert t.closed()
    assert b"Password" not in t.got


def test_telnet_login_name_just_over_the_limit(daemon):
    t = Raw(daemon.ports["telnet"])
    t.until(b"login: ")
    t.s.sendall(b"m" * (LOGIN_NAME_MAX + 1) + b"\r\n")
    assert b"Login name too long" in t.until(b"login: ")   # asked again
    t.s.sendall(b"a\x01b\r\n")
    assert b"control character" in t.until(b"login: ")
    # at the limit it is an ordinary (unknown) name: a password is asked
    t.s.sendall(b"m" * LOGIN_NAME_MAX + b"\r\n")
    t.until(b"Password: ")
    t.s.close()


def test_ssh_long_login_name_refused_without_a_try(daemon):
    """A name no user can have costs no hash and no delay; the log says so
    once per window, escaped."""
    c = paramiko.SSHClient()
    c.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    start = time.monotonic()
    with pytest.raises(paramiko.AuthenticationException):
        c.connect("127.0.0.1", port=daemon.ports["ssh"],
                  username="u" * (64 * 1024), password="x",
                  allow_agent=False, look_for_keys=False, timeout=10)
    # a wrong password costs SHELL_LOGIN_DELAY_MS (1 s); this did not
    assert time.monotonic() - start < 0.9
    c.close()
    err = stop_and_log(daemon).decode()
    assert ("ssh: login name from 127.0.0.1 longer than %d bytes refused"
            % LOGIN_NAME_MAX) in err, err


def test_ftp_mib_user_refused_never_asks_a_password(daemon):
    f = Raw(daemon.ports["ftp"])
    f.until(b"220 ")
    f.until(b"\r\n")
    f.s.sendall(b"USER " + b"u" * (1 << 20) + b"\r\n")
    reply = f.until(b"\r\n")
    assert reply.startswith(b"500 "), reply
    # just over the limit: 501 with the limit, no password asked
    f.s.sendall(b"USER " + b"u" * (LOGIN_NAME_MAX + 1) + b"\r\n")
    assert f.until(b"\r\n") == (b"501 User name too long (at most %d "
                                  b"characters).\r\n" % LOGIN_NAME_MAX)
    f.s.sendall(b"QUIT\r\n")
    f.until(b"221")
    assert b"331" not in f.got
    # at the limit it is an ordinary name: the password is asked
    f = Raw(daemon.ports["ftp"])
    f.until(b"220 ")
    f.until(b"\r\n")
    f.s.sendall(b"USER " + b"u" * LOGIN_NAME_MAX + b"\r\n")
    assert f.until(b"\r\n").startswith(b"331 ")


def test_ssh_piped_script_every_command_answered(daemon):
    """Lines near the line limit fill the server's input buffer many times
    over while it answers: each command's own error must come back, once,
    in order (the word is echoed, so none can be confused)."""
    n = 1500
    pad = " " * 900
    script = "".join("bogus%05d%s\n" % (i, pad) for i in range(n)) + "exit\n"
    r = ssh_run(daemon.ports["ssh"], *MANAGE, stdin=script)
    assert r.returncode == 0, r.stderr
    seen = [int(m) for m in re.findall(r"'bogus(\d{5})' was not recognized",
                                       r.stdout)]
    assert seen == list(range(n))


def test_telnet_disabled_by_its_own_session_then_shutdown_clean(daemon):
    """The session that closes its own listener is cut; its reaper thread
    is joined at shutdown, before the daemon's parts are freed."""
    t = telnet_logged_in(daemon.ports["telnet"])
    t.s.sendall(b"set protocols telnet disabled\r\n")
    daemon.wait_for_line(r"^telnet closed")
    assert t.closed()
    err = stop_and_log(daemon).decode()
    assert "stopped" in err


def test_shutdown_while_a_restart_is_pending_and_console_open(tmp_path):
    """`restart mc` arms a 2 s timer; SIGTERM first: the timer thread and
    the console thread (stdin still open) are ended and joined."""
    d = Tandemd(tmp_path / "state", "--console", stdin=subprocess.PIPE)
    r = ssh_run(d.ports["ssh"], *MANAGE, "restart mc a noprompt")
    assert r.returncode == 0, r.stdout + r.stderr
    start = time.monotonic()
    err = stop_and_log(d, 75).decode()        # CONTROLLER_EXIT_RESTART
    assert time.monotonic() - start < 1.5     # not held by the 2 s timer
    assert "stopped" in err
    d.proc.stdin.close()


def test_daemon_log_file_capped_and_rotated(tmp_path):
    """A log near its cap from earlier runs: the next lines start a new
    file, the old one is kept as .1 then .2, never a .3."""
    log = tmp_path / "tandemd.log"
    old = [b"run %d " % k + b"o" * 4000 + b"\n" for k in range(3)]
    for k in range(3):
        log.write_bytes(old[k])
        d = Tandemd(tmp_path / "state", "--log-file", log,
                    "--log-max-bytes", "4096")
        ssh = Raw(d.ports["ssh"])         # one warning from a client
        ssh.until(b"\r\n")
        ssh.s.sendall(b"SSH-1.0-\x1b[1m\r\n")
        assert ssh.closed()
        d.proc.send_signal(signal.SIGTERM)
        assert d.proc.wait(timeout=15) == 0
        assert d.proc.stderr.read() == b""    # all of it went to the file
        text = log.read_bytes()
        assert text.startswith(b"tandemd: "), text[:80]
        assert b"banner: SSH-1.0-\\x1b[1m" in text
        assert text.endswith(b"tandemd: stopped\n")
        assert len(text) <= 4096
        assert (tmp_path / "tandemd.log.1").read_bytes() == old[k]
    assert (tmp_path / "tandemd.log.2").read_bytes() == old[1]
    assert not (tmp_path / "tandemd.log.3").exists()


def test_event_log_rotates_and_show_events_reads_both(tmp_path):
    """A small event cap: protocol toggles fill it, the file moves to
    events.log.1, and `show events` still lists the start event in it."""
    state = tmp_path / "state"
    d = Tandemd(state, "--events-max-bytes", "4096")
    script = "".join("set protocols ftp %s\n" % ("enabled", "disabled")[i % 2]
                     for i in range(60)) + "exit\n"
    r = ssh_run(d.ports["ssh"], *MANAGE, stdin=script)
    assert r.returncode == 0, r.stderr
    live, older = state / "events.log", state / "events.log.1"
    assert older.exists() and 0 < live.stat().st_size <= 4096
    assert older.stat().st_size <= 4096
    assert b"Management controller A started" in older.read_bytes()
    assert b"Management controller A started" not in live.read_bytes()
    r = ssh_run(d.ports["ssh"], *MANAGE, "show events")
    assert r.returncode == 0, r.stderr
    assert "Management controller A started" in r.stdout, r.stdout
    numbers = [int(n) for n in re.findall(r"#A(\d+)", r.stdout)]
    # newest first and without a hole across the two files
    assert numbers == list(range(numbers[0], numbers[0] - len(numbers), -1))
    assert numbers[-1] == 1
    assert d.stop() == 0
