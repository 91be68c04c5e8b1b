"""The login limits of src/config/auth.c seen from FTP clients: attempts
are reserved before the password hash (A1), a global bucket bounds guesses
from many sources (A3: 127.0.x.y), each wrong password waits longer than
the one before (A4), and a lockout outlives a tandemd restart."""
import ftplib
import re
import threading
import time

import pytest

from test_transport_shell import MANAGE, Tandemd

WRONG = "530 Login incorrect. Authentication Unsuccessful"
LOCKED = re.compile(r"^530 Login refused: Too many failed logins from "
                    r"127\.0\.0\.1; try again in \d+ second\(s\)\.$")
MANY = re.compile(r"^530 Login refused: Too many failed logins on this "
                  r"controller from many sources; try again in 5 second\(s\)\.$")
CUT = "(connection cut before an answer)"
BURST, WAIT_MAX = 10, 5        # CONFIG_LOGIN_GLOBAL_BURST, _WAIT_MAX_SECONDS


def start(state, *settings, source_max=None):
    extra = ["--source-max", str(source_max)] if source_max else []
    d = Tandemd(state, "--enable", "ftp", *extra,
                *[a for s in settings for a in ("--set", s)])
    d.wait_for_line(r"^ftp listening")
    return d


def login(port, user, password, source="127.0.0.1"):
    """The server's reply to PASS. A slot a session just left may not be
    free yet (421 at connect): that is asked again, up to a deadline."""
    f = ftplib.FTP(timeout=30)
    deadline = time.monotonic() + 10
    while True:
        try:
            f.connect("127.0.0.1", port, source_address=(source, 0))
            break
        except ftplib.error_temp as e:
            assert str(e).startswith("421") and time.monotonic() < deadline
            f.close()
            time.sleep(0.02)
        except (EOFError, OSError):
            f.close()
            return CUT
    try:
        return f.login(user, password)
    except ftplib.Error as e:
        return str(e)
    except (EOFError, OSError):
        # Cut while it waited: a full listener makes room by cutting the
        # oldest connection not logged in (src/common/listener.h).
        return CUT
    finally:
        f.close()


def test_parallel_guesses_reserved_and_lockout_survives_restart(tmp_path):
    """8 wrong passwords sent at once with a threshold of 5: at most 5 are
    checked (each checked one answers 'Authentication Unsuccessful'), the
    others get the lockout reply; after a restart the source is still
    locked out, another source is not."""
    # 8 connections not logged in from one address: past the listener's
    # default per-source limit (4), which would refuse the guesses itself.
    d = start(tmp_path / "state", "login-lockout-threshold=5",
              "login-failure-delay-ms=0", source_max=8)
    try:
        conns = []
        for _ in range(8):
            f = ftplib.FTP(timeout=30)
            f.connect("127.0.0.1", d.ports["ftp"])
            assert f.sendcmd("USER manage").startswith("331")
            conns.append(f)
        replies, go = [], threading.Barrier(8)

        def guess(f):
            go.wait()
            try:
                replies.append(f.sendcmd("PASS wrong-one"))
            except ftplib.Error as e:
                replies.append(str(e))

        threads = [threading.Thread(target=guess, args=(f,)) for f in conns]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        for f in conns:
            f.close()
        checked = [r for r in replies if r == WRONG]
        locked = [r for r in replies if LOCKED.match(r)]
        assert len(checked) + len(locked) == 8, replies
        assert len(checked) <= 5, replies
        assert LOCKED.match(login(d.ports["ftp"], *MANAGE)), "not locked"
    finally:
        assert d.stop() == 0
    d = start(tmp_path / "state")
    try:
        assert LOCKED.match(login(d.ports["ftp"], *MANAGE))
        assert login(d.ports["ftp"], *MANAGE,
                     source="127.0.0.2").startswith("230")
    finally:
        assert d.stop() == 0


def test_two_hundred_sources_get_only_the_global_limit(tmp_path):
    """One wrong password from each of 200 addresses, 8 at a time (the FTP
    session limit), at 60 failures a minute: no more are checked than the
    burst, the longest queue and one a second allow; the others are refused
    at once and told why (or, while they wait, cut by the listener to make
    room for the next). The right password from a fresh address then gets
    in once the queue's debt is repaid (at most twice its longest wait)."""
    d = start(tmp_path / "state", "login-failure-delay-ms=0",
              "login-global-failures=60")
    try:
        sources = ["127.0.%d.%d" % (1 + i // 200, 1 + i % 200)
                   for i in range(200)]
        replies, lock = [], threading.Lock()

        def worker():
            while True:
                with lock:
                    if not sources:
                        return
                    src = sources.pop()
                r = login(d.ports["ftp"], "manage", "wrong-one", source=src)
                with lock:
                    replies.append(r)

        start_t = time.monotonic()
        threads = [threading.Thread(target=worker) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        elapsed = time.monotonic() - start_t
        checked = [r for r in replies if r == WRONG]
        many = [r for r in replies if MANY.match(r)]
        cut = [r for r in replies if r == CUT]
        assert len(replies) == 200
        assert len(checked) + len(many) + len(cut) == 200, set(replies)
        assert len(checked) <= BURST + WAIT_MAX + int(elapsed) + 1, \
            (len(checked), elapsed)
        assert len(many) >= 100, (len(many), len(cut), elapsed)
        # Attempts still queued when their connections were cut keep their
        # tokens, so the bucket may owe up to WAIT_MAX seconds: the right
        # password is told to come back until it is repaid, then gets in.
        t0 = time.monotonic()
        while True:
            r = login(d.ports["ftp"], *MANAGE, source="127.0.9.9")
            if not MANY.match(r):
                break
            assert time.monotonic() - t0 < 2 * WAIT_MAX + 2, r
            time.sleep(0.5)
        assert r.startswith("230"), r
    finally:
        assert d.stop() == 0


def test_each_wrong_password_waits_longer(tmp_path):
    """login-failure-delay-ms=200: the first wrong password is answered
    after 200 ms, the second after 400 ms (FTP had no delay at all)."""
    d = start(tmp_path / "state", "login-failure-delay-ms=200")
    try:
        f = ftplib.FTP(timeout=30)
        f.connect("127.0.0.1", d.ports["ftp"])
        took = []
        for _ in range(2):
            f.sendcmd("USER manage")
            t0 = time.monotonic()
            with pytest.raises(ftplib.error_perm, match="^530 Login incorrect"):
                f.sendcmd("PASS wrong-one")
            took.append(time.monotonic() - t0)
        f.close()
        assert took[0] >= 0.2 and took[1] >= 0.4, took
        # Each also includes checking the password (yescrypt), whose time
        # varies by tenths of a second on a busy machine: half the 200 ms
        # step is the margin.
        assert took[1] > took[0] + 0.1, took
        # A success starts again from the base (and is not delayed).
        assert login(d.ports["ftp"], *MANAGE).startswith("230")
    finally:
        assert d.stop() == 0
