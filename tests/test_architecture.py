"""The rules of docs/architecture and CONVENTIONS.md that a machine can check."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest
from blinker import Signal

from community import events
from community.app import PROJECT_ROOT

CATALOGUE = events.catalogue()


def test_the_catalogue_lists_every_signal_of_events_py():
    module_signals = {
        name for name, value in vars(events).items() if isinstance(value, Signal) and name[0] != "_"
    }
    assert module_signals == set(CATALOGUE)
    for name, signal in CATALOGUE.items():
        assert getattr(events, name) is signal, f"events.{name} is not the catalogue's {name}"


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_every_event_is_documented_with_its_sender(name):
    doc = CATALOGUE[name].__doc__
    assert doc and doc.strip(), f"{name} has no docstring"
    match = re.search(r"\bsender: *([^;.]+)", doc)
    assert match, f"{name}'s docstring does not name its sender"
    assert match.group(1).strip(), f"{name}'s docstring names an empty sender"
    # Any keyword arguments follow as "name: description" pairs separated by semicolons.
    for part in doc.split("sender:", 1)[1].split(";")[1:]:
        key = part.split(":", 1)[0].strip()
        assert key.isidentifier(), f"{name}: {part!r} does not read as 'keyword: meaning'"


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_event_names_are_snake_case(name):
    assert re.fullmatch(r"[a-z]+(_[a-z]+)*", name), name


def test_import_contracts_are_kept():
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint_imports), "--no-cache", "--no-logo"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"Contracts: \d+ kept, 0 broken", result.stdout), result.stdout


def test_import_contracts_are_configured():
    import tomllib

    config = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    assert set(config["root_packages"]) >= {"community", "ideas"}
    layers = [c for c in config["contracts"] if c["type"] == "layers"]
    assert layers and layers[0]["layers"][-1] == "community"


def _imported_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def test_services_never_look_at_the_request():
    """Views pass the acting member as `by`; services stay usable from CLI and workers."""
    imported = _imported_names(PROJECT_ROOT / "community" / "services.py")
    forbidden = {
        "flask.request",
        "flask.g",
        "flask.session",
        "flask_login.current_user",
    }
    assert not imported & forbidden


def test_models_never_commit():
    """One commit per use case, in the service; never a Model.save() that commits."""
    source = (PROJECT_ROOT / "community" / "models.py").read_text()
    assert ".commit(" not in source
    assert "session.add(" not in source


def test_wsgi_stays_two_lines():
    lines = [
        line
        for line in (PROJECT_ROOT / "wsgi.py").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines == ["from community.app import create_app", "app = create_app()"]
