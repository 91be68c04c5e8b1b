"""The partner link refuses what is not the partner, and the real partner
keeps working: an impostor with a wrong enclosure key, A's recorded bytes
replayed on a new connection, a byte flipped inside an established
stream, and a fake partner (the right key) pushing a bundle signed by a
key B does not trust. Each is refused and logged; the link between the
real A and B is up afterwards. Real tandemd processes, as
test_partner_link.py starts them, with a TCP proxy of the test's own
between A and B where the bytes are tampered with."""
import json
import re
import socket
import subprocess
import threading

import pytest

from conftest import BUILD, program
from test_partner_link import Tandemd, wait_for


class Proxy:
    """Forwards each connection to B; records what A sends on the first
    one, and flips one byte of A's stream on request."""

    def __init__(self, port):
        self.port_b = port
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.first = bytearray()
        self.connections = 0
        self.flip = threading.Event()
        self.flipped = threading.Event()
        self.closing = False
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while not self.closing:
            try:
                a, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            b = socket.create_connection(("127.0.0.1", self.port_b))
            record = self.first if self.connections == 1 else None
            threading.Thread(target=self.pump, args=(a, b, record, True),
                             daemon=True).start()
            threading.Thread(target=self.pump, args=(b, a, None, False),
                             daemon=True).start()

    def pump(self, src, dst, record, from_a):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if record is not None:
                    record += data
                if from_a and self.flip.is_set() and len(data) > 8:
                    # The last byte of what A sent: inside a record's
                    # ciphertext or tag, never its header.
                    data = data[:-1] + bytes([data[-1] ^ 0x01])
                    self.flip.clear()
                    self.flipped.set()
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self):
        self.closing = True
        self.sock.close()


@pytest.fixture
def enc(tmp_path):
    d = tmp_path / "enc"
    subprocess.run([program("tandem"), "enclosure", "init", str(d)],
                   check=True, capture_output=True)
    return d


@pytest.fixture
def procs():
    running = []
    yield running
    for t in running:
        t.stop()


def start(procs, enc, ctl, *extra):
    t = Tandemd(enc, ctl, "--enclosure-key", str(enc / "enclosure.key"),
                *extra)
    procs.append(t)
    return t


def link_up_count(t, peer):
    return t.events().count("Partner controller %s is up" % peer)


def pair(procs, enc, via_proxy=False):
    b = start(procs, enc, "b", "--link-port", "0")
    proxy = Proxy(b.ports["link"]) if via_proxy else None
    port = proxy.port if proxy else b.ports["link"]
    a = start(procs, enc, "a", "--partner", "127.0.0.1:%d" % port)
    wait_for(lambda: "Partner controller A is up" in b.events(),
             what="B to see A")
    wait_for(lambda: "Partner controller B is up" in a.events(),
             what="A to see B")
    return a, b, proxy


def partner_shown(b):
    """B's show versions lists controller A's section (A is linked)."""
    out = b.ssh("show versions")
    return re.search(r"Controller A", out) and \
        "Bundle Version: TS250P001" in out.split("Controller A", 1)[1] \
        and out


def test_wrong_key_impostor_leaves_the_real_link_up(procs, enc, tmp_path):
    a, b, _ = pair(procs, enc)
    # Another enclosure's controller A, with that enclosure's key.
    other = tmp_path / "other"
    subprocess.run([program("tandem"), "enclosure", "init", str(other)],
                   check=True, capture_output=True)
    imp = Tandemd(other, "a", "--enclosure-key",
                  str(other / "enclosure.key"), "--partner",
                  "127.0.0.1:%d" % b.ports["link"])
    procs.append(imp)
    ev = wait_for(lambda: (lambda t: "Partner link refused" in t and t)(
        b.events()), what="B's refusal event")
    assert re.search(r"WARNING Partner link refused: 127\.0\.0\.1: .*"
                     r"handshake failed", ev), ev
    # The real link never went down, and B still shows A.
    assert "Partner controller A is down" not in ev, ev
    assert link_up_count(b, "A") == 1
    assert partner_shown(b), b.ssh("show versions")
    assert "Partner controller" not in imp.events()


def test_replayed_bytes_are_refused(procs, enc):
    a, b, proxy = pair(procs, enc, via_proxy=True)
    wait_for(lambda: len(proxy.first) > 600, what="A's handshake bytes")
    recorded = bytes(proxy.first)
    # A's bytes, as they were, on a new connection straight to B.
    s = socket.create_connection(("127.0.0.1", b.ports["link"]))
    s.sendall(recorded)
    s.settimeout(20)
    try:
        while s.recv(65536):
            pass
    except OSError:
        pass
    s.close()
    ev = wait_for(lambda: (lambda t: "Partner link refused" in t and t)(
        b.events()), what="B's refusal of the replay")
    assert re.search(r"WARNING Partner link refused: 127\.0\.0\.1: .*"
                     r"handshake failed", ev), ev
    # The replay reached no handler: A's link is the one it was.
    assert "Partner controller A is down" not in ev, ev
    assert link_up_count(b, "A") == 1
    assert partner_shown(b)


def test_flipped_byte_drops_the_link_which_returns_clean(procs, enc):
    a, b, proxy = pair(procs, enc, via_proxy=True)
    proxy.flip.set()
    # A setting change makes A send frames through the proxy.
    out = a.ssh("set advanced-settings partner-firmware-upgrade disabled")
    assert "Success" in out, out
    assert proxy.flipped.wait(30)
    ev = wait_for(lambda: (lambda t: "Partner controller A is down" in t
                           and t)(b.events()), what="B to drop the link")
    line = re.search(r"Partner controller A is down: (.*)", ev).group(1)
    # The reason names the TLS failure, not a frame of ours.
    assert line == "TLS error: decryption failed or bad record mac.", line
    ev_a = a.events()
    assert "Partner controller B is down: TLS error: " in ev_a, ev_a
    wait_for(lambda: link_up_count(b, "A") == 2, what="the link to return")
    wait_for(lambda: b.pfu_setting() in ("Disabled", "Enabled"),
             what="B serving")
    assert proxy.connections >= 2
    # Clean: the change made over the tampered stream arrives after all.
    wait_for(lambda: b.pfu_setting() == "Disabled", what="the mirror")
    assert partner_shown(b)


def test_fake_partner_bundle_signed_by_another_key(procs, enc, tmp_path):
    a, b, _ = pair(procs, enc)
    # A bundle signed by another enclosure's key, which B does not trust.
    other = tmp_path / "other"
    subprocess.run([program("tandem"), "enclosure", "init", str(other)],
                   check=True, capture_output=True)
    push = BUILD / "tests" / "unit" / "link-push"
    serial = (enc / "b" / "config" / "midplane-serial").read_text().strip()
    r = subprocess.run([str(push), str(enc / "enclosure.key"), "127.0.0.1",
                        str(b.ports["link"]), serial,
                        str(other / "bundles" / "TS250P002.bundle"),
                        "TS250P002"], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    assert "Sanitizer" not in r.stderr and "runtime error" not in r.stderr
    result = json.loads(r.stdout)
    assert result["ok"] is False, result
    assert "does not trust" in result["message"], result
    ev = wait_for(lambda: (lambda t: re.search(
        r"#B\d+: .*Partner firmware update.*does not trust", t) and t)(
        b.events()), what="B's event for the refused bundle")
    # B says that a controller with another serial took the link, and
    # again when the real A came back.
    ev_b = wait_for(lambda: (lambda t: t.count("has another serial") >= 2
                             and t)(b.events()), what="B's serial warnings")
    assert re.search(r"WARNING Partner controller A has another serial "
                     r"number than before \(FAKE0000A, was TDA\w+\)", ev_b), \
        ev_b
    # Nothing installed: B's flash is as it was.
    assert "Bundle Version: TS250P001" in b.ssh("show versions")
    show = subprocess.run([program("tandem"), "flash", "show",
                           str(enc / "b")], capture_output=True, text=True)
    assert "TS250P002" not in show.stdout, show.stdout
    # The real A comes back and works: a setting crosses the link.
    wait_for(lambda: "Partner controller B is up" in
             a.events().split("Partner controller B is down", 1)[-1],
             what="the real A's link back")
    out = a.ssh("set advanced-settings partner-firmware-upgrade disabled")
    assert "Success" in out, out
    wait_for(lambda: b.pfu_setting() == "Disabled", what="the mirror")
    assert partner_shown(b)
    assert ev
