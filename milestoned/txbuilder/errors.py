"""What can go wrong while building or submitting, each as its own exception with a message for people.

Why so many classes: the daemon and `milestonectl` react differently to a refusal that time will fix
(vesting, deadline: retry at `passes_at_ms`), one that needs people (oracle signatures), one that
needs money (fee, collateral), and a race on chain (3117: rebuild from fresh UTxOs; 3118: rebuild
with a new validity interval). Every message says what failed, with the amounts, and what to do.
"""

from __future__ import annotations

from milestoned.domain.timestamps import format_timestamp


class TxBuildError(Exception):
    """Base of every error of the transaction builders; `str()` is the message for people."""


class Refusal(TxBuildError):
    """A pre-build check failed: `rule` names it, `passes_at_ms` says when it will pass (None: not by
    waiting)."""

    def __init__(self, rule: str, message: str, passes_at_ms: int | None = None) -> None:
        self.rule = rule
        self.passes_at_ms = passes_at_ms
        when = (
            f" It will pass at {format_timestamp(passes_at_ms)} (chain time)."
            if passes_at_ms is not None
            else ""
        )
        super().__init__(f"refused ({rule}): {message}{when}")


class InsufficientFunds(TxBuildError):
    """The paying wallet cannot cover what the transaction needs."""

    def __init__(self, message: str, *, needed: int, available: int) -> None:
        self.needed = needed
        self.available = available
        super().__init__(message)


class NoCollateral(TxBuildError):
    """No UTxO of the paying wallet can serve as collateral."""


class EvaluationFailed(TxBuildError):
    """The node's evaluator says the scripts would fail: nothing was submitted."""


class SubmissionRejected(TxBuildError):
    """The node's ledger refused the transaction; `code` is Ogmios' error code."""

    def __init__(self, code: int, message: str) -> None:
        self.code = code
        super().__init__(message)


class InputsAlreadySpent(SubmissionRejected):
    """3117: an input is gone (spent by another transaction, or never existed)."""


class ValidityIntervalPassed(SubmissionRejected):
    """3118: the transaction's validity interval does not contain the current slot."""


class SigningError(TxBuildError):
    """A key is missing for a required signature, or a key file is unsafe or unreadable."""
