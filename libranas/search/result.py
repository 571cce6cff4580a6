"""What a search returns: :class:`SearchResult`, and the JSON form of architectures."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["SearchResult", "jsonable", "pareto_front"]


def jsonable(arch: Any) -> Any:
    """JSON form of an architecture (or a list of them); ``space.validate`` restores it.

    Examples
    --------
    >>> jsonable(((0, 1), (2, 3)))
    [[0, 1], [2, 3]]
    """
    if isinstance(arch, list):
        return [jsonable(a) for a in arch]
    if hasattr(arch, "to_dict"):
        arch = arch.to_dict()
    return json.loads(json.dumps(arch))


def pareto_front(history: pd.DataFrame, minimised: list[str]) -> pd.DataFrame:
    """The non-dominated rows of ``history``: ``score`` maximised, ``minimised`` columns
    minimised.

    Cached rows and rows with a NaN score are ignored; each architecture appears once. Sorted
    by the first minimised column.

    Examples
    --------
    >>> h = pd.DataFrame({"arch": ["a", "b", "c"], "score": [1.0, 2.0, 0.5],
    ...                   "params": [1.0, 3.0, 2.0], "cached": [False] * 3})
    >>> pareto_front(h, ["params"])["arch"].tolist()
    ['a', 'b']
    """
    rows = history[~history["cached"] & history["score"].notna()].drop_duplicates("arch")
    values = np.column_stack(
        [-rows["score"].to_numpy(dtype=float)] + [rows[m].to_numpy(dtype=float) for m in minimised]
    )
    keep = np.ones(len(rows), dtype=bool)
    for i, v in enumerate(values):
        dominated = (values <= v).all(axis=1) & (values < v).any(axis=1)
        keep[i] = not dominated.any()
    return rows[keep].sort_values(minimised[0], kind="stable").reset_index(drop=True)


@dataclass
class SearchResult:
    """What a search returns.

    Attributes
    ----------
    best_arch : object
        The best-scored architecture ever evaluated (canonical form).
    best_score : float
        Its score.
    history : pandas.DataFrame
        One row per evaluated architecture, in evaluation order: ``order``, ``arch``,
        ``score``, one column per extra objective (``params``, ``flops``, ``latency``),
        ``generation`` (the batch it was proposed in; 0 holds the initial architectures),
        ``cached`` (True for a duplicate whose score was reused instead of re-scored), then the
        sampler's own columns (evolution: ``parent``, the order of the parent, -1 for random
        ones; Optuna: ``trial``, the trial number).
    n_scored : int
        Architectures sent to the scorer (rows with ``cached=False``).
    population : list
        Evolution: the final population (oldest first); empty for other samplers.
    seconds : float
        Wall time of the search (this process; a resumed search counts only its own part).
    score_seconds : float
        Part of ``seconds`` spent inside the scorer and the objective metrics.
    pareto_front : pandas.DataFrame or None
        Searches with several objectives: the non-dominated architectures (history columns).

    Examples
    --------
    >>> from libranas.search import RandomSearch
    >>> res = RandomSearch("nb201", lambda archs: [a.count("conv") for a in archs],
    ...                    n_trials=20, random_state=0).run()
    >>> res.n_scored, list(res.trajectory().columns)
    (20, ['n_scored', 'best_score', 'best_arch'])
    """

    best_arch: Any
    best_score: float
    history: pd.DataFrame
    n_scored: int
    population: list[Any] = field(default_factory=list)
    seconds: float = 0.0
    score_seconds: float = 0.0
    pareto_front: pd.DataFrame | None = None

    def trajectory(self) -> pd.DataFrame:
        """Best score so far after each scored architecture: ``n_scored``, ``best_score``,
        ``best_arch``."""
        h = self.history[~self.history["cached"]]
        scores = h["score"].to_numpy(dtype=float)
        best_idx, best, rows = -1, -np.inf, []
        for i, s in enumerate(scores):
            if not np.isnan(s) and (best_idx < 0 or s > best):
                best_idx, best = i, s
            rows.append(
                (
                    i + 1,
                    best if best_idx >= 0 else np.nan,
                    h["arch"].iloc[best_idx] if best_idx >= 0 else None,
                )
            )
        return pd.DataFrame(rows, columns=["n_scored", "best_score", "best_arch"])

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable summary (history as a list of records)."""

        def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
            out = frame.to_dict(orient="records")
            for r in out:
                r["arch"] = jsonable(r["arch"])
            return out

        return {
            "best_arch": jsonable(self.best_arch),
            "best_score": self.best_score,
            "n_scored": self.n_scored,
            "seconds": self.seconds,
            "score_seconds": self.score_seconds,
            "population": jsonable(list(self.population)),
            "history": records(self.history),
            "pareto_front": None if self.pareto_front is None else records(self.pareto_front),
        }
