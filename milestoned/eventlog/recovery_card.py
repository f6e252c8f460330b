"""The recovery card: what an operator keeps elsewhere so that a lost log is rebuilt from the chain. Pure.

Why a card and not a scan from the origin: following mainnet from the origin takes hours, and nothing
before a schedule's first registration transaction matters to it. The card names, per schedule, that
transaction's point and the point to start chain sync from to see it (chain sync hands out the blocks
after a point, so it is the recorded point before the registration), and the log's head (position and
hash) when it was written, which publishes the head off the machine (`anchor`): a history rewritten
later no longer matches it.

    {"card": "milestoned/recovery-card/v1", "network": "preprod",
     "log_head": {"position": 1234, "hash": "<64 hex>"},
     "schedules": [{"schedule_id": "<56 hex>", "registered_at": "SLOT.HASH", "rebuild_from": "SLOT.HASH"}]}

Points are written as Kupo writes them (`SLOT.HEADER_HASH`, or `origin`), as `--from` takes them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import orjson

from milestoned.eventlog.events import ChainPoint
from milestoned.eventlog.hashchain import LogHead

CARD_FORMAT: Final = "milestoned/recovery-card/v1"
_POINT = re.compile(r"\A(\d+)\.([0-9a-f]{64})\Z")
_SCHEDULE = re.compile(r"\A[0-9a-f]{56}\Z")


class RecoveryCardError(ValueError):
    """The card cannot be used; the message says what is wrong with it and what to do."""


def point_text(point: ChainPoint) -> str:
    return "origin" if point.is_origin else f"{point.slot}.{point.header_hash}"


def parse_point(text: str) -> ChainPoint:
    """`origin` or `SLOT.HEADER_HASH` (64 hex digits) as a point; ValueError says how to write one."""
    value = text.strip()
    if value == "origin":
        return ChainPoint.origin()
    match = _POINT.match(value.lower())
    if match is None:
        raise ValueError(
            f"{text!r} is not a chain point; write 'origin' or SLOT.HEADER_HASH (the slot, a dot, and the "
            "block's 64-hex-digit header hash), as `milestonectl schedule show` and the recovery card give"
        )
    return ChainPoint(int(match.group(1)), match.group(2))


@dataclass(frozen=True, slots=True)
class CardSchedule:
    schedule_id: str
    registered_at: ChainPoint
    rebuild_from: ChainPoint


@dataclass(frozen=True, slots=True)
class RecoveryCard:
    network: str
    log_head: LogHead
    schedules: tuple[CardSchedule, ...]

    @property
    def rebuild_from(self) -> ChainPoint | None:
        """The earliest point a rebuild must start from to see every schedule (None: no schedule)."""
        points = [s.rebuild_from for s in self.schedules]
        return min(points, key=lambda p: p.slot) if points else None

    def to_document(self) -> dict[str, Any]:
        return {
            "card": CARD_FORMAT,
            "network": self.network,
            "log_head": {"position": self.log_head.position, "hash": self.log_head.hash},
            "schedules": [
                {
                    "schedule_id": s.schedule_id,
                    "registered_at": point_text(s.registered_at),
                    "rebuild_from": point_text(s.rebuild_from),
                }
                for s in self.schedules
            ],
        }

    def to_json(self) -> bytes:
        return orjson.dumps(self.to_document(), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def build_card(
    network: str,
    head: LogHead,
    schedules: Mapping[str, Any],
    registered_at: Mapping[str, ChainPoint],
    rebuild_from: Mapping[str, ChainPoint],
) -> RecoveryCard:
    """The card of the schedules the log knows whose registration it saw on chain (others have no point
    yet: a schedule registered here but not yet on chain needs none)."""
    return RecoveryCard(
        network=network,
        log_head=head,
        schedules=tuple(
            CardSchedule(sid, registered_at[sid], rebuild_from[sid])
            for sid in sorted(schedules)
            if sid in registered_at and sid in rebuild_from
        ),
    )


def read_card(text: bytes | str, *, network: str | None = None) -> RecoveryCard:
    """The card in `text`; `RecoveryCardError` names what is wrong (and refuses another network's card)."""
    try:
        document = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise RecoveryCardError(f"the recovery card is not JSON ({exc})") from None
    if not isinstance(document, dict) or document.get("card") != CARD_FORMAT:
        raise RecoveryCardError(f'not a recovery card: it must be a JSON object with "card": "{CARD_FORMAT}"')
    card_network = document.get("network")
    if not isinstance(card_network, str):
        raise RecoveryCardError('the recovery card has no "network"')
    if network is not None and card_network != network:
        raise RecoveryCardError(
            f"the recovery card is for {card_network!r} but this daemon follows {network!r}: use the card "
            "written by a daemon of this network"
        )
    try:
        head = document["log_head"]
        log_head = LogHead(position=int(head["position"]), hash=str(head["hash"]))
        schedules = []
        for entry in document["schedules"]:
            sid = str(entry["schedule_id"])
            if not _SCHEDULE.match(sid):
                raise ValueError(f"schedule id {sid!r} is not 56 lowercase hex digits")
            schedules.append(
                CardSchedule(sid, parse_point(entry["registered_at"]), parse_point(entry["rebuild_from"]))
            )
    except (KeyError, TypeError, ValueError) as exc:
        raise RecoveryCardError(f"the recovery card is damaged: {exc}") from None
    for schedule in schedules:
        if schedule.rebuild_from.slot >= schedule.registered_at.slot:
            raise RecoveryCardError(
                f"schedule {schedule.schedule_id}: rebuild_from must be a point before registered_at"
            )
    return RecoveryCard(card_network, log_head, tuple(schedules))
