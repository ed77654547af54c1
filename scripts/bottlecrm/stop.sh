#!/usr/bin/env bash
# Stops the BottleCRM test server and its PostgreSQL cluster (their data is kept, so
# the next start.sh is quick). Does nothing for what is not running.
set -euo pipefail
source "$(dirname "$0")/env.sh"

if [ -s "$BOTTLECRM_PIDFILE" ]; then
	pid="$(cat "$BOTTLECRM_PIDFILE")"
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid"
		for _ in $(seq 1 40); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.25
		done
		kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
	fi
	rm -f "$BOTTLECRM_PIDFILE"
fi
if pg_bin="$(bottlecrm_pg_bin)" && [ -s "$BOTTLECRM_PGDATA/PG_VERSION" ] &&
	bottlecrm_as_pg "$pg_bin/pg_ctl" -D "$BOTTLECRM_PGDATA" status >/dev/null 2>&1; then
	bottlecrm_as_pg "$pg_bin/pg_ctl" -D "$BOTTLECRM_PGDATA" -m fast -w stop >/dev/null
fi
bottlecrm_say "stopped"
