"""The ORM's two commonest calls, without building the SQL each time: for hot paths.

A capture writes a row into a dozen tables. `bulk_create` and a filtered queryset spend
about half a millisecond of CPU each assembling the same statements again (measured by
bench/bench_orders.py); under load that CPU is what limits orders per second. These
helpers keep one statement text per model (and row count), take values through each
field's own `pre_save`/`get_db_prep_save`, so types, defaults and `auto_now` behave as
with the ORM, and hand back ordinary model instances. Signals are not sent, as with
`bulk_create`.
"""

from functools import cache

from django.db import connection, models


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


def insert(objs: list[models.Model]) -> None:
    """INSERT unsaved instances of one model (no auto pk set) with one statement, and set
    their pks, as `bulk_create` does on PostgreSQL and SQLite."""
    if not objs:
        return
    model = type(objs[0])
    fields = _insert_fields(model)
    params = []
    for obj in objs:
        for field in fields:
            params.append(field.get_db_prep_save(field.pre_save(obj, True), connection))
    with connection.cursor() as cursor:
        cursor.execute(_insert_sql(model, len(objs)), params)
        pks = [row[0] for row in cursor.fetchall()]
    for obj, pk in zip(objs, pks, strict=True):
        obj.pk = pk
        obj._state.adding = False
        obj._state.db = connection.alias


@cache
def _select_sql(model: type[models.Model]) -> tuple[str, tuple[str, ...]]:
    quote = connection.ops.quote_name
    fields = model._meta.concrete_fields
    columns = ", ".join(quote(f.column) for f in fields)
    return f"SELECT {columns} FROM {quote(model._meta.db_table)}", tuple(f.attname for f in fields)


def select(model: type[models.Model], where: str, params: list) -> list[models.Model]:
    """Instances of `model` whose row matches `where` (SQL, `%s` parameters)."""
    sql, names = _select_sql(model)
    with connection.cursor() as cursor:
        cursor.execute(f"{sql} WHERE {where}", params)
        rows = cursor.fetchall()
    converters = [
        (i, f.from_db_value)
        for i, f in enumerate(model._meta.concrete_fields)
        if hasattr(f, "from_db_value")
    ]
    instances = []
    for row in rows:
        if converters:
            row = list(row)
            for i, convert in converters:
                row[i] = convert(row[i], None, connection)
        instances.append(model.from_db(connection.alias, names, row))
    return instances


def in_list(values) -> tuple[str, list]:
    """`IN (%s, ...)` for a collection (never empty: callers skip empty lookups)."""
    values = list(values)
    return "(" + ", ".join(["%s"] * len(values)) + ")", values


@cache
def _history_model(model: type[models.Model]) -> type[models.Model]:
    # `Model.history` builds a manager class on every access; the model behind it is fixed.
    return model.history.model


def insert_history(objs: list[models.Model], *, user=None, date=None, kind: str = "+") -> None:
    """django-simple-history's rows for saved instances (what `bulk_history_create` writes),
    with one `insert`."""
    if not objs:
        return
    history = _history_model(type(objs[0]))
    names = [field.attname for field in history.tracked_fields]
    insert(
        [
            history(
                history_date=date,
                history_user_id=getattr(user, "pk", None),
                history_change_reason="",
                history_type=kind,
                **{name: getattr(obj, name) for name in names},
            )
            for obj in objs
        ]
    )
