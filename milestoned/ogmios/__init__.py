"""Our asyncio JSON-RPC client for Ogmios v6 and v7 (see DESIGN.md §5 for why it is ours).

Modules, from the inside out:
- `model`: typed, frozen values (points, tips, blocks, transactions, protocol parameters, era summaries…);
- `parsing`: decoded JSON → model, tolerant of v6/v7 differences and unknown fields (pure);
- `errors`: JSON-RPC errors → typed exceptions keeping the Ogmios code and data;
- `frames`: opening response frames cheaply (lazy for big chain-sync frames);
- `backoff`: the reconnect delay policy (pure);
- `chaintime`: slot ↔ UTC time from era summaries and the start time (pure);
- `connection`: one WebSocket, requests matched to answers by id;
- `chainsync`: pipelined `nextBlock` with drain-before-`findIntersection`;
- `client`: `OgmiosClient` (queries, submit, evaluate, mempool) and reconnecting helpers;
- `synthetic`: deterministic mainnet-shaped blocks for benchmarks.
"""

from milestoned.ogmios.backoff import BackoffPolicy, backoff_delay
from milestoned.ogmios.chainsync import ChainSync
from milestoned.ogmios.client import OgmiosClient, connect_with_backoff, run_with_reconnect
from milestoned.ogmios.connection import OgmiosConnection
from milestoned.ogmios.errors import (
    AcquiredLedgerStateExpired,
    IntersectionNotFound,
    OgmiosConnectionError,
    OgmiosError,
    OgmiosProtocolError,
    ScriptExecutionFailure,
    SubmissionError,
    UnknownOutputReferences,
)
from milestoned.ogmios.model import (
    ORIGIN,
    Block,
    Intersection,
    OutputReference,
    Point,
    RollBackward,
    RollForward,
    Tip,
    Transaction,
    TransactionOutput,
    Utxo,
    Value,
)

__all__ = [
    "ORIGIN",
    "AcquiredLedgerStateExpired",
    "BackoffPolicy",
    "Block",
    "ChainSync",
    "Intersection",
    "IntersectionNotFound",
    "OgmiosClient",
    "OgmiosConnection",
    "OgmiosConnectionError",
    "OgmiosError",
    "OgmiosProtocolError",
    "OutputReference",
    "Point",
    "RollBackward",
    "RollForward",
    "ScriptExecutionFailure",
    "SubmissionError",
    "Tip",
    "Transaction",
    "TransactionOutput",
    "UnknownOutputReferences",
    "Utxo",
    "Value",
    "backoff_delay",
    "connect_with_backoff",
    "run_with_reconnect",
]
