"""The ``cib`` command line: thin click commands over the library.

Every error a user can cause becomes a one-line message on stderr and exit status 2
(``--debug`` shows the traceback instead).
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import re
import sys
import time
from pathlib import Path

import click

from . import __version__
from .errors import CibError

__all__ = ["main", "run"]

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100, "terminal_width": 100}


def _bundled_data() -> Path:
    """The repository's ``data/`` folder (the demo's sample)."""
    return Path(__file__).resolve().parents[1] / "data"


# Characters that must not reach a terminal as they are: C0 and C1 controls (line breaks would
# split a one-line message, ESC starts terminal escape sequences) and the invisible or
# direction-changing ones (they can reorder or hide what a message says). Input files, their
# names and their values are written by strangers.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")
_MAX_MESSAGE = 2000


def _escape(match: re.Match[str]) -> str:
    c = match.group()
    return {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(
        c, f"\\x{ord(c):02x}" if ord(c) <= 0xFF else f"\\u{ord(c):04x}")


def one_line(text: object) -> str:
    """``text`` made safe to print as one terminal line: control, invisible and
    direction-changing characters escaped (``\\n``, ``\\x1b``, ``\\u202e``), and cut short.

    Examples
    --------
    >>> one_line("bad.csv, row 2: 'a\\nb\\x1b[31m\\u202e'")
    "bad.csv, row 2: 'a\\\\nb\\\\x1b[31m\\\\u202e'"
    """
    text = _UNSAFE.sub(_escape, str(text))
    return text if len(text) <= _MAX_MESSAGE else text[:_MAX_MESSAGE] + "..."


def _error(message: object) -> None:
    click.echo(f"Error: {one_line(message)}", err=True)


def _warn(message: object) -> None:
    click.echo(f"Warning: {one_line(message)}", err=True)


def handle_errors(func):
    """Turn user errors into ``Error: ...`` (one line) and exit status 2."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        debug = click.get_current_context().find_root().params.get("debug", False)
        try:
            return func(*args, **kwargs)
        except CibError as exc:
            if debug:
                raise
            _error(exc)
            sys.exit(2)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except KeyboardInterrupt:
            click.echo("Interrupted; earlier outputs are left as they were.", err=True)
            sys.exit(130)
        except BrokenPipeError:  # output piped into `head` and the like: stop quietly
            import os

            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            sys.exit(0)
        except MemoryError:
            if debug:
                raise
            _error("out of memory; try a smaller --window, fewer --kinds or a machine with "
                   "more memory")
            sys.exit(1)
        except Exception as exc:  # a bug: say so in one line, keep the traceback for --debug
            if debug:
                raise
            _error(f"unexpected {type(exc).__name__}: {exc} (this is a bug in cib; rerun with "
                   "--debug and report the traceback)")
            sys.exit(1)

    return wrapper


def run() -> None:
    """The ``cib`` command in a process of its own (console script, ``python -m cib``).

    After an error the process ends at once (output flushed, exit status kept) instead of in
    the interpreter's teardown: a read-ahead thread of pyarrow's CSV reader that is still
    parked in C++ when the interpreter finalises can abort it ("terminate called without an
    active exception", status 134 instead of 2). Outputs are already cleaned up by then (every
    write is atomic) and a Dask cluster of ``--engine dask`` is already closed.
    """
    try:
        main(prog_name="cib")
    except SystemExit as exc:
        code = exc.code
        if isinstance(code, int) and code != 0:
            import logging
            import os

            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except (OSError, ValueError):
                    pass
            logging.shutdown()
            os._exit(code)
        raise


@click.group(context_settings=CONTEXT)
@click.version_option(__version__, "-V", "--version", prog_name="cib")
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.option("-q", "--quiet", is_flag=True, help="Print only errors.")
@click.option("-v", "--verbose", is_flag=True,
              help="Print each stage of a run on stderr as it ends, with its time (and the Dask "
                   "dashboard's address with --engine dask).")
@click.pass_context
def main(ctx: click.Context, debug: bool, quiet: bool, verbose: bool) -> None:
    """Find coordinated inauthentic behaviour (CIB) in social-media data.

    \b
    Typical use:
      cib detect posts.csv -o out/            # find coordinated groups
      cib detect data.csv --map account_id=user,timestamp=created_at -o out/
      cib demo                                # the bundled sample
    """
    ctx.ensure_object(dict)
    if quiet and verbose:
        raise click.UsageError("-q/--quiet and -v/--verbose contradict each other; give one")
    ctx.obj["quiet"] = quiet
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if verbose:
        ctx.call_on_close(_stage_lines(logging.DEBUG if debug else logging.INFO))


class _EchoHandler(logging.Handler):
    """Log records as ``cib HH:MM:SS message`` lines on click's stderr (CliRunner sees them)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            stamp = time.strftime("%H:%M:%S", time.localtime(record.created))
            click.echo(f"cib {stamp} {record.getMessage()}", err=True)
        except Exception:  # noqa: BLE001 - logging's contract: report, never raise
            self.handleError(record)


def _stage_lines(level: int):
    """Send the ``cib`` loggers' records of ``level`` and above to stderr, alone (not also
    through the root logger); returns the function that undoes it."""
    log = logging.getLogger("cib")
    saved = log.level, log.propagate
    handler = _EchoHandler(level)
    log.addHandler(handler)
    log.setLevel(level)
    log.propagate = False

    def undo() -> None:
        log.removeHandler(handler)
        log.setLevel(saved[0])
        log.propagate = saved[1]
    return undo


def _detect_options(func):
    options = [
        click.option("--window", "-w", default="60s", show_default=True,
                     help="Co-action window: 90, 90s, 5m, 1h (inclusive)."),
        click.option("--kinds", default=None,
                     help="Trace kinds, comma-separated [default: repost,quote,reply,url,hashtag,"
                          "text,media]. Also: domain, mention."),
        click.option("--min-weight", default=2.0, show_default=True, type=float,
                     help="Keep account pairs with at least this many distinct co-acted objects."),
        click.option("--method", default="leiden", show_default=True,
                     type=click.Choice(["leiden", "cpm", "louvain", "components"]),
                     help="Community detection."),
        click.option("--resolution", default=1.0, show_default=True, type=float,
                     help="Modularity resolution (higher: smaller clusters); for cpm the "
                          "density threshold."),
        click.option("--seed", default=0, show_default=True, type=int, help="Seed of every random step."),
        click.option("--n-null", default=100, show_default=True, type=int,
                     help="Null-model runs for the cluster p-values."),
        click.option("--alpha", default=0.05, show_default=True, type=float,
                     help="Flag clusters with p-value <= alpha."),
        click.option("--edge-fdr", default=0.01, show_default=True, type=float,
                     help="Keep account pairs whose false discovery rate is at most this."),
        click.option("--fdr-runs", default=20, show_default=True, type=int,
                     help="Null runs that calibrate the edges' false discovery rate."),
        click.option("--text-match", default="near", show_default=True,
                     type=click.Choice(["near", "exact"]),
                     help="Texts co-act when near-duplicates, or only when equal after "
                          "normalisation."),
        click.option("--text-threshold", default=0.8, show_default=True, type=float,
                     help="Character-shingle Jaccard similarity of near-duplicate texts."),
    ]
    for opt in reversed(options):
        func = opt(func)
    return func


def _inside(path, folder) -> bool:
    """Whether ``path`` is ``folder`` or lies inside it (after resolving links)."""
    p, f = Path(path).resolve(), Path(folder).resolve()
    return p == f or f in p.parents


def _check_shareable(out, review):
    """With --pseudonymize nothing with real account ids may end up in OUT: neither the review
    file (it holds real member lists) nor files carried over from an earlier run in OUT."""
    from .errors import OutputError

    if review and any(_inside(p, out) for p in (review, f"{review}.bak")):
        raise OutputError(f"with --pseudonymize the review file must not be inside {out}: it holds "
                          "the real account ids; keep it outside the folder you share")
    out = Path(out)
    manifest = out / "manifest.json"
    if not out.is_dir() or not manifest.is_file():
        return
    try:
        listed = set(json.loads(manifest.read_text(encoding="utf-8")).get("outputs", {}))
    except (OSError, ValueError, AttributeError):
        listed = set()
    extra = sorted(p.name for p in out.iterdir() if p.name not in listed | {"manifest.json"})
    if extra:
        raise OutputError(f"with --pseudonymize, {out} must be a new folder or an earlier cib output "
                          f"without files of your own (they would be copied into the folder you "
                          f"share unchanged): {', '.join(extra[:5])}"
                          f"{' ...' if len(extra) > 5 else ''}")


def _input_warnings(summary, stats) -> list[str]:
    """What an analyst should know about the input before trusting a run on it: files without
    rows, no actions at all, and timestamps that are implausibly early or in the future
    (``summary``: :func:`cib.io.timestamp_summary` of the actions)."""
    out = [f"{f['path']}: no rows (an empty file, or a header only)"
           for f in stats.get("files", []) if not f.get("rows") and not f.get("skipped")]
    if not summary["n"]:
        if stats.get("rows_read"):
            out.append("no actions to analyse: every row was rejected or a duplicate "
                       "(see rejects.csv)")
        else:
            out.append("no actions to analyse: the input has no rows")
        return out
    early = summary["early"]
    if early:
        out.append(f"{early} timestamp{'s are' if early != 1 else ' is'} before 2000 (earliest "
                   f"{summary['min']:%Y-%m-%d %H:%M:%S}Z): epoch milliseconds read as seconds, "
                   "or a default date?")
    future = summary["future"]
    if future:
        out.append(f"{future} timestamp{'s are' if future != 1 else ' is'} in the future "
                   f"(latest {summary['max']:%Y-%m-%d %H:%M:%S}Z)")
    return out


def _run_detect(inputs, out, fmt, mapping, on_error, window, kinds, min_weight, method, resolution,
                seed, n_null, alpha, quiet, edge_fdr=0.01, fdr_runs=20, review=None,
                pseudonymize=None, text_match="near", text_threshold=0.8, max_partners=None,
                memory_budget=None, timing=True, timing_bin="60s", timing_min_common=3,
                timing_pairs="significant", per_author=True, discover=True, discovery_runs=10,
                discovery_window="10m",
                discovery_max_pairs=1_000_000, edge_groups=True,
                engine="pandas",
                scheduler=None, memory_limit=None, partitions=None, partition_size=None):
    from .coaction._engine import parse_memory_budget
    from .export import check_output_dir
    from .io import read_actions, timestamp_summary
    from .pipeline import detect

    check_output_dir(out)
    parse_memory_budget(memory_budget)  # fail on a bad size before reading
    if pseudonymize is not None:
        _check_shareable(out, review)
    if review:
        from .review import read_review

        verdicts = read_review(review)  # fail on a bad review file before the long run
    t0 = time.perf_counter()
    stack = contextlib.ExitStack()  # the dask cluster, closed once detection is done
    run = detect
    if engine == "dask":
        from .distributed import detect_dask, local_client, read_partitioned

        client = stack.enter_context(local_client(scheduler, memory_limit))
        parts, rejects, stats = read_partitioned(list(inputs), format=fmt, mapping=mapping,
                                                 on_error=on_error, client=client)
        actions, summary = None, parts.summary()  # the actions stay on the workers
        run = functools.partial(_dask_run, detect_dask, parts, client=client,
                                partitions=partitions, partition_size=partition_size)
    else:
        actions, rejects, stats = read_actions(list(inputs), format=fmt, mapping=mapping,
                                               on_error=on_error, progress=False if quiet else None)
        summary = timestamp_summary(actions)
    stats["read_seconds"] = time.perf_counter() - t0
    logging.getLogger("cib.stages").info("read done in %.1f s", stats["read_seconds"])
    stats["warnings"] = [*stats.get("warnings", []), *_input_warnings(summary, stats)]
    if not quiet:
        from .io import resolution_warning
        from .params import parse_duration

        for w in [*stats.get("warnings", []), resolution_warning(stats, parse_duration(window))]:
            if w:
                _warn(w)
    det = run(actions, window=window, kinds=kinds, min_weight=min_weight, method=method,
                 resolution=resolution, seed=seed, n_null=n_null, alpha=alpha, edge_fdr=edge_fdr,
                 fdr_runs=fdr_runs, text_match=text_match, text_threshold=text_threshold,
                 max_partners=max_partners, memory_budget=memory_budget, timing=timing,
                 timing_bin=timing_bin, timing_min_common=timing_min_common,
                 timing_pairs=timing_pairs, rejects=rejects, input_stats=stats,
                 per_author=per_author, discover=discover, discovery_runs=discovery_runs,
                 discovery_window=discovery_window,
                 discovery_max_pairs=discovery_max_pairs, edge_groups=edge_groups)
    stack.close()
    if not quiet:
        for w in det.manifest.get("warnings", []):
            if w.startswith("group discovery skipped"):
                _warn(w)
    det.manifest["timings_s"]["read"] = round(stats.get("read_seconds", 0.0), 4)
    det.manifest["command"] = "cib detect"
    table = shown = None
    if review:
        from .review import carry_verdicts

        table = carry_verdicts(verdicts, det.clusters, det.members)
        shown = table[table["matched"]]
        det.manifest["review"] = {
            "carried": int((table["matched"] & (table["status"] != "unreviewed")).sum()),
            "unmatched": int((~table["matched"]).sum())}
    shared = det
    if pseudonymize is not None:
        from .pseudonymize import pseudonymize_detection, pseudonymize_review

        shared = pseudonymize_detection(det, pseudonymize)
        if shown is not None:
            shown = pseudonymize_review(shown, pseudonymize, det.traces["account_id"].unique())
    path = shared.write(out, review=shown)
    if review:
        from .review import write_review

        write_review(review, table)  # after the outputs: a failed run leaves the file as it was
    if not quiet:
        click.echo(det.summary())
        if table is not None:
            m = det.manifest["review"]
            click.echo(f"\nReview file {review}: {m['carried']} of {len(shown)} clusters have "
                       f"a verdict carried over; {m['unmatched']} earlier verdicts match no "
                       "cluster of this run (kept in the file)")
        if len(rejects):
            click.echo(f"\n{len(rejects)} rows rejected (see {Path(out) / 'rejects.csv'})")
        if stats.get("duplicates_dropped"):
            click.echo(f"{stats['duplicates_dropped']} exact duplicate rows dropped")
        click.echo(f"\nWrote {path} in {time.perf_counter() - t0:.1f} s")
    return det


def _dask_run(detect_dask, parts, actions, **kwargs):
    """``detect`` on the dask engine: the partitions on the workers instead of ``actions``."""
    return detect_dask(parts, **kwargs)


@main.command(context_settings=CONTEXT)
@click.argument("inputs", nargs=-1, required=True)
@click.option("-o", "--out", required=True, type=click.Path(file_okay=False),
              help="Output folder (replaced atomically; only an earlier cib output is replaced).")
@click.option("--format", "fmt", default="auto", show_default=True,
              help="Input format (see `cib formats`).")
@click.option("--map", "mapping", default=None,
              help="Column mapping CIB=INPUT,...: e.g. account_id=user,timestamp=created_at.")
@click.option("--on-error", default="skip", show_default=True, type=click.Choice(["skip", "fail"]),
              help="Bad rows: skip them (listed in rejects.csv) or stop at the first.")
@_detect_options
@click.option("--timing/--no-timing", default=True, show_default=True,
              help="Also link accounts whose original posts fall in the same minutes more often "
                   "than their own rhythms explain (synchronised schedules, no shared object).")
@click.option("--timing-bin", default="60s", show_default=True,
              help="Time bin of the timing signal.")
@click.option("--timing-min-common", default=3, show_default=True, type=int,
              help="Test only account pairs sharing at least this many time bins.")
@click.option("--timing-pairs", default="significant", show_default=True,
              type=click.Choice(["significant", "all"]),
              help="Rows of timing_edges.csv: the significant pairs, or every tested pair "
                   "(grows with the square of the busy accounts: millions of rows at 10^7 "
                   "actions, and slower). The significant pairs are the same either way.")
@click.option("--per-author/--per-post", default=True, show_default=True,
              help="Count a pair's co-reposts (quotes, replies) of one author's posts as one "
                   "piece of evidence: followers react to an account's posts within minutes. "
                   "--per-post counts every post, as the peers do.")
@click.option("--discover/--no-discover", default=True, show_default=True,
              help="Also find groups whose pairs are each weak evidence but whose members "
                   "together co-act in bursts far beyond chance (rotating or camouflaged "
                   "networks), calibrated on null runs.")
@click.option("--discovery-runs", default=10, show_default=True, type=click.IntRange(min=2),
              help="Null runs that calibrate group discovery.")
@click.option("--discovery-window", default="10m", show_default=True, metavar="DURATION",
              help="Run group discovery again at this longer window for groups acting "
                   "within minutes, not seconds (slow coordination); 0 turns it off.")
@click.option("--discovery-max-pairs", default=1_000_000, show_default=True,
              type=click.IntRange(min=1),
              help="Skip group discovery (with a warning) when the data has more co-actions "
                   "(shares of one object within the window) outside crowds of 100+ "
                   "accounts than this (dense inputs).")
@click.option("--edge-groups/--no-edge-groups", default=True, show_default=True,
              help="Also test co-action edges as groups: pairs with p <= 1e-3 among accounts "
                   "not in pairs significant on their own form communities, calibrated on the "
                   "edge stage's null runs (--fdr-runs); finds groups that hide their pushes in "
                   "organic activity.")
@click.option("--max-partners", default=None, type=click.IntRange(min=1), metavar="L",
              help="Pair each share only with the next L shares of the same object in the "
                   "window (off: exact). Bounds the work on viral objects; the pairs left out "
                   "are counted in the summary and manifest.")
@click.option("--memory-budget", default=None, metavar="SIZE",
              help="Bound on the co-actions materialised as evidence, e.g. 4G, 512M "
                   "[default: 4G]. Aggregation never materialises co-actions.")
@click.option("--engine", default="pandas", show_default=True,
              type=click.Choice(["pandas", "dask"]),
              help="dask: read, build traces and join partitioned on a Dask cluster (needs "
                   "cib[dask]); the same outputs.")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="--engine dask: a running Dask scheduler (tcp://host:8786) [default: a local "
                   "cluster, one worker per core].")
@click.option("--memory-limit", default=None, metavar="SIZE",
              help="--engine dask, local cluster: memory per worker (e.g. 6G); workers spill "
                   "to disk beyond 60% of it [default: the machine's memory / workers].")
@click.option("--partitions", default=None, type=click.IntRange(min=1), metavar="N",
              help="--engine dask: partitions of the (kind, object) join [default: one per "
                   "--partition-size traces].")
@click.option("--partition-size", default=None, type=click.IntRange(min=1), metavar="TRACES",
              help="--engine dask: traces per partition when --partitions is not given "
                   "[default: 2000000].")
@click.option("--compat", default=None, type=click.Choice(["coortweet", "cnt"]),
              help="Reproduce a peer tool's answer instead of cib's (see README).")
@click.option("--min-participation", default=2, show_default=True, type=int,
              help="--compat coortweet: CooRTweet's min_participation.")
@click.option("--edge-weight", default=0.5, show_default=True, type=float,
              help="--compat coortweet: quantile of edge weights used as weight_threshold.")
@click.option("--networks", default="co_retweet,co_link,co_reply,co_tweet", show_default=True,
              help="--compat cnt: the networks to compute.")
@click.option("--min-edge-weight", default=1, show_default=True, type=int,
              help="--compat cnt: CNT's --min_edge_weight (per direction).")
@click.option("--keep-empty-urls", is_flag=True,
              help="--compat cnt: reproduce CNT's bug that makes an empty URL cell a URL.")
@click.option("--review", "review", default=None, type=click.Path(dir_okay=False),
              help="Review file (CSV or Parquet; created when missing): analysts' verdicts per "
                   "cluster, carried over to this run's clusters by member overlap and shown in "
                   "the report. The file is rewritten, the previous one kept as FILE.bak.")
@click.option("--pseudonymize", "pseudonymize", default=None, metavar="KEY",
              envvar="CIB_PSEUDONYMIZE_KEY", show_envvar=True,
              help="Replace account ids and @handles in every output by keyed hashes "
                   "(HMAC-SHA256), for sharing findings. The same KEY gives the same pseudonyms.")
@click.pass_context
@handle_errors
def detect(ctx, inputs, out, fmt, mapping, on_error, window, kinds, min_weight, method, resolution,
           seed, n_null, alpha, edge_fdr, fdr_runs, text_match, text_threshold, timing,
           timing_bin, timing_min_common, timing_pairs, per_author, discover, discovery_runs,
           discovery_window, discovery_max_pairs, edge_groups, max_partners,
           memory_budget, compat, min_participation, edge_weight, networks, min_edge_weight,
           keep_empty_urls, review, pseudonymize, engine, scheduler, memory_limit, partitions,
           partition_size):
    """Find coordinated groups in INPUT files (CSV, TSV, Parquet, JSON lines; globs allowed).

    Writes clusters, members, edges and evidence (CSV and Parquet), graph.gexf, graph.graphml,
    rejects.csv and manifest.json into OUT, and prints the ranked clusters. With --compat
    coortweet, writes CooRTweet's result, edges and account_stats instead.
    """
    quiet = ctx.obj.get("quiet", False)
    if compat and (review or pseudonymize is not None):
        raise click.UsageError("--review and --pseudonymize do not apply to --compat runs")
    dask_only = [n for n, v in (("--scheduler", scheduler), ("--memory-limit", memory_limit),
                                ("--partitions", partitions),
                                ("--partition-size", partition_size)) if v is not None]
    if dask_only and (engine != "dask" or compat):
        raise click.UsageError(f"{', '.join(dask_only)} apply only to --engine dask "
                               "(without --compat)")
    if engine == "dask" and compat:
        raise click.UsageError("--compat runs on one machine; leave out --engine dask")
    if scheduler and memory_limit:
        raise click.UsageError("--memory-limit sizes the local cluster's workers; with "
                               "--scheduler, set it when starting the workers")
    if engine == "dask":
        from .distributed import require_dask

        require_dask("cib detect")
        if memory_limit is not None:
            from .coaction._engine import parse_memory_budget

            parse_memory_budget(memory_limit, "cib detect --memory-limit")
    if compat == "cnt":
        _run_cnt(inputs, out, fmt, mapping, on_error, window, networks, min_edge_weight,
                 keep_empty_urls, quiet)
        return
    if compat:
        _run_compat(inputs, out, fmt, mapping, on_error, window, kinds, min_participation,
                    edge_weight, quiet)
        return
    _run_detect(inputs, out, fmt, mapping, on_error, window, kinds, min_weight, method, resolution,
                seed, n_null, alpha, quiet, edge_fdr, fdr_runs, review=review,
                pseudonymize=pseudonymize, text_match=text_match, text_threshold=text_threshold,
                max_partners=max_partners, memory_budget=memory_budget, timing=timing,
                timing_bin=timing_bin, timing_min_common=timing_min_common,
                timing_pairs=timing_pairs,
                per_author=per_author, discover=discover, discovery_runs=discovery_runs,
                discovery_window=discovery_window, discovery_max_pairs=discovery_max_pairs,
                edge_groups=edge_groups, engine=engine, scheduler=scheduler,
                memory_limit=memory_limit,
                partitions=partitions, partition_size=partition_size)


def _run_cnt(inputs, out, fmt, mapping, on_error, window, networks, min_edge_weight,
             keep_empty_urls, quiet):
    from .coaction.compat_cnt import cnt_input_from_actions, read_cnt_csv
    from .compat import run_cnt
    from .export import check_output_dir
    from .io import detect_format, read_actions
    from .io._read import _expand

    check_output_dir(out)
    t0 = time.perf_counter()
    files = [p for p, _ in _expand(list(inputs))]
    fmts = {detect_format(p) for p in files} if fmt == "auto" else {fmt}
    if fmts == {"cnt"} and not mapping:
        import pandas as pd

        messages = pd.concat([read_cnt_csv(p) for p in files], ignore_index=True)
    else:
        actions, _, _ = read_actions(list(inputs), format=fmt, mapping=mapping, on_error=on_error,
                                     progress=False if quiet else None)
        messages = cnt_input_from_actions(actions)
    res = run_cnt(messages, window=window, networks=networks, min_edge_weight=min_edge_weight,
                  keep_empty_urls=keep_empty_urls)
    res.manifest["command"] = "cib detect --compat cnt"
    path = res.write(out)
    if not quiet:
        click.echo(f"coordination-network-toolkit-compatible run: {res.summary()}")
        click.echo(f"Wrote {path} in {time.perf_counter() - t0:.1f} s")


def _run_compat(inputs, out, fmt, mapping, on_error, window, kinds, min_participation,
                edge_weight, quiet):
    from .compat import coortweet_frames, read_coortweet_raw, run_coortweet
    from .export import check_output_dir
    from .io import detect_format, read_actions
    from .io._read import _expand

    check_output_dir(out)
    t0 = time.perf_counter()
    files = [p for p, _ in _expand(list(inputs))]
    fmts = {detect_format(p) for p in files} if fmt == "auto" else {fmt}
    if fmts == {"coortweet"} and not mapping:
        data = read_coortweet_raw(list(inputs))  # every row, as CooRTweet reads it
    else:
        actions, _, _ = read_actions(list(inputs), format=fmt, mapping=mapping, on_error=on_error,
                                     progress=False if quiet else None)
        data = coortweet_frames(actions, kinds)
    res = run_coortweet(data, window=window, min_participation=min_participation,
                        edge_weight=edge_weight)
    res.manifest["command"] = "cib detect --compat coortweet"
    path = res.write(out)
    if not quiet:
        click.echo(f"CooRTweet-compatible run: {res.summary()}")
        click.echo(f"Wrote {path} in {time.perf_counter() - t0:.1f} s")


@main.command(context_settings=CONTEXT)
@click.option("-o", "--out", default="out/demo", show_default=True, type=click.Path(file_okay=False),
              help="Output folder; one subfolder per sample.")
@click.option("--data", "data_dir", default=None, type=click.Path(exists=True, file_okay=False),
              help="Folder with the bundled sample [default: the repository's data/].")
@click.option("--seed", default=0, show_default=True, type=int)
@click.pass_context
@handle_errors
def demo(ctx, out, data_dir, seed):
    """Run cib on the bundled samples: CooRTweet's russian_coord_tweets (real retweets) and a
    simulated set with planted groups (scored against its ground truth)."""
    from .errors import InputError
    from .evaluate import evaluate, read_truth

    data = Path(data_dir) if data_dir else _bundled_data()
    russian = data / "russian_coord_tweets.csv.gz"
    sim = data / "simulated"
    sim_actions = sim / "actions.csv.gz"
    if not russian.exists() or not sim_actions.exists():
        raise InputError("bundled sample not found (expected russian_coord_tweets.csv.gz and "
                         "simulated/actions.csv.gz); pass --data DIR", file=str(data))
    quiet = ctx.obj.get("quiet", False)
    if not quiet:
        click.echo(f"== {russian.name}: pro-government Russian retweets (CooRTweet sample)")
    _run_detect([str(russian)], Path(out) / "russian_coord_tweets", "coortweet", None, "skip",
                "60s", None, 2, "leiden", 1.0, seed, 100, 0.05, quiet)
    if not quiet:
        click.echo("(CooRTweet's network on this sample has 2,110 accounts and 3,721 edges: every "
                   "pair that co-retweeted once within 60 s.\n cib keeps pairs that co-retweeted "
                   "at least 2 distinct posts, and reports them only beyond chance.)")
    if not quiet:
        click.echo("\n== simulated: organic accounts plus planted coordinated groups")
    det = _run_detect([str(sim_actions)], Path(out) / "simulated", "generic", None, "skip",
                      "60s", None, 2, "leiden", 1.0, seed, 100, 0.05, quiet)
    scores = evaluate(det.members, det.clusters, read_truth(sim / "truth.csv"))
    if not quiet:
        click.echo(f"\nAgainst the planted groups: precision {scores['precision']:.3f}, "
                   f"recall {scores['recall']:.3f}, F1 {scores['f1']:.3f}, ARI {scores['ari']:.3f}")


@main.command(context_settings=CONTEXT)
@click.option("-o", "--out", required=True, type=click.Path(file_okay=False),
              help="Folder for actions.csv and truth.csv.")
@click.option("--scenario", "scenario", default=None, metavar="NAMES",
              help="Simulate named scenarios instead: 'all' or a comma-separated list of "
                   "coordinated scenarios (lockstep, copypasta, slow, camouflage, links, hashtag, "
                   "rotating, schedule) and organic traps (breaking_news, fan_club, trending, "
                   "brand_schedulers); truth.csv then also has a scenario column.")
@click.option("--accounts", default=None, type=int,
              help="Number of accounts.  [default: 1000; 5000 with --scenario]")
@click.option("--groups", default=None, type=int,
              help="Planted coordinated groups (not with --scenario).  [default: 5]")
@click.option("--days", default=None, type=float,
              help="Time span.  [default: 7; 3 with --scenario]")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--actions", "n_actions", default=None, type=click.IntRange(min=1), metavar="N",
              help="Write about N actions in chunks of --chunk-actions, each an independent "
                   "simulation with --groups planted groups (bounded memory, any size): "
                   "OUT/actions/part-*.{csv,parquet} and OUT/truth.csv.")
@click.option("--chunk-actions", default=1_000_000, show_default=True,
              type=click.IntRange(min=100), help="With --actions: actions per chunk (file).")
@click.option("--format", "fmt", default="csv", show_default=True,
              type=click.Choice(["csv", "parquet"]),
              help="File format; parquet writes the chunked data set (as --actions does).")
@click.pass_context
@handle_errors
def simulate(ctx, out, scenario, accounts, groups, days, seed, n_actions, chunk_actions, fmt):
    """Write a simulated data set with planted coordinated groups (actions.csv, truth.csv)."""
    from .datasets import write_simulation
    from .errors import ParameterError

    if n_actions is not None or fmt == "parquet":
        if scenario is not None or accounts is not None:
            raise click.UsageError("--actions and --format parquet write chunked simulations; "
                                   "leave out --scenario and --accounts")
        from .chunked import ACTIONS_PER_ACCOUNT, write_chunked_simulation

        n = n_actions if n_actions is not None else int(1000 * ACTIONS_PER_ACCOUNT)
        quiet = ctx.obj.get("quiet", False)

        def note(c, total):
            if not quiet and sys.stderr.isatty():
                click.echo(f"\rchunk {c + 1}: {total:,} actions", err=True, nl=False)

        folder, truth_path, total, n_acc = write_chunked_simulation(
            out, n, format=fmt, chunk_actions=chunk_actions,
            groups_per_chunk=5 if groups is None else groups,
            days=7.0 if days is None else days, seed=seed, progress=note)
        if not quiet:
            click.echo(f"Wrote {total} actions by {n_acc} accounts to {folder}/ and "
                       f"{truth_path}")
        return
    if scenario is None:
        from .datasets import simulate as _simulate

        groups = 5 if groups is None else groups
        actions, truth = _simulate(n_accounts=1000 if accounts is None else accounts,
                                   n_groups=groups, days=7.0 if days is None else days, seed=seed)
        what = f"{groups} planted groups"
    else:
        from .scenarios import simulate_scenarios

        if groups is not None:
            raise ParameterError("groups", "cib simulate", "left out with --scenario (each "
                                 "scenario plants its own groups)", groups)
        actions, truth = simulate_scenarios(scenario, n_accounts=5000 if accounts is None
                                            else accounts, days=3.0 if days is None else days,
                                            seed=seed)
        n_groups = int(truth.loc[truth["group"] >= 0, "group"].nunique())
        n_traps = int((truth["role"] == "trap").sum())
        n_names = int(truth.loc[truth["role"] != "organic", "scenario"].nunique())
        what = (f"{n_groups} planted groups; {n_traps} accounts in organic traps; "
                f"{n_names} scenarios")
    write_simulation(out, actions, truth)
    if not ctx.obj.get("quiet", False):
        n_planted = int((truth["group"] >= 0).sum())
        click.echo(f"Wrote {len(actions)} actions by {len(truth)} accounts ({n_planted} in "
                   f"{what}) to {out}/actions.csv and {out}/truth.csv")


@main.command(context_settings=CONTEXT)
@click.argument("out", type=click.Path())
@click.argument("truth", type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@handle_errors
def evaluate(out, truth, as_json):
    """Score a detection in OUT against a TRUTH file (account_id, group; -1 = organic):
    precision, recall and F1 of flagged accounts, adjusted Rand index of the clusters."""
    from .evaluate import evaluate as _evaluate
    from .evaluate import read_truth
    from .results import load_table

    members = load_table(out, "members")
    clusters = load_table(out, "clusters")
    scores = _evaluate(members, clusters, read_truth(truth))
    if as_json:
        click.echo(json.dumps(scores, indent=2, sort_keys=True))
    else:
        for k in ("precision", "recall", "f1", "ari", "ari_all"):
            click.echo(f"{k:>10}: {scores[k]:.4f}")
        for k in ("n_flagged", "n_planted", "tp", "fp", "fn", "groups_found", "n_groups"):
            click.echo(f"{k:>10}: {scores[k]}")
        if scores.get("scenario_recall"):
            click.echo("\nrecall per scenario (share of its planted accounts flagged):")
            for name, v in scores["scenario_recall"].items():
                click.echo(f"{name:>16}: {v:.3f}")
            click.echo("share flagged per organic trap (lower is better):")
            for name, v in scores.get("trap_flagged", {}).items():
                click.echo(f"{name:>16}: {v:.3f}")
            if "organic_flagged" in scores:
                click.echo(f"{'plain organic':>16}: {scores['organic_flagged']:.4f}")


@main.command(context_settings=CONTEXT)
@click.argument("out", type=click.Path(exists=True, file_okay=False))
@click.option("--review", "review", default=None, type=click.Path(exists=True, dir_okay=False),
              help="A review file (CSV or Parquet: stable_id, status, note, ...; see `cib detect "
                   "--review`) whose verdicts the report shows, matched to OUT's clusters by "
                   "member overlap. The file is not changed.")
@click.option("--pseudonymize", "pseudonymize", default=None, metavar="KEY",
              envvar="CIB_PSEUDONYMIZE_KEY", show_envvar=True,
              help="OUT was written with --pseudonymize KEY: pseudonymize the review file's "
                   "members and notes with the same KEY to match its clusters.")
@click.option("--max-clusters", default=None, type=int,
              help="Put at most this many clusters in the report (flagged first).")
@click.pass_context
@handle_errors
def report(ctx, out, review, pseudonymize, max_clusters):
    """Re-render OUT/report.html from the tables in the output folder OUT."""
    from .report import write_report

    table = None
    if review:
        from .results import load_table
        from .review import carry_verdicts, read_review

        verdicts = read_review(review)
        if pseudonymize is not None:
            from .pseudonymize import pseudonymize_review

            verdicts = pseudonymize_review(verdicts, pseudonymize)
        table = carry_verdicts(verdicts, load_table(out, "clusters"), load_table(out, "members"))
        table = table[table["matched"]]
    path = write_report(out, review=table, max_clusters=max_clusters)
    if not ctx.obj.get("quiet", False):
        click.echo(f"Wrote {path}")


@main.command(context_settings=CONTEXT)
def formats():
    """List the input formats that --format accepts."""
    from .io import FORMATS

    for name, desc in FORMATS.items():
        click.echo(f"{name:<21} {desc}")


@main.command(context_settings=CONTEXT)
@click.argument("inputs", nargs=-1, required=True)
@click.option("--format", "fmt", default="auto", show_default=True,
              help="Input format (see `cib formats`).")
@click.option("--map", "mapping", default=None,
              help="Column mapping CIB=INPUT,...: e.g. account_id=user,timestamp=created_at.")
@click.option("--window", "-w", default=None,
              help="Also check the timestamps' resolution against this co-action window "
                   "(90, 90s, 5m, 1h).")
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
@click.pass_context
@handle_errors
def inspect(ctx, inputs, fmt, mapping, window, as_json):
    """Check INPUT files without detecting: the format and column mapping of each file, rows,
    rejects by reason, duplicates, accounts, time range, timestamp resolution, the most active
    accounts and most shared objects, and every problem found."""
    from .inspect import inspect_command_text
    from .io._progress import progress_default

    with progress_default(False if ctx.obj.get("quiet", False) else None):
        text = inspect_command_text(list(inputs), format=fmt, mapping=mapping, window=window,
                                    as_json=as_json)
    if not as_json:  # account ids and hashtags are written by strangers: escape what a terminal
        text = "\n".join(one_line(line) for line in text.split("\n"))  # would act on
    click.echo(text)


if __name__ == "__main__":  # pragma: no cover
    main()
