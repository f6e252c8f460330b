"""The schedule file: every accepted spelling, and one named error (with a fix) for every mistake."""

from __future__ import annotations

import copy
import hashlib
import json
import runpy
from pathlib import Path
from typing import Any

import pytest
from nacl.signing import SigningKey
from pycardano import Address, Network, ScriptHash, VerificationKeyHash

from milestoned.domain.allocation import MAX_TOKEN_AMOUNT, Allocation
from milestoned.domain.network import CardanoNetwork
from milestoned.domain.oracle_keys import verification_key_envelope
from milestoned.domain.schedule import ScheduleDefinition, Token
from milestoned.domain.schedule_canonical import (
    canonical_schedule_json,
    derive_nonce,
    schedule_document,
    schedule_to_json,
)
from milestoned.domain.schedule_file import (
    parse_schedule_document,
    parse_schedule_json,
    schedule_errors,
)
from milestoned.domain.validation_errors import FieldError, ScheduleValidationError

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
ADMIN_HASH = bytes(range(28))
POLICY = bytes(range(100, 128))
ORACLES = [bytes(SigningKey(bytes([n]) * 32).verify_key) for n in (1, 2, 3)]


def _address(n: int, network: Network = Network.TESTNET) -> str:
    return str(Address(VerificationKeyHash(bytes([n]) * 28), network=network))


def valid_document() -> dict[str, Any]:
    return {
        "network": "devnet",
        "admin": ADMIN_HASH.hex(),
        "token": {"token_policy_id": POLICY.hex(), "token_name": "4d494c45"},
        "oracles": [key.hex() for key in ORACLES],
        "quorum_threshold": 2,
        "reclaim_deadline": "2028-01-01T00:00:00Z",
        "beneficiary_allocations": [
            {
                "beneficiary_address": _address(1),
                "token_amount": 100,
                "milestone_identifier": "M1",
                "vesting_timestamp": "2027-01-01T00:00:00Z",
            },
            {
                "beneficiary_address": _address(2),
                "token_amount": 200,
                "milestone_identifier": "M2",
                "vesting_timestamp": 1_800_000_000,
            },
        ],
    }


def errors_of(document: object) -> tuple[FieldError, ...]:
    errors = schedule_errors(document)
    assert errors, "the document was expected to be invalid"
    with pytest.raises(ScheduleValidationError) as raised:
        parse_schedule_document(document)
    assert raised.value.errors == errors
    return errors


def only_error(document: object) -> FieldError:
    errors = errors_of(document)
    assert len(errors) == 1, "\n".join(map(str, errors))
    return errors[0]


def test_a_valid_document_gives_the_definition_in_on_chain_units() -> None:
    definition = parse_schedule_document(valid_document())
    assert definition.network is CardanoNetwork.DEVNET
    assert definition.admin_key_hash == ADMIN_HASH
    assert definition.token == Token(POLICY, b"MILE")
    assert definition.oracle_keys == tuple(ORACLES)
    assert definition.quorum == 2
    assert definition.reclaim_deadline_ms == 1_830_297_600_000
    assert definition.allocations == (
        Allocation(_address(1), 100, b"M1", 1_798_761_600_000),
        Allocation(_address(2), 200, b"M2", 1_800_000_000_000),
    )
    assert schedule_errors(valid_document()) == ()


def test_to_parameters_carries_what_the_minting_policy_is_applied_to() -> None:
    definition = parse_schedule_document(valid_document())
    parameters = definition.to_parameters()
    assert parameters.admin_key_hash == ADMIN_HASH
    assert parameters.token_policy_id == POLICY
    assert parameters.token_name == b"MILE"
    assert parameters.oracle_keys == tuple(ORACLES)
    assert parameters.quorum == 2
    assert parameters.reclaim_deadline_ms == definition.reclaim_deadline_ms
    assert parameters.nonce == definition.nonce


def test_a_missing_nonce_is_derived_from_the_canonical_json_without_it() -> None:
    definition = parse_schedule_document(valid_document())
    document = schedule_document(definition, include_nonce=False)
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert definition.nonce == hashlib.blake2b(text, digest_size=32).digest()[:16]
    assert derive_nonce(definition) == definition.nonce


def test_the_derived_nonce_changes_with_any_field_but_not_with_its_spelling() -> None:
    base = parse_schedule_document(valid_document())
    respelled = valid_document()
    respelled["admin"] = str(Address(VerificationKeyHash(ADMIN_HASH), network=Network.TESTNET))
    respelled["token"] = {"token_policy_id": POLICY.hex().upper(), "token_name_utf8": "MILE"}
    respelled["oracles"][0] = verification_key_envelope(ORACLES[0])
    respelled["reclaim_deadline"] = "2028-01-01T01:00:00+01:00"
    assert parse_schedule_document(respelled).nonce == base.nonce
    changed = valid_document()
    changed["beneficiary_allocations"][0]["token_amount"] = 101
    assert parse_schedule_document(changed).nonce != base.nonce


def test_an_explicit_nonce_is_kept() -> None:
    document = valid_document()
    document["nonce"] = "00FF"
    assert parse_schedule_document(document).nonce == bytes.fromhex("00ff")


def test_the_readable_json_reads_back_to_the_same_definition() -> None:
    definition = parse_schedule_document(valid_document())
    assert parse_schedule_json(schedule_to_json(definition)) == definition
    assert parse_schedule_json(canonical_schedule_json(definition)) == definition


def test_canonical_json_is_compact_sorted_utf8() -> None:
    document = valid_document()
    document["beneficiary_allocations"][0]["milestone_identifier"] = "Phase-β"
    text = canonical_schedule_json(parse_schedule_document(document))
    assert b"Phase-\xce\xb2" in text
    assert b" " not in text and b"\n" not in text
    assert text.startswith(b'{"admin":')


# --- one error per mistake ------------------------------------------------------------------------------


def _set(document: dict[str, Any], path: str, value: object) -> None:
    """Set `a.b[1].c` in a nested document."""
    target: Any = document
    parts = path.replace("]", "").replace("[", ".").split(".")
    for part in parts[:-1]:
        target = target[int(part)] if part.isdigit() else target[part]
    last = parts[-1]
    target[int(last) if last.isdigit() else last] = value


MISTAKES: list[tuple[str, object, str]] = [
    ("network", "Devnet", 'write "devnet"'),
    ("network", "testnet", "does not say which testnet"),
    ("network", "localnet", "is not a network milestoned knows"),
    ("network", 1, "must be a string"),
    ("admin", "ab" * 27, "56 hex digits"),
    ("admin", _address(9, Network.MAINNET), "is a mainnet address"),
    ("admin", str(Address(ScriptHash(bytes(28)), network=Network.TESTNET)), "pays to a script"),
    ("token", "MILE", "must be an object"),
    ("token.token_policy_id", POLICY.hex()[:-2], "56 hex digits (28 bytes), got 54"),
    ("token.token_policy_id", POLICY.hex() + "4d494c45", "got 64"),
    ("token.token_policy_id", "policy", "is not hex"),
    ("token.token_name", "MILE", 'write "token_name_utf8": "MILE"'),
    ("token.token_name", "abc", "odd number of hex digits"),
    ("token.token_name", "ab" * 33, "at most 32"),
    ("token.token_name", 7, "must be a string"),
    ("oracles", [], "is empty"),
    ("oracles", ORACLES[0].hex(), "must be a list"),
    ("oracles[1]", ORACLES[0].hex(), "is the same key as oracles[0]"),
    ("oracles[2]", ORACLES[2].hex()[:-2], "got 62 digits"),
    ("oracles[2]", bytes(32).hex(), "not a valid ed25519 public key"),
    ("quorum_threshold", 0, "must be at least 1"),
    ("quorum_threshold", -2, "must be at least 1"),
    ("quorum_threshold", 4, "are only 3 oracles"),
    ("quorum_threshold", 2.0, "write 2, without a decimal point"),
    ("quorum_threshold", "2", "remove the quotes"),
    ("quorum_threshold", True, "got a boolean"),
    ("reclaim_deadline", "2028-01-01T00:00:00", "has no time zone"),
    ("reclaim_deadline", "soon", "is not an ISO 8601 time"),
    ("reclaim_deadline", "2027-01-10T00:00:00Z", "not after every vesting time"),
    ("reclaim_deadline", 1_800_000_000, "not after every vesting time"),
    ("nonce", "abc", "even number of hex digits"),
    ("nonce", "", "is empty"),
    ("nonce", "00" * 33, "at most 32"),
    ("nonce", 12, "must be a hex string"),
    ("beneficiary_allocations", [], "is empty"),
    ("beneficiary_allocations", {}, "must be a list"),
    ("beneficiary_allocations[1]", "addr_test1…", "must be an object"),
    ("beneficiary_allocations[1].beneficiary_address", _address(2, Network.MAINNET), "is a mainnet address"),
    ("beneficiary_allocations[1].beneficiary_address", _address(2)[:-3] + "xyz", "checksum"),
    ("beneficiary_allocations[1].beneficiary_address", None, "got null"),
    ("beneficiary_allocations[1].token_amount", 0, "is 0"),
    ("beneficiary_allocations[1].token_amount", -7, "is negative"),
    ("beneficiary_allocations[1].token_amount", MAX_TOKEN_AMOUNT + 1, "more than the ledger's limit"),
    ("beneficiary_allocations[1].token_amount", 1.5, "smallest unit"),
    ("beneficiary_allocations[1].token_amount", "200", "remove the quotes"),
    ("beneficiary_allocations[1].token_amount", None, "got null"),
    ("beneficiary_allocations[1].milestone_identifier", "", "is empty"),
    ("beneficiary_allocations[1].milestone_identifier", "x" * 65, "is 65 bytes"),
    ("beneficiary_allocations[1].milestone_identifier", "é" * 33, "is 66 bytes"),
    ("beneficiary_allocations[1].milestone_identifier", "M2 ", "whitespace"),
    ("beneficiary_allocations[1].milestone_identifier", "M\u00002", "control characters"),
    ("beneficiary_allocations[1].milestone_identifier", 2, "must be a string"),
    ("beneficiary_allocations[1].vesting_timestamp", "2027-05-05", "has no time zone"),
    ("beneficiary_allocations[1].vesting_timestamp", 1_800_000_000_000, "looks like milliseconds"),
    ("beneficiary_allocations[1].vesting_timestamp", [], "got a list"),
]


@pytest.mark.parametrize(("path", "value", "fragment"), MISTAKES)
def test_each_mistake_gets_one_error_naming_its_field(path: str, value: object, fragment: str) -> None:
    document = valid_document()
    _set(document, path, value)
    error = only_error(document)
    assert error.path == path
    assert fragment in f"{error.message} {error.hint}"
    assert error.hint, "every error says how to fix it"


def test_a_value_at_the_ledger_limit_is_accepted() -> None:
    document = valid_document()
    document["beneficiary_allocations"][1]["token_amount"] = MAX_TOKEN_AMOUNT
    assert parse_schedule_document(document).allocations[1].token_amount == MAX_TOKEN_AMOUNT


def test_a_64_byte_milestone_id_is_accepted() -> None:
    document = valid_document()
    document["beneficiary_allocations"][1]["milestone_identifier"] = "é" * 32
    assert parse_schedule_document(document).allocations[1].milestone_id == ("é" * 32).encode()


@pytest.mark.parametrize("field", ["network", "admin", "token", "oracles", "reclaim_deadline"])
def test_a_missing_field_is_named(field: str) -> None:
    document = valid_document()
    del document[field]
    error = only_error(document)
    assert (error.path, error.message) == (field, "is missing")
    assert f'add "{field}"' in error.hint


def test_missing_fields_inside_objects_are_named() -> None:
    document = valid_document()
    del document["token"]["token_name"]
    del document["beneficiary_allocations"][0]["vesting_timestamp"]
    errors = errors_of(document)
    assert [(e.path, e.message) for e in errors] == [
        ("token.token_name", "is missing"),
        ("beneficiary_allocations[0].vesting_timestamp", "is missing"),
    ]


def test_token_name_and_its_utf8_form_together_are_refused() -> None:
    document = valid_document()
    document["token"]["token_name_utf8"] = "MILE"
    assert only_error(document).path == "token"


@pytest.mark.parametrize(
    ("path", "key", "suggestion"),
    [
        ("", "quorum", '"quorum_threshold"'),
        ("", "reclaim_dedline", '"reclaim_deadline"'),
        ("", "token_policy_id", 'inside the "token" object'),
        ("", "comment", "remove it"),
        ("token", "policy_id", '"token_policy_id"'),
        ("beneficiary_allocations[0]", "vesting_timestmap", '"vesting_timestamp"'),
        ("beneficiary_allocations[0]", "memo", "remove it"),
    ],
)
def test_unknown_keys_are_refused_with_a_suggestion(path: str, key: str, suggestion: str) -> None:
    document = valid_document()
    target: Any = document
    if path:
        target = document["token"] if path == "token" else document["beneficiary_allocations"][0]
    target[key] = "x"
    errors = errors_of(document)
    unknown = [e for e in errors if e.path == (f"{path}.{key}" if path else key)]
    assert len(unknown) == 1
    assert "is not a" in unknown[0].message and "field" in unknown[0].message
    assert suggestion in unknown[0].hint


def test_duplicate_allocations_are_refused_whatever_their_amount() -> None:
    document = valid_document()
    allocations = document["beneficiary_allocations"]
    allocations.append(copy.deepcopy(allocations[0]))
    allocations.append(dict(allocations[1], token_amount=5))
    allocations.append(dict(allocations[1], vesting_timestamp=1_800_000_001))  # a second grant: fine
    errors = errors_of(document)
    assert [(e.path, e.message.split(" beneficiary")[0]) for e in errors] == [
        ("beneficiary_allocations[2]", "is an exact copy of"),
        ("beneficiary_allocations[3]", "is a repeat of"),
    ]
    assert "beneficiary_allocations[0]" in errors[0].message
    assert "beneficiary_allocations[1]" in errors[1].message


def test_the_same_beneficiary_on_several_milestones_is_fine() -> None:
    document = valid_document()
    document["beneficiary_allocations"].append(
        dict(document["beneficiary_allocations"][0], milestone_identifier="M2")
    )
    assert len(parse_schedule_document(document).allocations) == 3


def test_a_beneficiary_total_above_the_output_limit_is_refused() -> None:
    document = valid_document()
    allocations = document["beneficiary_allocations"]
    allocations[0]["token_amount"] = MAX_TOKEN_AMOUNT
    allocations.append(dict(allocations[0], milestone_identifier="M9"))
    error = only_error(document)
    assert error.path == "beneficiary_allocations[2].token_amount"
    assert (error.message, error.hint) == (
        "brings this beneficiary's total above 2^63-1, which one release output cannot carry",
        "check the amounts for a unit mistake",
    )


def test_the_deadline_check_names_the_latest_vesting_even_if_its_allocation_has_other_errors() -> None:
    document = valid_document()
    document["beneficiary_allocations"][1]["token_amount"] = 0
    document["reclaim_deadline"] = "2026-12-01T00:00:00Z"
    errors = errors_of(document)
    assert [e.path for e in errors] == ["reclaim_deadline", "beneficiary_allocations[1].token_amount"]
    assert "beneficiary_allocations[1] vests at 2027-01-15T08:00:00Z" in errors[0].message


def test_a_deadline_equal_to_a_vesting_time_is_refused() -> None:
    document = valid_document()
    document["reclaim_deadline"] = 1_800_000_000
    assert only_error(document).path == "reclaim_deadline"


def test_with_an_unreadable_network_the_addresses_are_still_checked() -> None:
    document = valid_document()
    document["network"] = "devnt"
    document["beneficiary_allocations"][0]["beneficiary_address"] = _address(1)[:-1]
    assert [e.path for e in errors_of(document)] == [
        "network",
        "beneficiary_allocations[0].beneficiary_address",
    ]


def test_a_null_field_is_a_wrong_type_not_a_missing_one() -> None:
    document = valid_document()
    document["oracles"] = None
    error = only_error(document)
    assert (error.path, error.message) == ("oracles", "must be a list of oracle verification keys, got null")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "is empty"),
        ('{"network": "devnet",}', "is not valid JSON"),
        ('{"network": "devnet"\n "admin": 1}', "line 2"),
        ('{"quorum_threshold": NaN}', "NaN is not a JSON number"),
        ("[1, 2]", "must be a JSON object"),
        (b"\xff\xfe", "is not UTF-8"),
    ],
)
def test_text_that_is_not_a_schedule_object_is_named(text: str | bytes, fragment: str) -> None:
    with pytest.raises(ScheduleValidationError) as raised:
        parse_schedule_json(text)
    assert fragment in raised.value.errors[0].message
    assert raised.value.errors[0].path == ""


def test_a_key_written_twice_in_one_object_is_refused() -> None:
    text = json.dumps(valid_document())
    text = text.replace('"quorum_threshold": 2', '"quorum_threshold": 3, "quorum_threshold": 2')
    with pytest.raises(ScheduleValidationError) as raised:
        parse_schedule_json(text)
    assert [(e.path, e.message, e.hint) for e in raised.value.errors] == [
        (
            "quorum_threshold",
            "is written twice in the same object; JSON readers silently keep only the last one",
            "remove the copy you did not mean",
        )
    ]


def test_a_byte_order_mark_is_tolerated() -> None:
    text = "\ufeff" + json.dumps(valid_document())
    assert parse_schedule_json(text.encode("utf-8")) == parse_schedule_document(valid_document())


def test_the_error_text_lists_every_problem_with_its_fix() -> None:
    document = valid_document()
    document["quorum_threshold"] = 9
    document["beneficiary_allocations"][0]["token_amount"] = -1
    with pytest.raises(ScheduleValidationError) as raised:
        parse_schedule_document(document)
    text = str(raised.value)
    assert text.startswith("the schedule has 2 errors:")
    assert "quorum_threshold: is 9 but there are only 3 oracles" in text
    assert "beneficiary_allocations[0].token_amount: is negative (-1)" in text
    assert text.count("fix: ") == 2


# --- the example files --------------------------------------------------------------------------------


def _example_loader(path: str) -> str:
    return (EXAMPLES / path).read_text(encoding="utf-8")


def test_the_example_schedule_is_valid_and_as_described() -> None:
    definition = parse_schedule_json(
        (EXAMPLES / "schedule.json").read_text(encoding="utf-8"), load_key_file=_example_loader
    )
    assert definition.network is CardanoNetwork.DEVNET
    assert len(definition.oracle_keys) == 3 and definition.quorum == 2
    assert len(definition.milestone_ids) == 3
    assert len({a.beneficiary_address for a in definition.allocations}) == 5
    assert definition.token.asset_name == b"MILE"


def test_the_example_oracle_vkeys_match_their_demo_skeys() -> None:
    for n in (1, 2, 3):
        skey = json.loads(_example_loader(f"oracles/oracle-{n}.skey"))
        vkey = json.loads(_example_loader(f"oracles/oracle-{n}.vkey"))
        seed = bytes.fromhex(skey["cborHex"])[2:]
        assert bytes.fromhex(vkey["cborHex"])[2:] == bytes(SigningKey(seed).verify_key)
        assert "DEMO ONLY" in skey["description"]


def test_the_invalid_example_reports_all_its_mistakes_at_once() -> None:
    with pytest.raises(ScheduleValidationError) as raised:
        parse_schedule_json(
            (EXAMPLES / "schedule.invalid.json").read_text(encoding="utf-8"), load_key_file=_example_loader
        )
    assert list(raised.value.paths) == [
        "quorum",
        "admin",
        "token.token_policy_id",
        "token.token_name",
        "oracles[1]",
        "oracles[2]",
        "quorum_threshold",
        "reclaim_deadline",
        "beneficiary_allocations[0].token_amount",
        "beneficiary_allocations[1].beneficiary_address",
        "beneficiary_allocations[2].beneficiary_address",
        "beneficiary_allocations[2].token_amount",
        "beneficiary_allocations[2].vesting_timestamp",
        "beneficiary_allocations[3].milestone_identifier",
        "beneficiary_allocations[4].token_amount",
        "beneficiary_allocations[4].vesting_timestamp",
        "beneficiary_allocations[5].token_amount",
        "beneficiary_allocations[5].milestone_identifier",
        "beneficiary_allocations[7]",
        "beneficiary_allocations[8].vesting_timestmap",
        "beneficiary_allocations[8].vesting_timestamp",
        "beneficiary_allocations[8].token_amount",
    ]


def test_the_example_files_are_what_the_generator_makes() -> None:
    generator = runpy.run_path(str(EXAMPLES / "make_demo_files.py"))
    for relative, content in generator["build_files"]().items():
        assert (EXAMPLES / relative).read_text(encoding="utf-8") == content, relative


def test_a_definition_built_in_code_equals_its_file_form() -> None:
    definition = ScheduleDefinition(
        network=CardanoNetwork.PREVIEW,
        admin_key_hash=ADMIN_HASH,
        token=Token(POLICY, b""),
        oracle_keys=tuple(ORACLES[:1]),
        quorum=1,
        reclaim_deadline_ms=2_000_000_000_000,
        nonce=b"\x01",
        allocations=(Allocation(_address(3), 1, b"only", 1_999_999_999_999),),
    )
    assert parse_schedule_json(schedule_to_json(definition)) == definition


@pytest.mark.parametrize(
    ("key", "suggestion"),
    [
        ("token_name", 'inside the "token" object'),
        ("Network", 'lower case: "network"'),
        ("amount", '"token_amount" belongs inside each entry'),
        ("memo", "remove it"),
    ],
)
def test_keys_in_the_wrong_place_or_case_get_a_pointed_suggestion(key: str, suggestion: str) -> None:
    document = valid_document()
    document[key] = document.pop("network") if key == "Network" else "x"
    errors = errors_of(document)
    assert suggestion in next(e for e in errors if e.path == key).hint


def test_a_token_name_of_32_bytes_is_the_longest_and_its_hint_fits_it() -> None:
    """32 bytes is the ledger's limit for an asset name: reached, not passed."""
    as_text = valid_document()
    as_text["token"] = {"token_policy_id": POLICY.hex(), "token_name_utf8": "é" * 16}  # 32 bytes in UTF-8
    assert parse_schedule_document(as_text).token.asset_name == ("é" * 16).encode()
    not_hex = valid_document()
    _set(not_hex, "token.token_name", "g" * 32)  # 32 bytes of text: it would fit as token_name_utf8
    assert "token_name_utf8" in only_error(not_hex).hint
    _set(not_hex, "token.token_name", "g" * 33)
    assert only_error(not_hex).hint == "write the asset name in hex"


def test_a_quorum_below_one_is_told_the_range_of_its_oracles() -> None:
    document = valid_document()
    _set(document, "quorum_threshold", 0)
    assert only_error(document).hint == f"set it between 1 and the number of oracles ({len(ORACLES)})"


def test_a_nonce_of_an_even_number_of_characters_that_are_not_hex_is_refused() -> None:
    document = valid_document()
    document["nonce"] = "zz"
    error = only_error(document)
    assert (error.path, error.message) == ("nonce", "is not an even number of hex digits")


def test_allocations_whose_vesting_cannot_be_read_are_not_compared_as_copies() -> None:
    """Two allocations alike but for their unreadable vesting times: each has its own error, and neither
    is called a copy of the other (their vesting times are unknown, not equal)."""
    document = valid_document()
    second = document["beneficiary_allocations"][1]
    second.update(beneficiary_address=_address(1), milestone_identifier="M1")
    for index in (0, 1):
        _set(document, f"beneficiary_allocations[{index}].vesting_timestamp", "soon")
    errors = errors_of(document)
    assert [e.path for e in errors] == [f"beneficiary_allocations[{i}].vesting_timestamp" for i in (0, 1)]


def test_a_whole_float_up_to_2_to_the_64_is_told_to_drop_its_decimal_point() -> None:
    document = valid_document()
    _set(document, "beneficiary_allocations[0].token_amount", float(2**63))
    assert only_error(document).hint == f"write {2**63}, without a decimal point or exponent"
