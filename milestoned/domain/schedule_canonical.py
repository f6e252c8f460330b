"""The canonical JSON of a schedule definition, and the nonce derived from it.

One definition has exactly one canonical JSON text, whatever spelling the admin used (an address or a
key hash for the admin, `token_name_utf8` or hex, ISO or POSIX times, a `.vkey` envelope or hex): hex is
lowercase, times are UTC ISO 8601, keys are sorted, there is no whitespace and the text is UTF-8. For
these documents (only strings, integers, lists and objects with ASCII keys) it equals RFC 8785 (JCS), so
an auditor can recompute it in any language.

Guardians (issue 15) appear only in a schedule that has them (`guardians`: payment key hashes in hex, in
file order; `guardian_threshold`; `state_seed`: `txid#index`, lowercase hex), so every schedule written
before them keeps its canonical text.

When a schedule gives no nonce, its nonce is derived from this text with the nonce left out: the first
16 bytes of blake2b-256 of the canonical JSON. The same definition then always gets the same schedule
id, and two schedules that differ in anything get different ones.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from milestoned.domain.allocation import Allocation
from milestoned.domain.schedule import NONCE_BYTES, ScheduleDefinition
from milestoned.domain.schedule_guardians import format_out_ref
from milestoned.domain.timestamps import format_timestamp

NONCE_DIGEST_BYTES = 32  # blake2b-256, truncated to NONCE_BYTES


def schedule_document(definition: ScheduleDefinition, *, include_nonce: bool = True) -> dict[str, Any]:
    """The definition as a JSON-ready dict in the canonical spelling of every value (file field order)."""
    document: dict[str, Any] = {
        "network": definition.network.value,
        "admin": definition.admin_key_hash.hex(),
        "token": {
            "token_policy_id": definition.token.policy_id.hex(),
            "token_name": definition.token.asset_name.hex(),
        },
        "oracles": [key.hex() for key in definition.oracle_keys],
        "quorum_threshold": definition.quorum,
        "reclaim_deadline": format_timestamp(definition.reclaim_deadline_ms),
    }
    if definition.has_guardians:  # only when present: a schedule without keeps its document (and id)
        document["guardians"] = [key.hex() for key in definition.guardian_keys]
        document["guardian_threshold"] = definition.guardian_threshold
        document["state_seed"] = format_out_ref(definition.guardian_seed)
    if include_nonce:
        document["nonce"] = definition.nonce.hex()
    document["beneficiary_allocations"] = [_allocation_document(a) for a in definition.allocations]
    return document


def _allocation_document(allocation: Allocation) -> dict[str, Any]:
    return {
        "beneficiary_address": allocation.beneficiary_address,
        "token_amount": allocation.token_amount,
        # strict: a definition read from a schedule file always has UTF-8 milestone ids
        "milestone_identifier": allocation.milestone_id.decode("utf-8"),
        "vesting_timestamp": format_timestamp(allocation.vesting_time_ms),
    }


def canonical_json(document: dict[str, Any]) -> bytes:
    """Sorted keys, no whitespace, UTF-8 without escaping non-ASCII: one text per document."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def canonical_schedule_json(definition: ScheduleDefinition) -> bytes:
    """The canonical JSON of the whole definition, nonce included: what registration metadata carries."""
    return canonical_json(schedule_document(definition))


def derive_nonce(definition: ScheduleDefinition) -> bytes:
    """First 16 bytes of blake2b-256 of the canonical JSON of `definition` without its nonce."""
    text = canonical_json(schedule_document(definition, include_nonce=False))
    return hashlib.blake2b(text, digest_size=NONCE_DIGEST_BYTES).digest()[:NONCE_BYTES]


def schedule_to_json(definition: ScheduleDefinition) -> str:
    """The definition as a readable schedule file (2-space indent, file field order), canonical values.

    Reading it back gives an equal definition. It always carries the nonce explicitly (derived or not), so
    reading it back gives the same nonce, and so the same schedule id.
    """
    return json.dumps(schedule_document(definition), indent=2, ensure_ascii=False) + "\n"
