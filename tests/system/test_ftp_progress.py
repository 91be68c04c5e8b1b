"""While a code load runs (flash slowed by a fault point), the CLI shows its
progress and a CLI session stays responsive; afterwards the outcome."""
import ftplib
import re
import threading
import time

from ftp_helpers import MANAGE, Bundles, Controller


def test_progress_visible_during_a_slow_load(tmp_path):
    bundles = Bundles(tmp_path)
    ctl = Controller(tmp_path / "a", bundles.keys, faults="slow-flash=500")
    try:
        b = bundles.make("TS250P007", size=6_000_000)
        result = {}

        def upload():
            f = ftplib.FTP()
            f.connect("127.0.0.1", ctl.ftp, timeout=120)
            f.login(*MANAGE)
            with open(b, "rb") as fh:
                result["reply"] = f.storbinary("STOR flash", fh)
            f.close()

        t = threading.Thread(target=upload)
        t.start()
        seen = []
        while t.is_alive():
            seen.append(ctl.ssh("show firmware-update-status").stdout)
            time.sleep(0.2)
        t.join()
        running = [o for o in seen if "Activity: codeload" in o]
        assert running, seen
        pct = [int(m.group(1)) for o in running
               for m in [re.search(r"Percent Complete: (\d+)", o)] if m]
        assert pct and max(pct) > 0 and min(pct) < 100
        assert any(re.search(r"Bytes Received: [1-9]", o) for o in running)
        assert any("Stage: receiving" in o or "Stage: verifying" in o
                   for o in running)
        # The CLI answered while the flash was busy, again and again: the
        # progress it reported moved on between answers.
        assert len(running) >= 2, seen
        assert len(set(pct)) >= 2 and pct == sorted(pct), pct
        assert "Codeload completed successfully." in result["reply"]
        events = ctl.ssh("show events last 5").stdout
        assert "a code load started (FTP, user manage)" in events
        ctl.restart_after_load()
        out = ctl.ssh("show firmware-update-status").stdout
        assert "Completion Status: Success" in out
        assert "Bundle Version: TS250P007" in out
    finally:
        ctl.stop()
