"""EDGES -> account graphs (igraph for the algorithms, networkx for export and notebooks)."""

from __future__ import annotations

import igraph as ig
import networkx as nx
import numpy as np
import pandas as pd

from .params import check_number

__all__ = ["threshold_edges", "to_igraph", "to_networkx"]


def threshold_edges(edges: pd.DataFrame, min_weight: float = 2) -> pd.DataFrame:
    """Keep the edges whose ``weight`` (distinct objects co-acted on) is at least ``min_weight``.

    Examples
    --------
    >>> e = pd.DataFrame({"account_u": ["a", "a"], "account_v": ["b", "c"], "weight": [1, 3]})
    >>> threshold_edges(e, 2)["account_v"].tolist()
    ['c']
    """
    check_number(min_weight, "min_weight", "threshold_edges", low=0)
    return edges[edges["weight"] >= min_weight].reset_index(drop=True)


def _plain(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


def to_igraph(edges: pd.DataFrame, accounts: list[str] | None = None,
              weight: str = "weighted") -> ig.Graph:
    """An undirected igraph graph: one vertex per account (attribute ``name``, sorted by id, so
    the vertex order never depends on the input order), one edge per row with all edge columns as
    attributes and ``weight`` taken from the column ``weight``.

    Examples
    --------
    >>> e = pd.DataFrame({"account_u": ["a", "b"], "account_v": ["b", "c"], "weight": [2, 3],
    ...                   "weighted": [2.0, 1.5]})
    >>> g = to_igraph(e)
    >>> g.vs["name"], g.es["weight"]
    (['a', 'b', 'c'], [2.0, 1.5])
    """
    names = sorted(set(edges["account_u"]).union(edges["account_v"]).union(accounts or []))
    index = {n: i for i, n in enumerate(names)}
    g = ig.Graph(n=len(names), directed=False)
    g.vs["name"] = names
    pairs = list(zip(edges["account_u"].map(index), edges["account_v"].map(index)))
    g.add_edges(pairs)
    for col in edges.columns:
        if col in ("account_u", "account_v"):
            continue
        g.es[col] = [_plain(v) for v in edges[col].tolist()]
    if len(edges):
        g.es["weight"] = edges[weight].astype(float).tolist()
    return g


def to_networkx(edges: pd.DataFrame, members: pd.DataFrame | None = None) -> nx.Graph:
    """An undirected networkx graph with the edge columns as edge attributes and, when
    ``members`` is given, its columns as node attributes (``cluster_id``, ``degree``, ...).

    Examples
    --------
    >>> e = pd.DataFrame({"account_u": ["a"], "account_v": ["b"], "weight": [2]})
    >>> sorted(to_networkx(e).edges(data="weight"))
    [('a', 'b', 2)]
    """
    g = nx.Graph()
    if members is not None and len(members):
        for rec in members.sort_values("account_id").to_dict("records"):
            node = rec.pop("account_id")
            g.add_node(node, **{k: _plain(v) for k, v in rec.items()})
    for rec in edges.to_dict("records"):
        u, v = rec.pop("account_u"), rec.pop("account_v")
        g.add_edge(u, v, **{k: _plain(val) for k, val in rec.items()})
    return g
