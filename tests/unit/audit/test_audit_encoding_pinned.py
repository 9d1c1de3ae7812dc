"""The audit chain's bytes, pinned: every seal already written was hashed over this exact
encoding, so any change to it (separators, escaping, time format, the row separator) must be a
new ``SCHEME``, never a silent edit."""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime, timedelta, timezone
from uuid import UUID

import pytest

from govflow.core.audit_chain import SCHEME, canonical_row, chain_hash

ACTOR = UUID("0192a3b4-c5d6-7e8f-9a0b-1c2d3e4f5a6b")
ZURICH_WINTER = timezone(timedelta(hours=1))

ROW = (
    7,
    datetime(2030, 1, 2, 4, 5, 6, 789, tzinfo=ZURICH_WINTER),
    "USER_UPDATED",
    ACTOR,
    "zoë@example.org",
    "user",
    "42",
    None,
    None,
    "Änderung",
    '{"a": 1}',
)

ROW_BYTES = (
    '[7,"2030-01-02T03:05:06.000789Z","USER_UPDATED","0192a3b4-c5d6-7e8f-9a0b-1c2d3e4f5a6b",'
    '"zoë@example.org","user","42",null,null,"Änderung","{\\"a\\": 1}"]'
).encode()


def test_a_row_is_compact_json_in_utc_with_text_unescaped() -> None:
    assert canonical_row(ROW) == ROW_BYTES


def test_the_chain_hash_is_sha256_of_scheme_previous_and_rows_one_per_line() -> None:
    previous = "ab" * 32
    expected = hashlib.sha256(
        f"{SCHEME}\n{previous}".encode() + b"\n" + ROW_BYTES + b"\n" + ROW_BYTES
    ).hexdigest()
    assert chain_hash(previous, [ROW, ROW]) == expected


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        (True, TypeError, "booleans are not audit values"),
        (datetime(2030, 1, 1), ValueError, "audit timestamps must carry a time zone"),
        (1.5, TypeError, "no canonical encoding for float"),
    ],
)
def test_values_without_a_canonical_form_are_refused(
    value: object, error: type[Exception], message: str
) -> None:
    row: list[object] = list(ROW)
    row[9] = value
    with pytest.raises(error) as caught:
        canonical_row(row)
    assert str(caught.value) == message


def test_utc_rows_are_written_with_a_z() -> None:
    row: list[object] = list(ROW)
    row[1] = datetime(2030, 1, 2, 3, 5, 6, 789, tzinfo=UTC)
    assert canonical_row(row) == ROW_BYTES


def test_the_encoding_does_not_depend_on_the_machines_time_zone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TZ", "America/Sao_Paulo")
    time.tzset()
    try:
        assert canonical_row(ROW) == ROW_BYTES
    finally:
        monkeypatch.undo()
        time.tzset()
