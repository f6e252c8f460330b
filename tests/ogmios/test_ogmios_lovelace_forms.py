"""Transactions from Ogmios 6.0 servers carry `{"lovelace": N}` amounts (issue 14, point 12).

Ogmios 6.0 wrote a transaction's fee, total collateral and withdrawals as `{"lovelace": N}`; 6.1 and
later write `{"ada": {"lovelace": N}}`. Blocks from either must parse to the same transaction.
"""

from __future__ import annotations

from typing import Any

import pytest

from milestoned.ogmios.errors import OgmiosProtocolError
from milestoned.ogmios.parsing import parse_transactions

ACCOUNT = "stake_test1uqfu74w3wh4gfzu8m6e7j987h4lq9r3t7ef5gaw497uu85qsqfy27"


def transaction(amount: Any) -> dict[str, Any]:
    return {
        "id": "aa" * 32,
        "spends": "inputs",
        "inputs": [{"transaction": {"id": "bb" * 32}, "index": 0}],
        "fee": amount(170_000),
        "totalCollateral": amount(255_000),
        "withdrawals": {ACCOUNT: amount(0)},
    }


def test_both_lovelace_forms_parse_to_the_same_transaction() -> None:
    [current] = parse_transactions([transaction(lambda n: {"ada": {"lovelace": n}})])
    [older] = parse_transactions([transaction(lambda n: {"lovelace": n})])
    assert older == current
    assert (older.fee, older.total_collateral, dict(older.withdrawals)) == (170_000, 255_000, {ACCOUNT: 0})


def test_an_amount_in_neither_form_is_a_protocol_error() -> None:
    with pytest.raises(OgmiosProtocolError):
        parse_transactions([transaction(lambda n: {"ada": n})])
