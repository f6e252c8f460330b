"""How a schedule file's text is read and written back: tests for mutants of `domain/schedule.py`,
`schedule_canonical.py` and `schedule_file.py` that survived (issue 19)."""

from __future__ import annotations

import json

from milestoned.domain.schedule import Token
from milestoned.domain.schedule_canonical import schedule_to_json
from milestoned.domain.schedule_file import load_schedule_json, parse_schedule_document, schedule_errors

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
