"""Properties of the schedule file over generated schedules.

- Round trips: any valid definition, written in its canonical form or in any mix of the spellings a
  person may use (address or key hash, hex or text token name, hex / envelope / .vkey path oracles, ISO in
  any zone or POSIX seconds), reads back to the same definition.
- Every malformed field is rejected with exactly one error, at that field's path, saying how to fix it;
  several independent mistakes in one file are all reported, each at its own path.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nacl.signing import SigningKey
from pycardano import Address, ScriptHash, VerificationKeyHash

from milestoned.domain.allocation import MAX_MILESTONE_ID_BYTES, MAX_TOKEN_AMOUNT, Allocation
from milestoned.domain.network import CardanoNetwork
from milestoned.domain.oracle_keys import verification_key_envelope
from milestoned.domain.schedule import ScheduleDefinition, Token
from milestoned.domain.schedule_canonical import derive_nonce, schedule_document, schedule_to_json
from milestoned.domain.schedule_file import parse_schedule_document, parse_schedule_json, schedule_errors

PROPERTY_SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
YEAR_2100_MS = 4_102_444_800_000

oracle_keys = st.binary(min_size=32, max_size=32).map(lambda seed: bytes(SigningKey(seed).verify_key))
hashes = st.binary(min_size=28, max_size=28)
milestone_texts = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=24
).filter(lambda text: text.strip() == text and len(text.encode()) <= MAX_MILESTONE_ID_BYTES)
# at most 7 allocations of at most MAX/8 each: one beneficiary's total (even with a duplicate) fits an output
amounts = st.one_of(st.integers(1, 10**9), st.integers(1, MAX_TOKEN_AMOUNT // 8))
times_ms = st.one_of(
    st.integers(0, YEAR_2100_MS // 1000).map(lambda s: s * 1000), st.integers(0, YEAR_2100_MS)
)


@st.composite
def addresses(draw: st.DrawFn, network: CardanoNetwork) -> str:
    payment = draw(st.sampled_from([VerificationKeyHash, ScriptHash]))(draw(hashes))
    staking = draw(st.sampled_from([None, VerificationKeyHash, ScriptHash]))
    stake_part = None if staking is None else staking(draw(hashes))
    return str(Address(payment, stake_part, network=network.pycardano_network))


@st.composite
def definitions(draw: st.DrawFn) -> ScheduleDefinition:
    network = draw(st.sampled_from(list(CardanoNetwork)))
    oracles = draw(st.lists(oracle_keys, min_size=1, max_size=4, unique=True))
    beneficiaries = draw(st.lists(addresses(network), min_size=1, max_size=4, unique=True))
    milestones = draw(st.lists(milestone_texts, min_size=1, max_size=3, unique=True))
    allocations = draw(
        st.lists(
            st.builds(
                Allocation,
                st.sampled_from(beneficiaries),
                amounts,
                st.sampled_from(milestones).map(str.encode),
                times_ms,
            ),
            min_size=1,
            max_size=7,
            unique_by=lambda a: (a.beneficiary_address, a.milestone_id, a.vesting_time_ms),
        )
    )
    latest = max(a.vesting_time_ms for a in allocations)
    definition = ScheduleDefinition(
        network=network,
        admin_key_hash=draw(hashes),
        token=Token(draw(hashes), draw(st.binary(max_size=32))),
        oracle_keys=tuple(oracles),
        quorum=draw(st.integers(1, len(oracles))),
        reclaim_deadline_ms=draw(st.integers(latest + 1, latest + 10**12)),
        nonce=draw(st.binary(min_size=1, max_size=32)),
        allocations=tuple(allocations),
    )
    if draw(st.booleans()):
        definition = replace(definition, nonce=derive_nonce(definition))
    return definition


@dataclass(frozen=True)
class WrittenSchedule:
    """A definition as a person might have written it, with the key files it refers to."""

    definition: ScheduleDefinition
    document: dict[str, Any]
    files: dict[str, str]

    def parse(self) -> ScheduleDefinition:
        return parse_schedule_document(self.document, load_key_file=self.files.__getitem__)

    def errors(self) -> tuple[str, ...]:
        return tuple(e.path for e in schedule_errors(self.document, load_key_file=self.files.__getitem__))


def _time_spelling(draw: st.DrawFn, posix_ms: int) -> object:
    if posix_ms % 1000 == 0 and draw(st.booleans()):
        return posix_ms // 1000
    offset = timedelta(minutes=draw(st.integers(-14 * 60, 14 * 60)))
    moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=posix_ms)
    if moment.year < 1971 or moment.year > 9998:
        offset = timedelta(0)
    local = moment.astimezone(timezone(offset))
    text = local.isoformat(timespec="milliseconds" if posix_ms % 1000 else "seconds")
    return text.replace("+00:00", "Z") if draw(st.booleans()) else text


@st.composite
def written_schedules(draw: st.DrawFn) -> WrittenSchedule:
    definition = draw(definitions())
    document = schedule_document(definition)
    files: dict[str, str] = {}
    if draw(st.booleans()):
        document["admin"] = str(
            Address(
                VerificationKeyHash(definition.admin_key_hash),
                draw(st.none() | hashes.map(VerificationKeyHash)),
                network=definition.network.pycardano_network,
            )
        )
    elif draw(st.booleans()):
        document["admin"] = document["admin"].upper()
    try:
        text_name = definition.token.asset_name.decode("utf-8")
    except UnicodeDecodeError:
        text_name = None
    if text_name is not None and draw(st.booleans()):
        document["token"] = {
            "token_policy_id": document["token"]["token_policy_id"],
            "token_name_utf8": text_name,
        }
    oracles: list[object] = []
    for index, key in enumerate(definition.oracle_keys):
        form = draw(st.sampled_from(["hex", "HEX", "envelope", "envelope-text", "file"]))
        envelope = verification_key_envelope(key)
        if form == "hex":
            oracles.append(key.hex())
        elif form == "HEX":
            oracles.append(key.hex().upper())
        elif form == "envelope":
            oracles.append(envelope)
        elif form == "envelope-text":
            oracles.append(json.dumps(envelope))
        else:
            files[f"keys/oracle-{index}.vkey"] = json.dumps(envelope, indent=4)
            oracles.append(f"keys/oracle-{index}.vkey")
    document["oracles"] = oracles
    document["reclaim_deadline"] = _time_spelling(draw, definition.reclaim_deadline_ms)
    for written, allocation in zip(document["beneficiary_allocations"], definition.allocations, strict=True):
        written["vesting_timestamp"] = _time_spelling(draw, allocation.vesting_time_ms)
    if definition.nonce == derive_nonce(definition) and draw(st.booleans()):
        del document["nonce"]
    return WrittenSchedule(definition, document, files)


@PROPERTY_SETTINGS
@given(definitions())
def test_the_readable_json_of_any_definition_reads_back_equal(definition: ScheduleDefinition) -> None:
    assert parse_schedule_json(schedule_to_json(definition)) == definition


@PROPERTY_SETTINGS
@given(written_schedules())
def test_any_spelling_of_a_definition_reads_back_to_it(written: WrittenSchedule) -> None:
    assert written.parse() == written.definition
    # and through text, as a file would be read
    text = json.dumps(written.document, ensure_ascii=False)
    assert parse_schedule_json(text, load_key_file=written.files.__getitem__) == written.definition


# --- malformations ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mistake:
    """One malformation: where the error must be reported, what it touches, and how to make it."""

    path: str
    groups: frozenset[str]  # mistakes that share a group can hide or change each other's errors
    apply: Callable[[dict[str, Any]], None]


def _setter(*keys: str | int, value: object) -> Callable[[dict[str, Any]], None]:
    def apply(document: dict[str, Any]) -> None:
        target: Any = document
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value

    return apply


def _deleter(key: str) -> Callable[[dict[str, Any]], None]:
    def apply(document: dict[str, Any]) -> None:
        del document[key]

    return apply


def _duplicate(index: int) -> Callable[[dict[str, Any]], None]:
    def apply(document: dict[str, Any]) -> None:
        allocations = document["beneficiary_allocations"]
        allocations.append(copy.deepcopy(allocations[index]))

    return apply


def _set_token_name(value: object) -> Callable[[dict[str, Any]], None]:
    def apply(document: dict[str, Any]) -> None:
        document["token"].pop("token_name_utf8", None)
        document["token"]["token_name"] = value

    return apply


def _other_network_address(network: CardanoNetwork) -> str:
    other = CardanoNetwork.DEVNET if network.is_mainnet else CardanoNetwork.MAINNET
    return str(Address(VerificationKeyHash(bytes(28)), network=other.pycardano_network))


@st.composite
def mistakes(draw: st.DrawFn, written: WrittenSchedule) -> list[Mistake]:
    """Every kind of mistake this document can be given, each with a value drawn for it."""
    definition = written.definition
    oracle_count = len(definition.oracle_keys)
    allocation_count = len(definition.allocations)
    latest_vesting = max(a.vesting_time_ms for a in definition.allocations)

    def pick(*values: object) -> object:
        return draw(st.sampled_from(values))

    wrong_network_admin = _other_network_address(definition.network)
    at_latest_vesting = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=latest_vesting)
    found: list[Mistake] = [
        Mistake(
            "network",
            frozenset({"network"}),
            _setter("network", value=pick("Mainnet", "testnet", "cardano", "", 1, None)),
        ),
        Mistake(
            "admin", frozenset({"admin"}), _setter("admin", value=pick("ab" * 27, "admin", 5, "zz" * 28))
        ),
        Mistake("admin", frozenset({"admin", "network"}), _setter("admin", value=wrong_network_admin)),
        Mistake("admin", frozenset({"admin"}), _deleter("admin")),
        Mistake(
            "token.token_policy_id",
            frozenset({"policy"}),
            _setter("token", "token_policy_id", value=pick("ab" * 27, "xyz", 28, "ab" * 30)),
        ),
        Mistake(
            "token.token_name", frozenset({"token_name"}), _set_token_name(pick("abc", "zz", "ab" * 33, 3))
        ),
        Mistake(
            "quorum_threshold",
            frozenset({"quorum"}),
            _setter("quorum_threshold", value=pick(0, -1, oracle_count + 1, 1.5, "1", True, None)),
        ),
        Mistake(
            "reclaim_deadline",
            frozenset({"time"}),
            _setter("reclaim_deadline", value=pick("2030-01-01T00:00:00", "tomorrow", 1.25, [1])),
        ),
        Mistake(
            "reclaim_deadline",
            frozenset({"time"}),
            _setter("reclaim_deadline", value=at_latest_vesting.isoformat()),
        ),
        Mistake(
            "nonce", frozenset({"nonce"}), _setter("nonce", value=pick("abc", "", "00" * 33, "nonce", 7))
        ),
        Mistake("quorum", frozenset({"unknown"}), _setter("quorum", value=1)),
    ]
    for index in range(oracle_count):
        found.append(
            Mistake(
                f"oracles[{index}]",
                frozenset({f"oracle{index}"}),
                _setter(
                    "oracles",
                    index,
                    value=draw(
                        st.sampled_from([bytes(32).hex(), "ab" * 31, 32, {"type": "x", "cborHex": "00"}])
                    ),
                ),
            )
        )
        if index > 0:
            found.append(
                Mistake(
                    f"oracles[{index}]",
                    frozenset({f"oracle{index}", "oracle0"}),
                    _setter("oracles", index, value=definition.oracle_keys[0].hex()),
                )
            )
    for index in range(allocation_count):
        at = f"beneficiary_allocations[{index}]"
        fields = {name: frozenset({f"{at}.{name}"}) for name in ("address", "amount", "milestone", "vesting")}
        found += [
            Mistake(
                f"{at}.token_amount",
                fields["amount"],
                _setter(
                    "beneficiary_allocations",
                    index,
                    "token_amount",
                    value=draw(st.sampled_from([0, -1, MAX_TOKEN_AMOUNT + 1, 2.5, "10", None])),
                ),
            ),
            Mistake(
                f"{at}.beneficiary_address",
                fields["address"],
                _setter(
                    "beneficiary_allocations",
                    index,
                    "beneficiary_address",
                    value=draw(st.sampled_from(["addr_test1xyz", "", 12, "stake_test1uqx"])),
                ),
            ),
            Mistake(
                f"{at}.beneficiary_address",
                fields["address"] | {"network"},
                _setter(
                    "beneficiary_allocations",
                    index,
                    "beneficiary_address",
                    value=_other_network_address(definition.network),
                ),
            ),
            Mistake(
                f"{at}.milestone_identifier",
                fields["milestone"],
                _setter(
                    "beneficiary_allocations",
                    index,
                    "milestone_identifier",
                    value=draw(st.sampled_from(["", "m" * 65, " padded", 64, None])),
                ),
            ),
            Mistake(
                f"{at}.vesting_timestamp",
                fields["vesting"] | {"time"},
                _setter(
                    "beneficiary_allocations",
                    index,
                    "vesting_timestamp",
                    value=draw(st.sampled_from(["2027-01-01T00:00:00", "soon", -5, 1.5, 10**13])),
                ),
            ),
            Mistake(
                f"beneficiary_allocations[{allocation_count}]",
                frozenset().union(*fields.values()) | {"duplicate"},
                _duplicate(index),
            ),
        ]
    return found


@PROPERTY_SETTINGS
@given(st.data())
def test_each_malformed_field_is_rejected_with_its_own_error(data: st.DataObject) -> None:
    written = data.draw(written_schedules())
    mistake = data.draw(st.sampled_from(data.draw(mistakes(written))))
    mistake.apply(written.document)
    errors = schedule_errors(written.document, load_key_file=written.files.__getitem__)
    assert [error.path for error in errors] == [mistake.path], "\n".join(map(str, errors))
    assert errors[0].message and errors[0].hint


@PROPERTY_SETTINGS
@given(st.data())
def test_several_mistakes_are_all_reported_at_once(data: st.DataObject) -> None:
    written = data.draw(written_schedules())
    candidates = data.draw(st.permutations(data.draw(mistakes(written))))
    chosen: list[Mistake] = []
    used: set[str] = set()
    wanted = data.draw(st.integers(2, 6))
    for mistake in candidates:
        if len(chosen) < wanted and not mistake.groups & used:
            chosen.append(mistake)
            used |= mistake.groups
    for mistake in chosen:
        mistake.apply(written.document)
    errors = schedule_errors(written.document, load_key_file=written.files.__getitem__)
    assert sorted(error.path for error in errors) == sorted(m.path for m in chosen), "\n".join(
        map(str, errors)
    )


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=80),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=20), children, max_size=4)
    ),
    max_leaves=12,
)


@PROPERTY_SETTINGS
@given(st.data())
def test_any_json_in_any_field_gives_errors_never_a_crash(data: st.DataObject) -> None:
    """Whatever a request carries, the reader answers with field errors: it must not crash the daemon."""
    written = data.draw(written_schedules())
    document = written.document
    top = data.draw(st.sampled_from([*document.keys(), "extra"]))
    if top == "beneficiary_allocations" and data.draw(st.booleans()):
        allocation = data.draw(st.sampled_from(document[top]))
        allocation[data.draw(st.sampled_from([*allocation.keys(), "extra"]))] = data.draw(json_values)
    else:
        document[top] = data.draw(json_values)
    for error in schedule_errors(document, load_key_file=written.files.__getitem__):
        assert isinstance(error.path, str) and error.message


@PROPERTY_SETTINGS
@given(json_values)
def test_any_json_document_gives_errors_never_a_crash(document: object) -> None:
    errors = schedule_errors(document)
    assert errors and all(error.message for error in errors)
