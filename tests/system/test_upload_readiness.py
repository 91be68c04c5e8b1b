"""Uploads refused while the controller is not ready (the readiness check of
`check firmware-upgrade-health`), seen by stock clients: OpenSSH sftp and
Python's ftplib get the reasons and what to do, the event log keeps it,
nothing is written; once the condition clears the same upload loads. Here the condition is a bank on
trial, made by an offline install beside the running tandemd."""
import ftplib
import os

import pytest

from flash_helpers import bundle, install, keys, show
from ftp_helpers import MANAGE, RESTART, Controller
from test_sftp_upload import sftp_batch


def test_sftp_put_refused_while_on_trial(tmp_path, tandem):
    state = tmp_path / "state"
    k = keys(tmp_path, tandem)
    v = {n: bundle(tmp_path, tandem, n,
                   {"mc": ("TSM" + n[2:], b"#!/bin/sh\nexit 0\n"),
                    "sc": ("TSS" + n[2:], os.urandom(4000))})
         for n in ("TS250P001", "TS250P002")}
    d = Controller(state, k, "--model", "2324sa")
    try:
        r = d.ssh("check firmware-upgrade-health")
        assert "Overall Health: Pass\n" in r.stdout, r.stdout
        # Beside the daemon: the new bank is active and not yet confirmed.
        assert install(tandem, state, v["TS250P001"]).returncode == 0
        assert show(tandem, state)["trial"]
        r = d.ssh("check firmware-upgrade-health")
        assert "Overall Health: Fail\n" in r.stdout, r.stdout
        assert "Reason ID: local-trial\n" in r.stdout, r.stdout

        r = sftp_batch(d.ports["sftp"], *MANAGE,
                       ["put %s flash" % v["TS250P002"]], tmp_path)
        assert r.returncode != 0
        assert "Firmware update refused (put it to flash:force to load " \
            "anyway): Controller A runs bundle TS250P001 on trial" \
            in r.stderr, r.stderr
        assert show(tandem, state)["bundle_version"] == "TS250P001"
        # FTP: 450 (try later) naming the reason (two of three stock
        # clients exit 0 whatever STOR answers: the reply text counts).
        f = ftplib.FTP()
        f.connect("127.0.0.1", d.ftp, timeout=20)
        f.login(*MANAGE)
        with open(v["TS250P002"], "rb") as fh, \
                pytest.raises(ftplib.error_temp,
                              match="^450 Firmware update refused .*"
                              "Controller A runs bundle TS250P001 on trial"):
            f.storbinary("STOR flash", fh)
        f.quit()
        assert show(tandem, state)["bundle_version"] == "TS250P001"
        ev = d.ssh("show events last 5").stdout
        for source in ("SFTP", "FTP"):
            assert "WARNING A firmware update from %s by manage was " \
                "refused: Controller A runs bundle TS250P001 on trial" \
                % source in ev, ev

        # Confirmed, the controller is ready: the same upload loads.
        assert tandem("flash", "confirm", state).returncode == 0
        r = d.ssh("check firmware-upgrade-health")
        assert "Overall Health: Pass\n" in r.stdout, r.stdout
        r = sftp_batch(d.ports["sftp"], *MANAGE,
                       ["put %s flash" % v["TS250P002"]], tmp_path)
        assert r.returncode == 0, r.stderr
        assert d.wait_exit() == RESTART
        assert show(tandem, state)["bundle_version"] == "TS250P002"
    finally:
        d.stop()
