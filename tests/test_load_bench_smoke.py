"""The load bench's smoke mode (`make bench-smoke`) runs with the tests, so it never
rots: tiny data, gunicorn and wrk for real, a second or so per page. It checks the
shape of the results and that a thread page's SQL statements do not grow with the
thread's length; timings are for bench/results, never asserted here."""

import importlib.util
import json
import shutil
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"


def _load(name: str, monkeypatch):
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_load_bench_smoke(tmp_path, monkeypatch):
    if shutil.which("wrk") is None:
        pytest.fail("wrk is not installed: run `make test` (it installs Debian's wrk)")
    monkeypatch.syspath_prepend(str(BENCH))
    bench = _load("load_bench", monkeypatch)
    assert bench.main(["--smoke", "--out", str(tmp_path)]) == 0

    result = json.loads((tmp_path / "latest.json").read_text())
    assert {"cores", "load_average_before", "engine", "worker_peak_rss_mb"} <= set(
        result["machine"]
    )
    assert result["machine"]["worker_peak_rss_mb"]
    pages = {(p["name"], p["signed_in"]): p for p in result["pages"]}
    assert set(pages) == {
        ("home", False),
        ("thread, 20 replies", True),
        ("thread, 1,000+ replies, last page", True),
    }
    for page in result["pages"]:
        assert set(page) >= {"name", "signed_in", "rps", "p50_ms", "p99_ms", "queries",
                             "ceiling_rps", "ratio"}  # fmt: skip
        assert page["rps"] > 0 and page["ceiling_rps"] > 0 and page["errors"] == 0
        assert 0 < page["p50_ms"] <= page["p99_ms"]
        assert page["ratio"] == round(page["rps"] / page["ceiling_rps"], 3)
    # A visitor's home page is served from the page cache; a member's thread page is
    # the copy shared by their audience, with their own parts filled in.
    assert pages[("home", False)]["cache"] == "hit"
    assert pages[("thread, 20 replies", True)]["cache"] == "shared"
    # The same statements for a 20-reply thread and the last page of a long one.
    short = pages[("thread, 20 replies", True)]["queries"]
    assert 0 < short == pages[("thread, 1,000+ replies, last page", True)]["queries"]
    assert "| home | no |" in (tmp_path / "latest.md").read_text()
