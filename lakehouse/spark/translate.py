"""DuckDB view SQL -> Spark SQL, mechanically, with sqlglot.

The ``.sql`` files under ``lakehouse/views`` and ``learning/views`` are the one source of truth;
this module never keeps a second copy of a view. sqlglot parses each file as DuckDB and writes it
as Spark SQL; the few constructs whose generic translation is wrong or missing are fixed here by
small AST transforms, each with the reason:

* ``CREATE VIEW`` -> ``CREATE TEMPORARY VIEW`` (a session's views, no metastore needed);
* ``list(x ORDER BY k)`` -> ``transform(array_sort(collect_list(struct(k, x))), s -> s.x)``
  (Spark's ``collect_list`` has no ORDER BY; NULLs dropped as DuckDB's list() does not, see below);
* QUALIFY is kept (Spark SQL 4 has it; sqlglot's generic rewrite would add a column);
* ``len(list)`` -> ``size``, ``quantile_cont`` -> ``percentile``, ``json_array_length(j, path)``
  -> ``json_array_length(get_json_object(j, path))``; ``regexp_replace`` must carry DuckDB's 'g' flag
  (without it DuckDB replaces only the first match, which Spark cannot say);
* ``JOIN ... USING`` -> ``ON`` where Spark's column order of ``*`` would differ from DuckDB's;
* ``to_seconds(x)`` -> ``make_interval(0, 0, 0, 0, 0, 0, x)``;
* ``from_json(j, '["JSON"]')`` -> ``from_json(j, 'array<string>')`` (a list of JSON texts).

Anything sqlglot cannot express raises :class:`TranslationError` naming the view file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlglot
from sqlglot import exp, transforms
from sqlglot.dialects.spark import Spark


class TranslationError(Exception):
    """A view file that could not be translated to Spark SQL (the message names the file)."""


def _ordered_list(node: exp.Expression) -> exp.Expression:
    """DuckDB ``list(x ORDER BY k1, k2) [FILTER (WHERE c)]`` -> Spark.

    Spark's ``collect_list`` has no ORDER BY and drops NULL elements (DuckDB's list() keeps
    them): each element is wrapped in a struct with the sort keys (never NULL), the structs are
    sorted, then unwrapped. A FILTER clause stays on the aggregate itself."""
    where = None
    agg = node
    if isinstance(node, exp.Filter) and isinstance(node.this, exp.ArrayAgg):
        where = node.expression
        agg = node.this
    elif not isinstance(node, exp.ArrayAgg) or isinstance(node.parent, exp.Filter):
        return node
    inner = agg.this
    order = None
    if isinstance(inner, exp.Order):
        order = inner
        inner = inner.this
    distinct = False
    if isinstance(inner, exp.Distinct):
        distinct = True
        inner = inner.expressions[0]

    def aggregate(func: str, arg: exp.Expression) -> exp.Expression:
        call = exp.func(func, arg)
        return exp.Filter(this=call, expression=where.copy()) if where is not None else call

    if distinct:
        # list(DISTINCT x [ORDER BY x]): the sorted distinct set (NULL is never a distinct value here)
        if order is not None and (len(order.expressions) != 1 or order.expressions[0].this != inner):
            raise TranslationError("list(DISTINCT x ORDER BY y) with y other than x has no translation")
        if order is not None and order.expressions[0].args.get("desc"):
            raise TranslationError("list(DISTINCT x ORDER BY x DESC) has no translation yet")
        return exp.func("array_sort", aggregate("collect_set", inner.copy()))
    keys = []
    for i, ordered in enumerate(order.expressions if order is not None else []):
        if not isinstance(ordered, exp.Ordered) or ordered.args.get("desc"):
            raise TranslationError("list(... ORDER BY ... DESC) has no translation yet")
        keys.append(exp.alias_(ordered.this.copy(), f"k{i}"))
    struct = exp.func("struct", *keys, exp.alias_(inner.copy(), "v"))
    collected = aggregate("collect_list", struct)
    if keys:
        collected = exp.func("array_sort", collected)
    return _unwrap(collected)


def _unwrap(collected: exp.Expression) -> exp.Expression:
    """``transform(collected, s -> s.v)``"""
    lam = sqlglot.parse_one("transform(x, s -> s.v)", read="spark").expression
    return exp.Transform(this=collected, expression=lam)


def _fix_functions(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Anonymous):
        name = node.name.lower()
        if name == "to_seconds" and len(node.expressions) == 1:
            # DuckDB to_seconds(x) is an INTERVAL of x seconds
            zeros = [exp.Literal.number(0)] * 6
            return exp.func("make_interval", *zeros, exp.cast(node.expressions[0].copy(), "decimal(18,6)"))
        if name == "json_array_length" and len(node.expressions) == 2:
            # DuckDB json_array_length(json, path); Spark takes the array's JSON text only
            return exp.func("json_array_length", exp.func("get_json_object", *[e.copy() for e in node.expressions]))
    if isinstance(node, exp.Length):
        # The views call len() on lists only (DuckDB len = list length); Spark's is size()
        # (with spark.sql.legacy.sizeOfNull=false so size(NULL) is NULL, as in DuckDB).
        return exp.func("size", node.this.copy())
    if isinstance(node, exp.PercentileCont) and not isinstance(node.parent, exp.WithinGroup):
        # quantile_cont(x, q): linear interpolation between closest ranks = Spark percentile()
        return exp.func("percentile", node.this.copy(), node.expression.copy())
    if isinstance(node, exp.RegexpReplace):
        modifiers = node.args.get("modifiers")
        flags = modifiers.this if isinstance(modifiers, exp.Literal) else ""
        if "g" not in flags:
            # DuckDB replaces only the first match without 'g'; Spark always replaces all
            raise TranslationError("regexp_replace without the 'g' flag has no Spark translation")
        if set(flags) - {"g"}:
            raise TranslationError(f"regexp_replace flags {flags!r} have no Spark translation")
    return node


def _from_json_lists(node: exp.Expression) -> exp.Expression:
    """``from_json(j, '["JSON"]')`` (DuckDB: a list of JSON values) -> Spark ``array<string>``
    (Spark keeps each element's JSON text)."""
    if isinstance(node, exp.FromJson):
        schema = node.expression
        if isinstance(schema, exp.Literal) and schema.this.replace(" ", "") == '["JSON"]':
            return exp.FromJson(this=node.this.copy(), expression=exp.Literal.string("array<string>"))
        raise TranslationError(f"from_json with structure {schema.sql()} has no translation yet")
    return node


def _using_to_on(node: exp.Expression) -> exp.Expression:
    """``JOIN t USING (k)`` -> ``JOIN t ON l.k = t.k`` where the star's column order would differ.

    Spark puts USING columns first in ``*``; DuckDB keeps the left side's order. A SEMI/ANTI join
    outputs only the left side, so ON is always equivalent there; for other joins only when the
    SELECT has no unqualified ``*`` (which would then show the key twice)."""
    if not isinstance(node, exp.Select):
        return node
    joins = node.args.get("joins") or []
    source = node.args.get("from_") or node.args.get("from")
    if not joins or source is None:
        return node
    plain_star = any(isinstance(e, exp.Star) for e in node.expressions)
    left = source.this.alias_or_name
    for join in joins:
        using = join.args.get("using")
        if not using or len(joins) > 1:
            continue
        kind = (join.args.get("kind") or "").upper()
        if plain_star and kind not in ("SEMI", "ANTI"):
            continue
        right = join.this.alias_or_name
        if not left or not right:
            continue
        cond = None
        for ident in using:
            name = ident.name
            eq = exp.EQ(this=exp.column(name, table=left), expression=exp.column(name, table=right))
            cond = eq if cond is None else exp.and_(cond, eq)
        join.set("using", None)
        join.set("on", cond)
    return node


class SparkQualify(Spark):
    """sqlglot's Spark dialect, minus its rewrite of QUALIFY into a subquery: Spark SQL 4 runs
    QUALIFY itself, and the rewrite adds a window column that breaks ``SELECT *`` in a UNION."""

    class Generator(Spark.Generator):
        TRANSFORMS = {
            **Spark.Generator.TRANSFORMS,
            exp.Select: transforms.preprocess([
                transforms.eliminate_distinct_on,
                transforms.unnest_to_explode,
                transforms.any_to_exists,
            ]),
        }


def translate_statement(statement: exp.Expression) -> str:
    if isinstance(statement, exp.Create) and statement.args.get("kind", "").upper() == "VIEW":
        statement.set("properties", exp.Properties(expressions=[exp.TemporaryProperty()]))
    statement = statement.transform(_ordered_list)
    statement = statement.transform(_fix_functions)
    statement = statement.transform(_from_json_lists)
    statement = statement.transform(_using_to_on)
    return SparkQualify().generate(statement, unsupported_level=sqlglot.ErrorLevel.RAISE)


def translate_sql(sql: str, where: str = "<sql>") -> list[str]:
    """Every statement of a DuckDB SQL text as Spark SQL."""
    try:
        statements = [s for s in sqlglot.parse(sql, read="duckdb") if s is not None]
        return [translate_statement(s) for s in statements]
    except TranslationError as exc:
        raise TranslationError(f"{where}: {exc}") from None
    except sqlglot.errors.SqlglotError as exc:
        raise TranslationError(f"{where}: {str(exc).splitlines()[0]}") from None


def translate_file(path: Path) -> list[str]:
    return translate_sql(Path(path).read_text(encoding="utf-8"), str(path))


def debug_dump(paths: list[Path]) -> dict[str, Any]:
    """File name -> translated statements (or the error): for ``hooklake analytics --engine spark --explain``."""
    out: dict[str, Any] = {}
    for p in paths:
        try:
            out[p.name] = translate_file(p)
        except TranslationError as exc:
            out[p.name] = {"error": str(exc)}
    return out
