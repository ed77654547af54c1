#!/usr/bin/env bash
# The production layout on one machine (`make run-prod-local`): a throw-away
# PostgreSQL (scripts/postgres.sh), Redis, two gunicorn app servers (one gthread
# worker each, as Socket.IO needs), two `flask worker` processes for the
# background jobs, and nginx in front as the sticky proxy
# (ip_hash, WebSocket upgrade). Prints the URL; Ctrl-C stops everything and
# deletes the data. PORT (default 8080) is where nginx listens.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/.venv/bin"
[ -x "$bin/gunicorn" ] || bin=$(dirname "$(command -v gunicorn || echo /work/main/.venv/bin/gunicorn)")
port=${PORT:-8080}
dir=$(mktemp -d /tmp/parley-prod-XXXXXX)
chmod 755 "$dir"
pids=()

sudo_if_needed() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_port() {
    for _ in $(seq 1 300); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "nothing listens on $1; logs are in $dir" >&2
    return 1
}

stop() {
    trap - INT TERM EXIT
    echo; echo "Stopping…"
    # The proxy and the app servers first, then what they use.
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
        kill "${pids[i]}" 2>/dev/null || true
        wait "${pids[i]}" 2>/dev/null || true
    done
    "$root/scripts/postgres.sh" stop "$dir/pg" || true
    rm -rf "$dir"
}
trap stop INT TERM EXIT

if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
    echo "Installing Debian's nginx"
    sudo_if_needed apt-get update -qq
    DEBIAN_FRONTEND=noninteractive sudo_if_needed apt-get install -y -qq nginx >/dev/null
fi
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)

echo "PostgreSQL…"
database=$("$root/scripts/postgres.sh" start "$dir/pg")

echo "Redis…"
redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$dir" \
    >"$dir/redis.log" 2>&1 &
pids+=($!)
wait_port "$redis_port"

export DATABASE_URL="$database"
export REDIS_URL="redis://127.0.0.1:$redis_port/0"
export SECRET_KEY=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
export PARLEY_INSTANCE="$dir/instance"
export PARLEY_PROXY_COUNT=1
export PARLEY_BACKGROUND_IN_PROCESS=false  # the worker processes below run the jobs
cd "$root"
"$bin/flask" --app wsgi db upgrade >"$dir/migrate.log" 2>&1
"$bin/flask" --app wsgi demo-data --if-empty >"$dir/demo.log" 2>&1

upstreams=""
for n in 1 2; do
    app_port=$(free_port)
    "$bin/gunicorn" --worker-class gthread --workers 1 --threads 16 \
        --bind "127.0.0.1:$app_port" --access-logfile "$dir/app$n.access.log" \
        --error-logfile "$dir/app$n.log" wsgi:app &
    pids+=($!)
    wait_port "$app_port"
    upstreams+="        server 127.0.0.1:$app_port;"$'\n'
done

for n in 1 2; do
    "$bin/flask" --app wsgi worker >"$dir/worker$n.log" 2>&1 &
    pids+=($!)
done

mkdir -p "$dir/nginx"
user_line=""
[ "$(id -u)" = 0 ] && user_line="user root;"
cat >"$dir/nginx.conf" <<CONF
$user_line
worker_processes 1;
pid $dir/nginx/nginx.pid;
error_log $dir/nginx/error.log warn;
events { worker_connections 1024; }
http {
    access_log $dir/nginx/access.log;
    client_body_temp_path $dir/nginx/body;
    proxy_temp_path $dir/nginx/proxy;
    fastcgi_temp_path $dir/nginx/fastcgi;
    uwsgi_temp_path $dir/nginx/uwsgi;
    scgi_temp_path $dir/nginx/scgi;
    include /etc/nginx/mime.types;
    client_max_body_size 2m;

    upstream parley {
        ip_hash;  # sticky: Socket.IO long-polling must reach the same server
$upstreams    }

    server {
        listen 127.0.0.1:$port;
        location /static/ {
            alias $root/static/;
            expires 1h;
        }
        location / {
            proxy_pass http://parley;
            proxy_http_version 1.1;
            proxy_set_header Host \$host;
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto \$scheme;
            proxy_set_header X-Forwarded-Host \$host;
            proxy_set_header X-Forwarded-Port \$server_port;
        }
        location /socket.io {
            proxy_pass http://parley/socket.io;
            proxy_http_version 1.1;
            proxy_buffering off;
            proxy_set_header Upgrade \$http_upgrade;
            proxy_set_header Connection "Upgrade";
            proxy_set_header Host \$host;
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto \$scheme;
            proxy_read_timeout 3600s;
        }
    }
}
CONF
"$nginx_bin" -c "$dir/nginx.conf" -p "$dir/nginx" -g "daemon off;" &
pids+=($!)
wait_port "$port"

echo
echo "Parley runs at http://127.0.0.1:$port/ (nginx → 2 gunicorn servers, 2 workers, PostgreSQL, Redis)."
echo "Demo accounts: admin@example.com … password parley-demo-password. Logs: $dir"
echo "Ctrl-C stops everything."
wait "${pids[@]}"
