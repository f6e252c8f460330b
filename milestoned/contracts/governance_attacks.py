"""The attacks on issue 15's rules (cancel, guardians' pause, move), each ONE change to an accepted
transaction, refused by its own rule: part of the one catalogue (`attacks.ATTACKS`), so the contract
tests, the devnet twins and the mutation run read them with the others.
"""

from __future__ import annotations

from pycardano import Address, ScriptHash, Value

from milestoned.contracts import scenarios as sc
from milestoned.contracts.attack_builders import (
    B1,
    B2,
    IN_RANGE,
    KEY_28,
    MAX_INDEX_16,
    MAX_SLOT_32,
    TINY_SCRIPT,
    Attack,
    ExtraFieldAddress,
    alloc,
    beneficiary_address,
    release,
)
from milestoned.contracts.governance_builders import (
    beneficiary_key,
    cancel,
    cancellation,
    guarded_register,
    guarded_release,
    init_state,
    move,
    set_paused,
    state_output,
    state_utxo,
)
from milestoned.domain import onchain_types as ot

INTRUDER = sc.signing_key("intruder")
SCRIPT_BENEFICIARY = ot.PlutusAddress(ot.ScriptCredential(KEY_28), ot.NoStakingCredential())
BENEFICIARY_ONLY = "a move changes the beneficiary only"
STATE_STAYS = "the state token must stay at the schedule state"
STATE_MISSING = "schedule state reference input missing"

CANCEL = (
    Attack(
        "cancellation signed for another milestone",
        cancel,
        lambda s: {"cancellations": None},
        lambda s: ("cancellations", [cancellation(s.main, signed_milestone=b"m2")]),
        "bad signature",
    ),
    Attack(
        "cancellation signed for another schedule",
        cancel,
        lambda s: {"cancellations": None},
        lambda s: ("cancellations", [cancellation(s.main, signed_schedule=s.other.schedule_id)]),
        "bad signature",
    ),
    Attack(
        "attestation presented as a cancellation",
        cancel,
        lambda s: {"cancellations": None},
        lambda s: ("cancellations", [s.main.attestation(b"m1", [0, 1])]),
        "bad signature",
    ),
    Attack(
        "cancellation presented as an attestation",
        release,
        lambda s: {"attestations": None},
        lambda s: ("attestations", [cancellation(s.main)]),
        "bad signature",
    ),
    Attack(
        "cancel with no cancellation at all",
        cancel,
        lambda s: {"cancellations": None},
        lambda s: ("cancellations", []),
        "milestone not cancelled",
    ),
    Attack(
        "cancellation short of quorum",
        cancel,
        lambda s: {"cancellations": None},
        lambda s: ("cancellations", [cancellation(s.main, oracles=[0])]),
        "quorum not reached",
    ),
    Attack(
        "cancellation without the admin",
        cancel,
        lambda s: {"signers": None},
        lambda s: ("signers", [INTRUDER]),
        "admin signature missing",
    ),
    Attack(
        "cancel taking an allocation of a milestone not cancelled",
        cancel,
        lambda s: {"allocations": (alloc(),)},
        lambda s: ("allocations", (alloc(), alloc(B2, 200, b"m2"))),
        "milestone not cancelled",
    ),
)

PAUSE = (
    Attack(
        "release while paused",
        guarded_release,
        lambda s: {"state": state_utxo(s.guarded)},
        lambda s: ("state", state_utxo(s.guarded, paused=1)),
        "schedule paused",
    ),
    Attack(
        "release reading a forged state UTxO",
        guarded_release,
        lambda s: {"state": state_utxo(s.guarded)},
        lambda s: ("state", state_utxo(s.guarded, state_tokens=0)),
        STATE_MISSING,
    ),
    Attack(
        "release omitting the state reference input",
        guarded_release,
        lambda s: {"state": state_utxo(s.guarded)},
        lambda s: ("state", {}),
        STATE_MISSING,
    ),
    Attack(
        "release reading a state token held at a wallet",
        guarded_release,
        lambda s: {"state": state_utxo(s.guarded)},
        lambda s: ("state", state_utxo(s.guarded, address=sc.wallet_address("thief"))),
        "schedule state not at the state validator",
        ledger=None,  # no ledger holds it there: only the state validator ever moves the token
    ),
    Attack(
        "registration before the state exists",
        guarded_register,
        lambda s: {"state": state_utxo(s.guarded)},
        lambda s: ("state", {}),
        STATE_MISSING,
    ),
    # a threshold of 1 reads the state as any other does: the guarded schedule's 2 would not tell
    # `threshold > 0` from `threshold > 1`
    Attack(
        "lone guardian's schedule registered before its state exists",
        guarded_register,
        lambda s: {"schedule": s.lone, "state": state_utxo(s.lone)},
        lambda s: ("state", {}),
        STATE_MISSING,
    ),
    Attack(
        "lone guardian's schedule released without its state",
        guarded_release,
        lambda s: {"schedule": s.lone, "state": state_utxo(s.lone)},
        lambda s: ("state", {}),
        STATE_MISSING,
    ),
    Attack(
        "pause loading a reference script on the state",
        set_paused,
        lambda s: {"output": "default"},
        lambda s: ("output", state_output(s.guarded, paused=1, script=TINY_SCRIPT)),
        "schedule state carries a reference script",
        failing="spend",
    ),
    Attack(
        "state token minted under another name",
        init_state,
        lambda s: {"name": ot.STATE_TOKEN_NAME},
        lambda s: ("name", b"stat"),
        "mint exactly one state token",
    ),
    Attack(
        "state created with a reference script",
        init_state,
        lambda s: {"output": "default"},
        lambda s: ("output", state_output(s.guarded, script=TINY_SCRIPT)),
        "schedule state carries a reference script",
    ),
    Attack(
        "pause without the guardians' threshold",
        set_paused,
        lambda s: {"signers": None},
        lambda s: ("signers", [s.guarded.guardian(0)]),
        "guardian threshold not reached",
        failing="spend",
    ),
    Attack(
        "pause signed by outsiders",
        set_paused,
        lambda s: {"signers": None},
        lambda s: ("signers", [INTRUDER, s.guarded.admin]),
        "guardian threshold not reached",
        failing="spend",
    ),
    Attack(
        "state token taken to a wallet",
        set_paused,
        lambda s: {"output": "default"},
        lambda s: ("output", state_output(s.guarded, paused=1, address=sc.wallet_address("thief"))),
        STATE_STAYS,
        failing="spend",
    ),
    Attack(
        "state moved under another stake credential",
        set_paused,
        lambda s: {"output": "default"},
        lambda s: (
            "output",
            state_output(
                s.guarded,
                paused=1,
                address=Address(
                    ScriptHash(s.guarded.scripts.state_validator_hash),
                    sc.key_hash(INTRUDER),
                    network=sc.NETWORK,
                ),
            ),
        ),
        STATE_STAYS,
        failing="spend",
    ),
    Attack(
        "state token left out of the state output",
        set_paused,
        lambda s: {"output": "default"},
        lambda s: ("output", state_output(s.guarded, paused=1, state_tokens=0)),
        STATE_STAYS,
        failing="spend",
    ),
    Attack(
        "guardians replaced while pausing",
        set_paused,
        lambda s: {"output": "default"},
        lambda s: (
            "output",
            state_output(s.guarded, datum=ot.ScheduleState(s.guarded.schedule_id, [KEY_28], 1, 1)),
        ),
        "a state change sets paused only",
        failing="spend",
    ),
    Attack(
        "state output saying otherwise than the redeemer",
        set_paused,
        lambda s: {"output": "default"},
        lambda s: ("output", state_output(s.guarded, paused=0)),
        "a state change sets paused only",
        failing="spend",
    ),
    Attack(
        "threshold lowered while pausing",
        set_paused,
        lambda s: {"output": "default"},
        lambda s: (
            "output",
            state_output(
                s.guarded,
                datum=ot.ScheduleState(
                    s.guarded.schedule_id, list(s.guarded.scripts.parameters.guardian_keys), 1, 1
                ),
            ),
        ),
        "a state change sets paused only",
        failing="spend",
    ),
    Attack(
        "paused set to -1",
        set_paused,
        lambda s: {"paused": 1},
        lambda s: ("paused", -1),
        "paused must be 0 or 1",
        failing="spend",
    ),
    Attack(
        "paused set to 2",
        set_paused,
        lambda s: {"paused": 1},
        lambda s: ("paused", 2),
        "paused must be 0 or 1",
        failing="spend",
    ),
    Attack(
        "a second state created without the seed",
        init_state,
        lambda s: {"seeded": True},
        lambda s: ("seeded", False),
        "state seed not spent",
    ),
    Attack(
        "state created without the admin",
        init_state,
        lambda s: {"signers": None},
        lambda s: ("signers", [s.guarded.guardian(0), s.guarded.guardian(1)]),
        "admin signature missing",
    ),
    Attack(
        "two state tokens minted",
        init_state,
        lambda s: {"minted": 1},
        lambda s: ("minted", 2),
        "mint exactly one state token",
    ),
    Attack(
        "state token sent to a wallet at creation",
        init_state,
        lambda s: {"output": "default"},
        lambda s: ("output", state_output(s.guarded, address=sc.wallet_address("thief"))),
        "state token not at the state validator",
    ),
    Attack(
        "state created already paused",
        init_state,
        lambda s: {"output": "default"},
        lambda s: ("output", state_output(s.guarded, paused=1)),
        "wrong initial schedule state",
    ),
    Attack(
        "state created for a schedule without guardians",
        init_state,
        lambda s: {"schedule": None},
        lambda s: ("schedule", s.main),
        "guardian threshold must be 1 to the number of guardians",
    ),
    Attack(
        "state created with a threshold above the number of guardians",
        init_state,
        lambda s: {"schedule": None},
        lambda s: ("schedule", s.variant("g-over", guardian_count=2, guardian_threshold=3)),
        "guardian threshold must be 1 to the number of guardians",
    ),
    Attack(
        "state created with a guardian listed twice",
        init_state,
        lambda s: {"schedule": None},
        lambda s: ("schedule", s.variant("g-twice", guardian_keys_of=(0, 0, 1), guardian_threshold=2)),
        "guardian key repeated",
    ),
)


def _move_naming(what: str, index: str) -> Attack:
    """A move whose redeemer names an index outside the inputs (`move`'s named indices): the edges of
    `0 <= index < len(tx.inputs)`, each refused by that same check."""
    return Attack(
        f"move naming {what}",
        move,
        lambda s: {"index": "own"},
        lambda s: ("index", index),
        "move index out of range",
        failing="spend",
    )


MOVE = (
    Attack(
        "move without the beneficiary's signature",
        move,
        lambda s: {"signers": None},
        lambda s: ("signers", [INTRUDER]),
        "beneficiary signature missing",
        failing="spend",
    ),
    Attack(
        "move changing the amount",
        move,
        lambda s: {"datum": None},
        lambda s: ("datum", {"amount": 5_000}),
        BENEFICIARY_ONLY,
        failing="spend",
    ),
    Attack(
        "move changing the milestone",
        move,
        lambda s: {"datum": None},
        lambda s: ("datum", {"milestone_id": b"m2"}),
        BENEFICIARY_ONLY,
        failing="spend",
    ),
    Attack(
        "move changing the vesting time",
        move,
        lambda s: {"datum": None},
        lambda s: ("datum", {"vesting_time": 0}),
        BENEFICIARY_ONLY,
        failing="spend",
    ),
    Attack(
        "move changing the schedule",
        move,
        lambda s: {"datum": None},
        lambda s: ("datum", {"schedule_id": s.other.schedule_id}),
        BENEFICIARY_ONLY,
        failing="spend",
    ),
    Attack(
        "move taking the auth token elsewhere",
        move,
        lambda s: {"value": None},
        lambda s: ("value", Value(2_000_000, sc.tokens(s.main.token_policy_id, sc.TOKEN_NAME, 500))),
        "moved allocation must hold the same value",
        failing="spend",
    ),
    Attack(
        "move loading a reference script on the allocation",
        move,
        lambda s: {"script": None},
        lambda s: ("script", TINY_SCRIPT),
        "moved allocation carries a reference script",
        failing="spend",
    ),
    Attack(
        "move to a wallet instead of the validator",
        move,
        lambda s: {"address": None},
        lambda s: ("address", sc.wallet_address("thief")),
        "moved allocation must stay at the same address",
        failing="spend",
    ),
    Attack(
        "move to the validator under another stake credential",
        move,
        lambda s: {"address": None},
        lambda s: (
            "address",
            Address(ScriptHash(s.main.scripts.validator_hash), sc.key_hash(INTRUDER), network=sc.NETWORK),
        ),
        "moved allocation must stay at the same address",
        failing="spend",
    ),
    # no outputs but the fee payer's change (always last): the last allocation's index is the number of
    # outputs, and the one before it reads the change, which is not at the validator's address
    Attack(
        "move leaving the allocations without their outputs",
        move,
        lambda s: {"allocations": (alloc(B1, 500), alloc(B1, 300, b"m2")), "relocked": True},
        lambda s: ("relocked", False),
        "moved allocation output missing",
        failing="last spend",
        also=(("spend", "moved allocation must stay at the same address"),),
    ),
    Attack(
        "two moves into one output",
        move,
        lambda s: {"allocations": (alloc(B1, 500), alloc(B1, 300, b"m2")), "index": "own"},
        lambda s: ("index", "first"),
        "move index does not name this allocation",
        failing="last spend",
    ),
    _move_naming("an input past the last", "beyond"),
    _move_naming("the number of inputs", "count"),
    _move_naming("index -1", "negative"),
    Attack(
        "move of a script beneficiary's allocation",
        move,
        lambda s: {"allocations": (alloc(B1, 500),), "signers": [beneficiary_key(B1)]},
        lambda s: ("allocations", (alloc(SCRIPT_BENEFICIARY, 500),)),
        "beneficiary is a script: a move needs a key's signature",
        failing="spend",
    ),
    Attack(
        "move to an address with a third field",
        move,
        lambda s: {"to": B2},
        lambda s: ("to", ExtraFieldAddress.of(ot.address_to_plutus(B2))),
        "ValueError: datum integrity check failed",  # OpShin's own message for check_integrity
        failing="spend",
    ),
    Attack(
        "move to an address no wallet can spend from",
        move,
        lambda s: {"to": B2},
        lambda s: ("to", ot.PlutusAddress(ot.PubKeyCredential(KEY_28[:27]), ot.NoStakingCredential())),
        "beneficiary payment credential is not 28 bytes",
        failing="spend",
    ),
)

# The move's own copy of the spendable-address rule (OpShin compiles each script alone), at its edges: the
# largest pointer a ledger keeps is accepted, one past it (or a negative part) refused; likewise a staking
# key hash of 27 bytes.
_POINTER_EDGES = (
    ("slot above 2^32-1", IN_RANGE, (MAX_SLOT_32 + 1, MAX_INDEX_16, MAX_INDEX_16)),
    ("tx index above 2^16-1", IN_RANGE, (MAX_SLOT_32, MAX_INDEX_16 + 1, MAX_INDEX_16)),
    ("certificate index above 2^16-1", IN_RANGE, (MAX_SLOT_32, MAX_INDEX_16, MAX_INDEX_16 + 1)),
    ("negative slot", (0, 0, 0), (-1, 0, 0)),
    ("negative transaction index", (0, 0, 0), (0, -1, 0)),
    ("negative certificate index", (0, 0, 0), (0, 0, -1)),
)


def _move_to_pointer(what: str, good: tuple[int, int, int], bad: tuple[int, int, int]) -> Attack:
    return Attack(
        f"move to a pointer with a {what}",
        move,
        lambda s: {"to": beneficiary_address(pointer=good)},
        lambda s: ("to", beneficiary_address(pointer=bad)),
        "beneficiary pointer out of range",
        failing="spend",
    )


MOVE_TO_ADDRESS = (
    *(_move_to_pointer(what, good, bad) for what, good, bad in _POINTER_EDGES),
    Attack(
        "move to a staking key hash of 27 bytes",
        move,
        lambda s: {"to": beneficiary_address(stake_key=KEY_28)},
        lambda s: ("to", beneficiary_address(stake_key=KEY_28[:27])),
        "beneficiary staking credential is not 28 bytes",
        failing="spend",
    ),
)

GOVERNANCE = (*CANCEL, *PAUSE, *MOVE, *MOVE_TO_ADDRESS)

__all__ = ["CANCEL", "GOVERNANCE", "MOVE", "MOVE_TO_ADDRESS", "PAUSE"]
