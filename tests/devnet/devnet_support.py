"""Support for the devnet tests: the official Ogmios schema, a validating client, keys and scripts.

Every response a test receives through `OgmiosProbe` is validated against the Ogmios v6.14 JSON schema
in `../shared/ogmios/schema/v6.14/`, with the one relaxation `../shared/ogmios/SOURCE.md` explains
(the `Value` property-name pattern must admit the `ada` key).
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import websockets
from pycardano import (
    Address,
    CostModels,
    ExecutionUnits,
    NativeScript,
    Network,
    PaymentSigningKey,
    PaymentVerificationKey,
    PlutusV3Script,
    RedeemerKey,
    RedeemerMap,
    RedeemerTag,
    RedeemerValue,
    Transaction,
    TransactionBody,
    TransactionInput,
    TransactionOutput,
    TransactionWitnessSet,
    VerificationKeyWitness,
    plutus_script_hash,
)
from pycardano.utils import script_data_hash
from referencing import Registry, Resource
from uplc import flatten, parse

from milestoned.devnet.ledger import LedgerError
from milestoned.devnet.parameters import plutus_cost_models
from milestoned.devnet.service import Devnet
from milestoned.devnet.transaction import decode_transaction

REPO = Path(__file__).resolve().parents[2]
SCHEMA_DIR = REPO.parent / "shared" / "ogmios" / "schema" / "v6.14"
BASE = "https://ogmios.invalid/v6.14/"

# Requests whose responses have a schema, and the schema property that describes them.
RESPONSE_SCHEMAS = {
    "findIntersection": "FindIntersectionResponse",
    "nextBlock": "NextBlockResponse",
    "submitTransaction": "SubmitTransactionResponse",
    "evaluateTransaction": "EvaluateTransactionResponse",
    "acquireLedgerState": "AcquireLedgerStateResponse",
    "releaseLedgerState": "ReleaseLedgerStateResponse",
    "queryLedgerState/epoch": "QueryLedgerStateEpochResponse",
    "queryLedgerState/eraStart": "QueryLedgerStateEraStartResponse",
    "queryLedgerState/eraSummaries": "QueryLedgerStateEraSummariesResponse",
    "queryLedgerState/protocolParameters": "QueryLedgerStateProtocolParametersResponse",
    "queryLedgerState/rewardAccountSummaries": "QueryLedgerStateRewardAccountSummariesResponse",
    "queryLedgerState/tip": "QueryLedgerStateTipResponse",
    "queryLedgerState/utxo": "QueryLedgerStateUtxoResponse",
    "queryLedgerState/stakePools": "QueryLedgerStateStakePoolsResponse",
    "queryLedgerState/stakePoolsPerformances": "QueryLedgerStateStakePoolsPerformancesResponse",
    "queryLedgerState/liveStakeDistribution": "QueryLedgerStateLiveStakeDistributionResponse",
    "queryLedgerState/rewardsProvenance": "QueryLedgerStateRewardsProvenanceResponse",
    "queryLedgerState/projectedRewards": "QueryLedgerStateProjectedRewardsResponse",
    "queryLedgerState/constitution": "QueryLedgerStateConstitutionResponse",
    "queryLedgerState/constitutionalCommittee": "QueryLedgerStateConstitutionalCommitteeResponse",
    "queryLedgerState/delegateRepresentatives": "QueryLedgerStateDelegateRepresentativesResponse",
    "queryLedgerState/governanceProposals": "QueryLedgerStateGovernanceProposalsResponse",
    "queryLedgerState/treasuryAndReserves": "QueryLedgerStateTreasuryAndReservesResponse",
    "queryLedgerState/nonces": "QueryLedgerStateNoncesResponse",
    "queryNetwork/blockHeight": "QueryNetworkBlockHeightResponse",
    "queryNetwork/genesisConfiguration": "QueryNetworkGenesisConfigurationResponse",
    "queryNetwork/startTime": "QueryNetworkStartTimeResponse",
    "queryNetwork/tip": "QueryNetworkTipResponse",
    "acquireMempool": "AcquireMempoolResponse",
    "nextTransaction": "NextTransactionResponse",
    "hasTransaction": "HasTransactionResponse",
    "sizeOfMempool": "SizeOfMempoolResponse",
    "releaseMempool": "ReleaseMempoolResponse",
}


def _load_schemas() -> tuple[dict[str, Any], dict[str, Any]]:
    if not (SCHEMA_DIR / "ogmios.json").exists():
        pytest.fail(
            f"The Ogmios v6.14 schema is missing: expected {SCHEMA_DIR}/ogmios.json and cardano.json "
            "(the team's shared/ directory beside the repository). Restore ../shared/ogmios/schema/.",
            pytrace=False,
        )
    ogmios = json.loads((SCHEMA_DIR / "ogmios.json").read_text())
    cardano = json.loads((SCHEMA_DIR / "cardano.json").read_text())
    # The one relaxation (SOURCE.md): Value requires an `ada` key its propertyNames pattern forbids.
    cardano["definitions"]["Value"]["propertyNames"]["pattern"] = "^(ada|[0-9a-f]{56})$"
    # The files name their dialect "https://json-schema.org/draft-07/schema"; the registry knows it as:
    ogmios["$schema"] = cardano["$schema"] = "http://json-schema.org/draft-07/schema#"
    ogmios["$id"] = BASE + "ogmios.json"
    cardano["$id"] = BASE + "cardano.json"
    return ogmios, cardano


class SchemaValidator:
    """Validates full JSON-RPC messages against `ogmios.json#/properties/<Name>`."""

    def __init__(self) -> None:
        self.ogmios, cardano = _load_schemas()
        self.registry: Registry = Registry().with_resources(
            [
                (self.ogmios["$id"], Resource.from_contents(self.ogmios)),
                (cardano["$id"], Resource.from_contents(cardano)),
            ]
        )
        self._validators: dict[str, jsonschema.Draft7Validator] = {}
        self.seen: set[str] = set()

    def validator(self, name: str) -> jsonschema.Draft7Validator:
        if name not in self._validators:
            schema = {"$ref": f"{BASE}ogmios.json#/properties/{name}"}
            self._validators[name] = jsonschema.Draft7Validator(schema, registry=self.registry)
        return self._validators[name]

    def validate(self, message: dict[str, Any], name: str) -> None:
        errors = sorted(self.validator(name).iter_errors(message), key=lambda e: list(e.path))
        if errors:
            best = jsonschema.exceptions.best_match(errors)
            raise AssertionError(
                f"{name} does not match the Ogmios v6.14 schema: {best.message} "
                f"at {list(best.absolute_path)}\n"
                f"message: {json.dumps(message)[:2000]}"
            )
        self.seen.add(name)

    def matches(self, message: dict[str, Any], name: str) -> bool:
        return bool(self.validator(name).is_valid(message))

    def validate_definition(self, value: Any, pointer: str) -> None:
        """Validate a bare value against e.g. `cardano.json#/definitions/Genesis<Shelley>`."""
        validator = jsonschema.Draft7Validator({"$ref": BASE + pointer}, registry=self.registry)
        validator.validate(value)


_VALIDATOR: SchemaValidator | None = None


def schema() -> SchemaValidator:
    global _VALIDATOR
    if _VALIDATOR is None:
        _VALIDATOR = SchemaValidator()
    return _VALIDATOR


def _is_generic_fault(message: dict[str, Any]) -> bool:
    code = message.get("error", {}).get("code")
    return isinstance(code, int) and -32700 <= code <= -32000


def check_generic_fault(message: dict[str, Any]) -> None:
    """A JSON-RPC fault (-32700..-32000) where the method's schema has no place for one.

    `ogmios.json#/properties/RpcError` cannot be used: it requires an error key named "string" that its
    own `additionalProperties: false` forbids. So we check the JSON-RPC 2.0 shape Ogmios sends.
    """
    assert set(message) <= {"jsonrpc", "method", "error", "id"}, message
    error = message["error"]
    assert isinstance(error["code"], int) and isinstance(error["message"], str) and error["message"]
    assert set(error) <= {"code", "message", "data"}


class OgmiosProbe:
    """A small JSON-RPC client that checks every response: echoed method and id, and the schema."""

    def __init__(self, connection: websockets.ClientConnection) -> None:
        self.connection = connection
        self._ids = itertools.count(1)

    async def send(self, method: str, params: dict[str, Any] | None = None, request_id: Any = None) -> Any:
        request: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            request["params"] = params
        if request_id is None:
            request_id = f"req-{next(self._ids)}"
        request["id"] = request_id
        await self.connection.send(json.dumps(request))
        return request_id

    async def receive(self, method: str, request_id: Any, *, validate: bool = True) -> dict[str, Any]:
        message = json.loads(await self.connection.recv())
        assert message.get("id") == request_id, f"expected the response to id {request_id!r}, got {message}"
        assert message.get("method") == method
        assert message.get("jsonrpc") == "2.0"
        if validate and method in RESPONSE_SCHEMAS:
            if _is_generic_fault(message) and not schema().matches(message, RESPONSE_SCHEMAS[method]):
                check_generic_fault(message)
            else:
                schema().validate(message, RESPONSE_SCHEMAS[method])
        return message

    async def call(
        self, method: str, params: dict[str, Any] | None = None, *, validate: bool = True
    ) -> dict[str, Any]:
        request_id = await self.send(method, params)
        return await self.receive(method, request_id, validate=validate)

    async def result(self, method: str, params: dict[str, Any] | None = None) -> Any:
        message = await self.call(method, params)
        assert "error" not in message, f"{method} failed: {message['error']}"
        return message["result"]

    async def error(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        message = await self.call(method, params)
        assert "error" in message, f"{method} was expected to fail, got {message.get('result')}"
        return message["error"]


@dataclass(frozen=True)
class Wallet:
    signing_key: PaymentSigningKey

    @property
    def verification_key(self) -> PaymentVerificationKey:
        return PaymentVerificationKey.from_signing_key(self.signing_key)

    @property
    def key_hash(self) -> bytes:
        return bytes(self.verification_key.hash().payload)

    @property
    def address(self) -> Address:
        return Address(self.verification_key.hash(), network=Network.TESTNET)

    def witness(self, body: TransactionBody) -> VerificationKeyWitness:
        return VerificationKeyWitness(self.verification_key, self.signing_key.sign(body.hash()))


ALICE = Wallet(PaymentSigningKey.generate())
BOB = Wallet(PaymentSigningKey.generate())


def signed(body: TransactionBody, *wallets: Wallet, **witnesses: Any) -> Transaction:
    return Transaction(
        body, TransactionWitnessSet(vkey_witnesses=[w.witness(body) for w in wallets] or None, **witnesses)
    )


def uplc_script(source: str) -> PlutusV3Script:
    """A Plutus V3 script from hand-written UPLC."""
    return PlutusV3Script(flatten(parse(source)))


ALWAYS_SUCCEEDS = uplc_script("(program 1.1.0 (lam ctx (con unit ())))")
ALWAYS_FAILS = uplc_script(
    "(program 1.1.0 (lam ctx [ (lam x (error)) "
    '[(force (builtin trace)) (con string "boom") (con unit ())] ]))'
)


def utxos_of(devnet: Devnet, address: Address) -> list[tuple[TransactionInput, TransactionOutput]]:
    wanted = bytes(address)
    return [(t, o) for t, o in devnet.chain.utxo.items() if bytes(o.address) == wanted]


# --- building transactions against a devnet ---------------------------------------------------------

V3_COST_MODEL = CostModels({2: dict(enumerate(plutus_cost_models()["plutus:v3"]))})
FEE = 1_000_000
"""A fee comfortably above the minimum of every test transaction, so only the rule under test breaks."""


def funds_of(devnet: Devnet, wallet: Wallet) -> tuple[TransactionInput, TransactionOutput]:
    """The wallet's largest plain (no script, no datum) UTxO."""
    wanted = bytes(wallet.address)
    candidates = [
        (t, o)
        for t, o in devnet.chain.utxo.items()
        if bytes(o.address) == wanted and o.datum is None and o.datum_hash is None
    ]
    return max(candidates, key=lambda entry: entry[1].amount.coin)


def payment(
    devnet: Devnet,
    wallet: Wallet,
    outputs: list[TransactionOutput],
    fee: int = FEE,
    **body_fields: Any,
) -> TransactionBody:
    """A body spending the wallet's largest UTxO to `outputs`, the change going back to the wallet."""
    txin, funds = funds_of(devnet, wallet)
    extra_inputs = list(body_fields.pop("inputs", []))
    extra_value = sum(devnet.chain.utxo[t].amount.coin for t in extra_inputs if t in devnet.chain.utxo)
    change = funds.amount.coin + extra_value - fee - sum(o.amount.coin for o in outputs)
    return TransactionBody(
        inputs=[txin, *extra_inputs],
        outputs=[*outputs, TransactionOutput(wallet.address, change)],
        fee=fee,
        **body_fields,
    )


def commit(devnet: Devnet, tx: Transaction) -> None:
    """Submit straight to the chain and put it in a block (setup steps, not the thing under test)."""
    result = devnet.chain.submit(decode_transaction(tx.to_cbor()))
    assert not isinstance(result, LedgerError), f"setup transaction rejected: {result}"
    devnet.produce_block()


def script_address(script: Any) -> Address:
    return Address(
        plutus_script_hash(script) if not isinstance(script, NativeScript) else script.hash(),
        network=Network.TESTNET,
    )


def lock(
    devnet: Devnet, wallet: Wallet, address: Address, lovelace: int = 10_000_000, **output: Any
) -> TransactionInput:
    """Pay `lovelace` to `address` (with datum options) and return the new output's reference."""
    tx = signed(payment(devnet, wallet, [TransactionOutput(address, lovelace, **output)]), wallet)
    commit(devnet, tx)
    return TransactionInput(tx.id, 0)


def redeemer_map(*entries: tuple[RedeemerTag, int, Any, ExecutionUnits]) -> RedeemerMap:
    return RedeemerMap(
        {RedeemerKey(tag, index): RedeemerValue(data, units) for tag, index, data, units in entries}
    )


def integrity_hash(redeemers: RedeemerMap, datums: list[Any] | None = None) -> Any:
    """pycardano's script-data hash with the devnet's V3 cost model (an independent computation)."""
    return script_data_hash(redeemers, datums, V3_COST_MODEL)
