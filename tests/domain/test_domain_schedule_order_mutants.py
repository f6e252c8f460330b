"""Which field an unknown key is reported against, and the order of a schedule's errors: tests for
mutants of `domain/schedule_file.py` that survived (issue 19).

Errors are listed in the order of the format (network first, allocations last, each allocation in list
order), with what cannot be placed (an unknown or misspelt top-level key) before everything else, and
an error about a whole field before the errors of its entries.
"""

from __future__ import annotations

import json

from milestoned.domain.schedule_file import schedule_errors
from milestoned.domain.schedule_json import load_schedule_json

from .test_domain_schedule_errors_mutants import example


def paths_and_messages(text: str) -> list[tuple[str, str]]:
    return [(e.path, e.message) for e in schedule_errors(load_schedule_json(text))]


def test_an_unknown_key_is_named_against_the_object_it_is_in() -> None:
    document = example()
    document["colour"] = "blue"
    document["token"]["colour"] = "blue"
    document["beneficiary_allocations"][1]["colour"] = "blue"
    assert paths_and_messages(json.dumps(document)) == [
        ("colour", "is not a schedule field"),
        ("token.colour", 'is not a field of "token"'),
        ("beneficiary_allocations[1].colour", "is not a field of an allocation"),
    ]


def test_errors_follow_the_format_with_unplaceable_ones_first() -> None:
    document = example()
    document["network"] = "nowhere"
    allocations = document.pop("beneficiary_allocations")
    body = json.dumps(document)
    broken = json.loads(json.dumps(allocations))
    broken[0]["token_amount"] = -1
    broken[2]["token_amount"] = -1
    text = (
        '{"Zeta": 1, "zeta": 2, '  # unknown keys: one the order cannot parse, one it cannot place
        + body[1:-1]
        + f', "beneficiary_allocations": {json.dumps(allocations)}'
        + f', "beneficiary_allocations": {json.dumps(broken)}'  # written twice: the second copy counts
        + "}"
    )
    assert [path for path, _ in paths_and_messages(text)] == [
        "Zeta",
        "zeta",
        "network",
        "beneficiary_allocations",
        "beneficiary_allocations[0].token_amount",
        "beneficiary_allocations[2].token_amount",
    ]


def test_unplaceable_keys_keep_the_order_they_were_written_in() -> None:
    # "Zeta" (upper case) cannot be parsed as a field path, "zeta" cannot be placed: neither goes first
    document = example()
    text = '{"zeta": 1, "Zeta": 2, ' + json.dumps(document)[1:]
    assert [path for path, _ in paths_and_messages(text)] == ["zeta", "Zeta"]


def test_an_unknown_key_comes_before_a_duplicate_of_the_first_field() -> None:
    # the duplicate is found first (`_check_keys`), but "network" has a place in the format and the
    # unknown key has none
    document = example()
    body = json.dumps(document)[1:-1]
    text = '{"network": "preprod", "colour": "blue", ' + body + "}"
    assert [path for path, _ in paths_and_messages(text)] == ["colour", "network"]


def test_an_unknown_key_far_from_any_field_lists_the_fields_to_choose_from() -> None:
    document = example()
    document["token"]["xq"] = 1
    [problem] = schedule_errors(document)
    assert problem.hint == 'remove it; the fields here are "token_policy_id", "token_name", "token_name_utf8"'


def test_allocations_whose_address_cannot_be_read_are_not_compared_as_duplicates() -> None:
    # with their addresses unread, two otherwise equal allocations are no duplicate of each other:
    # only each one's address is reported
    document = example()
    first = document["beneficiary_allocations"][0]
    first["beneficiary_address"] = "addr_test1_not_an_address"
    document["beneficiary_allocations"] = [first, dict(first)]
    assert [path for path, _ in paths_and_messages(json.dumps(document))] == [
        "beneficiary_allocations[0].beneficiary_address",
        "beneficiary_allocations[1].beneficiary_address",
    ]
