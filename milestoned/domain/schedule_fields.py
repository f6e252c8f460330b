"""The schedule format's field names, and the words a reader's errors use about them.

What a misspelt or misplaced key probably meant (aliases people reach for, case, a field one level off,
close spellings), how to write a missing one, and the order the errors are listed in (the format's).
Split from `schedule_file` so that the reader holds only the reading; pure.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence

from milestoned.domain.validation_errors import FieldError

TOP_LEVEL_FIELDS = (
    "network",
    "admin",
    "token",
    "oracles",
    "quorum_threshold",
    "reclaim_deadline",
    "guardians",
    "guardian_threshold",
    "state_seed",
    "nonce",
    "beneficiary_allocations",
)
OPTIONAL_TOP_LEVEL_FIELDS = frozenset({"nonce", "guardians", "guardian_threshold", "state_seed"})
TOKEN_FIELDS = ("token_policy_id", "token_name", "token_name_utf8")
ALLOCATION_FIELDS = ("beneficiary_address", "token_amount", "milestone_identifier", "vesting_timestamp")

# Names people reach for that mean one of our fields; difflib alone does not find these.
ALIASES = {
    "quorum": "quorum_threshold",
    "threshold": "quorum_threshold",
    "allocations": "beneficiary_allocations",
    "beneficiaries": "beneficiary_allocations",
    "deadline": "reclaim_deadline",
    "reclaim_time": "reclaim_deadline",
    "oracle_keys": "oracles",
    "oracle_vkeys": "oracles",
    "admin_key_hash": "admin",
    "admin_address": "admin",
    "policy_id": "token_policy_id",
    "asset_name": "token_name",
    "amount": "token_amount",
    "quantity": "token_amount",
    "milestone": "milestone_identifier",
    "milestone_id": "milestone_identifier",
    "vesting": "vesting_timestamp",
    "vesting_time": "vesting_timestamp",
    "unlock_time": "vesting_timestamp",
    "address": "beneficiary_address",
    "guardian_keys": "guardians",
    "pausers": "guardians",
    "guardians_threshold": "guardian_threshold",
    "guardian_quorum": "guardian_threshold",
    "seed": "state_seed",
    "guardian_seed": "state_seed",
    "state_seed_utxo": "state_seed",
    "beneficiary": "beneficiary_address",
}


def document_order(error: FieldError) -> tuple[int, int]:
    """Sort key: the top-level field's place in the format, then the list index (stable otherwise)."""
    match = re.match(r"([a-z_]+)(?:\[(\d+)\])?", error.path)
    if match is None:
        return (-1, -1)
    name, index = match.group(1), match.group(2)
    rank = TOP_LEVEL_FIELDS.index(name) if name in TOP_LEVEL_FIELDS else -1
    return (rank, int(index) if index is not None else -1)


def join_path(path: str, key: object) -> str:
    return f"{path}.{key}" if path else str(key)


def where(path: str) -> str:
    if not path:
        return ""
    if path == "token":
        return ' of "token"'
    return " of an allocation"


def suggestion(key: str, known: Sequence[str]) -> str:
    spelled = key.strip().lower()
    alias = ALIASES.get(spelled)
    if alias in known:
        return f'did you mean "{alias}"?'
    if spelled in known:
        return f'write it in lower case: "{spelled}"'
    field_name = alias or spelled
    if field_name in TOKEN_FIELDS and field_name not in known:
        return f'"{field_name}" belongs inside the "token" object'
    if field_name in ALLOCATION_FIELDS and field_name not in known:
        return f'"{field_name}" belongs inside each entry of "beneficiary_allocations"'
    close = difflib.get_close_matches(spelled, known, n=1, cutoff=0.6)
    if close:
        return f'did you mean "{close[0]}"?'
    return f"remove it; the fields here are {quoted_list(known)}"


def how_to_write(key: str) -> str:
    return {
        "network": 'add "network": one of "mainnet", "preprod", "preview", "devnet"',
        "admin": 'add "admin": the admin\'s payment key hash (56 hex digits) or key address',
        "token": 'add "token": {"token_policy_id": "<56 hex>", "token_name": "<hex>"}',
        "oracles": 'add "oracles": a list of oracle verification keys (hex or .vkey)',
        "quorum_threshold": 'add "quorum_threshold": how many oracles must sign each milestone',
        "reclaim_deadline": 'add "reclaim_deadline": e.g. "2028-01-01T00:00:00Z"',
        "beneficiary_allocations": 'add "beneficiary_allocations": a list of allocations',
        "token_policy_id": 'add "token_policy_id": the token\'s policy id, 56 hex digits',
        "beneficiary_address": 'add "beneficiary_address": the bech32 address that receives the tokens',
        "token_amount": 'add "token_amount": a whole number of token units',
        "milestone_identifier": 'add "milestone_identifier": the milestone\'s id, e.g. "M1-prototype"',
        "vesting_timestamp": 'add "vesting_timestamp": e.g. "2027-03-01T12:00:00Z" or POSIX seconds',
    }.get(key, f'add "{key}"')


def quoted_list(names: Sequence[str]) -> str:
    return ", ".join(f'"{name}"' for name in names)
