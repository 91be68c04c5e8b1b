"""The man pages in man/: each renders without a warning from groff or
man, has the sections a reader looks for, and names every long option its
program's --help shows (for `tandem`, every command's and subcommand's
--help too), so a new option cannot be added without its man page line."""
import re
import shutil
import subprocess

import pytest

from conftest import ROOT, program

PAGES = {"tandem": "tandem.1", "tandemd": "tandemd.8",
         "tandem-loader": "tandem-loader.8"}
SECTIONS = ("NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "FILES",
            "EXIT STATUS", "SEE ALSO")
LONG_OPTION = re.compile(r"(?<![\w-])--[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
LISTED = re.compile(r"^  ([a-z][a-z-]*)\s{2,}\S", re.M)


def run(*argv):
    return subprocess.run(list(argv), capture_output=True, text=True,
                          timeout=60)


def warnings(page):
    """What groff -ww and man --warnings say about a page ("" if nothing)."""
    said = []
    r = run("groff", "-man", "-ww", "-z", str(page))
    said.append(r.stderr)
    assert r.returncode == 0, r.stderr
    if shutil.which("man"):
        r = run("man", "--warnings", "-l", str(page))
        said.append(r.stderr)
        assert r.returncode == 0, r.stderr
    return "".join(said).strip()


def page_text(name):
    """The page's roff source with escapes for '-' and fonts undone."""
    text = (ROOT / "man" / PAGES[name]).read_text()
    return re.sub(r"\\f[BIRP]|\\f\[[A-Z]*\]", "", text.replace("\\-", "-"))


def help_of(*argv):
    r = run(*argv, "--help")
    return r.stdout + r.stderr


def help_texts(name):
    """Every --help the program has: for tandem, walks the command lists."""
    exe = program(name)
    top = help_of(exe)
    texts = [top]
    if name == "tandem":
        for cmd in LISTED.findall(top):
            sub = help_of(exe, cmd)
            texts.append(sub)
            for subcmd in LISTED.findall(sub):
                texts.append(help_of(exe, cmd, subcmd))
    return texts


@pytest.fixture(scope="module", autouse=True)
def groff():
    if not shutil.which("groff"):
        pytest.fail("groff is not installed (scripts/install-deps)")


def test_the_warning_check_sees_a_bad_page(tmp_path):
    bad = tmp_path / "bad.1"
    bad.write_text(".TH BAD 1\n.SH NAME\nbad \\- a page\n.NOSUCHMACRO x\n")
    assert "NOSUCHMACRO" in warnings(bad)


@pytest.mark.parametrize("name", sorted(PAGES))
def test_page_renders_without_warnings(name):
    assert warnings(ROOT / "man" / PAGES[name]) == ""


@pytest.mark.parametrize("name", sorted(PAGES))
def test_page_has_the_sections(name):
    heads = re.findall(r'^\.SH "?([A-Z ]+)"?$', page_text(name), re.M)
    for section in SECTIONS:
        assert section in heads, (name, section, heads)


@pytest.mark.parametrize("name", sorted(PAGES))
def test_page_lists_every_long_option_of_its_help(name):
    texts = help_texts(name)
    shown = set()
    for t in texts:
        shown |= set(LONG_OPTION.findall(t))
    # The walk reached the options (a usage that stopped printing them
    # would pass vacuously otherwise).
    assert len(shown) >= {"tandem": 20, "tandemd": 30,
                          "tandem-loader": 1}[name], shown
    documented = set(LONG_OPTION.findall(page_text(name)))
    assert shown - documented == set(), \
        "%s: in --help but not in man/%s" % (name, PAGES[name])
