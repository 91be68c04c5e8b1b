"""Crash safety of the config (issue 4, issue 14): power cuts during config
writes, at every I/O step of two iterations and then at each offset again
on top of the state the cuts left, 200 times. A cut loses what a power
failure would (src/common/powerloss.c: data not fsynced, names whose
directory was not fsynced). After each cut the config opens cleanly and
holds the old or the new state, never a broken or lost one, and what the
writer reported as written is still there.

The writer is tests/unit/config-stress (see its header for the iteration
it repeats). Invariants checked after every cut:
  - config_open succeeds with no recovery (C1: the main files are whole);
  - system-name is the last generation the writer reported, or the next
    (a reported generation is durable: C2);
  - system-contact is the name's generation or the one before (it is
    written second), and the user set matches where the iteration stopped;
  - every user's password still verifies (users.json is whole).
"""
import json
import os
import subprocess

from conftest import BUILD

CUTS = int(os.environ.get("TANDEM_CONFIG_CUTS", "200"))
POWERCUT_STATUS = 86
# An iteration of config-stress takes about 40 I/O steps: cut points
# 1..CYCLE cover every step of one iteration from any starting point.
CYCLE = 90


def stress():
    return str(BUILD / "tests" / "unit" / "config-stress")


def check(cfgdir):
    out = subprocess.run([stress(), "check", cfgdir], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def run_cut(cfgdir, step):
    """Runs the writer until the power cut at `step`; returns the highest
    generation it said was on disk (None if none)."""
    env = dict(os.environ, TANDEM_FAULTS=f"powercut={step}")
    proc = subprocess.run([stress(), "run", cfgdir], capture_output=True,
                          text=True, timeout=60, env=env)
    assert proc.returncode == POWERCUT_STATUS, \
        f"cut at {step}: writer exited by itself ({proc.returncode}) " \
        f"{proc.stderr}"
    acked = None
    for line in proc.stdout.splitlines():
        word, _, n = line.strip().partition(" ")
        if word in ("name", "start"):
            acked = max(acked or 0, int(n))
    return acked


def test_power_cut_during_config_writes_never_loses_config(tmp_path):
    cfgdir = str(tmp_path / "config")
    last = 0
    progressed = 0
    for i in range(CUTS):
        step = i % CYCLE + 1
        acked = run_cut(cfgdir, step)
        if acked is not None:
            last = max(last, acked)
        state = check(cfgdir)
        where = f"cut {i} at step {step}"
        assert state["note"] == "", f"{where}: recovery needed: {state}"
        name, contact = state["name"], state["contact"]
        users = {u["name"] for u in state["users"]}
        assert all(u["login"] for u in state["users"]), \
            f"{where}: a password no longer verifies: {state}"
        assert name in (last, last + 1), \
            f"{where}: name gen {name}, writer reported {last}: {state}"
        if name > 0:
            assert "keeper" in users, f"{where}: {state}"
            gens = sorted(int(u[1:]) for u in users if u.startswith("u"))
            assert contact in (name, name - 1), f"{where}: {state}"
            assert set(gens) <= {name - 1, name}, f"{where}: {state}"
            limits = {name % 20 + 1, (name - 1) % 20 + 1}
            if name == 1:
                limits.add(3)   # the default, before iteration 1 wrote it
            assert state["pfu-attempt-limit"] in limits, f"{where}: {state}"
            if contact < name:
                # Stopped inside iteration `name`, before its contact: the
                # previous iteration is whole, this one's user not made.
                assert gens == ([name - 1] if name > 1 else []), \
                    f"{where}: {state}"
            else:
                # pfu and ftp are written before the contact.
                assert state["pfu-attempt-limit"] == name % 20 + 1, \
                    f"{where}: {state}"
                assert state["ftp"] == bool(name % 2), f"{where}: {state}"
                assert gens in ([name - 1], [name - 1, name], [name]) \
                    if name > 1 else gens in ([], [1]), f"{where}: {state}"
        progressed = max(progressed, name)
        last = name
    print(f"{CUTS} power cuts, config reached generation {progressed}")
    # The cuts are the same on every run: about one generation for every
    # two cuts. A writer that stopped early would not get here.
    assert progressed > CUTS // 2, "the writer hardly ran"
