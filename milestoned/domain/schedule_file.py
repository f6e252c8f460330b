"""Reading a schedule file (JSON) into a `ScheduleDefinition`, reporting every mistake at once.

The reader is written for an admin who typed the file by hand: each field is read on its own, so one
bad value never hides another; every problem becomes a `FieldError` with the field's path, what is wrong
and how to fix it; checks across fields (quorum against the oracles, the reclaim deadline against the
vesting times, duplicates) run whenever the fields they need could be read. Only when nothing is wrong
does it return a definition, otherwise it raises one `ScheduleValidationError` holding them all.

The format itself is documented in docs/schedule-format.md. Decoding the JSON text is
`schedule_json`'s, the field names and the words of the hints `schedule_fields`'. Pure: key files named
in the document are read through the `load_key_file` hook the caller passes in.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from milestoned.domain.addresses import canonical_address, parse_admin_key_hash, parse_payment_address
from milestoned.domain.allocation import (
    MAX_MILESTONE_ID_BYTES,
    MAX_TOKEN_AMOUNT,
    Allocation,
    milestone_id_bytes,
)
from milestoned.domain.json_types import json_type_name
from milestoned.domain.network import CardanoNetwork
from milestoned.domain.oracle_keys import KeyFileLoader, parse_oracle_key
from milestoned.domain.schedule import (
    MAX_NONCE_BYTES,
    MAX_TOKEN_NAME_BYTES,
    POLICY_ID_BYTES,
    ScheduleDefinition,
    Token,
)
from milestoned.domain.schedule_canonical import derive_nonce
from milestoned.domain.schedule_fields import (
    ALLOCATION_FIELDS,
    OPTIONAL_TOP_LEVEL_FIELDS,
    TOKEN_FIELDS,
    TOP_LEVEL_FIELDS,
    document_order,
    how_to_write,
    join_path,
    quoted_list,
    suggestion,
    where,
)
from milestoned.domain.schedule_guardians import read_guardians
from milestoned.domain.schedule_json import load_schedule_json
from milestoned.domain.timestamps import format_timestamp, parse_timestamp
from milestoned.domain.validation_errors import (
    ROOT_PATH,
    FieldError,
    InputProblem,
    ScheduleValidationError,
)

_HEX = re.compile(r"[0-9a-fA-F]*")
_ABSENT: Any = object()  # a key not in the document, as opposed to one whose value is null
_T = TypeVar("_T")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def parse_schedule_json(
    text: str | bytes, *, load_key_file: KeyFileLoader | None = None
) -> ScheduleDefinition:
    """Read a schedule file's text. Raises `ScheduleValidationError` listing every problem."""
    return parse_schedule_document(load_schedule_json(text), load_key_file=load_key_file)


def parse_schedule_document(
    document: object, *, load_key_file: KeyFileLoader | None = None
) -> ScheduleDefinition:
    """Read an already-decoded schedule document. Raises `ScheduleValidationError` listing every problem."""
    reader = _Reader(load_key_file)
    definition = reader.read(document)
    if reader.errors or definition is None:
        raise ScheduleValidationError(tuple(reader.errors))
    return definition


def schedule_errors(
    document: object, *, load_key_file: KeyFileLoader | None = None
) -> tuple[FieldError, ...]:
    """Every problem of a decoded schedule document; empty when it is valid."""
    reader = _Reader(load_key_file)
    reader.read(document)
    return tuple(reader.errors)


@dataclass
class _Reader:
    """Walks one document, collecting errors; each `_read_*` returns None when its field was bad."""

    load_key_file: KeyFileLoader | None
    errors: list[FieldError] = field(default_factory=list)
    # (index, vesting ms) of every allocation whose vesting time could be read, even if another field
    # of it could not: the deadline check should see them all.
    vesting_times: list[tuple[int, int]] = field(default_factory=list)

    def add(self, path: str, message: str, hint: str = "") -> None:
        self.errors.append(FieldError(path, message, hint))

    def add_problem(self, path: str, problem: InputProblem) -> None:
        self.add(path, problem.problem, problem.hint)

    def read(self, document: object) -> ScheduleDefinition | None:
        if not isinstance(document, Mapping):
            self.add(
                ROOT_PATH,
                f"must be a JSON object of schedule fields, got {json_type_name(document)}",
                "start from examples/schedule.json",
            )
            return None
        self._check_keys(ROOT_PATH, document, TOP_LEVEL_FIELDS, OPTIONAL_TOP_LEVEL_FIELDS)

        network = self._read_network(document.get("network", _ABSENT))
        admin = self._parse_present(document, "admin", lambda value: parse_admin_key_hash(value, network))
        token = self._read_token(document.get("token", _ABSENT))
        oracles = self._read_oracles(document.get("oracles", _ABSENT))
        quorum = self._read_quorum(document.get("quorum_threshold", _ABSENT), document.get("oracles"))
        deadline = self._parse_present(document, "reclaim_deadline", parse_timestamp)
        guardians = read_guardians(document, network, self.add, self.load_key_file)
        nonce = self._read_nonce(document)
        readable, allocations_ok = self._read_allocations(
            document.get("beneficiary_allocations", _ABSENT), network
        )
        if deadline is not None:
            self._check_deadline(deadline)
        allocations = readable if allocations_ok else None
        self.errors.sort(key=document_order)
        if (
            network is None
            or admin is None
            or token is None
            or oracles is None
            or quorum is None
            or deadline is None
            or allocations is None
            or guardians is None
            or self.errors
        ):
            return None
        definition = ScheduleDefinition(
            network=network,
            admin_key_hash=admin,
            token=token,
            oracle_keys=oracles,
            quorum=quorum,
            reclaim_deadline_ms=deadline,
            nonce=nonce or b"",
            allocations=tuple(allocation for _, allocation in allocations),
            guardian_keys=guardians[0],
            guardian_threshold=guardians[1],
            guardian_seed=guardians[2],
        )
        return definition if nonce is not None else replace(definition, nonce=derive_nonce(definition))

    # --- the shape of objects -------------------------------------------------------------------------

    def _check_keys(
        self, path: str, obj: Mapping[str, object], known: Sequence[str], optional: frozenset[str]
    ) -> None:
        for key in getattr(obj, "duplicate_keys", ()):
            self.add(
                join_path(path, key),
                "is written twice in the same object; JSON readers silently keep only the last one",
                "remove the copy you did not mean",
            )
        for key in obj:
            if key not in known:
                self.add(
                    join_path(path, key),
                    ("is not a schedule field" if not path else "is not a field" + where(path)),
                    suggestion(str(key), known),
                )
        for key in known:
            if key not in obj and key not in optional:
                self.add(join_path(path, key), "is missing", how_to_write(key))

    def _parse_present(self, obj: Mapping[str, object], key: str, parse: Callable[[object], _T]) -> _T | None:
        """Parse `obj[key]` with `parse` when present (missing keys are reported by `_check_keys`)."""
        if key not in obj:
            return None
        try:
            return parse(obj[key])
        except InputProblem as problem:
            self.add_problem(key, problem)
            return None

    # --- top-level fields -----------------------------------------------------------------------------

    def _read_network(self, value: object) -> CardanoNetwork | None:
        if value is _ABSENT:
            return None  # reported by _check_keys
        names = [network.value for network in CardanoNetwork]
        if not isinstance(value, str):
            self.add(
                "network",
                f"must be a string, got {json_type_name(value)}",
                f"write one of {quoted_list(names)}",
            )
            return None
        if value in names:
            return CardanoNetwork(value)
        if value.strip().lower() in names:
            self.add("network", f'"{value}" is not written as expected', f'write "{value.strip().lower()}"')
        elif value.strip().lower() == "testnet":
            self.add(
                "network",
                '"testnet" does not say which testnet',
                'write "preprod", "preview" or "devnet" (the local devnet)',
            )
        else:
            self.add(
                "network",
                f'"{value}" is not a network milestoned knows',
                f"write one of {quoted_list(names)}",
            )
        return None

    def _read_token(self, value: object) -> Token | None:
        if value is _ABSENT:
            return None
        if not isinstance(value, Mapping):
            self.add(
                "token",
                f"must be an object, got {json_type_name(value)}",
                'write {"token_policy_id": "<56 hex digits>", "token_name": "<hex>"}',
            )
            return None
        self._check_keys("token", value, TOKEN_FIELDS, frozenset({"token_name", "token_name_utf8"}))
        policy_id = self._read_policy_id(value)
        asset_name = self._read_token_name(value)
        if policy_id is None or asset_name is None:
            return None
        return Token(policy_id=policy_id, asset_name=asset_name)

    def _read_policy_id(self, token: Mapping[str, object]) -> bytes | None:
        if "token_policy_id" not in token:
            return None
        value = token["token_policy_id"]
        path = "token.token_policy_id"
        if not isinstance(value, str):
            self.add(path, f"must be a string of 56 hex digits, got {json_type_name(value)}", "quote it")
            return None
        if not _HEX.fullmatch(value):
            self.add(
                path, "is not hex", "copy the policy id (56 hex digits) from a block explorer or cardano-cli"
            )
            return None
        if len(value) != POLICY_ID_BYTES * 2:
            hint = (
                "this looks like policy id + asset name together: put the first 56 digits here and the rest "
                "in token_name"
                if len(value) > POLICY_ID_BYTES * 2
                else "copy the whole policy id"
            )
            self.add(path, f"a policy id has 56 hex digits (28 bytes), got {len(value)}", hint)
            return None
        return bytes.fromhex(value)

    def _read_token_name(self, token: Mapping[str, object]) -> bytes | None:
        has_hex, has_text = "token_name" in token, "token_name_utf8" in token
        if has_hex and has_text:
            self.add(
                "token",
                "gives both token_name and token_name_utf8",
                "keep one: token_name (hex) or token_name_utf8 (text)",
            )
            return None
        if not has_hex and not has_text:
            self.add(
                "token.token_name",
                "is missing",
                'give the asset name in hex (e.g. "4d494c45" for MILE; "" for the empty name), or as text in '
                "token_name_utf8",
            )
            return None
        if has_text:
            return self._read_token_name_text(token["token_name_utf8"])
        value = token["token_name"]
        path = "token.token_name"
        if not isinstance(value, str):
            self.add(path, f"must be a string of hex digits, got {json_type_name(value)}", "quote it")
            return None
        if not _HEX.fullmatch(value):
            self.add(
                path,
                f'"{value}" is not hex',
                f'to give the name as text, write "token_name_utf8": "{value}" instead'
                if len(value.encode()) <= MAX_TOKEN_NAME_BYTES
                else "write the asset name in hex",
            )
            return None
        if len(value) % 2:
            self.add(path, f"has an odd number of hex digits ({len(value)})", "each byte is two hex digits")
            return None
        if len(value) > MAX_TOKEN_NAME_BYTES * 2:
            self.add(path, f"is {len(value) // 2} bytes; an asset name has at most 32", "check the name")
            return None
        return bytes.fromhex(value)

    def _read_token_name_text(self, value: object) -> bytes | None:
        path = "token.token_name_utf8"
        if not isinstance(value, str):
            self.add(path, f"must be a string, got {json_type_name(value)}", "quote it")
            return None
        encoded = value.encode("utf-8")
        if len(encoded) > MAX_TOKEN_NAME_BYTES:
            self.add(path, f"is {len(encoded)} bytes in UTF-8; an asset name has at most 32", "shorten it")
            return None
        return encoded

    def _read_oracles(self, value: object) -> tuple[bytes, ...] | None:
        if value is _ABSENT:
            return None
        if not isinstance(value, list | tuple):
            self.add(
                "oracles",
                f"must be a list of oracle verification keys, got {json_type_name(value)}",
                'write ["<64 hex digits>", …] or a list of .vkey file paths or contents',
            )
            return None
        if not value:
            self.add(
                "oracles", "is empty: no milestone could ever be verified", "list at least one oracle key"
            )
            return None
        keys: list[bytes] = []
        first_index: dict[bytes, int] = {}
        ok = True
        for index, item in enumerate(value):
            path = f"oracles[{index}]"
            try:
                key = parse_oracle_key(item, load_key_file=self.load_key_file)
            except InputProblem as problem:
                self.add_problem(path, problem)
                ok = False
                continue
            if key in first_index:
                self.add(
                    path,
                    f"is the same key as oracles[{first_index[key]}]",
                    "each oracle must be a different key (one oracle listed twice would count twice "
                    "toward the quorum): remove the copy or put in the missing oracle's key",
                )
                ok = False
                continue
            first_index[key] = index
            keys.append(key)
        return tuple(keys) if ok else None

    def _read_quorum(self, value: object, oracles: object) -> int | None:
        if value is _ABSENT:
            return None
        path = "quorum_threshold"
        amount = self._whole_number(path, value, "a whole number of oracle signatures", "write e.g. 2")
        if amount is None:
            return None
        count = len(oracles) if isinstance(oracles, list | tuple) else None
        if amount < 1:
            self.add(
                path,
                f"must be at least 1, got {amount}: milestones could then be released without any oracle",
                f"set it between 1 and the number of oracles ({count})" if count else "set it to 1 or more",
            )
            return None
        if count is not None and count > 0 and amount > count:
            self.add(
                path,
                f"is {amount} but there {'is only 1 oracle' if count == 1 else f'are only {count} oracles'}: "
                "no milestone could ever be verified",
                f"lower it to at most {count}, or add oracles",
            )
            return None
        return amount

    def _read_nonce(self, document: Mapping[str, object]) -> bytes | None:
        if "nonce" not in document:
            return None
        value = document["nonce"]
        hint = "give 2 to 64 hex digits, or leave the nonce out to derive it from the schedule"
        if not isinstance(value, str):
            self.add("nonce", f"must be a hex string, got {json_type_name(value)}", hint)
        elif not _HEX.fullmatch(value) or len(value) % 2:
            self.add("nonce", "is not an even number of hex digits", hint)
        elif not value:
            self.add("nonce", "is empty", hint)
        elif len(value) > MAX_NONCE_BYTES * 2:
            self.add("nonce", f"is {len(value) // 2} bytes; at most {MAX_NONCE_BYTES} are allowed", hint)
        else:
            return bytes.fromhex(value)
        return None

    # --- allocations ----------------------------------------------------------------------------------

    def _read_allocations(
        self, value: object, network: CardanoNetwork | None
    ) -> tuple[list[tuple[int, Allocation]], bool]:
        """The allocations that could be read (with their index) and whether all of them could."""
        if value is _ABSENT:
            return [], False
        path = "beneficiary_allocations"
        if not isinstance(value, list | tuple):
            self.add(
                path,
                f"must be a list of allocations, got {json_type_name(value)}",
                'write [{"beneficiary_address": …, "token_amount": …, "milestone_identifier": …, '
                '"vesting_timestamp": …}, …]',
            )
            return [], False
        if not value:
            self.add(path, "is empty: the schedule would distribute nothing", "add at least one allocation")
            return [], False
        read: list[tuple[int, Allocation]] = []
        ok = True
        for index, item in enumerate(value):
            allocation = self._read_allocation(path, index, item, network)
            if allocation is None:
                ok = False
            else:
                read.append((index, allocation))
        self._check_duplicates(read)
        self._check_beneficiary_totals(read)
        return read, ok

    def _read_allocation(
        self, list_path: str, index: int, item: object, network: CardanoNetwork | None
    ) -> Allocation | None:
        path = f"{list_path}[{index}]"
        if not isinstance(item, Mapping):
            self.add(
                path, f"must be an object, got {json_type_name(item)}", 'write {"beneficiary_address": …}'
            )
            return None
        self._check_keys(path, item, ALLOCATION_FIELDS, frozenset())
        address = amount = milestone = vesting = None
        if "beneficiary_address" in item:
            try:
                address = _beneficiary(item["beneficiary_address"], network)
            except InputProblem as problem:
                self.add_problem(f"{path}.beneficiary_address", problem)
        if "token_amount" in item:
            amount = self._read_amount(f"{path}.token_amount", item["token_amount"])
        if "milestone_identifier" in item:
            milestone = self._read_milestone(f"{path}.milestone_identifier", item["milestone_identifier"])
        if "vesting_timestamp" in item:
            try:
                vesting = parse_timestamp(item["vesting_timestamp"])
                self.vesting_times.append((index, vesting))
            except InputProblem as problem:
                self.add_problem(f"{path}.vesting_timestamp", problem)
        if address is None or amount is None or milestone is None or vesting is None:
            return None
        return Allocation(address, amount, milestone, vesting)

    def _read_amount(self, path: str, value: object) -> int | None:
        amount = self._whole_number(
            path,
            value,
            "a whole number of token units",
            "amounts count the token's smallest unit: for a token with 6 decimals, 1.5 tokens is 1500000",
        )
        if amount is None:
            return None
        if amount == 0:
            self.add(
                path, "is 0: an allocation must lock some tokens", "give a positive amount, or remove it"
            )
        elif amount < 0:
            self.add(path, f"is negative ({amount})", "give a positive amount of token units")
        elif amount > MAX_TOKEN_AMOUNT:
            self.add(
                path,
                f"is {amount}, more than the ledger's limit of 2^63-1 = {MAX_TOKEN_AMOUNT} per output",
                "split it over several allocations, or check for a unit mistake (amounts are in base units)",
            )
        else:
            return amount
        return None

    def _read_milestone(self, path: str, value: object) -> bytes | None:
        if not isinstance(value, str):
            self.add(
                path,
                f"must be a string, got {json_type_name(value)}",
                'write it in quotes, e.g. "M1-prototype"',
            )
            return None
        encoded = milestone_id_bytes(value)
        if not value:
            self.add(path, "is empty", 'name the milestone, e.g. "M1-prototype"')
        elif len(encoded) > MAX_MILESTONE_ID_BYTES:
            self.add(
                path,
                f"is {len(encoded)} bytes in UTF-8; at most {MAX_MILESTONE_ID_BYTES} fit on chain",
                "shorten it (it is an identifier; put the description elsewhere)",
            )
        elif value.strip() != value:
            self.add(
                path,
                f"{value!r} starts or ends with whitespace; oracles sign the exact bytes, so it would be a "
                "different milestone from the one without",
                f'write "{value.strip()}"',
            )
        elif _CONTROL.search(value):
            self.add(path, f"{value!r} contains control characters", "use printable characters only")
        else:
            return encoded
        return None

    def _whole_number(self, path: str, value: object, meaning: str, hint: str) -> int | None:
        if isinstance(value, bool):
            self.add(path, f"must be {meaning}, got a boolean", hint)
        elif isinstance(value, int):
            return value
        elif isinstance(value, float) and value.is_integer() and abs(value) < 2**64:
            self.add(
                path,
                f"must be {meaning}, got {value!r}",
                f"write {int(value)}, without a decimal point or exponent",
            )
        elif isinstance(value, float):
            self.add(path, f"must be {meaning}, got {value!r}", hint)
        elif isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value.strip()):
            self.add(
                path, f'must be a number, got the string "{value}"', f"remove the quotes: {value.strip()}"
            )
        else:
            self.add(path, f"must be {meaning}, got {json_type_name(value)}", hint)
        return None

    # --- checks across fields -------------------------------------------------------------------------

    def _check_duplicates(self, read: list[tuple[int, Allocation]]) -> None:
        """Same beneficiary, milestone and vesting time twice is a copy-paste slip, not a second grant."""
        first: dict[tuple[str, bytes, int], tuple[int, Allocation]] = {}
        for index, allocation in read:
            key = (allocation.beneficiary_address, allocation.milestone_id, allocation.vesting_time_ms)
            if key not in first:
                first[key] = (index, allocation)
                continue
            earlier_index, earlier = first[key]
            exact = "an exact copy of" if earlier.token_amount == allocation.token_amount else "a repeat of"
            self.add(
                f"beneficiary_allocations[{index}]",
                f"is {exact} beneficiary_allocations[{earlier_index}] "
                "(same beneficiary, milestone and vesting time)",
                "remove it, or merge the two into one allocation of the summed amount; to grant more at a "
                "different time or milestone, change that field",
            )

    def _check_beneficiary_totals(self, read: list[tuple[int, Allocation]]) -> None:
        """A release pays each beneficiary their sum in one output, which the ledger caps at 2^63-1."""
        totals: dict[str, int] = {}
        for index, allocation in read:
            before = totals.get(allocation.beneficiary_address, 0)
            totals[allocation.beneficiary_address] = before + allocation.token_amount
            if before <= MAX_TOKEN_AMOUNT < before + allocation.token_amount:
                self.add(
                    f"beneficiary_allocations[{index}].token_amount",
                    "brings this beneficiary's total above 2^63-1, which one release output cannot carry",
                    "check the amounts for a unit mistake",
                )

    def _check_deadline(self, deadline: int) -> None:
        late = [(index, vesting) for index, vesting in self.vesting_times if vesting >= deadline]
        if not late:
            return
        index, latest = max(late, key=lambda pair: pair[1])
        vests = format_timestamp(latest)
        count = f" ({len(late)} allocations vest at or after it)" if len(late) > 1 else ""
        self.add(
            "reclaim_deadline",
            f"is {format_timestamp(deadline)}, not after every vesting time: "
            f"beneficiary_allocations[{index}] vests at {vests}{count}; "
            "the admin could take back tokens before their beneficiary could release them",
            f"set it later than {vests} (leave beneficiaries time to "
            "release), or move those vesting times earlier",
        )


def _beneficiary(value: object, network: CardanoNetwork | None) -> str:
    """The canonical spelling of a beneficiary address (an `InputProblem` says what is wrong with it)."""
    if isinstance(value, str):
        return _canonical_beneficiary(value, network)
    return canonical_address(parse_payment_address(value, network))


@functools.lru_cache(maxsize=4096)
def _canonical_beneficiary(text: str, network: CardanoNetwork | None) -> str:
    """Cached: bech32 in pure Python costs about a millisecond an address, and a beneficiary usually has
    an allocation per milestone; the daemon's discovery and the chain audit read every definition found
    on chain. Refusals raise, so they are never cached."""
    return canonical_address(parse_payment_address(text, network))
