"""The admission policy of every listener (src/common/listener.c), against
the real tandemd on loopback, many clients coming from their own source
addresses (127.0.x.y; Linux routes all of 127/8 to loopback): the
operator still logs in at once on SSH, SFTP, telnet and FTP, with stock
clients, while hundreds of connections that never log in are held open;
connections that have not logged in are cut at the login deadline, FTP
NOOPs or not; a client that stops reading its replies is cut at the write
deadline instead of holding its session's thread; accept() out of file
descriptors backs off instead of spinning."""
import os
import re
import resource
import select
import signal
import socket
import subprocess
import threading
import time

import pytest

from test_transport_shell import (MANAGE, PARTNER_WARNING, SSH_OPTS, Tandemd,
                                  telnet_login)

LOGIN_SECONDS = 2       # --login-seconds of the short-deadline daemon
WRITE_SECONDS = 2       # --write-seconds of the short-deadline daemon
# The operator's whole login, a command included, from a stock client.
OPERATOR_SECONDS = 1.0
FLOOD_PORTS = ("ssh", "sftp", "telnet", "ftp")


def daemon(tmp_path, *extra):
    d = Tandemd(tmp_path / "state", "--enable", "telnet", "--enable", "ftp",
                *extra)
    d.wait_for_line(r"^ftp listening")
    if "telnet" not in d.ports:
        d.wait_for_line(r"^telnet listening")
    return d


@pytest.fixture
def flooded(tmp_path):
    d = daemon(tmp_path)
    yield d
    if d.proc.poll() is None:
        assert d.stop() == 0


@pytest.fixture
def short(tmp_path):
    d = daemon(tmp_path, "--login-seconds", LOGIN_SECONDS,
               "--write-seconds", WRITE_SECONDS)
    yield d
    if d.proc.poll() is None:
        assert d.stop() == 0


def connect(port, source, rcvbuf=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:      # before connect, so the window stays small
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.bind((source, 0))
    s.settimeout(5)
    s.connect(("127.0.0.1", port))
    return s


def until(s, token, seen=b""):
    """Reads s until token; returns what came up to and including it."""
    while token not in seen:
        data = s.recv(4096)
        assert data, "closed before %r: %r" % (token, seen)
        seen += data
    return seen


def wait_closed(s, timeout):
    """Reads (and drops) what s receives until the peer closes it; the
    seconds that took. Fails if it is still open after timeout."""
    start = time.monotonic()
    while True:
        left = start + timeout - time.monotonic()
        assert left > 0, "still open after %.1f s" % timeout
        r, _, _ = select.select([s], [], [], left)
        if not r:
            continue
        try:
            if not s.recv(65536):
                return time.monotonic() - start
        except (ConnectionResetError, BrokenPipeError):
            return time.monotonic() - start


def server_side_states(port):
    """TCP states (hex, as /proc/net/tcp has them) of tandemd's end of every
    connection to port, keyed by the client's port."""
    states = {}
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            local, remote, st = fields[1], fields[2], fields[3]
            if int(local.split(":")[1], 16) == port:
                states[int(remote.split(":")[1], 16)] = st
    return states


ESTABLISHED = "01"


def wait_server_closed(port, client_port, timeout):
    """Seconds until tandemd's end of the connection from client_port has
    left ESTABLISHED (it was shut down), within timeout."""
    start = time.monotonic()
    while server_side_states(port).get(client_port) == ESTABLISHED:
        assert time.monotonic() - start < timeout, \
            "tandemd still holds the connection after %.1f s" % timeout
        time.sleep(0.05)
    return time.monotonic() - start


def ftp_login(port, source="127.0.0.1", rcvbuf=None):
    s = connect(port, source, rcvbuf)
    until(s, b"220 ")
    s.sendall(b"USER manage\r\n")
    until(s, b"331 ")
    s.sendall(b"PASS !manage\r\n")
    seen = b""
    while not (seen.startswith(b"230 ") or b"\n230 " in seen):
        data = s.recv(4096)
        assert data, "closed before 230: %r" % seen
        seen += data
    return s


# ---- the operator under a flood ----

class Flood:
    """Connections that never log in, held open: idle ones, slow ones that
    trickle a byte at a time, and ones that send without ever reading.
    Each source address holds a few of them on every port."""

    def __init__(self, ports):
        self.socks, self.slow, self.stop = [], [], threading.Event()
        targets = [ports[p] for p in FLOOD_PORTS]
        for i in range(300):
            self.add(targets[i % 4], "127.0.1.%d" % (i // 12 + 1))
        for i in range(50):
            self.slow.append(self.add(targets[i % 4],
                                      "127.0.2.%d" % (i // 8 + 1)))
        # Never reading: FTP and telnet answer every line, so they block
        # writing once these small windows are full.
        flood = {ports["ftp"]: b"NOOP\r\n" * 20000,
                 ports["telnet"]: b"x\r\n" * 40000}
        for i in range(16):
            port = ports["ftp"] if i % 2 else ports["telnet"]
            s = self.add(port, "127.0.3.%d" % (i // 4 + 1), rcvbuf=4096)
            s.setblocking(False)
            try:
                s.send(flood[port])
            except OSError:
                pass        # already cut to make room: still counted
        self.thread = threading.Thread(target=self.trickle, daemon=True)
        self.thread.start()

    def add(self, port, source, rcvbuf=None):
        s = connect(port, source, rcvbuf)
        self.socks.append(s)
        return s

    def trickle(self):
        while not self.stop.wait(0.3):
            for s in self.slow:
                try:
                    s.send(b"S", socket.MSG_DONTWAIT)
                except OSError:
                    pass

    def close(self):
        self.stop.set()
        self.thread.join()
        for s in self.socks:
            s.close()


def timed(fn):
    start = time.monotonic()
    result = fn()
    return time.monotonic() - start, result


def test_operator_logs_in_on_every_port_during_a_flood(flooded, tmp_path):
    ports = flooded.ports
    flood = Flood(ports)
    try:
        took = {}
        took["ssh"], r = timed(lambda: subprocess.run(
            ["sshpass", "-p", MANAGE[1], "ssh", *SSH_OPTS, "-p",
             str(ports["ssh"]), "manage@127.0.0.1", "show versions"],
            capture_output=True, text=True, timeout=30))
        assert r.returncode == 0 and PARTNER_WARNING in r.stdout, r

        batch = tmp_path / "batch"
        batch.write_text("get progress p.xml\n")
        took["sftp"], r = timed(lambda: subprocess.run(
            ["sshpass", "-p", MANAGE[1], "sftp", *SSH_OPTS, "-o",
             "BatchMode=no", "-P", str(ports["sftp"]), "-b", str(batch),
             "manage@127.0.0.1"], capture_output=True, text=True,
            timeout=30, cwd=tmp_path))
        assert r.returncode == 0, r
        assert b"<RESPONSE" in (tmp_path / "p.xml").read_bytes()

        def telnet():
            t = telnet_login(ports["telnet"], *MANAGE)
            t.expect(r"# $", timeout=30)
            t.send("exit\r")
            t.wait()
        took["telnet"], _ = timed(telnet)

        took["ftp"], r = timed(lambda: subprocess.run(
            ["ftp", "-inv", "127.0.0.1", str(ports["ftp"])],
            input="user manage !manage\nquote NOOP\nbye\n",
            capture_output=True, text=True, timeout=30))
        assert "230" in r.stdout and "200" in r.stdout, r

        print("operator logins (s):", took)
        slow = [p for p, t in took.items() if t >= OPERATOR_SECONDS]
        assert not slow, took
    finally:
        flood.close()
    # Hundreds of connections refused or cut, a few lines in the log: one
    # a listener in the minute, and a count of the rest as it closes.
    flooded.proc.send_signal(signal.SIGTERM)
    assert flooded.proc.wait(timeout=15) == 0
    err = flooded.proc.stderr.read().decode(errors="replace")
    assert "runtime error" not in err and "Sanitizer" not in err, err
    lines = [ln for ln in err.splitlines() if "127.0." in ln]
    assert 1 <= len(lines) <= len(FLOOD_PORTS), err
    counts = [int(m) for m in re.findall(
        r"(\d+) more connections refused or cut", err)]
    assert sum(counts) + len(lines) >= 300, err


def test_a_flood_during_a_login_cuts_the_flood_not_the_operator(flooded):
    """The listener is full of connections that never log in; the
    operator gets a slot, and while it types, 16 more arrive from a few
    sources: each makes room by cutting one from the source holding the
    most, so the operator's connection, alone from its address, stays."""
    port = flooded.ports["telnet"]
    held = [connect(port, "127.0.4.%d" % (i // 4 + 1)) for i in range(16)]
    s = connect(port, "127.0.0.1")
    until(s, b"login: ")
    s.sendall(b"manage\r\n")
    more = [connect(port, "127.0.5.%d" % (i // 4 + 1)) for i in range(16)]
    until(s, b"Password: ")
    s.sendall(b"!manage\r\n")
    until(s, b"# ")
    s.sendall(b"show versions\r\n")
    assert PARTNER_WARNING.encode() in until(s, b"\r\n# ")
    # A logged-in session is never the one cut: 16 more change nothing.
    for i in range(16):
        more.append(connect(port, "127.0.6.%d" % (i // 4 + 1)))
    s.sendall(b"show versions\r\n")
    assert PARTNER_WARNING.encode() in until(s, b"\r\n# ")
    for c in held + more + [s]:
        c.close()


def test_every_session_logged_in_refuses_the_next(short):
    """SHELL_SESSIONS_MAX logged-in sessions: the next connection is
    closed at once; one logs out, and a new one gets in."""
    port = short.ports["telnet"]
    sessions = []
    for i in range(16):
        s = connect(port, "127.0.7.%d" % (i + 1))
        until(s, b"login: ")
        s.sendall(b"monitor\r\n")
        until(s, b"Password: ")
        s.sendall(b"!monitor\r\n")
        until(s, b"# ")
        sessions.append(s)
    extra = connect(port, "127.0.7.100")
    assert extra.recv(4096) == b""
    extra.close()
    sessions.pop().sendall(b"exit\r\n")
    deadline = time.monotonic() + 5
    while True:                         # a slot frees when its thread ends
        s = connect(port, "127.0.7.101")
        if s.recv(4096):
            break
        s.close()
        assert time.monotonic() < deadline
    s.close()
    for s in sessions:
        s.close()


def test_too_many_from_one_source_refused(flooded):
    """TCP_SOURCE_MAX (4) connections not logged in from one address; the
    fifth from it is closed at once, while another address gets in."""
    port = flooded.ports["telnet"]
    four = [connect(port, "127.0.8.1") for _ in range(4)]
    for s in four:
        until(s, b"login: ")
    fifth = connect(port, "127.0.8.1")
    assert fifth.recv(4096) == b""
    other = connect(port, "127.0.8.2")
    until(other, b"login: ")
    for s in four + [fifth, other]:
        s.close()


# ---- deadlines ----

def test_idle_connections_cut_at_the_login_deadline(short):
    start = time.monotonic()
    socks = {p: connect(short.ports[p], "127.0.9.1") for p in FLOOD_PORTS}
    took = {}
    for p, s in socks.items():      # each timed from the same start
        wait_closed(s, LOGIN_SECONDS + 3)
        took[p] = time.monotonic() - start
    for p, t in took.items():
        assert LOGIN_SECONDS - 0.3 <= t <= LOGIN_SECONDS + 1.5, (p, took)
        socks[p].close()


def test_ssh_key_exchange_trickled_is_cut_at_the_login_deadline(short):
    """The SSH key exchange counts against the login deadline: a client
    that sends its banner a byte at a time never reaches a login."""
    s = connect(short.ports["ssh"], "127.0.9.2")
    start = time.monotonic()
    banner = b"SSH-2.0-slow" + b"x" * 200
    for b in banner:
        try:
            s.send(bytes([b]))
        except OSError:
            break
        r, _, _ = select.select([s], [], [], 0.2)
        if r:
            try:
                if not s.recv(4096):
                    break
            except ConnectionResetError:
                break
        assert time.monotonic() - start < LOGIN_SECONDS + 3
    took = time.monotonic() - start
    assert LOGIN_SECONDS - 0.3 <= took <= LOGIN_SECONDS + 1.5, took
    s.close()


def test_ftp_noop_before_login_does_not_extend_the_deadline(short):
    s = connect(short.ports["ftp"], "127.0.9.3")
    start = time.monotonic()
    until(s, b"220 ")
    answered = 0
    while True:
        try:
            s.sendall(b"NOOP\r\n")
            r, _, _ = select.select([s], [], [], 0.4)
            data = s.recv(4096) if r else b"x"
        except (ConnectionResetError, BrokenPipeError):
            break
        if not data:
            break
        answered += data.count(b"200 ")
        assert time.monotonic() - start < LOGIN_SECONDS + 3, "never cut"
        time.sleep(0.2)     # a client's pace, not a synchronisation
    took = time.monotonic() - start
    assert answered >= 2, "NOOP before login was not answered"
    assert LOGIN_SECONDS - 0.3 <= took <= LOGIN_SECONDS + 1.5, took
    s.close()


def test_logged_in_ftp_outlives_the_login_deadline(short):
    s = ftp_login(short.ports["ftp"])
    end = time.monotonic() + LOGIN_SECONDS + 1.5
    while time.monotonic() < end:
        s.sendall(b"NOOP\r\n")
        until(s, b"200 ")
        time.sleep(0.25)
    s.sendall(b"QUIT\r\n")
    until(s, b"221 ")
    s.close()


@pytest.mark.parametrize("transport", ["telnet", "ftp"])
def test_client_that_stops_reading_is_cut(short, transport):
    """Logged in (so no login deadline applies), it sends commands and
    never reads the replies: the session's write stops making progress and
    is cut at the write deadline, and its slot serves again."""
    port = short.ports[transport]
    if transport == "ftp":
        s = ftp_login(port, "127.0.10.1", rcvbuf=4096)
        line = b"NOOP\r\n"
    else:
        s = connect(port, "127.0.10.1", rcvbuf=4096)
        until(s, b"login: ")
        s.sendall(b"monitor\r\n")
        until(s, b"Password: ")
        s.sendall(b"!monitor\r\n")
        until(s, b"# ")
        line = b"show versions\r\n"
    s.setblocking(False)
    sent, start = 0, time.monotonic()
    # Send until tandemd stops taking lines: its replies fill our window
    # and its send blocks, then its receive buffer fills behind it.
    while time.monotonic() - start < 10:
        try:
            sent += s.send(line * 256)
        except BlockingIOError:
            r = select.select([], [s], [], 0.5)[1]
            if not r:
                break
    assert sent > 0
    client_port = s.getsockname()[1]
    took = wait_server_closed(port, client_port, WRITE_SECONDS + 5)
    assert took <= WRITE_SECONDS + 2, took
    s.close()
    if transport == "telnet":
        t = telnet_login(port, *MANAGE)
        t.expect(r"# $")
        t.send("exit\r")
        t.wait()


def test_ssh_client_that_stops_reading_is_cut(short):
    """OpenSSH with a terminal, its output never read: the channel window
    closes and tandemd's write waits for it only until the deadline, then
    hangs up (ssh says so)."""
    port = short.ports["ssh"]
    p = subprocess.Popen(
        ["sshpass", "-p", MANAGE[1], "ssh", *SSH_OPTS, "-tt", "-p",
         str(port), "manage@127.0.0.1"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        os.set_blocking(p.stdin.fileno(), False)
        start = time.monotonic()
        # Commands until ssh takes no more: its output backs up in the
        # pipe to us, then in the channel's window to tandemd; or until
        # tandemd has hung up on it.
        while time.monotonic() - start < 15:
            try:
                os.write(p.stdin.fileno(), b"show versions\n" * 64)
            except BrokenPipeError:
                break
            except BlockingIOError:
                if ESTABLISHED in server_side_states(port).values():
                    break
            time.sleep(0.05)
        start = time.monotonic()
        while ESTABLISHED in server_side_states(port).values():
            assert time.monotonic() - start < WRITE_SECONDS + 5, \
                "tandemd still writes to a client that stopped reading"
            time.sleep(0.05)
        assert p.wait(timeout=10) == 255
        assert b"closed by remote host" in p.stderr.read()
    finally:
        p.kill()
        p.wait()


def test_accept_out_of_descriptors_backs_off(tmp_path):
    """With its descriptors used up, accept() fails with EMFILE while
    connections wait in the backlog: tandemd pauses accepting instead of
    retrying at once, and serves again when descriptors free up."""
    d = daemon(tmp_path)
    try:
        # Room for a few more descriptors than it holds now.
        held = len(os.listdir("/proc/%d/fd" % d.proc.pid))
        resource.prlimit(d.proc.pid, resource.RLIMIT_NOFILE,
                         (held + 6, held + 6))
        port = d.ports["telnet"]
        socks = [connect(port, "127.0.11.%d" % (i // 4 + 1))
                 for i in range(120)]

        def cpu():
            with open("/proc/%d/stat" % d.proc.pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf(
                "SC_CLK_TCK")
        before, start = cpu(), time.monotonic()
        time.sleep(2)       # measuring CPU over a span, not waiting
        used = (cpu() - before) / (time.monotonic() - start)
        assert used < 0.2, "tandemd used %.0f%% CPU" % (used * 100)
        for s in socks:
            s.close()
        # The 120 closed connections are accepted and ended first, a few
        # descriptors at a time with a pause whenever they run out: on a
        # loaded machine that takes longer than a prompt usually does.
        t = telnet_login(port, *MANAGE, prompt_timeout=60)
        t.expect(r"# $")
        t.send("exit\r")
        t.wait()
    finally:
        assert d.stop() == 0
