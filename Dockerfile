# One image for web, worker and beat (docker-compose.yml picks the command).
#
# Built on a Debian base made from Debian's own packages (deploy/podman/base-image.sh: debootstrap,
# no image registry needed); Python is Debian's python3 (3.11 in bookworm) in a virtualenv.
# Elsewhere any Debian bookworm image will do: --build-arg BASE_IMAGE=debian:bookworm-slim.
ARG BASE_IMAGE=localhost/visitdesk-debian:bookworm
FROM ${BASE_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DEBIAN_FRONTEND=noninteractive \
    LANG=C.UTF-8 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    VISITDESK_VAR_DIR=/app/var

WORKDIR /app
# Pango, HarfBuzz and a font for WeasyPrint (the programme PDF); curl for the health check.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates curl gettext \
      libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b fonts-dejavu-core tzdata \
 && rm -rf /var/lib/apt/lists/* \
 && python3 -m venv /opt/venv \
 && useradd --system --home /app --uid 10001 visitdesk

# Dependencies first (a layer that survives code changes): pyproject's list and its build
# requirements, installed from the wheelhouse build/wheels/ that deploy/podman/compose.sh fills on
# the build host with the project's own pip (the versions CI tested); nothing is fetched from PyPI
# inside the build.
COPY pyproject.toml README.md ./
RUN --mount=type=bind,source=build/wheels,target=/tmp/wheels \
    python3 -c 'import tomllib; p = tomllib.load(open("pyproject.toml", "rb")); print("\n".join(p["project"]["dependencies"] + p["build-system"]["requires"]))' \
      > /tmp/requirements.txt \
 && pip install --no-index --find-links /tmp/wheels -r /tmp/requirements.txt -c /tmp/wheels/constraints.txt \
 && rm /tmp/requirements.txt

COPY config ./config
COPY core ./core
COPY directory ./directory
COPY events ./events
COPY availability ./availability
COPY visits ./visits
COPY calendars ./calendars
COPY scheduling ./scheduling
COPY notifications ./notifications
COPY webhooks ./webhooks
COPY history ./history
COPY api ./api
COPY web ./web
COPY templates ./templates
COPY locale ./locale
COPY manage.py ./
RUN pip install --no-index --no-deps --no-build-isolation . \
 && mkdir -p /app/var \
 && DJANGO_SECRET_KEY=build-only DJANGO_DEBUG=0 python manage.py collectstatic --noinput \
 && chown -R visitdesk /app/var

USER visitdesk
EXPOSE 8000
# Bind, workers, timeouts and logs: config/gunicorn.conf.py (VISITDESK_WEB_TIMEOUT, WEB_CONCURRENCY).
CMD ["gunicorn", "-c", "config/gunicorn.conf.py", "config.wsgi:application"]
