"""The mutation score of ``govflow/core`` after ``mutmut run``, checked against its floor.

``make mutants`` runs mutmut (configured in ``pyproject.toml``: the core's modules, mutated one
change at a time, against ``tests/unit``) and then this script, which reads ``mutmut results``,
prints the score per module and fails when the whole core or any module scores below the floor
recorded in ``tools/mutation_floor.json``. ``--record`` writes the current figures as the new
floor (after killing survivors, never to hide a drop).

Score: mutants killed (a test failed, or the tests timed out) over all mutants; a mutant that no
unit test reaches counts as not killed.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FLOOR = Path(__file__).with_name("mutation_floor.json")
KILLED = frozenset({"killed", "timeout"})
UNFINISHED = frozenset({"not checked", "check was interrupted by user"})


def results() -> dict[str, str]:
    """Every mutant's name and status, as ``mutmut results --all true`` lists them."""
    listed = subprocess.run(
        [sys.executable, "-m", "mutmut", "results", "--all", "true"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    statuses = {}
    for line in listed.splitlines():
        name, sep, status = line.strip().rpartition(": ")
        if sep:
            statuses[name] = status
    return statuses


def module_of(mutant: str) -> str:
    """``govflow.core.engine`` for ``govflow.core.engine.x_decide__mutmut_1``."""
    return ".".join(mutant.split(".")[:3])


def scores(statuses: dict[str, str]) -> tuple[dict[str, Counter[str]], Counter[str]]:
    per_module: dict[str, Counter[str]] = defaultdict(Counter)
    for mutant, status in statuses.items():
        per_module[module_of(mutant)][status] += 1
    total: Counter[str] = Counter()
    for counts in per_module.values():
        total.update(counts)
    return dict(per_module), total


def score(counts: Counter[str]) -> float:
    mutants = sum(counts.values())
    return 100.0 * sum(counts[s] for s in KILLED) / mutants if mutants else 100.0


def floor_of(value: float) -> float:
    """The score rounded down to a tenth: the floor never exceeds what was measured."""
    return math.floor(value * 10) / 10


def row(name: str, counts: Counter[str], minimum: float) -> str:
    killed = counts["killed"] + counts["timeout"]
    return (
        f"{name:36} {sum(counts.values()):7} {killed:7} {counts['survived']:8} "
        f"{counts['no tests']:7} {score(counts):5.1f}% {minimum:5.1f}%"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--record", action="store_true", help="write the scores as the floor")
    args = parser.parse_args()
    statuses = results()
    if not statuses:
        print("no mutants found: run `mutmut run` first")
        return 1
    unfinished = sum(1 for s in statuses.values() if s in UNFINISHED)
    if unfinished:
        print(f"{unfinished} mutants were not checked: let `mutmut run` finish first")
        return 1
    per_module, total = scores(statuses)
    floor = json.loads(FLOOR.read_text()) if FLOOR.exists() else {"core": 0.0, "modules": {}}
    failures = []
    print(f"{'module':36} {'mutants':>7} {'killed':>7} {'survived':>8} {'no test':>7} score  floor")
    for module, counts in sorted(per_module.items()):
        minimum = floor["modules"].get(module, 0.0)
        print(row(module, counts, minimum))
        if score(counts) < minimum:
            failures.append(f"{module}: {score(counts):.1f}% < floor {minimum:.1f}%")
    core = score(total)
    print(row("govflow.core", total, floor["core"]))
    if core < floor["core"]:
        failures.append(f"govflow/core: {core:.1f}% < floor {floor['core']:.1f}%")
    if args.record:
        recorded = {
            "core": floor_of(core),
            "modules": {m: floor_of(score(c)) for m, c in sorted(per_module.items())},
        }
        FLOOR.write_text(json.dumps(recorded, indent=2) + "\n")
        print(f"floor written to {FLOOR.relative_to(ROOT)}")
        return 0
    for failure in failures:
        print(f"mutation score dropped: {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
