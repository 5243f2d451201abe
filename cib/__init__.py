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

from .coaction import coactions, combine_edges, edges_per_kind, reference_coactions
from .communities import find_communities
from .compat import run_cnt, run_coortweet
from .datasets import simulate
from .scenarios import simulate_scenarios
from .errors import CibError, InputError, OutputError, ParameterError
from .evaluate import evaluate
from .graph import threshold_edges, to_igraph, to_networkx
from .io import read_actions
from .nullmodel import cluster_pvalues
from .pipeline import Detection, detect
from .traces import build_traces

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
