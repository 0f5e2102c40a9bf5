"""The workers' bookkeeping: a count and a checksum of live ids, and operations the chaos hid."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final
from uuid import UUID

from projectmanagement_core.models import (
    CreateWorkItemRequest,
)

_CHECKSUM_MODULUS: Final = 2**128


@dataclass
class Ledger:
    """What the workers know, in memory that does not grow with the run.

    Instead of the set of live ids, a count and a checksum (the sum of the ids' 128-bit values):
    a lost, duplicated or foreign item changes one or the other, and the soak's memory figure
    measures the client, not this bookkeeping. Operations whose outcome the chaos hid wait per
    worker until re-sent: a create with its original message_id (the server de-duplicates it), a
    delete again (NOT_FOUND then means the lost attempt had applied).
    """

    items: int = 0
    checksum: int = 0
    unknown_creates: dict[int, list[tuple[str, CreateWorkItemRequest]]] = field(default_factory=dict)
    unknown_deletes: dict[int, list[UUID]] = field(default_factory=dict)

    def created(self, item_id: UUID) -> None:
        self.items += 1
        self.checksum = (self.checksum + item_id.int) % _CHECKSUM_MODULUS

    def deleted(self, item_id: UUID) -> None:
        self.items -= 1
        self.checksum = (self.checksum - item_id.int) % _CHECKSUM_MODULUS


def checksum_of(item_ids: Iterable[UUID]) -> int:
    """The ledger's checksum of a set of ids."""
    return sum(item_id.int for item_id in item_ids) % _CHECKSUM_MODULUS
