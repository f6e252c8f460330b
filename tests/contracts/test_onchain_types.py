"""The datum / redeemer codecs mirror the on-chain types and round-trip through CBOR."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pycardano import Address, Network, RawPlutusData, ScriptHash, VerificationKeyHash

from milestoned.domain import onchain_types as ot

hashes = st.binary(min_size=28, max_size=28)


@st.composite
def addresses(draw: st.DrawFn) -> Address:
    payment = draw(st.sampled_from([VerificationKeyHash, ScriptHash]))(draw(hashes))
    staking = draw(st.one_of(st.none(), hashes.map(VerificationKeyHash), hashes.map(ScriptHash)))
    return Address(payment, staking, network=draw(st.sampled_from([Network.MAINNET, Network.TESTNET])))


@given(
    address=addresses(),
    schedule_id=hashes,
    amount=st.integers(min_value=1, max_value=2**63 - 1),
    milestone=st.binary(max_size=64),
    vesting=st.integers(min_value=0, max_value=2**48),
)
def test_allocation_datum_round_trips(
    address: Address, schedule_id: bytes, amount: int, milestone: bytes, vesting: int
) -> None:
    datum = ot.AllocationDatum(schedule_id, ot.address_to_plutus(address), amount, milestone, vesting)
    decoded = ot.decode_allocation_datum(RawPlutusData.from_cbor(datum.to_cbor()))
    assert decoded == datum
    assert ot.plutus_to_address(decoded.beneficiary, address.network) == address


def test_redeemers_have_the_on_chain_constructor_indices() -> None:
    assert ot.Register().to_cbor()[:2] == bytes.fromhex("d879")  # tag 121 = constructor 0
    assert ot.Release([]).to_cbor()[:2] == bytes.fromhex("d87a")  # constructor 1
    assert ot.Reclaim().to_cbor()[:2] == bytes.fromhex("d87b")  # constructor 2
    attestation = ot.milestone_attestation(b"m", {2: b"c" * 64, 0: b"a" * 64})
    assert [s.oracle_index for s in attestation.signatures] == [0, 2]
    assert ot.Release.from_cbor(ot.Release([attestation]).to_cbor()) == ot.Release([attestation])


def test_not_an_allocation_datum_is_a_clear_error() -> None:
    with pytest.raises(ot.OnchainDecodeError, match="not an allocation datum"):
        ot.decode_allocation_datum(RawPlutusData.from_cbor(ot.Register().to_cbor()))
    with pytest.raises(ot.OnchainDecodeError, match="a int"):
        ot.decode_allocation_datum(42)


def test_address_without_payment_part_is_refused() -> None:
    stake_only = Address(staking_part=VerificationKeyHash(bytes(28)), network=Network.TESTNET)
    with pytest.raises(ValueError, match="no payment credential"):
        ot.address_to_plutus(stake_only)


def test_payout_runs_follow_input_order_and_merge_neighbours() -> None:
    allocations = [
        (b"\x02", 0, "alice", 5, 50),
        (b"\x01", 1, "bob", 2, 20),
        (b"\x01", 0, "bob", 3, 30),
        (b"\x03", 0, "bob", 7, 70),
        (b"\x02", 1, "alice", 1, 10),
    ]
    # sorted: bob 3, bob 2, alice 5, alice 1, bob 7; each run carries the lovelace of its allocations
    assert ot.payout_runs(allocations) == [("bob", 5, 50), ("alice", 6, 60), ("bob", 7, 70)]
    assert ot.payout_runs([]) == []


# --- the cbor2 datum reader agrees with pycardano's decoding ----------------------------------------------

pointers = st.builds(ot.StakingPtr, st.integers(0, 2**40), st.integers(0, 2**16), st.integers(0, 2**16)).map(
    ot.SomeStakingCredential
)


@st.composite
def plutus_addresses(draw: st.DrawFn) -> ot.PlutusAddress:
    address = ot.address_to_plutus(draw(addresses()))
    if draw(st.booleans()):
        address.staking_credential = draw(pointers)
    return address


datums = st.builds(
    ot.AllocationDatum,
    hashes,
    plutus_addresses(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.binary(max_size=100),  # beyond 64 bytes CBOR chunks the byte string
    st.integers(min_value=0, max_value=2**64),
)


@given(datum=datums)
def test_the_cbor2_reader_decodes_what_pycardano_encodes(datum: ot.AllocationDatum) -> None:
    cbor = datum.to_cbor()
    assert ot.allocation_datum_from_cbor(cbor) == datum == ot.AllocationDatum.from_cbor(cbor)


@given(datum=datums, position=st.integers(min_value=0), byte=st.integers(0, 255))
def test_a_corrupted_datum_is_refused_or_read_as_pycardano_reads_it(
    datum: ot.AllocationDatum, position: int, byte: int
) -> None:
    cbor = bytearray(datum.to_cbor())
    cbor[position % len(cbor)] = byte
    try:
        ours = ot.allocation_datum_from_cbor(bytes(cbor))
    except ot.OnchainDecodeError:
        return  # refused: the indexer ignores the output
    theirs = ot.AllocationDatum.from_cbor(bytes(cbor))  # what we accept, pycardano reads the same
    assert ours == theirs
    assert len(ours.beneficiary.payment_credential.credential_hash) == 28


def _general_form(value: object) -> object:
    """The same Plutus data with every constructor spelled as tag 102 [index, fields]."""
    import cbor2

    if isinstance(value, cbor2.CBORTag) and 121 <= value.tag <= 127:
        return cbor2.CBORTag(102, [value.tag - 121, [_general_form(field) for field in value.value]])
    if isinstance(value, list):
        return [_general_form(item) for item in value]
    return value


@given(datum=datums)
def test_every_spelling_of_a_constructor_is_the_same_datum(datum: ot.AllocationDatum) -> None:
    import cbor2

    general = cbor2.dumps(_general_form(cbor2.loads(datum.to_cbor())))
    assert ot.allocation_datum_from_cbor(general) == datum


@pytest.mark.parametrize(
    ("cbor_hex", "problem"),
    [
        ("", "not CBOR"),
        ("d87980", "constructor 0, 5 fields"),  # constructor 0 with no fields
        ("d87a9f40d87980010102ff", "constructor 0, 5 fields"),  # constructor 1
        ("d8799f01d8799fd8799f581c" + "00" * 28 + "ffd87a80ff010102ff", "schedule_id must be bytes"),
        ("d8799f40d8799fd8799f4100ffd87a80ff010102ff", "28-byte credential"),
        ("d8799f40d8799fd8799f581c" + "00" * 28 + "ffd87a80ff404040ff", "amount must be an integer"),
    ],
)
def test_malformed_datums_say_what_is_wrong(cbor_hex: str, problem: str) -> None:
    with pytest.raises(ot.OnchainDecodeError, match=problem):
        ot.allocation_datum_from_cbor(bytes.fromhex(cbor_hex))


def test_a_boolean_is_not_a_constructor_index() -> None:
    """CBOR `false` is not Plutus data: tag 102 [false, fields] is no constructor 0."""
    import cbor2

    beneficiary = Address(VerificationKeyHash(b"b" * 28), network=Network.TESTNET)
    datum = ot.AllocationDatum(b"s" * 28, ot.address_to_plutus(beneficiary), 5, b"m1", 0)
    fields = cbor2.loads(datum.to_cbor()).value
    with pytest.raises(ot.OnchainDecodeError, match="constructor 0"):
        ot.allocation_datum_from_cbor(cbor2.dumps(cbor2.CBORTag(102, [False, fields])))
    assert ot.allocation_datum_from_cbor(cbor2.dumps(cbor2.CBORTag(102, [0, fields]))) == datum
