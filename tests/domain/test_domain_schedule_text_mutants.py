"""How a schedule file's text is read and written back: tests for mutants of `domain/schedule.py`,
`schedule_canonical.py` and `schedule_file.py` that survived (issue 19)."""

from __future__ import annotations

import json

from milestoned.domain.schedule import Token
from milestoned.domain.schedule_canonical import schedule_to_json
from milestoned.domain.schedule_file import parse_schedule_document, schedule_errors
from milestoned.domain.schedule_json import load_schedule_json

from .test_domain_schedule_errors_mutants import example


def test_a_token_unit_is_policy_hex_then_name_hex() -> None:
    assert Token(bytes(range(28)), b"MILE").unit == bytes(range(28)).hex() + "4d494c45"
    assert Token(bytes(28), b"").unit == "00" * 28


def test_the_written_file_keeps_non_ascii_text_as_it_is() -> None:
    document = example()
    for allocation in document["beneficiary_allocations"]:
        allocation["milestone_identifier"] = "Étape-" + allocation["milestone_identifier"]
    text = schedule_to_json(parse_schedule_document(document))
    assert '"milestone_identifier": "Étape-' in text
    assert "\\u00c9" not in text
    assert parse_schedule_document(json.loads(text)) == parse_schedule_document(document)


def test_a_key_written_three_times_is_reported_once() -> None:
    body = json.dumps(example())
    text = '{"nonce": "01", "nonce": "02", "nonce": "03", ' + body[1:]
    assert [(e.path, e.message) for e in schedule_errors(load_schedule_json(text))] == [
        ("nonce", "is written twice in the same object; JSON readers silently keep only the last one")
    ]


def test_an_asset_name_of_exactly_32_bytes_is_read() -> None:
    document = example()
    document["token"] = {"token_policy_id": document["token"]["token_policy_id"], "token_name": "ab" * 32}
    assert parse_schedule_document(document).token.asset_name == bytes([0xAB]) * 32
    document["token"]["token_name"] = "ab" * 33
    assert [(e.path, e.message) for e in schedule_errors(document)] == [
        ("token.token_name", "is 33 bytes; an asset name has at most 32")
    ]


MAX = 2**63 - 1


def test_one_beneficiarys_total_may_reach_2_to_the_63_minus_1_but_not_pass_it() -> None:
    document = example()
    first, second = document["beneficiary_allocations"][:2]
    document["beneficiary_allocations"] = [first, second]
    second["beneficiary_address"] = first["beneficiary_address"]
    second["milestone_identifier"] = first["milestone_identifier"] + "-b"
    first["token_amount"], second["token_amount"] = MAX - 10, 10
    total_errors = [e for e in schedule_errors(document) if "2^63-1" in e.message]
    assert total_errors == []
    second["token_amount"] = 11
    assert [(e.path, e.message) for e in schedule_errors(document) if "2^63-1" in e.message] == [
        (
            "beneficiary_allocations[1].token_amount",
            "brings this beneficiary's total above 2^63-1, which one release output cannot carry",
        )
    ]


def test_the_deadline_problem_counts_the_allocations_that_vest_at_or_after_it() -> None:
    document = example()
    allocations = document["beneficiary_allocations"]
    for allocation in allocations:
        allocation["vesting_timestamp"] = "2027-01-15T12:00:00Z"
    allocations[-2]["vesting_timestamp"] = "2027-09-01T00:00:00Z"
    allocations[-1]["vesting_timestamp"] = "2027-10-01T00:00:00Z"
    document["reclaim_deadline"] = "2027-08-01T00:00:00Z"
    [problem] = schedule_errors(document)
    assert problem.message == (
        "is 2027-08-01T00:00:00Z, not after every vesting time: "
        f"beneficiary_allocations[{len(allocations) - 1}] vests at 2027-10-01T00:00:00Z "
        "(2 allocations vest at or after it); the admin could take back tokens before their beneficiary "
        "could release them"
    )


def test_one_allocation_vesting_after_the_deadline_is_named_without_a_count() -> None:
    document = example()
    allocations = document["beneficiary_allocations"]
    for allocation in allocations:
        allocation["vesting_timestamp"] = "2027-01-15T12:00:00Z"
    allocations[0]["vesting_timestamp"] = "2027-10-01T00:00:00Z"
    document["reclaim_deadline"] = "2027-08-01T00:00:00Z"
    [problem] = schedule_errors(document)
    assert problem.message == (
        "is 2027-08-01T00:00:00Z, not after every vesting time: "
        "beneficiary_allocations[0] vests at 2027-10-01T00:00:00Z; the admin could take back tokens "
        "before their beneficiary could release them"
    )
