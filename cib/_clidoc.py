"""Render the CLI reference for the README from ``cib COMMAND --help`` (``make readme``)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from click.testing import CliRunner

__all__ = ["render", "update_readme"]

START = "<!-- cli-reference: generated from `cib COMMAND --help`; tests/test_readme.py checks it -->"
END = "<!-- end cli-reference -->"


def render() -> str:
    """The reference block: ``cib --help`` and every command's ``--help``."""
    from .cli import main

    runner = CliRunner()
    parts = []
    for name in [None, *sorted(main.commands)]:
        args = ([name] if name else []) + ["--help"]
        out = runner.invoke(main, args, prog_name="cib", terminal_width=100).output.rstrip()
        title = f"cib {name}" if name else "cib"
        parts.append(f"### `{title}`\n\n```\n{out}\n```")
    return "\n\n".join(parts)


def update_readme(path: str | Path = "README.md", check: bool = False) -> bool:
    """Rewrite the block between the markers; with ``check`` only say whether it is current."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(START) + r".*?" + re.escape(END), re.S)
    new = pattern.sub(lambda _: f"{START}\n\n{render()}\n\n{END}", text)
    if check:
        return new == text
    path.write_text(new, encoding="utf-8")
    return True


if __name__ == "__main__":  # pragma: no cover
    ok = update_readme(sys.argv[1] if len(sys.argv) > 1 else "README.md",
                       check="--check" in sys.argv)
    sys.exit(0 if ok else 1)
