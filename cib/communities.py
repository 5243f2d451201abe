"""Community detection on the account graph: Leiden (default), Louvain, connected components.

All methods are deterministic for a given graph and seed: vertices are ordered by account id and
igraph's random number generator is seeded for the call and restored afterwards.

Leiden runs one iteration at a time while the partition changes and its quality rises by more
than :data:`LEIDEN_MIN_GAIN`, at most :data:`MAX_LEIDEN_ITERATIONS` times. igraph's and
leidenalg's own "until stable" (``n_iterations=-1``) never stops on some graphs: a vertex whose
two best communities are equally good, up to rounding, moves back and forth for ever (a 9-vertex
burst graph did so in the test suite; see ``tests/test_graph_communities.py``).
"""

from __future__ import annotations

import random
from contextlib import contextmanager

import igraph as ig
import numpy as np
import pandas as pd

from .graph import to_igraph
from .params import check_choice, check_number

__all__ = ["METHODS", "find_communities", "leiden_membership", "MAX_LEIDEN_ITERATIONS",
           "LEIDEN_MIN_GAIN"]

METHODS = ["leiden", "cpm", "louvain", "components"]

#: Most Leiden iterations of one call (each is a full pass; a partition is usually stable
#: after a few).
MAX_LEIDEN_ITERATIONS = 100

#: An iteration that raises the partition's quality by no more than this ends the run, its
#: change undone: moves that gain nothing but rounding are not progress.
LEIDEN_MIN_GAIN = 1e-12


@contextmanager
def _seeded(seed: int):
    ig.set_random_number_generator(random.Random(seed))
    try:
        yield
    finally:
        ig.set_random_number_generator(random)


def find_communities(edges: pd.DataFrame, method: str = "leiden", resolution: float = 1.0,
                     seed: int = 0, weight: str = "weighted") -> pd.Series:
    """Partition the accounts of an edge table into communities.

    Parameters
    ----------
    edges : DataFrame
        Combined EDGES (``account_u``, ``account_v`` and the ``weight`` column).
    method : {"leiden", "louvain", "components"}
        ``leiden``: igraph's Leiden algorithm optimising modularity (iterated until stable);
        ``cpm``: leidenalg's Leiden with the Constant Potts Model, which has no resolution limit
        on sparse graphs (a community must have internal edge density above ``resolution``);
        ``louvain``: igraph's multilevel modularity optimisation; ``components``: connected
        components (what CooRTweet and coordination-network-toolkit report).
    resolution : float, default 1.0
        Modularity resolution (higher gives smaller communities), or the CPM density threshold
        in units of the weight; ignored by ``components``.
    seed : int, default 0
        Seed of the random steps.
    weight : str, default "weighted"
        The edge column used as weight (the popularity-discounted weight by default).

    Returns
    -------
    Series
        Community label per account (index ``account_id``, sorted). Labels are 0, 1, ... by
        decreasing community size, ties broken by the smallest account id, so they do not depend
        on the algorithm's internal numbering.

    Examples
    --------
    >>> e = pd.DataFrame({"account_u": ["a", "a", "b", "x", "x", "y"],
    ...                   "account_v": ["b", "c", "c", "y", "z", "z"], "weighted": [1.0] * 6})
    >>> find_communities(e, method="components").to_dict()
    {'a': 0, 'b': 0, 'c': 0, 'x': 1, 'y': 1, 'z': 1}
    """
    check_choice(method, METHODS, "method", "find_communities")
    check_number(resolution, "resolution", "find_communities", low=0, low_open=True)
    check_number(seed, "seed", "find_communities", low=0, integer=True)
    if edges.empty:
        return pd.Series([], dtype="int64", name="community",
                         index=pd.Index([], name="account_id", dtype=object))
    g = to_igraph(edges, weight=weight)
    w = g.es["weight"] if g.ecount() else None
    with _seeded(int(seed)):
        if method == "components":
            membership = g.connected_components().membership
        elif method == "cpm":
            membership = _cpm_membership(g, w, resolution, int(seed))
        elif method == "louvain":
            membership = g.community_multilevel(weights=w, resolution=resolution).membership
        else:
            membership = leiden_membership(g, w, resolution)
    return _relabel(g.vs["name"], membership)


def _canonical(membership: list[int]) -> list[int]:
    seen: dict[int, int] = {}
    return [seen.setdefault(c, len(seen)) for c in membership]


def leiden_membership(g: ig.Graph, weights: list[float] | None, resolution: float = 1.0,
                      max_iterations: int | None = None) -> list[int]:
    """Leiden (modularity) communities of ``g``: igraph's iterations, one at a time from the
    singletons, until one changes nothing or gains no more than :data:`LEIDEN_MIN_GAIN` of
    modularity (that one undone), at most ``max_iterations`` (default
    :data:`MAX_LEIDEN_ITERATIONS`). Uses igraph's random number generator (seed it, as
    :func:`find_communities` does).

    Examples
    --------
    >>> g = ig.Graph(n=6, edges=[(0, 1), (1, 2), (0, 2), (3, 4), (4, 5), (3, 5), (2, 3)])
    >>> leiden_membership(g, None)
    [0, 0, 0, 1, 1, 1]
    """
    cap = MAX_LEIDEN_ITERATIONS if max_iterations is None else int(max_iterations)
    membership = list(range(g.vcount()))
    quality = g.modularity(membership, weights=weights, resolution=resolution)
    for _ in range(cap):
        new = g.community_leiden(objective_function="modularity", weights=weights,
                                 resolution=resolution, n_iterations=1,
                                 initial_membership=membership).membership
        if _canonical(new) == _canonical(membership):
            return new
        gain = g.modularity(new, weights=weights, resolution=resolution) - quality
        if gain <= LEIDEN_MIN_GAIN:
            return membership
        membership, quality = new, quality + gain
    return membership


def _cpm_membership(g: ig.Graph, weights: list[float] | None, resolution: float,
                    seed: int) -> list[int]:
    """leidenalg's CPM partition, iterated (as its ``n_iterations=-1``) while an iteration
    gains more than :data:`LEIDEN_MIN_GAIN`, at most :data:`MAX_LEIDEN_ITERATIONS` times."""
    import leidenalg

    part = leidenalg.CPMVertexPartition(g, weights=weights, resolution_parameter=resolution)
    opt = leidenalg.Optimiser()
    opt.set_rng_seed(seed)
    for _ in range(MAX_LEIDEN_ITERATIONS):
        if opt.optimise_partition(part, n_iterations=1) <= LEIDEN_MIN_GAIN:
            break
    return part.membership


def _relabel(names: list[str], membership: list[int]) -> pd.Series:
    df = pd.DataFrame({"account_id": names, "raw": membership})
    stats = df.groupby("raw").agg(size=("account_id", "size"), first=("account_id", "min"))
    stats = stats.sort_values(["size", "first"], ascending=[False, True], kind="mergesort")
    mapping = pd.Series(np.arange(len(stats), dtype=np.int64), index=stats.index)
    out = pd.Series(df["raw"].map(mapping).to_numpy(dtype=np.int64), index=pd.Index(names, name="account_id"),
                    name="community")
    return out.sort_index()
