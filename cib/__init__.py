"""cib: find coordinated inauthentic behaviour (CIB) in social-media data.

The pipeline, each stage a plain DataFrame-to-DataFrame function::

    actions, rejects, stats = cib.read_actions("posts.csv")        # ACTIONS (+ REJECTS)
    det = cib.detect(actions, window="60s")                         # all stages at once
    det.clusters, det.members, det.edges, det.evidence              # ranked results
    det.write("out/")                                               # CSV, Parquet, GEXF, ...

or stage by stage: :func:`build_traces`, :func:`coactions`, :func:`edges_per_kind`,
:func:`combine_edges`, :func:`threshold_edges`, :func:`find_communities`,
:func:`cluster_pvalues`.
"""

__version__ = "0.1.0"

import sys as _sys
import types as _types
from typing import TYPE_CHECKING

from .errors import CibError, InputError, OutputError, ParameterError

#: Where each public name lives. They are imported on first use (PEP 562), so that
#: ``import cib`` (and the CLI) does not pay for scikit-learn, igraph, matplotlib, scipy or
#: numba until a stage needs them.
_LAZY = {
    "coactions": ".coaction",
    "combine_edges": ".coaction",
    "edges_per_kind": ".coaction",
    "reference_coactions": ".coaction",
    "find_communities": ".communities",
    "run_cnt": ".compat",
    "run_coortweet": ".compat",
    "simulate": ".datasets",
    "simulate_scenarios": ".scenarios",
    "evaluate": ".evaluate",
    "threshold_edges": ".graph",
    "to_igraph": ".graph",
    "to_networkx": ".graph",
    "read_actions": ".io",
    "cluster_pvalues": ".nullmodel",
    "Detection": ".pipeline",
    "detect": ".pipeline",
    "build_traces": ".traces",
}

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs
    from .coaction import coactions, combine_edges, edges_per_kind, reference_coactions
    from .communities import find_communities
    from .compat import run_cnt, run_coortweet
    from .datasets import simulate
    from .evaluate import evaluate
    from .graph import threshold_edges, to_igraph, to_networkx
    from .io import read_actions
    from .nullmodel import cluster_pvalues
    from .pipeline import Detection, detect
    from .scenarios import simulate_scenarios
    from .traces import build_traces


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'cib' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


class _Package(_types.ModuleType):
    """The ``cib`` module's class: importing the submodule ``cib.evaluate`` sets the package
    attribute ``evaluate``, which must stay the function :func:`cib.evaluate.evaluate` (as it
    was when ``__init__`` imported everything eagerly)."""

    def __setattr__(self, name: str, value) -> None:
        if name == "evaluate" and isinstance(value, _types.ModuleType):
            value = value.evaluate
        super().__setattr__(name, value)


_sys.modules[__name__].__class__ = _Package

__all__ = [
    "__version__",
    "read_actions",
    "detect",
    "Detection",
    "build_traces",
    "coactions",
    "reference_coactions",
    "edges_per_kind",
    "combine_edges",
    "threshold_edges",
    "to_igraph",
    "to_networkx",
    "find_communities",
    "run_coortweet",
    "run_cnt",
    "cluster_pvalues",
    "simulate",
    "simulate_scenarios",
    "evaluate",
    "CibError",
    "InputError",
    "ParameterError",
    "OutputError",
]
