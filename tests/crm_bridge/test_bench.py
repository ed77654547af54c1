"""The CRM bench's smoke mode runs with the tests, so the bench never rots (it checks
delivery and the statement count, not timings)."""

import importlib.util
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "crm_bench.py"


def test_crm_bench_smoke(capsys):
    spec = importlib.util.spec_from_file_location("crm_bench", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--smoke"]) == 0
    out = capsys.readouterr().out
    assert "Every event delivered" in out and "| 500 | 50 |" in out
