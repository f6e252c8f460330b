"""The optional guardians of a schedule file: who may pause its releases, and how many must sign (issue 15).

Why a module of its own: `schedule_file` reads every other field and is at its size limit; this is the
one place that knows how a guardian may be written. A guardian is a PAYMENT KEY HASH (it signs the
transaction body of a pause or resume, as a required signer): in the file it may be the 56-hex key
hash, a key address (its payment part), or the guardian's verification key the way oracles' keys are
written (64 hex digits, a `.vkey` envelope or the path of a `.vkey` file), which is hashed here.

The fields are optional together: a schedule without `guardians` has no state UTxO and no pause, and its
canonical JSON (so its nonce and schedule id) is exactly what it was before guardians existed. With
guardians, `guardian_threshold` is required, 1 <= threshold <= number of guardians, keys distinct, and so
is `state_seed`: the UTxO (`txid#index`) the state's creation spends, which makes the state token unique
on chain (a UTxO is spent once). It is a policy parameter, so the schedule id commits to it; the admin
picks one of the registering wallet's UTxOs (`milestonectl schedule seed`). Pure: `.vkey` files are read
through the caller's `load_key_file` hook.
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
SEED_FIELD = "state_seed"
MAX_OUTPUT_INDEX = 65_535  # the ledger's output indices are 16-bit
_OUT_REF = re.compile(r"([0-9a-fA-F]{64})#(\d{1,5})")
SEED_HOW = (
    "name an unspent output of the wallet that pays the registration (the admin's), written "
    '"<64 hex transaction id>#<output index>": `milestonectl schedule seed FILE --admin-address ADDR` '
    "writes a suitable one into the file (or pick one from `cardano-cli query utxo --address ADDR`); "
    "the state's creation spends it, and the schedule id depends on it"
)
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


def format_out_ref(out_ref: tuple[bytes, int]) -> str:
    """`txid#index` (lowercase hex), how cardano-cli and the schedule file write a UTxO."""
    return f"{out_ref[0].hex()}#{out_ref[1]}"


def parse_out_ref(value: object) -> tuple[bytes, int]:
    """The (transaction id, output index) `value` ("txid#index") names; `InputProblem` says what is wrong."""
    if not isinstance(value, str):
        raise InputProblem(f'must be a UTxO written "txid#index", got {json_type_name(value)}', SEED_HOW)
    match = _OUT_REF.fullmatch(value.strip())
    if match is None:
        raise InputProblem(
            f'must be a UTxO written "<64 hex transaction id>#<output index>", got {value!r}', SEED_HOW
        )
    index = int(match.group(2))
    if index > MAX_OUTPUT_INDEX:
        raise InputProblem(f"has output index {index}, above the ledger's {MAX_OUTPUT_INDEX}", SEED_HOW)
    return bytes.fromhex(match.group(1)), index


Add = Callable[[str, str, str], None]
Guardians = tuple[tuple[bytes, ...], int, tuple[bytes, int]]
NO_GUARDIANS: Guardians = ((), 0, (b"", 0))


def read_guardians(
    document: Mapping[str, object],
    network: CardanoNetwork | None,
    add: Add,
    load_key_file: KeyFileLoader | None = None,
) -> Guardians | None:
    """The guardians' key hashes, threshold and state seed of a schedule document (`NO_GUARDIANS` when it
    names none).

    Every problem goes to `add(path, message, hint)`; None when any was found."""
    has_keys, has_threshold = GUARDIANS_FIELD in document, THRESHOLD_FIELD in document
    seed = _read_seed(document, has_keys, has_keys or has_threshold, add)
    if not has_keys and not has_threshold:
        return NO_GUARDIANS if SEED_FIELD not in document else None
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
    if keys is None or threshold is None or seed is None:
        return None
    return keys, threshold, seed


def _read_seed(
    document: Mapping[str, object], required: bool, guarded: bool, add: Add
) -> tuple[bytes, int] | None:
    """The state seed: required with guardians, refused without them (or their threshold)."""
    if SEED_FIELD not in document:
        if required:
            add(SEED_FIELD, f'is missing, but "{GUARDIANS_FIELD}" are given', SEED_HOW)
        return None
    if not guarded:
        add(
            SEED_FIELD,
            "is given but the schedule has no guardians: only a guarded schedule has a state to create",
            f'remove "{SEED_FIELD}", or add "{GUARDIANS_FIELD}" and "{THRESHOLD_FIELD}"',
        )
        return None
    try:
        return parse_out_ref(document[SEED_FIELD])
    except InputProblem as problem:
        add(SEED_FIELD, problem.problem, problem.hint)
        return None


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
