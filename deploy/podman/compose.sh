#!/usr/bin/env bash
# docker-compose.yml run for real with podman and podman-compose (Debian's packages):
#
#   deploy/podman/compose.sh up      # build the images, start PostgreSQL and Redis, migrate, then web ×2, worker ×2, beat
#   deploy/podman/compose.sh down    # remove the containers (VOLUMES=1: and the database and Redis volumes)
#   deploy/podman/compose.sh urls    # the web replicas' addresses on 127.0.0.1
#
# `make compose-up` / `make compose-down` call this. The env file is .env (VISITDESK_ENV_FILE=… for
# another); podman reads deploy/podman/containers.conf (cgroupfs, ulimits within the machine's limits).
#
# podman-compose 1.0.3 (bookworm) starts containers in dependency order but does not wait for a
# dependency's health check or a one-shot's completion (`condition:` is ignored), so this script
# creates every container with `podman-compose up --no-start` and starts them itself in the order
# the conditions say: postgres and redis until they answer, migrate and render-calendars to
# completion (stopping on failure), then web, worker and beat.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CONTAINERS_CONF="${CONTAINERS_CONF:-$PWD/deploy/podman/containers.conf}"
export VISITDESK_ENV_FILE="${VISITDESK_ENV_FILE:-.env}"
PROJECT="${VISITDESK_COMPOSE_PROJECT:-visitdesk}"
IMAGE_PYTHON=3.11.2   # python3 of the Debian base (bookworm)
compose() { podman-compose --no-ansi -p "$PROJECT" -f docker-compose.yml "$@"; }
names() { podman ps -a --filter "label=io.podman.compose.project=$PROJECT" --filter "label=com.docker.compose.service=$1" --format '{{.Names}}' | sort; }
log() { printf '[compose %s] %s\n' "$(date +%H:%M:%S)" "$*"; }

wait_until() {  # wait_until SECONDS WHAT COMMAND...
  local limit=$1 what=$2; shift 2
  for _ in $(seq "$limit"); do "$@" >/dev/null 2>&1 && return 0; sleep 1; done
  log "$what did not become ready within ${limit} s"; return 1
}

run_once() {  # a one-shot service to completion; its log and a failure stop the deployment
  local name; name="$(names "$1")"
  log "running $1 ($name)"
  podman start "$name" >/dev/null
  local code; code="$(podman wait "$name")"
  if [ "$code" != 0 ]; then podman logs --tail 60 "$name"; log "$1 failed (exit $code)"; return 1; fi
}

urls() {
  for name in $(names web); do
    echo "http://$(podman port "$name" 8000/tcp)"
  done
}

image_platforms() {  # the wheel tags the image's glibc (2.36) runs: every manylinux up to it
  local m; for m in $(seq 36 -1 5); do printf -- '--platform manylinux_2_%s_x86_64 ' "$m"; done
  printf -- '--platform manylinux2014_x86_64 --platform manylinux2010_x86_64 --platform manylinux1_x86_64'
}

wheels() {  # build/wheels: every dependency as a wheel at the version the project's venv has (see Dockerfile)
  local python="${VISITDESK_PYTHON:-.venv/bin/python}"
  [ -x "$python" ] || { echo "$python missing: make install first (or set VISITDESK_PYTHON)"; exit 1; }
  rm -rf build/wheels && mkdir -p build/wheels
  "$python" -c 'import tomllib; p = tomllib.load(open("pyproject.toml", "rb")); print("\n".join(p["project"]["dependencies"] + p["build-system"]["requires"]))' \
    >build/wheels/requirements.txt
  # pip evaluates environment markers for the host's interpreter even with --python-version: what the
  # image's 3.11.2 needs and a newer host does not is listed here (redis: python_full_version < "3.11.3").
  echo 'async-timeout>=4.0.3' >>build/wheels/requirements.txt
  "$python" -m pip freeze --exclude-editable | grep -v '^-e ' >build/wheels/constraints.txt
  # For the image's interpreter (Debian bookworm's python3, 3.11.2 — markers such as redis's
  # `python_full_version < "3.11.3"` differ from the host's), binary wheels only.
  "$python" -m pip download --quiet --disable-pip-version-check -d build/wheels --only-binary=:all: \
      --python-version "$IMAGE_PYTHON" --implementation cp --abi cp311 $(image_platforms) \
      -r build/wheels/requirements.txt -c build/wheels/constraints.txt >build/wheels.log 2>&1 \
    || { grep -v "is ignored: it is neither" build/wheels.log | tail -20; exit 1; }
}

build_images() {
  # Each image the compose file builds, once: podman-compose 1.0.3's `build` builds the shared app
  # image once per service using it (five times). Context, Containerfile and arguments are the file's.
  local image context file args
  while IFS='|' read -r image context file args; do
    # shellcheck disable=SC2086
    podman build -t "$image" -f "$context/$file" $args "$context" >>var/compose/build.log 2>&1 \
      || { tail -40 var/compose/build.log; log "building $image failed (var/compose/build.log)"; return 1; }
  done < <(python3 - <<'PY'
import os, yaml
seen = set()
for name, svc in yaml.safe_load(open("docker-compose.yml"))["services"].items():
    build = svc.get("build")
    if not build or svc["image"] in seen:
        continue
    seen.add(svc["image"])
    context = build["context"] if isinstance(build, dict) else build
    file = build.get("dockerfile") if isinstance(build, dict) else None
    file = file or ("Containerfile" if os.path.exists(os.path.join(context, "Containerfile")) else "Dockerfile")
    args = " ".join(f"--build-arg {k}={v}" for k, v in (build.get("args") or {}).items()) if isinstance(build, dict) else ""
    print(f"{svc['image']}|{context}|{file}|{args}")
PY
)
}

up() {
  [ -f "$VISITDESK_ENV_FILE" ] || { echo "no env file $VISITDESK_ENV_FILE: cp .env.example .env and fill it in"; exit 1; }
  local started; started=$(date +%s)
  mkdir -p var/compose && : >var/compose/build.log
  deploy/podman/base-image.sh >/dev/null
  log "wheels for the image (build/wheels)"
  wheels
  log "building images (layers are cached between runs)"
  build_images
  compose down -t 10 >/dev/null 2>&1 || true   # containers only; the volumes keep the data
  compose up --no-start >/dev/null
  podman start "$(names postgres)" "$(names redis)" >/dev/null
  wait_until 60 postgres podman exec "$(names postgres)" pg_isready -h 127.0.0.1 -U visitdesk -d visitdesk
  wait_until 30 redis podman exec "$(names redis)" redis-cli ping
  run_once migrate
  run_once render-calendars
  # Every long-running app service (web, worker, beat, and any other the file adds): all but the
  # data services and the one-shots (restart "no").
  local service
  for service in $(python3 -c 'import yaml; print(" ".join(n for n, s in yaml.safe_load(open("docker-compose.yml"))["services"].items() if n not in ("postgres", "redis") and s.get("restart") != "no"))'); do
    # shellcheck disable=SC2046
    podman start $(names "$service") >/dev/null
  done
  for name in $(names web); do
    wait_until 90 "$name" podman exec "$name" curl -fsS http://127.0.0.1:8000/healthz
  done
  log "up in $(( $(date +%s) - started )) s:"
  podman ps --filter "label=io.podman.compose.project=$PROJECT" --format '  {{.Names}}\t{{.Status}}\t{{.Ports}}'
  urls | sed 's/^/  web: /'
}

down() {
  compose down -t 10 >/dev/null 2>&1 || true
  if [ "${VOLUMES:-0}" = 1 ]; then
    for volume in pgdata redisdata; do podman volume rm -f "${PROJECT}_$volume" >/dev/null 2>&1 || true; done
  fi
  if [ "${VOLUMES:-0}" = 1 ]; then log "down (containers and volumes removed)"; else log "down (volumes kept)"; fi
}

case "${1:-}" in
  up) up ;;
  wheels) wheels ;;
  down) down ;;
  urls) urls ;;
  names) names "${2:?service}" ;;
  *) echo "usage: $0 up|down|urls|names SERVICE"; exit 2 ;;
esac
