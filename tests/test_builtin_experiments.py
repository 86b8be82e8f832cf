"""End-to-end smoke test of every built-in experiment, through the runner and a session file.

For each experiment id of the built-in plugins, a small run (≲ 1–2 s) must finish, leave an
informative last status line (not a stale "compiling…"/"computing…"), replay from its session
file to exactly the same JSON without plugin code, repeat bit-identically with the same seed,
and produce strict JSON (no NaN/Infinity literals)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from matexplore.frames import to_json_value
from matexplore.plugins import ExperimentEntry, load_registry
from matexplore.runner import Run
from matexplore.session import read_session

SEED = 20240611

# id → small parameters; a new experiment must be added here (see test_every_id_has_params).
SMALL: dict[str, dict[str, Any]] = {
    "batchnorm-rank.depth": {"width": 16, "batch": 4, "depth": 12},
    "batchnorm-rank.compare": {"width": 16, "batch": 4, "depth": 12},
    "batchnorm-rank.settle": {"widths": [8, 16], "batch": 4, "depth": 5},
    "dln.flow-check": {"d": 3, "depth": 3, "steps": 3, "t_end": 1.0},
    "dln.low-rank": {"d": 2, "seeds": 3, "init_std": 0.1, "t_end": 100.0},
    "dln.low-rank-sweep": {"values": [1.0, 0.3], "d": 3, "seeds": 2, "t_end": 50.0},
    "dln.geodesic": {"d": 2, "points": 16, "modes": 2},
    "dln.entropy": {"d": 4, "samples": 8, "t_end": 10.0},
    "dln.entropy-identities": {"d": 4, "trials": 3},
    "kernel-maps.fixed-point": {"depth": 5, "width": 32, "pairs": 8},
    "kernel-maps.atlas": {"depth": 5},
    "kernel-maps.kernel": {"points": 5, "samples": 1000, "K": 8},
    "lambda-balanced.init": {},
    "lambda-balanced.aligned": {"steps": 200, "log_every": 50},
    "lambda-balanced.unaligned": {"steps": 200, "log_every": 50},
    "lambda-balanced.rich-lazy": {"lambdas": [0.0, 5.0], "eta": 1e-2, "horizon": 2.0},
    "lambda-balanced.continual": {"steps_per_task": 200, "log_every": 50},
    "lambda-balanced.init-tables": {"sizes": [5, 8, 6], "draws": 20},
    "lambda-balanced.gd-drift": {"etas": [0.02, 0.01], "horizon": 0.5, "nl_lams": [1.0],
                                 "nl_steps": 50, "n_data": 5},
    "mlp-collapse.norms": {"width": 4, "depth": 5, "networks": 2000},
    "mlp-collapse.angles": {"width": 4, "depth": 5, "networks": 500},
    "mlp-collapse.rms-jacobian": {"width": 4, "depth": 6, "networks": 4},
    "mlp-collapse.logdet": {"d": 8, "n": [1, 4], "samples": 200},
    "mlp-collapse.sub-rotation": {"d": 8, "n": 2, "samples": 200},
}

_REGISTRY = load_registry(use_env=False)
_BUILTIN = sorted(e for e, entry in _REGISTRY.experiments.items()
                  if entry.plugin.source.endswith(f"matexplore_plugins.{entry.plugin.name}"))


def test_every_builtin_id_has_params() -> None:
    """The built-in plugins provide exactly the known experiments (a new one needs small
    params in SMALL) and load without errors."""
    assert set(_BUILTIN) == set(SMALL)
    assert len(SMALL) == 24
    builtin = {_REGISTRY.get(e).plugin.name for e in _BUILTIN}
    assert all(p.error is None for p in _REGISTRY.plugins if p.name in builtin)


def _run(entry: ExperimentEntry, path: Path) -> Run:
    run = Run(entry, {**SMALL[entry.id], "seed": SEED}, record=path)
    run.execute()
    assert run.status == "finished", f"{entry.id}: {run.error}\n{run.traceback or ''}"
    return run


@pytest.mark.parametrize("exp_id", _BUILTIN)
def test_small_run_replays_and_repeats(exp_id: str, tmp_path: Path) -> None:
    entry = _REGISTRY.get(exp_id)
    run = _run(entry, tmp_path / "first.jsonl")
    result = run.result()

    last = run.state.message or ""
    assert not last.lower().startswith(("compiling", "computing")), \
        f"{exp_id}: stale status line {last!r}"

    # Run.result() is exactly what `matexplore run --json` prints (strict JSON, depth = inf
    # as "Infinity"), and replay reproduces it without the plugin's code.
    assert read_session(tmp_path / "first.jsonl").result() == result
    json.dumps(result, allow_nan=False)
    assert to_json_value(result) == result

    again = _run(entry, tmp_path / "second.jsonl").result()
    assert again["summary"] == result["summary"]
