"""Readers for J.E. Beasley's OR-Library benchmark files (p-median, set covering, warehouse location).

Used by the tests and the benchmarks to check the generic models against published optima. Each
reader returns plain numpy / scipy.sparse data in the orientation the models take: demands in rows,
sites in columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph

from planner.errors import InputFileError


@dataclass(frozen=True)
class PMedianInstance:
    """An OR-Library p-median instance: shortest-path costs between all nodes and the number of medians."""

    name: str
    p: int
    #: n × n shortest-path lengths; every node is both a demand point (weight 1) and a candidate site.
    costs: np.ndarray
    n_edges: int


@dataclass(frozen=True)
class SetCoveringInstance:
    """An OR-Library set-covering instance: which columns cover each row, and what each column costs."""

    name: str
    #: n_rows × n_columns boolean CSR matrix.
    coverage: sparse.csr_array
    costs: np.ndarray


@dataclass(frozen=True)
class WarehouseInstance:
    """An OR-Library warehouse-location instance (capinfo format), customers in rows.

    ``costs[j, i]`` is the cost of serving ALL of customer j's demand from warehouse i.
    ``capacities`` is NaN where the file says ``capacity`` (capa/capb/capc) and no value was given.
    """

    name: str
    fixed_costs: np.ndarray
    capacities: np.ndarray
    demands: np.ndarray
    costs: np.ndarray


def _tokens(path: Path, expected: str) -> list[str]:
    try:
        return Path(path).read_text(encoding="ascii").split()
    except FileNotFoundError:
        raise InputFileError(path, expected, detail="file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFileError(path, expected, detail=str(exc)) from None


def _numbers(path: Path, tokens: list[str], expected: str, what: str) -> np.ndarray:
    try:
        return np.array(tokens, dtype=float)
    except ValueError:
        bad = next(t for t in tokens if not _is_number(t))
        raise InputFileError(path, expected, detail=f"{what}: {bad!r} is not a number") from None


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def _count(path: Path, values: np.ndarray, needed: int, expected: str, what: str) -> None:
    if len(values) < needed:
        detail = f"file ends early: {what} needs {needed} numbers, found {len(values)}"
        raise InputFileError(path, expected, detail=detail)


def read_pmed(path: str | Path) -> PMedianInstance:
    """Read ``pmedN.txt``: ``n m p`` then m undirected edges ``i j cost`` (1-based).

    Where an edge appears more than once, the LAST occurrence counts (OR-Library's rule; keeping the
    shorter one gives 5718 instead of 5819 on pmed1). Costs are all-pairs shortest-path lengths.
    """
    path = Path(path)
    expected = "an OR-Library p-median file (n m p, then m lines 'i j cost')"
    values = _numbers(path, _tokens(path, expected), expected, "numbers")
    _count(path, values, 3, expected, "the header")
    n, m, p = (int(v) for v in values[:3])
    _count(path, values, 3 + 3 * m, expected, f"{m} edges")
    edges = values[3 : 3 + 3 * m].reshape(m, 3)
    i = edges[:, 0].astype(np.int64) - 1
    j = edges[:, 1].astype(np.int64) - 1
    if i.min(initial=0) < 0 or max(i.max(initial=0), j.max(initial=0)) >= n or j.min(initial=0) < 0:
        raise InputFileError(path, expected, detail=f"an edge names a node outside 1..{n}")
    lo, hi = np.minimum(i, j), np.maximum(i, j)
    key = lo * n + hi
    # Last occurrence of each undirected edge: first occurrence in the reversed list.
    _, first_in_reversed = np.unique(key[::-1], return_index=True)
    last = m - 1 - first_in_reversed
    keep = last[lo[last] != hi[last]]  # self-loops never shorten a path
    graph = sparse.csr_array((edges[keep, 2], (lo[keep], hi[keep])), shape=(n, n))
    costs = csgraph.shortest_path(graph, method="D", directed=False)
    return PMedianInstance(name=path.stem, p=p, costs=costs, n_edges=m)


def read_scp(path: str | Path) -> SetCoveringInstance:
    """Read ``scpXX.txt``: ``m n``, the n column costs, then per row its column count and 1-based columns."""
    path = Path(path)
    expected = "an OR-Library set-covering file (m n, n costs, then per row: count and columns)"
    values = _numbers(path, _tokens(path, expected), expected, "numbers")
    _count(path, values, 2, expected, "the header")
    n_rows, n_cols = int(values[0]), int(values[1])
    _count(path, values, 2 + n_cols, expected, "the column costs")
    costs = values[2 : 2 + n_cols].copy()
    pos = 2 + n_cols
    indptr = [0]
    chunks = []
    for row in range(n_rows):
        _count(path, values, pos + 1, expected, f"row {row + 1}")
        k = int(values[pos])
        _count(path, values, pos + 1 + k, expected, f"row {row + 1}")
        cols = values[pos + 1 : pos + 1 + k].astype(np.int64) - 1
        if k and (cols.min() < 0 or cols.max() >= n_cols):
            raise InputFileError(path, expected, detail=f"row {row + 1} names a column outside 1..{n_cols}")
        chunks.append(cols)
        indptr.append(indptr[-1] + k)
        pos += 1 + k
    indices = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int64)
    coverage = sparse.csr_array((np.ones(len(indices), dtype=bool), indices, np.array(indptr)), shape=(n_rows, n_cols))
    coverage.sum_duplicates()
    return SetCoveringInstance(name=path.stem, coverage=coverage, costs=costs)


def read_cap(path: str | Path, capacity: float | None = None) -> WarehouseInstance:
    """Read a capinfo file: ``m n``, m lines ``capacity fixed_cost``, then per customer its demand and m costs.

    In capa/capb/capc the capacity field is the word ``capacity``; ``capacity`` replaces it (else NaN).
    """
    path = Path(path)
    expected = "an OR-Library warehouse-location file (m n, m lines 'capacity fixed_cost', customers)"
    tokens = _tokens(path, expected)
    head = _numbers(path, tokens[:2], expected, "the header")
    _count(path, head, 2, expected, "the header")
    m, n = int(head[0]), int(head[1])
    if len(tokens) < 2 + 2 * m:
        raise InputFileError(path, expected, detail=f"file ends early: {m} warehouses need {2 * m} fields")
    capacities = np.empty(m)
    for k, field in enumerate(tokens[2 : 2 + 2 * m : 2]):
        if field.lower() == "capacity":
            capacities[k] = np.nan if capacity is None else float(capacity)
        elif _is_number(field):
            capacities[k] = float(field)
        else:
            raise InputFileError(path, expected, detail=f"warehouse {k + 1}: capacity {field!r} is not a number")
    fixed_costs = _numbers(path, tokens[3 : 2 + 2 * m : 2], expected, "fixed costs")
    rest = _numbers(path, tokens[2 + 2 * m :], expected, "customer data")
    _count(path, rest, n * (m + 1), expected, f"{n} customers with {m} costs each")
    block = rest[: n * (m + 1)].reshape(n, m + 1)
    return WarehouseInstance(
        name=path.stem,
        fixed_costs=fixed_costs,
        capacities=capacities,
        demands=block[:, 0].copy(),
        costs=block[:, 1:].copy(),
    )


def read_optima(path: str | Path) -> dict[str, float]:
    """Read an OR-Library optima listing (``pmedopt``, ``capopt``, ``uncapopt``): name -> value.

    Lines whose second field is not a number (headers) are skipped; a ``.txt`` suffix is dropped.
    """
    path = Path(path)
    expected = "an optima listing (one 'name value' per line)"
    try:
        lines = path.read_text(encoding="ascii").splitlines()
    except FileNotFoundError:
        raise InputFileError(path, expected, detail="file not found") from None
    out: dict[str, float] = {}
    for line in lines:
        parts = line.split()
        if len(parts) >= 2 and _is_number(parts[1]):
            out[parts[0].removesuffix(".txt")] = float(parts[1])
    return out
