"""Matplotlib figures for notebooks and reports.

Every function draws on the Axes it is given (or on a new figure when ``ax`` is None) and returns
that Axes, so figures compose with ``plt.subplots``. matplotlib is imported inside the functions:
``import cib`` never needs it (install it with ``pip install matplotlib``). The same input always
draws the same figure: nothing here depends on input row order or on an unseeded random step.

The usual entry points are the methods of a cluster view::

    view = det.cluster(cluster_id)
    view.plot_timeline(); view.plot_delays(); view.plot_network()

and, for the choice of the window, :func:`plot_window_sensitivity` over
:func:`cib.sensitivity.window_sweep`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["plot_timeline", "plot_delays", "plot_network", "plot_window_sensitivity",
           "kind_colors", "interactive_network", "InteractiveNetwork"]

# One colour per trace kind, fixed so that a kind has the same colour in every figure.
_KIND_ORDER = ["repost", "quote", "reply", "url", "hashtag", "domain", "mention", "text", "media"]
_PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
            "#7f7f7f", "#bcbd22", "#17becf"]


_LABEL_BOX = {"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1.0}


def kind_colors(kinds: Any = None) -> dict[str, str]:
    """The colour of each trace kind (a fixed mapping, the same in every figure).

    Parameters
    ----------
    kinds : iterable of str, optional
        Kinds to include besides cib's own (unknown kinds get the remaining colours in sorted
        order, then grey).

    Returns
    -------
    dict of str to str
        Kind -> hex colour.

    Examples
    --------
    >>> kind_colors()["repost"]
    '#1f77b4'
    >>> kind_colors(["zzz"])["zzz"]
    '#17becf'
    """
    colors = dict(zip(_KIND_ORDER, _PALETTE))
    extra = sorted(set(kinds or []) - set(colors))
    spare = _PALETTE[len(_KIND_ORDER):]
    for i, kind in enumerate(extra):
        colors[kind] = spare[i] if i < len(spare) else "#555555"
    return colors


def _need_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("cib's plots need matplotlib: pip install matplotlib") from exc


def _new_ax(ax: Any, figsize: tuple[float, float]) -> Any:
    _need_matplotlib()
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize)
    return ax


def _naive_utc(values: pd.Series) -> np.ndarray:
    """Timestamps as tz-naive UTC datetime64[ns] (what matplotlib's date axis expects)."""
    s = pd.to_datetime(values, utc=True)
    return s.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")


def _short(label: str, width: int = 12) -> str:
    label = str(label)
    return label if len(label) <= width else label[: width - 1] + "\u2026"


def _empty(ax: Any, message: str) -> Any:
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, color="0.4")
    return ax


def plot_timeline(view: Any, ax: Any = None, max_points: int = 5000) -> Any:
    """Accounts by time: one mark per co-action trace of a cluster, coloured by kind.

    Each co-action (a pair of traces of two members on the same object within the window) gives
    a mark at both ends; a trace in several pairs is drawn once. Accounts that act in lockstep
    show as vertical stripes: many accounts, the same moment, the same colour.

    Parameters
    ----------
    view : cib.pipeline.ClusterView
        A cluster (``det.cluster(cluster_id)``); its ``coactions`` and ``members`` are used.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure when None.
    max_points : int, default 5000
        Draw at most this many marks: beyond it, an evenly spaced selection of the traces in
        time order (deterministic), and the title says so.

    Returns
    -------
    matplotlib.axes.Axes
        The Axes, with one scatter collection per kind (labelled with the kind) and a legend;
        accounts on the y axis, ordered by their first co-action (earliest at the top).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from cib import detect, simulate
    >>> det = detect(simulate(n_accounts=200, n_groups=1, days=2, seed=1)[0], n_null=10,
    ...              fdr_runs=5)
    >>> ax = det.cluster(0).plot_timeline()
    >>> ax.get_xlabel()
    'time (UTC)'
    """
    _need_matplotlib()
    import matplotlib.dates as mdates

    if max_points < 1:
        raise ValueError(f"max_points must be at least 1, got {max_points!r}")
    ax = _new_ax(ax, (9, 4.5))
    ca = view.coactions
    cols = {"account_id": "account", "action_id": "action", "time": "time"}
    ends = pd.concat([
        pd.DataFrame({name: ca[f"{src}_{end}"].reset_index(drop=True) for name, src in cols.items()}
                     | {"kind": ca["kind"].reset_index(drop=True),
                        "object_id": ca["object_id"].reset_index(drop=True)})
        for end in ("a", "b")
    ], ignore_index=True)
    ends = (ends.drop_duplicates(["account_id", "action_id", "kind", "object_id"])
                .sort_values(["time", "account_id", "kind", "object_id", "action_id"],
                             kind="mergesort")
                .reset_index(drop=True))
    cid = getattr(view, "cluster_id", "?")
    title = f"Cluster {cid}: co-action timeline"

    # accounts: by first co-action, then members with none (by id)
    first = ends.groupby("account_id", sort=True)["time"].min().sort_values(kind="mergesort")
    accounts = list(first.index)
    members = getattr(view, "members", None)
    if members is not None and "account_id" in members:
        accounts += sorted(set(members["account_id"]) - set(accounts))
    row = {a: i for i, a in enumerate(accounts)}

    total = len(ends)
    if total > max_points:
        keep = np.unique(np.linspace(0, total - 1, max_points).round().astype(np.int64))
        ends = ends.iloc[keep].reset_index(drop=True)
        title += f" ({len(ends):,} of {total:,} traces shown)"

    if total == 0:
        _empty(ax, "no co-actions between members")
    else:
        colors = kind_colors(ends["kind"].unique())
        x = _naive_utc(ends["time"])
        y = ends["account_id"].map(row).to_numpy()
        marker_size = 60 if len(accounts) <= 40 else 20
        for kind in sorted(ends["kind"].unique(), key=lambda k: (_KIND_ORDER + [k]).index(k)):
            m = (ends["kind"] == kind).to_numpy()
            ax.scatter(x[m], y[m], marker="|", s=marker_size, linewidths=1.2,
                       color=colors[kind], label=f"{kind} ({int(m.sum()):,})")
        ax.legend(title="kind (traces)", loc="upper left", bbox_to_anchor=(1.01, 1.0),
                  frameon=False, fontsize="small", markerscale=1.5)
        locator = mdates.AutoDateLocator()
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))

    ax.set_ylim(len(accounts) - 0.5 if accounts else 0.5, -0.5)
    if 0 < len(accounts) <= 40:
        ax.set_yticks(range(len(accounts)))
        ax.set_yticklabels([_short(a) for a in accounts], fontsize="small")
    else:
        ax.set_yticks([])
    ax.set_ylabel(f"accounts ({len(accounts)}), by first co-action")
    ax.set_xlabel("time (UTC)")
    ax.set_title(title)
    ax.grid(axis="x", color="0.9")
    ax.set_axisbelow(True)
    return ax


def plot_delays(coactions: pd.DataFrame, ax: Any = None, window: float | None = None,
                bins: int = 30) -> Any:
    """Histogram of the delays between the two traces of each co-action.

    Coordinated accounts tend to follow each other within seconds, so their delays pile up
    near 0; organic co-sharing spreads over the whole window.

    Parameters
    ----------
    coactions : DataFrame
        COACTIONS (a ``delay_s`` column), e.g. ``det.cluster(cluster_id).coactions``.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure when None.
    window : float, optional
        The co-action window in seconds: the bins then span ``[0, window]`` and a dashed vertical
        line marks it.
    bins : int, default 30
        Number of bins.

    Returns
    -------
    matplotlib.axes.Axes
        The Axes, with one bar patch per bin, the median as a dotted line (label ``median``) and
        the window as a dashed one (label ``window``) when given.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> pairs = pd.DataFrame({"delay_s": [1.0, 2.0, 2.0, 5.0, 40.0]})
    >>> ax = plot_delays(pairs, window=60, bins=6)
    >>> len(ax.patches), [line.get_label() for line in ax.lines]
    (6, ['median', 'window'])
    """
    if int(bins) < 1:
        raise ValueError(f"bins must be at least 1, got {bins!r}")
    ax = _new_ax(ax, (6, 3.5))
    delays = pd.to_numeric(coactions["delay_s"], errors="coerce").dropna().to_numpy(dtype=float)
    top = float(delays.max()) if len(delays) else 0.0
    if window is not None and float(window) > 0:
        top = max(top, float(window))
    ax.hist(delays, bins=int(bins), range=(0.0, top if top > 0 else 1.0),
            color="#4c72b0", edgecolor="white", linewidth=0.5)
    if len(delays):
        med = float(np.median(delays))
        ax.axvline(med, color="0.2", linestyle=":", linewidth=1.2, label="median")
        ax.text(med, 1.0, f" median {med:.0f} s", transform=ax.get_xaxis_transform(), va="top",
                ha="left", fontsize="small", color="0.2", bbox=_LABEL_BOX)
    else:
        _empty(ax, "no co-actions")
    if window is not None:
        ax.axvline(float(window), color="#c44e52", linestyle="--", linewidth=1.5, label="window")
        ax.text(float(window), 0.9, f"window {float(window):g} s ",
                transform=ax.get_xaxis_transform(), va="top", ha="right", fontsize="small", color="#c44e52", bbox=_LABEL_BOX)
    ax.set_xlabel("delay between the two traces of a co-action (s)")
    ax.set_ylabel("co-actions")
    ax.set_title(f"Delays ({len(delays):,} co-actions)")
    ax.set_xlim(left=0)
    return ax


def plot_network(view: Any, ax: Any = None, seed: int = 0) -> Any:
    """A cluster's account network: node size by strength, edge width by weight.

    Parameters
    ----------
    view : cib.pipeline.ClusterView
        A cluster (``det.cluster(cluster_id)``): its significant edges between members and the
        members' figures (``strength``: popularity-discounted weight of the account's edges).
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure when None.
    seed : int, default 0
        Seed of the spring layout (networkx), so the same cluster is always drawn the same way.

    Returns
    -------
    matplotlib.axes.Axes
        The Axes, with a node collection (one point per member), an edge collection (width
        proportional to ``weight``, the distinct objects co-acted on) and, for clusters of at
        most 30 accounts, the account ids (shortened) as labels.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from cib import detect, simulate
    >>> det = detect(simulate(n_accounts=200, n_groups=1, days=2, seed=1)[0], n_null=10,
    ...              fdr_runs=5)
    >>> view = det.cluster(0)
    >>> ax = view.plot_network()
    >>> len(ax.collections[-1].get_offsets()) == len(view.members)
    True
    """
    import networkx as nx

    ax = _new_ax(ax, (6, 6))
    g = view.to_networkx()
    nodes = sorted(g.nodes())
    # a graph built in sorted order, so the layout never depends on insertion order
    h = nx.Graph()
    h.add_nodes_from(nodes)
    h.add_edges_from(sorted((min(u, v), max(u, v), {"weight": float(d.get("weight", 1.0))})
                            for u, v, d in g.edges(data=True)))
    cid = getattr(view, "cluster_id", "?")
    ax.set_title(f"Cluster {cid}: {h.number_of_nodes()} accounts, {h.number_of_edges()} edges")
    ax.set_axis_off()
    if not nodes:
        return _empty(ax, "no accounts")
    pos = nx.spring_layout(h, seed=int(seed), weight="weight")

    strength = {n: float(g.nodes[n].get("strength", 0.0) or 0.0) for n in nodes}
    s = np.array([strength[n] for n in nodes])
    size = 80 + 520 * (s / s.max() if s.max() > 0 else np.zeros_like(s))
    edges = list(h.edges())
    w = np.array([h.edges[e]["weight"] for e in edges], dtype=float)
    width = 0.5 + 4.5 * (w / w.max()) if len(w) and w.max() > 0 else np.ones(len(w))
    if edges:
        nx.draw_networkx_edges(h, pos, edgelist=edges, width=width, edge_color="0.55",
                               alpha=0.7, ax=ax)
    color = "#c44e52" if bool(getattr(view, "info", {}).get("flagged", False)) else "#4c72b0"
    nx.draw_networkx_nodes(h, pos, nodelist=nodes, node_size=size, node_color=color,
                           edgecolors="white", linewidths=0.8, ax=ax)
    if len(nodes) <= 30:
        nx.draw_networkx_labels(h, pos, labels={n: _short(n) for n in nodes}, font_size=8,
                                bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.7,
                                      "pad": 0.5}, ax=ax)
    ax.text(0.0, -0.02, "node size: strength; edge width: distinct objects co-acted on",
            transform=ax.transAxes, fontsize="small", color="0.4", va="top")
    return ax


def _duration_label(seconds: float) -> str:
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{seconds / 3600:g}h"
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds / 60:g}m"
    return f"{seconds:g}s"


def plot_window_sensitivity(sweep: pd.DataFrame, ax: Any = None) -> Any:
    """Flagged accounts and flagged clusters against the co-action window.

    Parameters
    ----------
    sweep : DataFrame
        What :func:`cib.sensitivity.window_sweep` returns (columns ``window_s``,
        ``flagged_accounts``, ``flagged_clusters``).
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure when None.

    Returns
    -------
    matplotlib.axes.Axes
        The primary Axes (flagged accounts, one line); the flagged clusters are a second line on
        a twin y axis (``ax.right_ax``). The x axis is logarithmic when the windows span a factor
        of 10 or more, with a tick at each window.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> sweep = pd.DataFrame({"window_s": [10.0, 60.0, 300.0], "flagged_accounts": [40, 62, 75],
    ...                       "flagged_clusters": [5, 6, 6]})
    >>> ax = plot_window_sensitivity(sweep)
    >>> [line.get_label() for line in ax.lines + ax.right_ax.lines]
    ['flagged accounts', 'flagged clusters']
    """
    _need_matplotlib()
    from matplotlib.ticker import NullFormatter, NullLocator

    ax = _new_ax(ax, (6, 3.5))
    sw = sweep.sort_values("window_s", kind="mergesort")
    x = sw["window_s"].to_numpy(dtype=float)
    la = ax.plot(x, sw["flagged_accounts"].to_numpy(), marker="o", color="#4c72b0",
                 label="flagged accounts")
    right = ax.twinx()
    lc = right.plot(x, sw["flagged_clusters"].to_numpy(), marker="s", linestyle="--",
                    color="#dd8452", label="flagged clusters")
    ax.right_ax = right
    if len(x) and x.min() > 0 and x.max() / x.min() >= 10:
        ax.set_xscale("log")
        ax.xaxis.set_minor_locator(NullLocator())
        ax.xaxis.set_minor_formatter(NullFormatter())
    if len(x):
        ax.set_xticks(x)
        ax.set_xticklabels([_duration_label(v) for v in x])
    ax.set_xlabel("co-action window")
    ax.set_ylabel("flagged accounts", color="#4c72b0")
    right.set_ylabel("flagged clusters", color="#dd8452")
    ax.set_ylim(bottom=0)
    right.set_ylim(bottom=0)
    right.yaxis.get_major_locator().set_params(integer=True)
    ax.legend(la + lc, [line.get_label() for line in la + lc], loc="lower right", frameon=False)
    ax.set_title("Sensitivity to the window")
    ax.grid(color="0.9")
    ax.set_axisbelow(True)
    return ax


class InteractiveNetwork:
    """A self-contained interactive network page; shows itself in Jupyter in a sandboxed iframe.

    Attributes
    ----------
    html : str
        The whole page (vis.js embedded; no external request).
    """

    def __init__(self, html: str, height: str) -> None:
        self.html = html
        self.height = height

    def save(self, path: str) -> None:
        """Write the page to ``path``."""
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(self.html)

    def _repr_html_(self) -> str:
        from html import escape

        return (f'<iframe sandbox="allow-scripts" style="width:100%;height:{escape(self.height)};'
                f'border:0" srcdoc="{escape(self.html, quote=True)}"></iframe>')


def interactive_network(view: Any, height: str = "520px") -> InteractiveNetwork:
    """An interactive view of one cluster's network for Jupyter (pyvis, extra ``interactive``).

    Nodes are the members (size by strength, tooltip with their figures), edges carry their weight,
    kinds and delays. vis.js is embedded in the page and pyvis's optional external stylesheets and
    scripts are removed, so it works offline and makes no request; every string in a tooltip is
    HTML-escaped, and in a notebook the page runs in a sandboxed iframe.

    Parameters
    ----------
    view : ClusterView
        From :meth:`cib.pipeline.Detection.cluster`.
    height : str, default "520px"

    Returns
    -------
    InteractiveNetwork
        Displays itself in Jupyter; ``.html`` is the page, ``.save(path)`` writes it.
    """
    import re
    from html import escape

    try:
        from pyvis.network import Network
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("cib's interactive network needs pyvis: pip install 'cib[interactive]'") from exc

    net = Network(height=height, width="100%", notebook=False, cdn_resources="in_line",
                  directed=False)
    members = view.members.sort_values("account_id")
    strength = members["strength"].astype(float)
    top = float(strength.max()) if len(strength) and strength.max() > 0 else 1.0
    for rec in members.to_dict("records"):
        title = (f"{rec['account_id']}: degree {rec['degree']}, strength {rec['strength']:.2f}, "
                 f"coordination ratio {rec['coordination_ratio']:.2f}")
        net.add_node(str(rec["account_id"]), label=str(rec["account_id"]), title=escape(title),
                     size=10 + 20 * float(rec["strength"]) / top)
    for rec in view.edges.sort_values(["account_u", "account_v"]).to_dict("records"):
        title = (f"weight {rec['weight']} ({rec['kinds']}), median delay "
                 f"{rec['median_delay_s']:.0f} s, q {rec.get('q_value', float('nan')):.2g}")
        net.add_edge(str(rec["account_u"]), str(rec["account_v"]), value=float(rec["weight"]),
                     title=escape(title))
    page = net.generate_html()
    page = re.sub(r'<link[^>]*href="https?://[^"]*"[^>]*>', "", page)
    page = re.sub(r'<script[^>]*src="https?://[^"]*"[^>]*>\s*</script>', "", page)
    return InteractiveNetwork(page, height)
