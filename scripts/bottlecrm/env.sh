# Shared settings for the BottleCRM test server scripts; sourced, not run.
# Everything lives under instance/bottlecrm/ (git-ignored): the virtualenv, a private
# PostgreSQL cluster, the server's logs and the bootstrap's token.

BOTTLECRM_SCRIPTS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BOTTLECRM_REPO="$(cd "$BOTTLECRM_SCRIPTS/../.." && pwd)"
BOTTLECRM_HOME="${BOTTLECRM_HOME:-$BOTTLECRM_REPO/instance/bottlecrm}"
BOTTLECRM_VENV="$BOTTLECRM_HOME/venv"
BOTTLECRM_VERSION="1.35.0"
BOTTLECRM_CONSTRAINTS="$BOTTLECRM_SCRIPTS/constraints.txt"

# Ports on 127.0.0.1 only; override when something else holds them.
BOTTLECRM_PORT="${BOTTLECRM_PORT:-18765}"
BOTTLECRM_PG_PORT="${BOTTLECRM_PG_PORT:-15439}"
BOTTLECRM_URL="http://127.0.0.1:$BOTTLECRM_PORT"

BOTTLECRM_PGDATA="$BOTTLECRM_HOME/pgdata"
BOTTLECRM_RUN="$BOTTLECRM_HOME/run"
BOTTLECRM_SECRETS="$BOTTLECRM_HOME/secrets"
BOTTLECRM_PIDFILE="$BOTTLECRM_RUN/gunicorn.pid"
BOTTLECRM_SERVER_ENV="$BOTTLECRM_HOME/server.env"

bottlecrm_say() { echo "bottlecrm: $*" >&2; }
bottlecrm_die() {
	echo "bottlecrm: ERROR: $*" >&2
	exit 1
}

# The PostgreSQL server binaries (Debian keeps them off PATH).
bottlecrm_pg_bin() {
	local dir
	for dir in /usr/lib/postgresql/*/bin; do
		[ -x "$dir/initdb" ] && { echo "$dir"; return 0; }
	done
	dir="$(dirname "$(command -v initdb 2>/dev/null || echo /nonexistent/initdb)")"
	[ -x "$dir/initdb" ] && { echo "$dir"; return 0; }
	return 1
}

# Runs a PostgreSQL server command as an unprivileged user: initdb and postgres refuse root.
bottlecrm_as_pg() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# The server's environment: read by crm.settings (django-crm's own settings module).
bottlecrm_server_environment() {
	export DJANGO_SETTINGS_MODULE=crm.settings
	export ENV_TYPE=dev DEBUG=False
	export SECRET_KEY="$(cat "$BOTTLECRM_SECRETS/django_secret")"
	export ALLOWED_HOSTS=127.0.0.1,localhost
	export DBNAME=bottlecrm DBUSER=bottlecrm DBHOST=127.0.0.1 DBPORT="$BOTTLECRM_PG_PORT"
	export DBPASSWORD="$(cat "$BOTTLECRM_SECRETS/pg_password")"
	# No Redis here: Celery tasks (assignment e-mails) queue in memory and are dropped.
	export CELERY_BROKER_URL=memory:// CELERY_RESULT_BACKEND=cache+memory://
	export EMAIL_BACKEND=django.core.mail.backends.locmem.EmailBackend
}
