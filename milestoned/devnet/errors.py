"""A refused transaction as Ogmios reports it, shared by the ledger's rule modules."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pycardano import TransactionInput

from milestoned.devnet import encode


@dataclass(frozen=True)
class LedgerError:
    """A rejected transaction, as Ogmios reports it: a JSON-RPC error code, a message and data."""

    code: int
    message: str
    data: Any = None

    def to_json(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


def err(code: int, message: str, data: Any = None) -> LedgerError:
    return LedgerError(code, message, data)


def refs_json(txins: Iterable[TransactionInput]) -> list[Any]:
    return [encode.output_reference(t) for t in txins]
