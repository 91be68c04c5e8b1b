"""The CLI's XML API and JSON output, parsed with real parsers and checked
field by field against MSA-REFERENCE.md. Runs tests/unit/cli-run, which
drives one CLI session over the fixed test backend."""
import json
import subprocess
import xml.etree.ElementTree as ET

import pytest

from conftest import BUILD

CLI_RUN = BUILD / "tests" / "unit" / "cli-run"

STATUS_PROPS = [
    # name, type, size, draw, sort, display-name (MSA-REFERENCE.md)
    ("response-type", "string", "12", "false", "nosort", "Response Type"),
    ("response-type-numeric", "uint32", "12", "false", "nosort",
     "Response Type"),
    ("response", "string", "180", "true", "nosort", "Response"),
    ("return-code", "sint32", "15", "false", "nosort", "Return Code"),
    ("component-id", "string", "80", "false", "nosort", "Component ID"),
    ("time-stamp", "string", "25", "false", "datetime", "Time"),
    ("time-stamp-numeric", "uint32", "25", "false", "datetime", "Time"),
]

VERSIONS_PROPS = [
    "object-name", "sc-cpu-type", "bundle-version", "bundle-base-version",
    "build-date", "sc-fw", "sc-baselevel", "sc-memory", "sc-fu-version",
    "sc-loader", "capi-version", "mc-fw", "mc-loader", "mc-base-fw",
    "fw-default-platform-brand", "fw-default-platform-brand-numeric",
    "ec-fw", "pld-rev", "pm-cpld-version", "prm-version", "hw-rev",
]

PROTOCOLS = ["wbi-http", "wbi-https", "cli-telnet", "cli-ssh", "smis",
             "usmis", "slp", "ftp", "sftp", "snmp", "debug-interface",
             "inband-ses", "activity-progress"]

NUMERIC = {"uint8", "uint32", "sint32", "uint64"}


def cli(*commands, mode=None, role=None, partner_down=False):
    if not CLI_RUN.exists():
        pytest.skip(f"{CLI_RUN} not built")
    args = [str(CLI_RUN)]
    if role:
        args += ["--role", role]
    if partner_down:
        args.append("--partner-down")
    if mode:
        args += ["--mode", mode]
    out = subprocess.run(args + list(commands), capture_output=True,
                         text=True, timeout=60, check=True)
    return out.stdout


def xml(command, **kw):
    text = cli(command, mode="api", **kw)
    root = ET.fromstring(text.encode())
    check_document(root, command)
    return root


def check_document(root, command):
    assert root.tag == "RESPONSE"
    assert root.get("VERSION") == "L100"
    assert root.get("REQUEST") == command
    objs = root.findall("OBJECT")
    assert objs, "no OBJECT"
    for o in objs:
        for attr in ("basetype", "name", "oid"):
            assert o.get(attr), f"OBJECT without {attr}"
        for p in o.findall("PROPERTY"):
            for attr in ("name", "type", "size", "draw", "sort",
                         "display-name"):
                assert p.get(attr) is not None, (p.get("name"), attr)
            if p.get("type") in NUMERIC:
                assert p.text and p.text.lstrip("-").isdigit(), \
                    (p.get("name"), p.text)
    # api mode links each data object with a COMP element
    comps = root.findall("COMP")
    data = [o for o in objs if o.get("basetype") != "status"]
    assert [c.get("P") for c in comps] == [o.get("oid") for o in data]
    check_status(objs[-1])


def check_status(o):
    assert o.get("basetype") == "status" and o.get("name") == "status"
    props = o.findall("PROPERTY")
    got = [(p.get("name"), p.get("type"), p.get("size"), p.get("draw"),
            p.get("sort"), p.get("display-name")) for p in props]
    assert got == STATUS_PROPS


def status(root):
    o = root.findall("OBJECT")[-1]
    return {p.get("name"): p.text or "" for p in o.findall("PROPERTY")}


def props(o):
    return {p.get("name"): p for p in o.findall("PROPERTY")}


def test_show_versions_fields():
    root = xml("show versions")
    objs = [o for o in root.findall("OBJECT")
            if o.get("basetype") == "versions"]
    assert [o.get("name") for o in objs] == [
        "controller-a-versions", "controller-b-versions"]
    for o in objs:
        names = [p.get("name") for p in o.findall("PROPERTY")]
        assert names == VERSIONS_PROPS
        p = props(o)
        assert p["object-name"].text == o.get("name")
        for n in ("sc-cpu-type", "bundle-version", "build-date"):
            assert p[n].get("size") == "24"
            assert p[n].get("type") == "string"
        assert p["bundle-version"].get("display-name") == "Bundle Version"
        assert p["mc-fw"].get("display-name") == \
            "Management Controller Code Version"
        # meaningless for Tandem: an honest N/A, never an invented value
        assert p["sc-memory"].text == "N/A"
    assert props(objs[0])["bundle-version"].text == "TS252P005"
    assert props(objs[1])["bundle-version"].text == "TS251R004-05"
    st = status(root)
    assert st["response-type"] == "Success"
    assert st["response-type-numeric"] == "0"
    assert st["response"] == "Command completed successfully."
    assert st["return-code"] == "0"
    assert st["time-stamp"] == "2021-06-02 09:51:26"
    assert st["time-stamp-numeric"] == "1622627486"


def test_console_labels_are_display_names():
    root = xml("show versions")
    console = cli("show versions")
    a = root.findall("OBJECT")[0]
    for p in a.findall("PROPERTY"):
        if p.get("name") in ("object-name",) or \
                p.get("name").endswith("-numeric"):
            continue
        assert f"{p.get('display-name')}: {p.text}\n" in console
    assert console.startswith("Controller A Versions\n"
                              "---------------------\n")
    assert console.endswith(
        "Success: Command completed successfully. (2021-06-02 09:51:26)\n")


def test_prefix_keyword_show_version():
    assert cli("show version", mode="api").replace(
        'REQUEST="show version"', "") == cli(
        "show versions", mode="api").replace('REQUEST="show versions"', "")


def test_partner_down_is_said_clearly():
    root = xml("show versions", partner_down=True)
    names = [o.get("name") for o in root.findall("OBJECT")]
    assert names == ["controller-a-versions", "status"]
    st = status(root)
    assert st["response-type"] == "Warning"
    assert st["response-type-numeric"] == "3"
    assert "Controller B is not available" in st["response"]
    assert st["return-code"] != "0"


def test_show_system_and_escaping():
    root = xml("show system", partner_down=True)
    o = root.findall("OBJECT")[0]
    assert o.get("basetype") == "system"
    p = props(o)
    for n in ("system-name", "system-contact", "system-location",
              "system-information", "midplane-serial-number", "vendor-name",
              "product-id", "product-brand", "health", "health-numeric",
              "health-reason", "other-MC-status", "pfuStatus"):
        assert n in p, n
    assert p["system-name"].text == "Uninitialized Name"
    assert p["other-MC-status"].get("display-name") == "Other MC Status"
    assert p["pfuStatus"].get("display-name") == "PFU Status"
    # markup characters in a value come back exactly
    assert p["health-reason"].text == \
        "The partner controller is not reachable <B & link>."


def test_show_controllers_fields():
    root = xml("show controllers")
    objs = [o for o in root.findall("OBJECT")
            if o.get("basetype") == "controllers"]
    assert len(objs) == 2
    for o, cid, dur, pos in ((objs[0], "A", "controller_a", "Top"),
                             (objs[1], "B", "controller_b", "Bottom")):
        p = props(o)
        assert p["durable-id"].text == dur
        assert p["controller-id"].text == cid
        assert p["status"].text == "Operational"
        assert p["position"].text == pos
        for n in ("serial-number", "sc-fw", "sc-cpu-type", "health"):
            assert n in p


def test_advanced_settings_and_set():
    root = xml("show advanced-settings")
    o = root.findall("OBJECT")[0]
    assert o.get("basetype") == "advanced-settings-table"
    p = props(o)
    assert p["partner-firmware-upgrade"].text == "Enabled"
    assert p["partner-firmware-upgrade-numeric"].text == "1"
    text = cli("set advanced-settings partner-firmware-upgrade disabled",
               "show advanced-settings")
    assert ("Info: Parameter 'partner-firmware-upgrade' was set to "
            "'disabled'. (2021-06-02 09:51:26)\n"
            "Success: Command completed successfully. - The settings were "
            "changed successfully. (2021-06-02 09:51:26)\n") in text
    assert "Partner Firmware Upgrade: Disabled\n" in text


def test_protocols_order_and_set():
    root = xml("show protocols")
    o = root.findall("OBJECT")[0]
    assert o.get("name") == "services-security-protocols"
    assert o.get("basetype") == "security-communications-protocols"
    names = [p.get("name") for p in o.findall("PROPERTY")]
    assert names[::2] == PROTOCOLS
    assert names[1::2] == [n + "-numeric" for n in PROTOCOLS]
    p = props(o)
    assert p["ftp"].text == "Disabled" and p["ftp-numeric"].text == "0"
    text = cli("set protocols ftp enabled telnet on", "show protocols",
               mode="api")
    docs = text.split('<?xml')[1:]
    after = ET.fromstring(('<?xml' + docs[1]).encode())
    p = props(after.findall("OBJECT")[0])
    assert p["ftp"].text == "Enabled" and p["ftp-numeric"].text == "1"
    assert p["cli-telnet"].text == "Enabled"
    console = cli("show protocols")
    assert "Service and Security Protocols\n" in console
    assert "File Transfer Protocol (FTP): Disabled\n" in console


@pytest.mark.parametrize("command", [
    "show versions", "show versions detail", "show controllers",
    "show system", "show advanced-settings", "show protocols",
    "show events", "show events last 2 warning",
    "show firmware-update-status", "show configuration",
    "show cli-parameters", "show users", "help", "restart sc a",
    "shutdown b", "create user password Pw-1 roles monitor eve",
])
def test_every_command_is_a_valid_document(command):
    root = xml(command)
    assert status(root)["response-type"] == "Success", status(root)
    data = cli(command, mode="json")
    doc = json.loads(data)
    assert list(doc)[-1] == "status"
    for basetype, objs in doc.items():
        for o in objs:
            assert "object-name" in o and o["meta"] == "/meta/" + basetype


def test_api_embed_has_no_comp():
    text = cli("show versions", mode="api-embed")
    root = ET.fromstring(text.encode())
    assert root.findall("COMP") == []
    assert len(root.findall("OBJECT")) == 3


def test_errors_and_roles():
    root = xml("show nonsense")
    st = status(root)
    assert st["response-type"] == "Error"
    assert st["response-type-numeric"] == "1"
    assert "'nonsense' was not recognized" in st["response"]
    assert int(st["return-code"]) != 0
    root = xml("set protocols ftp enabled", role="monitor")
    st = status(root)
    assert st["response-type"] == "Error"
    assert "Permission denied" in st["response"]
    text = cli("set protocols ftp enabled", "show protocols",
               role="monitor")
    assert "File Transfer Protocol (FTP): Disabled" in text
    assert cli("frobnicate").startswith("Error: ")


def test_events_json():
    doc = json.loads(cli("show events last 3", mode="json"))
    ev = doc["events"]
    assert len(ev) == 3
    assert ev[0]["event-code"] == "269"
    assert ev[0]["severity"] == "INFORMATIONAL"
    assert ev[0]["severity-numeric"] == 0
    assert ev[0]["time-stamp-numeric"] == 1622627486 - 60
    console = cli("show events last 1")
    assert console.startswith(
        "2021-06-02 09:50:26 [269] #A1437: TANDEM-SIM Array "
        "SN#00TANDEM0001 Controller A INFORMATIONAL Partner Firmware "
        "Update progress: PFU completed on local controller, SUCCESS\n")


# The family's system-redundancy object (sample: asand3r/zbx-hpmsa
# api_samples; docs/compat.md), names and order exactly.
REDUNDANCY_PROPS = [
    "redundancy-mode", "redundancy-mode-numeric", "redundancy-status",
    "redundancy-status-numeric", "controller-a-status",
    "controller-a-status-numeric", "controller-a-serial-number",
    "controller-b-status", "controller-b-status-numeric",
    "controller-b-serial-number", "other-MC-status",
    "other-MC-status-numeric", "system-ready", "system-ready-numeric",
]


@pytest.mark.parametrize("down", [False, True])
def test_show_redundancy_mode(down):
    root = xml("show redundancy-mode", partner_down=down)
    o = root.findall("OBJECT")[0]
    assert (o.get("basetype"), o.get("name")) == ("redundancy",
                                                  "system-redundancy")
    assert [p.get("name") for p in o.findall("PROPERTY")] == \
        REDUNDANCY_PROPS
    p = props(o)
    assert p["redundancy-mode"].get("display-name") == \
        "Controller Redundancy Mode"
    assert p["controller-b-serial-number"].text == "TANDEM-B-0002"
    if down:
        assert p["redundancy-status"].text == "Operational but not redundant"
        assert p["redundancy-status-numeric"].text == "0"
        assert p["controller-b-status"].text == "Down"
        assert p["other-MC-status"].text == "Not Operational"
        assert status(root)["response-type"] == "Warning"
    else:
        assert p["redundancy-mode"].text == "Active-Active ULP"
        assert p["redundancy-mode-numeric"].text == "8"
        assert p["redundancy-status"].text == "Redundant"
        assert p["redundancy-status-numeric"].text == "2"
        assert p["controller-b-status"].text == "Operational"
        assert p["other-MC-status-numeric"].text == "4760"
        assert status(root)["response-type"] == "Success"


def test_check_firmware_upgrade_health():
    root = xml("check firmware-upgrade-health")
    objs = root.findall("OBJECT")
    assert [o.get("basetype") for o in objs] == ["code-load-readiness",
                                                 "status"]
    assert props(objs[0])["overall-health"].text == "Pass"
    root = xml("check firmware-upgrade-health", partner_down=True)
    objs = root.findall("OBJECT")
    assert [o.get("basetype") for o in objs] == [
        "code-load-readiness", "code-load-readiness-reasons", "status"]
    assert props(objs[0])["overall-health"].text == "Fail"
    assert props(objs[0])["overall-health-numeric"].text == "1"
    r = props(objs[1])
    assert r["reason-id"].text == "partner-down"
    # markup in a reason comes back exactly
    assert r["readiness-reason"].text == \
        "Controller B is not available: no heartbeat for 3 s <link & B>."
    assert r["failure-risks-numeric"].text == "2"
    assert "flash:force" in r["recommended-action"].text
    # the command itself completed: the verdict is in overall-health
    assert status(root)["response-type"] == "Success"
    # api mode links the reason to its verdict: COMP G=<verdict's oid>
    comps = [(c.get("G"), c.get("P")) for c in root.findall("COMP")]
    assert comps == [("0", objs[0].get("oid")),
                     (objs[0].get("oid"), objs[1].get("oid"))]
    # api-embed and JSON nest the reasons in the verdict, as the family's
    text = cli("check firmware-upgrade-health", mode="api-embed",
               partner_down=True)
    top = ET.fromstring(text.encode()).findall("OBJECT")
    assert [o.get("basetype") for o in top] == ["code-load-readiness",
                                                "status"]
    inner = top[0].findall("OBJECT")
    assert [o.get("basetype") for o in inner] == [
        "code-load-readiness-reasons"]
    assert props(inner[0])["reason-id"].text == "partner-down"
    doc = json.loads(cli("check firmware-upgrade-health", mode="json",
                         partner_down=True))
    verdict = doc["code-load-readiness"][0]
    assert verdict["overall-health"] == "Fail"
    assert "code-load-readiness-reasons" not in doc
    assert verdict["code-load-readiness-reasons"][0]["reason-id"] == \
        "partner-down"


def test_rollback_firmware_roles():
    root = xml("rollback firmware", role="monitor")
    st = status(root)
    assert st["response-type"] == "Error"
    assert "Permission denied" in st["response"]
    root = xml("check firmware-upgrade-health", role="monitor")
    assert status(root)["response-type"] == "Success"
    root = xml("rollback firmware noprompt")
    assert status(root)["response-type"] == "Success"
