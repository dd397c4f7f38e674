"""`mlplab`: build the report, list runs, show parameters, fetch data.

Bad input (experiment file, parameters, data) is reported as one line before any
kernel starts, and the command exits 2; failed runs make it exit 1. A report folder
another build holds exits 75 (EX_TEMPFAIL); one that cannot be written (read-only,
full disk) exits 74 (EX_IOERR); Ctrl-C, SIGTERM or a closed terminal exits 130.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

from mlplab import params, results
from mlplab.datafiles import DataError
from mlplab.pipeline import experiments, kernels, runner
from mlplab.pipeline.processes import build_temp_dir, environ_set, exit_now
from mlplab.results import Status

DEFAULT_EXPERIMENTS = Path("notebooks/experiments.yaml")
BENCH_FILE = "bench.json"  # written by `mlplab bench`; shown in the index when present


EXIT_BUSY = 75  # sysexits.h EX_TEMPFAIL: try again later
EXIT_IO = 74  # sysexits.h EX_IOERR
# Errors that mean "the report folder cannot take our files", as opposed to a bug.
WRITE_ERRORS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM)


def cmd_report(args: argparse.Namespace) -> int:
    specs = experiments.load(args.experiments, experiments.parse_overrides(args.set or []),
                             allow_large=args.allow_large)
    if args.only:
        unknown = sorted(set(args.only) - {s.name for s in specs})
        if unknown:
            raise experiments.ExperimentError(
                f"{args.experiments}: no run named {', '.join(unknown)}")
    report_dir = Path(args.report_dir).resolve()
    with _termination_interrupts(), runner.report_lock(report_dir, wait=args.wait):
        return _build(args, specs, report_dir)


@contextlib.contextmanager
def _termination_interrupts() -> Iterator[None]:
    """A closed terminal or `kill` stops a build like Ctrl-C does: its kernels and workers
    are stopped and its temporary files removed (see runner.run_jobs)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved = {sig: signal.signal(sig, signal.default_int_handler)
             for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


def _build(args: argparse.Namespace, specs: list[experiments.RunSpec], report_dir: Path) -> int:
    root = Path.cwd()
    runs_dir = report_dir / "runs"
    jobs, keys = runner.plan(specs, root, runs_dir, args.force, args.timeout)
    if args.only:  # execute only these; the index still covers the whole suite
        jobs = [job for job in jobs if job.name in args.only]
    runs_dir.mkdir(parents=True, exist_ok=True)
    from mlplab.pipeline import html

    html.install_assets(report_dir)
    start = time.perf_counter()
    print(f"{len(specs)} runs ({experiments.count_trainings(specs)} trainings over their seeds) "
          f"in {args.experiments}: {len(specs) - len(jobs)} up to date or skipped, "
          f"{sum(j.action == 'execute' for j in jobs)} to execute"
          + (f", {rerender} to re-render (prose or templates changed: no kernel)"
             if (rerender := sum(j.action == "render" for j in jobs)) else ""),
          file=sys.stderr)
    progress = runner.Progress(len(jobs))

    def on_done(outcome: runner.Outcome) -> None:
        runner.land(outcome, runs_dir)
        progress.update(outcome)

    # One benchmark per checkout, shown by every report built from it: with --bench, measured
    # when missing, beside the runs (`make report` removes one the code has outdated).
    bench_file = root / "report" / BENCH_FILE
    bench = ([[sys.executable, "-m", "mlplab.pipeline.cli", "bench", "--out", str(bench_file)]]
             if args.bench and not bench_file.exists() else [])
    executes = any(j.action == "execute" for j in jobs)
    # The build's kernels fork from servers in a folder of its own (see kernels.fork_server),
    # which leave when it is removed; the index's kernel keeps its sockets there too.
    with (build_temp_dir() as folder, environ_set(kernels.forks_environ(folder)),
          runner.build_processes() as token):  # Ctrl-C leaves no summary kernel either
        # The index's kernel starts while the runs go: the index is written when they end.
        index_kernel = runner.prestart_index(root, token, folder) if executes else None
        runner.run_jobs(jobs, args.jobs, args.scheduler, on_done,
                        fresh_kernels=args.fresh_kernels, beside=bench)
        manifest = runner.manifest(specs, keys, runs_dir, report_dir)
        rebuilt = runner.build_index(root, report_dir, manifest, bench_file,
                                     args.force or executes, token, index_kernel, folder)
    failed = [e for e in manifest if e.status == Status.FAILED]
    print(f"{'wrote' if rebuilt else 'index up to date:'} {report_dir / 'index.html'} "
          f"({time.perf_counter() - start:.0f}s)", file=sys.stderr)
    for entry in failed:
        page = report_dir / entry.page if entry.page else "no page"
        print(f"FAILED {entry.name}: {entry.error} -> {page}", file=sys.stderr)
    return 1 if failed else 0


def cmd_params(args: argparse.Namespace) -> int:
    if args.sync or args.check:
        from mlplab.pipeline import notebook

        changed = notebook.sync_parameters(Path(args.notebook), write=args.sync)
        if args.check and changed:
            print(f"{args.notebook}: parameters cell differs from src/mlplab/params.py "
                  "(run `mlplab params --sync`)", file=sys.stderr)
            return 1
        return 0
    print(params.markdown_table())
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from mlplab.summary.records import architecture

    specs = experiments.load(args.experiments, allow_large=True)  # listing costs nothing
    for spec in specs:
        p = spec.params
        print(f"{spec.name:24} {architecture({'params': p.as_dict()}):16} epochs={p.epochs:<3}"
              f" seeds={p.seeds} loss={p.loss} scaled={p.scale_inputs}")
    print(f"{len(specs):,} runs, {experiments.count_trainings(specs):,} trainings (one per run "
          "and seed)")
    return 0


def cmd_timings(args: argparse.Namespace) -> int:
    from mlplab.summary.timings import report_timings

    print(report_timings(args.report_dir))
    return 0


def cmd_data(args: argparse.Namespace) -> int:
    from mlplab.pipeline import download

    path = download.fetch(download.KNOWN[args.name], Path(args.data_dir))
    print(f"{path} ok (sha256 verified)")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from mlplab.lab import bench

    result = bench.run(args.dataset, args.hidden_layers, args.epochs, args.seeds,
                       max_samples=args.max_samples,
                       keras_seeds=bench.KERAS_SEEDS if args.keras_seeds is None
                       else args.keras_seeds)
    results.write_json_atomic(Path(args.out), result)
    from mlplab.summary.tables import bench_paragraph

    print(bench_paragraph(result))
    print(f"wrote {args.out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mlplab", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("report", help="execute changed runs and rebuild report/index.html")
    p.add_argument("--experiments", type=Path, default=DEFAULT_EXPERIMENTS)
    p.add_argument("--report-dir", type=Path, default=Path("report"))
    p.add_argument("--jobs", type=int, default=1, help="runs at once (a local Dask cluster)")
    p.add_argument("--scheduler", help="address of an existing Dask scheduler to run on")
    p.add_argument("--force", action="store_true", help="rerun every run, ignoring the cache")
    p.add_argument("--only", nargs="+", metavar="NAME", help="execute only these runs")
    p.add_argument("--bench", action="store_true",
                   help=f"measure the speed benchmark (report/{BENCH_FILE}, as `mlplab bench` "
                        "does) if it is missing: on one worker while the others take the runs")
    p.add_argument("--set", action="append", metavar="NAME=VALUE",
                   help="override a parameter in every run, e.g. --set dataset=fashion-mnist")
    p.add_argument("--timeout", type=float, default=900,
                   help="seconds one notebook cell may run before the run fails")
    p.add_argument("--fresh-kernels", action="store_true",
                   help="start a new kernel for every run instead of keeping one warm per "
                        "worker (slower; the pages and records are the same)")
    p.add_argument("--wait", action="store_true",
                   help="if another build holds the report folder, wait for it instead of "
                        "exiting")
    p.add_argument("--allow-large", action="store_true",
                   help=f"build more than {experiments.MAX_RUNS} runs or "
                        f"{experiments.MAX_TRAININGS} trainings")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("params", help="print the parameter table, or sync the notebook cell")
    p.add_argument("--sync", action="store_true", help="rewrite the notebook's parameters cell")
    p.add_argument("--check", action="store_true", help="fail if the cell is out of date")
    p.add_argument("--notebook", default=str(runner.MASTER_NOTEBOOK))
    p.set_defaults(func=cmd_params)

    p = sub.add_parser("list", help="list the runs an experiment file expands to")
    p.add_argument("--experiments", type=Path, default=DEFAULT_EXPERIMENTS)
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("timings", help="where the runs' wall time went, summed from the "
                       "records of a built report (training's share: issue 24)")
    p.add_argument("--report-dir", type=Path, default=Path("report"))
    p.set_defaults(func=cmd_timings)

    p = sub.add_parser("data", help="download a dataset into data/ (checksum verified)")
    p.add_argument("action", choices=["fetch"])
    p.add_argument("name", choices=["mnist"])
    p.add_argument("--data-dir", default="data")
    p.set_defaults(func=cmd_data)

    p = sub.add_parser("bench", help="Keras' default loop vs ours, side by side")
    p.add_argument("--dataset", default="mnist-5k")
    p.add_argument("--hidden-layers", type=int, nargs="+", default=[50, 50])
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--seeds", type=int, nargs="+", default=list(range(10)))
    p.add_argument("--keras-seeds", type=int, metavar="N",
                   help="Keras' fit trains the first N seeds (its time per seed is steady; "
                        "default mlplab.lab.bench.KERAS_SEEDS); the batched path trains all")
    p.add_argument("--max-samples", type=int, default=None)
    p.add_argument("--out", default=f"report/{BENCH_FILE}")
    p.set_defaults(func=cmd_bench)

    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (experiments.ExperimentError, params.ParamError, DataError,
            results.RecordError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: finished runs were kept; unfinished ones left no files, "
              "processes or temporary folders; run the build again to finish", file=sys.stderr)
        return 130
    except runner.ReportBusy as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_BUSY
    except runner.ReportNotWritable as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_IO
    except OSError as err:
        if err.errno not in WRITE_ERRORS:
            raise
        print(f"error: cannot write {err.filename or 'the report'} ({err.strerror}): no file "
              "was left half-written; fix that and run the build again to finish",
              file=sys.stderr)
        return EXIT_IO
    except RuntimeError as err:  # e.g. DownloadError
        print(f"error: {err}", file=sys.stderr)
        return 2


def run() -> NoReturn:
    """The `mlplab` command: ``main``, then out without Python's finalization (~2 CPU-s
    once `mlplab bench` imported TensorFlow)."""
    exit_now(main())


if __name__ == "__main__":
    run()
