"""Course labs: checks inside a notebook, a student release, and grading with hidden checks.

An instructor writes one notebook (see notebooks/instructor/lab-template.ipynb) with
  - reference solutions between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` lines,
  - visible checks (``lab.check(...)`` in ordinary cells),
  - hidden checks: cells tagged ``hidden-check``, which students never see.

    python -m sandbox_tutorials.lab release lab.ipynb student.ipynb
    python -m sandbox_tutorials.lab grade submitted.ipynb lab.ipynb

``release`` replaces solutions with a stub, drops hidden checks and outputs. ``grade``
puts the hidden checks back into a submitted notebook (after the cell they followed),
runs it headless and reports every check.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import re
import sys
from pathlib import Path

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
HIDDEN_TAG = "hidden-check"
STUB = "# YOUR CODE HERE\nraise NotImplementedError()"
REPORT_PREFIX = "LAB-CHECK "
GRADING_ENV = "SANDBOX_LAB_GRADING"

_results: dict[str, bool] = {}


def check(name: str, passed: bool, hint: str = "") -> None:
    """Record a check; print it; raise AssertionError when it fails (so a grader sees it)."""
    _results[name] = bool(passed)
    if os.environ.get(GRADING_ENV) == "1":  # machine-readable line for `grade`
        print(f"{REPORT_PREFIX}{json.dumps({'name': name, 'passed': bool(passed)})}")
    print(("✓ " if passed else "✗ ") + name + ("" if passed or not hint else f" (hint: {hint})"))
    if not passed:
        raise AssertionError(f"check failed: {name}" + (f" (hint: {hint})" if hint else ""))


def summary() -> dict[str, bool]:
    passed = sum(_results.values())
    print(f"{passed}/{len(_results)} checks passed")
    return dict(_results)


def strip_solutions(source: str) -> str:
    pattern = re.compile(
        rf"^([ \t]*){re.escape(BEGIN)}\n.*?^[ \t]*{re.escape(END)}[ \t]*$", re.S | re.M
    )
    return pattern.sub(lambda m: "\n".join(m.group(1) + line for line in STUB.splitlines()), source)


def release(instructor_nb, student_path: str | Path | None = None):
    """The student version of an instructor notebook (a NotebookNode; written if a path is given)."""
    import nbformat

    nb = copy.deepcopy(instructor_nb)
    nb.cells = [c for c in nb.cells if HIDDEN_TAG not in c.metadata.get("tags", [])]
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.source = strip_solutions(cell.source)
            cell.outputs, cell.execution_count = [], None
    if student_path is not None:
        nbformat.write(nb, str(student_path))
    return nb


def with_hidden_checks(submitted_nb, instructor_nb):
    """The submission with the instructor's hidden checks re-inserted in place."""
    nb = copy.deepcopy(submitted_nb)
    cells = instructor_nb.cells
    for i, cell in enumerate(cells):
        if HIDDEN_TAG not in cell.metadata.get("tags", []):
            continue
        anchor = next(
            (
                cells[j].get("id")
                for j in range(i - 1, -1, -1)
                if HIDDEN_TAG not in cells[j].metadata.get("tags", [])
            ),
            None,
        )
        ids = [c.get("id") for c in nb.cells]
        position = ids.index(anchor) + 1 if anchor in ids else len(nb.cells)
        nb.cells.insert(position, copy.deepcopy(cell))
    return nb


def expected_checks(instructor_nb) -> list[str]:
    """Names of every check the instructor notebook makes (``lab.check("name", ...)``)."""
    pattern = re.compile(r"""check\(\s*["']([^"']+)["']""")
    return [
        name
        for cell in instructor_nb.cells
        if cell.cell_type == "code"
        for name in pattern.findall(cell.source)
    ]


def grade(submitted_nb, instructor_nb, cwd: str | Path, timeout: int = 120) -> dict[str, bool]:
    """Run the submission with hidden checks: name -> passed for every check of the
    instructor's notebook (a check never reached, because an earlier cell failed, fails)."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = with_hidden_checks(submitted_nb, instructor_nb)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(cwd)}})  # fmt: skip
    previous = os.environ.get(GRADING_ENV)
    os.environ[GRADING_ENV] = "1"  # the kernel inherits it
    try:
        client.execute()
    except CellExecutionError:
        pass
    finally:
        if previous is None:
            os.environ.pop(GRADING_ENV, None)
        else:
            os.environ[GRADING_ENV] = previous
    outcome = dict.fromkeys(expected_checks(instructor_nb), False)
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            for line in output.get("text", "").splitlines():
                if line.startswith(REPORT_PREFIX):
                    record = json.loads(line[len(REPORT_PREFIX) :])
                    outcome[record["name"]] = record["passed"]
    return outcome


def main(argv: list[str] | None = None) -> int:
    import nbformat

    parser = argparse.ArgumentParser(prog="python -m sandbox_tutorials.lab")
    sub = parser.add_subparsers(dest="command", required=True)
    rel = sub.add_parser("release", help="write the student version")
    rel.add_argument("instructor")
    rel.add_argument("student")
    grd = sub.add_parser("grade", help="run a submission with the hidden checks")
    grd.add_argument("submission")
    grd.add_argument("instructor")
    args = parser.parse_args(argv)
    if args.command == "release":
        release(nbformat.read(args.instructor, as_version=4), args.student)
        print(f"wrote {args.student}")
        return 0
    outcome = grade(
        nbformat.read(args.submission, as_version=4),
        nbformat.read(args.instructor, as_version=4),
        cwd=Path(args.submission).resolve().parent,
    )
    for name, passed in outcome.items():
        print(f"{'PASS' if passed else 'FAIL'}  {name}")
    return 0 if outcome and all(outcome.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
