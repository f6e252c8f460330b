"""Who may write, and which submissions an elected leader inherited: the pure rules of high availability.

Several daemons may share one PostgreSQL store; exactly one of them leads (the election itself is shell,
`milestoned.daemon.leadership`). These rules say what follows from a role and a term, so that they can
be tested without a database:

- only a leader changes anything (a follower answers queries and names the leader for writes);
- terms only go up; an intent to submit is fenced by the term it was recorded under, so a deposed
  leader's append is refused in the same database transaction as the check;
- a submission intent recorded under an EARLIER term may still be sent by its (deposed, perhaps still
  running) leader, so the new leader may not declare it "never sent" just because the mempool and the
  chain do not show it yet: it stays in flight until its validity has ended. An intent of our own term
  (or of a single daemon restarted after a crash: nobody else can send) is resolved at once, as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    LEADER = "leader"
    FOLLOWER = "follower"
    SINGLE = "single"
    """The one daemon of an SQLite store (a file lock keeps any other out): it always writes."""


@dataclass(frozen=True, slots=True)
class Leadership:
    """This daemon's role, the current term, and who leads (for a follower's error and `/health`)."""

    role: Role
    term: int
    leader: str = ""
    """The leader's description (`host pid socket`), as the leader recorded it; empty when unknown."""

    @property
    def may_write(self) -> bool:
        return may_write(self.role)

    def to_json(self) -> dict[str, object]:
        return {"role": self.role.value, "term": self.term, "leader": self.leader or None}


def may_write(role: Role) -> bool:
    """A leader and a single daemon write; a follower only reads."""
    return role is not Role.FOLLOWER


def fence_admits(recorded_term: int, own_term: int) -> bool:
    """The term check made in the same transaction as an append: it goes ahead only while the term in the
    store is still ours. A higher recorded term means another daemon was elected since: we are deposed."""
    return recorded_term == own_term


def next_term(recorded_term: int) -> int:
    """The term a newly elected leader takes: always above every earlier one."""
    if recorded_term < 0:
        raise ValueError(f"a recorded term is never negative, got {recorded_term}")
    return recorded_term + 1


def inherited_intent_may_expire(
    intent_term: int, own_term: int, validity_upper_slot: int, tip_slot: int | None
) -> bool:
    """May an intent found neither in the mempool nor on chain be recorded as never sent (expired)?

    Our own term's intents (and every intent when there is one daemon): yes, the only sender is us.
    An earlier term's: only once the chain passed its validity (its leader may still send it until then,
    and after that the node refuses it), so no allocation is ever in two live submissions.
    """
    if intent_term >= own_term:
        return True
    return tip_slot is not None and validity_upper_slot > 0 and tip_slot >= validity_upper_slot
