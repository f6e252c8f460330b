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
