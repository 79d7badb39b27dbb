"""`gennai eval`: the procurement evaluation lifecycle from the command line (docs/evaluation.md).

Seal a suite before the test day, run it against candidate models through the gateway's
policy, score it from the stored transcripts, report, reveal and verify. Every error is one
line naming the file (and line) at fault.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from gennai.config import ConfigError, LoadedConfig, default_config_path, load_config

if TYPE_CHECKING:
    from gennai.evaluation.config import EvalConfig
    from gennai.evaluation.items import Item
    from gennai.platform import Platform

T = TypeVar("T")

eval_app = typer.Typer(
    help="Procurement evaluation: seal, run, score, report, reveal, verify (docs/evaluation.md).",
    no_args_is_help=True,
)

EvalConfigOption = Annotated[
    Path | None, typer.Option("--config", help="eval.toml: decoding settings, concurrency, retries, judges")
]
GennaiConfigOption = Annotated[
    Path | None,
    typer.Option("--gennai-config", "-c", help="gennai.toml with the candidate models (default: eval.toml's gennai_config, $GENNAI_CONFIG or ./gennai.toml)"),
]


def _console():  # type: ignore[no-untyped-def]
    from gennai.cli import console

    return console


def _fail(message: str) -> typer.Exit:
    from gennai.cli import _fail as fail

    return fail(message)


def _known_errors() -> tuple[type[Exception], ...]:
    from gennai.evaluation.config import EvalConfigError
    from gennai.evaluation.datasets import DatasetError
    from gennai.evaluation.grading import GradingError
    from gennai.evaluation.report import ReportError
    from gennai.evaluation.sealing import SealError
    from gennai.evaluation.signing import SigningError
    from gennai.evaluation.suites import SuiteError
    from gennai.evaluation.transcripts import RunFolderError

    return (
        ConfigError, EvalConfigError, DatasetError, GradingError, ReportError, SealError, SigningError, SuiteError,
        RunFolderError,
    )


def _guard(work: Callable[[], T]) -> T:
    """Run `work`; a known problem becomes one line on stderr and exit code 2."""
    try:
        return work()
    except _known_errors() as exc:
        raise _fail(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None
    except OSError as exc:
        raise _fail(f"{exc.filename or ''}: {exc.strerror or exc}".lstrip(": ")) from None


def _eval_config(path: Path | None) -> tuple[EvalConfig, Path | None]:
    from gennai.evaluation.config import load_eval_config

    return load_eval_config(path)


def _gennai_config(option: Path | None, config: EvalConfig, base: Path | None) -> LoadedConfig:
    if option is not None:
        return load_config(option)
    if config.gennai_config:
        path = Path(config.gennai_config)
        return load_config(path if path.is_absolute() or base is None else base / path)
    return load_config(default_config_path())


def _harness_version() -> str:
    from gennai.evaluation.signing import current_harness_version

    return current_harness_version()


async def _with_platform(loaded: LoadedConfig, work: Callable[[Platform], Awaitable[T]]) -> T:
    from gennai.platform import Platform

    platform = Platform.build(loaded)
    await platform.start()
    try:
        return await work(platform)
    finally:
        await platform.stop()


@contextmanager
def _run_lock(run_dir: Path) -> Iterator[None]:
    """One `gennai eval run` per run folder at a time: a second one would ask the same
    pending items again and write them into the same transcripts."""
    import fcntl

    with (run_dir / ".run.lock").open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise _fail(f"{run_dir}: another `gennai eval run` is working on this folder; wait for it to end") from None
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _open_items(sealed_dir: Path, key: Path) -> tuple[list[Item], Any, str]:
    """The sealed suite's items (in memory only), its manifest and its hash."""
    from gennai.evaluation.sealing import canonical_hash, open_sealed
    from gennai.evaluation.suites import parse_records

    sealed = open_sealed(sealed_dir, key)
    records = sealed.raw_records()
    items = list(parse_records(records, source=f"{sealed_dir} (sealed)"))
    return items, sealed.manifest, canonical_hash(records)


def _run_items(run_dir: Path, run: dict[str, Any], key: Path | None, suite: Path | None) -> list[Item]:
    """The items of a run: from a revealed suite file (checked against the run's root), else
    from the sealed folder opened with the key (run.json remembers both paths)."""
    from gennai.evaluation.sealing import load_manifest, verify
    from gennai.evaluation.suites import load_suite, read_records

    if suite is not None:
        sealed_dir = Path(run["suite"]["sealed_dir"])
        report = verify(sealed_dir, read_records(suite), published_root=run["suite"]["merkle_root"])
        if not report.ok:
            raise _fail(f"{suite}: does not match the sealed suite of this run: {report.problems[0]}")
        load_manifest(sealed_dir)
        return list(load_suite(suite).items)
    key_path = key or Path(run["suite"]["key_file"])
    items, manifest, _ = _open_items(Path(run["suite"]["sealed_dir"]), key_path)
    if manifest.merkle_root != run["suite"]["merkle_root"]:
        raise _fail(f"{run['suite']['sealed_dir']}: the sealed suite is not the one this run asked (root differs)")
    return items


# -- before the test -----------------------------------------------------------------------


@eval_app.command("seal")
def seal_command(
    suite: Annotated[Path, typer.Argument(help="the suite (JSONL) to seal")],
    out: Annotated[Path, typer.Option("--out", help="folder for manifest.json and suite.sealed (publishable)")],
    key_out: Annotated[Path, typer.Option("--key-out", help="where to write the key (never inside --out)")],
    name: Annotated[str | None, typer.Option("--name", help="the suite's name (default: the file name)")] = None,
) -> None:
    """Encrypt a suite and write its public manifest (commitments and Merkle root)."""
    from gennai.evaluation.sealing import seal
    from gennai.evaluation.suites import load_suite, read_records

    def work() -> Any:
        load_suite(suite)  # every item valid before anything is written
        return seal(read_records(suite), out, key_out, name or suite.stem)

    manifest = _guard(work)
    console = _console()
    console.print(f"sealed {manifest.item_count} items of '{manifest.suite_name}' into {out}")
    console.print(f"Merkle root (publish it now): {manifest.merkle_root}")
    console.print(f"key: {key_out} (keep it apart from {out} until the test day)")


@eval_app.command("samples")
def samples_command(
    name: Annotated[str | None, typer.Argument(help="a sample suite to write out (none: list them)")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="where to write the sample suite")] = None,
) -> None:
    """List the sample suites that ship with gennai, or copy one to a file."""
    from gennai.evaluation.suites import SAMPLES, sample_path

    if name is None:
        table = _table("suite", "what")
        for sample, description in SAMPLES.items():
            table.add_row(sample, description)
        _console().print(table)
        return
    if name not in SAMPLES:
        raise _fail(f"no sample suite '{name}' (known: {', '.join(SAMPLES)})")
    data = sample_path(name).read_bytes()
    if out is None:
        typer.echo(data.decode("utf-8"), nl=False)
        return
    if out.exists():
        raise _fail(f"{out}: exists; choose another file")
    out.write_bytes(data)
    _console().print(f"wrote {out}")


@eval_app.command("dataset")
def dataset_command(
    name: Annotated[str, typer.Argument(help="jsquad, jcommonsenseqa, ja-mt-bench, elyza-tasks-100 or lawqa-jp")],
    path: Annotated[Path, typer.Argument(help="the data set's folder or file (it is read, never copied into gennai)")],
    out: Annotated[Path, typer.Option("--out", help="the suite file (JSONL) to write")],
    limit: Annotated[int | None, typer.Option("--limit", help="only the first N items")] = None,
) -> None:
    """Turn a public Japanese evaluation set into a suite file."""
    from gennai.evaluation.datasets import load_dataset
    from gennai.evaluation.suites import write_suite

    if out.exists():
        raise _fail(f"{out}: exists; choose another file")
    items = _guard(lambda: load_dataset(name, path, limit))
    _guard(lambda: write_suite(out, items))
    _console().print(f"wrote {len(items)} items of {name} to {out}")


# -- the test day ----------------------------------------------------------------------------


@eval_app.command("run")
def run_command(
    sealed_dir: Annotated[Path, typer.Argument(help="the sealed suite's folder")],
    key: Annotated[Path, typer.Option("--key", help="the key released on the test day")],
    models: Annotated[str, typer.Option("--models", help="candidate model ids, comma-separated")],
    out: Annotated[Path, typer.Option("--out", help="the run folder (a resumed run: the same folder)")],
    config: EvalConfigOption = None,
    gennai_config: GennaiConfigOption = None,
) -> None:
    """Ask every item of every candidate through the gateway; resumable after a crash."""
    from gennai.evaluation.runner import Runner, SuiteInfo, prepare_run_folder, summary_line

    candidates = [model.strip() for model in models.split(",") if model.strip()]
    if not candidates or len(set(candidates)) != len(candidates):
        raise _fail("--models: give one or more distinct model ids, comma-separated")
    eval_config, base = _guard(lambda: _eval_config(config))
    loaded = _guard(lambda: _gennai_config(gennai_config, eval_config, base))
    unknown = [model for model in candidates if model not in {m.id for m in loaded.config.models}]
    if unknown:
        raise _fail(f"{loaded.path}: no model {', '.join(repr(m) for m in unknown)} in the registry")
    items, manifest, suite_hash = _guard(lambda: _open_items(sealed_dir, key))
    suite = SuiteInfo(
        name=manifest.suite_name, merkle_root=manifest.merkle_root, item_count=manifest.item_count,
        canary=manifest.canary, suite_sha256=suite_hash, sealed_dir=str(sealed_dir.resolve()), key_file=str(key.resolve()),
    )
    run = _guard(lambda: prepare_run_folder(out, suite=suite, candidates=candidates, config=eval_config, harness_version=_harness_version()))
    console = _console()
    console.print(f"run {run['run_id']}: {len(items)} items × {len(run['candidates'])} candidates → {out}")

    async def work(platform: Platform) -> Any:
        runner = Runner(platform, eval_config, out, run["run_id"])
        with Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console,
        ) as progress:
            tasks: dict[str, Any] = {}

            def report(candidate: str, done: int, total: int) -> None:
                if candidate not in tasks:
                    tasks[candidate] = progress.add_task(candidate, total=total)
                progress.update(tasks[candidate], completed=done)

            return await runner.run(items, run["candidates"], report)

    with _run_lock(out):
        statuses = _guard(lambda: asyncio.run(_with_platform(loaded, work)))
    console.print(summary_line(statuses))
    unfinished = sum(count for counts in statuses.values() for status, count in counts.items() if status not in ("ok", "blocked"))
    if unfinished:
        console.print(f"{unfinished} item(s) ended with an error or a timeout: run the same command again to ask them again")


@eval_app.command("score")
def score_command(
    run_dir: Annotated[Path, typer.Argument(help="the run folder")],
    config: EvalConfigOption = None,
    gennai_config: GennaiConfigOption = None,
    key: Annotated[Path | None, typer.Option("--key", help="the suite's key (default: the one the run used)")] = None,
    suite: Annotated[Path | None, typer.Option("--suite", help="the revealed suite instead of the key")] = None,
) -> None:
    """Score a run from its transcripts (writes RUNDIR/scores.json); judges are asked only
    for answers they have not graded yet."""
    from gennai.evaluation.scoring import SCORES_FILE, score_run
    from gennai.evaluation.files import write_json_atomic
    from gennai.evaluation.transcripts import read_run

    eval_config, base = _guard(lambda: _eval_config(config))
    run = _guard(lambda: read_run(run_dir))
    items = _guard(lambda: _run_items(run_dir, run, key, suite))
    queue, grades = _grading_hooks()

    if eval_config.judge.models:
        loaded = _guard(lambda: _gennai_config(gennai_config, eval_config, base))

        async def work(platform: Platform) -> dict[str, Any]:
            return await score_run(
                run_dir, run, items, eval_config, judge=_judge_asker(platform, eval_config, run_dir, run["run_id"]),
                queue_for_humans=queue, human_grades=grades, harness_version=_harness_version(),
            )

        scores = _guard(lambda: asyncio.run(_with_platform(loaded, work)))
    else:
        scores = _guard(lambda: asyncio.run(score_run(
            run_dir, run, items, eval_config, queue_for_humans=queue, human_grades=grades, harness_version=_harness_version(),
        )))
    scores["human_grading"] = _guard(lambda: _grading_summary(run_dir))
    write_json_atomic(run_dir / SCORES_FILE, scores)
    _print_leaderboard(scores)
    pending = scores["pending"]
    if pending["judge"]:
        _console().print(f"{pending['judge']} judge item answer(s) not graded yet (no [judge] models, or a judge call failed)")
    if pending["human"]:
        _console().print(f"{pending['human']} answer(s) queued for human graders: gennai eval grade {run_dir}")


def _scored_run(run_dir: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """run.json and scores.json of a run that has been scored (one line if not)."""
    from gennai.evaluation.scoring import SCORES_FILE
    from gennai.evaluation.transcripts import read_run

    run = _guard(lambda: read_run(run_dir))
    scores_path = run_dir / SCORES_FILE
    try:
        scores = json.loads(scores_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise _fail(f"{scores_path}: not found; score the run first (gennai eval score {run_dir})") from None
    except (OSError, ValueError) as exc:
        raise _fail(f"{scores_path}: cannot read: {exc}") from None
    return run, scores


def _grading_hooks() -> tuple[Any, Any]:
    """The human grading queue and grades, when that module is there."""
    try:
        from gennai.evaluation import grading
    except ImportError:  # pragma: no cover - grading ships with gennai
        return None, None

    def queue(run_dir: Path, tasks: Any) -> int:
        # A secret seed and order: graders see task and item ids, and the code and the run's
        # candidate order are no secret, so neither the labels nor the task numbering may be
        # derivable from them (the per-task seed is still recorded in the queue).
        tasks = list(tasks)
        secrets.SystemRandom().shuffle(tasks)
        return grading.queue_tasks(run_dir, tasks, seed=secrets.randbits(64))

    def grades(run_dir: Path) -> dict[tuple[str, str], float]:
        # only answers two graders have marked count (one grader alone is not a grade)
        return {(a.item_id, a.candidate): a.mean for a in grading.results(run_dir).answers if a.complete and a.mean is not None}

    return queue, grades


def _grading_summary(run_dir: Path) -> dict[str, Any] | None:
    """Tasks done and the graders' agreement (Cohen's kappa), when anything was queued."""
    from gennai.evaluation import grading

    if not grading.load_queue(run_dir):
        return None
    summary = grading.results(run_dir).to_json()
    return {"tasks": summary["tasks"], "agreement": summary["agreement"]}


def _judge_asker(platform: Platform, config: EvalConfig, run_dir: Path, run_id: str) -> Any:
    """Judge calls: the same admitted gateway calls as the candidates' (the judge sees the
    item, so the policy checks it is cleared for the item's class), at temperature 0."""
    from gennai.evaluation.config import Decoding
    from gennai.evaluation.items import Item
    from gennai.evaluation.runner import Runner

    judge_config = config.model_copy(update={"decoding": Decoding(temperature=0.0, max_tokens=1024)})
    runner = Runner(platform, judge_config, run_dir, f"{run_id}-judge")

    async def ask(model: str, item: Item, prompt: str) -> str:
        line = await runner.ask(
            model, Item(id=item.id, category=item.category, scoring="judge", input=prompt, classification=item.classification)
        )
        if line.status != "ok":
            raise RuntimeError(line.error or line.status)
        return line.answers[-1]

    return ask


def _table(*headers: str):  # type: ignore[no-untyped-def]
    from gennai.cli import _table as table

    return table(*headers)


def _print_leaderboard(scores: dict[str, Any]) -> None:
    table = _table("rank", "candidate", "score", "95% interval", "answered", "errors")
    for row in scores["leaderboard"]:
        ops = scores["candidates"][row["candidate"]]["operations"]
        table.add_row(
            str(row["rank"]), row["candidate"], f"{row['mean']:.3f}", f"{row['low']:.3f}–{row['high']:.3f}",
            str(ops["answered"]), str(ops["errors"] + ops["timeouts"]),
        )
    console = _console()
    console.print(table)
    console.print("candidates that share a rank are not distinguishable: their intervals overlap")


# -- after the test ---------------------------------------------------------------------------


@eval_app.command("report")
def report_command(
    run_dir: Annotated[Path, typer.Argument(help="the run folder (scored)")],
    out: Annotated[Path, typer.Option("--out", help="the HTML file to write (the JSON result goes next to it)")],
    public: Annotated[bool, typer.Option("--public", help="the redacted report: only publishable items")] = False,
    scorecard: Annotated[Path | None, typer.Option("--scorecard", help="a scorecard file (gates and weighted parts)")] = None,
    signing_key: Annotated[Path | None, typer.Option("--signing-key", help="Ed25519 key to sign the result (gennai eval keygen)")] = None,
    key: Annotated[Path | None, typer.Option("--key", help="the suite's key, to show publishable items' text")] = None,
    suite: Annotated[Path | None, typer.Option("--suite", help="the revealed suite, to show publishable items' text")] = None,
) -> None:
    """Write the HTML report and the JSON result (signed with --signing-key)."""
    from gennai.evaluation.report import build_report, write_report
    from gennai.evaluation.signing import load_signing_key

    run, scores = _scored_run(run_dir)
    items = None
    if key is not None or suite is not None:
        items = {item.id: item for item in _guard(lambda: _run_items(run_dir, run, key, suite))}
    card = None
    if scorecard is not None:
        from gennai.evaluation.scorecard import ScorecardError, evaluate, load_scorecard

        try:
            card = evaluate(load_scorecard(scorecard)).to_dict()
        except ScorecardError as exc:
            raise _fail(str(exc)) from None
    private = _guard(lambda: load_signing_key(signing_key)) if signing_key is not None else None
    report = _guard(lambda: build_report(scores, run, items=items, scorecard=card, public=public))
    html_path, json_path = _guard(lambda: write_report(report, out, signing_key=private))
    _console().print(f"wrote {html_path} and {json_path}" + ("" if private else " (unsigned: no --signing-key)"))


@eval_app.command("keygen")
def keygen_command(
    out: Annotated[Path, typer.Option("--out", help="the private key file (the public key is written next to it)")],
) -> None:
    """Create an Ed25519 key pair for signing results."""
    from gennai.evaluation.signing import generate_signing_key, public_key_path

    _guard(lambda: generate_signing_key(out))
    _console().print(f"wrote {out} (private, keep it safe) and {public_key_path(out)} (publish it)")


@eval_app.command("reveal")
def reveal_command(
    sealed_dir: Annotated[Path, typer.Argument(help="the sealed suite's folder")],
    key: Annotated[Path, typer.Option("--key", help="the suite's key")],
    out: Annotated[Path, typer.Option("--out", help="the revealed suite (JSONL) to write")],
) -> None:
    """After the test: write the suite in clear and the openings that let anyone verify it."""
    from gennai.evaluation.sealing import reveal

    openings = _guard(lambda: reveal(sealed_dir, key, out))
    _console().print(f"wrote {out} and {openings}: publish both with manifest.json")


def _verdict(problems: tuple[str, ...] | list[str], ok_line: str, label: str) -> None:
    """A check's outcome: the ok line, or each problem and exit code 1."""
    console = _console()
    if not problems:
        console.print(ok_line)
        return
    for problem in problems:
        console.print(f"[bold red]{label}:[/] {problem}", highlight=False)
    raise typer.Exit(1)


@eval_app.command("verify")
def verify_command(
    sealed_dir: Annotated[Path, typer.Argument(help="the sealed suite's folder (manifest.json, openings.json)")],
    suite: Annotated[Path, typer.Argument(help="the revealed suite (JSONL)")],
    root: Annotated[str | None, typer.Option("--root", help="the Merkle root published before the test")] = None,
    key: Annotated[Path | None, typer.Option("--key", help="the key, when openings.json is not published yet")] = None,
) -> None:
    """Check a revealed suite against the commitments published before the test; names every
    item that differs. Exit code 1 when anything differs."""
    from gennai.evaluation.sealing import OPENINGS_NAME, open_sealed, verify
    from gennai.evaluation.suites import read_records

    if key is None and not (sealed_dir / OPENINGS_NAME).exists():
        raise _fail(f"{sealed_dir / OPENINGS_NAME}: not published yet; publish it with `gennai eval reveal` or give --key")

    def work() -> Any:
        openings = open_sealed(sealed_dir, key).openings if key is not None else None
        return verify(sealed_dir, read_records(suite), published_root=root, openings=openings)

    report = _guard(work)
    _verdict(report.problems, f"ok: all {report.item_count} items match the commitments (root {report.recomputed_root})", "differs")


@eval_app.command("verify-result")
def verify_result_command(
    result: Annotated[Path, typer.Argument(help="a signed JSON result (gennai eval report)")],
    public_key: Annotated[Path | None, typer.Option("--public-key", help="require this signer's public key (.pub)")] = None,
) -> None:
    """Check a result's Ed25519 signature. Exit code 1 when it does not verify."""
    from gennai.evaluation.signing import load_public_key, verify_result

    try:
        signed = json.loads(result.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise _fail(f"{result}: cannot read: {exc}") from None
    expected = _guard(lambda: load_public_key(public_key)) if public_key is not None else None
    outcome = verify_result(signed, expected)
    _verdict(outcome.problems, f"ok: signature valid (key {outcome.key_id})", "invalid")


@eval_app.command("grade")
def grade_command(
    run_dir: Annotated[Path, typer.Argument(help="the run folder (scored: grading/queue.jsonl holds the tasks)")],
    grader: Annotated[list[str], typer.Option("--grader", help="a grader's name; give it once per grader (two per task)")],
    key: Annotated[Path | None, typer.Option("--key", help="the suite's key (default: the one the run used)")] = None,
    suite: Annotated[Path | None, typer.Option("--suite", help="the revealed suite instead of the key")] = None,
    host: Annotated[str, typer.Option("--host", help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="port to listen on")] = 8100,
) -> None:
    """Start the blind grading pages for human graders (each gets a private link); the items
    stay in memory. Stop with Ctrl+C, then score again to use the grades."""
    import uvicorn

    from gennai.evaluation.grading import load_queue
    from gennai.evaluation.grading_server import create_grading_app, new_token
    from gennai.evaluation.transcripts import read_run

    names = [name.strip() for name in grader if name.strip()]
    if len(names) < 2 or len(set(names)) != len(names):
        raise _fail("--grader: give at least two distinct graders (each task is graded by two)")
    run = _guard(lambda: read_run(run_dir))
    if not _guard(lambda: load_queue(run_dir)):
        raise _fail(f"{run_dir}: no grading tasks queued (scoring queues the answers the judges disagree on)")
    items = {item.id: item for item in _guard(lambda: _run_items(run_dir, run, key, suite))}
    tokens = {new_token(): name for name in names}
    application = _guard(lambda: create_grading_app(run_dir, items, tokens))
    console = _console()
    console.print("send each grader their own link (it is their password):")
    for token, name in tokens.items():
        console.print(f"  {name}: http://{host}:{port}/g/{token}")
    # no access log: the links carry the graders' secrets
    uvicorn.run(application, host=host, port=port, access_log=False, log_level="warning")


@eval_app.command("export-inspect")
def export_inspect_command(
    run_dir: Annotated[Path, typer.Argument(help="the run folder (scored)")],
    out: Annotated[Path, typer.Option("--out", help="folder for the Inspect AI logs (one .json per candidate)")],
    key: Annotated[Path | None, typer.Option("--key", help="the suite's key (default: the one the run used)")] = None,
    suite: Annotated[Path | None, typer.Option("--suite", help="the revealed suite instead of the key")] = None,
) -> None:
    """Write the run as Inspect AI eval logs, for `inspect view` and its data frames. They hold
    the items' text: internal, like the run folder."""
    from gennai.evaluation.inspect_export import InspectExportError, export_inspect_logs

    run, scores = _scored_run(run_dir)
    items = _guard(lambda: _run_items(run_dir, run, key, suite))
    try:
        paths = export_inspect_logs(run_dir, run, scores, items, out)
    except InspectExportError as exc:
        raise _fail(str(exc)) from None
    for path in paths:
        _console().print(f"wrote {path}")
