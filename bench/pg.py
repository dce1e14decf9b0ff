"""PostgreSQL URLs for the benchmarks: each bench makes its own database on the server of DATABASE_URL."""

from __future__ import annotations

import os
import sys
from urllib.parse import urlparse, urlunparse


def server_url(bench: str) -> str:
    url = os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/postgres"
    if urlparse(url).scheme not in ("postgres", "postgresql", "pgsql"):
        sys.exit(f"{bench} needs PostgreSQL; DATABASE_URL is {url!r}")
    return url


def with_db(url: str, name: str) -> str:
    return urlunparse(urlparse(url)._replace(path=f"/{name}"))


def admin_sql(url: str, sql: str) -> None:
    """Run ``sql`` (CREATE/DROP DATABASE) on the server's maintenance database, outside a transaction."""
    import psycopg

    with psycopg.connect(with_db(url, "postgres"), autocommit=True) as conn:
        conn.execute(sql)
