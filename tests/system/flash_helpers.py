"""Shared by the flash and loader system tests: keys, bundles whose MC
image is a small shell script, and a state dir per controller."""
import os
import subprocess

from conftest import program


def keys(tmp, tandem):
    k = tmp / "keys"
    if not k.exists():
        r = tandem("bundle", "keygen", "--out", k)
        assert r.returncode == 0, r.stderr
    return k


def mc_script(path, tag, confirm=True):
    """An MC image: prints its tag, confirms itself healthy (or fails)."""
    tool = program("tandem")
    body = f'#!/bin/sh\necho "mc {tag} started"\n'
    if confirm:
        body += f'exec "{tool}" flash confirm "$TANDEM_STATE_DIR"\n'
    else:
        body += "exit 3\n"
    path.write_text(body)
    return path


def bundle(tmp, tandem, version, comps, executable="mc", name=None):
    """comps: {name: (version, bytes or Path)}; returns the bundle path."""
    k = keys(tmp, tandem)
    args = []
    for cname, (cver, data) in comps.items():
        if isinstance(data, (bytes, bytearray)):
            p = tmp / f"{cname}-{cver}.bin"
            p.write_bytes(data)
        else:
            p = data
        args += ["--component", f"{cname}={cver}:{p}"]
    if executable:
        args += ["--executable", executable]
    out = tmp / (name or f"{version}.tar")
    r = tandem("bundle", "create", "--key", k / "bundle.key", "--version",
               version, "--model", "2324sa", *args, "-o", out)
    assert r.returncode == 0, r.stderr
    return out


# Files standing in for the block backend's partitions (docs/flash.md
# "Storage backends"): small, since a power-cut walk copies them each time.
BLOCK_BANK_BYTES = 2 << 20
BLOCK_BOOTREC_BYTES = 64 << 10


def init_store(tandem, state, backend="dir", env=None,
               bank_bytes=BLOCK_BANK_BYTES):
    """tandem flash init STATE; block: on files in STATE/parts, named by
    relative paths (under the state dir), so a copied state dir is a
    store of its own."""
    if backend == "dir":
        return tandem("flash", "init", state, env=env)
    parts = state / "parts"
    parts.mkdir(parents=True, exist_ok=True)
    for name, size in (("bank0", bank_bytes), ("bank1", bank_bytes),
                       ("bootrec", BLOCK_BOOTREC_BYTES)):
        if not (parts / name).exists():  # a second init keeps them
            with open(parts / name, "wb") as f:
                f.truncate(size)
    return tandem("flash", "init", state, "--storage", "block",
                  "--storage-bank0", "parts/bank0",
                  "--storage-bank1", "parts/bank1",
                  "--storage-bootrec", "parts/bootrec", env=env)


def install(tandem, state, b, *extra, env=None):
    return tandem("flash", "install", state, b, "--pubkey",
                  b.parent / "keys" / "bundle.pub", *extra, env=env)


def show(tandem, state):
    import json
    r = tandem("flash", "show", "--json", state)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def boot(state, env=None):
    return subprocess.run([program("tandem-loader"), "--daemon", "/bin/false",
                           str(state)], capture_output=True, text=True,
                          timeout=60, env=env)


def faults(spec):
    env = dict(os.environ)
    env["TANDEM_FAULTS"] = spec
    return env
