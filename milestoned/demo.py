"""`milestoned demo` (what `make run` starts): a newcomer's first look at milestoned working.

It starts the embedded devnet in this process, reads the example schedule, shows its on-chain identity
(the schedule id and the validator address derived from the committed scripts), has the demo oracles
sign the first milestone offline, and shows who could claim what at the devnet's chain time.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from rich.console import Console
from rich.table import Table

from milestoned.commands.key_envelopes import signing_key_seed
from milestoned.commands.output import Output
from milestoned.commands.schedule_cmd import show
from milestoned.commands.schedule_source import read_schedule
from milestoned.domain.attestation import sign_attestation
from milestoned.domain.eligibility import LockedAllocation, evaluate_eligibility
from milestoned.domain.timestamps import format_timestamp

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


async def _demo(examples: Path, linger_s: float) -> int:
    from milestoned.commands.schedule_identity import schedule_identity
    from milestoned.devnet.service import run_devnet

    console = Console()
    schedule_path = examples / "schedule.json"
    reading = read_schedule(schedule_path)
    if reading.definition is None:
        console.print(f"[red]{schedule_path} is not a valid schedule[/red]")
        return 1
    definition = reading.definition
    async with run_devnet(port=0, slot_length=0.2) as devnet:
        console.print(f"[bold]devnet[/bold] Ogmios at {devnet.url}")
        show(schedule_path, Output(json_mode=False))
        schedule_id = schedule_identity(definition).schedule_id
        first = definition.milestone_ids[0]
        signatures = []
        # The demo keys' seeds are public, so they are read as text here without the permission check
        # that `milestonectl attest sign` applies to real keys (git does not keep the 0600 mode).
        for seed_file in sorted((examples / "oracles").glob("*.skey"))[: definition.quorum]:
            seed = signing_key_seed(seed_file.read_text())
            signatures.append(sign_attestation(seed, schedule_id, first))
        console.print(
            f"{len(signatures)} demo oracles signed milestone {first.decode()!r} "
            f"(quorum {definition.quorum} of {len(definition.oracle_keys)})"
        )
        chain_time_ms = max(a.vesting_time_ms for a in definition.allocations)  # as if every vesting passed
        report = evaluate_eligibility(
            [LockedAllocation(f"demo#{i}", a) for i, a in enumerate(definition.allocations)],
            schedule_id=schedule_id,
            oracle_keys=definition.oracle_keys,
            quorum=definition.quorum,
            signatures={first: signatures},
            chain_time_ms=chain_time_ms,
            released=(),
        )
        table = Table(title=f"Eligibility at {format_timestamp(chain_time_ms)}")
        for header in ("allocation", "milestone", "amount", "status"):
            table.add_column(header)
        for result in report.allocations:
            table.add_row(
                result.reference,
                result.allocation.milestone_label,
                str(result.allocation.token_amount),
                result.status.value,
            )
        console.print(table)
        if linger_s > 0:
            console.print(f"devnet stays up for {linger_s:.0f} s (Ctrl-C to stop)")
            await asyncio.sleep(linger_s)
    return 0


def run_demo(examples: Path = EXAMPLES, linger_s: float = 0.0) -> int:
    try:
        return asyncio.run(_demo(examples, linger_s))
    except KeyboardInterrupt:
        return 0
