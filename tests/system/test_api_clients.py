"""Real third-party monitoring clients from Debian's archive, unchanged,
against an enclosure over the HTTP API (HTTP and HTTPS): the
centreon-plugins package's storage::hp::p2000::xmlapi plugin (MD5 and
--digest-sha256 logins) and the script items of the Zabbix templates "HPE
MSA 2040 Storage by HTTP" and "HPE MSA 2060 Storage by HTTP", run with
zabbix_js. Each must report the enclosure's real versions and health with
no error; where Tandem has no hardware the clients find empty lists
(docs/compat.md, "Third-party clients tested"). A missing client fails:
scripts/install-deps installs them."""
import hashlib
import json
import os
import re
import signal
import subprocess
import urllib.request

import pytest
import yaml

from enclosure_helpers import (MANAGE, Enclosure, own_addresses, versions,
                               wait_for)

CENTREON = "/usr/lib/nagios/plugins/centreon_plugins.pl"
PLUGIN = "storage::hp::p2000::xmlapi::plugin"
ZABBIX_JS = "/usr/bin/zabbix_js"
TEMPLATES = "/usr/share/doc/zabbix-frontend-php/templates/san"
TEMPLATE = {
    "2040": TEMPLATES + "/hpe_msa2040_http/template_san_hpe_msa2040_http.yaml",
    "2060": TEMPLATES + "/hpe_msa2060_http/template_san_hpe_msa2060_http.yaml",
}
# The templates' setup: a user with the monitor role for Zabbix.
MONITOR = ("zabbix", "Zbx-M0nitor")
PORT_BASE = 51000
# Every list the 2040/2060 script items ask for that Tandem has nothing in.
EMPTY = ["controller-statistics", "disk-groups", "disk-group-statistics",
         "disks", "fans", "pools", "ports", "power-supplies", "volumes",
         "volume-statistics"]


def require(path):
    assert os.path.exists(path), (
        "%s is missing: run scripts/install-deps (centreon-plugins, "
        "zabbix-frontend-php, zabbix-proxy-sqlite3)" % path)


@pytest.fixture(scope="module")
def enc(tmp_path_factory):
    for path in (CENTREON, ZABBIX_JS, *TEMPLATE.values()):
        require(path)
    e = Enclosure(tmp_path_factory.mktemp("clients"), own_addresses(170),
                  PORT_BASE)
    try:
        # HTTPS is on by default, HTTP off (the family's defaults).
        out = e.cli("a", "set protocols http enabled")
        assert "Success" in out, out
        out = e.cli("a", "create user interfaces wbi password %s roles "
                    "monitor %s" % (MONITOR[1], MONITOR[0]))
        assert "Success" in out, out
        for ctl in "ab":
            wait_for(lambda: "Web Browser Interface (HTTP): Enabled" in
                     e.cli(ctl, "show protocols"),
                     what="HTTP enabled on %s" % ctl)
        yield e
    finally:
        e.stop()


def running(enc, ctl):
    """What ctl runs, as `show versions` over SSH says."""
    return versions(enc, ctl, ctl)


def centreon(enc, ctl, proto, mode, *extra, sha256=False, tmp=None):
    addr, port = enc.ports[(ctl, proto)]
    args = ["perl", CENTREON, "--plugin=" + PLUGIN, "--mode=" + mode,
            "--hostname=" + addr, "--port=%d" % port, "--proto=" + proto,
            "--username=" + MANAGE[0], "--password=" + MANAGE[1],
            "--timeout=30", "--verbose"]
    if sha256:
        args.append("--digest-sha256")
    if proto == "https":
        # The controller's certificate is self-signed: the plugin's own
        # way to accept it.
        args.append("--insecure")
    r = subprocess.run(args + list(extra), capture_output=True, text=True,
                       timeout=120, cwd=tmp)
    return r.returncode, r.stdout + r.stderr


@pytest.mark.parametrize("proto", ["http", "https"])
@pytest.mark.parametrize("sha256", [False, True], ids=["md5", "sha256"])
def test_centreon_health(enc, proto, sha256):
    rc, out = centreon(enc, "a", proto, "health", sha256=sha256)
    assert rc == 0, out
    # The enclosure and the two controller modules, all OK; no disks,
    # fans, power supplies, sensors or disk groups to check.
    assert out.startswith("OK: All 3 components are ok "
                          "[1/1 enclosures, 2/2 frus]."), out
    assert "enclosure 'enclosure_1' status is ok" in out
    assert "fru 'UPPER IOM SLOT' status is OK" in out
    assert "fru 'LOWER IOM SLOT' status is OK" in out
    for word in ("UNKNOWN", "CRITICAL", "WARNING", "rror", "annot"):
        assert word not in out, out


@pytest.mark.parametrize("proto", ["http", "https"])
@pytest.mark.parametrize("sha256", [False, True], ids=["md5", "sha256"])
def test_centreon_controllers(enc, proto, sha256, tmp_path):
    rc, out = centreon(enc, "b", proto, "controllers",
                       "--statefile-dir=%s" % tmp_path, sha256=sha256,
                       tmp=tmp_path)
    assert rc == 0, out
    assert out.startswith("OK: All controllers are ok"), out
    assert re.search(r"checking controller 'controller_a'\n\s+status: ok",
                     out), out
    assert re.search(r"checking controller 'controller_b'\n\s+status: ok",
                     out), out


@pytest.mark.parametrize("proto", ["http", "https"])
def test_centreon_volumes(enc, proto, tmp_path):
    rc, out = centreon(enc, "a", proto, "list-volumes", sha256=True)
    assert (rc, out.strip()) == (0, "List volumes:"), out
    # With no volume the client itself answers UNKNOWN "No volume found."
    # (as for any array without volumes): the request succeeded and the
    # empty list was read, no error came back.
    rc, out = centreon(enc, "a", proto, "volume-stats",
                       "--statefile-dir=%s" % tmp_path, tmp=tmp_path)
    assert (rc, out.strip()) == (3, "UNKNOWN: No volume found."), out
    rc, out = centreon(enc, "a", proto, "vdisks")
    assert (rc, out.strip()) == (3, "UNKNOWN: No virtual disk found"), out


@pytest.mark.parametrize("proto", ["http", "https"])
def test_centreon_time(enc, proto):
    rc, out = centreon(enc, "b", proto, "time", sha256=True)
    assert rc == 0, out
    # The controller's clock against this host's: the same clock here.
    m = re.match(r"OK: Time offset (-?\d+) second\(s\): Local Time : "
                 r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d \(\+00:00\)", out)
    assert m, out
    assert abs(int(m.group(1))) <= 5, out


def test_centreon_wrong_password_fails(enc):
    addr, port = enc.ports[("a", "http")]
    r = subprocess.run(
        ["perl", CENTREON, "--plugin=" + PLUGIN, "--mode=health",
         "--hostname=" + addr, "--port=%d" % port, "--proto=http",
         "--username=" + MANAGE[0], "--password=wrong"],
        capture_output=True, text=True, timeout=120)
    assert r.returncode != 0
    assert "Login authentification failed" in r.stdout, r.stdout


def zabbix_script(model):
    """The template's script item: its JavaScript and its parameters."""
    with open(TEMPLATE[model]) as f:
        t = yaml.safe_load(f)["zabbix_export"]["templates"][0]
    assert t["name"] == "HPE MSA %s Storage by HTTP" % model
    item, = [i for i in t["items"] if i["type"] == "SCRIPT"]
    assert item["key"] == "hpe.msa.get.data"
    macros = {m["macro"]: m.get("value", "") for m in t["macros"]}
    return item, macros


def zabbix(enc, tmp_path, model, ctl, scheme, user=MONITOR):
    item, macros = zabbix_script(model)
    addr, port = enc.ports[(ctl, scheme)]
    macros.update({
        "{HOST.CONN}": addr,
        "{$HPE.MSA.API.SCHEME}": scheme,
        "{$HPE.MSA.API.PORT}": str(port),
        "{$HPE.MSA.API.USERNAME}": user[0],
        "{$HPE.MSA.API.PASSWORD}": user[1],
    })
    # Macros expand as Zabbix expands them in the item's parameters.
    params = {p["name"]: re.sub(r"\{[^{}]+\}",
                                lambda m: macros.get(m.group(0), m.group(0)),
                                p["value"])
              for p in item["parameters"]}
    assert not any("{" in v for v in params.values()), params
    script = tmp_path / ("msa%s.js" % model)
    script.write_text(item["params"])
    value = tmp_path / "input.json"
    value.write_text(json.dumps(params))
    r = subprocess.run([ZABBIX_JS, "-s", str(script), "-i", str(value),
                        "-t", "60"], capture_output=True, text=True,
                       timeout=120)
    return r.returncode, r.stdout, r.stderr


@pytest.mark.parametrize("scheme", ["https", "http"])
@pytest.mark.parametrize("model", ["2040", "2060"])
def test_zabbix_template(enc, tmp_path, model, scheme):
    rc, out, err = zabbix(enc, tmp_path, model, "a", scheme)
    assert rc == 0, out + err
    data = json.loads(out)
    assert data["errors"] == "", data["errors"]
    system, = data["system"]
    assert system["health"] == "OK"
    assert str(system["health-numeric"]) == "0"
    assert system["other-MC-status"] == "Operational"
    controllers = {c["durable-id"]: c for c in data["controllers"]}
    assert set(controllers) == {"controller_a", "controller_b"}
    for ctl in "ab":
        c = controllers["controller_" + ctl]
        assert c["controller-id"] == ctl.upper()
        assert c["status"] == "Operational" and c["health"] == "OK"
        assert str(c["health-numeric"]) == "0"
        # The firmware each controller really runs.
        want = running(enc, ctl)["Storage Controller Code Version"]
        assert want and want != "N/A"
        assert c["sc-fw"] == want, (c["sc-fw"], want)
    enclosure, = data["enclosures"]
    assert enclosure["durable-id"] == "enclosure_1"
    assert enclosure["health"] == "OK"
    assert sorted(f["fru-location"] for f in data["frus"]) == \
        ["LOWER IOM SLOT", "UPPER IOM SLOT"]
    assert all(f["fru-status"] == "OK" for f in data["frus"])
    for method in EMPTY:
        assert data[method] == [], (method, data[method])


def test_zabbix_wrong_password_is_reported(enc, tmp_path):
    rc, out, err = zabbix(enc, tmp_path, "2040", "a", "https",
                          user=(MONITOR[0], "wrong"))
    assert rc != 0
    assert "Authentication failed" in out + err, out + err


def test_zabbix_2060_polls_without_logging_out(enc, tmp_path):
    """The 2060 script never logs out: a poller's sessions pile up. After
    more such logins than the controller holds sessions
    (HTTP_SESSIONS_MAX, 64), made as the script makes them, its next poll
    and another client still succeed."""
    addr, port = enc.ports[("a", "http")]
    digest = hashlib.sha256(("%s_%s" % MONITOR).encode()).hexdigest()
    for _ in range(66):
        req = urllib.request.Request(
            "http://%s:%d/api/login/%s" % (addr, port, digest),
            headers={"datatype": "json"})
        with urllib.request.urlopen(req, timeout=30) as r:
            assert json.load(r)["status"][0]["response-type"] == "Success"
    rc, out, err = zabbix(enc, tmp_path, "2060", "a", "http")
    assert rc == 0, out + err
    assert json.loads(out)["errors"] == ""
    rc, out = centreon(enc, "a", "http", "health")
    assert rc == 0, out


def test_clients_see_a_partner_that_stops(enc, tmp_path):
    """The health the clients report is the enclosure's: with B frozen
    (its heartbeats stop) A reports B down, and each client says so; when
    B runs again, all is OK again. Last in this file: it disturbs B."""
    b = enc.pid("b")
    os.kill(b, signal.SIGSTOP)
    try:
        wait_for(lambda: "Status: Down" in enc.cli("a", "show controllers"),
                 what="A to see B down")
        rc, out = centreon(enc, "a", "https", "health", sha256=True)
        assert rc == 2, out
        assert out.startswith("CRITICAL: Fru 'LOWER IOM SLOT' status is "
                              "'Fault'"), out
        assert "Enclosure 'enclosure_1' status is 'degraded'" in out, out
        rc, out, err = zabbix(enc, tmp_path, "2040", "a", "https")
        assert rc == 0, out + err
        data = json.loads(out)
        assert data["errors"] == "", data["errors"]
        assert data["system"][0]["health"] == "Degraded"
        controllers = {c["durable-id"]: c for c in data["controllers"]}
        assert controllers["controller_a"]["status"] == "Operational"
        assert controllers["controller_b"]["status"] == "Down"
        assert controllers["controller_b"]["health"] != "OK"
        assert controllers["controller_b"]["health-recommendation"]
    finally:
        os.kill(b, signal.SIGCONT)
    wait_for(lambda: "Other MC Status: Operational" in
             enc.cli("a", "show system"), what="A to see B again")
    rc, out = centreon(enc, "a", "https", "health", sha256=True)
    assert rc == 0 and out.startswith("OK: All 3 components are ok"), out
