"""Bundles changed after they were signed, one member at a time, with the
archive kept valid ustar: what a damaged copy or an attacker hands a
controller. Each edit leaves well-formed content (valid JSON, lowercase hex)
so that only the signature can tell."""
import hashlib
import io
import json
import tarfile


def rewrite(src, dst, member, edit):
    """Copies bundle src to dst with member's bytes replaced by edit(bytes);
    returns dst. The other members and their order are kept."""
    seen = False
    with tarfile.open(src, "r:") as tin, \
            tarfile.open(dst, "w:", format=tarfile.USTAR_FORMAT) as tout:
        for info in tin.getmembers():
            data = tin.extractfile(info).read()
            if info.name == member:
                new = edit(data)
                assert new != data, "the edit changed nothing"
                data, seen = new, True
                info.size = len(data)
            tout.addfile(info, io.BytesIO(data))
    assert seen, "no member %r in %s" % (member, src)
    return dst


def manifest_edit(change):
    """An edit of manifest.json through its parsed JSON."""
    def edit(data):
        m = json.loads(data)
        change(m)
        return json.dumps(m, indent=2).encode() + b"\n"
    return edit


def newer_version(m):
    m["version"] = "TS250P099"


def other_sha256(m):
    # The hash of other bytes: a valid digest that no payload has.
    m["components"][-1]["sha256"] = hashlib.sha256(b"not the image").hexdigest()


def signature_flip(data):
    """manifest.sig with one hex digit of the signature changed."""
    s = json.loads(data)
    sig = s["signature"]
    s["signature"] = ("0" if sig[0] != "0" else "1") + sig[1:]
    return json.dumps(s).encode()


# name -> (member, edit): every way to make the signature not match.
SIGNATURE_DEFECTS = {
    "manifest-version": ("manifest.json", manifest_edit(newer_version)),
    "manifest-sha256": ("manifest.json", manifest_edit(other_sha256)),
    "signature-bytes": ("manifest.sig", signature_flip),
}


def defective(src, tmp, name):
    member, edit = SIGNATURE_DEFECTS[name]
    return rewrite(src, tmp / ("%s.bundle" % name), member, edit)
