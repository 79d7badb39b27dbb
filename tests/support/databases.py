"""Databases for storage tests: a SQLite file, and an isolated schema on the local PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from gennai.store.database import create_database_engine

POSTGRES_URL = os.environ.get("GENNAI_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@contextmanager
def postgres_schema_url() -> Iterator[str]:
    """A fresh schema in the test database; the URL points its search_path there."""
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    schema = f"gennai_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # noqa: BLE001
        admin.dispose()
        pytest.fail(f"PostgreSQL at {POSTGRES_URL} is not usable ({type(exc).__name__}); run ./scripts/services")
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def database_url(kind: str, tmp_path: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'gennai.db'}"
    else:
        with postgres_schema_url() as url:
            yield url


@contextmanager
def database_engine(kind: str, tmp_path: Path) -> Iterator[Engine]:
    with database_url(kind, tmp_path) as url:
        engine = create_database_engine(url)
        try:
            yield engine
        finally:
            engine.dispose()
