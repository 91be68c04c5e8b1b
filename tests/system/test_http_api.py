"""The HTTP(S) API of a real tandemd, driven with curl and parsed with a
real XML parser (xml.etree) and json: login by MD5 and SHA-256 digest,
lockout, every command of the CLI table in every datatype, the error forms,
the role matrix, session expiry and logout, the listeners following `set
protocols`, the admission policy, and firmware upload by PUT and multipart
POST into the update engine."""
import hashlib
import json
import os
import select
import socket
import subprocess
import threading
import time
import urllib.parse
import xml.etree.ElementTree as ET

import pytest

from ftp_helpers import MANAGE, MONITOR, Controller

DATATYPES = ("api", "xml", "ipa", "api-embed", "json")
NUMERIC = ("uint8", "uint32", "sint32", "uint64")


def digest(user, password, algo="md5"):
    return hashlib.new(algo, ("%s_%s" % (user, password)).encode()).hexdigest()


def curl(url, *args, cacert=None, timeout=60):
    """(HTTP status, content type, body text) of one curl request. HTTPS
    trusts only the controller's certificate, passed explicitly."""
    env = dict(os.environ)
    for k in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE",
              "SSL_CERT_DIR"):
        env.pop(k, None)
    cmd = ["curl", "-sS", "-o", "-", "-w", "\n%{http_code} %{content_type}",
           "--max-time", str(timeout)]
    if cacert:
        cmd += ["--cacert", str(cacert)]
    r = subprocess.run(cmd + list(args) + [url], capture_output=True,
                       env=env, timeout=timeout + 10)
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    body, _, tail = r.stdout.decode().rpartition("\n")
    code, _, ctype = tail.partition(" ")
    return int(code), ctype, body


def check_xml(text):
    """Parses a RESPONSE document and checks the family's rules; returns
    (data objects, status properties)."""
    root = ET.fromstring(text)
    assert root.tag == "RESPONSE"
    objects = list(root.iter("OBJECT"))
    assert objects, text
    for o in objects:
        for attr in ("basetype", "name", "oid"):
            assert o.get(attr), (attr, ET.tostring(o)[:200])
        for p in o.findall("PROPERTY"):
            assert p.get("name") and p.get("type"), ET.tostring(p)
            if p.get("type") in NUMERIC:
                assert (p.text or "").strip(), ET.tostring(p)
    # The status object ends the document.
    last = [c for c in root if c.tag == "OBJECT"][-1]
    assert last.get("basetype") == "status", text[-400:]
    status = {p.get("name"): p.text or "" for p in last.findall("PROPERTY")}
    return objects[:-1], status


def check_json(text):
    doc = json.loads(text)
    status = doc["status"][-1]
    assert list(doc)[-1] == "status"
    for key, objs in doc.items():
        for o in objs:
            assert o.get("object-name") and o.get("meta"), (key, o)
    return doc, status


class Api:
    """The controller's HTTP and HTTPS ports and its certificate."""

    def __init__(self, c):
        self.c = c
        self.cert = c.state / "config" / "https.crt"

    def url(self, path, tls=False):
        port = self.c.ports["https" if tls else "http"]
        return "%s://127.0.0.1:%d%s" % ("https" if tls else "http", port,
                                        path)

    def get(self, path, key=None, datatype=None, tls=False, extra=()):
        args = list(extra)
        if key:
            args += ["-H", "sessionKey: %s" % key]
        if datatype:
            args += ["-H", "datatype: %s" % datatype]
        return curl(self.url(path, tls), *args,
                    cacert=self.cert if tls else None)

    def login(self, user=MANAGE, algo="md5", tls=False):
        code, ctype, body = self.get(
            "/api/login/" + digest(*user, algo=algo), tls=tls)
        assert code == 200 and "xml" in ctype, (code, body)
        objects, status = check_xml(body)
        assert objects == [], body
        assert status["response-type"] == "Success", body
        return status["response"]

    def command(self, line, key, datatype="api"):
        path = "/".join(urllib.parse.quote(w, safe="") for w in line.split())
        code, ctype, body = self.get("/api/" + path, key=key,
                                     datatype=datatype)
        assert code == 200, (line, code, body)
        if datatype == "json":
            assert ctype.startswith("application/json"), ctype
            return check_json(body)
        assert ctype.startswith("text/xml"), ctype
        return check_xml(body)


def start(tmp_path, bundles, *extra):
    c = Controller(tmp_path / "a", bundles.keys, "--enable", "http",
                   "--set", "login-lockout-threshold=3",
                   "--set", "login-failure-delay-ms=1", *extra,
                   want=("ftp", "ssh", "http", "https"))
    return Api(c)


@pytest.fixture
def api(tmp_path, bundles):
    a = start(tmp_path, bundles)
    yield a
    a.c.stop()


def test_login_md5_sha256_and_the_reply_clients_read(api):
    for algo in ("md5", "sha256"):
        code, ctype, body = api.get("/api/login/" + digest(*MANAGE, algo))
        assert code == 200 and ctype.startswith("text/xml")
        root = ET.fromstring(body)
        objs = root.findall("OBJECT")
        assert len(objs) == 1 and objs[0].get("basetype") == "status"
        props = [(p.get("name"), p.text) for p in objs[0]]
        assert [n for n, _ in props[:4]] == [
            "response-type", "response-type-numeric", "response",
            "return-code"]
        assert props[0][1] == "Success" and props[1][1] == "0"
        assert props[3][1] == "1"
        key = props[2][1]
        assert len(key) == 32 and int(key, 16) >= 0
        objects, status = api.command("show versions", key)
        assert [o.get("name") for o in objects][:1] == \
            ["controller-a-versions"]
        # Warning: B, without a partner link here, is not reachable.
        assert status["response-type"] in ("Success", "Warning")
    # Upper-case hex is the same digest; HTTPS answers the same.
    code, _, body = api.get("/api/login/" + digest(*MANAGE).upper())
    assert check_xml(body)[1]["response-type"] == "Success"
    assert len(api.login(MONITOR, "sha256", tls=True)) == 32


def test_bad_password_fails_with_the_family_error(api):
    for text in (digest("manage", "wrong"), digest("manage", "x", "sha256"),
                 digest("nobody", "!manage")):
        code, _, body = api.get("/api/login/" + text)
        assert code == 200
        objects, status = check_xml(body)
        assert objects == []
        assert status["response-type"] == "Error"
        assert status["response-type-numeric"] == "1"
        assert status["response"] == "Authentication Unsuccessful"
        assert status["return-code"] == "2"
    # Not a digest at all: refused before any check, still the family's form.
    code, _, body = api.get("/api/login/manage/!manage")
    assert code == 400 and check_xml(body)[1]["response-type"] == "Error"


def test_lockout_counts_digest_logins_per_source(api):
    """login-lockout-threshold=3: three failures from one source lock it
    out, the right digest included, on every interface (SSH too); another
    source still logs in."""
    bad = digest("manage", "Wrong#123")
    for _ in range(3):
        _, _, body = api.get("/api/login/" + bad)
        assert check_xml(body)[1]["return-code"] == "2"
    _, _, body = api.get("/api/login/" + digest(*MANAGE))
    assert check_xml(body)[1]["response"] == "Authentication Unsuccessful"
    r = api.c.ssh("show system")
    assert r.returncode != 0 and "System Information" not in r.stdout
    # From 127.0.0.5 (loopback routes all of 127/8): not locked.
    _, _, body = api.get("/api/login/" + digest(*MANAGE),
                         extra=("--interface", "127.0.0.5"))
    assert check_xml(body)[1]["response-type"] == "Success"


# Arguments for the commands that need them; every other command of the
# table runs as its bare words. Destructive ones get an argument the CLI
# refuses, so the reply is the command's own error form.
COMMAND_LINES = {
    "show events": "show events last 5",
    "set advanced-settings": "set advanced-settings pfu-attempt-limit 3",
    "set cli-parameters": "set cli-parameters json",
    "set password": "set password user webtest password Other#678",
    "set protocols": "set protocols telnet disabled",
    "set user": "set user output-format api webtest",
    "create user": "create user interfaces wbi password Abc#1234 "
                   "roles monitor webtest",
    "delete user": "delete user noprompt webtest",
    "rollback firmware": "rollback firmware bogus",
    "restart": "restart bogus",
    "shutdown": "shutdown bogus",
    "exit": None,       # the session's end: test_logout_and_exit
}


def table_commands(api, key):
    """The CLI table's commands, as `help` lists them."""
    _, status = api.command("help", key)
    code, _, body = api.get("/api/help", key=key, datatype="json")
    text = json.loads(body)["help"][0]["help"]
    names = []
    for line in text.splitlines():
        if not line or line.startswith(" "):
            continue
        words = line.split()
        two = " ".join(words[:2])
        names.append(two if two in COMMAND_LINES or
                     words[0] in ("show", "set", "create", "delete",
                                  "check", "rollback") else words[0])
    assert len(names) >= 20, text
    return names


def test_every_command_in_every_datatype(api):
    key = api.login()
    commands = table_commands(api, key)
    api.command(COMMAND_LINES["create user"], key)
    ran = 0
    for name in commands:
        line = COMMAND_LINES.get(name, name)
        if line is None:
            continue
        for dt in DATATYPES:
            # create and delete each need the user's other state first.
            if name == "create user":
                api.command("delete user noprompt webtest", key)
            if name == "delete user":
                api.command(COMMAND_LINES["create user"], key)
            got = api.command(line, key, dt)
            status = got[1]
            if name in ("rollback firmware", "restart", "shutdown"):
                assert status["response-type"] == "Error", (line, status)
                assert "bogus" in status["response"], status
            else:
                assert status["response-type"] != "Error", \
                    (line, dt, status)
            if name.startswith("show ") and dt != "json":
                assert got[0], (line, dt)    # data before the status
            ran += 1
        # The commands after it (help's order) need the user again.
        if name == "delete user":
            api.command(COMMAND_LINES["create user"], key)
    assert ran == len(DATATYPES) * (len(commands) - 1)
    # The per-request datatype: `set cli-parameters json` above changed no
    # later reply; api-embed nests, api links with COMP elements.
    _, _, body = api.get("/api/show/versions", key=key)
    assert "<COMP " in body
    _, _, body = api.get("/api/show/versions", key=key, datatype="api-embed")
    assert "<COMP " not in body and check_xml(body)


def test_error_forms(api):
    key = api.login()
    # No key, a bad key: 401 and the family's -10027, in XML or JSON.
    for k in (None, "0" * 32, "not-a-key"):
        code, ctype, body = api.get("/api/show/system", key=k)
        assert code == 401 and ctype.startswith("text/xml"), (code, body)
        objects, status = check_xml(body)
        assert objects == [] and status["return-code"] == "-10027"
    code, ctype, body = api.get("/api/show/system", key="0" * 32,
                                datatype="json")
    assert code == 401 and check_json(body)[1]["return-code"] == -10027
    # The cookie some clients send instead of the header.
    code, _, body = api.get("/api/show/system",
                            extra=("-b", "wbisessionkey=%s; wbiusername="
                                   "manage" % key))
    assert code == 200 and check_xml(body)[1]["response-type"] == "Success"
    # A browser's cross-site request carries the cookie but gets no
    # session (Fetch Metadata); the same from the page itself works.
    code, _, body = api.get("/api/show/system",
                            extra=("-b", "wbisessionkey=%s" % key,
                                   "-H", "Sec-Fetch-Site: cross-site"))
    assert code == 401, body
    code, _, body = api.get("/api/show/system",
                            extra=("-b", "wbisessionkey=%s" % key,
                                   "-H", "Sec-Fetch-Site: same-origin"))
    assert code == 200, body
    # Header names in any case.
    code, _, body = api.get("/api/show/system",
                            extra=("-H", "SESSIONKEY: %s" % key,
                                   "-H", "DataType: json"))
    assert code == 200 and check_json(body)[1]["response-type"] == "Success"
    # An unknown command: the CLI's error status, never HTML.
    objects, status = api.command("show nonsense", key)
    assert status["response-type"] == "Error"
    assert status["return-code"] == "-1"
    assert "not recognized" in status["response"]
    # A datatype the family does not have.
    code, _, body = api.get("/api/show/system", key=key, datatype="html")
    assert code == 400 and "datatype" in check_xml(body)[1]["response"]
    # A command word that cannot be written as a CLI word.
    code, _, body = api.get("/api/show/%22versions", key=key)
    assert code == 400 and check_xml(body)[1]["response-type"] == "Error"
    # Paths outside the API: no web root here, so the status form says so.
    for path in ("/", "/index.html", "/../../etc/passwd", "/firmware/x"):
        code, ctype, body = api.get(path)
        assert code == 404 and ctype.startswith("text/xml"), (path, body)
        assert "<html" not in body.lower()
    code, _, body = api.get("/api/show/system", key=key,
                            extra=("-X", "DELETE"))
    assert code == 405 and check_xml(body)[1]["response-type"] == "Error"


WRITES = ("set protocols telnet disabled",
          "set advanced-settings pfu-attempt-limit 4",
          "create user password Abc#1234 roles monitor webtest2",
          "delete user noprompt monitor",
          "set password user manage password Other#678",
          "rollback firmware noprompt",
          "restart mc noprompt",
          "shutdown a noprompt")


def test_role_matrix(api, bundles):
    mon = api.login(MONITOR)
    for line in ("show versions", "show system", "show users",
                 "check firmware-upgrade-health", "help",
                 "set cli-parameters json"):
        assert api.command(line, mon)[1]["response-type"] != "Error", line
    for line in WRITES:
        objects, status = api.command(line, mon)
        assert status["response-type"] == "Error", line
        assert status["return-code"] == "-2", (line, status)
        assert "monitor role" in status["response"]
    # Nothing changed, and monitor may not load firmware either.
    man = api.login(MANAGE)
    objects, _ = api.command("show advanced-settings", man)
    props = {p.get("name"): p.text for p in objects[0].findall("PROPERTY")}
    assert props["pfu-attempt-limit"] == "3"
    code, _, body = curl(api.url("/firmware/bundle"), "-T",
                         str(bundles.make("TS250P010")),
                         "-H", "sessionKey: %s" % mon)
    assert code == 403 and "monitor role" in check_xml(body)[1]["response"]
    # manage may write.
    status = api.command("set advanced-settings pfu-attempt-limit 4",
                         man)[1]
    assert status["response-type"] == "Success"


def test_session_expiry_and_activity(tmp_path, bundles):
    """--http-session-seconds 2: a session in use keeps going past 2 s;
    one left idle for longer answers -10027 'expired'; logging in again
    works."""
    api = start(tmp_path, bundles, "--http-session-seconds", "2")
    try:
        key = api.login()
        start_at = time.monotonic()
        while time.monotonic() - start_at < 3:
            code, _, body = api.get("/api/show/system", key=key)
            assert code == 200, body
        # Idle past the timeout: the expiry is what is tested, so this
        # wait is the condition itself, not a guess.
        time.sleep(2.5)
        code, _, body = api.get("/api/show/system", key=key)
        assert code == 401, body
        status = check_xml(body)[1]
        assert status["return-code"] == "-10027"
        assert "expired" in status["response"]
        # Still expired (a refused request is no activity).
        assert api.get("/api/show/system", key=key)[0] == 401
        key = api.login()
        assert api.command("show system", key)[1]["response-type"] == \
            "Success"
    finally:
        api.c.stop()


def test_logout_and_exit(api):
    for how in ("exit", "logout-key", "logout"):
        key = api.login()
        if how == "exit":
            code, _, body = api.get("/api/exit", key=key)
        elif how == "logout-key":
            code, _, body = api.get("/api/logout/" + key)
        else:
            code, _, body = api.get("/api/logout", key=key)
        assert 200 <= code < 300, (how, code, body)
        assert check_xml(body)[1]["response-type"] == "Success"
        code, _, body = api.get("/api/show/system", key=key)
        assert code == 401 and check_xml(body)[1]["return-code"] == \
            "-10027", how
    # A key that is not a session cannot be logged out.
    code, _, _ = api.get("/api/logout/" + "f" * 32)
    assert code == 401


def refused(port):
    s = socket.socket()
    try:
        s.settimeout(5)
        return s.connect_ex(("127.0.0.1", port)) != 0
    finally:
        s.close()


def test_listeners_follow_set_protocols(api):
    key = api.login(tls=True)
    https = api.c.ports["https"]
    http = api.c.ports["http"]
    # Over HTTPS (its certificate passed explicitly), HTTP off and on.
    code, _, body = api.get("/api/set/protocols/http/disabled", key=key,
                            tls=True)
    assert check_xml(body)[1]["response-type"] == "Success"
    assert refused(http)
    objects, _ = check_xml(api.get("/api/show/protocols", key=key,
                                   tls=True)[2])
    props = {p.get("name"): p.text for p in objects[0].findall("PROPERTY")}
    assert props["wbi-http"] == "Disabled" and props["wbi-https"] == \
        "Enabled"
    api.get("/api/set/protocols/http/enabled", key=key, tls=True)
    assert not refused(http)
    # Over HTTP: HTTPS off and on again, on the same port.
    key = api.login()
    api.get("/api/set/protocols/https/disabled", key=key)
    assert refused(https)
    r = subprocess.run(["curl", "-sS", "--cacert", str(api.cert),
                        api.url("/api/show/system", tls=True)],
                       capture_output=True, timeout=30)
    assert r.returncode != 0
    api.get("/api/set/protocols/https/enabled", key=key)
    assert not refused(https)
    assert len(api.login(tls=True)) == 32
    # A request that switches its own listener off gets its reply, then
    # the port closes.
    key = api.login()
    code, _, body = api.get("/api/set/protocols/http/disabled", key=key)
    assert code == 200 and check_xml(body)[1]["response-type"] == \
        "Success"
    deadline = time.monotonic() + 10
    while not refused(http):
        assert time.monotonic() < deadline, "HTTP stayed open"
        time.sleep(0.05)
    key = api.login(tls=True)
    code, _, body = api.get("/api/set/protocols/https/disabled/http/"
                            "enabled", key=key, tls=True)
    assert code == 200 and check_xml(body)[1]["response-type"] == \
        "Success"
    deadline = time.monotonic() + 10
    while not refused(https):
        assert time.monotonic() < deadline, "HTTPS stayed open"
        time.sleep(0.05)
    key = api.login()
    api.get("/api/set/protocols/https/enabled", key=key)
    assert not refused(https)
    # A client that does not trust the certificate refuses it.
    env = {k: v for k, v in os.environ.items()
           if k not in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")}
    r = subprocess.run(["curl", "-sS", api.url("/", tls=True)],
                       capture_output=True, timeout=30, env=env)
    assert r.returncode == 60, r.stderr


@pytest.fixture
def strict(tmp_path, bundles):
    """Short admission limits: 2 s to log in, 2 s of stalled output, 2
    unauthenticated connections a source, 2 s of keep-alive; a web root
    with a large file."""
    web = tmp_path / "web"
    web.mkdir()
    (web / "index.html").write_text("<!doctype html><title>t</title>\n")
    (web / "big.bin").write_bytes(os.urandom(64 << 20))
    c = Controller(tmp_path / "a", bundles.keys, "--enable", "http",
                   "--login-seconds", "2", "--write-seconds", "2",
                   "--source-max", "2", "--http-idle-seconds", "2",
                   "--web-root", str(web), want=("ssh", "http"))
    c.log = b""
    yield Api(c)
    assert b"runtime error" not in c.log and b"Sanitizer" not in c.log
    c.stop()


def wait_log(c, text, seconds=20):
    """Waits until tandemd's log (its stderr) says text."""
    deadline = time.monotonic() + seconds
    fd = c.proc.stderr.fileno()
    while text.encode() not in c.log:
        left = deadline - time.monotonic()
        assert left > 0, "tandemd never logged %r: %s" % (text, c.log[-2000:])
        r, _, _ = select.select([fd], [], [], left)
        if r:
            data = os.read(fd, 65536)
            assert data, "tandemd exited"
            c.log += data


def tcp_state(local_port, remote_port):
    """The kernel's state of the loopback socket local_port->remote_port
    (/proc/net/tcp: 01 ESTABLISHED), or None when it is gone."""
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            lp = int(fields[1].split(":")[1], 16)
            rp = int(fields[2].split(":")[1], 16)
            if (lp, rp) == (local_port, remote_port):
                return fields[3]
    return None


def wait_server_closing(server_port, client_port, seconds=30):
    deadline = time.monotonic() + seconds
    while tcp_state(server_port, client_port) == "01":
        assert time.monotonic() < deadline, "the stalled client was not cut"
        time.sleep(0.1)


def ended(s, seconds=20):
    """True when the peer ends the connection within seconds (reading
    whatever it sent before)."""
    deadline = time.monotonic() + seconds
    s.setblocking(False)
    while time.monotonic() < deadline:
        r, _, _ = select.select([s], [], [], deadline - time.monotonic())
        if r:
            try:
                if not s.recv(1 << 20):
                    return True
            except BlockingIOError:
                continue
            except ConnectionResetError:
                return True
    return False


def test_admission_idle_sockets_do_not_lock_out_a_login(strict):
    port = strict.c.ports["http"]
    idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(6)]
    # One source holds at most 2 connections not logged in: the others
    # are refused at once. Another source logs in all the same.
    refused_now = sum(ended(s, 2) for s in idle)
    assert refused_now >= 4
    _, _, body = strict.get("/api/login/" + digest(*MANAGE),
                            extra=("--interface", "127.0.0.5"))
    assert check_xml(body)[1]["response-type"] == "Success"
    # The 2 kept are cut at the login deadline, and the source is free.
    for s in idle:
        assert ended(s, 20)
        s.close()
    assert len(strict.login()) == 32
    # A connection that never sends a whole request is cut at the login
    # deadline, and so is one that only fetched a static file.
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET /api/show/system HTTP/1.1\r\nHost: x\r\n")
    assert ended(s)
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n")
    assert ended(s)
    # A logged-in keep-alive connection left idle is closed after
    # --http-idle-seconds, so idle clients do not hold the listener.
    key = strict.login()
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET /api/show/system HTTP/1.1\r\nHost: x\r\n"
              b"sessionKey: %s\r\n\r\n" % key.encode())
    assert ended(s, 20)


def test_admission_slow_reader_is_cut(tmp_path, bundles):
    """A logged-in client that stops reading a large reply is cut by the
    listener's write deadline (2 s here; the keep-alive timeout stays at
    its 30 s), not kept forever."""
    web = tmp_path / "web"
    web.mkdir()
    (web / "big.bin").write_bytes(os.urandom(64 << 20))
    c = Controller(tmp_path / "a", bundles.keys, "--enable", "http",
                   "--write-seconds", "2", "--web-root", str(web),
                   want=("ssh", "http"))
    c.log = b""
    api = Api(c)
    try:
        key = api.login()
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect(("127.0.0.1", c.ports["http"]))
        s.sendall(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n"
                  b"sessionKey: %s\r\n\r\n" % key.encode())
        # Read nothing until the server gives up on it: its side of the
        # connection leaves ESTABLISHED, and the listener says why.
        wait_server_closing(c.ports["http"], s.getsockname()[1], 20)
        wait_log(c, "output stalled")
        got = 0
        while True:
            data = s.recv(1 << 20)
            if not data:
                break
            got += len(data)
        assert got < 64 << 20
        s.close()
        assert len(api.login()) == 32
        assert b"runtime error" not in c.log and b"Sanitizer" not in c.log
    finally:
        c.stop()


def firmware_version(c):
    return c.firmware()[0]


def upload(api, key, bundle, post=False, force=False):
    url = api.url("/firmware/bundle" + ("?force=1" if force else ""))
    if post:
        args = ("-F", "bundle=@%s;type=application/octet-stream" % bundle)
    else:
        args = ("-T", str(bundle))
    code, ctype, body = curl(url, *args, "-H", "sessionKey: %s" % key,
                             timeout=120)
    assert ctype.startswith("text/xml"), body
    return code, check_xml(body)[1]


def test_upload_put_then_multipart_post(api, bundles):
    c = api.c
    key = api.login()
    code, status = upload(api, key, bundles.make("TS250P010"))
    assert code == 200, status
    assert status["response-type"] == "Success"
    assert status["return-code"] == "9"
    assert "Codeload completed successfully." in status["response"]
    c.restart_after_load()
    assert firmware_version(c) == "TS250P010"
    key = api.login()
    code, status = upload(api, key, bundles.make("TS250P011"), post=True)
    assert code == 200 and status["return-code"] == "9", status
    c.restart_after_load()
    assert firmware_version(c) == "TS250P011"
    # The same version again: the family's successful no-op, no restart.
    key = api.login()
    code, status = upload(api, key, bundles.make("TS250P011"), post=True)
    assert code == 200 and status["return-code"] == "8", status
    assert "Versions match" in status["response"]
    # An older one is refused without force, loaded with ?force=1.
    code, status = upload(api, key, bundles.make("TS250P010"))
    assert code == 422 and status["response-type"] == "Error", status
    assert "force" in status["response"]
    assert c.proc.poll() is None and firmware_version(c) == "TS250P011"
    code, status = upload(api, key, bundles.make("TS250P010"), force=True)
    assert code == 200 and status["return-code"] == "9", status
    c.restart_after_load()
    assert firmware_version(c) == "TS250P010"
    key = api.login()
    # A multipart body without the bundle field.
    code, _, body = curl(api.url("/firmware/bundle"), "-F", "other=@%s" %
                         bundles.make("TS250P012"),
                         "-H", "sessionKey: %s" % key)
    assert code == 422 and "field 'bundle'" in check_xml(body)[1]["response"]
    # Two bundle fields would be one bundle of both: refused, nothing
    # loaded (libmicrohttpd's post processor reports each part).
    b = bundles.make("TS250P012")
    code, _, body = curl(api.url("/firmware/bundle"), "-F", "bundle=@%s" % b,
                         "-F", "bundle=@%s" % b,
                         "-H", "sessionKey: %s" % key)
    assert code == 422 and "twice" in check_xml(body)[1]["response"], body
    # A multipart body PUT, or a boundary libmicrohttpd would misread.
    code, _, body = curl(api.url("/firmware/bundle"), "-T", str(b),
                         "-H", "Content-Type: multipart/form-data; "
                         "boundary=x", "-H", "sessionKey: %s" % key)
    assert code == 415, body
    assert "PUT takes the bundle" in check_xml(body)[1]["response"]
    code, _, body = curl(api.url("/firmware/bundle"), "-F", "bundle=@%s" % b,
                         "-H", "Content-Type: multipart/form-data; "
                         "boundary=abc; charset=utf-8",
                         "-H", "sessionKey: %s" % key)
    assert code == 400, body
    assert "last parameter" in check_xml(body)[1]["response"]
    assert c.proc.poll() is None and firmware_version(c) == "TS250P010"


def test_tampered_bundle_refused_and_nothing_changed(api, bundles, tmp_path):
    c = api.c
    key = api.login()
    upload(api, key, bundles.make("TS250P010"))
    c.restart_after_load()
    before = c.firmware()
    good = bundles.make("TS250P020", size=2_000_000)
    bad = tmp_path / "tampered.bundle"
    data = bytearray(good.read_bytes())
    data[len(data) // 2] ^= 0x01
    bad.write_bytes(bytes(data))
    key = api.login()
    for post in (False, True):
        code, status = upload(api, key, bad, post=post)
        assert code == 422, status
        assert status["response-type"] == "Error"
        assert status["return-code"] == "20", status
        assert "sha256 mismatch" in status["response"], status
        assert c.proc.poll() is None
        assert c.firmware() == before
    # The progress document keeps the whole reason.
    code, ctype, body = api.get("/firmware/progress", key=key)
    doc = json.loads(body)
    assert "sha256 mismatch" in doc["last-codeload"]
    assert doc["codeload"] == "none"


def test_progress_reaches_done(api, bundles):
    """A slow upload seen through /firmware/progress: receiving with its
    bytes and percent rising, then the MC restarting; after it, idle with
    the new bundle and the code load's report."""
    c = api.c
    key = api.login()
    bundle = bundles.make("TS250P030", size=6_000_000)
    seen = []
    done = threading.Event()

    def poll():
        while not done.is_set():
            code, _, body = api.get("/firmware/progress", key=key)
            if code == 200:
                seen.append(json.loads(body))

    t = threading.Thread(target=poll)
    t.start()
    try:
        code, _, body = curl(api.url("/firmware/bundle"), "-T", str(bundle),
                             "--limit-rate", "3M", "-H",
                             "sessionKey: %s" % key, timeout=120)
    finally:
        done.set()
        t.join()
    assert code == 200, body
    mine = [d["controllers"][0] for d in seen]
    receiving = [m for m in mine if m["stage"] == "receiving"]
    assert receiving, [m["stage"] for m in mine]
    assert receiving[-1]["bytes"] > receiving[0]["bytes"]
    assert all(m["total"] >= m["bytes"] for m in receiving)
    assert any(d["codeload"] == "codeload" for d in seen)
    for d in seen:
        assert set(d) == {"controllers", "pfu", "codeload", "last-codeload"}
        assert [x["controller"] for x in d["controllers"]] == ["A", "B"]
        assert d["controllers"][1]["reachable"] is False
        assert set(d["pfu"]) == {"status", "attempts", "limit", "target",
                                 "message"}
    c.restart_after_load()
    key = api.login()
    code, ctype, body = api.get("/firmware/progress", key=key)
    assert code == 200 and ctype.startswith("application/json")
    doc = json.loads(body)
    a = doc["controllers"][0]
    assert a["stage"] == "idle" and a["bundle-version"] == "TS250P030"
    assert doc["codeload"] == "none"
    assert "Codeload completed successfully." in doc["last-codeload"]
    # Without a session: the JSON error form.
    code, ctype, body = api.get("/firmware/progress")
    assert code == 401 and json.loads(body)["status"][0]["return-code"] \
        == -10027


def test_session_follows_the_user_account(api):
    """A deleted user's session ends at its next request; a role changed
    meanwhile holds from the next request."""
    man = api.login()
    api.command("create user interfaces wbi password Abc#1234 roles manage "
                "webuser", man)
    key = api.login(("webuser", "Abc#1234"), "sha256")
    assert api.command("set advanced-settings pfu-attempt-limit 4",
                       key)[1]["response-type"] == "Success"
    api.command("delete user noprompt webuser", man)
    code, _, body = api.get("/api/show/system", key=key)
    assert code == 401 and check_xml(body)[1]["return-code"] == "-10027"
    # Re-created with the same password: the old key stays ended.
    api.command("create user interfaces cli password Abc#1234 roles manage "
                "webuser", man)
    assert api.get("/api/show/system", key=key)[0] == 401
    # Without the wbi interface the digest login fails.
    _, _, body = api.get("/api/login/" + digest("webuser", "Abc#1234"))
    assert check_xml(body)[1]["response"] == "Authentication Unsuccessful"


def test_enclosure_https_upload_followed_to_pfu_done(tmp_path):
    """`tandem enclosure up`: HTTPS on each controller's own address from
    run/layout, its certificate made for that address; a bundle PUT to A
    loads, A restarts, PFU brings B along, and /firmware/progress shows it
    to the end: both controllers on the bundle, PFU Complete, the partner's
    outcome in the last code load's text."""
    from enclosure_helpers import Enclosure, own_addresses, wait_for
    enc = Enclosure(tmp_path, own_addresses(170), 46000)
    try:
        (a_addr, a_port) = enc.ports[("a", "https")]
        (b_addr, b_port) = enc.ports[("b", "https")]
        assert ("a", "http") in enc.ports and ("b", "http") in enc.ports
        cert = enc.dir / "a" / "config" / "https.crt"

        def get(path, key=None, addr=a_addr, port=a_port, ca=cert, extra=()):
            args = list(extra) + (["-H", "sessionKey: %s" % key]
                                  if key else [])
            return curl("https://%s:%d%s" % (addr, port, path), *args,
                        cacert=ca)

        def login():
            _, _, body = get("/api/login/" + digest(*MANAGE, "sha256"))
            return check_xml(body)[1]["response"]

        # B answers on its own address with its own certificate.
        _, _, body = get("/api/login/" + digest(*MANAGE), addr=b_addr,
                         port=b_port, ca=enc.dir / "b" / "config" /
                         "https.crt")
        assert check_xml(body)[1]["response-type"] == "Success"
        # HTTP is off by default: its port refuses.
        assert refused(enc.ports[("a", "http")][1])
        key = login()
        code, _, body = curl("https://%s:%d/firmware/bundle" % (a_addr,
                             a_port), "-T", str(enc.bundle("TS250P003")),
                             "-H", "sessionKey: %s" % key, cacert=cert,
                             timeout=180)
        status = check_xml(body)[1]
        assert code == 200 and status["return-code"] == "9", status

        def done():
            # A restarts on the way: a refused or cut request is "not yet".
            try:
                code, _, body = get("/firmware/progress", key=login())
                doc = json.loads(body)
            except (AssertionError, ValueError, KeyError):
                return False
            ctl = {c["controller"]: c for c in doc["controllers"]}
            return (doc["pfu"]["status"] == "Complete" and
                    all(c["reachable"] and c["stage"] == "idle" and
                        c["bundle-version"] == "TS250P003"
                        for c in ctl.values()) and
                    doc["codeload"] == "none" and
                    "Partner: Codeload completed successfully." in
                    doc["last-codeload"]) and doc
        doc = wait_for(done, timeout=240, what="PFU to bring B along")
        assert doc["pfu"]["attempts"] <= 1
        # The API agrees with the progress document.
        objects, _ = check_xml(get("/api/show/versions", key=login())[2])
        bundles = {o.get("name"): p.text for o in objects
                   for p in o.findall("PROPERTY")
                   if p.get("name") == "bundle-version"}
        assert bundles == {"controller-a-versions": "TS250P003",
                           "controller-b-versions": "TS250P003"}
    finally:
        enc.stop()


def test_upload_cut_midway_changes_nothing_and_frees_the_engine(api,
                                                                bundles):
    """A client that goes away mid-upload loads nothing; while an upload
    runs a second one is refused (503); afterwards a load works."""
    c = api.c
    key = api.login()
    before = c.firmware()
    big = bundles.make("TS250P040", size=8_000_000)
    slow = subprocess.Popen(
        ["curl", "-sS", "-o", "/dev/null", "--limit-rate", "500K", "-T",
         str(big), "-H", "sessionKey: %s" % key,
         api.url("/firmware/bundle")], stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    try:
        def receiving():
            _, _, body = api.get("/firmware/progress", key=key)
            a = json.loads(body)["controllers"][0]
            return a["stage"] == "receiving" and a["bytes"] > 0

        deadline = time.monotonic() + 30
        while not receiving():
            assert time.monotonic() < deadline, "the upload never started"
            time.sleep(0.1)
        code, status = upload(api, key, bundles.make("TS250P041"))
        assert code == 503 and status["response-type"] == "Error", status
    finally:
        slow.kill()
        slow.wait()
    deadline = time.monotonic() + 30
    while True:
        _, _, body = api.get("/firmware/progress", key=key)
        doc = json.loads(body)
        if doc["codeload"] == "none":
            break
        assert time.monotonic() < deadline, doc
        time.sleep(0.1)
    assert "Codeload failed" in doc["last-codeload"], doc["last-codeload"]
    assert c.firmware() == before and c.proc.poll() is None
    code, status = upload(api, key, bundles.make("TS250P041"))
    assert code == 200 and status["return-code"] == "9", status
    c.restart_after_load()
    assert firmware_version(c) == "TS250P041"


def test_a_browsers_connections_are_served_before_login(api):
    """By default HTTP(S) keeps 12 connections not logged in per source
    (twice a browser's per-host limit of 6: more are open while reused
    ones close), so a page's files load in parallel; the 13th from that
    source is refused."""
    port = api.c.ports["http"]
    conns = [socket.create_connection(("127.0.0.1", port))
             for _ in range(12)]
    extra = socket.create_connection(("127.0.0.1", port))
    assert ended(extra, 10)
    for s in conns:
        s.sendall(b"GET /app.js HTTP/1.1\r\nHost: x\r\n\r\n")
    for s in conns:
        s.settimeout(10)
        assert s.recv(64).startswith(b"HTTP/1.1 404"), "a file was refused"
        s.close()


def test_upload_refused_while_not_ready(tmp_path, tandem):
    """The readiness check of `check firmware-upgrade-health` runs before
    an HTTP upload as before FTP's and SFTP's: on a trial bank the PUT is
    refused with the reason and what to do, before any byte is
    read, nothing is written, the event log names HTTP; confirmed, the
    same upload loads. A trial bank is a passing state: 503, as FTP's 450
    says 'try later'."""
    from flash_helpers import bundle, install, keys, show
    state = tmp_path / "state"
    k = keys(tmp_path, tandem)
    v = {n: bundle(tmp_path, tandem, n,
                   {"mc": ("TSM" + n[2:], b"#!/bin/sh\nexit 0\n"),
                    "sc": ("TSS" + n[2:], os.urandom(4000))})
         for n in ("TS250P001", "TS250P002")}
    c = Controller(state, k, "--model", "2324sa", "--enable", "http",
                   want=("ssh", "http", "https"))
    api = Api(c)
    try:
        assert install(tandem, state, v["TS250P001"]).returncode == 0
        assert show(tandem, state)["trial"]
        key = api.login()
        code, status = upload(api, key, v["TS250P002"])
        assert code == 503 and status["response-type"] == "Error", status
        assert "Firmware update refused" in status["response"]
        assert "Controller A runs bundle TS250P001 on trial" in \
            status["response"], status
        assert show(tandem, state)["bundle_version"] == "TS250P001"
        ev = c.ssh("show events last 5").stdout
        assert "A firmware update from HTTP by manage was refused" in ev, ev
        assert tandem("flash", "confirm", state).returncode == 0
        code, status = upload(api, key, v["TS250P002"], post=True)
        assert code == 200 and status["return-code"] == "9", status
        assert c.wait_exit() == 75
        assert show(tandem, state)["bundle_version"] == "TS250P002"
    finally:
        c.stop()


def test_slow_flash_outlasts_the_keep_alive_timeout(tmp_path, bundles):
    """Flash writes slower than --http-idle-seconds: the time a bundle's
    writes and verification take is not the client's idle time, so the
    upload gets its reply."""
    c = Controller(tmp_path / "a", bundles.keys, "--enable", "http",
                   "--http-idle-seconds", "1", faults="slow-flash=1500",
                   want=("ssh", "http", "https"))
    api = Api(c)
    try:
        key = api.login()
        code, status = upload(api, key, bundles.make("TS250P050"))
        assert code == 200 and status["return-code"] == "9", status
        c.restart_after_load()
        assert firmware_version(c) == "TS250P050"
    finally:
        c.stop()


def test_bundle_refused_early_is_answered(api, bundles):
    """A large bundle refused at its manifest (older, without force): the
    rest of the body is read and dropped (curl, like browsers, reads no
    reply before it has sent its body), so the client sees the reason
    rather than a reset, and nothing is stored."""
    c = api.c
    key = api.login()
    code, status = upload(api, key, bundles.make("TS250P060"))
    assert code == 200, status
    c.restart_after_load()
    before = c.firmware()
    old = bundles.make("TS250P001", size=48_000_000)
    key = api.login()
    for post in (False, True):
        code, status = upload(api, key, old, post=post)
        assert code == 422 and status["response-type"] == "Error", status
        assert "force" in status["response"], status
        assert c.firmware() == before and c.proc.poll() is None


def protocol_props(api, key, datatype="api"):
    objects, status = api.command("show protocols", key, datatype)
    return ({p.get("name"): p.text for p in objects[0].findall("PROPERTY")},
            status)


def test_a_kept_answer_never_outlives_what_it_shows(api):
    """Read-only answers are sent again while what they show is unchanged
    (src/http/answers.c): a change through the API, through the CLI over
    SSH, or the clock's next second is in the very next answer."""
    key = api.login()
    monitor = api.login(MONITOR)
    for k in (key, monitor):
        props, _ = protocol_props(api, k)
        assert props["ftp"] == "Enabled", props
    # The same request again (the kept answer), then a change through
    # the API: the next answer shows it, to each user.
    assert protocol_props(api, key)[0]["ftp"] == "Enabled"
    objects, status = api.command("set protocols ftp disabled", key)
    assert status["response-type"] == "Success", status
    for k in (key, monitor):
        assert protocol_props(api, k)[0]["ftp"] == "Disabled"
    # A change through another transport.
    r = api.c.ssh("set protocols ftp enabled")
    assert r.returncode == 0, r.stdout + r.stderr
    for k in (key, monitor):
        assert protocol_props(api, k)[0]["ftp"] == "Enabled"
    # A monitor's refused write is not the manage user's answer.
    _, status = api.command("set protocols ftp disabled", monitor)
    assert status["response-type"] == "Error", status
    _, status = api.command("set protocols ftp disabled", key)
    assert status["response-type"] == "Success", status
    assert protocol_props(api, monitor)[0]["ftp"] == "Disabled"
    # The time stamp is of the request's own second, over three seconds
    # of requests (answers kept within a second). tandemd's clock is
    # time(), which may lag this precise one by a tick across a second's
    # edge: one second of slack, never two; a stamp that stays put for
    # good would never reach three seconds.
    seconds = set()
    deadline = time.monotonic() + 20
    while len(seconds) < 3:
        assert time.monotonic() < deadline, seconds
        before = int(time.time())
        _, status = api.command("show versions", key)
        after = int(time.time())
        stamp = int(status["time-stamp-numeric"])
        assert before - 1 <= stamp <= after, (before, stamp, after)
        seconds.add(stamp)


def test_a_waiting_login_holds_up_no_other_request(tmp_path, bundles):
    """Failed logins wait out their delay (8 s here) each on a
    thread of their own: while more of them wait than the server has
    threads, a logged-in client's commands (kept or run anew) are
    answered."""
    api = start(tmp_path, bundles, "--set", "login-failure-delay-ms=8000",
                "--set", "login-lockout-threshold=8")
    try:
        key = api.login()
        api.command("show versions", key)
        done = []

        def bad_login():
            api.get("/api/login/" + digest(MANAGE[0], "wrong"))
            done.append(1)

        threads = [threading.Thread(target=bad_login) for _ in range(8)]
        for t in threads:
            t.start()
        # The eighth failure locks the source out (an event): by then
        # each of the eight has failed and waits out its delay.
        deadline = time.monotonic() + 30
        while True:
            objects, _ = api.command("show events", key)
            if any("Login lockout" in (p.text or "") for o in objects
                   for p in o.findall("PROPERTY")):
                break
            assert time.monotonic() < deadline, "no lockout event"
            time.sleep(0.05)
        for line in ("show versions", "show system", "show protocols"):
            assert api.command(line, key)[1]["response-type"] != "Error"
        assert not done, "a bad login came back before the commands"
        for t in threads:
            t.join(60)
        assert len(done) == 8
    finally:
        api.c.stop()


def test_listener_switched_off_under_a_waiting_login(tmp_path, bundles):
    """`set protocols http disabled` while a failed login waits out its
    delay on a thread of its own (its connection suspended): the listener
    goes off, the login is answered or closed, the daemon keeps serving
    and later exits cleanly, its stop waiting for any such thread
    (sanitizer builds: no use after free)."""
    # One failure locks the source out: its event is written just before
    # the failed login starts waiting out its delay.
    api = start(tmp_path, bundles, "--set", "login-failure-delay-ms=1500",
                "--set", "login-lockout-threshold=1")
    events = tmp_path / "a" / "events.log"
    answered = []

    def bad_login():
        try:
            api.get("/api/login/" + digest(MANAGE[0], "wrong"))
            answered.append("reply")
        except Exception as e:          # the connection closed: also fine
            answered.append(type(e).__name__)

    try:
        # Logged in over HTTPS first: the lockout refuses new logins.
        key = api.login(tls=True)
        t = threading.Thread(target=bad_login)
        t.start()
        deadline = time.monotonic() + 20
        while "Login lockout" not in (events.read_text(errors="replace")
                                      if events.exists() else ""):
            assert time.monotonic() < deadline, "the bad login never came"
            time.sleep(0.02)
        code, _, body = api.get("/api/set/protocols/http/disabled", key=key,
                                tls=True)
        assert code == 200 and "Success" in body, body
        t.join(30)
        assert answered, "the client never returned"
        # Past the login's delay: the daemon still serves, and the HTTP
        # listener is off.
        code, _, body = api.get("/api/show/protocols", key=key, tls=True)
        assert code == 200 and api.c.proc.poll() is None
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", api.c.ports["http"]), 5)
    finally:
        api.c.stop()                    # exits 0, stderr clean
