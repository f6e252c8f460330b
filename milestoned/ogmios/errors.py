"""Ogmios JSON-RPC errors as typed exceptions that keep the Ogmios `code`, `message` and `data`.

Why: callers must react to *which* failure happened (re-find an intersection on 1000, re-acquire on 2003,
treat 3117 as a double spend, show script traces on 3010) without string matching. `error_from_json`
maps a JSON-RPC error object to the most specific class; `ERROR_NAMES` gives every code its schema name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from milestoned.ogmios.model import (
    ORIGIN,
    OutputReference,
    RedeemerPointer,
    TipOrOrigin,
)

ERROR_NAMES: Final[dict[int, str]] = {
    -32700: "ParseError",
    -32600: "InvalidRequest",
    -32601: "MethodNotFound",
    -32602: "InvalidParams",
    -32603: "InternalError",
    -32000: "ConnectionWithNodeLost",
    -32001: "NodeTooOld",
    1000: "IntersectionNotFound",
    1001: "IntersectionInterleaved",
    2000: "AcquireLedgerStateFailure",
    2001: "EraMismatch",
    2002: "UnavailableInCurrentEra",
    2003: "AcquiredLedgerStateExpired",
    2004: "InvalidGenesisConfiguration",
    3000: "IncompatibleEra",
    3001: "UnsupportedEra",
    3002: "OverlappingAdditionalUtxo",
    3003: "NodeTipTooOld",
    3004: "CannotCreateEvaluationContext",
    3005: "EraMismatch",
    3010: "ScriptExecutionFailure",
    3011: "InvalidRedeemerPointers",
    3012: "ValidationFailure",
    3013: "UnsuitableOutputReference",
    3100: "InvalidSignatories",
    3101: "MissingSignatories",
    3102: "MissingScripts",
    3103: "FailingNativeScript",
    3104: "ExtraneousScripts",
    3105: "MissingMetadataHash",
    3106: "MissingMetadata",
    3107: "MetadataHashMismatch",
    3108: "InvalidMetadata",
    3109: "MissingRedeemers",
    3110: "ExtraneousRedeemers",
    3111: "MissingDatums",
    3112: "ExtraneousDatums",
    3113: "ScriptIntegrityHashMismatch",
    3114: "OrphanScriptInputs",
    3115: "MissingCostModels",
    3116: "MalformedScripts",
    3117: "UnknownOutputReferences",
    3118: "OutsideOfValidityInterval",
    3119: "TransactionTooLarge",
    3120: "ValueTooLarge",
    3121: "EmptyInputSet",
    3122: "TransactionFeeTooSmall",
    3123: "ValueNotConserved",
    3124: "NetworkMismatch",
    3125: "InsufficientlyFundedOutputs",
    3126: "BootstrapAttributesTooLarge",
    3127: "MintingOrBurningAda",
    3128: "InsufficientCollateral",
    3129: "CollateralLockedByScript",
    3130: "UnforeseeableSlot",
    3131: "TooManyCollateralInputs",
    3132: "MissingCollateralInputs",
    3133: "NonAdaCollateral",
    3134: "ExecutionUnitsTooLarge",
    3135: "TotalCollateralMismatch",
    3136: "SpendsMismatch",
    3137: "UnauthorizedVotes",
    3138: "UnknownGovernanceProposals",
    3139: "InvalidProtocolParametersUpdate",
    3140: "UnknownStakePool",
    3141: "IncompleteWithdrawals",
    3142: "RetirementTooLate",
    3143: "StakePoolCostTooLow",
    3144: "MetadataHashTooLarge",
    3145: "CredentialAlreadyRegistered",
    3146: "UnknownCredential",
    3147: "NonEmptyRewardAccount",
    3148: "InvalidGenesisDelegation",
    3149: "InvalidMIRTransfer",
    3150: "ForbiddenWithdrawal",
    3151: "CredentialDepositMismatch",
    3152: "DRepAlreadyRegistered",
    3153: "DRepNotRegistered",
    3154: "UnknownConstitutionalCommitteeMember",
    3155: "GovernanceProposalDepositMismatch",
    3156: "ConflictingCommitteeUpdate",
    3157: "InvalidCommitteeUpdate",
    3158: "TreasuryWithdrawalMismatch",
    3159: "InvalidOrMissingPreviousProposals",
    3160: "VotingOnExpiredActions",
    3161: "ExecutionBudgetOutOfBounds",
    3162: "InvalidHardForkVersionBump",
    3163: "ConstitutionGuardrailsHashMismatch",
    3164: "ConflictingInputsAndReferences",
    3165: "UnauthorizedGovernanceAction",
    3166: "ReferenceScriptsTooLarge",
    3167: "UnknownVoters",
    3168: "EmptyTreasuryWithdrawal",
    3169: "PointerAddressInCollateralReturn",
    3170: "StakePoolVRFKeyAlreadyRegistered",
    3997: "UnexpectedMempoolError",
    3998: "UnrecognizedCertificateType",
    4000: "MempoolNotAcquired",
}


class OgmiosConnectionError(ConnectionError):
    """The WebSocket to Ogmios is not open, or closed while a request was waiting for its answer."""


class OgmiosProtocolError(ValueError):
    """Ogmios sent something that is not what the protocol says (bad JSON, missing fields)."""


class OgmiosError(Exception):
    """An error answer from Ogmios: `code`, `message` and `data` exactly as sent, plus the method asked."""

    def __init__(self, code: int, message: str, data: Any = None, method: str | None = None) -> None:
        self.code = code
        self.message = message
        self.data = data
        self.method = method
        super().__init__(code, message, data)

    @property
    def name(self) -> str:
        """The schema name of the code (e.g. "UnknownOutputReferences"), or "Unknown<code>"."""
        return ERROR_NAMES.get(self.code, f"Unknown<{self.code}>")

    def __str__(self) -> str:
        where = f" (in {self.method})" if self.method else ""
        return f"Ogmios error {self.code} {self.name}{where}: {self.message}"


class JsonRpcError(OgmiosError):
    """A generic JSON-RPC fault (-32xxx): malformed request, unknown method, bad params, node lost."""


class InvalidParams(JsonRpcError):
    """-32602. For submit/evaluate: the transaction did not deserialise; `data` has a message per era."""


class ChainSyncError(OgmiosError):
    """1xxx: chain-sync failures."""


class IntersectionNotFound(ChainSyncError):
    """1000: none of the offered points is on the node's chain. The cursor did not move."""

    @property
    def tip(self) -> TipOrOrigin:
        from milestoned.ogmios.parsing import parse_tip_or_origin

        tip = self.data.get("tip", ORIGIN) if isinstance(self.data, dict) else ORIGIN
        return parse_tip_or_origin(tip)


class IntersectionInterleaved(ChainSyncError):
    """1001: `findIntersection` came while `nextBlock` requests were in flight (drain first)."""


class LedgerStateQueryError(OgmiosError):
    """2xxx: ledger-state acquisition and query failures."""


class AcquireLedgerStateFailure(LedgerStateQueryError):
    """2000: the point to acquire is too old or unknown; `data` is the reason."""


class EraMismatch(LedgerStateQueryError):
    """2001: the query is for another era than the ledger's (`data.queryEra`, `data.ledgerEra`)."""


class UnavailableInCurrentEra(LedgerStateQueryError):
    """2002."""


class AcquiredLedgerStateExpired(LedgerStateQueryError):
    """2003: the acquired state is too old now; acquire again."""


class TransactionError(OgmiosError):
    """3xxx: submission and evaluation failures."""


class EvaluationError(TransactionError):
    """3000–3004: the transaction could not be evaluated at all."""


@dataclass(frozen=True, slots=True)
class ScriptFailure:
    """One failing script of a 3010 answer. For 3012 (ValidationFailure) `traces` has its trace lines."""

    validator: RedeemerPointer
    code: int
    message: str
    data: Any

    @property
    def name(self) -> str:
        return ERROR_NAMES.get(self.code, f"Unknown<{self.code}>")

    @property
    def traces(self) -> tuple[str, ...]:
        if isinstance(self.data, dict):
            return tuple(str(line) for line in self.data.get("traces", ()))
        return ()

    @property
    def validation_error(self) -> str | None:
        return self.data.get("validationError") if isinstance(self.data, dict) else None


class ScriptExecutionFailure(EvaluationError):
    """3010: some scripts failed; `failures` says which and why."""

    @property
    def failures(self) -> tuple[ScriptFailure, ...]:
        items = self.data if isinstance(self.data, list) else []
        failures = []
        for item in items:
            validator = item.get("validator", {})
            error = item.get("error", {})
            failures.append(
                ScriptFailure(
                    RedeemerPointer(str(validator.get("purpose", "?")), int(validator.get("index", -1))),
                    int(error.get("code", 0)),
                    str(error.get("message", "")),
                    error.get("data"),
                )
            )
        return tuple(failures)

    def __str__(self) -> str:
        lines = [super().__str__()]
        for failure in self.failures:
            lines.append(
                f"  {failure.validator.purpose}:{failure.validator.index}: {failure.code} {failure.name}"
                + (f" {failure.validation_error}" if failure.validation_error else "")
                + (f" traces={list(failure.traces)}" if failure.traces else "")
            )
        return "\n".join(lines)


class SubmissionError(TransactionError):
    """3005 and 31xx–39xx: the node's ledger rejected the transaction. `name` says which rule."""


class UnknownOutputReferences(SubmissionError):
    """3117: inputs that do not exist (already spent: a double spend or a race)."""

    @property
    def references(self) -> tuple[OutputReference, ...]:
        items = self.data.get("unknownOutputReferences", []) if isinstance(self.data, dict) else []
        return tuple(OutputReference(i["transaction"]["id"], int(i["index"])) for i in items)


class MempoolError(OgmiosError):
    """4xxx: mempool monitoring failures (4000: acquire a snapshot first)."""


_EXACT: Final[dict[int, type[OgmiosError]]] = {
    -32602: InvalidParams,
    1000: IntersectionNotFound,
    1001: IntersectionInterleaved,
    2000: AcquireLedgerStateFailure,
    2001: EraMismatch,
    2002: UnavailableInCurrentEra,
    2003: AcquiredLedgerStateExpired,
    3010: ScriptExecutionFailure,
    3117: UnknownOutputReferences,
}


def error_class_for(code: int) -> type[OgmiosError]:
    """The most specific exception class for an Ogmios error code."""
    exact = _EXACT.get(code)
    if exact is not None:
        return exact
    if code < 0:
        return JsonRpcError
    if 1000 <= code < 2000:
        return ChainSyncError
    if 2000 <= code < 3000:
        return LedgerStateQueryError
    if 3000 <= code <= 3004 or 3010 <= code <= 3099:
        return EvaluationError
    if 3005 <= code < 4000:
        return SubmissionError
    if 4000 <= code < 5000:
        return MempoolError
    return OgmiosError


def error_from_json(error: Any, method: str | None = None) -> OgmiosError:
    """Turn the `error` member of a JSON-RPC response into the matching exception (never raises itself)."""
    if not isinstance(error, dict):
        return JsonRpcError(-32603, f"malformed error object from Ogmios: {error!r}", None, method)
    try:
        code = int(error.get("code", -32603))
    except (TypeError, ValueError):
        code = -32603
    message = str(error.get("message", ""))
    return error_class_for(code)(code, message, error.get("data"), method)
