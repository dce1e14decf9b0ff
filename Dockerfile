# One image for web, worker and beat (docker-compose.yml picks the command).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    VISITDESK_VAR_DIR=/app/var

WORKDIR /app
RUN apt-get update \
 && apt-get install -y --no-install-recommends curl gettext libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home /app --uid 10001 visitdesk

COPY pyproject.toml README.md ./
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
RUN pip install . \
 && mkdir -p /app/var \
 && DJANGO_SECRET_KEY=build-only DJANGO_DEBUG=0 python manage.py collectstatic --noinput \
 && chown -R visitdesk /app/var

USER visitdesk
EXPOSE 8000
# Bind, workers, timeouts and logs: config/gunicorn.conf.py (VISITDESK_WEB_TIMEOUT, WEB_CONCURRENCY).
CMD ["gunicorn", "-c", "config/gunicorn.conf.py", "config.wsgi:application"]
