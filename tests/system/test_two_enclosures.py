"""Two simulated enclosures on one host, as two CI jobs on one runner run
them: each on its own addresses with the same high ports, each updated over
FTP at the same time, and neither sees the other's controllers, bundles or
events."""
import threading

from enclosure_helpers import Enclosure, own_addresses, versions, wait_for

PORT_BASE = 36000           # the same for both: the addresses keep them apart


def test_two_enclosures_updated_side_by_side(tmp_path):
    first, second = tmp_path / "one", tmp_path / "two"
    first.mkdir()
    second.mkdir()
    one = Enclosure(first, own_addresses(170), PORT_BASE)
    try:
        two = Enclosure(second, own_addresses(190), PORT_BASE)
    except BaseException:
        one.stop()
        raise
    try:
        assert one.ports[("a", "ftp")][1] == two.ports[("a", "ftp")][1]
        assert one.ports[("a", "ftp")][0] != two.ports[("a", "ftp")][0]
        # Each enclosure's A dials its own B: A reports its partner's
        # serial, which is its own enclosure's B's, never the other's.
        b_serial = {name: (enc.dir / "b" / "config" / "serial")
                    .read_text().strip()
                    for name, enc in (("one", one), ("two", two))}
        assert b_serial["one"] != b_serial["two"]
        for name, other, enc in (("one", "two", one), ("two", "one", two)):
            shown = enc.cli("a", "show controllers")
            assert b_serial[name] in shown and b_serial[other] not in shown
            for ctl in "ab":
                assert "Success" in enc.cli(ctl, "set protocols ftp enabled")

        factory_mc = versions(one, "a", "a")["Management Controller Code "
                                             "Version"]
        # Both loads at once: one gets the SC update, two the MC update.
        replies = {}

        def load(name, enc, bundle):
            replies[name] = enc.ftp_put("a", enc.bundle(bundle))

        threads = [threading.Thread(target=load, args=a) for a in
                   (("one", one, "TS250P002"), ("two", two, "TS250P003"))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for name in ("one", "two"):
            assert "Codeload completed successfully." in replies[name], \
                replies[name]

        # PFU brings each B to its own A's bundle, and only that.
        for enc, want in ((one, "TS250P002"), (two, "TS250P003")):
            wait_for(lambda enc=enc, want=want: all(
                versions(enc, "a", of).get("Bundle Version") == want
                for of in "ab"), timeout=180,
                what="both controllers on %s" % want)
            assert versions(enc, "b", "b")["Bundle Version"] == want
        # TS250P002 changes the SC only, TS250P003 the MC as well.
        mc = "Management Controller Code Version"
        assert versions(one, "a", "a")[mc] == factory_mc
        assert versions(two, "a", "a")[mc] == "TSM250P003" != factory_mc
        # Each enclosure's events tell its own story only.
        ev_one, ev_two = one.events("a"), two.events("a")
        assert "TS250P002" in ev_one and "TS250P003" not in ev_one
        assert "TS250P003" in ev_two and "TS250P002" not in ev_two
    finally:
        try:
            two.stop()
        finally:
            one.stop()
