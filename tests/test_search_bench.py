"""The search benchmark's smoke mode runs with the tests, so the benchmark never
rots. No timing is asserted: the figures belong to bench/README.md."""

import importlib.util
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench" / "search_bench.py"


def test_search_bench_smoke(capsys):
    spec = importlib.util.spec_from_file_location("search_bench", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    assert module.main(["--smoke"]) == 0

    out = capsys.readouterr().out
    assert "full reindex of" in out
    for row in ("search API, visitor", "similar questions API", "new thread, indexed"):
        assert row in out
