"""Every attack of the contract catalogue that a ledger can carry, submitted to the devnet.

Each is the catalogue's attack (`milestoned.contracts.attacks`) over real UTxOs, signed and sent with
Ogmios's `submitTransaction`: the node must refuse it with the code Ogmios gives (3136 for a transaction
marked valid whose script fails, with each failing validator and its trace message in the reason; or the
ledger rule that catches it first) and leave the chain as it was. Then the accepted twin, the same
transaction without the attack's one change, is submitted and accepted, so the refusal is the change's.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import websockets
from contract_twins import TwinLedger
from devnet_support import OgmiosProbe

from milestoned.contracts import attacks
from milestoned.contracts.governance_attacks import GOVERNANCE
from milestoned.devnet import encode

TWINNED = [a for a in attacks.ATTACKS if a.ledger is not None]
# Issues 11.3's and 15's lists, by catalogue name. `make test` submits these (37 cases, about 16 s on two
# cores); `make twins` (MILESTONED_TWINS=all) submits every attack that has a ledger twin (118, about 75 s).
ISSUE_LIST = (
    "one payout for two allocations of a schedule",  # double satisfaction within a schedule
    "one payout for two schedules",  # ... and across schedules
    "spoofed UTxO beside a real allocation",
    "one oracle signing twice",  # duplicate oracle signature
    "one oracle signing twice, once as a negative index",  # ... found by the mutation run
    "unknown oracle index",
    "outsider key signing as oracle 1",  # foreign oracle signature
    "release before vesting",
    "beneficiary underpaid",
    "payout redirected to someone else",
    "reclaim before the deadline",
    "reclaim without the admin",
    "reclaim burning more tokens than allocations",
    "reclaim burning fewer tokens than allocations",
    "register minting an extra auth token",
    # the rules of issue 11.4
    "payout carrying a foreign token",
    "payout carrying a reference script",
    "beneficiary pointer slot above 2^32-1",
    # issue 15's list: cancel, the guardians' pause, move
    "cancellation signed for another milestone",
    "cancellation signed for another schedule",
    "attestation presented as a cancellation",
    "cancellation presented as an attestation",
    "cancellation short of quorum",
    "cancellation without the admin",
    "cancel taking an allocation of a milestone not cancelled",  # reclaiming a milestone not cancelled
    "release while paused",
    "release reading a forged state UTxO",
    "release omitting the state reference input",
    "pause without the guardians' threshold",
    "move without the beneficiary's signature",
    "move changing the amount",
    "move changing the milestone",
    "move changing the vesting time",
    "move changing the schedule",
    "move taking the auth token elsewhere",
    "state token taken to a wallet",  # stealing the state token
    "a second state created without the seed",  # a forged state, with a real token, would bypass a pause
)
SUBMITTED = (
    TWINNED if os.environ.get("MILESTONED_TWINS") == "all" else [a for a in TWINNED if a.name in ISSUE_LIST]
)


@pytest.fixture(scope="module")
def ledger() -> Iterator[TwinLedger]:
    yield TwinLedger()


def test_the_issue_s_attacks_all_have_a_ledger_twin() -> None:
    assert set(ISSUE_LIST) <= {a.name for a in TWINNED}
    # every attack on issue 15's rules goes through the devnet too (`make twins`), but the one no ledger
    # can hold: a state token at a wallet (only the state validator ever moves it)
    assert {a.name for a in GOVERNANCE} - {a.name for a in TWINNED} == {
        "release reading a state token held at a wallet"
    }
    assert {a.name for a in SUBMITTED} >= set(ISSUE_LIST)


@pytest.mark.parametrize("attack", SUBMITTED, ids=lambda a: a.name)
async def test_the_ledger_refuses_the_attack_and_accepts_its_twin(
    attack: attacks.Attack, ledger: TwinLedger
) -> None:
    schedules = ledger.schedules_for(attack)
    good, bad = attack.transactions(schedules)
    attacked = ledger.realise(bad)
    before = ledger.snapshot()
    await ledger.devnet.start()
    try:
        async with websockets.connect(ledger.devnet.url, max_size=None) as connection:
            probe = OgmiosProbe(connection)
            error = await probe.error(
                "submitTransaction", {"transaction": {"cbor": attacked.tx.to_cbor_hex()}}
            )
            assert error["code"] == attack.ledger, error
            if attack.ledger == 3136:
                assert error["data"]["declaredSpending"] == "inputs"
                expected = sorted(
                    f"{encode.PURPOSES[tag]}:{index}: traces: {reason}"
                    for tag, index, reason in attack.expected(schedules, attacked)
                )
                failures = error["data"]["mismatchReason"].split("; ")
                found = sorted(
                    f"{f.split(': ', 1)[0]}: traces: {f.rsplit('(traces: ', 1)[-1].removesuffix(')')}"
                    for f in failures
                )
                assert found == expected, error
            assert ledger.snapshot() == before
            good_tx = ledger.realise(good).tx
            accepted = await probe.result(
                "submitTransaction", {"transaction": {"cbor": good_tx.to_cbor_hex()}}
            )
            assert accepted["transaction"]["id"] == str(good_tx.id)
    finally:
        await ledger.devnet.stop()
    ledger.chain.produce_block()
