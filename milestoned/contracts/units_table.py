"""Execution units of scenario transactions, against mainnet's per-transaction limits: the table the
contract tests print at the end of a run and the figures `bench/contracts.py` reports.

Why apart from `scenarios`: building transactions and reporting what they cost are two concepts; the
benchmark and the tests' terminal summary read this, the attack builders never do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from milestoned.contracts.evaluation import MAX_TX_CPU, MAX_TX_MEM, RedeemerEvaluation
from milestoned.contracts.scenarios import Built


@dataclass(frozen=True)
class UnitsRow:
    """The execution units a transaction used in total, against mainnet's per-transaction limits."""

    case: str
    accepted: bool
    mem: int
    cpu: int
    tx_bytes: int
    redeemers: int

    @property
    def mem_share(self) -> float:
        return self.mem / MAX_TX_MEM

    @property
    def cpu_share(self) -> float:
        return self.cpu / MAX_TX_CPU


def units_row(case: str, built: Built, evaluations: Sequence[RedeemerEvaluation]) -> UnitsRow:
    return UnitsRow(
        case=case,
        accepted=bool(evaluations) and all(e.ok for e in evaluations),
        mem=sum(e.mem for e in evaluations),
        cpu=sum(e.cpu for e in evaluations),
        tx_bytes=built.size,
        redeemers=len(evaluations),
    )


def format_units_table(rows: Sequence[UnitsRow]) -> str:
    """A plain-text table: case, verdict, memory and CPU (with share of the tx limits), size."""
    columns = [f"{'case':<48}", f"{'verdict':<8}", f"{'mem':>11}", f"{'mem%':>6}", f"{'cpu':>14}"]
    columns += [f"{'cpu%':>6}", f"{'bytes':>6}", f"{'scripts':>7}"]
    header = " ".join(columns)
    lines = [header, "-" * len(header)]
    for r in rows:
        lines.append(
            f"{r.case:<48} {'accept' if r.accepted else 'reject':<8} {r.mem:>11,} {r.mem_share:>6.1%} "
            f"{r.cpu:>14,} {r.cpu_share:>6.1%} {r.tx_bytes:>6} {r.redeemers:>7}"
        )
    return "\n".join(lines)
