"""Alembic environment: run through `flask --app wsgi db upgrade` (Flask-Migrate).

Every domain's models are imported so autogenerate sees the whole schema;
SQLite runs in batch mode so columns can be altered there too.
"""

import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app

import advisory.models  # noqa: F401
import analytics.models  # noqa: F401
import community.models  # noqa: F401 - each domain's models register their tables
import crm_bridge.models  # noqa: F401
import ideas.models  # noqa: F401
import moderation.listening.models
import moderation.models  # noqa: F401
import reputation.models  # noqa: F401

config = context.config
if config.config_file_name and not logging.getLogger().handlers:
    fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")

db = current_app.extensions["migrate"].db
config.set_main_option(
    "sqlalchemy.url", db.engine.url.render_as_string(hide_password=False).replace("%", "%%")
)


def skip_empty_autogenerate(context_, revision, directives):
    """`flask db migrate` with no model change writes no empty revision."""
    if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
        directives[:] = []
        logger.info("No changes in schema detected.")


def run_migrations_offline():
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=db.metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    options = dict(current_app.extensions["migrate"].configure_args)
    options.setdefault("process_revision_directives", skip_empty_autogenerate)
    options["render_as_batch"] = True
    with db.engine.connect() as connection:
        context.configure(connection=connection, target_metadata=db.metadata, **options)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
