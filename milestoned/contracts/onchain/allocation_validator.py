"""The allocation spending validator: one script for every schedule (unparameterised).

An allocation UTxO may be spent only in a transaction that burns auth tokens of the schedule named in
its datum, which makes that schedule's minting policy run; the policy does the real checks once per
transaction (release: oracles, vesting, payouts; reclaim: admin, deadline), including the check that
every spent UTxO at this address whose datum names the schedule holds one of its auth tokens (it burns
exactly as many tokens as there are such UTxOs). A UTxO sent here without an auth token is therefore
locked only as long as the policy its datum names refuses the burn: a datum naming one of our schedules
locks it for good, a datum naming a policy anyone can burn under does not. Real allocations, registered
by a schedule policy, are not affected.

The validator reads its datum from the V3 ScriptInfo (`SpendingScript out_ref (Just datum)`) and never
walks the inputs: its cost does not grow with the number of allocations in the transaction. A
transaction that mints nothing under the schedule's policy reads as burning nothing, so it fails with
"auth token not burned" rather than a missing-key error. The burn read is the policy's first minted
entry (`items()[0]`): a schedule policy mints or burns only its auth token, so that entry is the auth
token, and reading it costs no key look-up in a script that runs once per allocation.
"""

from opshin.prelude import *


@dataclass()
class AllocationDatum(PlutusData):
    CONSTR_ID = 0
    schedule_id: bytes
    beneficiary: Address
    amount: int
    milestone_id: bytes
    vesting_time: int


@dataclass()
class InlineDatum(PlutusData):
    # Maybe Datum: Just (a Nothing has no field, so reading it fails)
    CONSTR_ID = 0
    datum: Anything


@dataclass()
class SpendingScript(PlutusData):
    # V3 ScriptInfo for spending: out-ref and the datum
    CONSTR_ID = 1
    tx_out_ref: TxOutRef
    datum: InlineDatum


@dataclass()
class SpendingContext(PlutusData):
    CONSTR_ID = 0
    transaction: TxInfo
    redeemer: Anything
    script_info: Union[Minting, SpendingScript]


def validator(context: SpendingContext) -> None:
    script_info = context.script_info
    assert isinstance(script_info, SpendingScript), "not spending"
    allocation: AllocationDatum = script_info.datum.datum
    # a mint without the schedule's policy reads as nothing burned, so the failure says why
    nothing: Dict[bytes, int] = {b"": 0}
    assert context.transaction.mint.get(allocation.schedule_id, nothing).items()[0][1] < 0, (
        "auth token not burned"
    )
