"""The README's first lines give the two commands, and its CLI reference matches --help."""

from __future__ import annotations

from conftest import ROOT

from cib._clidoc import update_readme


def test_readme_starts_with_the_two_commands():
    head = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()[:8]
    text = "\n".join(head)
    assert "make demo" in text and "make test" in text


def test_cli_reference_is_current():
    assert update_readme(ROOT / "README.md", check=True), \
        "README CLI reference is stale: run `make readme`"
