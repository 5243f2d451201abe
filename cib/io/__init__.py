"""Reading input files into ACTIONS (DESIGN section 2).

:func:`read_actions` reads CSV, TSV, JSON (lines, arrays, documents) and Parquet files
(optionally ``.gz``, ``.bz2`` or ``.zst`` compressed) in one of the :data:`FORMATS`, and returns
ACTIONS, REJECTS and reading statistics. :func:`detect_format` names the format of a file;
:func:`resolution_warning` says when timestamps are too coarse for a co-action window;
:func:`expand_paths` lists the files a list of paths and glob patterns names;
:func:`timestamp_summary` counts the rows and implausible timestamps that ``cib detect`` warns
about (:func:`combine_summaries` adds up those of partitions).

Examples
--------
>>> list(FORMATS)  # doctest: +NORMALIZE_WHITESPACE
['generic', 'coortweet', 'cnt', 'twitter-io', 'twarc2', 'twitter-v1', 'meta-content-library',
 'telegram', 'bluesky', 'mastodon']
"""

from ._formats import FORMATS, detect_format
from ._read import (combine_summaries, expand_paths, read_actions, resolution_warning,
                    timestamp_summary)

__all__ = ["read_actions", "detect_format", "resolution_warning", "expand_paths", "FORMATS",
           "timestamp_summary", "combine_summaries"]
