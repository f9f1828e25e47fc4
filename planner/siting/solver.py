"""Solving a PuLP problem with HiGHS or CBC, and reporting honestly what the solver proved.

``SolverOptions`` says how to solve; ``SolveResult`` tells a proven optimum from an answer cut off by
the time limit (PuLP's ``LpStatus`` says "Optimal" for both; the solver's own status and bound do not).
Neither solver prints anything unless ``SolverOptions.msg`` asks for its log (then on stderr).
"""

from __future__ import annotations

import math
import os
import re
import sys
import tempfile
import threading
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from time import perf_counter
from typing import Literal, TypeAlias, get_args

import pulp

from planner.errors import ScenarioError, SolverError

#: Solvers ``SolverOptions.solver`` can name.
SolverName: TypeAlias = Literal["highs", "cbc"]
SOLVERS: tuple[SolverName, ...] = get_args(SolverName)
#: Outcomes of a solve (see ``SolveResult``).
SolveStatus: TypeAlias = Literal["optimal", "feasible", "infeasible", "unbounded", "not_solved"]
STATUSES: tuple[SolveStatus, ...] = get_args(SolveStatus)

#: p-median: the site serving each demand row. Capacitated location: per demand row, the
#: ``(site, share)`` pairs that serve it (shares sum to 1).
Assignment: TypeAlias = tuple[int, ...] | tuple[tuple[tuple[int, float], ...], ...]


@dataclass(frozen=True)
class SolverOptions:
    """How to solve: which solver, when to stop, and with how many threads.

    ``mip_gap`` is relative: a solution whose proven gap is at most ``mip_gap`` counts as optimal.
    ``random_seed`` is fixed by default so that repeated runs give the same answer (HiGHS and CBC are
    deterministic for a fixed seed and thread count, unless stopped by the time limit).
    """

    solver: SolverName = "highs"
    time_limit_s: float | None = 60.0
    mip_gap: float = 1e-4
    threads: int | None = None
    msg: bool = False
    random_seed: int = 0

    def __post_init__(self) -> None:
        if self.solver not in SOLVERS:
            raise ScenarioError(f"solver must be one of {list(SOLVERS)}, got {self.solver!r}", option="solver")
        if self.time_limit_s is not None and not (math.isfinite(self.time_limit_s) and self.time_limit_s > 0):
            raise ScenarioError(f"time_limit_s must be positive or None, got {self.time_limit_s}",
                                option="time_limit_s")
        if not 0 <= self.mip_gap < 1:
            raise ScenarioError(f"mip_gap must be in [0, 1), got {self.mip_gap}", option="mip_gap")
        if self.threads is not None and self.threads < 1:
            raise ScenarioError(f"threads must be at least 1 or None, got {self.threads}", option="threads")
        if self.random_seed < 0:
            raise ScenarioError(f"random_seed must be non-negative, got {self.random_seed}", option="random_seed")


@dataclass(frozen=True)
class SolveResult:
    """The outcome of one solve.

    ``status`` is "optimal" (proven within ``mip_gap``), "feasible" (a solution, stopped with a larger
    gap, e.g. by the time limit), "infeasible", "unbounded" or "not_solved" (stopped without any
    solution). ``bound`` is the best proven bound on the objective and ``gap`` the relative distance
    ``|objective - bound| / |objective|``; both are None when the solver did not report them.
    """

    status: SolveStatus
    objective: float | None
    bound: float | None
    gap: float | None
    solver: str
    solve_time_s: float
    open_sites: tuple[int, ...] = ()
    assignment: Assignment | None = None
    build_time_s: float = 0.0
    #: Capacitated location only: capacity units (e.g. chargers) installed at each site.
    units: tuple[int, ...] = ()

    @property
    def has_solution(self) -> bool:
        """True when the result carries a solution (optimal or feasible)."""
        return self.status in ("optimal", "feasible")

    def describe(self) -> str:
        """One line for a planner: "optimal 5819 (highs, 0.4 s)" or "feasible 1188, gap 3.1 % …"."""
        timing = f"{self.solver}, {self.solve_time_s:.2f} s"
        if self.status == "optimal":
            return f"optimal {self.objective:.10g} ({timing})"
        if self.status == "feasible":
            gap = "unknown" if self.gap is None else f"{100 * self.gap:.2f} %"
            bound = "" if self.bound is None else f", bound {self.bound:.10g}"
            return f"feasible {self.objective:.10g}, gap {gap}{bound} (stopped before proving optimality; {timing})"
        if self.status == "not_solved":
            return f"no solution found before the solver stopped ({timing})"
        return f"{self.status} ({timing})"


# --------------------------------------------------------------------------------------------------
# Solving a PuLP problem
# --------------------------------------------------------------------------------------------------


def solve_problem(prob: pulp.LpProblem, options: SolverOptions = SolverOptions(),
                  start: Mapping[str, float] | None = None) -> SolveResult:
    """Solve ``prob`` with the solver ``options`` name and report status, objective, bound and gap.

    Falls back to CBC (and says so in ``solver``) when HiGHS is asked for but highspy is missing.
    ``start``: a starting solution, value by variable name (variables it leaves out start at 0), handed
    to HiGHS as its first incumbent (``Highs.setSolution``) so that a solve stopped by the time limit
    still has that plan at least; CBC gets it through PuLP's ``warmStart``.

    Parameters
    ----------
    prob
        A PuLP problem; its variables receive the solution values.
    options
        Solver, time limit (s), relative MIP gap, threads, log output and random seed.

    Raises
    ------
    SolverError
        When the solver itself fails (crash, unreadable output).
    """
    if start is not None:
        for v in prob.variables():
            value = start.get(v.name, 0.0)
            value = round(value) if v.cat == pulp.LpInteger else value
            low = -math.inf if v.lowBound is None else v.lowBound
            up = math.inf if v.upBound is None else v.upBound
            v.setInitialValue(min(max(value, low), up))  # a solver's value may stray past a bound by 1e-15
    if options.solver == "highs":
        if highs_available():
            return _solve_highs(prob, options, start is not None)
        return _solve_cbc(prob, options, label="cbc (fallback: highs unavailable)", warm=start is not None)
    return _solve_cbc(prob, options, label="cbc", warm=start is not None)


def solution_values(prob: pulp.LpProblem) -> dict[str, float]:
    """The values of ``prob``'s variables after a solve, by name (a ``start`` for another solve)."""
    return {v.name: float(v.varValue) for v in prob.variables() if v.varValue is not None}


def highs_available() -> bool:
    """Whether PuLP can run HiGHS in this process (highspy installed); else a solve falls back to CBC."""
    return bool(pulp.HiGHS(msg=False).available())


def relative_gap(objective: float | None, bound: float | None) -> float | None:
    """``|objective - bound| / |objective|`` (0 when they agree), or None when either is unknown."""
    if objective is None or bound is None or not (math.isfinite(objective) and math.isfinite(bound)):
        return None
    diff = abs(objective - bound)
    if diff <= 1e-9 * max(1.0, abs(objective)):
        return 0.0
    return diff / max(abs(objective), 1e-10)


def classify_status(
    status: SolveStatus, objective: float | None, bound: float | None, options: SolverOptions
) -> tuple[SolveStatus, float | None]:
    """Final status and gap: an answer stopped early whose bound proves it within ``mip_gap`` is optimal."""
    gap = relative_gap(objective, bound) if status in ("optimal", "feasible") else None
    if status == "feasible" and gap is not None and gap <= options.mip_gap:
        status = "optimal"
    return status, gap


@contextmanager
def native_stdout_to_stderr() -> Iterator[None]:
    """Send what native solver code prints on stdout (file descriptor 1) to stderr instead.

    Used while a solver log is asked for (``msg=True``): the log must not corrupt the JSON that
    ``evplan plan --json`` writes on stdout.
    """
    try:
        stdout_fd = sys.__stdout__.fileno() if sys.__stdout__ else 1
        saved = os.dup(stdout_fd)
    except (OSError, ValueError):  # no real stdout (embedded interpreter): nothing to protect
        yield
        return
    try:
        sys.stdout.flush()
        os.dup2(sys.__stderr__.fileno() if sys.__stderr__ else 2, stdout_fd)
        yield
    finally:
        os.dup2(saved, stdout_fd)
        os.close(saved)


@contextmanager
def _native_output_discarded() -> Iterator[None]:
    """Discard what native code writes on file descriptors 1 and 2 (stdout, stderr) meanwhile."""
    try:
        fds = [f.fileno() for f in (sys.__stdout__, sys.__stderr__) if f is not None] or [1, 2]
        saved = [os.dup(fd) for fd in fds]
    except (OSError, ValueError):  # no real stdout or stderr (embedded interpreter): nothing to silence
        yield
        return
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
        for fd in fds:
            os.dup2(null, fd)
        yield
    finally:
        for fd, copy in zip(fds, saved):
            os.dup2(copy, fd)
            os.close(copy)
        os.close(null)


_banner_lock = threading.Lock()
_banner_shown = False


def silence_highs_banner() -> None:
    """Let HiGHS print its banner once, into the void, before the first real solve.

    highspy prints "Running HiGHS …" from the constructor of the first ``Highs`` object of a process,
    before any option (``output_flag``, ``log_to_console``) can be set; later objects print nothing
    while ``output_flag`` is off, which PuLP sets when ``msg`` is False.
    """
    global _banner_shown
    with _banner_lock:
        if _banner_shown:
            return
        import highspy

        with _native_output_discarded():
            highspy.Highs()
        _banner_shown = True


def _highs_solver_class(warm: bool) -> type:
    """PuLP's in-process HiGHS interface, which ignores ``warmStart``; with ``warm``, one that passes the
    variables' initial values to ``Highs.setSolution`` before the run."""
    if not warm:
        return pulp.HiGHS
    import numpy as np

    class _WarmHiGHS(pulp.HiGHS):  # type: ignore[misc, valid-type]
        def callSolver(self, lp: pulp.LpProblem) -> None:
            cols = lp.variables()
            index = np.array([v.index for v in cols], dtype=np.int32)
            values = np.array([float(v.varValue or 0.0) for v in cols], dtype=np.float64)
            lp.solverModel.setSolution(len(cols), index, values)
            super().callSolver(lp)

    return _WarmHiGHS


def _solve_highs(prob: pulp.LpProblem, options: SolverOptions, warm: bool = False) -> SolveResult:
    import highspy

    solver = _highs_solver_class(warm)(
        msg=options.msg,
        timeLimit=options.time_limit_s,
        gapRel=options.mip_gap,
        threads=options.threads,
        random_seed=options.random_seed,
    )
    silence_highs_banner()
    start = perf_counter()
    try:
        if options.msg:
            with native_stdout_to_stderr():
                prob.solve(solver)
        else:
            prob.solve(solver)
    except (pulp.PulpSolverError, RuntimeError) as exc:
        raise SolverError(f"HiGHS failed on problem {prob.name!r}: {exc}") from exc
    elapsed = perf_counter() - start
    if warm and not _solution_matches(prob):
        # HiGHS 1.16 can report the objective of a start improved in presolve's reduced space while
        # handing back the start itself: the answer is not what it proved, so solve again without it.
        left = None if options.time_limit_s is None else max(options.time_limit_s - elapsed, 0.1)
        again = _solve_highs(prob, replace(options, time_limit_s=left), False)
        return replace(again, solve_time_s=elapsed + again.solve_time_s)
    highs = prob.solverModel
    model_status = highs.getModelStatus()
    info = highs.getInfo()
    has_solution = info.primal_solution_status == highspy.SolutionStatus.kSolutionStatusFeasible
    kind = highspy.HighsModelStatus
    status: SolveStatus
    if model_status == kind.kOptimal:
        status = "optimal"
    elif model_status in (kind.kInfeasible, kind.kUnboundedOrInfeasible):
        # Unbounded-or-infeasible comes from presolve; the models here cannot be unbounded.
        status = "infeasible"
    elif model_status == kind.kUnbounded:
        status = "unbounded"
    else:
        status = "feasible" if has_solution else "not_solved"
    objective = bound = None
    if status in ("optimal", "feasible"):
        objective = float(pulp.value(prob.objective) or 0.0)
        if prob.isMIP():
            # HiGHS minimises (PuLP negates a maximisation) and never sees the objective constant.
            sense = -1.0 if prob.sense == pulp.LpMaximize else 1.0
            constant = float(prob.objective.constant) if prob.objective is not None else 0.0
            dual = float(info.mip_dual_bound)
            bound = sense * dual + constant if math.isfinite(dual) else None
        elif status == "optimal":
            bound = objective
    status, gap = classify_status(status, objective, bound, options)
    return SolveResult(status, objective, bound, gap, f"highs {highs.version()}", elapsed)


def _solution_matches(prob: pulp.LpProblem) -> bool:
    """Whether the values PuLP read back give the objective HiGHS reports for its solution (1e-7 relative)."""
    highs = prob.solverModel
    info = highs.getInfo()
    if info.primal_solution_status == 0:  # no solution: nothing to compare
        return True
    sense = -1.0 if prob.sense == pulp.LpMaximize else 1.0
    constant = float(prob.objective.constant) if prob.objective is not None else 0.0
    reported = sense * float(info.objective_function_value) + constant
    got = float(pulp.value(prob.objective) or 0.0)
    return abs(reported - got) <= 1e-7 * max(1.0, abs(got))


_CBC_BOUND = re.compile(r"^(?:Lower|Upper) bound:\s*(\S+)", re.MULTILINE)


def _solve_cbc(prob: pulp.LpProblem, options: SolverOptions, *, label: str, warm: bool = False) -> SolveResult:
    with tempfile.TemporaryDirectory(prefix="evplan-cbc-") as tmp:
        log_path = Path(tmp) / "cbc.log"
        with warnings.catch_warnings():
            # PuLP 3.3 deprecates the bundled CBC for PuLP 4.0; it is the only CBC a pip install has.
            warnings.simplefilter("ignore", DeprecationWarning)
            solver = pulp.PULP_CBC_CMD(
                msg=False,
                timeLimit=options.time_limit_s,
                gapRel=options.mip_gap,
                threads=options.threads,
                logPath=str(log_path),
                warmStart=warm,
                # Seed 0 keeps CBC's own fixed seeds (CBC reads "randomSeed 0" as "use the clock").
                options=[f"randomSeed {options.random_seed}", f"randomCbcSeed {options.random_seed}"]
                if options.random_seed
                else [],
            )
        if not solver.available():
            raise SolverError("CBC is not available: PuLP's bundled cbc binary cannot be executed")
        start = perf_counter()
        try:
            prob.solve(solver)
        except pulp.PulpSolverError as exc:
            raise SolverError(f"CBC failed on problem {prob.name!r}: {exc}") from exc
        elapsed = perf_counter() - start
        log = log_path.read_text(errors="replace") if log_path.exists() else ""
    if options.msg:
        sys.stderr.write(log)  # as HiGHS's log: stdout stays for the caller's own output
    status: SolveStatus
    if prob.sol_status == pulp.LpSolutionOptimal:
        status = "optimal"
    elif prob.sol_status == pulp.LpSolutionIntegerFeasible:
        status = "feasible"
    elif prob.status == pulp.LpStatusInfeasible:
        status = "infeasible"
    elif prob.status == pulp.LpStatusUnbounded:
        status = "unbounded"
    else:
        status = "not_solved"
    objective = bound = None
    if status in ("optimal", "feasible"):
        objective = float(pulp.value(prob.objective) or 0.0)
        found = _CBC_BOUND.search(log)
        if found:
            # CBC prints its bound in the problem's own sense, without the objective constant.
            constant = float(prob.objective.constant) if prob.objective is not None else 0.0
            bound = float(found.group(1)) + constant
            # How far the bound lies on the wrong side of the objective: CBC rounds it to 3 decimals.
            excess = (bound - objective) * (1.0 if prob.sense == pulp.LpMinimize else -1.0)
            if excess > 1e-3 + 1e-6 * abs(objective):
                bound = None  # not a valid bound: the log was not what we expected
            elif excess > 0:
                bound = objective
        elif status == "optimal":
            bound = objective  # CBC prints no bound line when it closes the gap completely
    status, gap = classify_status(status, objective, bound, options)
    return SolveResult(status, objective, bound, gap, label, elapsed)


def model_variable(
    prob: pulp.LpProblem, name: str, low: float | None = None, up: float | None = None, cat: str = pulp.LpContinuous
) -> pulp.LpVariable:
    """A variable of ``prob`` (PuLP >= 3.3 owns variables by their problem; older PuLP builds them freely)."""
    if hasattr(prob, "add_variable"):
        return prob.add_variable(name, low, up, cat)
    return pulp.LpVariable(name, low, up, cat)

