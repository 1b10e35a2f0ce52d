"""The ORM's two commonest calls, without building the SQL each time: for hot paths.

A capture writes a row into a dozen tables. `bulk_create` and a filtered queryset spend
about half a millisecond of CPU each assembling the same statements again (measured by
bench/bench_orders.py); under load that CPU is what limits orders per second. These
helpers keep one statement text per model (and row count), take values through each
field's own `pre_save`/`get_db_prep_save`, so types, defaults and `auto_now` behave as
with the ORM, and hand back ordinary model instances. Signals are not sent, as with
`bulk_create`.
"""

import functools
import re
import time
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache

import psycopg
from django.db import DEFAULT_DB_ALIAS, connection, connections, models

_PLACEHOLDER = re.compile(r"%[sbt%]")


@functools.lru_cache(maxsize=256)
def _native(query: str) -> str:
    """`%s` placeholders as PostgreSQL's own `$1, $2...`, once per statement text. psycopg
    does this itself but caches it only for statements under 4 kB and 50 values, which a
    capture's grouped INSERT is not: it split that one again on every capture."""
    numbers = iter(range(1, query.count("%") + 1))
    return _PLACEHOLDER.sub(lambda m: "%" if m[0] == "%%" else f"${next(numbers)}", query)


class _Logged(psycopg.RawCursor):
    """A server-side-binding psycopg cursor that still behaves as Django's: its errors are
    Django's (IntegrityError, ...), execute wrappers see it, and it shows in the query log
    (the test suite's query counts, the debug toolbar). It takes Django's `%s` style."""

    def execute(self, query, params=None, **kwargs):
        db = connections[DEFAULT_DB_ALIAS]

        def run(sql, values, many, context):
            with db.wrap_database_errors:  # IntegrityError etc. as Django's, as callers expect
                native = sql if values is None else _native(sql)
                return super(_Logged, self).execute(native, values, **kwargs)

        # Django's execute wrappers (connection.execute_wrapper) see these statements too.
        for wrapper in reversed(db.execute_wrappers):
            run = functools.partial(wrapper, run)
        start = time.monotonic()
        try:
            return run(query, params, False, {"connection": db, "cursor": self})
        finally:
            if db.queries_logged:
                db.queries_log.append(
                    {"sql": f"{query} {params!r:.200}", "time": f"{time.monotonic() - start:.3f}"}
                )


SERVER_BINDING_MAX = 50  # values; above, psycopg's client-side quoting costs less CPU


@contextmanager
def cursor(values: int = 0):
    """A cursor for the hot paths, for a statement of `values` parameters. On PostgreSQL
    and for a few values (one order's statements), psycopg's own with server-side binding:
    values travel apart from the text and a statement run five times is prepared on the
    server (parsed and planned once per connection). A batch's long IN lists and VALUES
    go through Django's cursor: measured on the wholesale import, binding hundreds of
    values server-side cost more client CPU than quoting them."""
    db = connections[DEFAULT_DB_ALIAS]
    if db.vendor != "postgresql" or values > SERVER_BINDING_MAX:
        with db.cursor() as django_cursor:
            yield django_cursor
        return
    db.ensure_connection()
    with _Logged(db.connection) as pg_cursor:
        yield pg_cursor


def insert_fields(model: type[models.Model]) -> tuple:
    """The fields an INSERT of `model` writes, in the order `rows()` gives values."""
    return _insert_fields(model)


def columns(part: "Rows") -> list[list]:
    """`part`'s values a column at a time (for `unnest` of one array per column)."""
    return [list(column) for column in zip(*part.values, strict=True)]


@cache
def _insert_fields(model: type[models.Model]) -> tuple:
    return tuple(f for f in model._meta.concrete_fields if not isinstance(f, models.AutoField))


@cache
def _insert_sql(model: type[models.Model], rows: int) -> str:
    fields = _insert_fields(model)
    quote = connection.ops.quote_name
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    return (
        f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
        f"VALUES {', '.join([row] * rows)} RETURNING {quote(model._meta.pk.column)}"
    )


UNNEST_FROM = 10  # rows; below it a VALUES list is cheaper to send than arrays


@cache
def _unnest_sql(model: type[models.Model]) -> str:
    """PostgreSQL: one array per column, so the statement's text is the same for 1 row or
    5,000 (psycopg then reuses its parse of it, and the server gets a short query)."""
    fields = _insert_fields(model)
    quote = connection.ops.quote_name
    arrays = ", ".join(f"%b::{f.db_type(connection)}[]" for f in fields)
    return (
        f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
        f"SELECT * FROM unnest({arrays}) RETURNING {quote(model._meta.pk.column)}"
    )


# Fields whose Python value psycopg takes as it is: on PostgreSQL their
# get_db_prep_save returns the value unchanged, so asking it a million times (a 25,000
# order import) is pure cost. Exact classes only: a subclass (django-countries'
# CountryField, FSMField) may convert, and goes the long way.
_AS_IS = frozenset(
    {
        models.CharField,
        models.TextField,
        models.EmailField,
        models.SlugField,
        models.IntegerField,
        models.SmallIntegerField,
        models.BigIntegerField,
        models.PositiveIntegerField,
        models.PositiveSmallIntegerField,
        models.PositiveBigIntegerField,
        models.BooleanField,
        models.DecimalField,
        models.ForeignKey,
        models.DateField,
        models.DateTimeField,
    }
)


@cache
def _preparers(fields: tuple, vendor: str) -> tuple:
    """Per field: (attname, needs pre_save, passes as is)."""
    return tuple(
        (
            f.attname,
            bool(getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)),
            vendor == "postgresql" and type(f) in _AS_IS,
        )
        for f in fields
    )


def _row(obj, fields: tuple, preparers: tuple, db) -> list:
    row = []
    for field, (attname, pre_save, as_is) in zip(fields, preparers, strict=True):
        value = field.pre_save(obj, True) if pre_save else getattr(obj, attname)
        row.append(value if as_is else field.get_db_prep_save(value, db))
    return row


def _insert_rows(model: type[models.Model], rows: list[list], db) -> list:
    if db.vendor == "postgresql" and len(rows) > UNNEST_FROM:
        # Binary arrays through a plain psycopg cursor: Django's client-side binding would
        # quote every value of every array as text (a regex per value).
        columns = [list(column) for column in zip(*rows, strict=True)]
        with cursor() as pg_cursor:
            pg_cursor.execute(_unnest_sql(model), columns)
            return [row[0] for row in pg_cursor.fetchall()]
    sql, params = _insert_sql(model, len(rows)), [value for row in rows for value in row]
    with cursor(len(params)) as plain:
        plain.execute(sql, params)
        return [row[0] for row in plain.fetchall()]


@dataclass
class Rows:
    """Rows for one table: from unsaved instances (`rows`), whose pks are set once they are
    written, or django-simple-history's rows for saved ones (`history`)."""

    model: type[models.Model]
    values: list[list]
    objs: list[models.Model] | None = None


def rows(objs: list[models.Model]) -> Rows | None:
    if not objs:
        return None
    model = type(objs[0])
    fields = _insert_fields(model)
    db = connections[DEFAULT_DB_ALIAS]  # the proxy's per-attribute lookup adds up here
    preparers = _preparers(fields, db.vendor)
    return Rows(model, [_row(obj, fields, preparers, db) for obj in objs], objs)


def _saved(part: Rows, pks: list, db) -> None:
    for obj, pk in zip(part.objs, pks, strict=True):
        obj.pk = pk
        obj._state.adding = False
        obj._state.db = db.alias


def insert(objs: list[models.Model]) -> None:
    """INSERT unsaved instances of one model (no auto pk set) with one statement, and set
    their pks, as `bulk_create` does on PostgreSQL and SQLite."""
    insert_together(rows(objs))


@cache
def _together_sql(shape: tuple) -> str:
    """One statement for several INSERTs: a data-modifying CTE each (PostgreSQL runs them
    all), then the new pks of those whose instances want them, tagged by position."""
    ctes, selects = [], []
    for k, (model, count, returning) in enumerate(shape):
        sql = _unnest_sql(model) if count > UNNEST_FROM else _insert_sql(model, count)
        if not returning:
            sql = sql[: sql.rindex(" RETURNING ")]
        ctes.append(f"t{k} AS ({sql})")
        if returning:
            selects.append(
                f"SELECT {k}, {connection.ops.quote_name(model._meta.pk.column)} FROM t{k}"
            )
    return (
        f"WITH {', '.join(ctes)} {' UNION ALL '.join(selects) or 'SELECT NULL, NULL WHERE FALSE'}"
    )


def insert_together(*parts: Rows | None) -> None:
    """Write rows into several tables whose keys do not depend on each other: on
    PostgreSQL one statement, so one round trip and one (prepared) plan instead of one per
    table; elsewhere a statement per table."""
    parts = [part for part in parts if part is not None and part.values]
    if not parts:
        return
    db = connections[DEFAULT_DB_ALIAS]
    if db.vendor != "postgresql" or len(parts) == 1:
        for part in parts:
            pks = _insert_rows(part.model, part.values, db)
            if part.objs is not None:
                _saved(part, pks, db)
        return
    shape, params = [], []
    for part in parts:
        # Arrays make one text for any count above UNNEST_FROM: one cached shape for them.
        count = min(len(part.values), UNNEST_FROM + 1)
        shape.append((part.model, count, part.objs is not None))
        if len(part.values) > UNNEST_FROM:
            params += [list(column) for column in zip(*part.values, strict=True)]
        else:
            params += [value for row in part.values for value in row]
    with cursor() as pg_cursor:  # server-side binding: the same text each time, prepared
        pg_cursor.execute(_together_sql(tuple(shape)), params)
        returned = pg_cursor.fetchall()
    pks: dict[int, list] = {k: [] for k in range(len(parts))}
    for k, pk in returned:
        pks[k].append(pk)
    for k, part in enumerate(parts):
        if part.objs is not None:
            _saved(part, pks[k], db)


@cache
def _select_sql(model: type[models.Model]) -> tuple[str, tuple[str, ...]]:
    quote = connection.ops.quote_name
    fields = model._meta.concrete_fields
    columns = ", ".join(quote(f.column) for f in fields)
    return f"SELECT {columns} FROM {quote(model._meta.db_table)}", tuple(f.attname for f in fields)


def select(model: type[models.Model], where: str, params: list) -> list[models.Model]:
    """Instances of `model` whose row matches `where` (SQL, `%s` parameters)."""
    sql, _ = _select_sql(model)
    with cursor(len(params)) as plain:
        plain.execute(f"{sql} WHERE {where}", params)
        rows = plain.fetchall()
    return [_instance(model, row) for row in rows]


def _instance(model: type[models.Model], row) -> models.Model:
    converters = _converters(model, connection.vendor)
    if converters:
        row = list(row)
        for i, column, functions in converters:
            for convert in functions:
                row[i] = convert(row[i], column, connection)
    return model.from_db(connection.alias, _select_sql(model)[1], row)


Query = tuple[type[models.Model], str, list]  # (model, where, params) as for select()


def select_many(queries: list[Query | None]) -> list[list[models.Model]]:
    """`select` for several models in one round trip (PostgreSQL: one UNION ALL, each
    row tagged with its query and padded with typed NULLs to one width); a None query
    finds nothing. For reads that are each a tenth of a millisecond: the round trip and
    the statement's overhead cost more than the read."""
    found: list[list[models.Model]] = [[] for _ in queries]
    asked = [(k, query) for k, query in enumerate(queries) if query is not None]
    if len(asked) < 2 or connection.vendor != "postgresql":
        for k, (model, where, params) in asked:
            found[k] = select(model, where, params)
        return found
    models_ = tuple(model for _, (model, _, _) in asked)
    branches, widths = _union_branches(models_)
    params = [value for _, (_, _, values) in asked for value in values]
    sql = " UNION ALL ".join(
        f"{branch} WHERE {where}"
        for branch, (_, (_, where, _)) in zip(branches, asked, strict=True)
    )
    with cursor(len(params)) as plain:
        plain.execute(sql, params)
        rows = plain.fetchall()
    for row in rows:
        n = row[0]
        start = 1 + sum(widths[:n])
        k, (model, _, _) = asked[n]
        found[k].append(_instance(model, row[start : start + widths[n]]))
    return found


@cache
def _union_branches(models_: tuple) -> tuple[list[str], list[int]]:
    """Per model: `SELECT n, <its columns>, <typed NULLs for the others' columns> FROM it`."""
    quote = connection.ops.quote_name
    table_columns = [
        [(quote(f.column), f.db_type(connection)) for f in m._meta.concrete_fields] for m in models_
    ]
    branches = []
    for n, model in enumerate(models_):
        values = [
            name if m == n else f"NULL::{db_type}"
            for m, model_columns in enumerate(table_columns)
            for name, db_type in model_columns
        ]
        branches.append(f"SELECT {n}, {', '.join(values)} FROM {quote(model._meta.db_table)}")
    return branches, [len(c) for c in table_columns]


@cache
def _converters(model: type[models.Model], vendor: str) -> list:
    """What the ORM would apply to each column read: the backend's (SQLite's datetimes,
    decimals) and the field's own (`from_db_value`)."""
    found = []
    for i, f in enumerate(model._meta.concrete_fields):
        column = f.get_col(model._meta.db_table)
        functions = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
        if functions:
            found.append((i, column, tuple(functions)))
    return found


def in_list(values) -> tuple[str, list]:
    """`IN (%s, ...)` for a collection (never empty: callers skip empty lookups)."""
    values = list(values)
    return "(" + ", ".join(["%s"] * len(values)) + ")", values


@cache
def _history_model(model: type[models.Model]) -> type[models.Model]:
    # `Model.history` builds a manager class on every access; the model behind it is fixed.
    return model.history.model


def history(objs: list[models.Model], *, user=None, date=None, kind: str = "+") -> Rows | None:
    """django-simple-history's rows for saved instances (what `bulk_history_create`
    writes), read straight from the instances."""
    if not objs:
        return None
    model = _history_model(type(objs[0]))
    fields = _insert_fields(model)
    db = connections[DEFAULT_DB_ALIAS]
    preparers = _preparers(fields, db.vendor)
    tracked = {f.attname for f in model.tracked_fields}
    own = {
        "history_date": date,
        "history_user_id": getattr(user, "pk", None),
        "history_change_reason": "",
        "history_type": kind,
    }
    values = []
    for obj in objs:
        row = []
        for field, (attname, _, as_is) in zip(fields, preparers, strict=True):
            value = getattr(obj, attname) if attname in tracked else own.get(attname)
            row.append(value if as_is else field.get_db_prep_save(value, db))
        values.append(row)
    return Rows(model, values)


def insert_history(objs: list[models.Model], *, user=None, date=None, kind: str = "+") -> None:
    """Write `history(objs, ...)` with one statement."""
    insert_together(history(objs, user=user, date=date, kind=kind))
