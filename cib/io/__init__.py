"""Reading input files into ACTIONS (DESIGN section 2).

:func:`read_actions` reads CSV, TSV, JSON lines and Parquet files (optionally ``.gz``,
``.bz2`` or ``.zst`` compressed) in one of the :data:`FORMATS`, and returns ACTIONS, REJECTS
and reading statistics. :func:`detect_format` names the format of a file.

Examples
--------
>>> sorted(FORMATS)
['coortweet', 'generic']
"""

from ._formats import FORMATS, detect_format
from ._read import read_actions

__all__ = ["read_actions", "detect_format", "FORMATS"]
