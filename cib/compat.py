"""Compatibility modes: the peers' exact answers from cib's readers (DESIGN §4).

``run_coortweet`` reproduces CooRTweet 2.1 ``detect_groups`` + ``generate_coordinated_network``
(see :mod:`cib.coaction.compat_coortweet`); ``run_cnt`` reproduces coordination-network-toolkit
1.5.2's directed co_retweet, co_link, co_reply and co_tweet edge weights
(see :mod:`cib.coaction.compat_cnt`). Users of the peers get the same answer first, then can
compare it with cib's native detection on the same input.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import __version__
from .errors import InputError
from .params import check_choice, check_number, parse_duration

__all__ = ["COMPAT_MODES", "CompatResult", "read_coortweet_raw", "coortweet_frames",
           "run_coortweet", "run_cnt"]

COMPAT_MODES = ["coortweet", "cnt"]

_COORTWEET_COLUMNS = ["object_id", "account_id", "content_id", "timestamp_share"]


@dataclass
class CompatResult:
    """The output of a compatibility run: the peer's tables, by file stem, and a manifest."""

    mode: str
    tables: dict[str, pd.DataFrame]
    graph: Any = None
    manifest: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> str:
        """A few lines on what the run found (what ``cib detect --compat`` prints)."""
        c = self.manifest.get("counts", {})
        return ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in c.items())

    def write(self, out_dir: str | Path) -> Path:
        """Write the tables (CSV and Parquet), the graph (GEXF, GraphML) and the manifest,
        atomically (see :func:`cib.export.write_outputs`)."""
        from .export import write_outputs

        return write_outputs(out_dir, self.tables, self.graph, self.manifest)


def read_coortweet_raw(paths: list[str | Path]) -> pd.DataFrame:
    """Read CooRTweet input files exactly as CooRTweet sees them: every row kept (no
    de-duplication, no rejects), columns by name, timestamps as integer seconds."""
    from .io._read import _expand
    from .io._readers import open_source

    frames = []
    for path, display in _expand(paths):
        src = open_source(path, display)
        names = src.names()
        missing = [c for c in _COORTWEET_COLUMNS if c not in names]
        if missing:
            raise InputError("CooRTweet input lacks required columns: " + ", ".join(missing),
                             file=display)
        df, rows = src.read(_COORTWEET_COLUMNS)
        ts = pd.to_numeric(df["timestamp_share"], errors="coerce")
        bad = ts.isna().to_numpy()
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            raise InputError(f"timestamp_share must be a number of seconds, got "
                             f"{df['timestamp_share'].iloc[k]!r}", file=display,
                             row=int(rows[k]), column="timestamp_share")
        df["timestamp_share"] = np.floor(ts.to_numpy(dtype=np.float64)).astype(np.int64)
        frames.append(df)
    if not frames:
        return pd.DataFrame({c: [] for c in _COORTWEET_COLUMNS})
    return pd.concat(frames, ignore_index=True)


def coortweet_frames(actions: pd.DataFrame, kinds=None) -> dict[str, pd.DataFrame]:
    """CooRTweet input tables, one per trace kind, from cib ACTIONS (any input format).

    Examples
    --------
    >>> from cib.datasets import simulate
    >>> actions, _ = simulate(n_accounts=100, n_groups=1, seed=0)
    >>> sorted(coortweet_frames(actions, kinds="repost,url"))
    ['repost', 'url']
    """
    from .coaction.compat_coortweet import coortweet_input
    from .traces import build_traces

    traces = build_traces(actions, kinds=kinds)
    out = {}
    for kind, part in traces.groupby("kind", sort=True):
        frame = coortweet_input(part.reset_index(drop=True))
        frame["object_id"] = frame["object_id"].astype(str).str.removeprefix(f"{kind}:")
        out[str(kind)] = frame
    return out


def run_coortweet(data: pd.DataFrame | dict[str, pd.DataFrame], *, window: float | str = 60,
                  min_participation: int = 2, edge_weight: float = 0.5, subgraph: int = 0,
                  remove_loops: bool = True) -> CompatResult:
    """CooRTweet's ``detect_groups`` then ``generate_coordinated_network``.

    Parameters
    ----------
    data : DataFrame or dict of str to DataFrame
        CooRTweet input (``object_id``, ``account_id``, ``content_id``, ``timestamp_share``), or one
        such table per trace kind (multimodal: one ``detect_groups`` per kind, results combined).
    window : float or str, default 60
        ``time_window`` in seconds.
    min_participation : int, default 2
    edge_weight : float, default 0.5
        Quantile of the edge weights used as ``weight_threshold``.
    subgraph : {0, 1}, default 0
    remove_loops : bool, default True

    Returns
    -------
    CompatResult
        Tables ``result`` (the pair rows of ``detect_groups``), ``edges`` (the network's edge
        list with CooRTweet's columns and ``object_ids``) and ``account_stats``; the network (a networkx ``Graph``).

    Examples
    --------
    >>> data = pd.DataFrame({"object_id": ["o", "o", "o2", "o2"], "account_id": ["a", "b", "a", "b"],
    ...                      "content_id": ["1", "2", "3", "4"], "timestamp_share": [0, 5, 100, 109]})
    >>> res = run_coortweet(data, window=10, min_participation=2)
    >>> res.tables["edges"][["from", "to", "weight"]].to_dict("records")
    [{'from': 'a', 'to': 'b', 'weight': 2}]
    """
    from .coaction import compat_coortweet as ct

    w = parse_duration(window, "window", "run_coortweet")
    check_number(min_participation, "min_participation", "run_coortweet", low=1)
    check_choice(subgraph, [0, 1], "subgraph", "run_coortweet")
    t0 = time.perf_counter()
    if isinstance(data, dict):
        result = ct.detect_groups_multi(data, time_window=w, min_participation=min_participation,
                                        remove_loops=remove_loops)
        n_rows = sum(len(d) for d in data.values())
    else:
        result = ct.detect_groups(data, time_window=w, min_participation=min_participation,
                                  remove_loops=remove_loops)
        n_rows = len(data)
    t1 = time.perf_counter()
    edges = ct.generate_coordinated_network(result, edge_weight=edge_weight, subgraph=subgraph,
                                            objects=True)
    graph = ct.coortweet_graph(edges)
    stats = ct.account_stats(result, graph) if len(result) else pd.DataFrame()
    t2 = time.perf_counter()
    nx_graph = _to_networkx(graph)
    manifest = {
        "cib_version": __version__,
        "mode": "compat-coortweet",
        "parameters": {"time_window": w, "min_participation": min_participation,
                       "edge_weight": edge_weight, "subgraph": subgraph,
                       "remove_loops": remove_loops},
        "counts": {"input_rows": int(n_rows), "pair_rows": len(result),
                   "vertices": graph.vcount(), "edges": graph.ecount(),
                   "edges_over_threshold": int(edges["weight_threshold"].sum()) if len(edges) else 0},
        "timings_s": {"detect_groups": round(t1 - t0, 4), "network": round(t2 - t1, 4)},
    }
    return CompatResult("coortweet", {"result": result, "edges": edges, "account_stats": stats},
                        nx_graph, manifest)


def _to_networkx(graph):
    import networkx as nx

    g = nx.Graph()
    names = graph.vs["name"] if graph.vcount() else []
    g.add_nodes_from(names)
    attrs = graph.es.attributes()
    for e in graph.es:
        g.add_edge(names[e.source], names[e.target], **{a: e[a] for a in attrs})
    return g


def run_cnt(messages: pd.DataFrame, *, window: float | str = 60,
            networks: str | list[str] = "co_retweet,co_link,co_reply,co_tweet",
            min_edge_weight: int = 1, keep_empty_urls: bool = False) -> CompatResult:
    """coordination-network-toolkit's networks: directed edges with its weights.

    Parameters
    ----------
    messages : DataFrame
        CNT's message table (:func:`cib.coaction.compat_cnt.read_cnt_csv` reads CNT's CSV by
        column name; :func:`cib.coaction.compat_cnt.cnt_input_from_actions` makes one from any
        cib input).
    window : float or str, default 60
        ``--time_window`` (CNT's own command-line default is 1 s; pass it explicitly there).
    networks : str or list of str
        Any of co_retweet, co_link, co_reply, co_tweet.
    min_edge_weight : int, default 1
        CNT's ``--min_edge_weight``, applied per direction.
    keep_empty_urls : bool, default False
        True reproduces CNT's bug of treating an empty URL cell as a URL (co_link then links every
        URL-less post); the default is the fixed behaviour.

    Returns
    -------
    CompatResult
        Table ``edges`` in CNT's export layout: ``source``, ``target``, ``weight``, ``edge_type``
        (self-loops dropped, as CNT's exports do), and the graph (a networkx ``MultiDiGraph``, one
        edge per row). Both are built when first used: :meth:`CompatResult.write` writes
        ``edges.csv``, ``edges.parquet``, ``graph.gexf`` and ``graph.graphml`` straight from the
        edge codes, byte for byte as it would from the table and the graph, unless the table or
        the graph was used (then it writes those). The graph files are left out above
        1,000,000 edges (the manifest says so): Gephi cannot use such a graph, and the files would
        take about 350 bytes per edge. ``res.graph`` still builds it.

    Examples
    --------
    >>> msgs = pd.DataFrame({"message_id": ["1", "2", "3"], "user_id": ["A", "A", "E"],
    ...     "username": ["a", "a", "e"], "repost_id": ["", "", ""], "reply_id": ["", "", ""],
    ...     "message": ["x", "y", "z"], "timestamp": [0.0, 10.0, 20.0],
    ...     "urls": ["http://u", "http://u", "http://u"]})
    >>> run_cnt(msgs, networks="co_link").tables["edges"].to_dict("records")
    [{'source': 'A', 'target': 'E', 'weight': 2, 'edge_type': 'co_link'}, {'source': 'E', 'target': 'A', 'weight': 1, 'edge_type': 'co_link'}]
    """
    from .coaction.compat_cnt import CNT_NETWORKS, _cnt_edge_codes, _CntEdges

    w = parse_duration(window, "window", "run_cnt")
    nets = [n.strip() for n in networks.split(",")] if isinstance(networks, str) else list(networks)
    for n in nets:
        check_choice(n, CNT_NETWORKS, "networks", "run_cnt")
    check_number(min_edge_weight, "min_edge_weight", "run_cnt", low=1, integer=True)
    t0 = time.perf_counter()
    parts = []
    timings = {}
    for n in nets:
        t = time.perf_counter()
        users, src, dst, weight = _cnt_edge_codes(messages, network=n, time_window=w,
                                                  min_edge_weight=min_edge_weight,
                                                  keep_empty_urls=keep_empty_urls)
        parts.append((n, users, src, dst, weight))
        timings[n] = round(time.perf_counter() - t, 4)
    edges = _CntEdges(parts)
    manifest: dict[str, Any] = {
        "cib_version": __version__,
        "mode": "compat-cnt",
        "parameters": {"time_window": w, "networks": nets, "min_edge_weight": min_edge_weight,
                       "keep_empty_urls": keep_empty_urls},
        "counts": {"messages": len(messages), "edges": edges.n,
                   **{f"{n}_edges": int(edges.sizes[[m == n for m in nets]].sum()) for n in nets}},
        "timings_s": {**timings, "total": round(time.perf_counter() - t0, 4)},
    }
    if edges.n > _CNT_GRAPH_MAX_EDGES:
        manifest["graph_files"] = (f"not written: {edges.n:,} edges > {_CNT_GRAPH_MAX_EDGES:,} "
                                   "(edges.csv and edges.parquet hold the network)")
    return _CntResult(edges, manifest)


#: run_cnt writes graph.gexf and graph.graphml up to this many edges.
_CNT_GRAPH_MAX_EDGES = 1_000_000


class _CntResult(CompatResult):
    """:func:`run_cnt`'s result. ``tables`` and ``graph`` are built on first use (at millions of
    edges the graph alone takes minutes and gigabytes); :meth:`write` renders the files from the
    edge codes when neither was used, and writes the objects otherwise."""

    def __init__(self, edges: Any, manifest: dict[str, Any]) -> None:
        self.mode = "cnt"
        self.manifest = manifest
        self._edges = edges
        self._tables: dict[str, pd.DataFrame] | None = None
        self._graph: Any = None
        self._graph_built = False

    @property  # type: ignore[override]
    def tables(self) -> dict[str, pd.DataFrame]:
        if self._tables is None:
            self._tables = {"edges": self._edges.frame()}
        return self._tables

    @tables.setter
    def tables(self, value: dict[str, pd.DataFrame]) -> None:
        self._tables = value

    @property  # type: ignore[override]
    def graph(self) -> Any:
        if not self._graph_built:
            self._graph = self._edges.graph()
            self._graph_built = True
        return self._graph

    @graph.setter
    def graph(self, value: Any) -> None:
        self._graph = value
        self._graph_built = True

    def __repr__(self) -> str:
        return (f"CompatResult(mode='cnt', edges={self._edges.n}, "
                f"networks={self._edges.nets!r})")

    def summary(self) -> str:
        text = super().summary()
        if "graph_files" in self.manifest:
            text += f"; graph files {self.manifest['graph_files']}"
        return text

    def write(self, out_dir: str | Path) -> Path:
        """Write ``edges`` (CSV and Parquet), the graph (GEXF, GraphML; up to
        1,000,000 edges) and the manifest, atomically (see :func:`cib.export.write_outputs`)."""
        from .export import write_outputs

        with_graph = self._edges.n <= _CNT_GRAPH_MAX_EDGES
        if self._tables is None and not self._graph_built:
            files = self._edges.files(with_graph, self.manifest)
            if files is not None:
                return write_outputs(out_dir, {}, None, self.manifest, files=files)
        return write_outputs(out_dir, self.tables, self.graph if with_graph else None,
                             self.manifest)
