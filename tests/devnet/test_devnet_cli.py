"""`milestoned devnet` prints what a user needs, serves Ogmios, and stops cleanly on Ctrl-C."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import pytest
import websockets
from devnet_support import ALICE, BOB, OgmiosProbe

from milestoned.devnet.cli import FundError, collect_funds


async def test_devnet_command_runs_until_ctrl_c(tmp_path: Path) -> None:
    fund_file = tmp_path / "funds.json"
    fund_file.write_text(f'{{"{BOB.address}": 12000000}}')
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "milestoned.daemon.cli",
        "devnet",
        "--port",
        "0",
        "--slot-length",
        "0.1",
        "--fund",
        f"{ALICE.address}:5000000",
        "--fund-file",
        str(fund_file),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert process.stdout is not None
    lines: list[str] = []
    while not any(line.startswith("funded:") and str(BOB.address) in line for line in lines):
        line = (await asyncio.wait_for(process.stdout.readline(), timeout=60)).decode()
        assert line, f"the devnet exited early: {''.join(lines)}"
        lines.append(line)
    assert lines[0].startswith("devnet started; network start time ")
    url = next(line.split(": ", 1)[1].strip() for line in lines if line.startswith("Ogmios URL: "))
    assert any(str(ALICE.address) in line and "5000000 lovelace" in line for line in lines)
    async with websockets.connect(url) as socket:
        [utxo] = await OgmiosProbe(socket).result("queryLedgerState/utxo", {"addresses": [str(BOB.address)]})
        assert utxo["value"] == {"ada": {"lovelace": 12_000_000}}
    process.send_signal(signal.SIGINT)
    assert await asyncio.wait_for(process.wait(), timeout=30) == 0
    rest = (await process.stdout.read()).decode()
    assert "devnet stopping" in rest
    assert "Traceback" not in rest


def test_funds_from_command_line_and_file_add_up(tmp_path: Path) -> None:
    listing = tmp_path / "funds.txt"
    listing.write_text(f"# genesis\n{ALICE.address}:1_000\n{BOB.address}\n")
    funds = collect_funds([f"{ALICE.address}:500"], listing)
    assert funds[str(ALICE.address)] == 1_500
    assert funds[str(BOB.address)] == 100_000_000_000


def test_funds_for_a_key_file(tmp_path: Path) -> None:
    key_file = tmp_path / "payment.vkey"
    ALICE.verification_key.save(str(key_file))
    assert collect_funds([f"{key_file}:42"], None) == {str(ALICE.address): 42}


def test_funds_for_a_signing_key_file_pay_its_own_address(tmp_path: Path) -> None:
    """Before, a .skey was read as a verification key, funding an address nobody holds the key of."""
    key_file = tmp_path / "payment.skey"
    ALICE.signing_key.save(str(key_file))
    assert collect_funds([f"{key_file}:42"], None) == {str(ALICE.address): 42}
    not_a_key = tmp_path / "other.json"
    not_a_key.write_text('{"type": "StakeSigningKeyShelley_ed25519", "cborHex": "5820' + "00" * 32 + '"}')
    with pytest.raises(FundError, match="not a cardano-cli payment key file"):
        collect_funds([str(not_a_key)], None)


@pytest.mark.parametrize("spec", ["nope", f"{ALICE.address}:lots", f"{ALICE.address}:-5"])
def test_bad_fund_specs_say_what_is_wrong(spec: str) -> None:
    with pytest.raises(FundError):
        collect_funds([spec], None)
