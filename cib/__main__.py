"""``python -m cib``."""

from .cli import run

run()
