"""The analytics benchmark's smoke mode runs with the tests, so the benchmark never
rots. No timing is asserted: the figures belong to bench/README.md."""

import importlib.util
from pathlib import Path

from analytics.panels import PANELS

BENCH = Path(__file__).resolve().parent.parent / "bench" / "analytics_bench.py"


def test_analytics_bench_smoke(capsys):
    spec = importlib.util.spec_from_file_location("analytics_bench", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    assert module.main(["--smoke"]) == 0

    out = capsys.readouterr().out
    assert "analytics on 300 members, 3,000 posts" in out
    assert "one engagement snapshot in" in out
    for name in PANELS:
        assert f"| {name} (support agent) |" in out
        assert f"| {name} (admin) |" in out
