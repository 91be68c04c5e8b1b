"""One command per SSH connection, as provisioning scripts use it, with stock
OpenSSH (sshpass): `ssh user@host 'show versions'` without a terminal,
several commands separated by ';', and commands piped to `ssh -T`. Scripts
strip the first and the last line of the output (the prompt and command,
the closing prompt) and parse the rest as the XML API document or JSON
(MSA-REFERENCE.md, "Sessions"); here with xml.etree and json. A user's
stored output format (`set user output-format`, docs/compat.md) is what
such commands answer in, for that user only, and it survives a restart."""
import json
import re
import subprocess
import xml.etree.ElementTree as ET

import pytest

from test_transport_shell import (LOADER_LINE, MANAGE, MONITOR, SSH_OPTS,
                                  Tandemd, ssh_run, telnet_login)

SCRIPT = ("script", "Script-pass1")      # passes src/config's policy


@pytest.fixture
def d(tmp_path):
    t = Tandemd(tmp_path / "state", "--enable", "telnet")
    t.wait_for_line(r"^telnet listening")
    r = ssh_run(t.ports["ssh"], *MANAGE, "create user password %s roles "
                "monitor %s" % (SCRIPT[1], SCRIPT[0]))
    assert r.returncode == 0, r.stdout
    yield t
    if t.proc.poll() is None:
        assert t.stop() == 0


def body(out):
    """What the family's scripts keep: all but the first and last line
    (`tail -n +2 | head -n -1`)."""
    lines = out.split("\n")
    assert lines[0].startswith("# "), out[:200]
    assert lines[-1] == "# ", out[-200:]
    return "\n".join(lines[1:-1])


def xml_doc(text, request):
    root = ET.fromstring(text.encode())
    assert root.tag == "RESPONSE" and root.get("REQUEST") == request
    objects = root.findall("OBJECT")
    assert objects[-1].get("basetype") == "status"
    return root


def props(obj):
    return {p.get("name"): p.text or "" for p in obj.findall("PROPERTY")}


def set_format(d, user, fmt, who=MANAGE):
    return ssh_run(d.ports["ssh"], *who,
                   "set user output-format %s %s" % (fmt, user))


def test_console_oneshot_is_framed_like_the_family(d):
    r = ssh_run(d.ports["ssh"], *MANAGE, "show versions")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("# show versions\n"), r.stdout[:100]
    assert LOADER_LINE in body(r.stdout)
    assert "Controller A Versions" in body(r.stdout)


def test_stored_api_through_the_scripts_own_pipeline(d):
    assert set_format(d, SCRIPT[0], "api").returncode == 0
    # The pipeline the family's provisioning scripts run, unchanged.
    cmd = ("sshpass -p '%s' ssh %s -p %d %s@127.0.0.1 'show versions' | "
           "tail -n +2 | head -n -1" % (SCRIPT[1], " ".join(SSH_OPTS),
                                        d.ports["ssh"], SCRIPT[0]))
    r = subprocess.run(["bash", "-o", "pipefail", "-c", cmd],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    root = xml_doc(r.stdout, "show versions")
    assert root.findall("COMP")                  # api, not api-embed
    a = root.find("OBJECT[@name='controller-a-versions']")
    assert a.get("basetype") == "versions"
    assert props(a)["mc-loader"] == "0.1.0"
    # Other users are untouched: manage still answers on the console.
    r = ssh_run(d.ports["ssh"], *MANAGE, "show versions")
    assert "<RESPONSE" not in r.stdout and LOADER_LINE in r.stdout


def test_stored_api_embed(d):
    assert set_format(d, SCRIPT[0], "api-embed").returncode == 0
    r = ssh_run(d.ports["ssh"], *SCRIPT, "show system")
    assert r.returncode == 0, r.stderr
    root = xml_doc(body(r.stdout), "show system")
    assert not root.findall(".//COMP")
    system = root.find("OBJECT[@basetype='system']")
    assert props(system)["system-name"] == "Uninitialized Name"


def test_stored_json_and_an_error_in_it(d):
    assert set_format(d, SCRIPT[0], "json").returncode == 0
    r = ssh_run(d.ports["ssh"], *SCRIPT, "show versions")
    assert r.returncode == 0, r.stderr
    doc = json.loads(body(r.stdout))
    assert doc["versions"][0]["object-name"] == "controller-a-versions"
    assert doc["status"][-1]["response-type"] in ("Success", "Warning")
    r = ssh_run(d.ports["ssh"], *SCRIPT, "show nothing")
    assert r.returncode == 1
    doc = json.loads(body(r.stdout))
    assert doc["status"][0]["response-type"] == "Error"
    assert "'nothing' was not recognized" in doc["status"][0]["response"]
    # Only where the session starts: set cli-parameters still changes it.
    r = ssh_run(d.ports["ssh"], *SCRIPT,
                "set cli-parameters console; show versions")
    assert r.returncode == 0, r.stdout
    assert LOADER_LINE in r.stdout and '"versions"' not in r.stdout


def test_show_users_lists_each_users_format(d):
    assert set_format(d, SCRIPT[0], "api-embed").returncode == 0
    r = ssh_run(d.ports["ssh"], *MANAGE,
                "set cli-parameters api; show users")
    assert r.returncode == 0, r.stdout
    # The ';' form: each command after the prompt as sent, its document.
    parts = re.split(r"^# .*\n?", r.stdout, flags=re.M)
    echoes = re.findall(r"^# .*$", r.stdout, flags=re.M)
    assert echoes == ["# set cli-parameters api", "#  show users", "# "]
    root = xml_doc(parts[2], "show users")
    users = {props(o)["username"]: props(o)
             for o in root.findall("OBJECT[@basetype='users']")}
    assert users["script"]["output-format"] == "api-embed"
    assert users["script"]["output-format-numeric"] == "2"
    assert users["manage"]["output-format"] == "console"


def test_semicolon_form_as_json_exporters_read_it(d):
    """`set cli-parameters json; show X` on a console user: the set's own
    status document, then X's; a quoted ';' does not split."""
    r = ssh_run(d.ports["ssh"], *MANAGE,
                'set cli-parameters json; show system;'
                'create user password "Semi;colon-1" roles monitor semi')
    assert r.returncode == 0, r.stdout
    blocks = re.split(r"^# .*\n?", r.stdout, flags=re.M)
    assert blocks[0] == "" and blocks[-1] == ""
    first, second, third = (json.loads(b) for b in blocks[1:4])
    assert first["status"][0]["response"] == "Command completed successfully."
    assert second["system"][0]["product-id"] == "2324sa"
    assert third["status"][0]["response-type"] == "Success"
    # The password kept its ';'.
    r = ssh_run(d.ports["ssh"], "semi", "Semi;colon-1", "show cli-parameters")
    assert r.returncode == 0, r.stderr
    assert "User: semi" in r.stdout


def test_piped_ssh_T_in_the_stored_format(d):
    assert set_format(d, SCRIPT[0], "api").returncode == 0
    r = ssh_run(d.ports["ssh"], *SCRIPT, stdin="show controllers\n")
    assert r.returncode == 0, r.stderr
    root = xml_doc(body(r.stdout), "show controllers")
    c = root.find("OBJECT[@basetype='controllers']")
    assert props(c)["controller-id"] == "A"


def test_monitor_cannot_change_another_users_format(d):
    r = set_format(d, "manage", "json", who=MONITOR)
    assert r.returncode == 1
    assert "Permission denied: the user 'monitor' has the monitor role" \
        in r.stdout
    r = set_format(d, SCRIPT[0], "json", who=MONITOR)
    assert r.returncode == 1 and "Permission denied" in r.stdout
    r = ssh_run(d.ports["ssh"], *MANAGE, "show versions")
    assert LOADER_LINE in r.stdout               # manage: still console
    r = ssh_run(d.ports["ssh"], *SCRIPT, "show versions")
    assert LOADER_LINE in r.stdout               # script: still console
    # Its own, yes.
    r = set_format(d, "monitor", "json", who=MONITOR)
    assert r.returncode == 0, r.stdout
    r = ssh_run(d.ports["ssh"], *MONITOR, "show system")
    assert json.loads(body(r.stdout))["system"][0]["health"] == "OK"


def test_bad_values_change_nothing(d):
    r = set_format(d, SCRIPT[0], "xml")
    assert r.returncode == 1
    assert "expected an output format (console, api, api-embed or json)" \
        in r.stdout
    r = set_format(d, "nobody", "api")
    assert r.returncode == 1 and "there is no user 'nobody'" in r.stdout
    r = ssh_run(d.ports["ssh"], *SCRIPT, "show versions")
    assert LOADER_LINE in r.stdout


def test_format_is_where_an_interactive_session_starts(d):
    assert set_format(d, SCRIPT[0], "api").returncode == 0
    t = telnet_login(d.ports["telnet"], *SCRIPT)
    t.expect(r"# $")
    t.send("show cli-parameters\r")
    t.expect(r'<PROPERTY name="output-format" [^>]*>api</PROPERTY>')
    t.send("exit\r")
    t.wait()


def test_format_survives_a_restart(d, tmp_path):
    assert set_format(d, SCRIPT[0], "json").returncode == 0
    assert d.stop() == 0
    users = json.loads((tmp_path / "state" / "config" /
                        "users.json").read_text())["users"]
    assert {u["name"]: u["output-format"] for u in users}["script"] == "json"
    again = Tandemd(tmp_path / "state")
    try:
        r = ssh_run(again.ports["ssh"], *SCRIPT, "show versions")
        assert r.returncode == 0, r.stderr
        doc = json.loads(body(r.stdout))
        assert doc["versions"][0]["object-name"] == "controller-a-versions"
    finally:
        assert again.stop() == 0
