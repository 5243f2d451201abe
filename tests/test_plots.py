"""cib.plots (figures for notebooks) and cib.sensitivity.window_sweep."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.collections import LineCollection, PathCollection  # noqa: E402

import cib  # noqa: E402
from cib.errors import ParameterError  # noqa: E402
from cib.plots import (kind_colors, plot_delays, plot_network, plot_timeline,  # noqa: E402
                       plot_window_sensitivity)
from cib.sensitivity import SWEEP_COLUMNS, window_sweep  # noqa: E402


@pytest.fixture(scope="module")
def actions() -> pd.DataFrame:
    return cib.simulate(n_accounts=200, n_groups=2, group_size=(5, 7), days=2, seed=1)[0]


@pytest.fixture(scope="module")
def det(actions):
    return cib.detect(actions, n_null=20, fdr_runs=5, seed=0)


@pytest.fixture(scope="module")
def view(det):
    assert len(det.flagged), "the small simulation should give a flagged cluster"
    return det.cluster(int(det.flagged["cluster_id"].iloc[0]))


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _labels(ax: Axes) -> list[str]:
    return [t.get_text() for t in ax.get_legend().get_texts()] if ax.get_legend() else []


# ---------------------------------------------------------------------------- timeline

def test_timeline_one_collection_per_kind(view):
    ax = view.plot_timeline()
    assert isinstance(ax, Axes)
    kinds = sorted(view.coactions["kind"].unique())
    scatters = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert len(scatters) == len(kinds)
    assert sorted(label.split(" ")[0] for label in _labels(ax)) == kinds
    # every trace at both ends of a co-action, drawn once
    ca = view.coactions
    ends = pd.concat([ca[["account_a", "action_a", "kind", "object_id"]].set_axis(
                          ["account", "action", "kind", "object"], axis=1),
                      ca[["account_b", "action_b", "kind", "object_id"]].set_axis(
                          ["account", "action", "kind", "object"], axis=1)]).drop_duplicates()
    assert sum(len(c.get_offsets()) for c in scatters) == len(ends)
    # one row per member, labelled with the (short) account ids
    assert len(ax.get_yticks()) == len(view.members)
    assert ax.get_xlabel() == "time (UTC)"


def test_timeline_rows_sorted_by_first_action(view):
    ax = plot_timeline(view)
    ca = view.coactions
    first = pd.concat([ca[["account_a", "time_a"]].set_axis(["a", "t"], axis=1),
                       ca[["account_b", "time_b"]].set_axis(["a", "t"], axis=1)])
    first = first.groupby("a")["t"].min().sort_values(kind="mergesort")
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == [a if len(a) <= 12 else a[:11] + "\u2026" for a in first.index]


def test_timeline_max_points_and_given_ax(view):
    fig, ax = plt.subplots()
    out = plot_timeline(view, ax=ax, max_points=10)
    assert out is ax
    assert sum(len(c.get_offsets()) for c in ax.collections) <= 10
    assert "shown" in ax.get_title()
    with pytest.raises(ValueError):
        plot_timeline(view, max_points=0)


def test_timeline_deterministic(view):
    a = plot_timeline(view)
    b = plot_timeline(view)
    for ca, cb in zip(a.collections, b.collections):
        np.testing.assert_array_equal(ca.get_offsets(), cb.get_offsets())


def test_timeline_empty_cluster(view):
    empty = type(view)(view.cluster_id, view.info, view.members, view.edges, view.evidence,
                       view.coactions.iloc[:0], view.traces, view.window_s)
    ax = plot_timeline(empty)
    assert not ax.collections
    assert any("no co-actions" in t.get_text() for t in ax.texts)


# ---------------------------------------------------------------------------- delays

def test_delays_bars_and_window(view):
    ax = view.plot_delays(bins=12)
    assert isinstance(ax, Axes)
    assert len(ax.patches) == 12
    assert sum(p.get_height() for p in ax.patches) == len(view.coactions)
    lines = {line.get_label(): line for line in ax.lines}
    assert set(lines) == {"median", "window"}
    assert lines["window"].get_xdata()[0] == view.window_s
    assert lines["median"].get_xdata()[0] == pytest.approx(view.coactions["delay_s"].median())


def test_delays_without_window_and_empty():
    fig, ax = plt.subplots()
    assert plot_delays(pd.DataFrame({"delay_s": [3.0, 4.0]}), ax=ax, bins=5) is ax
    assert [line.get_label() for line in ax.lines] == ["median"]
    ax = plot_delays(pd.DataFrame({"delay_s": pd.Series([], dtype=float)}), window=60)
    assert [line.get_label() for line in ax.lines] == ["window"]
    with pytest.raises(ValueError):
        plot_delays(pd.DataFrame({"delay_s": [1.0]}), bins=0)


# ---------------------------------------------------------------------------- network

def test_network_nodes_edges_labels(view):
    ax = view.plot_network()
    assert isinstance(ax, Axes)
    nodes = [c for c in ax.collections if isinstance(c, PathCollection)]
    edges = [c for c in ax.collections if isinstance(c, LineCollection)]
    assert len(nodes) == 1 and len(nodes[0].get_offsets()) == len(view.members)
    assert len(edges) == 1 and len(edges[0].get_segments()) == len(view.edges)
    # node size grows with strength, edge width with weight
    sizes = nodes[0].get_sizes()
    strength = view.members.set_index("account_id")["strength"].sort_index().to_numpy()
    assert np.argmax(sizes) == np.argmax(strength)
    assert max(edges[0].get_linewidths()) == pytest.approx(5.0)  # the heaviest edge
    labels = [t.get_text() for t in ax.texts if t.get_text() in set(view.members["account_id"])]
    assert sorted(labels) == sorted(view.members["account_id"])


def test_network_seeded_layout(view):
    a = plot_network(view, seed=3).collections
    b = plot_network(view, seed=3).collections
    np.testing.assert_allclose(a[-1].get_offsets(), b[-1].get_offsets())


# ---------------------------------------------------------------------------- sensitivity

def test_window_sensitivity_plot():
    sweep = pd.DataFrame({"window_s": [300.0, 10.0, 60.0], "coactions": [9, 1, 5],
                          "flagged_accounts": [70, 40, 62], "flagged_clusters": [6, 5, 6]})
    ax = plot_window_sensitivity(sweep)
    assert isinstance(ax, Axes)
    assert [line.get_label() for line in ax.lines] == ["flagged accounts"]
    assert [line.get_label() for line in ax.right_ax.lines] == ["flagged clusters"]
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), [10.0, 60.0, 300.0])
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), [40, 62, 70])
    np.testing.assert_array_equal(ax.right_ax.lines[0].get_ydata(), [5, 6, 6])
    assert ax.get_xscale() == "log"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["10s", "1m", "5m"]
    assert _labels(ax) == ["flagged accounts", "flagged clusters"]


def test_window_sweep(actions):
    sweep = window_sweep(actions, windows=["60s", 10, "10s"], n_null=5, fdr_runs=3)
    assert list(sweep.columns) == SWEEP_COLUMNS
    assert sweep["window_s"].tolist() == [10.0, 60.0]
    assert (sweep["coactions"].diff().dropna() >= 0).all()
    same = cib.detect(actions, window=60, n_null=5, fdr_runs=3)
    row = sweep.iloc[1]
    assert row["coactions"] == same.manifest["counts"]["coactions"]
    assert row["candidate_edges"] == len(same.edges)
    assert row["significant_edges"] == int(same.edges["significant"].sum())
    assert row["flagged_clusters"] == len(same.flagged)
    assert row["flagged_accounts"] == int(same.members["in_flagged"].sum())
    ax = plot_window_sensitivity(sweep)
    assert len(ax.lines) == 1


def test_window_sweep_rejects_bad_input(actions):
    with pytest.raises(ParameterError):
        window_sweep(actions, windows=[], n_null=1)
    with pytest.raises(ParameterError):
        window_sweep(actions, windows=["soon"])
    with pytest.raises(ParameterError):
        window_sweep(actions, window=60)


# ---------------------------------------------------------------------------- misc

def test_kind_colors_fixed():
    colors = kind_colors(["custom"])
    assert colors["repost"] != colors["url"]
    assert len(set(colors.values())) == len(colors)


def test_import_cib_without_matplotlib():
    code = ("import sys; sys.modules['matplotlib'] = None\n"
            "import cib, cib.plots, cib.sensitivity\n"
            "import pandas as pd\n"
            "try:\n"
            "    cib.plots.plot_delays(pd.DataFrame({'delay_s': [1.0]}))\n"
            "except ImportError as e:\n"
            "    assert 'pip install matplotlib' in str(e), e\n"
            "else:\n"
            "    raise SystemExit('no ImportError')\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr


def test_interactive_network_is_offline_and_escaped():
    import re

    import pytest

    pytest.importorskip("pyvis")
    import cib
    from cib.plots import interactive_network

    actions, _ = cib.simulate(n_accounts=300, n_groups=1, seed=2)
    det = cib.detect(actions, n_null=10, fdr_runs=5)
    member = det.cluster(int(det.clusters["cluster_id"].iloc[0])).accounts[0]
    evil = "<img src=x onerror=alert(1)>"
    det = cib.detect(actions.assign(account_id=actions["account_id"].replace({member: evil})),
                     n_null=10, fdr_runs=5)
    view = det.cluster(int(det.members.set_index("account_id").loc[evil, "cluster_id"]))
    shown = interactive_network(view)
    html = shown.html
    assert "new vis.Network" in html
    assert shown._repr_html_().startswith('<iframe sandbox="allow-scripts"')
    # vis.js is embedded: no script or stylesheet is fetched from elsewhere
    assert not re.search(r'<(script|link)[^>]+(src|href)="https?://', html)
    # the tooltip (rendered as HTML by vis.js) carries the escaped name only
    # (pyvis writes the data as JSON with < > & as \u003c \u003e \u0026)
    assert "\\u0026lt;img src=x onerror=alert(1)\\u0026gt;" in html
    assert "<img src=x" not in html
