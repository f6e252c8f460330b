"""The chain audit on a real devnet chain, next to a real daemon following the same chain.

One chain (see `audit_chain`): two schedules, releases, a reclaim, a rollback across a split
registration, and bad registration metadata. Followed live by the audit's chain pass (so it meets the
rollback) and by the daemon (subprocess, its own log, discovering every schedule); then audited by
`milestonectl audit` as an auditor would, from the origin, with nothing but the Ogmios URL, and compared
with the daemon's log, complete and with one event missing.

Every expectation is computed from what the test did (the definitions, the transactions it built and
the keys it signed with), never by the audit's code.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from audit_chain import M1, Expected, make_chain
from daemon_process import REPO, Daemon, short_folder, write_config
from txbuilder_support import world

from milestoned.commands.audit_cmd import intersect, sync_to_tip
from milestoned.commands.cli import main
from milestoned.eventlog import EventLog, SQLiteConfig
from milestoned.eventlog.events import AllocationReleased
from milestoned.indexer.audit import reconcile
from milestoned.indexer.audit_pass import ChainAudit
from milestoned.indexer.discovery import FollowPolicy, derive_schedule_id
from milestoned.indexer.filter import WatchedContract
from milestoned.ogmios.client import OgmiosClient
from milestoned.web.routes import static_file


def in_process(*args: str) -> tuple[int, str]:
    """`milestonectl` in this process (in a worker thread: the devnet runs on the test's event loop);
    the first call of the test runs the real executable, the later ones save its start-up time."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(list(args))
    return code, out.getvalue()


def milestonectl(*args: str) -> tuple[int, str]:
    done = subprocess.run(
        [sys.executable, "-m", "milestoned.commands.cli", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )
    return done.returncode, done.stdout + done.stderr


def expected_balances(definition: Any, released: Any, reclaimed: Any) -> dict[str, dict[str, int]]:
    """Per beneficiary, from the definition and the predicates saying what the test released/reclaimed."""
    lines: dict[str, Counter[str]] = {}
    for allocation in definition.allocations:
        line = lines.setdefault(allocation.beneficiary_address, Counter())
        amount = allocation.token_amount
        line["defined"] += amount
        line["allocated"] += amount
        if released(allocation):
            line["released"] += amount
            line["paid"] += amount
        elif reclaimed(allocation):
            line["reclaimed"] += amount
        else:
            line["still_locked"] += amount
    keys = ("defined", "allocated", "released", "reclaimed", "still_locked", "paid")
    return {who: {k: line[k] for k in keys} for who, line in lines.items()}


def balances_of(schedule: dict[str, Any]) -> dict[str, dict[str, int]]:
    keys = ("defined", "allocated", "released", "reclaimed", "still_locked", "paid")
    return {
        line["beneficiary"]: {k: line[k] for k in keys}
        for line in schedule["reconciliation"]["beneficiaries"]
    }


def check_report(document: dict[str, Any], chain: Expected) -> None:
    """The audit's JSON report says what the test did."""
    schedules = {s["schedule_id"]: s for s in document["schedules"]}
    assert set(schedules) == {chain.s1_id, chain.s2_id}  # never S3 (copied metadata) nor S4 (foreign one)
    s1, s2 = schedules[chain.s1_id], schedules[chain.s2_id]
    assert s1["ok"] and s2["ok"] and document["ok"]
    assert s1["derives_policy_id"] and s1["derived_id"] == chain.s1_id and s2["derives_policy_id"]

    m1 = M1.encode()
    assert balances_of(s1) == expected_balances(chain.s1, lambda a: a.milestone_id == m1, lambda a: True)
    assert balances_of(s2) == expected_balances(
        chain.s2, lambda a: a.beneficiary_address == chain.s2_beneficiary, lambda a: False
    )
    total = s1["reconciliation"]["total"]
    assert total["allocated"] == chain.s1.total_amount and total["still_locked"] == 0 and total["ok"]

    lives = s1["allocations"]
    assert {a["locked"]["tx_id"] for a in lives} == set(chain.s1_registration)
    for life in lives:
        if life["milestone_id"] == m1.hex():
            assert life["state"] == "released" and life["spent"]["tx_id"] == chain.s1_release
        else:
            assert life["state"] == "reclaimed" and life["spent"]["tx_id"] in chain.s1_reclaims
    assert [t["tx_id"] for t in s2["registration"]] == chain.s2_parts
    assert Counter(a["locked"]["tx_id"] for a in s2["allocations"]).keys() == set(chain.s2_parts)
    released2 = [a for a in s2["allocations"] if a["state"] == "released"]
    assert {a["spent"]["tx_id"] for a in released2} == {chain.s2_release}
    assert {a["beneficiary"] for a in released2} == {chain.s2_beneficiary}

    [attested1] = s1["attestations"]
    assert attested1["milestone"] == M1 and attested1["tx_id"] == chain.s1_release
    assert set(attested1["oracle_keys"]) == chain.oracle_keys[chain.s1_id] and attested1["quorum_reached"]
    [attested2] = s2["attestations"]
    assert set(attested2["oracle_keys"]) == chain.oracle_keys[chain.s2_id]

    paid: Counter[str] = Counter()
    for payment in s1["payments"]:
        assert payment["tx_id"] == chain.s1_release
        paid[payment["address"]] += payment["amount"]
    owed: Counter[str] = Counter()
    for allocation in chain.s1.allocations:
        if allocation.milestone_id == m1:
            owed[allocation.beneficiary_address] += allocation.token_amount
    assert paid == owed

    refused = {(r["schedule_id"], r["reason"]) for r in document["rejected_registrations"]}
    assert (chain.s3_id, "mint_mismatch") in refused
    assert (chain.s4_id, "policy_mismatch") in refused
    assert any(r["reason"].startswith("metadata_") for r in document["rejected_registrations"])


async def test_audit_from_the_chain_alone_and_against_a_real_daemons_log(tmp_path: Path) -> None:
    async with world() as w:
        folder = short_folder()
        config = write_config(
            folder,
            chain={"ogmios_url": w.devnet.url, "start": "origin"},
            follow={"all": True},
        )
        daemon = Daemon(config, folder / "d.sock", folder / "daemon.log")
        await asyncio.to_thread(daemon.start)
        client = await OgmiosClient.connect(w.devnet.url, max_frame_bytes=None)
        live = ChainAudit(WatchedContract.of_network("devnet"), FollowPolicy(everything=True))
        try:
            assert not await intersect(client, "origin")
            await sync_to_tip(client, live)

            def indexer_slot() -> int | None:
                return daemon.call("health")["result"]["indexer_slot"]

            async def caught_up() -> None:
                tip = w.devnet.chain.tip
                assert tip is not None
                while live.tip is None or live.tip.header_hash != tip.id.hex():
                    await sync_to_tip(client, live)  # one block at a time when several were queued
                await asyncio.to_thread(
                    daemon.wait_until, lambda: indexer_slot() == tip.slot, f"the daemon at slot {tip.slot}"
                )

            chain = await make_chain(w, caught_up)

            # the live pass met the rollback across S2's registration, and reconciles all the same
            report = reconcile(live.items, derive_schedule_id)
            assert report.rollbacks >= 1
            check_report(json.loads(json.dumps(report.to_json())), chain)

            # the auditor: only the Ogmios URL, from the origin; and the daemon's log, read-only
            events_db = folder / "data" / "events.db"
            html = tmp_path / "audit.html"
            code, output = await asyncio.to_thread(
                milestonectl,
                "audit", "--ogmios", w.devnet.url, "--from", "origin", "--json",
                "--html", str(html), "--against-log", str(events_db),
            )  # fmt: skip
            assert code == 0, output
            document = json.loads(output)
            check_report(document, chain)
            assert document["still_locked_checked_against_ledger"] is True
            against = document["against_log"]
            assert against["ok"] and against["differences"] == [] and against["compared"] > 70
            with EventLog(SQLiteConfig(events_db)) as log:
                events = [e.event for e in log.iter_events()]
                head = log.head()
            assert any(e.topic == "RolledBack/v1" for e in events)  # the daemon met the rollback too
            page = html.read_text()
            assert head.hash in page and chain.s1_id in page and chain.s2_id in page
            assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)  # no external assets
            assert "<link" not in page and "@import" not in page
            # the web view's page and style sheet (issue 13.3: the audit report looks like the pages)
            assert static_file("web.css").decode() in page and '<header class="site">' in page

            # one schedule asked for: only it; a schedule whose metadata is foreign: never a schedule
            code, output = await asyncio.to_thread(
                in_process, "audit", "--ogmios", w.devnet.url, "--from", "origin",
                "--schedule", chain.s2_id,
            )  # fmt: skip
            assert code == 0, output
            assert f"schedule {chain.s2_id}" in output and chain.s1_id not in output
            assert "reconciliation" in output and "verdict: every schedule reconciles" in output
            code, output = await asyncio.to_thread(
                in_process, "audit", "--ogmios", w.devnet.url, "--from", "origin", "--json",
                "--schedule", chain.s4_id,
            )  # fmt: skip
            refused = json.loads(output)
            assert code == 1 and refused["schedules"] == [] and refused["missing"] == [chain.s4_id]
            assert [r["reason"] for r in refused["rejected_registrations"]] == ["policy_mismatch"]

            # a log missing one event (a release): exactly that difference
            dropped = next(e for e in events if isinstance(e, AllocationReleased))
            partial = tmp_path / "partial.db"
            with EventLog(SQLiteConfig(partial)) as copy:
                copy.append([e for e in events if e is not dropped])
            code, output = await asyncio.to_thread(
                in_process, "audit", "--ogmios", w.devnet.url, "--from", "origin", "--json",
                "--against-log", str(partial),
            )  # fmt: skip
            assert code == 1, output
            differences = json.loads(output)["against_log"]["differences"]
            assert [(d["kind"], d["subject"]) for d in differences] == [("only_on_chain", dropped.out_ref)]
            assert json.loads(output)["schedules"][0]["ok"]  # the chain itself still reconciles
        finally:
            await client.close()
            await asyncio.to_thread(daemon.stop)
