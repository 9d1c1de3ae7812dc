"""The audit anchor: every seal head, appended to a file outside PostgreSQL.

One JSON object per line (a :class:`SealHead`, MAC included), written with ``O_APPEND`` and
flushed to disk (``fsync``) before the sealer moves on. Whoever rewrites the database cannot
rewrite these lines without the key, and removing the newest seals from the database leaves
their heads here. Writers take an exclusive ``flock`` on a sibling ``.lock`` file.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import msgspec

from govflow.core.audit_chain import SealHead
from govflow.core.audit_verification import AnchorView

_decode = msgspec.json.Decoder(SealHead)
_encode = msgspec.json.Encoder()


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class AnchorFile:
    """The append-only file of seal heads at ``path``."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def lock_path(self) -> Path:
        return self.path.with_name(self.path.name + ".lock")

    def read(self) -> AnchorView:
        """The anchored heads in file order; unreadable lines are reported by number."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return AnchorView(present=False)
        heads: list[SealHead] = []
        unreadable: list[int] = []
        for number, line in enumerate(data.split(b"\n"), start=1):
            if not line.strip():
                continue
            try:
                heads.append(_decode.decode(line))
            except msgspec.DecodeError:
                unreadable.append(number)
        return AnchorView(present=True, heads=heads, unreadable=unreadable)

    def create(self) -> None:
        """Create the file empty, unless it exists, and make its directory entry durable."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
        except FileExistsError:
            return
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        _fsync_dir(self.path.parent)

    def append(self, heads: Sequence[SealHead]) -> None:
        """Append one line per head and flush them to disk before returning."""
        if not heads:
            return
        payload = b"".join(_encode.encode(head) + b"\n" for head in heads)
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND)
        try:
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                payload = b"\n" + payload  # never glue a line onto a torn one
            os.write(fd, payload)
            os.fsync(fd)
        finally:
            os.close(fd)

    @contextlib.contextmanager
    def locked(self) -> Iterator[bool]:
        """Hold the writers' lock; yields ``False`` (holding nothing) when another has it."""
        self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o640)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
