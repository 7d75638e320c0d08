"""Local mode: unit vectors that local mode's cosine search leaves alone.

qdrant-client's local mode re-normalises its whole float32 vector matrix *in place* on every
cosine query (`qdrant_client.local.distances.cosine_similarity`). A row whose float32 norm, as
numpy computes it, is not exactly 1.0 changes in its last bits each time, so the same query
scores a point differently (by an ulp) from one call to the next, and two searches that must
agree -- hybrid search in one call (`hybrid_query`) or in three -- do not. `settle` turns rows
into fixed points of that step (norm exactly 1.0, or 0.0): changes of at most a few float32
ulps, far below what a float32 vector holds anyway.
"""

from __future__ import annotations

from typing import Any

import numpy as np

EPSILON = np.float32(1.1920929e-7)  # local mode's guard against dividing by zero
_STEPS = [s for j in range(1, 65) for s in (1 + j * 2.0**-23, 1 - j * 2.0**-24)]


def _norms(block: Any) -> Any:
    return np.linalg.norm(block, axis=-1)


def _unsettled(block: Any) -> Any:
    n = _norms(block)
    return np.nonzero((n != 1.0) & (n != 0.0))[0]


def settle(block: Any) -> tuple[Any, int]:
    """(rows of `block` as float32 fixed points of local mode's normalisation, how many rows
    could not be settled). Three stages, each for the rows the previous one left: normalise
    as local mode does (most rows are done in a step or two); scale by factors one ulp apart;
    solve for the largest components and try the floats around the solution."""
    block = np.array(block, dtype=np.float32)
    for _ in range(8):
        norms = _norms(block)[:, np.newaxis]
        if bool(((norms == 1.0) | (norms == 0.0)).all()):
            return block, 0
        block /= np.where(norms != 0.0, norms, EPSILON)
    bad = _unsettled(block)
    for c in _STEPS:
        if not len(bad):
            return block, 0
        trial = block[bad] * np.float32(c)
        ok = _norms(trial) == 1.0
        block[bad[ok]] = trial[ok]
        bad = bad[~ok]
    for row in bad.tolist():
        _solve_row(block, row)
    return block, len(_unsettled(block))


def _solve_row(block: Any, row: int) -> None:
    """Set one component so the row's sum of squares is 1, then try the floats around it."""
    v = block[row]
    for col in np.argsort(-np.abs(v))[:4].tolist():
        rest = float((v.astype(np.float64) ** 2).sum()) - float(v[col]) ** 2
        if rest >= 1.0:
            continue
        target = np.float32(np.copysign(np.sqrt(1.0 - rest), float(v[col])))
        for k in range(17):
            for direction in (np.float32(np.inf), np.float32(-np.inf)):
                x = target
                for _ in range(k):
                    x = np.nextafter(x, direction)
                trial = v.copy()
                trial[col] = x
                if _norms(trial[np.newaxis])[0] == 1.0:
                    block[row] = trial
                    return


def settle_rows(matrix: Any, rows: Any) -> None:
    """Settle `matrix[rows]` in place (`rows`: a slice or a list of row numbers)."""
    block, _ = settle(matrix[rows])
    matrix[rows] = block
