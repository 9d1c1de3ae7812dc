"""The named-query loader: parameters numbered per query, parts included where named."""

from __future__ import annotations

import pytest

from govflow.adapters.db.queries import parse_queries

FILE = """
-- part: picked
-- The rows picked (a shared CTE; :ignored in a comment is not a parameter).
picked AS (
    SELECT id FROM things WHERE id = ANY(:ids::uuid[]) AND kind = :kind
)

-- name: count_picked
WITH
-- include: picked
SELECT count(*) FROM picked WHERE :limit > 0;

-- name: touch_picked
WITH stamp AS (SELECT :at::timestamptz AS at),
-- include: picked
UPDATE things SET touched_at = (SELECT at FROM stamp) WHERE id IN (SELECT id FROM picked);
"""


def test_a_part_is_included_and_its_parameters_numbered_in_each_query() -> None:
    queries = parse_queries(FILE)
    assert sorted(queries) == ["count_picked", "touch_picked"]  # a part is not a query
    counted, touched = queries["count_picked"], queries["touch_picked"]
    assert counted.params == ("ids", "kind", "limit")
    assert touched.params == ("at", "ids", "kind")
    assert "id = ANY($1::uuid[]) AND kind = $2" in counted.sql
    assert "WHERE $3 > 0" in counted.sql
    assert "id = ANY($2::uuid[]) AND kind = $3" in touched.sql
    assert "-- include" not in counted.sql + touched.sql
    assert touched.args({"ids": [], "kind": "k", "at": "t", "other": 1}) == ["t", [], "k"]


def test_an_unknown_part_is_refused() -> None:
    with pytest.raises(ValueError, match="no part 'missing' to include"):
        parse_queries("-- name: q\nWITH\n-- include: missing\nSELECT 1;\n")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("-- name: q\nSELECT 1;\n-- name: q\nSELECT 2;\n", "query 'q' is defined twice"),
        ("-- part: p\nx AS (SELECT 1)\n-- part: p\ny AS (SELECT 2)\n", "part 'p' is defined twice"),
    ],
)
def test_a_name_defined_twice_is_refused(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_queries(text)
