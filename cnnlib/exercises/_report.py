"""The ladder every checker runs and the report it prints.

A checker is a ladder of cases, from a hand-sized integer example to random general ones.
Each case is a function ``case(fn) -> Problem | None``; :func:`run_ladder` runs them in
order, stops at the first problem, prints the report and returns a :class:`CheckResult`.
Nothing the learner's function does (raise, return None, return the wrong type, print NaN)
makes a checker raise: it becomes a failed case with an explanation (``_calls.py``); a
wrong value gets a diff and, when recognised, a hint (``_compare.py``).
"""

from __future__ import annotations

import textwrap
from typing import Any, NamedTuple

__all__ = ["CheckResult", "Problem"]

OK, FAIL = "✓", "✗"  # check and cross marks
WIDTH = 80  # report lines are wrapped to this width (the book's page shows 83 characters)


class Problem(NamedTuple):
    """Why a case failed, in words a learner can act on."""

    call: str  # how the function was called, arrays by shape
    what: str  # one line: what went wrong
    expected: Any = None  # the value cnnlib computes (None when not applicable)
    received: Any = None  # what the function returned (or the exception)
    details: str = ""  # a small diff, several lines
    hint: str | None = None  # the recognised mistake, when one was recognised


class CheckResult:
    """What a checker found: truthy when every case passed, falsy otherwise.

    ``name`` is the checker's name, ``passed`` is ``bool(result)``, ``cases`` the titles of
    all the cases of the ladder (simplest first), ``n_passed`` how many passed before the
    first failure, ``problem`` the failure (a NamedTuple with ``call``, ``what``,
    ``expected``, ``received``, ``details`` and ``hint``; None when all passed) and
    ``notes`` remarks that did not fail a case. ``str(result)`` is the report the checker
    printed; in a notebook, showing the result in a later cell prints it again.
    """

    def __init__(self, name, mirrors, cases, n_passed, problem, notes=()):
        self.name = name
        self.mirrors = mirrors
        self.cases = tuple(cases)
        self.n_passed = n_passed
        self.problem = problem
        self.notes = tuple(notes)
        self.passed = problem is None
        self._shown_in = None  # the IPython cell that printed the report

    @property
    def case(self):
        """The title of the failing case; None when every case passed."""
        return None if self.passed else self.cases[self.n_passed]

    @property
    def expected(self):
        """What cnnlib computes for the failing case (None when not applicable)."""
        return None if self.passed else self.problem.expected

    @property
    def received(self):
        """What the function returned in the failing case (or the exception it raised)."""
        return None if self.passed else self.problem.received

    @property
    def hint(self):
        """The recognised mistake, in words; None when none was recognised."""
        return None if self.passed else self.problem.hint

    def __bool__(self) -> bool:
        return self.passed

    def report(self) -> str:
        """The full report as plain text (what the checker prints)."""
        lines = [self.name]
        for i, title in enumerate(self.cases[: self.n_passed], 1):
            lines.append(f"  {OK} {i}. {title}")
        if self.passed:
            for n in self.notes:
                lines += _indent(n, "  note: ", wrap=True)
            lines.append(
                f"{OK} All {len(self.cases)} cases passed: your function agrees with "
                f"{self.mirrors}."
            )
            return "\n".join(lines)
        p = self.problem
        lines.append(f"  {FAIL} {self.n_passed + 1}. {self.case}")
        lines += _indent(p.call, "      call:     ", wrap=True)
        lines += _indent(p.what, "      problem:  ", wrap=True)
        if p.details:
            lines += _indent(p.details, "      ")
        if p.hint:
            lines += _indent(p.hint, "      hint:     ", wrap=True)
        for n in self.notes:
            lines += _indent(n, "  note: ", wrap=True)
        rest = len(self.cases) - self.n_passed - 1
        later = f"; {rest} harder case{'s' if rest != 1 else ''} not run yet" if rest else ""
        lines.append(f"{FAIL} {self.n_passed} of {len(self.cases)} cases passed{later}.")
        lines.append(f"  Fix case {self.n_passed + 1} and run the check again.")
        return "\n".join(lines)

    __str__ = report

    def __repr__(self) -> str:
        if self.passed:
            return f"CheckResult({self.name}: passed all {len(self.cases)} cases)"
        return (
            f"CheckResult({self.name}: failed case {self.n_passed + 1} of "
            f"{len(self.cases)}: {self.case})"
        )

    def _ipython_display_(self):
        # The checker printed the report in this cell already: showing the result again
        # as the cell's value would print it twice. In a later cell, show it.
        if self._shown_in is None or self._shown_in != _cell_number():
            print(self.report())


def _cell_number():
    try:
        from IPython import get_ipython

        shell = get_ipython()
        return None if shell is None else shell.execution_count
    except Exception:  # noqa: BLE001 - no IPython: nothing to compare with
        return None


def _indent(text, first, wrap=False):
    pad = " " * len(first)
    lines = str(text).splitlines()
    if wrap:
        lines = textwrap.wrap(str(text), WIDTH - len(first), break_on_hyphens=False) or [""]
    return [(first if i == 0 else pad) + line for i, line in enumerate(lines)]


def run_ladder(name, mirrors, fn, cases, quiet=False, notes=None) -> CheckResult:
    """Run ``cases`` (a list of ``(title, case)``) in order on ``fn``; stop at the first
    problem; print the report unless ``quiet``; return the CheckResult."""
    notes = [] if notes is None else notes
    titles = [title for title, _ in cases]
    problem, n_passed = None, 0
    if not callable(fn):
        problem = Problem(
            call="-",
            what=f"{name} needs a function, got {_kind(fn)}",
            hint=f"pass the function itself, without calling it: {name}(my_function)",
        )
    else:
        for _, case in cases:
            problem = case(fn)
            if problem is not None:
                break
            n_passed += 1
    result = CheckResult(name, mirrors, titles, n_passed, problem, notes)
    if not quiet:
        print(result.report())
        result._shown_in = _cell_number()
    return result


def _kind(value) -> str:
    if value is None:
        return "None"
    return f"a {type(value).__name__}"


def ladder_of(configs):
    """One case that runs several configurations and reports the first failure."""

    def case(fn):
        for c in configs:
            problem = c(fn)
            if problem is not None:
                return problem
        return None

    return case
