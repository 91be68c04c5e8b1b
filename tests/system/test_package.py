"""The Debian package, built by scripts/build-deb, installed for real with
dpkg and purged at the end, runs a standalone pair: two controllers on two
loopback addresses, started only from the installed programs, each with
its own config file, as the installed tandem@.service starts them (its
ExecStart is read from the unit file; systemd is not PID 1 here, so this
test plays the service manager: the unit's restart rule, and its notify
socket, on which each start must say READY=1). The partner link comes up
by the configured address (`show versions` over SSH lists both), and a
bundle put into A over FTP reaches B by PFU.

Root only (dpkg -i); skipped otherwise. Takes minutes: the package is
built from the working tree."""
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import threading
import time

import pytest

from conftest import ROOT

PID = os.getpid()
INSTANCE = {c: "pkgtest-%s-%d" % (c, PID) for c in "ab"}
# Two loopback addresses of their own, and high ports (a host sshd on
# 0.0.0.0:22 would hold the family's): the same ports on both addresses.
HOST = 40 + PID % 200
ADDR = {"a": "127.0.%d.2" % HOST, "b": "127.0.%d.3" % HOST}
PORT_BASE = 24000 + (PID % 500) * 10     # below the ephemeral ports
PORTS = {"ssh": PORT_BASE + 1, "sftp": PORT_BASE + 2, "ftp": PORT_BASE + 3,
         "https": PORT_BASE + 4, "link": PORT_BASE + 5}
USER, PASSWORD = "manage", "Tandem!pkg1"
FTP_USER = "loader"
SSH_OPTS = ["-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/proc/self/no-known-hosts",
            "-o", "LogLevel=error", "-o", "PubkeyAuthentication=no",
            "-o", "ConnectTimeout=5"]
UNIT_DIR = "/lib/systemd/system"


def wait_for(fn, timeout=120, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        r = fn()
        if r:
            return r
        assert time.monotonic() < deadline, "timed out waiting for " + what
        time.sleep(0.3)


def run(*argv, **kw):
    kw.setdefault("timeout", 300)
    return subprocess.run([str(a) for a in argv], capture_output=True,
                          text=True, **kw)


def unit_settings(path):
    """The [Service] lines of a unit file: NAME -> [values]."""
    out, section = {}, None
    for line in open(path):
        line = line.strip()
        if line.startswith("["):
            section = line
        elif section == "[Service]" and "=" in line and \
                not line.startswith("#"):
            k, v = line.split("=", 1)
            out.setdefault(k, []).append(v)
    return out


class Service:
    """One controller run as the unit says: ExecStart with %i, a notify
    socket, restarts per Restart=on-failure and RestartForceExitStatus=."""

    def __init__(self, c, unit, tmp):
        self.c, self.instance = c, INSTANCE[c]
        self.argv = [a.replace("%i", self.instance)
                     for a in shlex.split(unit["ExecStart"][0])]
        self.force = {int(s) for s in
                      " ".join(unit["RestartForceExitStatus"]).split()}
        self.prevent = {int(s) for s in
                        " ".join(unit.get("RestartPreventExitStatus",
                                          [])).split()}
        self.log = tmp / ("%s.log" % c)
        self.sock_path = str(tmp / ("%s.notify" % c))
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.sock_path)
        self.sock.settimeout(0.5)
        self.messages, self.exits, self.starts = [], [], 0
        self.proc, self.stopping = None, False
        self.lock = threading.Lock()
        threading.Thread(target=self.listen, daemon=True).start()
        self.thread = threading.Thread(target=self.supervise, daemon=True)
        self.thread.start()

    def listen(self):
        while not self.stopping:
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                self.messages.append(data.decode(errors="replace"))

    def supervise(self):
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
               "NOTIFY_SOCKET": self.sock_path}
        while True:
            with self.lock:
                if self.stopping:
                    return
                with open(self.log, "a") as log:
                    self.proc = subprocess.Popen(
                        self.argv, stdin=subprocess.DEVNULL, stdout=log,
                        stderr=log, env=env)
                self.starts += 1
            rc = self.proc.wait()
            with self.lock:
                self.exits.append(rc)
                if self.stopping:
                    return
            # Restart=on-failure, with the unit's forced and prevented
            # statuses: 0 stays off, as systemd would leave it.
            if rc in self.prevent or (rc == 0 and rc not in self.force):
                return
            time.sleep(0.2)

    def ready_count(self):
        with self.lock:
            return sum("READY=1" in m for m in self.messages)

    def stop(self):
        with self.lock:
            self.stopping = True
            proc = self.proc
        if proc and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.thread.join(timeout=60)
        self.sock.close()

    def log_text(self):
        return self.log.read_text(errors="replace") if self.log.exists() \
            else ""


def ssh(c, command):
    r = run("sshpass", "-p", PASSWORD, "ssh", "-p", PORTS["ssh"], *SSH_OPTS,
            "%s@%s" % (USER, ADDR[c]), command, timeout=30)
    return r.stdout if r.returncode == 0 else ""


def versions(on, of):
    m = re.search(r"^Controller %s Versions\n-+\n(?:.*\n)*?Bundle "
                  r"Version: (\S+)" % of.upper(),
                  ssh(on, "show versions"), re.M)
    return m and m.group(1)


@pytest.fixture
def package(tmp_path):
    """The package built from this tree and installed; purged after."""
    if os.geteuid() != 0:
        pytest.skip("installing a package needs root")
    for tool in ("dpkg-buildpackage", "dh", "sshpass", "curl", "openssl"):
        assert shutil.which(tool), "%s is missing (scripts/install-deps)" \
            % tool
    r = run("dpkg-query", "-W", "-f", "${Status}", "tandem")
    assert "ok installed" not in r.stdout, \
        "a tandem package is installed already; this test installs and " \
        "purges its own"
    r = run(ROOT / "scripts" / "build-deb", tmp_path / "deb", timeout=3600)
    assert r.returncode == 0, r.stdout + r.stderr
    debs = [p for p in r.stdout.split() if re.search(r"/tandem_[^/]*\.deb$",
                                                     p)]
    assert len(debs) == 1, r.stdout
    deb = debs[0]
    made = []
    # What the package's programs make there (tandemd -n opens the
    # default config's state) goes with the package, unless it was there.
    if not os.path.exists("/var/lib/tandem"):
        made.append("/var/lib/tandem")
    try:
        r = run("dpkg", "-i", deb)
        assert r.returncode == 0, r.stdout + r.stderr
        yield made
    finally:
        for path in made:
            if os.path.isdir(path):
                shutil.rmtree(path, ignore_errors=True)
            elif os.path.exists(path):
                os.unlink(path)
        r = run("dpkg", "--purge", "tandem")
        assert r.returncode == 0, r.stdout + r.stderr
        assert not os.path.exists("/usr/sbin/tandemd")
        for d in ("/var/lib/tandem", "/etc/tandem"):
            if os.path.isdir(d) and not os.listdir(d):
                os.rmdir(d)


def config(c, enc):
    """Controller c's config file: everything it needs, nothing on the
    command line."""
    lines = ["[tandemd]",
             "controller = %s" % c,
             "state = /var/lib/tandem/%s" % INSTANCE[c],
             "address = %s" % ADDR[c],
             "ssh-port = %d" % PORTS["ssh"],
             "sftp-port = %d" % PORTS["sftp"],
             "ftp-port = %d" % PORTS["ftp"],
             "https-port = %d" % PORTS["https"],
             "enable = ftp",
             "enclosure-key = %s" % (enc / "enclosure.key"),
             "keys = %s" % (enc / "trusted"),
             "heartbeat-ms = 200",
             "set = pfu-backoff-seconds=2",
             "set = pfu-partner-wait-seconds=40",
             "user = %s:%s:manage" % (USER, PASSWORD),
             "web-root = /usr/share/tandem/web"]
    if c == "a":
        lines.append("partner = %s:%d" % (ADDR["b"], PORTS["link"]))
    else:
        lines.append("link-port = %d" % PORTS["link"])
    return "\n".join(lines) + "\n"


def test_installed_package_runs_a_standalone_pair_and_pfu(package,
                                                          tmp_path):
    made = package
    # What the package installed.
    for path in ("/usr/sbin/tandemd", "/usr/sbin/tandem-loader",
                 "/usr/bin/tandem", "/etc/tandem/tandemd.conf",
                 "/usr/share/tandem/web/index.html",
                 "/usr/share/man/man8/tandemd.8.gz",
                 "/usr/share/man/man8/tandem-loader.8.gz",
                 "/usr/share/man/man1/tandem.1.gz",
                 UNIT_DIR + "/tandem.service", UNIT_DIR + "/tandem@.service",
                 "/usr/share/doc/tandem/copyright"):
        assert os.path.exists(path), path
    assert "/etc/tandem/tandemd.conf" in run(
        "dpkg-query", "-W", "-f", "${Conffiles}", "tandem").stdout
    # The units check out with systemd's own verifier (the template as
    # an instance).
    units = tmp_path / "units"
    units.mkdir()
    shutil.copy(UNIT_DIR + "/tandem.service", units)
    shutil.copy(UNIT_DIR + "/tandem@.service", units / "tandem@a.service")
    for u in ("tandem.service", "tandem@a.service"):
        r = run("systemd-analyze", "verify", "--man=no", units / u)
        assert r.returncode == 0 and r.stderr.strip() == "", r.stderr
    unit = unit_settings(UNIT_DIR + "/tandem@.service")
    assert unit["Type"] == ["notify"] and "75" in unit[
        "RestartForceExitStatus"][0].split(), unit
    assert unit_settings(UNIT_DIR + "/tandem.service")["ExecStart"] == [
        "/usr/sbin/tandem-loader --config /etc/tandem/tandemd.conf"]
    # The default config is one tandemd accepts as it is.
    r = run("/usr/sbin/tandemd", "-n", "--config", "/etc/tandem/tandemd.conf")
    assert r.returncode == 0 and "state /var/lib/tandem" in r.stdout, \
        r.stdout + r.stderr

    # Provisioning, with the installed tool only: a signing key, two
    # bundles whose MC is the installed tandemd, the enclosure key, and
    # each controller's flash at the factory bundle.
    enc = tmp_path / "enc"
    enc.mkdir()
    tandem = "/usr/bin/tandem"
    assert run(tandem, "bundle", "keygen", "--out",
               enc / "keys").returncode == 0
    (enc / "trusted").mkdir()
    shutil.copy(enc / "keys" / "bundle.pub", enc / "trusted")
    key = run("openssl", "rand", "-hex", "32")
    (enc / "enclosure.key").write_text(key.stdout)
    for n, sc in (("1", b"sc one\n"), ("2", b"sc two\n")):
        (enc / ("sc%s.img" % n)).write_bytes(sc * 1000)
        r = run(tandem, "bundle", "create", "--key", enc / "keys" /
                "bundle.key", "--version", "TS250P00" + n, "--model",
                "2324sa", "--component", "mc=TSM250P001:/usr/sbin/tandemd",
                "--component", "sc=TSS250P00%s:%s" % (n, enc / (
                    "sc%s.img" % n)), "--executable", "mc", "-o",
                enc / ("TS250P00%s.bundle" % n))
        assert r.returncode == 0, r.stderr
    for c in "ab":
        state = "/var/lib/tandem/" + INSTANCE[c]
        conf = "/etc/tandem/%s.conf" % INSTANCE[c]
        made.extend([state, conf])
        os.makedirs(state)
        for step in (["flash", "init", state],
                     ["flash", "install", state, enc / "TS250P001.bundle",
                      "--pubkey", enc / "trusted"],
                     ["flash", "confirm", state]):
            r = run(tandem, *step)
            assert r.returncode == 0, (step, r.stdout + r.stderr)
        with open(conf, "w") as f:
            f.write(config(c, enc))

    services = {}
    try:
        for c in "ab":
            services[c] = Service(c, unit, tmp_path)
        for c in "ab":
            # The MC runs from its bank, started by the unit's command.
            assert services[c].argv[:2] == ["/usr/sbin/tandem-loader",
                                            "--config"]
            wait_for(lambda: services[c].ready_count() >= 1, timeout=240,
                     what="READY=1 from %s" % c)
        # The link by the configured address: A lists B, and B lists A.
        wait_for(lambda: versions("a", "b") == "TS250P001" and
                 versions("b", "a") == "TS250P001", timeout=180,
                 what="both controllers in show versions")
        pid = services["b"].proc.pid
        assert "/flash/bank" in os.readlink("/proc/%d/exe" % pid)

        # PFU: TS250P002 into A over FTP reaches B.
        out = ssh("a", "create user interfaces cli,ftp password %s roles "
                  "manage %s" % (PASSWORD, FTP_USER))
        assert "Success" in out, out
        r = run("curl", "-sS", "-v", "--user", "%s:%s" % (FTP_USER, PASSWORD),
                "-T", enc / "TS250P002.bundle", "ftp://%s:%d/flash" % (
                    ADDR["a"], PORTS["ftp"]))
        assert "Codeload completed successfully." in r.stdout + r.stderr, \
            r.stdout + r.stderr
        wait_for(lambda: versions("b", "b") == "TS250P002" and
                 versions("a", "a") == "TS250P002" and
                 versions("a", "b") == "TS250P002", timeout=240,
                 what="PFU to TS250P002")
        # Each MC restart (75) was started again by the unit's rule and
        # said READY=1 again.
        for c in "ab":
            s = services[c]
            assert 75 in s.exits, (c, s.exits, s.log_text()[-3000:])
            wait_for(lambda: s.ready_count() >= s.starts, what="READY=1 "
                     "after each start of %s" % c)
    finally:
        for s in services.values():
            s.stop()
    for c, s in services.items():
        assert all(rc in (0, 75) for rc in s.exits), \
            (c, s.exits, s.log_text()[-4000:])
