"""The CLI goldens (tests/unit/golden/cli, rendered through tandemd's own
backend) read back: each XML golden parses, and the values it carries are
those of the JSON golden of the same command and of the console golden's
`Display Name: value` lines, so a renderer that drops or changes a value in
one mode cannot be blessed into a golden unnoticed."""
import json
import pathlib
import xml.etree.ElementTree as ET

import pytest

GOLDEN = pathlib.Path(__file__).resolve().parents[1] / "unit" / "golden" / "cli"
NAMES = sorted({p.name.split(".")[0] for p in GOLDEN.glob("*.api.txt")})


def xml_objects(text):
    """(basetype, {name: (text, type)}) per OBJECT but the status."""
    root = ET.fromstring(text.encode())
    assert root.tag == "RESPONSE"
    out = []
    for o in root.iter("OBJECT"):
        if o.get("basetype") == "status":
            continue
        props = {p.get("name"): (p.text or "", p.get("type"))
                 for p in o.findall("PROPERTY")}
        # JSON carries the OBJECT's name attribute as a value.
        props["object-name"] = (o.get("name"), "string")
        out.append((o.get("basetype"), props))
    return out


def json_objects(text):
    """(basetype, {name: value}) per object, a child (an array of objects
    under its basetype inside its parent) after its parent, as XML's
    document order has them."""
    out = []

    def walk(base, obj):
        children = {k: v for k, v in obj.items() if isinstance(v, list)}
        out.append((base, {k: v for k, v in obj.items()
                           if k != "meta" and k not in children}))
        for child_base, objs in children.items():
            for child in objs:
                walk(child_base, child)

    for base, objs in json.loads(text).items():
        if base != "status":
            for obj in objs:
                walk(base, obj)
    return out


def test_there_are_goldens_to_check():
    assert len(NAMES) >= 25, NAMES
    assert "show_protocols" in NAMES and "show_events" in NAMES


@pytest.mark.parametrize("name", NAMES)
def test_xml_golden_values_match_json_and_console(name):
    xml = xml_objects((GOLDEN / (name + ".api.txt")).read_text())
    js = json_objects((GOLDEN / (name + ".json.txt")).read_text())
    console = (GOLDEN / (name + ".console.txt")).read_text()
    assert [b for b, _ in xml] == [b for b, _ in js], name
    for (base, props), (_, values) in zip(xml, js):
        assert set(props) == set(values), (name, base)
        for key, (text, kind) in props.items():
            want = values[key]
            # show cli-parameters: each golden ran in its own mode (a
            # user's stored output-format in show users is one value).
            if key.startswith("output-format") and base == "cli-parameters":
                assert text != str(want), (name, key)
                continue
            if kind in ("uint8", "uint32", "sint32", "uint64"):
                assert int(text) == want, (name, key)
            else:
                assert text == want, (name, key)
    # Console `pairs` views show each string property under its label.
    root = ET.fromstring((GOLDEN / (name + ".api.txt")).read_text().encode())
    for o in root.iter("OBJECT"):
        if o.get("format") != "pairs" or o.get("basetype") == "status":
            continue
        for p in o.findall("PROPERTY"):
            if p.get("type") == "string" and p.get("draw") == "true" \
                    and p.text and "\n" not in p.text and \
                    p.get("name") != "output-format":
                line = "%s: %s\n" % (p.get("display-name"), p.text)
                assert line in console, (name, line)


def test_show_protocols_golden_is_what_tandemd_serves():
    """tandemd serves HTTPS by default and HTTP only when asked."""
    (_, props), = xml_objects((GOLDEN / "show_protocols.api.txt").read_text())
    assert props["wbi-http"][0] == "Disabled"
    assert props["wbi-https"][0] == "Enabled"
    assert props["cli-ssh"][0] == "Enabled"
    events = (GOLDEN / "show_events.console.txt").read_text()
    assert "PFU" not in events and "Partner Firmware" not in events
