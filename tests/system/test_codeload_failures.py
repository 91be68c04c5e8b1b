"""A code load that fails is never reported as a success, and a client
cannot hold the code-load lock: a failure at each finishing step (the
read-back, the boot record write) ends in a failure code for curl, lftp and
inetutils ftp, both when the reply was held until the outcome and when the
load outlasted the hold and a 226- reply had begun (--ftp-reply-hold 0);
a stream that is not a bundle is refused within its first MiB; a stalled
upload frees the lock after --upload-stall seconds, with an event; and the
bytes received move during a member, not only between members; an SFTP
put that fails at its end returns a failure status."""
import ftplib
import re
import subprocess
import tarfile
import time

import pytest

from ftp_helpers import MANAGE, Bundles, Controller

MIB = 1 << 20


@pytest.fixture(scope="module")
def bundles(tmp_path_factory):
    return Bundles(tmp_path_factory.mktemp("bundles"))


def curl(ctl, path):
    r = subprocess.run(
        ["curl", "-sS", "-v", "-T", str(path),
         "ftp://manage:%%21manage@127.0.0.1:%d/flash" % ctl.ftp],
        capture_output=True, text=True, timeout=60)
    replies = [ln[2:] for ln in r.stderr.splitlines() if ln.startswith("< ")]
    return r.returncode, replies, r.stderr


def lftp(ctl, path):
    # -d prints the server's replies ("<--- "). lftp's own settings: it
    # uploads again after a 4xx to STOR, which the tests below rule out.
    r = subprocess.run(
        ["lftp", "-d", "-u", "%s,%s" % MANAGE, "-p", str(ctl.ftp), "-e",
         "put %s -o flash; bye" % path, "127.0.0.1"],
        capture_output=True, text=True, timeout=60)
    out = r.stdout + r.stderr
    replies = [ln.split("<--- ", 1)[1] for ln in out.splitlines()
               if "<--- " in ln]
    return r.returncode, replies, out


def inetutils(ctl, path):
    script = "user %s %s\nbin\nput %s flash\nbye\n" % (MANAGE[0], MANAGE[1],
                                                       path)
    r = subprocess.run(["ftp", "-inv", "127.0.0.1", str(ctl.ftp)],
                       input=script, capture_output=True, text=True,
                       timeout=60)
    return r.returncode, r.stdout.splitlines(), r.stdout + r.stderr


CLIENTS = {"curl": curl, "lftp": lftp, "inetutils": inetutils}


def final_code(client, replies):
    """The code the client ended the STOR's reply on: the first reply line
    'NNN ' after the 150 (lftp and curl end at any code there; inetutils
    only at the code the reply began with, or at a closed connection)."""
    after = replies[[i for i, ln in enumerate(replies)
                     if ln.startswith("150")][0] + 1:]
    begun = None
    for ln in after:
        m = re.match(r"^(\d{3})([ -])", ln)
        if not m:
            continue
        if m.group(2) == "-":
            begun = begun or m.group(1)
            continue
        if client == "inetutils" and begun and m.group(1) not in (begun,
                                                                  "421"):
            continue
        return int(m.group(1))
    raise AssertionError("no end to the STOR reply in %r" % after)


def fresh(tmp_path, bundles, name, *extra, faults=None):
    """A controller running TS250P003, then restarted with faults armed."""
    ctl = Controller(tmp_path / name, bundles.keys, *extra)
    f = ftplib.FTP()
    f.connect("127.0.0.1", ctl.ftp, timeout=60)
    f.login(*MANAGE)
    with open(bundles.make("TS250P003"), "rb") as fh:
        assert "Codeload completed" in f.storbinary("STOR flash", fh)
    f.close()
    ctl.restart_after_load()
    assert ctl.firmware()[0] == "TS250P003"
    if faults:
        ctl.stop()
        ctl.env["TANDEM_FAULTS"] = faults
        ctl.start()
    return ctl


@pytest.mark.parametrize("hold", ["held", "begun"])
@pytest.mark.parametrize("fault, says", [
    ("corrupt=sc", "read-back of sc failed"),
    ("write-error=bootrec", "writing boot record"),
])
@pytest.mark.parametrize("client", sorted(CLIENTS))
def test_finishing_failure_ends_in_a_failure_code(tmp_path, bundles, client,
                                                  fault, says, hold):
    extra = ("--ftp-reply-hold", "0") if hold == "begun" else ()
    ctl = fresh(tmp_path, bundles, "c", *extra, faults=fault)
    try:
        before = ctl.firmware()
        rc, replies, out = CLIENTS[client](ctl, bundles.make("TS250P013"))
        code = final_code(client, replies)
        assert code >= 400, out
        assert says in out, out
        assert "226 Operation complete." not in out, out
        begun = any(ln.startswith("226-") for ln in replies)
        assert begun == (hold == "begun"), out
        if client != "inetutils":   # inetutils ftp exits 0 whatever
            assert rc != 0, out
        assert ctl.firmware() == before
        # Once: a client that retried would have flashed twice.
        events = ctl.ssh("show events last 20").stdout
        assert events.count("a code load started") == 2, events
        assert ctl.proc.poll() is None
    finally:
        ctl.stop()


class Stream:
    """size bytes of one pattern, made as they are read: never on disk."""

    def __init__(self, size, head=b"", fill=b"\0"):
        self.left, self.head, self.fill, self.sent = size, head, fill, 0
        self.block = (fill * MIB)[:MIB]

    def read(self, n):
        n = min(n, self.left, MIB)
        if self.sent < len(self.head):
            out = self.head[self.sent:self.sent + n]
        else:
            out = self.block[:n]
        self.left -= len(out)
        self.sent += len(out)
        return out


def ustar_header(name, size):
    """A real ustar header (Python's tarfile) for a member of that size."""
    info = tarfile.TarInfo(name)
    info.size = size
    return info.tobuf(format=tarfile.USTAR_FORMAT)


@pytest.fixture(scope="module")
def ctl_module(tmp_path_factory, bundles):
    ctl = Controller(tmp_path_factory.mktemp("ctl") / "a", bundles.keys,
                     "--upload-stall", "2")
    yield ctl
    ctl.stop()


def login(ctl):
    f = ftplib.FTP()
    f.connect("127.0.0.1", ctl.ftp, timeout=30)
    f.login(*MANAGE)
    return f


@pytest.mark.parametrize("stream, says", [
    (lambda: Stream(2 << 30), "archive ends before member 'manifest.json'"),
    (lambda: Stream(2 << 30, fill=b"\xa5"), "not a valid ustar archive"),
    (lambda: Stream(2 << 30, head=ustar_header("disk.img", (2 << 30) - 512)),
     "first member is 'disk.img', not manifest.json"),
])
def test_not_a_bundle_refused_within_the_first_mib(ctl_module, stream, says):
    ctl, s = ctl_module, stream()
    f = login(ctl)
    start = time.monotonic()
    try:
        f.storbinary("STOR flash", s, blocksize=MIB)
        reply = f.lastresp
    except (ConnectionError, ftplib.Error) as e:
        reply = str(e)
    if not reply.startswith("554"):
        with pytest.raises(ftplib.error_perm) as e:
            f.getresp()
        reply = str(e.value)
    took = time.monotonic() - start
    assert reply.startswith("554"), reply
    assert says in reply, reply
    received = int(re.search(r"Received (\d+) bytes", reply).group(1))
    assert received <= MIB, reply
    # The rest was dropped, not read: what the client got to send is
    # bounded by the drain limit (16 MiB) and socket buffers, not 2 GiB.
    assert s.sent < 64 * MIB and took < 10, (s.sent, took)
    print("received %d, client sent %d in %.2f s: %s" % (received, s.sent,
                                                          took, says))
    f.quit()
    st = ctl.ssh("show firmware-update-status").stdout
    assert "Activity: none" in st, st


def test_stalled_upload_frees_the_lock(ctl_module, bundles):
    ctl = ctl_module
    b = bundles.make("TS250P021").read_bytes()
    f = login(ctl)
    data = f.transfercmd("STOR flash")
    data.sendall(b[:len(b) // 2])
    start = time.monotonic()
    # While it stalls, the lock is held: another operator is told so.
    other = login(ctl)
    with pytest.raises(ftplib.error_temp, match="^450 A code load is "
                       "already in progress"):
        other.storbinary("STOR flash", Stream(MIB))
    f.sock.settimeout(20)
    with pytest.raises(ftplib.error_temp) as e:
        f.voidresp()
    took = time.monotonic() - start
    assert str(e.value).startswith("426"), e.value
    assert "the upload stalled: no data for 2 seconds" in str(e.value)
    assert 1.5 < took < 8, took
    data.close()
    f.close()
    events = ctl.ssh("show events last 5").stdout
    assert re.search(r"ERROR Firmware update progress: the code load was "
                     r"abandoned: the upload stalled: no data for 2 "
                     r"seconds", events), events
    # The operator's next upload works.
    with open(bundles.make("TS250P022"), "rb") as fh:
        assert "Codeload completed successfully." in \
            other.storbinary("STOR flash", fh)
    other.close()
    ctl.restart_after_load()


def test_bytes_received_move_during_a_member(tmp_path, bundles):
    path = bundles.make("TS250P031", size=4 * MIB)
    with tarfile.open(path) as t:
        members = t.getmembers()
        sc = t.getmember("sc")
    # 600 KB into sc: less than one flash write unit (1 MiB) of it. Bytes
    # Received counts component bytes (not tar headers, manifest or sig).
    cut = sc.offset_data + 600_000
    want = 600_000 + sum(m.size for m in members[2:members.index(sc)])
    b = path.read_bytes()
    ctl = Controller(tmp_path / "p", bundles.keys)
    try:
        f = login(ctl)
        data = f.transfercmd("STOR flash")
        data.sendall(b[:cut])
        deadline = time.monotonic() + 20
        while True:
            st = ctl.ssh("show firmware-update-status").stdout
            got = int(re.search(r"Bytes Received: (\d+)", st).group(1))
            if got >= want or time.monotonic() > deadline:
                break
        assert got == want, st
        pct = int(re.search(r"Percent Complete: (\d+)", st).group(1))
        total = int(re.search(r"Bytes Total: (\d+)", st).group(1))
        # Receiving is the first 80% (update engine, stage_percent).
        assert pct == (want * 100 // total) * 80 // 100, st
        assert 0 < pct < 80, st
        data.sendall(b[cut:])
        data.close()
        assert "Codeload completed successfully." in f.voidresp()
        f.close()
        ctl.restart_after_load()
    finally:
        ctl.stop()


@pytest.mark.parametrize("fault, says", [
    ("corrupt=sc", "read-back of sc failed"),
    ("write-error=bootrec", "writing boot record"),
])
def test_sftp_put_that_fails_at_the_end_is_an_error(tmp_path, bundles, fault,
                                                    says):
    """OpenSSH sftp: the put's close returns a failure status (exit 1),
    and the last code load's text says why."""
    ctl = fresh(tmp_path, bundles, "s", faults=fault)
    try:
        before = ctl.firmware()
        (tmp_path / "batch").write_text(
            "put %s flash\n" % bundles.make("TS250P013"))
        (tmp_path / "batch2").write_text(
            "get progress:lastcodeload:text last.txt\n")
        base = ["sshpass", "-p", MANAGE[1], "sftp", "-o",
                "StrictHostKeyChecking=no", "-o",
                "UserKnownHostsFile=/proc/self/no-known-hosts",
                "-o", "LogLevel=error", "-o",
                "PubkeyAuthentication=no", "-o", "BatchMode=no", "-P",
                str(ctl.ports["sftp"]), "-b"]
        r = subprocess.run(base + [str(tmp_path / "batch"),
                                   "manage@127.0.0.1"],
                           capture_output=True, text=True, timeout=60,
                           cwd=tmp_path)
        assert r.returncode != 0, r.stdout + r.stderr
        assert "Failure" in r.stderr, r.stderr
        r = subprocess.run(base + [str(tmp_path / "batch2"),
                                   "manage@127.0.0.1"],
                           capture_output=True, text=True, timeout=60,
                           cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        last = (tmp_path / "last.txt").read_text()
        assert says in last and "RETURN_CODE: 23" in last, last
        assert ctl.firmware() == before
    finally:
        ctl.stop()


def test_silent_finish_past_the_hold_gets_progress_lines(tmp_path, bundles):
    """A slow flash (slow-flash: each write and each image's fsync takes
    1.5 s) keeps the finish silent for 4.5 s before its first progress
    (three fsyncs). Past the hold (1 s) the reply opens with 226- and a
    line from the ticker, not from progress, and ends in 226 on success."""
    ctl = Controller(tmp_path / "t", bundles.keys, "--ftp-reply-hold", "1",
                     faults="slow-flash=1500")
    try:
        rc, replies, out = curl(ctl, bundles.make("TS250P041"))
        assert rc == 0, out
        after = replies[replies.index("150 Ok to send data.") + 1:]
        assert after[0] == "226-File Transfer Complete. Starting " \
            "Operation:", out
        assert after[1] == "STATUS: working.", out
        assert after[-1] == "226 Operation complete.", out
        assert "Codeload completed successfully." in after
        ctl.restart_after_load()
    finally:
        ctl.stop()
