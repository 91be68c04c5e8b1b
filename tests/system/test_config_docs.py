"""docs/config.md lists every config key: each long option of a getopt
table that a program hands to the config file reader (conffile_args_build
or tool_config, with the section it reads), and nothing else."""
import re

from conftest import ROOT

TABLE = re.compile(r"struct option (\w+)\[\] = \{(.*?)\n\s*\};", re.S)
CALL = re.compile(r'(?:conffile_args_build|tool_config)\(\s*"([^"]+)",\s*'
                  r'(\w+)')
ENTRY = re.compile(r'\{\s*"([a-z0-9-]+)",\s*(?:no|required|optional)_argument')
# A part's options a program's table takes whole (FLASH_STORAGE_LONGOPTS).
MACRO = re.compile(r"#define (\w+_LONGOPTS) \\\n((?:.*\\\n)*.*)")


def option_macros():
    found = {}
    for path in sorted((ROOT / "src").rglob("*.h")):
        for m in MACRO.finditer(path.read_text()):
            found[m.group(1)] = ENTRY.findall(m.group(2))
    return found


def keys_in_sources():
    """{section: {key, ...}} from the option tables the reader is given."""
    found, macros = {}, option_macros()
    for path in sorted((ROOT / "src").rglob("*.c")):
        text = path.read_text()
        tables = [(m.start(), m.group(1), ENTRY.findall(m.group(2)) +
                   [k for name, keys in macros.items()
                    if name in m.group(2) for k in keys])
                  for m in TABLE.finditer(text)]
        for call in CALL.finditer(text):
            section, name = call.group(1), call.group(2)
            before = [t for t in tables
                      if t[1] == name and t[0] < call.start()]
            assert before, f"{path}: no table {name} before {section}"
            keys = set(before[-1][2]) - {"help"}
            found.setdefault(section, set()).update(keys)
    return found


def keys_in_docs():
    found, section = {}, None
    for line in (ROOT / "docs/config.md").read_text().splitlines():
        m = re.match(r"^## \[(.+)\]$", line)
        if m:
            section = m.group(1)
            found[section] = set()
        elif line.startswith("## "):
            section = None
        elif section:
            m = re.match(r"^\| `([a-z0-9-]+)` \|", line)
            if m:
                found[section].add(m.group(1))
    return found


def test_every_option_is_documented():
    src, docs = keys_in_sources(), keys_in_docs()
    assert {"tandemd", "tandem-loader", "tandem update",
            "tandem user add"} <= set(src), src
    missing = {s: sorted(k - docs.get(s, set())) for s, k in src.items()}
    missing = {s: k for s, k in missing.items() if k}
    assert not missing, f"options docs/config.md does not list: {missing}"


def test_no_documented_key_is_stale():
    src, docs = keys_in_sources(), keys_in_docs()
    stale = {s: sorted(k - src.get(s, set())) for s, k in docs.items()}
    stale = {s: k for s, k in stale.items() if k}
    assert not stale, f"docs/config.md lists keys no program has: {stale}"
