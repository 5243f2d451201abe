"""``cib.detect``: the one-call front end over all stages, and the :class:`Detection` it returns."""

from __future__ import annotations

import logging
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import __version__
from .coaction import combine_edges, edges_per_kind, self_repeats
from .coaction._kernel import DEFAULT_BUDGET_PAIRS
from .coaction._engine import (BYTES_PER_SELECTED_PAIR, SortedTraces, coaction_frame,
                               parse_memory_budget)
from .communities import METHODS, find_communities
from .discovery import LONG_MAX_SPAN, MAX_LENIENT_PAIRS, discover_groups
from .graph import threshold_edges, to_igraph, to_networkx
from .nullmodel import _Coded, _pair_chunks, _significance, cluster_pvalues, cluster_qvalues
from ._memory import release_memory
from ._stopwatch import stopwatch
from .params import check_choice, check_number, parse_duration, parse_kinds
from .schema import validate_actions
from .scoring import cluster_table, evidence_table, intra_cluster, member_table
from .timing import TIMING_PAIRS, combine_timing_pvalues, merge_timing, timing_edges
from .traces import DEFAULT_KINDS, KINDS, build_traces

__all__ = ["Detection", "ClusterView", "detect", "DEFAULT_MEMORY_BUDGET"]

#: Most edges written to graph.gexf / graph.graphml (the strongest; edges.csv keeps all).
MAX_GRAPH_FILE_EDGES = 200_000

#: Engines of :func:`detect`.
ENGINES = ["pandas", "dask"]

#: Default bound on the co-actions ``detect`` materialises (see ``memory_budget``).
DEFAULT_MEMORY_BUDGET = "4G"

log = logging.getLogger(__name__)


@dataclass
class ClusterView:
    """One cluster of a :class:`Detection`, with its own tables (see :meth:`Detection.cluster`).

    Attributes
    ----------
    info : Series
        The cluster's row of CLUSTERS.
    members, edges, evidence, coactions, traces : DataFrame
        The rows of the detection's tables that concern this cluster (``coactions``: pairs of its
        members; ``traces``: every trace of its members).
    """

    cluster_id: int
    info: pd.Series
    members: pd.DataFrame
    edges: pd.DataFrame
    evidence: pd.DataFrame
    coactions: pd.DataFrame
    traces: pd.DataFrame
    window_s: float = 60.0

    @property
    def accounts(self) -> list[str]:
        """The member account ids, sorted."""
        return sorted(self.members["account_id"])

    def to_networkx(self):
        """The cluster's subgraph as a networkx Graph."""
        return to_networkx(self.edges, self.members)

    def plot_timeline(self, ax=None, **kwargs):
        """Accounts by time, one mark per co-action trace, coloured by kind
        (:func:`cib.plots.plot_timeline`)."""
        from .plots import plot_timeline

        return plot_timeline(self, ax=ax, **kwargs)

    def plot_delays(self, ax=None, **kwargs):
        """Histogram of the delays between members (:func:`cib.plots.plot_delays`)."""
        from .plots import plot_delays

        return plot_delays(self.coactions, ax=ax, window=self.window_s, **kwargs)

    def plot_network(self, ax=None, **kwargs):
        """The cluster's network (:func:`cib.plots.plot_network`)."""
        from .plots import plot_network

        return plot_network(self, ax=ax, **kwargs)

    def __repr__(self) -> str:
        i = self.info
        return (f"<Cluster {self.cluster_id}: rank {i['rank']}, {i['n_accounts']} accounts, "
                f"score {i['score']:.3f}, p {i['p_value']:.3f}, "
                f"{'flagged' if i['flagged'] else 'not flagged'}, kinds {i['kinds']}>")

    def _repr_html_(self) -> str:
        from html import escape

        head = escape(repr(self))
        ev = self.evidence.head(10)[["kind", "object_id", "n_accounts", "first_time",
                                     "median_delay_s", "example_text"]]
        return (f"<p><b>{head}</b></p><p>Members: {escape(', '.join(self.accounts[:30]))}"
                f"{' ...' if len(self.accounts) > 30 else ''}</p>" + ev.to_html(index=False))


@dataclass
class Detection:
    """The result of :func:`detect`.

    Attributes
    ----------
    clusters : DataFrame
        CLUSTERS, ranked (``rank`` 1 is the strongest); ``flagged`` marks the ones reported as
        coordinated.
    members : DataFrame
        MEMBERS: every account of the graph with its cluster (-1: none) and figures.
    edges : DataFrame
        Combined EDGES with ``weight >= min_weight``, with their significance (``n_common``,
        ``expected``, ``p_value``, ``q_value``, ``significant``: ``q_value <= alpha``) and the
        clusters of both ends (``cluster_u``, ``cluster_v``). The account graph is made of the
        significant ones.
    evidence : DataFrame
        EVIDENCE: per cluster, the objects its members co-acted on.
    edges_by_kind : DataFrame
        EDGES per kind of the candidate pairs (combined ``weight >= min_weight``).
    coactions : DataFrame
        COACTIONS between members of the same cluster (the evidence). The co-actions of the
        whole input are never materialised: ``manifest["counts"]["coactions"]`` counts them.
    traces : DataFrame
        TRACES.
    rejects : DataFrame
        REJECTS from reading the input (empty when the actions came from a DataFrame).
    manifest : dict
        Parameters, versions, counts and stage timings.
    timing_edges : DataFrame
        The significant account pairs of the timing signal, or with ``timing_pairs="all"``
        every tested pair (:func:`cib.timing.timing_edges`); the significant ones are also rows
        of ``edges`` (kind ``timing``).
    groups : DataFrame
        Group discovery (:func:`cib.discovery.discover_groups`): one row per community of the
        burst graph, with its bursts, null mean, log10 p-value and calibrated ``q_value``;
        ``cluster_id`` is the cluster it became (-1 when not significant).
    """

    clusters: pd.DataFrame
    members: pd.DataFrame
    edges: pd.DataFrame
    evidence: pd.DataFrame
    edges_by_kind: pd.DataFrame
    coactions: pd.DataFrame
    traces: pd.DataFrame
    rejects: pd.DataFrame
    manifest: dict[str, Any] = field(default_factory=dict)
    timing_edges: pd.DataFrame | None = None
    groups: pd.DataFrame | None = None

    @property
    def flagged(self) -> pd.DataFrame:
        """The flagged clusters, in rank order."""
        return self.clusters[self.clusters["flagged"]].reset_index(drop=True)

    def cluster(self, cluster_id: int) -> ClusterView:
        """A view of one cluster with its own members, edges, evidence, co-actions and traces.

        Examples
        --------
        >>> from cib.datasets import simulate
        >>> det = detect(simulate(n_accounts=300, n_groups=2, seed=2)[0], n_null=20)
        >>> view = det.cluster(int(det.clusters["cluster_id"].iloc[0]))
        >>> len(view.members) == int(det.clusters["n_accounts"].iloc[0])
        True
        """
        rows = self.clusters[self.clusters["cluster_id"] == cluster_id]
        if rows.empty:
            from .errors import ParameterError

            raise ParameterError("cluster_id", "Detection.cluster",
                                 "one of the cluster ids in .clusters", cluster_id)
        members = self.members[self.members["cluster_id"] == cluster_id].reset_index(drop=True)
        accounts = set(members["account_id"])
        e = self.graph_edges
        edges = e[(e["cluster_u"] == cluster_id) & (e["cluster_v"] == cluster_id)].reset_index(drop=True)
        ca = self.coactions
        pairs = ca[ca["account_a"].isin(accounts) & ca["account_b"].isin(accounts)].reset_index(drop=True)
        traces = self.traces[self.traces["account_id"].isin(accounts)].reset_index(drop=True)
        evidence = self.evidence[self.evidence["cluster_id"] == cluster_id].reset_index(drop=True)
        window = float(self.manifest.get("parameters", {}).get("window_s", 60.0))
        return ClusterView(int(cluster_id), rows.iloc[0], members, edges, evidence, pairs, traces,
                           window)

    def _repr_html_(self) -> str:
        """A compact ranked summary for Jupyter."""
        from html import escape

        c = self.clusters
        n_flag = int(c["flagged"].sum()) if len(c) else 0
        m = self.manifest.get("counts", {})
        head = (f"<p><b>cib detection</b>: {m.get('actions', '?')} actions, "
                f"{len(c)} clusters, <b>{n_flag} flagged</b>, {len(self.members)} accounts in the "
                f"graph. Use <code>.cluster(id)</code> for one cluster's evidence.</p>")
        cols = ["rank", "cluster_id", "flagged", "n_accounts", "score", "p_value", "n_objects",
                "median_delay_s", "kinds", "first_time", "last_time"]
        table = c[cols].head(20).to_html(index=False, float_format=lambda x: f"{x:.3g}")
        more = f"<p>... and {len(c) - 20} more</p>" if len(c) > 20 else ""
        return head + table + more if len(c) else head + "<p>" + escape("No clusters.") + "</p>"

    @property
    def graph_edges(self) -> pd.DataFrame:
        """The edges of the account graph (the significant ones, and the edges within groups
        found by group discovery)."""
        keep = self.edges["significant"]
        if "group_edge" in self.edges.columns:
            keep = keep | self.edges["group_edge"]
        return self.edges[keep].reset_index(drop=True)

    def to_networkx(self):
        """The account graph as a networkx Graph, with MEMBERS columns as node attributes."""
        return to_networkx(self.graph_edges, self.members)

    def to_igraph(self):
        """The account graph as an igraph Graph (vertex attribute ``name`` = account id)."""
        return to_igraph(self.graph_edges, accounts=self.members["account_id"].tolist())

    def summary(self, top: int = 10) -> str:
        """A short ranked text summary of the clusters (what ``cib detect`` prints)."""
        c = self.clusters
        n_flag = int(c["flagged"].sum()) if len(c) else 0
        m = self.manifest.get("counts", {})
        par = self.manifest.get("parameters", {})
        lines = [f"{m.get('actions', '?')} actions, {m.get('traces', '?')} traces, "
                 f"{m.get('coactions', '?')} co-actions; {m.get('candidate_edges', '?')} account pairs "
                 f"with weight >= {par.get('min_weight', 0):g}"
                 + (f", {m['coaction_edges']} of them beyond chance"
                    if "coaction_edges" in m else "")
                 + (f"; {m['timing_edges']} pairs with synchronised posting times"
                    if m.get("timing_edges") else "")
                 + f"; {m.get('graph_edges', '?')} edges in the graph (FDR <= "
                 f"{par.get('edge_fdr', '?')}), among {m.get('graph_accounts', '?')} accounts",
                 f"{len(c)} clusters, {n_flag} flagged as coordinated "
                 f"(p <= {par.get('alpha', '?')})"]
        eng = self.manifest.get("engine", {})
        if eng.get("max_partners") is not None:
            lines.append(f"max_partners = {eng['max_partners']}: {eng.get('dropped_pairs', 0):,} "
                         "window pairs left out (not exact; see manifest.json engine)")
        if len(c):
            lines.append("")
            lines.append(f"{'rank':>4} {'cluster':>7} {'accounts':>8} {'score':>8} {'p':>6} "
                         f"{'objects':>7} {'delay_s':>7}  flagged  kinds")
            for r in c.head(top).itertuples():
                delay = "" if pd.isna(r.median_delay_s) else f"{r.median_delay_s:.0f}"
                lines.append(f"{r.rank:>4} {r.cluster_id:>7} {r.n_accounts:>8} {r.score:>8.3f} "
                             f"{r.p_value:>6.3f} {r.n_objects:>7} {delay:>7}  "
                             f"{'yes' if r.flagged else 'no':<7}  {r.kinds}")
            if len(c) > top:
                lines.append(f"... and {len(c) - top} more (clusters.csv)")
        return "\n".join(lines)

    @property
    def cluster_coactions(self) -> pd.DataFrame:
        """The co-actions between members of the same cluster, with ``cluster_id``: the pair-level
        evidence behind every cluster (written as ``coactions.csv``)."""
        return intra_cluster(self.coactions, self.members.set_index("account_id")["cluster_id"])

    def tables(self) -> dict[str, pd.DataFrame]:
        """The tables written by :meth:`write`, by file stem."""
        out = {"clusters": self.clusters, "members": self.members, "edges": self.edges,
               "evidence": self.evidence, "coactions": self.cluster_coactions,
               "rejects": self.rejects}
        if self.timing_edges is not None:
            out["timing_edges"] = self.timing_edges
        if self.groups is not None:
            out["groups"] = self.groups
        return out

    def report_html(self, review: pd.DataFrame | None = None) -> str:
        """The self-contained HTML report (see :func:`cib.report.render_report`)."""
        from .report import render_report

        # stage timings stay in manifest.json: the same input and seed give the same report bytes
        manifest = {k: v for k, v in self.manifest.items() if k != "timings_s"}
        return render_report(self.clusters, self.members, self.edges, self.evidence,
                             manifest, coactions=self.cluster_coactions, review=review)

    def write(self, out_dir: str | Path, review: pd.DataFrame | None = None) -> Path:
        """Write every output (tables as CSV and Parquet, GEXF, GraphML, report.html, manifest)
        into ``out_dir`` atomically; see :func:`cib.export.write_outputs`."""
        import copy

        from .export import write_outputs

        edges = self.graph_edges
        manifest = self.manifest
        if len(edges) > MAX_GRAPH_FILE_EDGES:
            # GEXF / GraphML of millions of edges take gigabytes and minutes and no tool opens
            # them usefully: the graph files keep the strongest edges (edges.csv keeps all)
            order = np.lexsort((edges["account_v"].to_numpy(dtype=object),
                                edges["account_u"].to_numpy(dtype=object),
                                -edges["weighted"].to_numpy(dtype=np.float64)))
            kept = edges.iloc[np.sort(order[:MAX_GRAPH_FILE_EDGES])]
            manifest = copy.deepcopy(dict(self.manifest))
            note = (f"graph.gexf and graph.graphml hold the {MAX_GRAPH_FILE_EDGES:,} strongest of "
                    f"the {len(edges):,} graph edges (by weighted); edges.csv holds all of them")
            manifest.setdefault("warnings", []).append(note)
            manifest["graph_files"] = {"edges_written": MAX_GRAPH_FILE_EDGES,
                                       "edges_total": len(edges)}
            edges = kept
        graph = to_networkx(edges, self.members)
        score = self.clusters.set_index("cluster_id")["score"]
        for node, data in graph.nodes(data=True):
            cid = data.get("cluster_id", -1)
            data["score"] = float(score.get(cid, 0.0)) if cid is not None and cid >= 0 else 0.0
        return write_outputs(out_dir, self.tables(), graph, manifest,
                             files={"report.html": self.report_html(review)})

    def pseudonymize(self, key: str | bytes) -> Detection:
        """A copy whose account ids and @handles are keyed pseudonyms (HMAC-SHA256), for
        sharing findings; see :func:`cib.pseudonymize.pseudonymize_detection`."""
        from .pseudonymize import pseudonymize_detection

        return pseudonymize_detection(self, key)

    def apply_review(self, path: str | Path, *, write: bool = True) -> pd.DataFrame:
        """Carry the verdicts of the review file ``path`` over to this run's clusters and
        rewrite the file (created when missing); see :func:`cib.review.apply_review`."""
        from .review import apply_review

        return apply_review(self, path, write=write)

    def __repr__(self) -> str:
        n_flag = int(self.clusters["flagged"].sum()) if len(self.clusters) else 0
        return (f"<Detection: {len(self.clusters)} clusters ({n_flag} flagged), "
                f"{len(self.members)} accounts, {len(self.edges)} edges>")


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"cib": __version__, "python": platform.python_version()}
    for dist in ("pandas", "numpy", "pyarrow", "networkx", "python-igraph", "leidenalg",
                 "scikit-learn", "click"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = "not installed"
    return out


def detect(actions: pd.DataFrame, *, window: float | str = 60, kinds=None, min_weight: float = 2,
           method: str = "leiden", resolution: float = 1.0, seed: int = 0, n_null: int = 100,
           alpha: float = 0.05, edge_fdr: float = 0.01, fdr_runs: int = 20, min_text_chars: int = 10,
           text_match: str = "near", text_threshold: float = 0.8,
           timing: bool = True, timing_bin: float | str = 60, timing_min_common: int = 3,
           timing_pairs: str = "significant",
           max_partners: int | None = None, memory_budget: str | int | None = None,
           per_author: bool = True, discover: bool = True, discovery_runs: int = 10,
           discovery_window: float | str | None = "10m",
           discovery_max_pairs: int | None = MAX_LENIENT_PAIRS, edge_groups: bool = True,
           rejects: pd.DataFrame | None = None, input_stats: dict | None = None,
           engine: str = "pandas", client: Any = None, partitions: int | None = None,
           _prepared: Any = None) -> Detection:
    """Find groups of accounts that act in concert.

    Runs every stage: traces, the windowed co-action join, edges, the account graph, communities,
    the null model and scoring.

    Parameters
    ----------
    actions : DataFrame
        ACTIONS (from :func:`cib.read_actions` or built by hand; see :mod:`cib.schema`).
    window : float or str, default 60
        Two traces of the same kind on the same object by different accounts are a co-action when
        at most this far apart (inclusive): seconds or ``"90s"``, ``"5m"``, ``"1h"``.
    kinds : str or list of str, optional
        Trace kinds to use (default :data:`cib.traces.DEFAULT_KINDS`).
    min_weight : float, default 2
        Keep account pairs that co-acted on at least this many distinct objects.
    method : {"leiden", "louvain", "components"}, default "leiden"
        Community detection on the graph.
    resolution : float, default 1.0
        Modularity resolution for Leiden / Louvain.
    seed : int, default 0
        Seed of every random step (community detection, null model).
    n_null : int, default 100
        Null-model runs per detection (p-values are multiples of ``1 / (n_null + 1)``).
    alpha : float, default 0.05
        A cluster is flagged when its p-value is at most ``alpha``.
    edge_fdr : float, default 0.01
        An edge enters the account graph when its false discovery rate (``q_value``) is at most
        this. Each false edge can bring two innocent accounts into the output, so this is
        stricter than ``alpha``.
    fdr_runs : int, default 20
        Null runs of the whole edge stage that calibrate the edges' false discovery rate
        (see :func:`cib.nullmodel.edge_significance`).
    min_text_chars : int, default 10
        Shortest normalised text that counts as a ``text`` trace.
    text_match : {"near", "exact"}, default "near"
        Texts co-act when near-duplicates (copypasta with small edits) or only when equal after
        normalisation.
    text_threshold : float, default 0.8
        Character-shingle Jaccard similarity of near-duplicate texts.
    timing : bool, default True
        Also link accounts whose original posts fall in the same time bins more often than
        their own rhythms explain, even without any shared object (:mod:`cib.timing`). Those
        pairs enter the graph as edges of kind ``timing``; a cluster held together by them is
        tested against whole-hour shifts of its members' schedules too.
    timing_bin : float or str, default 60
        Time bin of the timing signal.
    timing_min_common : int, default 3
        Test only pairs sharing at least this many bins.
    timing_pairs : {"significant", "all"}, default "significant"
        Rows of ``timing_edges``: the significant pairs, or every tested pair
        (:func:`cib.timing.timing_edges`; the significant ones are the same either way).
    max_partners : int, optional
        Off by default (exact). When set to ``L``, each trace is paired only with the next ``L``
        traces of the same object in the window: the work on an object shared by ``k`` accounts
        in one burst drops from ``k^2/2`` pairs to ``k L``. The pairs it leaves out are counted
        in the manifest (``engine.dropped_pairs``) and the summary.
    memory_budget : str or int, optional
        Bounds the co-actions cib materialises (those behind candidate edges, those within
        clusters, the numpy fallback's chunks), e.g. ``"4G"`` (default
        :data:`DEFAULT_MEMORY_BUDGET`). Aggregation itself never materialises co-actions.
        Beyond it, a clear error says what to change.
    per_author : bool, default True
        Count a pair's co-actions on posts of one author (reposts, quotes, replies of the same
        account's posts) as one piece of evidence. Followers see an account's posts at once and
        react within minutes: a fan club reposting its idol, readers of a news outlet. Such a
        pair must also co-act on posts of other authors or on other objects (links, hashtags,
        texts) to be an edge. ``False`` counts every post (as the peers do); a network that only
        ever amplifies one account is then found, and so is every fan club.
    discover : bool, default True
        Also look for groups whose pairs are each weak evidence but whose members together
        co-act far more than chance allows (a network rotating its members through pushes, or
        hiding them in organic activity): :func:`cib.discovery.discover_groups`, calibrated on
        ``discovery_runs`` null runs of the whole procedure; a group is reported when its false
        discovery rate is at most ``edge_fdr`` (a false group brings several innocent accounts
        at once). Accounts already in flagged clusters are left out; groups found become
        clusters (``found_by`` ``"group"``, ``p_value`` = the group's false discovery rate),
        their co-acting member pairs rows of ``edges`` with ``group_edge`` true.
    discovery_runs : int, default 10
        Null runs of group discovery (at least 2; 0 turns it off like ``discover=False``).
    discovery_window : float or str or None, default "10m"
        Group discovery runs a second time at this longer window, on the accounts still
        unexplained, for groups that act within minutes rather than seconds (slow
        coordination); only objects whose middle 80 % of shares fall within 10 such windows
        count there (a push, not a hashtag trending for hours). Its groups are tested against
        the null at that window and their co-actions (evidence, ``coactions.csv``) are those
        within it. None, or a value not above ``window`` (``0``), skips it.
    discovery_max_pairs : int or None, default 1,000,000
        Group discovery is skipped (with a warning in the manifest and the summary) when the
        data has more co-actions (pairs of shares of one object within the window) than this
        outside crowds (objects more than 100 accounts co-acted on, which discovery leaves
        out): on dense inputs it would take far longer than everything else. None: no bound.
    edge_groups : bool, default True
        Also test co-action edges as groups (:func:`cib.nullmodel._edge_groups`): the pairs
        with ``p_value <= 1e-3`` among accounts not already in pairs significant on their own
        form Leiden communities, whose false discovery rate is calibrated on the edge stage's
        ``fdr_runs`` null runs; a pair inside a group with a rate of at most ``edge_fdr`` gets
        that rate as its ``q_value`` (when lower) and the group in ``edge_group``. A group that
        hides its pushes in organic activity gives each pair ``p ~ 1e-4``, not enough one by
        one. Needs ``fdr_runs``.
    rejects, input_stats : optional
        What :func:`cib.read_actions` returned, carried into the outputs and the manifest.
    engine : {"pandas", "dask"}, default "pandas"
        ``"dask"`` reads, builds traces and runs the co-action join partitioned by (kind, object)
        on a Dask cluster and finishes the account graph here (:func:`cib.distributed.detect_dask`;
        needs ``cib[dask]``); the outputs are byte-identical to the default engine's.
        ``Detection.traces`` then holds every trace of the accounts in the graph and the
        clusters, the rows that ``Detection.cluster`` and the members' tables use (all TRACES
        in one process would be the largest table of a run that outgrows one machine; the
        other traces stay on the workers). A DataFrame's action ids must be unique (the
        engine codes each action by its row; :func:`cib.read_actions` makes them so).
    client : distributed.Client, optional
        With ``engine="dask"``: the cluster to use (default: a temporary local cluster).
    partitions : int, optional
        With ``engine="dask"``: partitions of the (kind, object) shuffle (default: from the
        data's size).

    Returns
    -------
    Detection

    Notes
    -----
    Each stage is logged at INFO level on the ``cib.stages`` logger as it ends, with its
    seconds (the same figures as the manifest's ``timings_s``); ``logging.basicConfig()`` and
    ``logging.getLogger("cib").setLevel("INFO")`` show them, ``cib -v detect`` prints them.

    Examples
    --------
    >>> from cib.datasets import simulate
    >>> actions, truth = simulate(n_accounts=300, n_groups=2, seed=2)
    >>> det = detect(actions, window="60s", n_null=20)
    >>> bool(det.clusters["flagged"].any())
    True
    """
    if engine != "pandas" and _prepared is None:
        check_choice(engine, ENGINES, "engine", "detect")
        from .distributed import detect_dask

        return detect_dask(actions, client=client, partitions=partitions, window=window,
                           kinds=kinds, min_weight=min_weight, method=method,
                           resolution=resolution, seed=seed, n_null=n_null, alpha=alpha,
                           edge_fdr=edge_fdr, fdr_runs=fdr_runs, min_text_chars=min_text_chars,
                           text_match=text_match, text_threshold=text_threshold, timing=timing,
                           timing_bin=timing_bin, timing_min_common=timing_min_common,
                           timing_pairs=timing_pairs,
                           max_partners=max_partners, memory_budget=memory_budget,
                           per_author=per_author, discover=discover,
                           discovery_runs=discovery_runs,
                           discovery_window=discovery_window,
                           discovery_max_pairs=discovery_max_pairs, edge_groups=edge_groups,
                           rejects=rejects, input_stats=input_stats)
    timings, _lap = stopwatch()

    def lap(stage: str) -> None:
        # what a stage freed goes back to the system before the next comes on top of it
        # (Arrow's pool and glibc keep it otherwise: ~150 bytes a trace after the coding alone)
        release_memory()
        _lap(stage)

    if _prepared is None:  # the dask engine validated its partitions
        validate_actions(actions)
    w = parse_duration(window, "window", "detect")
    kinds = parse_kinds(kinds, KINDS, DEFAULT_KINDS, caller="detect")
    check_number(min_weight, "min_weight", "detect", low=1)
    check_choice(method, METHODS, "method", "detect")
    check_number(resolution, "resolution", "detect", low=0, low_open=True)
    check_number(seed, "seed", "detect", low=0, integer=True)
    check_number(n_null, "n_null", "detect", low=0, integer=True)
    check_number(alpha, "alpha", "detect", low=0, high=1)
    check_number(edge_fdr, "edge_fdr", "detect", low=0, high=1)
    check_number(fdr_runs, "fdr_runs", "detect", low=0, integer=True)
    check_number(min_text_chars, "min_text_chars", "detect", low=0, integer=True)
    check_number(timing_min_common, "timing_min_common", "detect", low=1, integer=True)
    check_choice(timing_pairs, TIMING_PAIRS, "timing_pairs", "detect")
    check_number(discovery_runs, "discovery_runs", "detect", low=0, integer=True)
    w2 = parse_duration(discovery_window, "discovery_window", "detect") \
        if discovery_window is not None else 0.0
    if 0 < discovery_runs < 2:
        from .errors import ParameterError

        raise ParameterError("discovery_runs", "detect", "0 (off) or at least 2", discovery_runs)
    if max_partners is not None:
        check_number(max_partners, "max_partners", "detect", low=1, integer=True)
    budget_bytes = parse_memory_budget(DEFAULT_MEMORY_BUDGET if memory_budget is None
                                       else memory_budget)
    budget_pairs = max(budget_bytes // BYTES_PER_SELECTED_PAIR, 1)

    if _prepared is None:
        all_traces = build_traces(actions, kinds=kinds, min_text_chars=min_text_chars,
                                  text_match=text_match, text_threshold=text_threshold)
        n_traces = len(all_traces)
        by_kind = all_traces["kind"].value_counts()
        lap("traces")
        # the engine works on the traces of objects acted on at least twice (an object acted
        # on once pairs with nothing, in the data and in every null run: about half of all
        # traces); the account codes stay those of all traces
        coded, traces, repeated = _Coded.repeated(all_traces)
    else:  # the dask engine gathered the repeated objects' traces only
        all_traces, repeated = None, None
        n_traces, by_kind = _prepared.n_traces, _prepared.traces_by_kind
        lap("traces")
        # coded from the workers' codes: of the frame, the action ids are all that is kept
        coded, traces = _prepared.code(_Coded)
    window_ns = int(round(w * 1e9))
    if per_author:  # the dask engine looks the posts' authors up on its workers
        coded.set_authors(actions, author_of=None if _prepared is None else _prepared.author_of)
    if _prepared is not None:
        _prepared.id_store = []  # the workers' action ids, asked or not, are let go
    release_memory()
    st = SortedTraces(coded, window_ns=window_ns, max_partners=max_partners,
                      budget_pairs=min(budget_pairs, DEFAULT_BUDGET_PAIRS), max_selected=budget_pairs)
    # the candidate edges (weight >= min_weight) without materialising any co-action, and how
    # many co-actions and co-acting account pairs there are in all
    cand = st.edges(min_weight) if _prepared is None else _prepared.candidates(coded, min_weight)
    per_group, coacting = st.trace_partners()
    n_coactions = int(round(float(per_group.sum())))
    dropped = st.dropped_pairs()
    cu, cv = cand["u"].astype(np.int64), cand["v"].astype(np.int64)
    n_edges_all = int(cand["n_edges_all"])
    del cand
    # the co-actions behind the candidate edges: medians, delays, distinct events
    sel = st.select(pairs=(cu, cv), what="co-actions of candidate edges")
    lap("coaction")
    by_kind_edges, combined = _candidate_edges(traces, coded, *sel)
    del cu, cv
    cu_ids = coded.account_codes(combined["account_u"])
    cv_ids = coded.account_codes(combined["account_v"])
    candidates = _significance(coded, st, combined, cu_ids, cv_ids, per_group, sel, min_weight,
                               fdr_runs, seed,
                               group_fdr=edge_fdr if edge_groups else None, copy=False)
    # what discovery needs of the candidate edges' co-actions; the rest is freed
    removed = np.bincount(coded.group[sel[0]], minlength=coded.n_groups).astype(np.float64)
    del sel, combined
    if "edge_group" not in candidates:
        candidates["edge_group"] = np.full(len(candidates), -1, dtype=np.int64)
    candidates["significant"] = (candidates["q_value"] <= edge_fdr).to_numpy(dtype=bool)
    lap("edges")
    if _prepared is not None:  # the dask engine's posts, gathered now (not beside the edges')
        actions = _prepared.posts()
    if timing:
        t_edges = timing_edges(actions, bin_s=timing_bin, min_common=timing_min_common,
                               fdr=edge_fdr, groups=discover and discovery_runs >= 2,
                               null_runs=discovery_runs, seed=seed, pairs=timing_pairs)
        candidates = merge_timing(candidates, t_edges, copy=False)
    else:
        t_edges = timing_edges(actions.iloc[:0])
    candidates["group_edge"] = False
    graph_edges = candidates[candidates["significant"]].reset_index(drop=True)
    lap("timing")
    communities = find_communities(graph_edges, method=method, resolution=resolution, seed=seed)
    sizes = communities.map(communities.value_counts())
    labels = communities.where(sizes >= 2, -1)
    if method != "components":  # components are what the graph connects, nothing more
        labels = _merge_split(labels, candidates)
        labels = _drop_timing_pendants(labels, graph_edges)
    # renumber clusters 0..K-1 (communities are already numbered by decreasing size)
    keep = sorted(labels[labels >= 0].unique())
    labels = labels.map({**{c: i for i, c in enumerate(keep)}, -1: -1}).astype("int64")
    lap("communities")
    def cluster_p(labels: pd.Series) -> pd.DataFrame:
        pv, co_runs = cluster_pvalues(traces, labels, window=w, n_null=n_null, seed=seed,
                                      coded=coded, return_null=True)
        if timing:
            pv = combine_timing_pvalues(pv, co_runs, graph_edges, labels, actions,
                                        bin_s=timing_bin, n_null=n_null, seed=seed)
        return pv

    def cluster_q(pv: pd.DataFrame, labels: pd.Series, graph_edges: pd.DataFrame,
                  groups_q: pd.Series | None = None) -> pd.DataFrame:
        # the rate of false clusters at least as strong (selection of the members included);
        # a discovered group has its own (its calibrated false discovery rate)
        found = [] if groups_q is None else list(groups_q.index)
        q = pv["cluster_id"].map(cluster_qvalues(
            labels, graph_edges, candidates, t_edges if timing else None,
            min_weight=min_weight, edge_fdr=edge_fdr, exclude=found))
        if groups_q is not None:
            q = q.where(~pv["cluster_id"].isin(found), pv["cluster_id"].map(groups_q))
        return pv.assign(q_value=q.astype("float64"))

    pv = cluster_q(cluster_p(labels), labels, graph_edges)
    lap("nullmodel")
    groups = None
    long_ids: set = set()
    st_long = None
    discovery_warnings: list[str] = []
    if discover and discovery_runs >= 2:
        chance = coded.chance(per_group, removed)
        skip = np.zeros(coded.n_accounts, dtype=bool)
        flagged_ids = set(pv.loc[(pv["p_value"] <= alpha) & ~(pv["q_value"] > alpha),
                                 "cluster_id"].tolist())
        in_flagged = labels[labels.isin(flagged_ids)]
        if len(in_flagged):
            codes = coded.account_codes(in_flagged.index)
            skip[codes[codes >= 0]] = True
        glab, groups = discover_groups(coded, st, chance, skip, runs=discovery_runs, seed=seed,
                                       fdr=edge_fdr, resolution=resolution,
                                       max_pairs=discovery_max_pairs)
        if groups.attrs.get("skipped"):
            discovery_warnings.append(groups.attrs["skipped"])
        groups.insert(0, "window_s", w)
        n1 = int(glab.max()) + 1 if glab.size and glab.max() >= 0 else 0
        if w2 > w:
            st_long = SortedTraces(coded, window_ns=int(round(w2 * 1e9)),
                                   max_partners=max_partners, budget_pairs=st.budget,
                                   max_selected=budget_pairs)
            glab2, groups2 = discover_groups(coded, st_long, None, skip | (glab >= 0),
                                             runs=discovery_runs, seed=seed, fdr=edge_fdr,
                                             resolution=resolution,
                                             max_pairs=discovery_max_pairs,
                                             max_span=LONG_MAX_SPAN)
            if groups2.attrs.get("skipped"):
                discovery_warnings.append(groups2.attrs["skipped"])
            groups2.insert(0, "window_s", w2)
            glab = np.where(glab2 >= 0, glab2 + n1, glab)
            groups2["group"] = np.where(groups2["group"] >= 0, groups2["group"] + n1, -1)
            groups = pd.concat([groups, groups2], ignore_index=True)
        n_new = int(glab.max()) + 1 if glab.size else 0
        groups["cluster_id"] = -1
        if n_new:
            labels, gq = _merge_groups(labels, glab, coded, groups)
            long_ids = set(gq.index[gq["window_s"] > w])
            candidates = _add_group_edges(candidates, traces, coded, st, labels,
                                          gq[gq["window_s"] <= w], chance)
            if long_ids:
                candidates = _add_group_edges(candidates, traces, coded, st_long, labels,
                                              gq[gq["window_s"] > w], None)
            graph_edges = candidates[candidates["significant"] | candidates["group_edge"]] \
                .reset_index(drop=True)
            groups["cluster_id"] = groups["group"].map(
                {g: c for c, g in gq["group"].items()}).fillna(-1).astype("int64")
            pv = cluster_p(labels)
            # a discovered group's p-value is its calibrated false discovery rate: the
            # fixed-membership test above does not know the members were chosen from the data,
            # and it weighs co-actions, where discovery counts bursts
            pv = pv.set_index("cluster_id")
            pv.loc[gq.index, "p_value"] = gq["q_value"].to_numpy()
            pv = cluster_q(pv.reset_index(), labels, graph_edges, gq["q_value"])
        lap("discovery")
    # the co-actions between members of the same cluster: the evidence
    lab = np.full(coded.n_accounts, -1, dtype=np.int64)
    if len(labels):
        codes = coded.account_codes(labels.index)
        lab[codes[codes >= 0]] = labels.to_numpy(dtype=np.int64)[codes >= 0]
    if long_ids:
        long_lab = np.where(np.isin(lab, sorted(long_ids)), lab, -1)
        i, j = st.select(labels=np.where(long_lab >= 0, -1, lab), what="co-actions within clusters")
        i2, j2 = st_long.select(labels=long_lab, what="co-actions within clusters")
        pairs = coaction_frame(traces, coded, np.concatenate([i, i2]), np.concatenate([j, j2]))
    else:
        pairs = coaction_frame(traces, coded, *st.select(labels=lab, what="co-actions within clusters"))
    intra = intra_cluster(pairs, labels)
    found = set() if groups is None else set(groups.loc[groups["cluster_id"] >= 0, "cluster_id"])
    # the tables look only at the traces of accounts in the graph or in clusters: those rows,
    # picked by account code (the tables' string group-bys over all TRACES took ~300 bytes a
    # trace for a few thousand accounts)
    mine = np.zeros(coded.n_accounts, dtype=bool)
    for ids in (graph_edges["account_u"], graph_edges["account_v"], labels.index):
        codes = coded.account_codes(ids)
        mine[codes[codes >= 0]] = True
    own, own_coacting = _own_traces(traces, coacting, coded, mine, all_traces, repeated,
                                    _prepared)
    clusters = cluster_table(labels, graph_edges, intra, own, pv, window=w, alpha=alpha,
                             groups=found, cluster_window={c: w2 for c in long_ids})
    flagged = set(clusters.loc[clusters["flagged"], "cluster_id"].tolist())
    members = member_table(graph_edges, labels, own, own_coacting, self_repeats(own), flagged)
    if all_traces is None:  # the dask engine: Detection.traces are these accounts' traces
        all_traces = own
    del own, own_coacting, mine
    evidence = evidence_table(intra, actions if _prepared is None else _prepared.texts(intra))
    # the candidate edges become EDGES in place (no second copy of the largest table)
    edges = candidates
    edges["cluster_u"] = edges["account_u"].map(labels).fillna(-1).astype("int64")
    edges["cluster_v"] = edges["account_v"].map(labels).fillna(-1).astype("int64")
    lap("scoring")

    if rejects is None:
        from .schema import empty_rejects

        rejects = empty_rejects()
    stats = dict(input_stats or {})
    if _prepared is None:
        n_actions, n_accounts = len(actions), int(actions["account_id"].nunique())
    else:  # the dask engine's ``actions`` are the original posts only
        n_actions, n_accounts = _prepared.n_actions, _prepared.n_accounts
    manifest = {
        "cib_version": __version__,
        "parameters": {"window_s": w, "kinds": kinds, "min_weight": min_weight, "method": method,
                       "resolution": resolution, "seed": seed, "n_null": n_null, "alpha": alpha,
                       "edge_fdr": edge_fdr, "fdr_runs": fdr_runs,
                       "min_text_chars": min_text_chars, "text_match": text_match,
                       "text_threshold": text_threshold, "timing": bool(timing),
                       "timing_bin_s": parse_duration(timing_bin), "timing_min_common": timing_min_common,
                       "timing_pairs": timing_pairs,
                       "max_partners": max_partners,
                       "memory_budget": memory_budget, "per_author": bool(per_author),
                       "discover": bool(discover), "discovery_runs": discovery_runs,
                       "discovery_max_pairs": discovery_max_pairs,
                       "edge_groups": bool(edge_groups),
                       "discovery_window_s": w2 if w2 > w else None},
        "engine": {"numba": bool(st.numba), "budget_pairs": int(st.budget),
                   "max_partners": max_partners, "dropped_pairs": int(dropped)},
        "seed": seed,
        "versions": _versions(),
        "inputs": stats.get("files", []),
        "rows": {"read": stats.get("rows_read", n_actions),
                 "rejected": stats.get("rows_rejected", len(rejects)),
                 "duplicates_dropped": stats.get("duplicates_dropped", 0)},
        "timestamp_resolution_s": stats.get("timestamp_resolution_s"),
        "warnings": list(stats.get("warnings", [])) + discovery_warnings,
        "counts": {"actions": n_actions, "accounts": n_accounts,
                   "traces": int(n_traces),
                   "traces_by_kind": {k: int(v) for k, v in by_kind.sort_index().items()},
                   "coactions": n_coactions, "edges_all": n_edges_all,
                   "candidate_edges": int((edges["weight"] >= min_weight).sum()),
                   "coaction_edges": int(((edges["weight"] >= min_weight)
                                          & (edges["q_value"] <= edge_fdr)).sum()),
                   "timing_pairs_tested": int(t_edges.attrs.get("pairs_tested", len(t_edges))),
                   "timing_edges": int(t_edges["significant"].sum()) if len(t_edges) else 0,
                   "graph_edges": len(graph_edges),
                   "discovered_groups": int((groups["cluster_id"] >= 0).sum())
                   if groups is not None else 0,
                   "graph_accounts": len(members),
                   "clusters": len(clusters), "flagged": len(flagged)},
        "timings_s": timings,
    }
    return Detection(clusters=clusters, members=members, edges=edges, evidence=evidence,
                     edges_by_kind=by_kind_edges, coactions=pairs, traces=all_traces,
                     rejects=rejects,
                     manifest=manifest, timing_edges=t_edges, groups=groups)


def _own_traces(traces: pd.DataFrame, coacting: np.ndarray, coded: _Coded, mine: np.ndarray,
                all_traces: pd.DataFrame | None, keep: np.ndarray | None, prepared: Any
                ) -> tuple[pd.DataFrame, np.ndarray]:
    """All traces of the accounts ``mine`` (bool per account code), in TRACES order, and per row
    its co-acting flag: their rows of the repeated objects' ``traces`` (picked by code) and of
    the objects acted on once (which co-act with nothing), from ``all_traces`` or, with the
    dask engine, from the workers."""
    rows = np.flatnonzero(mine[coded.account])
    if prepared is not None:
        return prepared.own_traces(prepared.rows(coded, rows), coacting[rows],
                                   coded.accounts[mine])
    if keep is None:  # every trace is on a repeated object
        return traces.take(rows).reset_index(drop=True), coacting[rows]
    # rows of all traces: the repeated objects' (by code) and the others' of these accounts
    single = np.ones(len(all_traces), dtype=bool)
    single[keep] = False
    ids = pd.Index(np.asarray(coded.accounts[mine], dtype=object))
    single &= np.asarray(all_traces["account_id"].isin(ids), dtype=bool)
    full = np.concatenate([keep[rows], np.flatnonzero(single)])
    flag = np.concatenate([coacting[rows], np.zeros(full.size - rows.size, dtype=coacting.dtype)])
    order = np.argsort(full, kind="stable")
    return all_traces.take(full[order]).reset_index(drop=True), flag[order]


#: Co-actions turned into rows at once when the candidate edges are aggregated (their frame
#: takes ~300 bytes a row, its group-bys as much again).
EDGE_CHUNK_COACTIONS = 2_000_000


def _popularity(coded: _Coded, i: np.ndarray) -> pd.Series:
    """The distinct accounts of the objects of trace rows ``i``, by ``(kind, object_id)``, from
    the codes (``edges_per_kind`` would group all TRACES by their strings for it: ~200 bytes a
    trace, for a few thousand objects)."""
    from .coaction._partial import sorted_unique

    groups = sorted_unique(coded.group[i])
    return pd.Series(
        coded.object_accounts[groups].astype(np.int64),
        index=pd.MultiIndex.from_arrays([coded.kind_names[coded.group_kind[groups]],
                                         coded.group_object[groups]],
                                        names=["kind", "object_id"]))


def _candidate_edges(traces: pd.DataFrame, coded: _Coded, i: np.ndarray, j: np.ndarray,
                     chunk: int | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``edges_per_kind`` and ``combine_edges`` of the co-actions ``(i, j)`` (trace rows), in
    chunks of at most ``chunk`` co-actions (default :data:`EDGE_CHUNK_COACTIONS`) cut between
    ranges of ``account_u``: every edge is an aggregate of its own co-actions, and chunks by
    ranges of the smaller account (codes follow the sorted ids) come out in the order of the
    whole, so the tables are those of one pass without its memory."""
    chunk = EDGE_CHUNK_COACTIONS if chunk is None else int(chunk)
    popularity = _popularity(coded, i)
    if i.size <= chunk:
        pairs = coaction_frame(traces, coded, i, j, actions=False)
        by_kind = edges_per_kind(pairs, None, popularity)
        return by_kind, combine_edges(by_kind, pairs)
    kinds, combs = [], []
    for idx in _pair_chunks(coded.account, i, j, coded.n_accounts, chunk):
        pairs = coaction_frame(traces, coded, i[idx], j[idx], actions=False)
        bk = edges_per_kind(pairs, None, popularity)
        combs.append(combine_edges(bk, pairs))
        kinds.append(bk)
        del pairs
    by_kind = pd.concat(kinds, ignore_index=True).sort_values("kind", kind="mergesort",
                                                              ignore_index=True)
    w_cols = sorted({col for comb in combs for col in comb.columns if col.startswith("w_")})
    cols = [col for col in combs[0].columns if not col.startswith("w_")] + w_cols
    for comb in combs:  # a kind missing from a chunk has weight 0 there
        for col in w_cols:
            if col not in comb.columns:
                comb[col] = np.zeros(len(comb), dtype=np.int64)
    combined = pd.concat([comb[cols] for comb in combs], ignore_index=True)
    return by_kind, combined


def _merge_groups(labels: pd.Series, glab: np.ndarray, coded: _Coded,
                  groups: pd.DataFrame) -> tuple[pd.Series, pd.DataFrame]:
    """Add the discovered groups (``glab``: group per account code) to the cluster labels:
    their members leave any (unflagged) cluster they were in; clusters left with fewer than two
    members dissolve; the groups get the next cluster ids, in their own order. Returns the new
    labels and, per new cluster id, the group's ``group`` and ``q_value``."""
    acc = np.flatnonzero(glab >= 0)
    ids = coded.accounts[acc]
    lab = labels.copy()
    lab = lab[~lab.index.isin(ids)]
    sizes = lab.map(lab.value_counts())
    lab = lab[sizes >= 2]
    keep = sorted(lab.unique())
    lab = lab.map({c: i for i, c in enumerate(keep)}).astype("int64")
    base = len(keep)
    new = pd.Series(base + glab[acc], index=pd.Index(ids, name=labels.index.name))
    out = pd.concat([lab, new]).sort_index(kind="mergesort").astype("int64")
    sig = groups[groups["group"] >= 0]
    gq = pd.DataFrame({"group": sig["group"].to_numpy(), "q_value": sig["q_value"].to_numpy(),
                       "window_s": sig["window_s"].to_numpy(dtype=np.float64)},
                      index=pd.Index(base + sig["group"].to_numpy(), name="cluster_id"))
    return out, gq


def _drop_timing_pendants(labels: pd.Series, edges: pd.DataFrame) -> pd.Series:
    """Accounts that hang on a co-action community of 4 or more (at least half its internal
    edges share objects) by a single timing pair (one edge inside it, sharing no object with any
    member: ``weight`` 0) leave it (label -1).

    Leiden puts every account in some community; one false timing pair (the pair test lets
    through about ``edge_fdr`` of them) attaches an outsider to a whole co-action group
    (scenario seed 1105: a fan-club account, by one timing pair, to a 29-account links group).
    A member that shares objects with the group, or keeps time with two of its members, stays."""
    lab = labels[labels >= 0]
    if lab.empty or edges.empty:
        return labels
    lu = edges["account_u"].map(labels)
    lv = edges["account_v"].map(labels)
    inside = edges[((lu == lv) & (lu >= 0)).to_numpy()]
    deg = pd.concat([inside["account_u"], inside["account_v"]]).value_counts()
    co = inside[inside["weight"].to_numpy() > 0]
    co_deg = pd.concat([co["account_u"], co["account_v"]]).value_counts()
    size = lab.map(lab.value_counts())
    # only in co-action groups (at least half their internal edges share objects): in a group
    # found by its posting times alone, every member hangs on timing pairs
    cl = inside["account_u"].map(labels)
    co_share = (inside["weight"].to_numpy() > 0).astype(float)
    co_group = pd.Series(co_share, index=cl.to_numpy()).groupby(level=0).mean() >= 0.5
    pend = (deg.reindex(lab.index).fillna(0) <= 1) & (co_deg.reindex(lab.index).fillna(0) == 0) \
        & (size >= 4) & lab.map(co_group).fillna(False).astype(bool)
    if not pend.any():
        return labels
    out = labels.where(~labels.index.isin(pend.index[pend]), -1)
    sizes = out.map(out[out >= 0].value_counts())
    return out.where(sizes >= 2, -1)                 # a community left with one account is none


#: Two communities are one when the share of their cross pairs with ``p <= GROUP_EDGE_P`` is
#: at least this fraction of the smaller of their internal shares (:func:`_merge_split`).
MERGE_DENSITY = 0.5


def _merge_split(labels: pd.Series, candidates: pd.DataFrame) -> pd.Series:
    """Merge communities of the graph that the tested pairs do not tell apart.

    Leiden cuts the graph of significant edges; a group whose strongest pairs passed the edge
    test one by one and whose others passed only as an edge group (or not at all) is cut
    along that line, though its members' pairs across the cut are as far beyond chance as
    those inside. Two communities are merged when, among the tested pairs (``candidates``),
    the share of their cross pairs with ``p_value <= GROUP_EDGE_P`` is at least
    :data:`MERGE_DENSITY` of the smaller of the two communities' internal shares (at least 3
    such cross pairs). Merged communities take the smallest label among them; labels are
    renumbered by decreasing size (ties: smallest label), -1 kept."""
    from .timing import GROUP_EDGE_P

    lab = labels[labels >= 0]
    if lab.nunique() < 2 or candidates.empty:
        return labels
    strong = candidates[(candidates["p_value"] <= GROUP_EDGE_P).to_numpy(dtype=bool)]
    lu = strong["account_u"].map(lab)
    lv = strong["account_v"].map(lab)
    ok = (lu.notna() & lv.notna()).to_numpy()
    lu, lv = lu[ok].astype(np.int64).to_numpy(), lv[ok].astype(np.int64).to_numpy()
    size = lab.value_counts()
    same = lu == lv
    intra = pd.Series(lu[same]).value_counts()
    n = size.reindex(intra.index).to_numpy(dtype=np.float64)
    dens_in = pd.Series(intra.to_numpy() / (n * (n - 1) / 2.0), index=intra.index)
    a, b = np.minimum(lu[~same], lv[~same]), np.maximum(lu[~same], lv[~same])
    if a.size == 0:
        return labels
    cross = pd.DataFrame({"a": a, "b": b}).value_counts().reset_index(name="n")
    cross = cross[cross["n"] >= 3]
    parent = {int(c): int(c) for c in size.index}

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for ca, cb, k in cross[["a", "b", "n"]].itertuples(index=False):
        ca, cb = int(ca), int(cb)
        d = k / float(size[ca] * size[cb])
        low = min(dens_in.get(ca, 0.0), dens_in.get(cb, 0.0))
        if low > 0 and d >= MERGE_DENSITY * low:
            ra, rb = find(ca), find(cb)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
    root = {c: find(c) for c in parent}
    if all(r == c for c, r in root.items()):
        return labels
    out = labels.map(lambda c: root[int(c)] if c >= 0 else -1)
    sizes = out[out >= 0].value_counts()
    order = sorted(sizes.index, key=lambda c: (-sizes[c], c))
    return out.map({**{c: i for i, c in enumerate(order)}, -1: -1}).astype("int64")


def _add_group_edges(candidates: pd.DataFrame, traces: pd.DataFrame, coded: _Coded,
                     st: SortedTraces, labels: pd.Series, gq: pd.DataFrame,
                     chance: np.ndarray | None) -> pd.DataFrame:
    """EDGES rows for the co-acting pairs inside discovered groups (``group_edge`` true): the
    candidate rows already there are marked, the others (weight below ``min_weight``, or
    counted at the group's longer window, ``st``) added with their p-values against the
    chances (None: those of ``st``'s co-actions); their ``q_value`` is the group's."""
    out = candidates.copy()
    if chance is None:
        chance = coded.chance(st.trace_partners()[0], np.zeros(coded.n_groups))
    lab = np.full(coded.n_accounts, -1, dtype=np.int64)
    grp = labels[labels.isin(gq.index)]
    codes = coded.account_codes(grp.index)
    lab[codes[codes >= 0]] = grp.to_numpy(dtype=np.int64)[codes >= 0]
    i, j = st.select(labels=lab, what="co-actions within discovered groups")
    if i.size == 0:
        return out
    pairs = coaction_frame(traces, coded, i, j, actions=False)
    comb = combine_edges(edges_per_kind(pairs, None, _popularity(coded, i)), pairs)
    key = out["account_u"].astype(str) + "\x00" + out["account_v"].astype(str)
    ckey = comb["account_u"].astype(str) + "\x00" + comb["account_v"].astype(str)
    out.loc[key.isin(ckey).to_numpy(), "group_edge"] = True
    add = comb[~ckey.isin(key).to_numpy()].copy()
    if add.empty:
        return out
    u = coded.account_codes(add["account_u"])
    v = coded.account_codes(add["account_v"])
    ev = coded.pair_events(i, j, u, v)
    obs = np.minimum(add["weight"].to_numpy(dtype=np.int64), ev)
    n_common, expected, logp = coded.pvalues(u, v, obs, chance)
    add["n_events"] = ev
    add["n_common"] = n_common
    add["expected"] = expected
    add["p_value"] = np.exp(logp)
    add["log10_p"] = logp / np.log(10.0)
    add["q_value"] = add["account_u"].map(labels).map(gq["q_value"]).to_numpy(dtype=np.float64)
    add["significant"] = False
    add["group_edge"] = True
    add["edge_group"] = -1
    for col in out.columns:
        if col not in add.columns:
            add[col] = 0 if out[col].dtype.kind in "iu" else (
                False if out[col].dtype.kind == "b" else np.nan)
    for col in add.columns:
        if col not in out.columns:  # a kind only the group's pairs used
            out[col] = 0
    add = add[out.columns].astype(out.dtypes.to_dict())
    out = pd.concat([out, add], ignore_index=True)
    return out.sort_values(["account_u", "account_v"], kind="mergesort", ignore_index=True)
