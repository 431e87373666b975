"""Raw multi-row INSERTs and row-id reservation: the write paths that skip the ORM's per-row work
(the classify API's prediction log and the CSV import)."""

from __future__ import annotations

from django.db import connection, transaction


def insert_many(model, columns: list[str], rows: list[tuple], *, returning: bool = False, chunk: int = 500) -> list[int]:
    """Multi-row INSERT (... RETURNING id) without building model instances; on PostgreSQL without RETURNING,
    COPY (a fifth of the INSERT's time and a ninth of its client CPU per row: psycopg binds an INSERT's
    parameters in Python, COPY's rows in C, and the server parses no 2,000-parameter statement).
    Relies on RETURNING giving ids in insertion order, as Django's own bulk_create does on SQLite/PostgreSQL."""
    table = connection.ops.quote_name(model._meta.db_table)
    cols = ", ".join(connection.ops.quote_name(c) for c in columns)
    if not returning and connection.vendor == "postgresql":
        # wrap_database_errors: Django's IntegrityError and DatabaseError, as cursor.execute raises them
        with (
            connection.wrap_database_errors,
            connection.cursor() as cursor,
            cursor.cursor.copy(f"COPY {table} ({cols}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
        return []
    row_sql = "(" + ", ".join(["%s"] * len(columns)) + ")"
    ids: list[int] = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), chunk):
            part = rows[start : start + chunk]
            sql = f"INSERT INTO {table} ({cols}) VALUES {', '.join([row_sql] * len(part))}"
            params = [value for row in part for value in row]
            if returning:
                cursor.execute(sql + " RETURNING id", params)
                ids.extend(r[0] for r in cursor.fetchall())
            else:
                cursor.execute(sql, params)
    return ids


def can_reserve_ids() -> bool:
    return connection.vendor in ("sqlite", "postgresql")


def reserve_ids(model, count: int) -> list[int]:
    """Take `count` ids from the table's own id sequence, so rows written later with these explicit ids never
    collide with rows that get their id from the database meanwhile (any process, any code path)."""
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":  # AUTOINCREMENT: new ids are above sqlite_sequence.seq and every id used
            quoted = connection.ops.quote_name(table)
            with transaction.atomic():
                cursor.execute(
                    "INSERT INTO sqlite_sequence (name, seq) SELECT %s, 0 WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = %s)",
                    [table, table],
                )
                highest = f"(SELECT COALESCE(MAX(id), 0) FROM {quoted})"
                cursor.execute(f"UPDATE sqlite_sequence SET seq = MAX(seq, {highest}) + %s WHERE name = %s RETURNING seq", [count, table])
                top = cursor.fetchone()[0]
            return list(range(top - count + 1, top + 1))
        if connection.vendor == "postgresql":
            cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, count])
            return sorted(r[0] for r in cursor.fetchall())
    raise NotImplementedError(f"reserving ids is not supported on {connection.vendor}")
