"""Engine-level settings: SQLite for a many-worker pilot, PostgreSQL as is."""
from __future__ import annotations

import sqlite3
from collections.abc import Callable

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement
from sqlalchemy.types import TypeEngine

_configured = False


def writes_on_get(view):
    """Mark a GET view that writes (e.g. presence), so that on SQLite its transaction
    takes the write lock when it begins, like a POST's (see ``_in_write_request``)."""
    view.writes_on_get = True
    return view


def _in_write_request() -> bool:
    """True inside a POST/PUT/PATCH/DELETE request, or a GET view marked ``writes_on_get``.

    Such a request usually reads and then writes. Under WAL a deferred
    transaction that read before another connection committed cannot take the
    write lock later (SQLITE_BUSY_SNAPSHOT: the busy timeout does not apply), so
    write requests take the lock when they begin and concurrent writers queue
    behind ``busy_timeout`` instead of failing with "database is locked".
    Readers are never blocked (WAL).
    """
    from flask import current_app, has_request_context, request

    if not has_request_context():
        return False
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        return True
    view = current_app.view_functions.get(request.endpoint or "")
    return bool(getattr(view, "writes_on_get", False))

# Milliseconds a SQLite writer waits for the lock before giving up.
SQLITE_BUSY_TIMEOUT_MS = 30_000


def configure_engines() -> None:
    """Install, once per process, the connection hooks for SQLite engines.

    * WAL journal, so readers never block the writer and vice versa;
    * ``busy_timeout`` so concurrent writers (several gunicorn workers) wait
      instead of failing with "database is locked";
    * foreign keys enforced, as PostgreSQL does;
    * pysqlite's own implicit transactions switched off and ``BEGIN`` emitted by
      SQLAlchemy, so SAVEPOINT and transactional DDL behave as on PostgreSQL
      (SQLAlchemy docs, "Serializable isolation / Savepoints / Transactional DDL");
      ``BEGIN IMMEDIATE`` in write requests (see ``_in_write_request``).
    """
    global _configured
    if _configured:
        return
    _configured = True

    @event.listens_for(Engine, "connect")
    def _sqlite_on_connect(dbapi_connection, connection_record):
        if not isinstance(dbapi_connection, sqlite3.Connection):
            return
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(Engine, "begin")
    def _sqlite_on_begin(conn):
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE" if _in_write_request() else "BEGIN")


def dialect_function(name: str, type_: TypeEngine, doc: str, *, postgresql: Callable[[str], str],
                     sqlite: Callable[[str], str]) -> type[FunctionElement]:
    """A SQL function written differently for each database we run on, as a class whose
    instances are SQLAlchemy expressions: ``local_date(Report.created_at)``.

    :param name: the class's name (what ``repr`` and errors show).
    :param type_: the SQL type of the result (e.g. ``Integer()``).
    :param doc: the class's docstring: what it computes, and how on each database.
    :param postgresql / sqlite: given the compiled arguments (``"report.created_at"``, or
        several joined by ``", "``), the SQL text on that database.
    :returns: a ``FunctionElement`` subclass; compiling it for another database raises
        ``sqlalchemy.exc.CompileError``.
    """
    cls = type(name, (FunctionElement,), {"type": type_, "inherit_cache": True, "name": name, "__doc__": doc})
    for dialect, render in (("postgresql", postgresql), ("sqlite", sqlite)):
        compiles(cls, dialect)(lambda element, compiler, _render=render, **kw:
                               _render(compiler.process(element.clauses, **kw)))
    return cls
