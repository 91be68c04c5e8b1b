"""`tandem bundle` as a user runs it: keygen, create, inspect, verify, and
the stock tools (tar, grep) that read bundles."""
import json
import os
import stat
import subprocess

import pytest


@pytest.fixture
def made(tmp_path, tandem):
    keys = tmp_path / "keys"
    r = tandem("bundle", "keygen", "--out", keys)
    assert r.returncode == 0, r.stderr
    (tmp_path / "mc.bin").write_bytes(os.urandom(70000))
    (tmp_path / "sc.bin").write_bytes(os.urandom(1234))
    out = tmp_path / "b.tar"
    r = tandem("bundle", "create", "--key", keys / "bundle.key",
               "--version", "TS250P003", "--model", "2324sa",
               "--model", "2312fc",
               "--component", f"mc=TSM250P003:{tmp_path / 'mc.bin'}",
               "--component", f"sc=TSS250P003:{tmp_path / 'sc.bin'}",
               "--executable", "mc", "-o", out)
    assert r.returncode == 0, r.stderr
    return tmp_path, keys, out


def test_keygen_modes_and_no_overwrite(made, tandem):
    _, keys, _ = made
    assert stat.S_IMODE(os.stat(keys / "bundle.key").st_mode) == 0o600
    r = tandem("bundle", "keygen", "--out", keys)
    assert r.returncode != 0
    assert "not overwriting" in r.stderr


def test_tar_lists_members_in_order(made):
    _, _, out = made
    names = subprocess.run(["tar", "tf", out], capture_output=True,
                           text=True, check=True).stdout.split()
    assert names == ["manifest.json", "manifest.sig", "bundle.xml", "mc",
                     "sc"]


def test_grep_finds_bundle_version(made):
    _, _, out = made
    r = subprocess.run(["grep", "-a", "-o", '<BUNDLE version="[^"]*"', out],
                       capture_output=True, text=True)
    assert r.stdout.strip() == '<BUNDLE version="TS250P003"'


def test_inspect_table_and_json(made, tandem):
    tmp, _, out = made
    r = tandem("bundle", "inspect", out)
    assert r.returncode == 0, r.stderr
    assert "Bundle Version: TS250P003" in r.stdout
    assert "Models: 2324sa 2312fc" in r.stdout
    row = [l for l in r.stdout.splitlines() if l.startswith("mc ")][0]
    assert "70000" in row and "executable" in row
    j = json.loads(tandem("bundle", "inspect", "--json", out).stdout)
    assert j["version"] == "TS250P003"
    assert [c["name"] for c in j["components"]] == ["bundle.xml", "mc", "sc"]
    sha = subprocess.run(["sha256sum", tmp / "sc.bin"], capture_output=True,
                         text=True).stdout.split()[0]
    assert j["components"][2]["sha256"] == sha


def test_verify_good_and_each_failure_has_its_own_exit_code(made, tandem,
                                                            tmp_path):
    _, keys, out = made
    pub = keys / "bundle.pub"
    r = tandem("bundle", "verify", "--pubkey", pub, "--model", "2324sa", out)
    assert r.returncode == 0, r.stderr
    assert "Verified: signature by key" in r.stdout
    # Wrong model.
    r = tandem("bundle", "verify", "--pubkey", pub, "--model", "p2000", out)
    assert (r.returncode, "model-not-supported") == (27, r.stderr.split(":")[1].strip())
    # Another key.
    other = tmp_path / "other"
    tandem("bundle", "keygen", "--out", other, check=True)
    r = tandem("bundle", "verify", "--pubkey", other / "bundle.pub", out)
    assert r.returncode == 16 and "unknown-key" in r.stderr
    # Truncated.
    data = out.read_bytes()
    cut = tmp_path / "cut.tar"
    cut.write_bytes(data[:len(data) // 2])
    r = tandem("bundle", "verify", "--pubkey", pub, cut)
    assert r.returncode == 12 and "truncated" in r.stderr
    # Tampered payload: the last byte of sc's data.
    bad = bytearray(data)
    bad[len(data) - 1024 - (512 - 1234 % 512) - 1] ^= 1
    tampered = tmp_path / "bad.tar"
    tampered.write_bytes(bytes(bad))
    r = tandem("bundle", "verify", "--pubkey", pub, tampered)
    assert r.returncode == 13, r.stderr
    assert "component 'sc': sha256 mismatch" in r.stderr
    # inspect (no key) still catches the tampering.
    r = tandem("bundle", "inspect", tampered)
    assert r.returncode == 13


def test_bad_arguments(tandem, tmp_path):
    r = tandem("bundle", "create", "--key", "x", "--version", "1.0",
               "--model", "m", "--component", "mc=V:/dev/null", "-o",
               tmp_path / "o.tar")
    assert r.returncode != 0 and "TS250P003" in r.stderr
    assert not (tmp_path / "o.tar").exists()
    r = tandem("bundle", "create", "--component", "broken")
    assert r.returncode == 2
    r = tandem("bundle", "frobnicate")
    assert r.returncode == 2


def test_partner_compat_is_signed_and_shown(made, tandem, tmp_path):
    """--partner-compat lands in the signed manifest: inspect shows it,
    verify accepts it, and a copy whose list was widened after signing is
    refused; a bundle made without it shows any partner."""
    import bundle_edit
    src, keys, plain = made
    out = tmp_path / "compat.tar"
    r = tandem("bundle", "create", "--key", keys / "bundle.key",
               "--version", "TS250P003", "--model", "2324sa",
               "--component", f"mc=TSM250P003:{src / 'mc.bin'}",
               "--partner-compat", "TS250P002",
               "--partner-compat", "TS251*", "-o", out)
    assert r.returncode == 0, r.stderr
    r = tandem("bundle", "inspect", out)
    assert "Partner Compatibility: TS250P002 TS251*" in r.stdout, r.stdout
    j = json.loads(tandem("bundle", "inspect", "--json", out).stdout)
    assert j["partner_compat"] == ["TS250P002", "TS251*"]
    r = tandem("bundle", "verify", "--pubkey", keys / "bundle.pub", out)
    assert r.returncode == 0, r.stderr
    assert "Partner Compatibility: TS250P002 TS251*" in r.stdout

    widened = bundle_edit.rewrite(
        out, tmp_path / "widened.tar", "manifest.json",
        bundle_edit.manifest_edit(
            lambda m: m.update(partner_compat=["TS*"])))
    r = tandem("bundle", "verify", "--pubkey", keys / "bundle.pub", widened)
    assert r.returncode == 15, r.stderr
    assert "signature" in r.stderr

    r = tandem("bundle", "inspect", plain)
    assert "Partner Compatibility: any partner version" in r.stdout
    assert "partner_compat" not in tandem("bundle", "inspect", "--json",
                                          plain).stdout


@pytest.mark.parametrize("pattern", ["*TS250", "TS2*50", "TS 250", "",
                                     "T" * 32])
def test_partner_compat_refuses_bad_patterns(made, tandem, tmp_path,
                                             pattern):
    src, keys, _ = made
    out = tmp_path / "o.tar"
    r = tandem("bundle", "create", "--key", keys / "bundle.key",
               "--version", "TS250P003", "--model", "2324sa",
               "--component", f"mc=TSM250P003:{src / 'mc.bin'}",
               "--partner-compat", pattern, "-o", out)
    assert r.returncode != 0
    assert "is not a version or a prefix ending in '*'" in r.stderr
    assert not out.exists()
