"""MeltanoLabs target-postgres, with every date-time a `timestamp with time zone`.

target-postgres 0.8.1 makes a JSON Schema `format: date-time` a `timestamp without time
zone` and stores each instant as the wall clock of the loading session's zone: the column
holds no instant, only a clock reading whose zone every writer and reader must agree on.
No setting (nor an `x-sql-datatype` it honours) changes that, so this is the same target
with two changes, both through the connector's public hooks:

- date-time columns are created as `timestamptz`, which stores the instant itself, so
  neither the server's nor the session's `TimeZone` can shift a value;
- a table that an earlier load made with zone-less date-time columns is migrated in
  place, each value read as UTC (what tap-litmos's loader wrote with `PGTZ=UTC`).
  target-postgres itself would leave such a column as it is: it compares the two types
  by their generic names, both "TIMESTAMP".

Everything else (settings, `--about`, the `TARGET_POSTGRES_*` variables) is the target's.
"""

from __future__ import annotations

import typing as t
from functools import cached_property

import sqlalchemy
from sqlalchemy.dialects.postgresql import TIMESTAMP
from target_postgres.connector import PostgresConnector
from target_postgres.sinks import PostgresSink
from target_postgres.target import TargetPostgres

if t.TYPE_CHECKING:
    from singer_sdk.sql.connector import FullyQualifiedName, JSONSchemaToSQL


def timestamptz(_schema: dict[str, t.Any]) -> TIMESTAMP:
    """The SQL type of a JSON Schema date-time."""
    return TIMESTAMP(timezone=True)


def is_timestamp(sql_type: sqlalchemy.types.TypeEngine, *, timezone: bool) -> bool:
    """Whether `sql_type` is a timestamp with (or without) a time zone."""
    return isinstance(sql_type, sqlalchemy.types.TIMESTAMP) and sql_type.timezone == timezone


class TimestamptzConnector(PostgresConnector):
    """The target's connector, date-times as `timestamptz`."""

    @cached_property
    def jsonschema_to_sql(self) -> JSONSchemaToSQL:
        """The target's JSON Schema to SQL mapping, a date-time made `timestamptz`."""
        to_sql = super().jsonschema_to_sql
        to_sql.register_format_handler("date-time", timestamptz)
        return to_sql

    def prepare_table(  # noqa: PLR0913, PLR0917 (the signature is the target's)
        self,
        full_table_name: str | FullyQualifiedName,
        schema: dict[str, t.Any],
        primary_keys: t.Sequence[str],
        connection: sqlalchemy.engine.Connection,
        partition_keys: list[str] | None = None,
        as_temp_table: bool = False,  # noqa: FBT001, FBT002
    ) -> sqlalchemy.Table:
        """The target's table, its zone-less date-time columns migrated first.

        First, because the target reflects the table, and the sqlalchemy.Table it returns
        (each batch's temporary table is a copy of it) must already see `timestamptz`.
        """
        if not as_temp_table and self.table_exists(full_table_name=full_table_name):
            self.migrate_zone_less_date_times(full_table_name, schema, connection)
        return super().prepare_table(
            full_table_name=full_table_name,
            schema=schema,
            primary_keys=primary_keys,
            connection=connection,
            partition_keys=partition_keys,
            as_temp_table=as_temp_table,
        )

    def migrate_zone_less_date_times(
        self,
        full_table_name: str | FullyQualifiedName,
        schema: dict[str, t.Any],
        connection: sqlalchemy.engine.Connection,
    ) -> None:
        """`timestamp` -> `timestamptz` for the date-time columns of an existing table."""
        _, schema_name, table_name = self.parse_full_table_name(full_table_name)
        existing = {
            column["name"]: column["type"]
            for column in sqlalchemy.inspect(connection).get_columns(table_name, schema_name)
        }
        quote = connection.dialect.identifier_preparer.quote
        table = f"{quote(schema_name)}.{quote(table_name)}" if schema_name else quote(table_name)
        for name, definition in schema["properties"].items():
            current = existing.get(name)
            if current is None or not is_timestamp(current, timezone=False):
                continue
            if not is_timestamp(self.to_sql_type(definition), timezone=True):
                continue  # no longer a date-time: the target's own rules apply
            self.logger.info(
                "Migrating %s.%s to timestamp with time zone (values read as UTC)", table, name
            )
            column = quote(name)
            connection.execute(
                sqlalchemy.text(
                    f"ALTER TABLE {table} ALTER COLUMN {column} TYPE timestamptz"
                    f" USING {column} AT TIME ZONE 'UTC'"
                )
            )


class TimestamptzSink(PostgresSink):
    """The target's sink, with the connector above."""

    connector_class = TimestamptzConnector


class TargetPostgresTimestamptz(TargetPostgres):
    """target-postgres, date-times as `timestamp with time zone`."""

    default_sink_class = TimestamptzSink
