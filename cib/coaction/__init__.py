"""The windowed co-action join (DESIGN §3) and the aggregation of co-actions into edges.

``coactions(traces, window)`` finds every pair of traces of the same kind on the same object by
different accounts at most ``window`` seconds apart (inclusive). ``edges_per_kind`` and
``combine_edges`` turn those pairs into undirected account edges.
"""

from ._join import coactions, pair_indices, self_repeats
from ._edges import combine_edges, edges_per_kind, popularity_discount
from ._reference import reference_coactions

__all__ = [
    "coactions",
    "pair_indices",
    "self_repeats",
    "edges_per_kind",
    "combine_edges",
    "popularity_discount",
    "reference_coactions",
]
