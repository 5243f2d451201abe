"""``python -m cib``."""

from .cli import main

main(prog_name="cib")
