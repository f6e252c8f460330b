"""The attestation file: one oracle's signature of one milestone, as the small JSON an admin commits.

An oracle signs offline (`milestonectl attest sign`) and hands this file to the admin, who commits it to
the daemon. It holds nothing secret and nothing that is not checked: the schedule id and the milestone id
are the signed message's parts, the oracle key says who signed, the signature proves it.

    {"schedule_id": "<56 hex>", "milestone_id": "M1-prototype",
     "oracle_key": "<64 hex>", "signature": "<128 hex>"}

`milestone_id` is the milestone's identifier as written in the schedule (its UTF-8 bytes are signed).
A cancellation (`milestonectl attest sign --cancel`: the milestone will never be delivered) is the same
file with `"statement": "cancel"`; without that field a file is an attestation, as files always were.
Other fields are ignored, so a later version may add some. Pure: text in, values out.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from milestoned.domain.allocation import MAX_MILESTONE_ID_BYTES, milestone_id_bytes
from milestoned.domain.attestation import (
    ORACLE_KEY_BYTES,
    SCHEDULE_ID_BYTES,
    SIGNATURE_BYTES,
    OracleSignature,
    Statement,
)
from milestoned.domain.json_types import json_type_name
from milestoned.domain.validation_errors import InputProblem

ATTESTATION_FIELDS = ("schedule_id", "milestone_id", "oracle_key", "signature")
_HEX = re.compile(r"[0-9a-fA-F]*")
_SIGN_AGAIN = "ask the oracle for the file `milestonectl attest sign` wrote, unchanged"


@dataclass(frozen=True)
class Attestation:
    """An oracle's signature over `statement prefix || schedule_id || milestone_id`."""

    schedule_id: bytes
    milestone_id: bytes  # on-chain bytes: the UTF-8 of the schedule's milestone_identifier
    signature: OracleSignature
    statement: Statement = Statement.ATTEST

    @property
    def milestone_label(self) -> str:
        return self.milestone_id.decode("utf-8", errors="backslashreplace")


def attestation_document(attestation: Attestation) -> dict[str, str]:
    document = {
        "schedule_id": attestation.schedule_id.hex(),
        "milestone_id": attestation.milestone_id.decode("utf-8"),
        "oracle_key": attestation.signature.oracle_key.hex(),
        "signature": attestation.signature.signature.hex(),
    }
    if attestation.statement is not Statement.ATTEST:
        document["statement"] = attestation.statement.word
    return document


def attestation_json(attestation: Attestation) -> str:
    return json.dumps(attestation_document(attestation), indent=2, ensure_ascii=False) + "\n"


def parse_attestation_json(text: str) -> Attestation:
    """Read an attestation file's text; `InputProblem` lists every field that is wrong."""
    try:
        document = json.loads(text)
    except ValueError as error:
        raise InputProblem(f"is not JSON ({error})", _SIGN_AGAIN) from None
    return parse_attestation_document(document)


def parse_attestation_document(document: object) -> Attestation:
    if not isinstance(document, Mapping):
        raise InputProblem(f"must be a JSON object, got {json_type_name(document)}", _SIGN_AGAIN)
    problems: list[str] = []
    if "type" in document and "cborHex" in document:
        raise InputProblem(
            "is a cardano-cli key file, not an attestation",
            "give the .json file that `milestonectl attest sign` wrote",
        )
    schedule_id = _hex_field(document, "schedule_id", SCHEDULE_ID_BYTES, problems)
    oracle_key = _hex_field(document, "oracle_key", ORACLE_KEY_BYTES, problems)
    signature = _hex_field(document, "signature", SIGNATURE_BYTES, problems)
    milestone = _milestone_field(document, problems)
    statement = _statement_field(document, problems)
    # each field that could not be read is None with its problem listed (and only then)
    if (
        schedule_id is None
        or oracle_key is None
        or signature is None
        or milestone is None
        or statement is None
    ):
        raise InputProblem("; ".join(problems), _SIGN_AGAIN)
    return Attestation(schedule_id, milestone, OracleSignature(oracle_key, signature), statement)


def _statement_field(document: Mapping[str, Any], problems: list[str]) -> Statement | None:
    value = document.get("statement", Statement.ATTEST.word)
    for statement in Statement:
        if value == statement.word:
            return statement
    words = " or ".join(f'"{s.word}"' for s in Statement)
    problems.append(f'"statement" must be {words} (absent: "attest"), got {json.dumps(value)}')
    return None


def _hex_field(document: Mapping[str, Any], name: str, size: int, problems: list[str]) -> bytes | None:
    if name not in document:
        problems.append(f'has no "{name}"')
        return None
    value = document[name]
    if not isinstance(value, str) or not _HEX.fullmatch(value) or len(value) != 2 * size:
        problems.append(f'"{name}" must be {2 * size} hex digits ({size} bytes)')
        return None
    return bytes.fromhex(value)


def _milestone_field(document: Mapping[str, Any], problems: list[str]) -> bytes | None:
    value = document.get("milestone_id")
    if value is None:
        problems.append('has no "milestone_id"')
        return None
    if not isinstance(value, str) or not value:
        problems.append('"milestone_id" must be the milestone identifier as text')
        return None
    encoded = milestone_id_bytes(value)
    if len(encoded) > MAX_MILESTONE_ID_BYTES:
        problems.append(f'"milestone_id" is longer than {MAX_MILESTONE_ID_BYTES} bytes')
        return None
    return encoded
