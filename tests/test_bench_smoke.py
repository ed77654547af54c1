"""The benchmarks' smoke modes run with the tests, so the benchmarks never rot.
(They assert query counts, not timings: timings belong to bench/README.md.)"""

import importlib.util
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_ideas_bench_smoke(capsys):
    assert _load("ideas_bench").main(["--smoke"]) == 0
    out = capsys.readouterr().out
    assert "review by value" in out
    assert "do not grow" in out
