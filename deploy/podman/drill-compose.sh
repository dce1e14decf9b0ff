#!/usr/bin/env bash
# The drill (deploy/drill.py) against the compose deployment: `make drill-compose`.
#
# Writes an env file for a throw-away deployment (var/compose/drill.env: production settings, mail
# to the drill's SMTP sink on host.containers.internal, the drill's short settle time), brings the
# stack up with deploy/podman/compose.sh under the project name visitdesk-drill (so a real
# `visitdesk` deployment on the same machine is not touched), runs the drill against its two web
# containers, and removes the containers and volumes again, whatever the outcome.
set -euo pipefail
cd "$(dirname "$0")/../.."
export VISITDESK_COMPOSE_PROJECT="${VISITDESK_COMPOSE_PROJECT:-visitdesk-drill}"
export VISITDESK_DRILL_SMTP_PORT="${VISITDESK_DRILL_SMTP_PORT:-2525}"
export CONTAINERS_CONF="${CONTAINERS_CONF:-$PWD/deploy/podman/containers.conf}"
python="${VISITDESK_PYTHON:-.venv/bin/python}"
mkdir -p var/compose
env_file="$PWD/var/compose/drill.env"
"$python" - "$env_file" <<'PY'
import secrets, sys
from deploy.drill import DRILL_SETTINGS
port = __import__("os").environ["VISITDESK_DRILL_SMTP_PORT"]
lines = {
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(50), "DJANGO_DEBUG": "0",
    "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost", "DJANGO_SECURE_SSL_REDIRECT": "0",
    "SITE_URL": "http://127.0.0.1:8000", "EMAIL_URL": f"smtp://host.containers.internal:{port}",
    **DRILL_SETTINGS,
}
open(sys.argv[1], "w").write("".join(f"{k}={v}\n" for k, v in lines.items()))
PY
export VISITDESK_ENV_FILE="$env_file"
cleanup() {
  # Every container's log first (var/compose/logs/), then containers and volumes go.
  mkdir -p var/compose/logs
  for name in $(podman ps -a --filter "label=io.podman.compose.project=$VISITDESK_COMPOSE_PROJECT" --format '{{.Names}}'); do
    podman logs "$name" >"var/compose/logs/$name.log" 2>&1 || true
  done
  VOLUMES=1 deploy/podman/compose.sh down || true
}
trap cleanup EXIT
started=$(date +%s)
VOLUMES=1 deploy/podman/compose.sh down >/dev/null 2>&1 || true
deploy/podman/compose.sh up
echo "[drill-compose] deployment up after $(( $(date +%s) - started )) s"
PYTHONPATH="$PWD" "$python" -m deploy.drill --compose --smtp-port "$VISITDESK_DRILL_SMTP_PORT" "$@"
