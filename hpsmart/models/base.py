"""Column types and helpers shared by the models."""
from __future__ import annotations

import enum
from datetime import datetime, timezone

from sqlalchemy import DateTime, Enum as SAEnum, Index
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    """Return the current time as an aware ``datetime`` in UTC."""
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """A timestamp stored in UTC and always returned timezone-aware (UTC).

    SQLite keeps no offset, PostgreSQL keeps ``timestamptz``; this type makes both
    give back the same aware UTC value. Naive datetimes are refused on the way in
    (``ValueError``), so local time can never be stored by mistake.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: store UTC-aware datetimes only")
        value = value.astimezone(timezone.utc)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def str_enum(enum_cls: type[enum.Enum], name: str) -> SAEnum:
    """A string column for ``enum_cls`` stored by value, with a CHECK constraint.

    :param enum_cls: a ``str``-valued Enum.
    :param name: constraint name (becomes ``ck_<table>_<name>``).
    """
    return SAEnum(
        enum_cls,
        native_enum=False,
        create_constraint=True,
        length=max(len(m.value) for m in enum_cls),
        name=name,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


class TitledEnum(str, enum.Enum):
    """A str Enum whose members carry a translated title and a CSS class.

    Subclasses define ``_titles`` (a method returning ``{member: lazy string}``).
    """

    @property
    def title(self) -> str:
        return str(self._titles()[self])

    @property
    def css_class(self) -> str:
        return f"{type(self).__name__.lower()}-{self.value.replace('_', '-')}"

    @classmethod
    def _titles(cls) -> dict:  # pragma: no cover - overridden
        return {}

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        """``[(value, translated title), ...]`` in declaration order, for select fields."""
        return [(m.value, m.title) for m in cls]


def dialect_index(name: str, *columns: str, dialect: str, **kw) -> Index:
    """An ``Index`` that exists only on ``dialect`` (e.g. a PostgreSQL trigram GIN index).

    ``create_all`` skips it elsewhere (SQLAlchemy's ``ddl_if``); Alembic does not
    read ``ddl_if`` when it compares, so the dialect is also kept in
    ``info["dialect"]`` for ``include_for_dialect``. Keyword arguments go to ``Index``.
    """
    index = Index(name, *columns, info={"dialect": dialect}, **kw)
    return index.ddl_if(dialect=dialect)


# Database objects made by migrations that the models cannot declare, left out of the
# model/database comparison: an index with per-column DESC NULLS LAST (PostgreSQL,
# migration 0007; SQLAlchemy reflects it as an expression index) and SQLite's FTS5
# search table with its shadow tables (``report_fts``, ``report_fts_data``, ...).
MIGRATION_ONLY_INDEXES = frozenset({"ix_report_deadline_desc"})
MIGRATION_ONLY_TABLE_PREFIX = "report_fts"


def include_for_dialect(dialect_name: str):
    """Alembic ``include_object`` hook for a database of ``dialect_name``.

    Leaves out of autogenerate and of the model/database comparison the model
    indexes made by ``dialect_index`` for another dialect, so the comparison is
    empty on SQLite and PostgreSQL alike while PostgreSQL still checks its own
    indexes; also leaves out the migration-only objects above. Used by
    ``migrations/env.py`` and ``tests/integration/test_schema.py``.

    :returns: ``include_object(obj, name, type_, reflected, compare_to) -> bool``.
    """

    def include_object(obj, name, type_, reflected, compare_to) -> bool:
        if type_ == "index" and not reflected:
            only = obj.info.get("dialect")
            return only is None or only == dialect_name
        if reflected and compare_to is None:
            if type_ == "index" and name in MIGRATION_ONLY_INDEXES:
                return False
            if type_ == "table" and name is not None and name.startswith(MIGRATION_ONLY_TABLE_PREFIX):
                return False
        return True

    return include_object
