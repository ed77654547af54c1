"""The reputation benchmark's smoke mode runs with the tests, so the benchmark
never rots. No timing is asserted: the figures belong to bench/README.md."""

import importlib.util
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench" / "reputation_bench.py"


def test_reputation_bench_smoke(capsys):
    spec = importlib.util.spec_from_file_location("reputation_bench", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    assert module.main(["--smoke"]) == 0

    out = capsys.readouterr().out
    assert "recompute from 20,000 ledger rows" in out
    assert "an award adds 2 SQL statements" in out
    assert "do not grow" in out
    for row in ("leaderboard API, this week", "leaderboard page, all time"):
        assert row in out
