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

Issue 15 adds one path that burns nothing: a beneficiary moves a still-locked allocation to a new
address (redeemer `Move(index)`). It runs only when the transaction burns none of the schedule's tokens,
so a release or reclaim costs nothing more. The beneficiary's payment key must sign (a script
credential cannot, and is refused by name); the allocation is the input at `index` and its re-locked
copy the output at the same `index`: the same address, the same value (tokens, auth token and ADA), no
reference script, and an inline datum equal to the old one but for the beneficiary, who must be an
address a wallet can spend from. Tying each moved input to the output at its own position means two
moved allocations can never be satisfied by one output. A moved allocation spent next to a release or
reclaim of its schedule is counted by the policy, which then cannot burn as many tokens as it counts:
such a transaction fails.
"""

from opshin.prelude import *
from opshin.std.integrity import check_integrity


@dataclass()
class AllocationDatum(PlutusData):
    CONSTR_ID = 0
    schedule_id: bytes
    beneficiary: Address
    amount: int
    milestone_id: bytes
    vesting_time: int


@dataclass()
class SpendAllocation(PlutusData):
    # release, reclaim or cancellation: the schedule policy decides
    CONSTR_ID = 0


@dataclass()
class Move(PlutusData):
    # the beneficiary moves the allocation: input and re-locked output at `index`
    CONSTR_ID = 1
    index: int


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


def check_move(context: SpendingContext, own_ref: TxOutRef, allocation: AllocationDatum, index: int) -> None:
    # a function of its own: inlined in `validator`, its code cost every release's spend about 6,000
    # more memory units; called, it costs about 2,800 (OpShin binds what the branch uses up front)
    tx = context.transaction
    credential = allocation.beneficiary.payment_credential
    assert isinstance(credential, PubKeyCredential), "beneficiary is a script: a move needs a key's signature"
    assert credential.credential_hash in tx.signatories, "beneficiary signature missing"
    assert index >= 0 and index < len(tx.inputs), "move index out of range"
    spent = tx.inputs[index]
    assert spent.out_ref == own_ref, "move index does not name this allocation"
    assert index < len(tx.outputs), "moved allocation output missing"
    out = tx.outputs[index]
    locked = spent.resolved
    assert out.address == locked.address, "moved allocation must stay at the same address"
    reference_script = out.reference_script
    assert isinstance(reference_script, NoScriptHash), "moved allocation carries a reference script"
    out_datum = out.datum
    assert isinstance(out_datum, SomeOutputDatum), "moved allocation has no inline datum"
    moved: AllocationDatum = out_datum.datum
    expected = AllocationDatum(
        allocation.schedule_id,
        moved.beneficiary,
        allocation.amount,
        allocation.milestone_id,
        allocation.vesting_time,
    )
    assert moved == expected, "a move changes the beneficiary only"
    # address, datum and reference script are as checked: only the value can still differ
    assert out == TxOut(locked.address, locked.value, out_datum, reference_script), (
        "moved allocation must hold the same value"
    )
    # the rest of `moved` is the old datum's (compared above); its beneficiary must be well formed
    check_integrity(moved.beneficiary)
    # the policy's rule for registered beneficiaries (schedule_policy.check_spendable), for a new one
    assert len(moved.beneficiary.payment_credential.credential_hash) == 28, (
        "beneficiary payment credential is not 28 bytes"
    )
    staking = moved.beneficiary.staking_credential
    if isinstance(staking, SomeStakingCredential):
        inner = staking.staking_credential
        if isinstance(inner, StakingHash):
            assert len(inner.value.credential_hash) == 28, "beneficiary staking credential is not 28 bytes"
        else:
            pointer: StakingPtr = inner
            assert (
                pointer.slot_no >= 0
                and pointer.slot_no <= 4294967295
                and pointer.tx_index >= 0
                and pointer.tx_index <= 65535
                and pointer.cert_index >= 0
                and pointer.cert_index <= 65535
            ), "beneficiary pointer out of range"


def validator(context: SpendingContext) -> None:
    script_info = context.script_info
    assert isinstance(script_info, SpendingScript), "not spending"
    allocation: AllocationDatum = script_info.datum.datum
    # a mint without the schedule's policy reads as nothing burned: a move, or a failure that says why
    nothing: Dict[bytes, int] = {b"": 0}
    if context.transaction.mint.get(allocation.schedule_id, nothing).items()[0][1] >= 0:
        redeemer: Union[SpendAllocation, Move] = context.redeemer
        assert isinstance(redeemer, Move), "auth token not burned"
        check_move(context, script_info.tx_out_ref, allocation, redeemer.index)
