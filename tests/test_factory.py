"""The app factory: settings from the environment, the instance folder, test config wins."""

import stat

from community.app import create_app
from community.extensions import db
from community.models import Member


def test_test_config_wins_over_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("PARLEY_THREADS_PER_PAGE", "7")
    assert create_app().config["THREADS_PER_PAGE"] == 7
    assert create_app({"THREADS_PER_PAGE": 3}).config["THREADS_PER_PAGE"] == 3
    assert not create_app().testing
    assert create_app({"TESTING": True}).testing


def test_everything_written_lives_in_the_instance_folder(monkeypatch, tmp_path):
    instance = tmp_path / "site-a"
    monkeypatch.setenv("PARLEY_INSTANCE", str(instance))
    app = create_app()
    assert app.instance_path == str(instance)
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{instance / 'parley.sqlite3'}"
    assert app.config["SEARCH_INDEX_DIR"].startswith(str(instance))
    secret = instance / "secret_key"
    assert secret.read_text() == app.config["SECRET_KEY"]
    assert len(app.config["SECRET_KEY"]) >= 64
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    # The same instance keeps its secret; another instance gets its own.
    assert create_app().config["SECRET_KEY"] == app.config["SECRET_KEY"]
    monkeypatch.setenv("PARLEY_INSTANCE", str(tmp_path / "site-b"))
    assert create_app().config["SECRET_KEY"] != app.config["SECRET_KEY"]


def test_secret_and_database_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'elsewhere.db'}")
    app = create_app()
    assert app.config["SECRET_KEY"] == "from-the-environment"
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("elsewhere.db")
    assert not (tmp_path / "instance" / "secret_key").exists()


def test_postgres_scheme_is_normalised(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://u:p@localhost/parley")
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u:p@localhost/parley"


def test_sqlite_runs_in_wal_mode(tmp_path):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'w.db'}"})
    with app.app_context():
        assert db.session.execute(db.text("PRAGMA journal_mode")).scalar() == "wal"
        assert db.session.execute(db.text("PRAGMA foreign_keys")).scalar() == 1


def test_factory_writes_nothing_to_the_database(monkeypatch, tmp_path):
    monkeypatch.setenv("PARLEY_INSTANCE", str(tmp_path / "fresh"))
    create_app()
    assert not (tmp_path / "fresh" / "parley.sqlite3").exists()


def test_members_create_cli(app, runner):
    result = runner.invoke(
        args=["members", "create", "Op@Example.com", "--name", "Olga Operator",
              "--password", "long enough pw", "--role", "admin", "--role", "moderator"]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "olga-operator" in result.output
    with app.app_context():
        member = db.session.scalar(db.select(Member).where(Member.email_key == "op@example.com"))
        assert member.roles == {"member", "admin", "moderator"}
    again = runner.invoke(
        args=[
            "members",
            "create",
            "op@example.com",
            "--name",
            "X Y",
            "--password",
            "long enough pw",
        ]
    )
    assert again.exit_code != 0
    assert "already exists" in again.output
    short = runner.invoke(
        args=["members", "create", "a@b.co", "--name", "Al", "--password", "short"]
    )
    assert short.exit_code != 0
    assert "At least 10 characters" in short.output
    roles = runner.invoke(args=["members", "roles", "op@example.com", "sales"])
    assert roles.exit_code == 0
    with app.app_context():
        member = db.session.scalar(db.select(Member).where(Member.email_key == "op@example.com"))
        assert member.roles == {"member", "sales"}


def test_demo_data_loads_a_believable_community_once(app, runner, client):
    result = runner.invoke(args=["demo-data", "--if-empty"])
    assert result.exit_code == 0, result.output
    assert "Demo community ready" in result.output
    home = client.get("/").get_data(as_text=True)
    assert "Integrations &amp; API" in home
    assert "Salesforce sync stops after about 2,000 records" in home
    threads = client.get("/api/v1/threads?sort=solved").get_json()
    assert threads["total"] >= 5
    # Not twice: --if-empty skips, a plain second run refuses.
    assert "not loaded" in runner.invoke(args=["demo-data", "--if-empty"]).output
    assert runner.invoke(args=["demo-data"]).exit_code != 0
    token = client.post(
        "/api/v1/auth/token",
        json={"email": "admin@example.com", "password": "parley-demo-password"},
    )
    assert token.status_code == 201
