"""The migrations build exactly the schema the models describe, from an empty database."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from community import background
from community.app import PROJECT_ROOT, create_app
from community.config import TestConfig
from community.extensions import db


def settings(instance: Path, database: str) -> dict:
    return {key: getattr(TestConfig, key) for key in dir(TestConfig) if key.isupper()} | {
        "SEARCH_INDEX_DIR": str(instance / "search-index"),
        "SQLALCHEMY_DATABASE_URI": database,
    }


@pytest.fixture
def empty_database(databases, tmp_path):
    """A new database without tables (on SQLite: a file that does not exist yet)."""
    url = databases.empty(tmp_path / "fresh.sqlite3")
    yield url
    databases.drop(url)


@pytest.fixture
def empty_app(empty_database, tmp_path):
    app = create_app(settings(tmp_path, empty_database))
    yield app
    background.stop_all(app)  # its threads end before its database goes
    with app.app_context():
        db.engine.dispose()


def schema_differences() -> list:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "render_as_batch": True}
        )
        return compare_metadata(context, db.metadata)


def model_tables() -> set[str]:
    return set(db.metadata.tables)


def test_upgrade_from_empty_gives_exactly_the_models_schema(empty_app):
    with empty_app.app_context():
        assert inspect(db.engine).get_table_names() == []

        upgrade()

        assert schema_differences() == []
        tables = set(inspect(db.engine).get_table_names())
        assert tables == model_tables() | {"alembic_version"}


def test_the_comparison_would_notice_a_missing_table(empty_app):
    """The check above can fail: drop one table and it is reported."""
    with empty_app.app_context():
        upgrade()
        with db.engine.begin() as connection:
            if db.engine.dialect.name == "sqlite":
                connection.execute(text("PRAGMA foreign_keys=OFF"))
            connection.execute(text("DROP TABLE community_thread_view"))
        differences = schema_differences()
        assert [(d[0], d[1].name) for d in differences] == [("add_table", "community_thread_view")]


def test_downgrade_to_base_and_back(empty_app):
    with empty_app.app_context():
        upgrade()
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        assert schema_differences() == []


def test_one_linear_history_with_dated_file_names(empty_app):
    with empty_app.app_context():
        config = empty_app.extensions["migrate"].migrate.get_config()
        scripts = ScriptDirectory.from_config(config)
        assert len(scripts.get_heads()) == 1
        revisions = list(scripts.walk_revisions())
        assert [r.down_revision for r in revisions][-1] is None
        for revision in revisions:
            name = Path(revision.path).name
            assert re.match(r"^\d{8}_\d{4}_[0-9a-z]+_\w+\.py$", name), name
            assert revision.revision in name


def test_db_upgrade_command_on_a_fresh_instance(empty_app):
    runner = empty_app.test_cli_runner()

    result = runner.invoke(args=["db", "upgrade"])

    assert result.exit_code == 0, result.output
    with empty_app.app_context():
        assert "alembic_version" in inspect(db.engine).get_table_names()
    with empty_app.app_context():
        assert schema_differences() == []
        head = ScriptDirectory.from_config(
            empty_app.extensions["migrate"].migrate.get_config()
        ).get_current_head()
        with db.engine.connect() as connection:
            version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        assert version == head

    again = runner.invoke(args=["db", "upgrade"])  # nothing to do, and no harm done
    assert again.exit_code == 0, again.output
    with empty_app.app_context():
        assert schema_differences() == []


def test_flask_db_upgrade_from_the_shell(empty_database, tmp_path):
    """`flask --app wsgi db upgrade`, the documented first step, on a new instance folder."""
    database = empty_database
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("PARLEY_") and key not in ("DATABASE_URL", "REDIS_URL")
    }
    env |= {
        "PARLEY_INSTANCE": str(tmp_path / "instance"),
        "DATABASE_URL": database,
        "PARLEY_PASSWORD_HASH_MEMORY_KIB": "1024",
    }
    flask = Path(sys.executable).with_name("flask")
    result = subprocess.run(
        [str(flask), "--app", "wsgi", "db", "upgrade"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    app = create_app(settings(tmp_path, database))
    with app.app_context():
        assert schema_differences() == []
        db.engine.dispose()
