"""The schedule minting policy: its policy id is the schedule id.

Parameterised by the schedule's rules, so the id commits to the admin, the token, the oracles, the
quorum, the reclaim deadline and a nonce (and the allocation validator's hash). It mints one auth token
per allocation at registration and burns them at release or reclaim. The allocation validator defers
to it, so these checks run once per transaction however many allocations it spends, in one pass over
the inputs and one over the outputs:

- Every redeemer: the quorum is at least 1 (with 0, an empty attestation would release anything).
- Register: admin signature; the oracle keys are distinct and the quorum at most their number (a key
  listed twice would let one oracle fill a quorum of two); every output holding the auth token is at
  the validator, holds exactly one, carries a well-formed inline AllocationDatum for this schedule with
  a positive amount and exactly that amount of the token (a release pays exactly the amount, so a
  surplus would be up for grabs) and a beneficiary a wallet can spend from (28-byte credentials, a
  pointer within the ledger's Word32/Word16 ranges); as many tokens minted as such outputs.
- Release: every spent allocation's milestone is attested by `quorum` distinct known oracles (indices
  strictly ascending, each signature checked once per milestone), the validity range starts at or after
  its vesting time, and the payouts match: walking the allocations in input order and merging
  consecutive ones of the same beneficiary into runs, the outputs tagged with this schedule id (inline
  datum = schedule id) pay, in output order, exactly one run each, to its beneficiary, exactly its
  token amount and at least the lovelace its allocations held (so whoever submits a release, anyone
  once the signatures are public, cannot pay min-ADA and keep the rest). A tagged output is thus
  counted once, for one schedule. A tagged output holds ADA and the released token only and no
  reference script: the submitter cannot load a beneficiary's payout with foreign tokens or a large
  script that make it costly to spend.
  How (issue 18.5, one pass each way, nothing built per allocation but the data compared): the tagged
  outputs are first gathered into a chain of PaidOutput data, last first (no list indexing). The inputs
  are then walked last first, so the runs close last first too, and each run is checked against the
  head of the chain as soon as it closes (`check_payout`): its payout is the output it expects
  (beneficiary, its own ADA and exactly the run's token amount, the tag, no reference script), compared
  as data in one `==` (the `equalsData` builtin), with at least the run's lovelace. The open run
  starts at an address with an empty credential, which no registered beneficiary has
  (`check_spendable`), so the first allocation always closes it; its payout is a placeholder output
  pushed on the chain's head. A run that does not match is carried on as an `Unpaid` marker (not
  raised in the loop), so that a release with a wrong payout still fails the input checks and the burn
  count first; only then does `explain_unpaid` look at the parts of the marked payout to name the rule
  broken, and a tagged output left unmatched fails as "more tagged payouts than runs". ADA is read as
  the first entry of a value (the ledger's canonical order puts ADA first in every output), not looked
  up by key. Reclaim walks the inputs in a loop of its own that only counts.
- Reclaim: exactly the Reclaim redeemer (any other constructor is refused, not taken for a reclaim),
  admin signature, validity range starting at or after the reclaim deadline.
- Cancel (issue 15): admin signature, and every spent allocation's milestone cancelled by `quorum`
  distinct known oracles, signing `milestoned/cancel/v1 || schedule id || milestone id` (never the
  attestation message, so neither can stand for the other); no deadline, and a pause does not block it.
  Its loop is the reclaim's, with the milestone check.
- Guardians (issue 15): with a threshold above 0, every release must read the schedule's state UTxO as a
  reference input (found by the state token, which only the state validator can move; its address checked
  too) and is refused while its datum says paused; every registration must read it too, so no allocation
  exists before the state does (else the admin could leave every release stranded). `InitState` mints
  that single token (asset name `state`), with the admin's signature, spending the guardians' `seed` UTxO
  (so once only: the token is unique), for a schedule whose guardians are distinct keys with 0 <
  threshold <= their number, into an output at the state validator whose inline datum is the initial
  state: this schedule, its guardians, its threshold, not paused, and no reference script (a large one
  would tax every release that reads the state). Without guardians (threshold 0) a release pays one
  comparison.
- Release, reclaim and cancel count the spent UTxOs at the validator whose datum names this schedule and burn
  exactly that many auth tokens. As every auth token lives alone in such a UTxO, the count can only
  match when each of them holds one: a spoofed allocation (no auth token) makes the transaction fail,
  and no auth token survives a release or reclaim. This avoids a value lookup per input.
"""

from opshin.prelude import *
from opshin.std.builtins import *
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
class OracleSignature(PlutusData):
    CONSTR_ID = 0
    oracle_index: int
    signature: bytes


@dataclass()
class MilestoneAttestation(PlutusData):
    CONSTR_ID = 0
    milestone_id: bytes
    signatures: List[OracleSignature]


@dataclass()
class Run(PlutusData):
    # a payout run: what its tagged output must carry (at least `lovelace`, exactly `amount`)
    CONSTR_ID = 0
    beneficiary: Address
    amount: int
    lovelace: int


@dataclass()
class PaidOutput(PlutusData):
    # the tagged outputs, last first, as a chain: `rest` is the PaidOutput before it or NoPaidOutput
    CONSTR_ID = 0
    output: TxOut
    rest: Anything


@dataclass()
class Holding(PlutusData):
    # a payout's value, wrapped so that it can be compared as data in one builtin call
    CONSTR_ID = 0
    value: Dict[bytes, Dict[bytes, int]]


@dataclass()
class NoPaidOutput(PlutusData):
    CONSTR_ID = 1


@dataclass()
class Unpaid(PlutusData):
    # the first run (last first) whose payout does not match, and the tagged outputs from there: the
    # release fails after the input checks and the burn count, naming the rule (as checking last did)
    CONSTR_ID = 2
    run: Run
    paid: Anything


@dataclass()
class Guardians(PlutusData):
    # who may pause the schedule's releases: `threshold` of `keys` (payment key hashes); 0: no guardians.
    # `seed`: the UTxO InitState must spend, so that the state token is minted once only
    CONSTR_ID = 0
    keys: List[bytes]
    threshold: int
    seed: TxOutRef


@dataclass()
class ScheduleState(PlutusData):
    # the state UTxO's datum (schedule_state.py)
    CONSTR_ID = 0
    schedule_id: bytes
    guardian_keys: List[bytes]
    threshold: int
    paused: int


@dataclass()
class Register(PlutusData):
    CONSTR_ID = 0


@dataclass()
class Release(PlutusData):
    CONSTR_ID = 1
    attestations: List[MilestoneAttestation]


@dataclass()
class Reclaim(PlutusData):
    CONSTR_ID = 2


@dataclass()
class Cancel(PlutusData):
    CONSTR_ID = 3
    cancellations: List[MilestoneAttestation]


@dataclass()
class InitState(PlutusData):
    CONSTR_ID = 4


def lower_bound_ms(tx: TxInfo) -> int:
    limit = tx.validity_range.lower_bound.limit
    assert isinstance(limit, FinitePOSIXTime), "validity range has no lower bound"
    return limit.time


def verified_milestones(
    attestations: List[MilestoneAttestation], statement: bytes, oracle_keys: List[bytes], quorum: int
) -> List[bytes]:
    # `statement`: the message's prefix and schedule id (attest or cancel), the milestone id follows
    oracle_count = len(oracle_keys)
    verified: List[bytes] = []
    for attestation in attestations:
        milestone_id = attestation.milestone_id
        message = statement + milestone_id
        previous = -1
        valid = 0
        for sig in attestation.signatures:
            index = sig.oracle_index
            assert index > previous, "oracle indices must ascend"
            assert index < oracle_count, "unknown oracle"
            assert verify_ed25519_signature(oracle_keys[index], message, sig.signature), "bad signature"
            previous = index
            valid += 1
        assert valid >= quorum, "quorum not reached"
        verified = [milestone_id] + verified
    return verified


def check_distinct_oracles(oracle_keys: List[bytes]) -> None:
    seen: List[bytes] = []
    for key in oracle_keys:
        assert key not in seen, "oracle key repeated"
        seen = [key] + seen


def check_distinct_keys(keys: List[bytes]) -> None:
    seen: List[bytes] = []
    for key in keys:
        assert key not in seen, "guardian key repeated"
        seen = [key] + seen


def read_state(tx: TxInfo, own_id: bytes, state_validator_hash: bytes) -> int:
    # the schedule's state, read from the reference input holding its state token: `paused`. The token
    # is unique (its creation spends the seed) and only the state validator moves it; its address is
    # checked all the same.
    no_tokens: Dict[bytes, int] = {}
    paused = -1
    for reference in tx.reference_inputs:
        resolved = reference.resolved
        if resolved.value.get(own_id, no_tokens).get(b"state", 0) == 1:
            assert resolved.address.payment_credential == ScriptCredential(state_validator_hash), (
                "schedule state not at the state validator"
            )
            state_datum = resolved.datum
            assert isinstance(state_datum, SomeOutputDatum), "schedule state has no inline datum"
            state: ScheduleState = state_datum.datum
            paused = state.paused
    assert paused >= 0, "schedule state reference input missing"
    return paused


def init_state(
    tx: TxInfo,
    own_id: bytes,
    minted: Dict[bytes, int],
    admin_key_hash: bytes,
    guardians: Guardians,
    state_validator_hash: bytes,
) -> None:
    assert minted.get(b"state", 0) == 1, "mint exactly one state token"
    assert admin_key_hash in tx.signatories, "admin signature missing"
    keys = guardians.keys
    threshold = guardians.threshold
    assert threshold > 0 and threshold <= len(keys), "guardian threshold must be 1 to the number of guardians"
    check_distinct_keys(keys)
    # the seed can be spent once: no second state token, whoever signs (a retried InitState included)
    seed = guardians.seed
    seeded = False
    for spent in tx.inputs:
        if spent.out_ref == seed:
            seeded = True
    assert seeded, "state seed not spent"
    no_tokens: Dict[bytes, int] = {}
    expected = SomeOutputDatum(ScheduleState(own_id, keys, threshold, 0))
    placed = 0
    for out in tx.outputs:
        if out.value.get(own_id, no_tokens).get(b"state", 0) > 0:
            assert out.address.payment_credential == ScriptCredential(state_validator_hash), (
                "state token not at the state validator"
            )
            assert out.datum == expected, "wrong initial schedule state"
            reference_script = out.reference_script
            assert isinstance(reference_script, NoScriptHash), "schedule state carries a reference script"
            placed += 1
    assert placed == 1, "state token not at the state validator"


def check_spendable(address: Address) -> None:
    # a beneficiary must be an address a wallet can receive at and spend from: a credential of any other
    # length, or a pointer the ledger would not keep as written, could never match a payout output
    assert len(address.payment_credential.credential_hash) == 28, (
        "beneficiary payment credential is not 28 bytes"
    )
    staking = address.staking_credential
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


def explain_payout(out: TxOut, run: Run, lovelace: int, token_policy_id: bytes, token_name: bytes) -> None:
    # Only for a payout that differs from the one its run expects: names the first rule it breaks. The
    # expected output differs from it only in these four parts (the datum is the tag by selection and
    # the lovelace is its own), so one of the checks fails.
    value = out.value
    no_tokens: Dict[bytes, int] = {}
    amount = value.get(token_policy_id, no_tokens).get(token_name, 0)
    expected = Holding({b"": {b"": lovelace}, token_policy_id: {token_name: amount}})
    assert equals_data(Holding(value), expected), "payout must hold ADA and the released token only"
    reference_script = out.reference_script
    assert isinstance(reference_script, NoScriptHash), "payout carries a reference script"
    assert out.address == run.beneficiary, "payouts do not match the allocations: wrong address or order"
    assert amount == run.amount, "payouts do not match the allocations: wrong token amount"


def next_payout(paid: Union[PaidOutput, NoPaidOutput]) -> PaidOutput:
    assert isinstance(paid, PaidOutput), (
        "payouts do not match the allocations: fewer tagged payouts than runs"
    )
    return paid


def explain_unpaid(unpaid: Unpaid, token_policy_id: bytes, token_name: bytes) -> None:
    # fails with the rule the marked run's payout breaks
    run = unpaid.run
    at: Union[PaidOutput, NoPaidOutput] = unpaid.paid
    payout = next_payout(at)
    out = payout.output
    lovelace = out.value.items()[0][1].items()[0][1]
    explain_payout(out, run, lovelace, token_policy_id, token_name)
    assert lovelace >= run.lovelace, "payout carries less ADA than its allocations locked"


def validator(
    admin_key_hash: bytes,
    token_policy_id: bytes,
    token_name: bytes,
    oracle_keys: List[bytes],
    quorum: int,
    reclaim_deadline_ms: int,
    nonce: bytes,
    validator_hash: bytes,
    guardians: Guardians,
    state_validator_hash: bytes,
    context: ScriptContext,
) -> None:
    purpose = context.purpose
    assert isinstance(purpose, Minting), "not minting"
    assert quorum > 0, "quorum must be at least 1"
    own_id = purpose.policy_id
    tx = context.transaction
    redeemer: Union[Register, Release, Reclaim, Cancel, InitState] = context.redeemer
    no_tokens: Dict[bytes, int] = {}
    minted = tx.mint[own_id]
    assert len(minted) == 1, "mint only the auth token"
    minted_count = minted.get(b"", 0)
    validator_credential = ScriptCredential(validator_hash)
    if isinstance(redeemer, Register):
        assert admin_key_hash in tx.signatories, "admin signature missing"
        assert quorum <= len(oracle_keys), "quorum larger than the number of oracles"
        check_distinct_oracles(oracle_keys)
        if guardians.threshold > 0:
            # allocations of a schedule with guardians exist only once its state does (InitState comes
            # first): the admin cannot register them and then leave every release without a state
            read_state(tx, own_id, state_validator_hash)
        registered = 0
        for out in tx.outputs:
            auth = out.value.get(own_id, no_tokens)
            if len(auth) > 0:
                assert auth.get(b"", 0) == 1 and len(auth) == 1, "one auth token per output"
                assert out.address.payment_credential == validator_credential, "wrong address"
                out_datum = out.datum
                assert isinstance(out_datum, SomeOutputDatum), "no inline datum"
                allocation: AllocationDatum = out_datum.datum
                check_integrity(allocation)
                assert allocation.schedule_id == own_id, "wrong schedule id"
                assert allocation.amount > 0, "amount not positive"
                check_spendable(allocation.beneficiary)
                funded = out.value.get(token_policy_id, no_tokens).get(token_name, 0)
                assert funded == allocation.amount, "token amount held differs from the datum amount"
                registered += 1
        assert minted_count == registered and registered > 0, "mint count"
    elif isinstance(redeemer, InitState):
        init_state(tx, own_id, minted, admin_key_hash, guardians, state_validator_hash)
    else:
        releasing = False
        cancelling = False
        now = 0
        verified: List[bytes] = []
        if isinstance(redeemer, Release):
            releasing = True
            now = lower_bound_ms(tx)
            verified = verified_milestones(
                redeemer.attestations, b"milestoned/attest/v1" + own_id, oracle_keys, quorum
            )
            if guardians.threshold > 0:
                assert read_state(tx, own_id, state_validator_hash) == 0, "schedule paused"
        elif isinstance(redeemer, Cancel):
            cancelling = True
            assert admin_key_hash in tx.signatories, "admin signature missing"
            verified = verified_milestones(
                redeemer.cancellations, b"milestoned/cancel/v1" + own_id, oracle_keys, quorum
            )
        else:
            # not isinstance: the compiler narrows the union to Reclaim here and would drop that check
            assert equals_data(redeemer, Reclaim()), (
                "unknown redeemer: expected Register, Release, Reclaim, Cancel or InitState"
            )
            assert admin_key_hash in tx.signatories, "admin signature missing"
            assert lower_bound_ms(tx) >= reclaim_deadline_ms, "before reclaim deadline"
        spent = 0
        # the open payout run (spent > 0: one is open) and the tagged outputs not yet matched, in output
        # order, last first: walking the inputs last first, a run is checked against the tagged output
        # before those already matched as soon as it closes
        # no registered beneficiary has an empty credential (check_spendable): the first allocation never
        # merges into this run, and its payout is the placeholder pushed on the chain below
        no_credential: Union[PubKeyCredential, ScriptCredential] = PubKeyCredential(b"")
        run_address = Address(no_credential, NoStakingCredential())
        run_amount = 0
        run_lovelace = 0
        tag = SomeOutputDatum(own_id)
        no_script = NoScriptHash()
        paid: Union[PaidOutput, NoPaidOutput, Unpaid] = NoPaidOutput()

        def check_payout(
            paid: Union[PaidOutput, NoPaidOutput, Unpaid], beneficiary: Address, amount: int, locked: int
        ) -> Union[PaidOutput, NoPaidOutput, Unpaid]:
            if isinstance(paid, PaidOutput):
                out = paid.output
                lovelace = out.value.items()[0][1].items()[0][1]
                expected = TxOut(
                    beneficiary,
                    {b"": {b"": lovelace}, token_policy_id: {token_name: amount}},
                    tag,
                    no_script,
                )
                if out == expected:
                    if lovelace >= locked:
                        rest: Union[PaidOutput, NoPaidOutput, Unpaid] = paid.rest
                        return rest
            elif isinstance(paid, Unpaid):
                return paid
            return Unpaid(Run(beneficiary, amount, locked), paid)

        if releasing:
            for out in tx.outputs:
                if out.datum == tag:
                    paid = PaidOutput(out, paid)
            placeholder = TxOut(
                run_address, {b"": {b"": 0}, token_policy_id: {token_name: 0}}, tag, no_script
            )
            paid = PaidOutput(placeholder, paid)
        if releasing:
            for i in reversed(tx.inputs):
                resolved = i.resolved
                if resolved.address.payment_credential == validator_credential:
                    in_datum = resolved.datum
                    assert isinstance(in_datum, SomeOutputDatum), "no inline datum"
                    allocation: AllocationDatum = in_datum.datum
                    if allocation.schedule_id == own_id:
                        spent += 1
                        assert allocation.milestone_id in verified, "milestone not attested"
                        assert allocation.vesting_time <= now, "not vested"
                        beneficiary = allocation.beneficiary
                        if beneficiary == run_address:
                            run_amount += allocation.amount
                            run_lovelace += resolved.value.items()[0][1].items()[0][1]
                        else:
                            paid = check_payout(paid, run_address, run_amount, run_lovelace)
                            run_address = beneficiary
                            run_amount = allocation.amount
                            run_lovelace = resolved.value.items()[0][1].items()[0][1]
        else:
            for i in tx.inputs:
                resolved = i.resolved
                if resolved.address.payment_credential == validator_credential:
                    in_datum = resolved.datum
                    assert isinstance(in_datum, SomeOutputDatum), "no inline datum"
                    allocation: AllocationDatum = in_datum.datum
                    if allocation.schedule_id == own_id:
                        spent += 1
                        if cancelling:
                            assert allocation.milestone_id in verified, "milestone not cancelled"
        # Every auth token sits alone in an allocation UTxO at the validator (register guarantees it and
        # this check keeps it so): burning as many tokens as there are spent UTxOs naming this schedule
        # means each of them held one (a spoofed one would leave the count short) and none escapes.
        assert minted_count == -spent and spent > 0, "burn count"
        if releasing:
            rest = check_payout(paid, run_address, run_amount, run_lovelace)
            assert not isinstance(rest, PaidOutput), (
                "payouts do not match the allocations: more tagged payouts than runs"
            )
            if isinstance(rest, Unpaid):
                explain_unpaid(rest, token_policy_id, token_name)
