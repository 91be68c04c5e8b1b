"""tandem-loader --uboot-env: the U-Boot environment follows the boot record
(docs/bootchain.md), checked with the stock fw_printenv/fw_setenv of
libubootenv-tool against an environment in a file, as a board keeps it in
a partition. U-Boot's side (bootcount, altbootcmd) is played by fw_setenv
exactly as its documented scripts would change the variables."""
import os
import subprocess
import time

import pytest

from conftest import program
from flash_helpers import bundle, install, mc_script, show

ENV_SIZE = 0x4000


@pytest.fixture
def env(tmp_path):
    """An environment file with U-Boot's own variables, and its config."""
    image = tmp_path / "uboot.env"
    image.write_bytes(bytes(ENV_SIZE))
    config = tmp_path / "fw_env.config"
    config.write_text("%s 0x0 0x%x\n" % (image, ENV_SIZE))
    defaults = tmp_path / "defaults.txt"
    defaults.write_text("bootlimit=3\nbootcmd=run tandem_boot\n")
    r = subprocess.run(["fw_setenv", "-c", config, "-f", defaults,
                        "bootdelay", "2"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return config


def printenv(config):
    r = subprocess.run(["fw_printenv", "-c", config], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
    return dict(line.split("=", 1) for line in r.stdout.splitlines())


def setenv(config, *pairs):
    for name, value in pairs:
        r = subprocess.run(["fw_setenv", "-c", config, name, value],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr


def boot(state, config):
    return subprocess.run([program("tandem-loader"), "--daemon", "/bin/false",
                           "--uboot-env", config, state],
                          capture_output=True, text=True, timeout=60)


@pytest.fixture
def pair(tmp_path, tandem):
    """A store with v1 (confirms itself) installed, and v2 (never does)."""
    state = tmp_path / "a"
    assert tandem("flash", "init", state).returncode == 0
    v1 = bundle(tmp_path, tandem, "TS250P001", {
        "mc": ("M1", mc_script(tmp_path / "mc1", "v1")),
        "sc": ("S1", os.urandom(3000))})
    v2 = bundle(tmp_path, tandem, "TS250P002", {
        "mc": ("M2", mc_script(tmp_path / "mc2", "v2", confirm=False)),
        "sc": ("S2", os.urandom(3000))})
    assert install(tandem, state, v1).returncode == 0
    return state, v1, v2


def test_environment_follows_trial_and_confirmation(pair, env, tandem):
    state, v1, v2 = pair
    # The loader boots v1 on trial; v1's `tandem flash confirm` (started by
    # the loader, so it knows the environment) ends U-Boot's counting.
    b = boot(state, env)
    assert b.returncode == 0 and "mc v1 started" in b.stdout, b.stderr
    active = show(tandem, state)["active_bank"]
    e = printenv(env)
    assert e["tandem_bank"] == str(active)
    assert e["upgrade_available"] == "0" and e["bootcount"] == "0"
    # U-Boot's own variables are untouched.
    assert e["bootlimit"] == "3" and e["bootcmd"] == "run tandem_boot"
    assert e["bootdelay"] == "2"

    # A new bundle on trial: U-Boot is told to count its boots, from 0
    # whatever count an earlier boot left behind.
    setenv(env, ("bootcount", "5"))
    assert install(tandem, state, v2).returncode == 0
    b = boot(state, env)
    assert "mc v2 started" in b.stdout
    e = printenv(env)
    assert e["tandem_bank"] == str(1 - active)
    assert e["upgrade_available"] == "1" and e["bootcount"] == "0"
    # U-Boot counts two reboots; the loader's next start keeps the count.
    setenv(env, ("bootcount", "2"))
    boot(state, env)
    assert printenv(env)["bootcount"] == "2"


def test_uboot_fallback_rolls_the_store_back(pair, env, tandem):
    state, v1, v2 = pair
    boot(state, env)
    active = show(tandem, state)["active_bank"]
    assert install(tandem, state, v2).returncode == 0
    boot(state, env)
    assert printenv(env)["tandem_bank"] == str(1 - active)
    # The kernel of v2 never reaches the loader: U-Boot counts past its
    # bootlimit and its altbootcmd boots the other bank, saying so.
    setenv(env, ("bootcount", "4"), ("tandem_bank", str(active)),
           ("upgrade_available", "0"), ("tandem_fallback", "1"))
    b = boot(state, env)
    assert b.returncode == 0 and "mc v1 started" in b.stdout, b.stderr
    assert ("U-Boot gave up bank %d (bundle TS250P002) after 4 boots "
            "(tandem_fallback=1): rolled back to bundle TS250P001"
            % (1 - active)) in b.stderr, b.stderr
    s = show(tandem, state)
    assert s["bundle_version"] == "TS250P001" and not s["trial"]
    assert s["active_bank"] == active
    e = printenv(env)
    assert "tandem_fallback" not in e
    assert e["tandem_bank"] == str(active)
    assert e["upgrade_available"] == "0" and e["bootcount"] == "0"
    assert tandem("flash", "check", state).returncode == 0


def test_fallback_the_store_cannot_follow_leaves_environment(tmp_path, env,
                                                             tandem):
    """Only one bank was ever installed: there is nothing to roll back to,
    so the environment keeps what U-Boot chose and the loader says why."""
    state = tmp_path / "a"
    tandem("flash", "init", state)
    v1 = bundle(tmp_path, tandem, "TS250P001", {
        "mc": ("M1", mc_script(tmp_path / "mc1", "v1", confirm=False))})
    assert install(tandem, state, v1).returncode == 0
    setenv(env, ("tandem_fallback", "1"), ("tandem_bank", "0"))
    before = (tmp_path / "uboot.env").read_bytes()
    b = boot(state, env)
    assert "but the store cannot roll back" in b.stderr, b.stderr
    assert (tmp_path / "uboot.env").read_bytes() == before


def test_in_step_environment_is_not_rewritten(pair, env, tandem):
    state, _, _ = pair
    boot(state, env)
    image = env.parent / "uboot.env"
    before = image.read_bytes()
    b = boot(state, env)
    assert b.returncode == 0 and "U-Boot environment:" not in b.stderr
    assert image.read_bytes() == before


def test_unreadable_environment_is_never_replaced(pair, env, tandem):
    state, _, _ = pair
    image = env.parent / "uboot.env"
    damaged = bytearray(image.read_bytes())
    damaged[0] ^= 0xff                     # the CRC no longer matches
    image.write_bytes(bytes(damaged))
    b = boot(state, env)
    # The boot goes on: the boot record, not the environment, decides.
    assert b.returncode == 0 and "mc v1 started" in b.stdout, b.stderr
    assert "cannot be read" in b.stderr and "left as it is" in b.stderr
    assert image.read_bytes() == bytes(damaged)
    assert not show(tandem, state)["trial"]


def test_missing_config_is_named(pair, tmp_path):
    state, _, _ = pair
    b = boot(state, tmp_path / "nope.config")
    assert "U-Boot environment config %s: No such file" \
        % (tmp_path / "nope.config") in b.stderr, b.stderr
    assert "mc v1 started" in b.stdout


def test_tandemd_confirmation_ends_counting(tmp_path, env, tandem):
    """tandemd, started by the loader, confirms its bank and so clears
    upgrade_available as soon as its listeners are up."""
    state = tmp_path / "a"
    tandem("flash", "init", state)
    nb = bundle(tmp_path, tandem, "TS250P001", {"sc": ("S1", b"abc")},
                executable=None)
    assert install(tandem, state, nb).returncode == 0
    daemon = subprocess.Popen(
        [program("tandem-loader"), "--daemon", program("tandemd"),
         "--uboot-env", env, state, "--", "--state", state, "--address",
         "127.0.0.1", "--ssh-port", "0", "--sftp-port", "0",
         "--telnet-port", "0", "--ftp-port", "0", "--http-port", "0",
         "--https-port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for line in daemon.stdout:
            if line.startswith("ssh listening"):
                break
        deadline = time.monotonic() + 30
        while printenv(env)["upgrade_available"] != "0":
            assert time.monotonic() < deadline, "U-Boot still counting"
            time.sleep(0.05)
        e = printenv(env)
        assert e["bootcount"] == "0"
        s = show(tandem, state)
        assert not s["trial"] and e["tandem_bank"] == str(s["active_bank"])
    finally:
        daemon.terminate()
        daemon.wait(timeout=15)
