"""Crash safety of the config (issue 4): kill -9 during config writes, at
random moments, at least 200 times; after each kill the config opens
cleanly and holds the old or the new state, never a broken or lost one.

The writer is tests/unit/config-stress (see its header for the iteration
it repeats). Invariants checked after every kill:
  - config_open succeeds with no recovery (C1: the main files are whole);
  - system-name is the last generation the writer reported, or the next;
  - system-contact is the name's generation or the one before (it is
    written second), and the user set matches where the iteration stopped;
  - every user's password still verifies (users.json is whole).
"""
import json
import os
import random
import signal
import subprocess
import time

from conftest import BUILD

KILLS = int(os.environ.get("TANDEM_CONFIG_KILLS", "200"))


def stress():
    return str(BUILD / "tests" / "unit" / "config-stress")


def check(cfgdir):
    out = subprocess.run([stress(), "check", cfgdir], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def read_acked(proc):
    """Reads the writer's reports until it is killed; returns the highest
    generation it said was on disk."""
    acked = None
    for line in proc.stdout:
        word, _, n = line.strip().partition(" ")
        if word in ("name", "start"):
            acked = max(acked or 0, int(n))
    return acked


def test_kill9_during_config_writes_never_loses_config(tmp_path):
    cfgdir = str(tmp_path / "config")
    rng = random.Random(int(os.environ.get("TANDEM_SEED", "4")))
    last = 0
    progressed = 0
    for i in range(KILLS):
        proc = subprocess.Popen([stress(), "run", cfgdir],
                                stdout=subprocess.PIPE, text=True)
        # Random moments: from during start-up to well into the loop.
        time.sleep(rng.uniform(0.0, 0.15))
        proc.send_signal(signal.SIGKILL)
        acked = read_acked(proc)
        proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL, \
            f"kill {i}: writer exited by itself ({proc.returncode})"
        if acked is not None:
            last = max(last, acked)
        state = check(cfgdir)
        assert state["note"] == "", f"kill {i}: recovery needed: {state}"
        name, contact = state["name"], state["contact"]
        users = {u["name"] for u in state["users"]}
        assert all(u["login"] for u in state["users"]), \
            f"kill {i}: a password no longer verifies: {state}"
        assert name in (last, last + 1), \
            f"kill {i}: name gen {name}, writer reported {last}: {state}"
        if name > 0:
            assert "keeper" in users, f"kill {i}: {state}"
            gens = sorted(int(u[1:]) for u in users if u.startswith("u"))
            assert contact in (name, name - 1), f"kill {i}: {state}"
            assert set(gens) <= {name - 1, name}, f"kill {i}: {state}"
            limits = {name % 20 + 1, (name - 1) % 20 + 1}
            if name == 1:
                limits.add(3)   # the default, before iteration 1 wrote it
            assert state["pfu-attempt-limit"] in limits, f"kill {i}: {state}"
            if contact < name:
                # Stopped inside iteration `name`, before its contact: the
                # previous iteration is whole, this one's user not made.
                assert gens == ([name - 1] if name > 1 else []), \
                    f"kill {i}: {state}"
            else:
                # pfu and ftp are written before the contact.
                assert state["pfu-attempt-limit"] == name % 20 + 1, \
                    f"kill {i}: {state}"
                assert state["ftp"] == bool(name % 2), f"kill {i}: {state}"
                assert gens in ([name - 1], [name - 1, name], [name]) \
                    if name > 1 else gens in ([], [1]), f"kill {i}: {state}"
        progressed = max(progressed, name)
        last = name
    print(f"{KILLS} kills, config reached generation {progressed}")
    assert progressed > 10, "the writer hardly ran: kills too early to test"
