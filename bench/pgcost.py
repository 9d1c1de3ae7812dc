"""What a workload cost PostgreSQL, read from the server's own counters between two snapshots.

* Per statement: ``pg_stat_statements`` (calls, rows, shared blocks hit/read/dirtied/written,
  WAL records/full-page images/bytes), named after the GovFlow query it is (the named queries
  of ``govflow/adapters/db/sql/*.sql`` and a few statements held in Python).
* Per table and index: the deltas of ``pg_stat_user_tables`` (rows inserted, updated, HOT
  updated), ``pg_statio_user_tables`` / ``pg_statio_user_indexes`` (blocks hit + read) and
  ``pg_stat_user_indexes`` (scans).
* Per relation: the WAL records of the range, from ``pg_walinspect``, each record's bytes given
  to the relation of its first block reference, and every block reference counted (and each
  distinct block once: the blocks the range dirtied).

Every statement this module runs starts with the comment ``/* bench-pgcost */``, so that the snapshots leave
themselves out of the per-statement figures. The table statistics are flushed by a backend at
its exit at the latest: the caller takes the second snapshot once every other backend of the
database is gone.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import asyncpg

_TABLES = """/* bench-pgcost */
SELECT relname, n_tup_ins, n_tup_upd, n_tup_hot_upd, n_tup_del,
       coalesce(heap_blks_hit, 0) + coalesce(heap_blks_read, 0) AS heap_blks,
       coalesce(idx_blks_hit, 0) + coalesce(idx_blks_read, 0) AS idx_blks
  FROM pg_stat_user_tables JOIN pg_statio_user_tables USING (relid, schemaname, relname)
"""
_INDEXES = """/* bench-pgcost */
SELECT i.relname AS table, i.indexrelname AS index, i.idx_scan, i.idx_tup_read,
       coalesce(o.idx_blks_hit, 0) + coalesce(o.idx_blks_read, 0) AS idx_blks,
       pg_get_indexdef(i.indexrelid) AS definition
  FROM pg_stat_user_indexes i JOIN pg_statio_user_indexes o USING (indexrelid)
"""
_STATEMENTS = """/* bench-pgcost */
SELECT query, toplevel, calls, rows, shared_blks_hit, shared_blks_read, shared_blks_dirtied,
       shared_blks_written, wal_records, wal_fpi, wal_bytes::int8 AS wal_bytes
  FROM pg_stat_statements
 WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
   AND query NOT LIKE '%bench-pgcost%'
"""
_WAL = """/* bench-pgcost */
SELECT resource_manager, record_type, record_length, fpi_length, block_ref
  FROM pg_get_wal_records_info($1::text::pg_lsn, $2::text::pg_lsn)
"""
_RELATION = """/* bench-pgcost */
SELECT coalesce(pg_filenode_relation(CASE WHEN $1::oid = 1663 THEN 0 ELSE $1::oid END,
                                     $2::oid)::regclass::text, 'filenode ' || $2)
"""
_INSERT_LSN = "/* bench-pgcost */ SELECT pg_current_wal_insert_lsn()::text"
_FLUSH_LSN = "/* bench-pgcost */ SELECT pg_current_wal_flush_lsn()::text"
_BLOCK = re.compile(r"rel (\d+)/(\d+)/(\d+)(?: fork (\w+))? blk (\d+)")

COUNTERS = (
    "calls",
    "rows",
    "shared_blks_hit",
    "shared_blks_read",
    "shared_blks_dirtied",
    "shared_blks_written",
    "wal_records",
    "wal_fpi",
    "wal_bytes",
)


# --- naming statements -------------------------------------------------------------------------


def shape(sql: str) -> str:
    """``sql`` without comments, with every literal and parameter as ``?``, spaces collapsed:
    the same for a statement as sent and as ``pg_stat_statements`` shows it (constants as $n)."""
    sql = re.sub(r"/\*.*?\*/", " ", sql, flags=re.S)
    sql = re.sub(r"--[^\n]*", " ", sql)
    sql = re.sub(r"'(?:[^']|'')*'", "?", sql)
    sql = re.sub(r"\bextract\(\s*\w+\s+from\b", "extract(? from", sql, flags=re.I)
    sql = re.sub(r"\$\d+", "?", sql)
    sql = re.sub(r"-?\b\d+(?:\.\d+)?\b", "?", sql)
    sql = re.sub(r"\b(?:true|false|null)\b", "?", sql, flags=re.I)
    return " ".join(sql.split()).lower().rstrip("; ")


def known_statements() -> dict[str, str]:
    """The shape of every statement GovFlow's hot path sends, to its name."""
    from govflow.adapters.db import audit, executions
    from govflow.adapters.db.queries import parse_queries

    named: dict[str, str] = {}
    folder = resources.files("govflow.adapters.db").joinpath("sql")
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".sql"):
            stem = entry.name.removesuffix(".sql")
            for name, query in parse_queries(entry.read_text("utf-8")).items():
                named.setdefault(shape(query.sql), f"{stem}.{name}")
    named.setdefault(shape(executions._CURRENT), "executions.current_workflow")
    named.setdefault(shape(audit._INSERT), "audit.append")
    return named


_KEY_CHECK = re.compile(r'^SELECT \$\d+ FROM ONLY "\w+"\."(\w+)" x WHERE')


def statement_name(query: str, named: dict[str, str]) -> str:
    found = named.get(shape(query))
    if found:
        return found
    check = _KEY_CHECK.match(query)
    if check:  # the query PostgreSQL runs for a foreign key (ri_triggers.c)
        return f"foreign-key check on {check.group(1)}"
    text = " ".join(re.sub(r"--[^\n]*", " ", query).split())
    return text[:70] + ("..." if len(text) > 70 else "")


# --- snapshots ---------------------------------------------------------------------------------


@dataclass
class Snapshot:
    lsn: str
    tables: dict[str, dict[str, int]]
    indexes: dict[str, dict[str, Any]]


async def snapshot(conn: asyncpg.Connection, *, flushed: bool = False) -> Snapshot:
    """The table and index counters now, and the WAL position (inserted; ``flushed``: the
    position written to disk, the end a range can be read to)."""
    lsn = await conn.fetchval(_FLUSH_LSN if flushed else _INSERT_LSN)
    tables = {r["relname"]: dict(r) for r in await conn.fetch(_TABLES)}
    indexes = {r["index"]: dict(r) for r in await conn.fetch(_INDEXES)}
    return Snapshot(lsn=lsn, tables=tables, indexes=indexes)


async def reset_statements(conn: asyncpg.Connection) -> None:
    await conn.execute("/* bench-pgcost */ SELECT pg_stat_statements_reset()")


# --- the figures -------------------------------------------------------------------------------


@dataclass
class Cost:
    statements: list[dict[str, Any]] = field(default_factory=list)
    tables: dict[str, dict[str, int]] = field(default_factory=dict)
    indexes: dict[str, dict[str, Any]] = field(default_factory=dict)
    wal: dict[str, dict[str, Any]] = field(default_factory=dict)
    wal_available: bool = False


async def statements(conn: asyncpg.Connection) -> list[dict[str, Any]]:
    """The statements run since the reset, named, with their counters summed per name. A
    statement run inside another (``toplevel`` false: the foreign-key checks) is marked
    ``nested``; its counters are also in the statement that ran it."""
    named = known_statements()
    totals: dict[tuple[str, bool], dict[str, Any]] = {}
    for row in await conn.fetch(_STATEMENTS):
        name = statement_name(row["query"], named)
        nested = not row["toplevel"]
        entry = totals.setdefault(
            (name, nested),
            {"statement": name, "nested": nested, **dict.fromkeys(COUNTERS, 0)},
        )
        for counter in COUNTERS:
            entry[counter] += int(row[counter] or 0)
    return sorted(totals.values(), key=lambda e: (e["nested"], -e["wal_bytes"], e["statement"]))


def table_deltas(before: Snapshot, after: Snapshot) -> dict[str, dict[str, int]]:
    out = {}
    for name, row in after.tables.items():
        old = before.tables.get(name, {})
        delta = {
            k: int(v) - int(old.get(k, 0))
            for k, v in row.items()
            if k != "relname" and v is not None
        }
        if any(delta.values()):
            out[name] = delta
    return out


def index_deltas(before: Snapshot, after: Snapshot) -> dict[str, dict[str, Any]]:
    out = {}
    for name, row in after.indexes.items():
        old = before.indexes.get(name, {})
        out[name] = {
            "table": row["table"],
            "definition": row["definition"],
            **{
                k: int(row[k] or 0) - int(old.get(k) or 0)
                for k in ("idx_scan", "idx_tup_read", "idx_blks")
            },
        }
    return out


async def wal_by_relation(
    conn: asyncpg.Connection, start: str, end: str
) -> dict[str, dict[str, Any]]:
    """WAL of the range by relation: records and bytes (each record to the relation of its first
    block), full-page-image bytes, block references and distinct blocks (every reference), and
    the records and bytes of each record type (``types``).
    Records without a block go under their resource manager and type."""
    names: dict[tuple[int, int], str] = {}
    own_db = await conn.fetchval(
        "/* bench-pgcost */ SELECT oid FROM pg_database WHERE datname = current_database()"
    )
    out: dict[str, dict[str, Any]] = defaultdict(
        lambda: {
            "records": 0,
            "bytes": 0,
            "fpi_bytes": 0,
            "block_refs": 0,
            "blocks": 0,
            "types": defaultdict(lambda: [0, 0]),
        }
    )
    blocks: dict[str, set[tuple[str, int]]] = defaultdict(set)

    async def relation(spc: int, db: int, node: int) -> str:
        if db == 0:
            return "(shared catalog)"
        if db != own_db:
            return "(other database)"
        if (spc, node) not in names:
            names[(spc, node)] = await conn.fetchval(_RELATION, spc, node)
        return names[(spc, node)]

    for row in await conn.fetch(_WAL, start, end):
        refs = _BLOCK.findall(row["block_ref"] or "")
        first = None
        for spc, db, node, fork, blk in refs:
            rel = await relation(int(spc), int(db), int(node))
            first = first or rel
            out[rel]["block_refs"] += 1
            blocks[rel].add((fork or "main", int(blk)))
        owner = first or f"({row['resource_manager']} {row['record_type']})"
        out[owner]["records"] += 1
        out[owner]["bytes"] += int(row["record_length"])
        out[owner]["fpi_bytes"] += int(row["fpi_length"] or 0)
        kind = out[owner]["types"][f"{row['resource_manager']} {row['record_type']}"]
        kind[0] += 1
        kind[1] += int(row["record_length"])
    for rel, seen in blocks.items():
        out[rel]["blocks"] = len(seen)
    for entry in out.values():
        entry["types"] = dict(sorted(entry["types"].items(), key=lambda kv: -kv[1][1]))
    return dict(sorted(out.items(), key=lambda kv: -kv[1]["bytes"]))


async def cost(conn: asyncpg.Connection, before: Snapshot, after: Snapshot) -> Cost:
    result = Cost(
        statements=await statements(conn),
        tables=table_deltas(before, after),
        indexes=index_deltas(before, after),
    )
    if await conn.fetchval(
        "/* bench-pgcost */ SELECT count(*) FROM pg_extension WHERE extname = 'pg_walinspect'"
    ):
        result.wal = await wal_by_relation(conn, before.lsn, after.lsn)
        result.wal_available = True
    return result
