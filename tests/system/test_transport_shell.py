"""tandemd's CLI transports driven by stock clients: telnet in a pty, OpenSSH
ssh (with sshpass) and paramiko, the console; protocol switching at run time;
clean shutdown on SIGTERM; idle RSS. Behind them is the real controller:
src/cli's command table over src/config's users (the simulator's default
users, yescrypt hashes) and lockout, and its protocol settings."""
import os
import pty
import re
import select
import signal
import socket
import subprocess
import time

import paramiko
import pytest

from conftest import program

MANAGE = ("manage", "!manage")
MONITOR = ("monitor", "!monitor")
OPERATOR = ("operator", "Tandem-2324x")     # passes src/config's policy
# `show versions` on a lone controller: controller A's object, then the
# Warning status for the partner (docs/compat.md), never a bare Success.
LOADER_LINE = "Management Controller Loader Code Version: 0.1.0"
PARTNER_WARNING = "Warning: Controller B is not available"
# No known-hosts file at all: a path that cannot exist (procfs refuses new
# files). /dev/null is a plain file in some containers, where it collects
# host keys and a later daemon on a reused port meets "HOST IDENTIFICATION
# HAS CHANGED"; "none" makes OpenSSH 9.2 refuse every unknown host.
SSH_OPTS = ["-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/proc/self/no-known-hosts",
            "-o", "LogLevel=error", "-o", "PubkeyAuthentication=no"]


class Tandemd:
    """A running tandemd on free loopback ports; ports read from its stdout."""

    def __init__(self, state, *extra, stdin=subprocess.DEVNULL):
        self.proc = subprocess.Popen(
            [program("tandemd"), "--state", str(state), "--address", "127.0.0.1",
             "--ssh-port", "0", "--sftp-port", "0", "--telnet-port", "0",
             "--ftp-port", "0", "--http-port", "0",
             "--https-port", "0", "--simulator", *map(str, extra)],
            stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.ports = {}
        self.pending = b""
        try:
            self.wait_for_line(r"^(ssh|sftp) listening", count=2)
        except BaseException:
            self.proc.kill()             # never leave a daemon behind
            self.proc.wait()
            raise

    def wait_for_line(self, pattern, count=1, timeout=10):
        """Reads stdout lines until `count` lines match; records ports."""
        deadline = time.monotonic() + timeout
        found = []
        while len(found) < count:
            if b"\n" not in self.pending:
                left = deadline - time.monotonic()
                assert left > 0, "tandemd printed no %r" % pattern
                r, _, _ = select.select([self.proc.stdout], [], [], left)
                if not r:
                    continue
                data = os.read(self.proc.stdout.fileno(), 4096)
                assert data, "tandemd exited: %s" % self.proc.stderr.read()
                self.pending += data
                continue
            raw, self.pending = self.pending.split(b"\n", 1)
            line = raw.decode()
            m = re.match(r"^(\w+) listening on [\d.]+:(\d+)$", line.strip())
            if m:
                self.ports[m.group(1)] = int(m.group(2))
            if re.search(pattern, line):
                found.append(line)
        return found

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout=15)
        err = self.proc.stderr.read().decode(errors="replace")
        # Sanitizer builds: any finding fails the test that ran.
        assert "runtime error" not in err and "Sanitizer" not in err, err
        return rc


@pytest.fixture
def tandemd(tmp_path):
    # A short wait after a wrong password: the lockout test fails 5 times.
    d = Tandemd(tmp_path / "state", "--enable", "telnet", "--idle-seconds", "30",
                "--set", "login-failure-delay-ms=20")
    d.wait_for_line(r"^telnet listening")
    yield d
    if d.proc.poll() is None:
        assert d.stop() == 0


class Pty:
    """A program on a pty, read with deadlines (what pexpect would do)."""

    def __init__(self, argv, env=None):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            try:
                os.execvpe(argv[0], argv, env or os.environ)
            finally:
                os._exit(127)
        self.seen = b""

    def expect(self, pattern, timeout=10):
        deadline = time.monotonic() + timeout
        rx = re.compile(pattern.encode() if isinstance(pattern, str) else pattern)
        while True:
            m = rx.search(self.seen)
            if m:
                before = self.seen[:m.end()]
                self.seen = self.seen[m.end():]
                return before
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("no %r in %r" % (pattern, self.seen))
            r, _, _ = select.select([self.fd], [], [], left)
            if r:
                try:
                    data = os.read(self.fd, 4096)
                except OSError:
                    data = b""
                if not data:
                    raise AssertionError("EOF before %r in %r" % (pattern, self.seen))
                self.seen += data

    def send(self, text):
        os.write(self.fd, text.encode())

    def wait(self, timeout=10):
        """Exit status, reading (and keeping) output until the end."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r, _, _ = select.select([self.fd], [], [], 0.1)
            if r:
                try:
                    data = os.read(self.fd, 4096)
                except OSError:
                    data = b""
                self.seen += data
                if data:
                    continue
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                os.close(self.fd)
                return os.waitstatus_to_exitcode(status)
        os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)
        raise AssertionError("still running: %r" % self.seen)


def telnet_login(port, user, password, prompt_timeout=10):
    t = Pty(["telnet", "127.0.0.1", str(port)])
    t.expect("login: ", timeout=prompt_timeout)
    t.send(user + "\r")
    t.expect("Password: ")
    t.send(password + "\r")
    return t


def test_telnet_login_password_not_echoed_command_exit(tandemd):
    t = telnet_login(tandemd.ports["telnet"], *MANAGE)
    after = t.expect(r"# $")
    assert b"!manage" not in after, after
    t.send("show versions\r")
    out = t.expect(PARTNER_WARNING + r".*\r\n# ")
    assert b"Controller A Versions\r\n" in out
    assert LOADER_LINE.encode() + b"\r\n" in out
    assert b"Bundle Version: N/A\r\n" in out  # a fresh flash store
    t.send("show protocols\r")
    out = t.expect(r"Success: Command completed successfully\. .*\r\n# ")
    assert b"Command Line Interface (Telnet): Enabled" in out
    t.send("nonsense\r")
    assert b"Error: The command 'nonsense' was not recognized" in t.expect(r"# ")
    t.send("exit\r")
    # The server ended the session: telnet says so and exits by itself,
    # with status 0.
    assert t.wait() == 0
    assert b"Connection closed by foreign host" in t.seen


def test_telnet_wrong_password_three_times_then_closed(tandemd):
    t = Pty(["telnet", "127.0.0.1", str(tandemd.ports["telnet"])])
    start = time.monotonic()
    for _ in range(3):
        t.expect("login: ")
        t.send("manage\r")
        t.expect("Password: ")
        t.send("wrong\r")
        t.expect("Login incorrect")
    t.wait()
    assert b"Connection closed by foreign host" in t.seen
    assert b"# " not in t.seen
    # Each failure is delayed, twice as long as the one before
    # (login-failure-delay-ms=20 here: 20 + 40 + 80 ms).
    assert time.monotonic() - start >= 0.14


def test_telnet_raw_bytes_iac_and_crnul(tandemd):
    """The scenario a stock client never sends: IAC sequences mid-line,
    CR NUL line ends, an erase character, a subnegotiation."""
    s = socket.create_connection(("127.0.0.1", tandemd.ports["telnet"]), 5)
    s.settimeout(5)

    def until(token):
        got = b""
        while token not in got:
            chunk = s.recv(4096)
            assert chunk, got
            got += chunk
        return got

    until(b"login: ")
    s.sendall(b"man\xff\xfb\x18age\r\x00")      # IAC WILL TTYPE inside the name
    got = until(b"Password: ")
    assert b"\xff\xfe\x18" in got               # we answered DONT TTYPE
    assert b"\xff\xfb\x01" in got               # WILL ECHO before the password
    s.sendall(b"\xff\xfd\x01!manag\xff\xfa\x18\x01\xff\xf0e\r\n")
    got = until(b"# ")
    assert b"\xff\xfc\x01" in got               # WONT ECHO after it
    s.sendall(b"show versionsX\x7f\r\x00")      # DEL erases the X
    assert b"Controller A Versions" in until(b"# ")
    s.sendall(b"x" * 2000 + b"\r\n")
    assert b"longer than 1024" in until(b"# ")
    s.close()


def test_lockout_from_one_source_reaches_the_client(tandemd):
    """src/config's policy: 5 failed logins from one source lock it out for
    300 s on every transport, the right password included; another source
    is not affected, and the lockout is in the event log."""
    port = tandemd.ports["telnet"]
    for _ in range(2):
        t = Pty(["telnet", "127.0.0.1", str(port)])
        for _ in range(3):
            try:
                t.expect("login: ", timeout=5)
            except AssertionError:
                break
            t.send("manage\r")
            t.expect("Password: ")
            t.send("bad\r")
        t.wait()
    t = telnet_login(port, *MANAGE)
    t.expect(r"Login locked out: Too many failed logins from 127\.0\.0\.1; "
             r"try again in \d+ second\(s\)\.")
    t.wait()
    assert b"# " not in t.seen
    # The same source over SSH, with the right password: refused too, and
    # told why in a banner (OpenSSH shows it at its default log level).
    r = subprocess.run(["sshpass", "-p", MANAGE[1], "ssh", "-o", "LogLevel=info",
                        *SSH_OPTS, "-T", "-p", str(tandemd.ports["ssh"]),
                        "manage@127.0.0.1", "show versions"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 5, (r.returncode, r.stdout, r.stderr)
    assert "Controller A Versions" not in r.stdout
    assert re.search(r"Too many failed logins from 127\.0\.0\.1; try again "
                     r"in \d+ second\(s\)", r.stderr), r.stderr
    # 127.0.0.2 is another source on the same loopback.
    r = ssh_run(tandemd.ports["ssh"], *MANAGE, "show events",
                opts=["-o", "BindAddress=127.0.0.2"])
    assert r.returncode == 0, r.stderr
    assert re.search(r"WARNING Login lockout: 5 failed logins from "
                     r"127\.0\.0\.1 \(last as user 'manage'\); logins from "
                     r"there are refused for 300 second\(s\)\.", r.stdout), \
        r.stdout


def ssh_run(port, user, password, *command, stdin=None, tty=False, opts=()):
    args = ["sshpass", "-p", password, "ssh", *SSH_OPTS, *opts, "-p", str(port)]
    args += ["-tt"] if tty else ["-T"]
    return subprocess.run(args + ["%s@127.0.0.1" % user, *command],
                          input=stdin, capture_output=True, text=True,
                          timeout=30)


def test_ssh_stock_exec_with_tty(tandemd):
    r = subprocess.run(["sshpass", "-p", MANAGE[1], "ssh", *SSH_OPTS, "-tt",
                        "-p", str(tandemd.ports["ssh"]), "manage@127.0.0.1",
                        "show versions"], capture_output=True, timeout=30)
    assert r.returncode == 0
    assert LOADER_LINE.encode() + b"\r\n" in r.stdout   # the pty's line ends
    assert PARTNER_WARNING.encode() in r.stdout


def test_ssh_stock_exec_exit_status(tandemd):
    # The family's one-shot form: the prompt and the command, the reply,
    # the prompt (tests/system/test_ssh_oneshot.py).
    r = ssh_run(tandemd.ports["ssh"], *MANAGE, "show", "versions")
    assert r.returncode == 0, r.stderr
    assert LOADER_LINE in r.stdout
    # A Warning is not a failure: the command did what it could.
    assert r.stdout.splitlines()[-2].startswith(PARTNER_WARNING)
    r = ssh_run(tandemd.ports["ssh"], *MANAGE, "show", "protocols")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[-2].startswith(
        "Success: Command completed successfully.")
    r = ssh_run(tandemd.ports["ssh"], *MANAGE, "set protocols bogus enabled")
    assert r.returncode == 1
    assert r.stdout.startswith("# set protocols bogus enabled\nError: The "
                               "parameter 'bogus' was not recognized: "
                               "expected a protocol"), r.stdout
    r = ssh_run(tandemd.ports["ssh"], *MANAGE, "no-such-command")
    assert r.returncode == 1
    assert r.stdout.startswith("# no-such-command\nError: The command "
                               "'no-such-command' was not recognized"), r.stdout
    # A failed set changed nothing; a good one exits 0 and takes effect.
    r = ssh_run(tandemd.ports["ssh"], *MANAGE, "set protocols ftp enabled")
    assert r.returncode == 0, r.stdout
    r = ssh_run(tandemd.ports["ssh"], *MANAGE, "show protocols")
    assert "File Transfer Protocol (FTP): Enabled" in r.stdout


def test_ssh_stock_wrong_password_rejected(tandemd):
    r = ssh_run(tandemd.ports["ssh"], "manage", "nope", "show", "versions")
    assert r.returncode == 5                     # sshpass: wrong password
    assert "Permission denied" in r.stderr
    assert "Tandem Version" not in r.stdout


def test_ssh_stock_piped_shell(tandemd):
    """`ssh -T` with commands on stdin, as scripts do: no banner (it is for
    a terminal), each line after its prompt as a terminal would show it."""
    r = ssh_run(tandemd.ports["ssh"], *MANAGE,
                stdin="show versions\nshow protocols\nexit\n")
    assert r.returncode == 0, r.stderr
    assert "System Name: Uninitialized Name" not in r.stdout
    assert r.stdout.startswith("# show versions\n")
    assert LOADER_LINE in r.stdout
    assert "Command Line Interface (Telnet): Enabled" in r.stdout
    assert "\n# show protocols\n" in r.stdout
    assert r.stdout.endswith("\n# exit\n")


def test_ssh_large_piped_input_all_commands_run(tandemd):
    """More input than any pipe or pty buffer holds: nothing is lost and
    nothing deadlocks (keystrokes are flow-controlled by the SSH window)."""
    r = ssh_run(tandemd.ports["ssh"], *MANAGE,
                stdin="show versions\n" * 2000 + "exit\n")
    assert r.returncode == 0, r.stderr
    assert r.stdout.count(LOADER_LINE) == 2000


def test_ssh_stock_interactive_pty(tandemd):
    t = Pty(["sshpass", "-p", MANAGE[1], "ssh", *SSH_OPTS, "-tt", "-p",
             str(tandemd.ports["ssh"]), "manage@127.0.0.1"])
    t.expect("System Name: ")
    t.expect(r"# $")
    t.send("show versions\r")
    out = t.expect(PARTNER_WARNING + r".*\r\n# ")
    assert b"show versions\r\n" in out          # echoed by the server's pty
    assert LOADER_LINE.encode() + b"\r\n" in out
    t.send("exit\r")
    assert t.wait() == 0


def test_ssh_stock_pty_line_editing_and_ctrl_d(tandemd):
    """The client's terminal is raw: the server echoes and edits as a
    terminal would: DEL erases, ^U kills the line, arrow keys are
    ignored, ^C drops the line, ^D on an empty line logs out."""
    t = Pty(["sshpass", "-p", MANAGE[1], "ssh", *SSH_OPTS, "-tt", "-p",
             str(tandemd.ports["ssh"]), "manage@127.0.0.1"])
    t.expect(r"# $")
    t.send("show vx\x7fersions\r")
    out = t.expect(PARTNER_WARNING + r".*\r\n# ")
    assert b"show vx\b \bersions\r\n" in out
    assert LOADER_LINE.encode() + b"\r\n" in out
    t.send("bogus\x15show\x1b[A protocols\r")
    out = t.expect(r"\r\n# ")
    assert b"bogus\b \b\b \b\b \b\b \b\b \bshow protocols\r\n" in out
    assert b"Command Line Interface (Telnet)" in out
    assert b"Error" not in out
    t.send("restart mc a\x03")
    out = t.expect(r"\r\n# ")
    assert out == b"restart mc a^C\r\n# "        # dropped, not run
    t.send("\x04")
    assert t.wait() == 0


def paramiko_client(port, user, password):
    c = paramiko.SSHClient()
    c.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    c.connect("127.0.0.1", port=port, username=user, password=password,
              allow_agent=False, look_for_keys=False, timeout=10)
    return c


def test_paramiko_exec_and_host_key(tandemd, tmp_path):
    c = paramiko_client(tandemd.ports["ssh"], *MANAGE)
    assert c.get_transport().get_remote_server_key().get_name() == "ssh-ed25519"
    _, out, _ = c.exec_command("show versions", timeout=10)
    assert LOADER_LINE in out.read().decode()
    assert out.channel.recv_exit_status() == 0
    c.close()
    key = tmp_path / "state" / "config" / "ssh_host_ed25519_key"
    assert os.stat(key).st_mode & 0o777 == 0o600
    with pytest.raises(paramiko.AuthenticationException):
        paramiko_client(tandemd.ports["ssh"], "manage", "wrong")


def test_paramiko_shell_monitor_cannot_set(tandemd):
    c = paramiko_client(tandemd.ports["ssh"], *MONITOR)
    _, out, _ = c.exec_command("set protocols telnet disabled", timeout=10)
    text = out.read().decode()
    assert out.channel.recv_exit_status() == 1
    assert text.startswith("# set protocols telnet disabled\nError: "
                           "Permission denied: the user 'monitor' has "
                           "the monitor role"), text
    c.close()
    c = paramiko_client(tandemd.ports["ssh"], *MONITOR)  # a channel each
    _, out, _ = c.exec_command("show protocols", timeout=10)
    assert "Command Line Interface (Telnet): Enabled" in out.read().decode()
    assert out.channel.recv_exit_status() == 0
    c.close()
    # Still open.
    socket.create_connection(("127.0.0.1", tandemd.ports["telnet"]), 5).close()


def refused(port):
    try:
        socket.create_connection(("127.0.0.1", port), 2).close()
    except ConnectionRefusedError:
        return True
    return False


def test_protocols_disabled_refuse_and_enable_opens(tandemd):
    port = tandemd.ports["telnet"]
    live = telnet_login(port, *MANAGE)
    live.expect(r"# $")
    r = ssh_run(tandemd.ports["ssh"], *MANAGE, "set protocols telnet disabled")
    assert r.returncode == 0, r.stdout
    assert "was set to 'disabled'" in r.stdout
    tandemd.wait_for_line(r"^telnet closed")
    assert refused(port)
    live.wait()                                  # its session was ended too
    r = ssh_run(tandemd.ports["ssh"], *MANAGE, "show protocols")
    assert "Command Line Interface (Telnet): Disabled" in r.stdout
    r = ssh_run(tandemd.ports["ssh"], *MANAGE, "set protocols telnet enabled")
    assert r.returncode == 0
    tandemd.wait_for_line(r"^telnet listening")
    assert tandemd.ports["telnet"] == port       # the same port again
    t = telnet_login(port, *MANAGE)
    t.expect(r"# $")
    t.send("exit\r")
    t.wait()
    # ftp starts disabled and opens the same way.
    r = ssh_run(tandemd.ports["ssh"], *MANAGE, "set protocols ftp enabled")
    assert r.returncode == 0, r.stdout
    tandemd.wait_for_line(r"^ftp listening")
    s = socket.create_connection(("127.0.0.1", tandemd.ports["ftp"]), 5)
    assert s.recv(100).startswith(b"220 ")
    s.close()


def test_telnet_session_disables_its_own_protocol(tandemd):
    t = telnet_login(tandemd.ports["telnet"], *MANAGE)
    t.expect(r"# $")
    t.send("set protocols telnet disabled\r")
    t.wait()
    tandemd.wait_for_line(r"^telnet closed")
    assert refused(tandemd.ports["telnet"])
    r = ssh_run(tandemd.ports["ssh"], *MANAGE, "show versions")
    assert r.returncode == 0                     # the daemon is fine


def test_console_login_and_command(tmp_path):
    """--console on a terminal: stdin and stdout are the same pty, as under
    the simulator."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [program("tandemd"), "--state", str(tmp_path / "state"), "--console",
         "--ssh-port", "0", "--sftp-port", "0",
         "--user", "%s:%s:monitor" % OPERATOR],
        stdin=slave, stdout=slave, stderr=subprocess.PIPE)
    os.close(slave)
    con = Pty.__new__(Pty)
    con.fd, con.seen = master, b""
    con.expect(r"ssh listening on 127\.0\.0\.1:\d+")
    con.expect("login: ")
    con.send(OPERATOR[0] + "\n")
    con.expect("Password: ")
    con.send(OPERATOR[1] + "\n")
    after = con.expect(r"# ")
    assert OPERATOR[1].encode() not in after     # echo off for the password
    con.send("show versions\n")
    assert LOADER_LINE.encode() in con.expect(PARTNER_WARNING + r".*\n# ")
    con.send("set protocols telnet enabled\n")  # --user gave monitor only
    assert b"Error: Permission denied: the user 'operator' has the monitor " \
        b"role" in con.expect(r"# ")
    con.send("exit\n")
    con.expect("login: ")                        # a console asks again
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0
    os.close(master)


def test_user_option_weak_password_refused(tmp_path):
    """--user goes through src/config's password policy."""
    r = subprocess.run([program("tandemd"), "--state", str(tmp_path / "state"),
                        "--user", "weak:weakpassword:manage", "-n"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2
    assert "a password needs an upper-case letter" in r.stderr
    assert not (tmp_path / "state" / "config" / "users.json").exists() or \
        "weak" not in (tmp_path / "state" / "config" / "users.json").read_text()


def test_sigterm_with_sessions_exits_zero(tmp_path):
    d = Tandemd(tmp_path / "state", "--enable", "telnet")
    d.wait_for_line(r"^telnet listening")
    t = telnet_login(d.ports["telnet"], *MANAGE)
    t.expect(r"# $")
    c = paramiko_client(d.ports["ssh"], *MANAGE)
    chan = c.invoke_shell()
    assert d.stop() == 0         # within stop()'s deadline, sessions or not
    t.wait()
    assert b"Connection closed by foreign host" in t.seen
    for port in d.ports.values():
        assert refused(port)
    chan.close()
    c.close()


def test_idle_session_is_logged_out(tmp_path):
    d = Tandemd(tmp_path / "state", "--enable", "telnet", "--idle-seconds", "1")
    d.wait_for_line(r"^telnet listening")
    t = telnet_login(d.ports["telnet"], *MANAGE)
    t.expect(r"# $")
    t.expect("idle too long", timeout=5)
    t.wait()
    assert d.stop() == 0


RSS_TARGET_KIB = (8 * 1024 + 4608)


def test_idle_rss(tandemd):
    """Idle memory after one SSH command, under the target: 8 MiB, and
    4.5 MiB more for HTTPS (libmicrohttpd loads GnuTLS and its chain,
    p11-kit, nettle, gmp..., about 2.6 MiB of touched pages, and the
    HTTPS listener's certificate and priorities). VmRSS counts the pages
    of the shared libraries that tandemd touched (mostly libcrypto, libc
    and libgnutls) as well as its own (RssAnon). What keeps it down:
    libarchive linked statically, OpenSSL without openssl.cnf or its error
    strings, public keys read without OpenSSL's decoders, one malloc arena
    trimmed as each session ends."""
    r = ssh_run(tandemd.ports["ssh"], *MANAGE, "show versions")
    assert r.returncode == 0
    # The session's memory goes back as its thread ends, a moment after
    # ssh exits: read until it is under the targets or a deadline passes.
    asan = os.environ.get("TANDEM_BUILD", "").endswith("asan")
    deadline = time.monotonic() + 5
    while True:
        with open("/proc/%d/status" % tandemd.proc.pid) as f:
            status = f.read()
        rss, anon, files = (
            int(re.search(r"%s:\s+(\d+) kB" % k, status).group(1))
            for k in ("VmRSS", "RssAnon", "RssFile"))
        if asan or (anon < 4 * 1024 and rss < RSS_TARGET_KIB) or \
                time.monotonic() > deadline:
            break
        time.sleep(0.05)
    print("tandemd idle: VmRSS %d KiB = RssAnon %d KiB + RssFile %d KiB"
          % (rss, anon, files))
    if os.environ.get("TANDEM_BUILD", "").endswith(("asan", "tsan")):
        pytest.skip("RSS is not meaningful under a sanitizer (%d KiB)" % rss)
    assert anon < 4 * 1024
    assert rss < RSS_TARGET_KIB


def test_daemon_show_protocols_is_what_it_serves(tandemd):
    r = ssh_run(tandemd.ports["ssh"], *MANAGE, "show protocols")
    assert r.returncode == 0, r.stderr
    for line in ("Web Browser Interface (HTTP): Disabled",
                 "Secure Web Browser Interface (HTTPS): Enabled",
                 "Command Line Interface (Telnet): Enabled",
                 "Secure Command Line Interface (SSH): Enabled",
                 "File Transfer Protocol (FTP): Disabled",
                 "Secure File Transfer Protocol (SFTP): Enabled",
                 "Simple Network Management Protocol (SNMP): Disabled"):
        assert line + "\n" in r.stdout, r.stdout
    # What it does not serve cannot be switched on, and nothing changes.
    r = ssh_run(tandemd.ports["ssh"], *MANAGE, "set protocols ftp enabled "
                "snmp enabled")
    assert "not provided by this controller" in r.stdout, r.stdout
    r = ssh_run(tandemd.ports["ssh"], *MANAGE, "show protocols")
    assert "File Transfer Protocol (FTP): Disabled\n" in r.stdout
    assert "ftp" not in tandemd.ports


def sftp_listdir(port):
    c = paramiko_client(port, *MANAGE)
    try:
        return sorted(c.open_sftp().listdir("/"))
    finally:
        c.close()


def test_set_protocols_sftp_disabled_closes_port_1022(tandemd):
    """The SFTP-only listener (1022 on the arrays) follows the switch."""
    port = tandemd.ports["sftp"]
    assert "progress" in sftp_listdir(port)
    r = ssh_run(tandemd.ports["ssh"], *MANAGE, "set protocols sftp disabled")
    assert r.returncode == 0 and "Success" in r.stdout, r.stdout
    tandemd.wait_for_line(r"^sftp closed")
    assert refused(port)
    r = ssh_run(tandemd.ports["ssh"], *MANAGE, "show protocols")
    assert "Secure File Transfer Protocol (SFTP): Disabled\n" in r.stdout
    r = ssh_run(tandemd.ports["ssh"], *MANAGE, "set protocols sftp enabled")
    assert r.returncode == 0, r.stdout
    tandemd.wait_for_line(r"^sftp listening")
    assert tandemd.ports["sftp"] == port
    assert "progress" in sftp_listdir(port)


def exited(d):
    """tandemd's exit status once it stops by itself (within a deadline)."""
    rc = d.proc.wait(timeout=20)
    err = d.proc.stderr.read().decode(errors="replace")
    assert "runtime error" not in err and "Sanitizer" not in err, err
    return rc


def test_daemon_restart_and_shutdown(tmp_path):
    d = Tandemd(tmp_path / "state")
    try:
        # The partner is restarted from its own CLI: refused, nothing scheduled.
        r = ssh_run(d.ports["ssh"], *MANAGE, "restart mc b")
        assert "Error:" in r.stdout and "from its own CLI" in r.stdout, \
            r.stdout
        r = ssh_run(d.ports["ssh"], *MANAGE, "restart sc a")
        assert "no storage controller processor" in r.stdout, r.stdout
        r = ssh_run(d.ports["ssh"], *MANAGE, "show events")
        assert "restarting in" not in r.stdout
        r = ssh_run(d.ports["ssh"], *MANAGE, "restart mc a")
        assert "Success" in r.stdout, r.stdout
        # Asks its supervisor (the loader) to start it again: exit 75.
        assert exited(d) == 75
        d = Tandemd(tmp_path / "state")
        r = ssh_run(d.ports["ssh"], *MANAGE, "show events")
        assert "Management controller A restarting in 2 s: restart mc " \
            "requested from the CLI." in r.stdout, r.stdout
        r = ssh_run(d.ports["ssh"], *MANAGE, "shutdown a")
        assert "Success" in r.stdout, r.stdout
        assert exited(d) == 0
        for port in d.ports.values():
            assert refused(port)
    finally:
        if d.proc.poll() is None:
            d.proc.kill()
            d.proc.wait()
