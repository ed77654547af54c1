#!/usr/bin/env bash
# Starts a real BottleCRM server on 127.0.0.1 for the connector tests, from nothing if
# need be: installs it (install.sh), starts a private PostgreSQL cluster, creates the
# tables, bootstraps an organisation, an admin and a personal access token
# (bootstrap.py), then serves it with gunicorn and waits until it answers.
# Idempotent and quick when everything is already there or already running.
# Writes instance/bottlecrm/server.env (BOTTLECRM_URL, BOTTLECRM_TOKEN) for the tests.
# Prints "started" or "already running" last, so a caller knows whether to stop it.
set -euo pipefail
source "$(dirname "$0")/env.sh"
mkdir -p "$BOTTLECRM_HOME"

# One start at a time (parallel test workers share the server).
exec 9>"$BOTTLECRM_HOME/.lock"
flock 9

"$BOTTLECRM_SCRIPTS/install.sh"

mkdir -p "$BOTTLECRM_RUN" "$BOTTLECRM_SECRETS"
chmod 700 "$BOTTLECRM_SECRETS"
for secret in django_secret pg_password; do
	if [ ! -s "$BOTTLECRM_SECRETS/$secret" ]; then
		(umask 077 && "$BOTTLECRM_VENV/bin/python" -c 'import secrets; print(secrets.token_urlsafe(48))' >"$BOTTLECRM_SECRETS/$secret")
	fi
done

# --- PostgreSQL: BottleCRM's custom-field filters (?cf_key=value) use JSON containment,
# which SQLite cannot do, and its settings and row-level security assume PostgreSQL.
pg_bin="$(bottlecrm_pg_bin)" || {
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		bottlecrm_say "installing Debian's postgresql"
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
		pg_bin="$(bottlecrm_pg_bin)" || bottlecrm_die "postgresql installed but initdb not found"
	else
		bottlecrm_die "PostgreSQL server binaries (initdb) not found: install Debian's postgresql package"
	fi
}

if [ ! -s "$BOTTLECRM_PGDATA/PG_VERSION" ]; then
	bottlecrm_say "creating a private PostgreSQL cluster in $BOTTLECRM_PGDATA"
	rm -rf "$BOTTLECRM_PGDATA"
	mkdir -p "$BOTTLECRM_PGDATA"
	pwfile="$BOTTLECRM_RUN/pwfile"
	cp "$BOTTLECRM_SECRETS/pg_password" "$pwfile"
	if [ "$(id -u)" = 0 ]; then chown postgres "$BOTTLECRM_PGDATA" "$BOTTLECRM_RUN" "$pwfile"; fi
	bottlecrm_as_pg "$pg_bin/initdb" -D "$BOTTLECRM_PGDATA" -U bottlecrm --pwfile="$pwfile" \
		--auth=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >"$BOTTLECRM_RUN/initdb.log" ||
		bottlecrm_die "initdb failed, see $BOTTLECRM_RUN/initdb.log"
	rm -f "$pwfile"
fi
if [ "$(id -u)" = 0 ]; then chown postgres "$BOTTLECRM_RUN"; fi
export PGPASSWORD="$(cat "$BOTTLECRM_SECRETS/pg_password")"
if ! bottlecrm_as_pg "$pg_bin/pg_ctl" -D "$BOTTLECRM_PGDATA" status >/dev/null 2>&1; then
	bottlecrm_as_pg "$pg_bin/pg_ctl" -D "$BOTTLECRM_PGDATA" -l "$BOTTLECRM_RUN/postgres.log" -w -t 60 \
		-o "-c listen_addresses=127.0.0.1 -p $BOTTLECRM_PG_PORT -c unix_socket_directories='$BOTTLECRM_RUN' -c fsync=off" \
		start >/dev/null 9>&- || bottlecrm_die "PostgreSQL did not start on 127.0.0.1:$BOTTLECRM_PG_PORT, see $BOTTLECRM_RUN/postgres.log"
fi
if ! "$pg_bin/psql" -h 127.0.0.1 -p "$BOTTLECRM_PG_PORT" -U bottlecrm -d postgres -tAc \
	"select 1 from pg_database where datname = 'bottlecrm'" | grep -q 1; then
	"$pg_bin/createdb" -h 127.0.0.1 -p "$BOTTLECRM_PG_PORT" -U bottlecrm bottlecrm
	rm -f "$BOTTLECRM_HOME/.migrated"
fi

# --- Tables and the organisation, admin and token. Migrations run again only when the
# installed packages changed (their hash is the constraints file's).
bottlecrm_server_environment
migrate=""
[ "$(cat "$BOTTLECRM_HOME/.migrated" 2>/dev/null)" = "$(cat "$BOTTLECRM_VENV/.constraints.sha256")" ] || migrate=--migrate
(cd "$BOTTLECRM_RUN" && "$BOTTLECRM_VENV/bin/python" "$BOTTLECRM_SCRIPTS/bootstrap.py" \
	"$BOTTLECRM_SECRETS/token" $migrate) >"$BOTTLECRM_RUN/bootstrap.log" 2>&1 ||
	bottlecrm_die "bootstrap failed: $(tail -n 5 "$BOTTLECRM_RUN/bootstrap.log")"
cp "$BOTTLECRM_VENV/.constraints.sha256" "$BOTTLECRM_HOME/.migrated"

{
	echo "BOTTLECRM_URL=$BOTTLECRM_URL"
	echo "BOTTLECRM_TOKEN=$(cat "$BOTTLECRM_SECRETS/token")"
	echo "BOTTLECRM_PG_PORT=$BOTTLECRM_PG_PORT"
} >"$BOTTLECRM_SERVER_ENV"
chmod 600 "$BOTTLECRM_SERVER_ENV"

healthy() { curl -fs -o /dev/null --max-time 5 "$BOTTLECRM_URL/healthz/"; }

# --- gunicorn
if [ -s "$BOTTLECRM_PIDFILE" ] && kill -0 "$(cat "$BOTTLECRM_PIDFILE")" 2>/dev/null && healthy; then
	echo "already running"
	exit 0
fi
if curl -s -o /dev/null --max-time 2 "$BOTTLECRM_URL/"; then
	bottlecrm_die "something else answers on $BOTTLECRM_URL; set BOTTLECRM_PORT to a free port"
fi
cd "$BOTTLECRM_RUN" # crm.settings logs to server.log in the working directory
"$BOTTLECRM_VENV/bin/gunicorn" crm.wsgi:application --bind "127.0.0.1:$BOTTLECRM_PORT" \
	--workers 2 --timeout 60 --daemon --pid "$BOTTLECRM_PIDFILE" \
	--error-logfile "$BOTTLECRM_RUN/gunicorn.log" --access-logfile "$BOTTLECRM_RUN/access.log" 9>&-
for _ in $(seq 1 120); do
	if healthy; then
		bottlecrm_say "serving on $BOTTLECRM_URL"
		echo "started"
		exit 0
	fi
	sleep 0.5
done
bottlecrm_die "gunicorn did not answer on $BOTTLECRM_URL/healthz/ within 60 s: $(tail -n 20 "$BOTTLECRM_RUN/gunicorn.log" 2>/dev/null)"
