"""Request bodies of ``/departments``; answers are ``DepartmentView``.

The code pattern ends in ``$(?!\\n)``: Python's ``$`` alone also matches before a final newline.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from govflow.usecases.departments import DepartmentChanges, NewDepartment

Code = Annotated[
    str,
    msgspec.Meta(
        min_length=2,
        max_length=64,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$(?!\n)",
        description="Stored in lowercase; unique whatever the case.",
    ),
]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Description = Annotated[str, msgspec.Meta(max_length=2000)]


class DepartmentCreateIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    code: Code
    name: Name
    description: Description = ""

    def to_new(self) -> NewDepartment:
        return NewDepartment(code=self.code, name=self.name, description=self.description)


class DepartmentUpdateIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    code: Code | msgspec.UnsetType = msgspec.UNSET
    name: Name | msgspec.UnsetType = msgspec.UNSET
    description: Description | msgspec.UnsetType = msgspec.UNSET
    is_active: bool | msgspec.UnsetType = msgspec.UNSET

    def to_changes(self) -> DepartmentChanges:
        return DepartmentChanges(
            code=self.code, name=self.name, description=self.description, is_active=self.is_active
        )
