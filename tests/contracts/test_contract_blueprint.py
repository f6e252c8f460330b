"""The committed blueprint is what the sources compile to, and the loader derives schedules from it."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from pycardano import Address, Network, PlutusV3Script, plutus_script_hash
from uplc import flatten, unflatten

from milestoned.contracts import loader
from milestoned.contracts.build import build_blueprint
from milestoned.domain import onchain_types as ot
from milestoned.domain.parameters import ScheduleParameters

PARAMETERS = ScheduleParameters(
    admin_key_hash=bytes(range(28)),
    token_policy_id=bytes(range(1, 29)),
    token_name=b"MILE",
    oracle_keys=(b"\x01" * 32, b"\x02" * 32, b"\x03" * 32),
    quorum=2,
    reclaim_deadline_ms=1_800_000_000_000,
    nonce=b"n1",
)


def test_committed_blueprint_is_a_fresh_build() -> None:
    """CI's guard: rebuilding from the OpShin sources gives the committed plutus.json byte for byte."""
    committed = loader.BLUEPRINT_PATH.read_text()
    assert build_blueprint() == committed, "plutus.json is stale: run `make contracts` and commit the result"


def test_blueprint_is_cip57_plutus_v3() -> None:
    document = json.loads(loader.BLUEPRINT_PATH.read_text())
    assert document["preamble"]["plutusVersion"] == "v3"
    validator, policy, state = document["validators"]
    assert validator["title"] == "allocation_validator.spend"
    assert policy["title"] == "schedule_policy.mint"
    assert state["title"] == "schedule_state.spend"
    for entry in (validator, policy, state):
        code = PlutusV3Script(bytes.fromhex(entry["compiledCode"]))
        assert plutus_script_hash(code).payload.hex() == entry["hash"]
    fields = [f["title"] for f in validator["datum"]["schema"]["fields"]]
    assert fields == [f.name for f in dataclasses.fields(ot.AllocationDatum)]
    redeemers = policy["redeemer"]["schema"]["anyOf"]
    assert [(r["title"], r["index"]) for r in redeemers] == [
        ("Register", 0),
        ("Release", 1),
        ("Reclaim", 2),
        ("Cancel", 3),
        ("InitState", 4),
    ]
    spends = validator["redeemer"]["schema"]["anyOf"]
    assert [(r["title"], r["index"]) for r in spends] == [("SpendAllocation", 0), ("Move", 1)]
    state_fields = [f["title"] for f in state["datum"]["schema"]["fields"]]
    assert state_fields == [f.name for f in dataclasses.fields(ot.ScheduleState)]
    names = [p["title"] for p in policy["parameters"]]
    # the schedule's rules, then the scripts' hashes and guardians in the compiled code's order
    rules = [f.name for f in dataclasses.fields(ScheduleParameters) if not f.name.startswith("guardian_")]
    assert names == [*rules, "validator_hash", "guardians", "state_validator_hash"]


def test_schedule_id_is_the_applied_policy_hash_and_is_reproducible() -> None:
    scripts = loader.schedule_scripts(PARAMETERS)
    assert len(scripts.schedule_id) == 28
    assert scripts.schedule_id == plutus_script_hash(scripts.policy).payload
    assert loader.schedule_id(PARAMETERS) == scripts.schedule_id
    assert scripts.validator_hash == loader.default_blueprint().validator_hash


@pytest.mark.parametrize(
    "change",
    [
        {},
        {"token_name": b"", "nonce": b""},
        {"token_name": b"\xff" * 32, "nonce": bytes(range(256)) * 2},  # byte strings of several chunks
        {"oracle_keys": tuple(bytes([i]) * 32 for i in range(1, 8)), "quorum": 7},
        {"reclaim_deadline_ms": 0},
        {"reclaim_deadline_ms": 2**63 - 1, "quorum": 1, "oracle_keys": (b"\x07" * 32,)},
        {"guardian_keys": (b"\x05" * 28, b"\x06" * 28, b"\x07" * 28), "guardian_threshold": 2},
    ],
)
def test_the_policy_applied_bit_by_bit_is_what_uplc_encodes(change: dict[str, object]) -> None:
    """`_apply` splices the template's flat bits with the encoded arguments instead of decoding and
    encoding the whole program; the bytes (so the schedule id) are exactly uplc's, whatever the
    arguments' lengths do to the byte alignment of what follows them."""
    blueprint = loader.default_blueprint()
    arguments = loader.parameter_data(
        dataclasses.replace(PARAMETERS, **change), blueprint.validator_hash, blueprint.state_validator_hash
    )
    spliced = loader._apply.__wrapped__(blueprint.policy_template, arguments)
    assert spliced == loader._apply_by_uplc(blueprint.policy_template, arguments)
    odd = arguments[:-1]  # an odd number of arguments moves the template's bits: uplc's own way then
    assert loader._apply.__wrapped__(blueprint.policy_template, odd) == loader._apply_by_uplc(
        blueprint.policy_template, odd
    )


def test_the_committed_policy_template_is_uplcs_own_encoding() -> None:
    """The splice reuses the template's bits as they are: that equals uplc's apply only while the
    template is what uplc itself encodes (a blueprint written by another encoder would change ids)."""
    template = loader.default_blueprint().policy_template
    assert bytes(flatten(unflatten(template))) == template


@pytest.mark.parametrize(
    "change",
    [
        {"nonce": b"n2"},
        {"quorum": 3},
        {"oracle_keys": (b"\x02" * 32, b"\x01" * 32, b"\x03" * 32)},
        {"reclaim_deadline_ms": 1_800_000_000_001},
        {"admin_key_hash": bytes(28)},
        {"token_name": b"MILE2"},
        {"guardian_keys": (b"\x05" * 28,), "guardian_threshold": 1},
        {"guardian_keys": (b"\x05" * 28, b"\x06" * 28), "guardian_threshold": 1},
    ],
)
def test_every_parameter_changes_the_schedule_id(change: dict[str, object]) -> None:
    changed = dataclasses.replace(PARAMETERS, **change)  # type: ignore[arg-type]
    assert loader.schedule_id(changed) != loader.schedule_id(PARAMETERS)


def test_validator_address_per_network() -> None:
    mainnet = loader.validator_address("mainnet")
    assert mainnet.network == Network.MAINNET and mainnet.encode().startswith("addr1")
    for name in ("preprod", "preview", "devnet"):
        address = loader.validator_address(name)
        assert address.encode().startswith("addr_test1")
        assert address.payment_part == mainnet.payment_part
    assert loader.schedule_scripts(PARAMETERS).validator_address("devnet") == loader.validator_address(
        "devnet"
    )
    with pytest.raises(
        ValueError, match=r"unknown network 'testnet'; use one of mainnet, preprod, preview, devnet"
    ):
        loader.validator_address("testnet")


def test_missing_or_foreign_blueprint_says_how_to_fix(tmp_path: Path) -> None:
    with pytest.raises(loader.BlueprintError, match="make contracts"):
        loader.load_blueprint(tmp_path / "plutus.json")
    foreign = tmp_path / "foreign.json"
    foreign.write_text(json.dumps({"preamble": {"plutusVersion": "v2"}, "validators": []}))
    with pytest.raises(loader.BlueprintError, match="not a Plutus V3 blueprint"):
        loader.load_blueprint(foreign)


def test_address_codec_round_trips_every_shelley_form() -> None:
    base = (
        "addr_test1qz2fxv2umyhttkxyxp8x0dlpdt3k6cwng5pxj3jhsydzer3jcu5d8ps7zex2k2xt3"
        "uqxgjqnnj83ws8lhrn648jjxtwq2ytjqp"
    )
    script = loader.validator_address("preprod")
    for address in (Address.from_primitive(base), script):
        data = ot.address_to_plutus(address)
        assert ot.plutus_to_address(ot.PlutusAddress.from_cbor(data.to_cbor()), Network.TESTNET) == address
