"""Problems found in a workflow file, each pinned to a file position and a spec path.

Error tree::

    SpecError      a workflow file was rejected; carries every SpecProblem found
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec


class SpecProblem(msgspec.Struct, frozen=True, kw_only=True):
    """One problem in a workflow file.

    :ivar file: the file name as given to the loader.
    :ivar line: 1-based line of the YAML node the problem is about.
    :ivar col: 1-based column of that node.
    :ivar path: the spec path, e.g. ``steps[2].with.issue``; ``$`` is the whole document.
    :ivar message: what is wrong, in words an author understands.
    """

    file: str
    line: int
    col: int
    path: str
    message: str

    def format(self) -> str:
        """``file:line:col: path: message``."""
        return f"{self.file}:{self.line}:{self.col}: {self.path}: {self.message}"


class SpecError(Exception):
    """The workflow file is not a valid workflow."""

    def __init__(self, problems: Iterable[SpecProblem]) -> None:
        self.problems: list[SpecProblem] = sorted(
            problems, key=lambda p: (p.file, p.line, p.col, p.path, p.message)
        )
        super().__init__(self.format())

    def format(self) -> str:
        """Every problem on its own line."""
        if not self.problems:
            return (self.__doc__ or "").strip()
        return "\n".join(problem.format() for problem in self.problems)
