"""The schedule-state validator: where a schedule with guardians keeps whether its releases are paused.

One script for every schedule (unparameterised), like the allocation validator. A schedule registered
with guardians has exactly one state UTxO here: the schedule policy mints its single state token (asset
name `state`) under the `InitState` redeemer, with the admin's signature and spending the seed UTxO its
guardians parameter names (so once only), into an output at this address whose inline datum is
`ScheduleState(schedule_id, guardian_keys, threshold, 0)`, the guardians and threshold being the policy's
own parameters (so the schedule id commits to them). The token can never be minted again (the seed is
spent), nor burned. Every registration and release of the schedule reads the state UTxO as a reference
input; a release is refused while `paused` is 1.

Spending the state UTxO (redeemer `SetPaused(paused)`, 0 or 1) needs the signatures of `threshold`
distinct guardians named in its datum, and the state token must stay here: the one output holding the
state token is at this same address, with the datum unchanged but for `paused`, and carries no reference
script (a large one would tax every release that reads the state). A UTxO sent here without the state
token can only be spent alongside the real one, into the real one's output, so it never carries the state
away.
"""

from opshin.prelude import *


@dataclass()
class ScheduleState(PlutusData):
    CONSTR_ID = 0
    schedule_id: bytes
    guardian_keys: List[bytes]
    threshold: int
    paused: int


@dataclass()
class SetPaused(PlutusData):
    CONSTR_ID = 0
    paused: int


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
    state: ScheduleState = script_info.datum.datum
    redeemer: SetPaused = context.redeemer
    tx = context.transaction
    paused = redeemer.paused
    assert paused == 0 or paused == 1, "paused must be 0 or 1"
    signed = 0
    for key in state.guardian_keys:
        if key in tx.signatories:
            signed += 1
    assert state.threshold > 0 and signed >= state.threshold, "guardian threshold not reached"
    own_ref = script_info.tx_out_ref
    own_address = [spent.resolved.address for spent in tx.inputs if spent.out_ref == own_ref][0]
    no_tokens: Dict[bytes, int] = {}
    expected = SomeOutputDatum(ScheduleState(state.schedule_id, state.guardian_keys, state.threshold, paused))
    kept = 0
    for out in tx.outputs:
        if out.value.get(state.schedule_id, no_tokens).get(b"state", 0) > 0:
            assert out.address == own_address, "the state token must stay at the schedule state"
            assert out.datum == expected, "a state change sets paused only"
            reference_script = out.reference_script
            assert isinstance(reference_script, NoScriptHash), "schedule state carries a reference script"
            kept += 1
    assert kept == 1, "the state token must stay at the schedule state"
