"""Hot-path queries compiled once per database connection and run with each call's values.

The ORM builds and compiles a query anew on every call. For the queries every editor request
makes (the token that authenticates it, the image it opens joined to the user's membership, the
document's rows, the project's classes) that was 1.2-1.4 M of the ~20 M instructions of a
200-mask document GET (callgrind, in process) and more of a save's, all compiling, none database. A PreparedQuery builds its queryset once per connection with
marker values standing in for the real ones, compiles it, records where each marker lands among
the SQL's parameters, and from then on runs that SQL with the call's values: the rows as the
driver hands them over (`rows`) or model instances built as Django's ModelIterable builds them
(`instances`: select_related objects and annotations included, the fields' converters applied).

The queryset's shape must not depend on the values (a boolean that changes the SQL, like a
document's ground-truth flag, is part of the key instead: one PreparedQuery per shape). Markers
must reach the parameters as given; one that does not (a lookup that rewrites its value, such as
icontains) is refused when the query is prepared. A connection is one thread's (Django's
connections are per thread), so a prepared compiler is never shared between threads.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from django.db import connections
from django.db.models import Model, QuerySet
from django.db.models.query import get_related_populators


@dataclass(frozen=True)
class _Compiled:
    compiler: Any  # the SQLCompiler of the marker query: its select, klass_info and converters
    sql: str
    slots: tuple[int | None, ...]  # per SQL parameter: the index of the value it takes, or None
    constants: tuple[Any, ...]  # per SQL parameter: the compiled value, kept where the slot is None

    def params(self, values: Sequence[Any]) -> list[Any]:
        return [self.constants[i] if slot is None else values[slot] for i, slot in enumerate(self.slots)]


class PreparedQuery:
    """`build(*values)` -> the queryset; `markers`: one value per argument, unlike any constant
    of the query (e.g. negative ids, or a string no token has)."""

    def __init__(self, build: Callable[..., QuerySet], *markers: Any):
        self.build, self.markers = build, markers
        self._compiled: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def _for(self, using: str) -> _Compiled:
        connection = connections[using]
        compiled = self._compiled.get(connection)
        if compiled is None:
            compiler = self.build(*self.markers).query.get_compiler(using=using)
            sql, params = compiler.as_sql()
            slots = tuple(next((i for i, m in enumerate(self.markers) if type(p) is type(m) and p == m), None) for p in params)
            missing = [m for i, m in enumerate(self.markers) if i not in slots]
            if missing:
                raise ValueError(f"the marker value(s) {missing!r} are not among the compiled query's parameters {params!r}")
            compiled = _Compiled(compiler, sql, slots, tuple(params))
            self._compiled[connection] = compiled
        return compiled

    def rows(self, *values: Any, using: str = "default") -> list[tuple]:
        """The query's rows as the database driver hands them over (no converters)."""
        compiled = self._for(using)
        with compiled.compiler.connection.cursor() as cursor:
            cursor.execute(compiled.sql, compiled.params(values))
            return cursor.fetchall()

    def instances(self, *values: Any, using: str = "default") -> list[Model]:
        """The model instances the queryset would give for these values."""
        compiled = self._for(using)
        compiler = compiled.compiler
        rows = self.rows(*values, using=using)
        if compiler.has_extra_select:
            rows = [row[: compiler.col_count] for row in rows]
        select, klass_info, annotations = compiler.select, compiler.klass_info, compiler.annotation_col_map
        model, fields = klass_info["model"], klass_info["select_fields"]
        start, end = fields[0], fields[-1] + 1
        names = [f[0].target.attname for f in select[start:end]]
        populators = get_related_populators(klass_info, select, using)
        out = []
        for row in compiler.results_iter([rows]):
            obj = model.from_db(using, names, row[start:end])
            for populator in populators:
                populator.populate(row, obj)
            for name, position in (annotations or {}).items():
                setattr(obj, name, row[position])
            out.append(obj)
        return out
