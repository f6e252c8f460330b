"""The optional guardians of a schedule file: who may pause its releases, and how many must sign (issue 15).

Why a module of its own: `schedule_file` reads every other field and is at its size limit; this is the
one place that knows how a guardian may be written. A guardian is a PAYMENT KEY HASH (it signs the
transaction body of a pause or resume, as a required signer): in the file it may be the 56-hex key
hash, a key address (its payment part), or the guardian's verification key the way oracles' keys are
written (64 hex digits, a `.vkey` envelope or the path of a `.vkey` file), which is hashed here.

Both fields are optional together: a schedule without `guardians` has no state UTxO and no pause, and its
canonical JSON (so its nonce and schedule id) is exactly what it was before guardians existed. With
guardians, `guardian_threshold` is required, 1 <= threshold <= number of guardians, keys distinct. Pure:
`.vkey` files are read through the caller's `load_key_file` hook.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping

from milestoned.domain.addresses import parse_admin_key_hash
from milestoned.domain.json_types import json_type_name
from milestoned.domain.network import CardanoNetwork
from milestoned.domain.oracle_keys import KeyFileLoader, parse_oracle_key
from milestoned.domain.validation_errors import InputProblem

GUARDIANS_FIELD = "guardians"
THRESHOLD_FIELD = "guardian_threshold"
KEY_HASH_BYTES = 28
_HEX_KEY_HASH = re.compile(r"[0-9a-fA-F]{56}")
_ADDRESS_PREFIXES = ("addr", "addr_test")
_HOW = (
    "give each guardian as its payment key hash (56 hex digits: cardano-cli address key-hash "
    "--payment-verification-key-file guardian.vkey), its key address, or its .vkey (path or content)"
)


def verification_key_hash(key: bytes) -> bytes:
    """The payment key hash of an ed25519 verification key (blake2b-224), what the ledger compares."""
    return hashlib.blake2b(key, digest_size=KEY_HASH_BYTES).digest()


def parse_guardian_key(
    value: object, network: CardanoNetwork | None, *, load_key_file: KeyFileLoader | None = None
) -> bytes:
    """The 28-byte payment key hash `value` names; `InputProblem` says what is wrong with it."""
    if isinstance(value, str) and _HEX_KEY_HASH.fullmatch(value.strip()):
        return bytes.fromhex(value.strip())
    if isinstance(value, str) and value.strip().lower().startswith(_ADDRESS_PREFIXES):
        try:
            return parse_admin_key_hash(value.strip(), network)
        except InputProblem as problem:
            raise InputProblem(problem.problem.replace("the admin", "a guardian"), _HOW) from None
    try:
        return verification_key_hash(parse_oracle_key(value, load_key_file=load_key_file))
    except InputProblem as problem:
        raise InputProblem(problem.problem, _HOW) from None


Add = Callable[[str, str, str], None]


def read_guardians(
    document: Mapping[str, object],
    network: CardanoNetwork | None,
    add: Add,
    load_key_file: KeyFileLoader | None = None,
) -> tuple[tuple[bytes, ...], int] | None:
    """The guardians' key hashes and threshold of a schedule document (`((), 0)` when it names none).

    Every problem goes to `add(path, message, hint)`; None when any was found."""
    has_keys, has_threshold = GUARDIANS_FIELD in document, THRESHOLD_FIELD in document
    if not has_keys and not has_threshold:
        return (), 0
    if not has_keys:
        add(
            GUARDIANS_FIELD,
            f'is missing, but "{THRESHOLD_FIELD}" is given',
            f'add "{GUARDIANS_FIELD}": the guardians\' payment key hashes, or remove "{THRESHOLD_FIELD}" '
            "for a schedule nobody can pause",
        )
        return None
    keys = _read_keys(document[GUARDIANS_FIELD], network, add, load_key_file)
    if not has_threshold:
        add(
            THRESHOLD_FIELD,
            f'is missing, but "{GUARDIANS_FIELD}" are given',
            f'add "{THRESHOLD_FIELD}": how many guardians must sign a pause or resume, e.g. 1',
        )
        return None
    threshold = _read_threshold(document[THRESHOLD_FIELD], document[GUARDIANS_FIELD], add)
    if keys is None or threshold is None:
        return None
    return keys, threshold


def _read_keys(
    value: object, network: CardanoNetwork | None, add: Add, load_key_file: KeyFileLoader | None
) -> tuple[bytes, ...] | None:
    if not isinstance(value, list | tuple):
        add(GUARDIANS_FIELD, f"must be a list of guardian keys, got {json_type_name(value)}", _HOW)
        return None
    if not value:
        add(
            GUARDIANS_FIELD,
            "is empty: a schedule with guardians needs at least one",
            f'list at least one guardian, or remove "{GUARDIANS_FIELD}" and "{THRESHOLD_FIELD}"',
        )
        return None
    keys: list[bytes] = []
    first_index: dict[bytes, int] = {}
    ok = True
    for index, item in enumerate(value):
        path = f"{GUARDIANS_FIELD}[{index}]"
        try:
            key = parse_guardian_key(item, network, load_key_file=load_key_file)
        except InputProblem as problem:
            add(path, problem.problem, problem.hint)
            ok = False
            continue
        if key in first_index:
            add(
                path,
                f"is the same key as {GUARDIANS_FIELD}[{first_index[key]}] (key hash {key.hex()})",
                "each guardian must be a different key (one listed twice would count twice toward the "
                "threshold): remove the copy or put in the missing guardian's key",
            )
            ok = False
            continue
        first_index[key] = index
        keys.append(key)
    return tuple(keys) if ok else None


def _read_threshold(value: object, keys: object, add: Add) -> int | None:
    count = len(keys) if isinstance(keys, list | tuple) else None
    hint = f"set it between 1 and the number of guardians ({count})" if count else "write e.g. 1"
    if isinstance(value, bool) or not isinstance(value, int):
        add(THRESHOLD_FIELD, f"must be a whole number of guardians, got {json_type_name(value)}", hint)
        return None
    if value < 1:
        add(THRESHOLD_FIELD, f"must be at least 1, got {value}: anyone could then pause the schedule", hint)
        return None
    if count and value > count:
        add(
            THRESHOLD_FIELD,
            f"is {value} but there {'is only 1 guardian' if count == 1 else f'are only {count} guardians'}: "
            "the schedule could never be paused, nor its state created",
            f"lower it to at most {count}, or add guardians",
        )
        return None
    return value
