"""Mutation testing of the rule modules with cosmic-ray (run through tools/mutation).

For every target file in ``[tool.mutation.targets]`` of pyproject.toml:

1. a private copy of the repository is made (cosmic-ray edits the file it
   mutates in place; the working tree is never touched);
2. ``cosmic-ray init`` lists every mutation of that file;
3. mutations inside type annotations are dropped (``from __future__ import
   annotations`` keeps them from ever being evaluated, so ``int | None`` ->
   ``int - None`` cannot change behaviour);
4. a fixed-seed sample of the rest is kept (``--sample``, 0 = all) and the
   others are marked skipped;
5. ``cosmic-ray exec`` runs the target's own fast unit tests against each
   mutant, one at a time (one worker: the machine is shared);
6. the score per file goes to artifacts/mutation/scores.json and
   artifacts/mutation/scores.md, with the diff of every survivor (merged
   with earlier runs into the same directory, so one target can be rerun).

A mutant counts as caught when its tests fail or time out. Survivors are
either a missing test or an equivalent change; docs/mutation.md lists the
equivalent ones.
"""

from __future__ import annotations

import argparse
import ast
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

from cosmic_ray.work_db import WorkDB, use_db
from cosmic_ray.work_item import TestOutcome, WorkerOutcome, WorkResult

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "artifacts" / "mutation"
# What the private copy needs: the packages and the tests (no .venv, no artifacts).
COPIED = ["common", "hardware", "kiosk", "protos", "registry", "tests", "pyproject.toml"]


def load_settings() -> dict:
    with open(ROOT / "pyproject.toml", "rb") as handle:
        return tomllib.load(handle)["tool"]["mutation"]


def annotation_spans(source: str) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """(start, end) positions of every annotation in `source`."""
    spans = []

    def add(node: ast.AST | None) -> None:
        if node is not None:
            spans.append(((node.lineno, node.col_offset), (node.end_lineno, node.end_col_offset)))

    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.AnnAssign):
            add(node.annotation)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            add(node.returns)
        elif isinstance(node, ast.arg):
            add(node.annotation)
    return spans


def in_annotation(spans, start: tuple[int, int]) -> bool:
    return any(a <= tuple(start) < b for a, b in spans)


def run_target(target: str, tests: list[str], copy: Path, sample: int, seed: int,
               timeout: float) -> dict:
    name = target.replace("/", "_").removesuffix(".py")
    config = copy / f"{name}.toml"
    session = copy / f"{name}.sqlite"
    pytest = (f"{sys.executable} -m pytest -x -q -p no:cacheprovider --timeout={int(timeout)} "
              + " ".join(tests))
    config.write_text(
        "[cosmic-ray]\n"
        f'module-path = "{target}"\n'
        f"timeout = {timeout}\n"
        "excluded-modules = []\n"
        f"test-command = {json.dumps(pytest)}\n"
        "[cosmic-ray.distributor]\n"
        'name = "local"\n'
    )
    # Unmutated, the tests must pass: otherwise every mutant would count as caught.
    baseline = subprocess.run(pytest.split(), cwd=copy, capture_output=True, text=True)
    if baseline.returncode != 0:
        raise SystemExit(f"the tests of {target} fail without any mutation:\n"
                         + baseline.stdout[-3000:])
    cosmic_ray = str(Path(sys.executable).parent / "cosmic-ray")
    subprocess.run([cosmic_ray, "init", str(config), str(session)], cwd=copy, check=True)

    spans = annotation_spans((copy / target).read_text())
    with use_db(str(session), WorkDB.Mode.open) as db:
        items = list(db.work_items)
        wanted = [w for w in items
                  if not any(in_annotation(spans, m.start_pos) for m in w.mutations)]
        total = len(wanted)
        if sample and len(wanted) > sample:
            wanted = random.Random(f"{seed}:{target}").sample(wanted, sample)
        keep = {w.job_id for w in wanted}
        skipped = [w.job_id for w in items if w.job_id not in keep]
        if skipped:
            db.set_multiple_results(skipped, WorkResult(worker_outcome=WorkerOutcome.SKIPPED))

    started = time.monotonic()
    subprocess.run([cosmic_ray, "exec", str(config), str(session)], cwd=copy, check=True)
    seconds = time.monotonic() - started

    killed, survivors, incompetent = 0, [], 0
    with use_db(str(session), WorkDB.Mode.open) as db:
        specs = {w.job_id: w.mutations[0] for w in db.work_items}
        for job_id, result in db.results:
            if job_id not in keep:
                continue
            if result.worker_outcome is not WorkerOutcome.NORMAL:
                incompetent += 1  # the mutant did not even import (e.g. a broken decorator)
                killed += 1
            elif result.test_outcome is TestOutcome.SURVIVED:
                spec = specs[job_id]
                survivors.append({
                    "operator": spec.operator_name,
                    "occurrence": spec.occurrence,
                    "line": spec.start_pos[0],
                    "diff": result.diff or "",
                })
            else:
                killed += 1
    tested = killed + len(survivors)
    return {
        "file": target,
        "tests": tests,
        "mutants_in_file": total,
        "tested": tested,
        "sampled": bool(sample) and total > sample,
        "killed": killed,
        "of_which_errors": incompetent,
        "survived": len(survivors),
        "score": round(100.0 * killed / tested, 1) if tested else None,
        "seconds": round(seconds, 1),
        "survivors": sorted(survivors, key=lambda s: s["line"]),
    }


def merged(results: list[dict], out: Path, targets: dict) -> list[dict]:
    """This run's results over those of earlier runs into the same directory.

    Running one target must not drop the figures of the others; each file
    keeps the command, seed and date it was last measured with. Files that
    are no longer targets are dropped.
    """
    previous = []
    try:
        previous = json.loads((out / "scores.json").read_text())["files"]
    except (OSError, ValueError, KeyError):
        pass
    by_file = {r["file"]: r for r in previous if r.get("file") in targets}
    by_file.update({r["file"]: r for r in results})
    order = list(targets)
    return sorted(by_file.values(), key=lambda r: order.index(r["file"]))


def write_reports(results: list[dict], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    report = {"tool": "cosmic-ray", "files": results}
    (out / "scores.json").write_text(json.dumps(report, indent=2) + "\n")
    lines = [
        "# Mutation scores",
        "",
        "cosmic-ray; each file with the command, seed and date of its last run.",
        "",
        "| file | mutants | tested | caught | survived | score | seed | measured | command |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for r in results:
        lines.append(f"| {r['file']} | {r['mutants_in_file']} | {r['tested']} | {r['killed']} "
                     f"| {r['survived']} | {r['score']} % | {r.get('seed', '')} "
                     f"| {r.get('measured', '')} | `{r.get('command', '')}` |")
    for r in results:
        if not r["survivors"]:
            continue
        lines += ["", f"## Survivors in {r['file']}", ""]
        for s in r["survivors"]:
            lines += [f"line {s['line']}, {s['operator']}:", "",
                      "```diff", s["diff"].strip(), "```", ""]
    (out / "scores.md").write_text("\n".join(lines) + "\n")


def main() -> int:
    settings = load_settings()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", help="only these targets (default: all in pyproject)")
    parser.add_argument("--sample", type=int, default=None,
                        help="mutants per file, fixed seed (0 = every mutant; default: "
                             "[tool.mutation.samples] of the file, else [tool.mutation] sample)")
    parser.add_argument("--seed", type=int, default=settings["seed"],
                        help="another seed draws another sample (checks tests written after a run)")
    parser.add_argument("--out", default=str(OUT), help="where scores.json and scores.md go")
    args = parser.parse_args()
    settings = {**settings, "seed": args.seed}
    targets = settings["targets"]
    chosen = args.files or list(targets)
    unknown = [f for f in chosen if f not in targets]
    if unknown:
        parser.error(f"not a target in [tool.mutation.targets]: {', '.join(unknown)}")

    command = "tools/mutation" + "".join(f" {a}" for a in sys.argv[1:])
    results = []
    with tempfile.TemporaryDirectory(prefix="mutation-") as tmp:
        copy = Path(tmp)
        for entry in COPIED:
            source = ROOT / entry
            if source.is_dir():
                shutil.copytree(source, copy / entry,
                                ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            else:
                shutil.copy2(source, copy / entry)
        where = subprocess.run(
            [sys.executable, "-c", "import common.credentials as m; print(m.__file__)"],
            cwd=copy, capture_output=True, text=True, check=True).stdout.strip()
        if not where.startswith(str(copy)):
            # The tests would run against the unmutated working tree: every mutant would survive.
            raise SystemExit(f"the copy imports {where}, not its own sources")
        for target in chosen:
            print(f"== {target}", flush=True)
            sample = args.sample
            if sample is None:
                sample = settings.get("samples", {}).get(target, settings["sample"])
            result = run_target(target, targets[target], copy, sample, settings["seed"],
                                float(settings["timeout"]))
            print(f"   {result['killed']}/{result['tested']} caught = {result['score']} % "
                  f"({result['seconds']} s)", flush=True)
            result.update(command=command, seed=settings["seed"],
                          measured=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))
            results.append(result)
            write_reports(merged(results, Path(args.out), targets), Path(args.out))
    print(f"results: {args.out}/scores.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
