"""Request body of ``POST /audit-logs``; answers are ``AuditLogView``.

The action pattern ends in ``$(?!\\n)``: Python's ``$`` alone also matches before a final newline.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import msgspec

from govflow.usecases.audit_logs import ManualEntry

Action = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[A-Z][A-Z0-9_]{2,99}$(?!\n)",
        description="MANUAL_<NAME>: other names are reserved for the entries GovFlow writes.",
    ),
]
EntityType = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
EntityId = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Reason = Annotated[str, msgspec.Meta(min_length=3, max_length=2000)]


class AuditLogCreateIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    action: Action
    entity_type: EntityType
    entity_id: EntityId
    reason: Reason
    metadata: dict[str, Any] = msgspec.field(default_factory=dict)
    department_id: UUID | None = None

    def to_entry(self) -> ManualEntry:
        return ManualEntry(
            action=self.action,
            entity_type=self.entity_type,
            entity_id=self.entity_id,
            reason=self.reason,
            metadata=self.metadata,
            department_id=self.department_id,
        )
