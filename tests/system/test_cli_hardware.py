"""The family's hardware and storage show commands (cmd_hardware.c) in the
XML API and JSON forms, parsed with real parsers: what Tandem has (the
enclosure, the controller modules, the clock) with its values, and the
empty lists in the form clients read (docs/compat.md, "Hardware and
storage"). Runs tests/unit/cli-run over the fixed test backend."""
import json
import xml.etree.ElementTree as ET

import pytest

from test_cli_xml import check_document, cli, props, status

# command word -> the basetype the family's objects of that list carry
EMPTY = {
    "controller-statistics": "controller-statistics",
    "disk-group-statistics": "disk-group-statistics",
    "disk-groups": "disk-groups",
    "disk-statistics": "disk-statistics",
    "disks": "drives",
    "fans": "fan",
    "pools": "pools",
    "ports": "port",
    "power-supplies": "power-supplies",
    "sas-link-health": "expander-ports",
    "sensor-status": "sensors",
    "vdisks": "virtual-disks",
    "volume-statistics": "volume-statistics",
    "volumes": "volumes",
}


def statuses(root):
    return [{p.get("name"): p.text or "" for p in o.findall("PROPERTY")}
            for o in root.findall("OBJECT") if o.get("basetype") == "status"]


@pytest.mark.parametrize("word", sorted(EMPTY))
@pytest.mark.parametrize("mode", ["api", "api-embed"])
def test_empty_list_xml(word, mode):
    command = "show " + word
    root = ET.fromstring(cli(command, mode=mode, role="monitor").encode())
    if mode == "api":
        check_document(root, command)
    objs = root.findall("OBJECT")
    # Two top-level OBJECTs, both status: an Info line, then Success.
    assert [o.get("basetype") for o in objs] == ["status", "status"]
    info, done = statuses(root)
    assert info["response-type"] == "Info"
    assert info["response-type-numeric"] == "2"
    assert info["response"].startswith("No ")
    assert info["response"].endswith(" were found.")
    assert info["return-code"] == "0"
    assert done["response-type"] == "Success" and done["return-code"] == "0"


@pytest.mark.parametrize("word", sorted(EMPTY))
def test_empty_list_json(word):
    doc = json.loads(cli("show " + word, mode="json"))
    assert list(doc) == [EMPTY[word], "status"]
    assert doc[EMPTY[word]] == []
    assert [s["response-type"] for s in doc["status"]] == ["Info", "Success"]


def test_empty_list_console():
    text = cli("show disks")
    assert text.splitlines()[0].startswith("Info: No disks were found. (")
    assert text.splitlines()[1].startswith(
        "Success: Command completed successfully. (")


def test_empty_list_takes_no_argument():
    root = ET.fromstring(cli("show disks all", mode="api").encode())
    assert status(root)["response-type"] == "Error"
    assert "'all' was not recognized" in status(root)["response"]


def test_enclosures():
    root = ET.fromstring(cli("show enclosures", mode="api").encode())
    check_document(root, "show enclosures")
    o, = [o for o in root.findall("OBJECT")
          if o.get("basetype") == "enclosures"]
    assert o.get("format") == "rows"
    p = props(o)
    assert p["durable-id"].text == "enclosure_1"
    assert p["enclosure-id"].text == "1"
    assert p["status"].text == "Up" and p["status-numeric"].text == "1"
    assert p["health"].text == "OK" and p["health-numeric"].text == "0"
    # The system's own facts, not invented ones.
    system = props(ET.fromstring(cli("show system", mode="api").encode())
                   .findall("OBJECT")[0])
    assert p["midplane-serial-number"].text == \
        system["midplane-serial-number"].text
    assert p["vendor"].text == system["vendor-name"].text
    assert p["model"].text == system["product-id"].text
    assert p["health-recommendation"].text is None


def test_frus_are_the_controller_modules():
    root = ET.fromstring(cli("show frus", mode="api").encode())
    frus = [props(o) for o in root.findall("OBJECT")
            if o.get("basetype") == "enclosure-fru"]
    controllers = [props(o) for o in ET.fromstring(
        cli("show controllers", mode="api").encode()).findall("OBJECT")
        if o.get("basetype") == "controllers"]
    assert [f["fru-location"].text for f in frus] == \
        ["UPPER IOM SLOT", "LOWER IOM SLOT"]
    for f, c in zip(frus, controllers):
        assert f["name"].text == "RAID_IOM"
        assert f["fru-status"].text == "OK"
        assert f["serial-number"].text == c["serial-number"].text
        assert f["part-number"].text == "N/A"


def test_frus_partner_down():
    root = ET.fromstring(cli("show frus", mode="api",
                             partner_down=True).encode())
    frus = [props(o) for o in root.findall("OBJECT")
            if o.get("basetype") == "enclosure-fru"]
    # A controller that is down is a faulted module, not a missing one.
    assert [f["fru-status"].text for f in frus] == ["OK", "Fault"]


def test_controllers_carry_what_clients_read():
    root = ET.fromstring(cli("show controllers", mode="api").encode())
    for o in root.findall("OBJECT"):
        if o.get("basetype") != "controllers":
            continue
        p = props(o)
        assert p["health-recommendation"].get("size") == "900"
        for n in ("disks", "number-of-storage-pools", "virtual-disks"):
            assert p[n].text == "0" and p[n].get("type") == "uint32"


def test_controller_date():
    root = ET.fromstring(cli("show controller-date", mode="api").encode())
    check_document(root, "show controller-date")
    o = root.findall("OBJECT")[0]
    assert o.get("basetype") == "time-settings-table"
    p = props(o)
    # cli-run's backend clock.
    assert p["date-time"].text == "2021-06-02 09:51:26"
    assert p["date-time-numeric"].text == "1622627486"
    assert p["time-zone-offset"].text == "+00:00"
