"""`milestonectl tx sign --key K FILES|DIRS...`: sign many unsigned transaction envelopes in one command.

WHY: a schedule of thousands of allocations registers (and reclaims) in dozens of transactions; signing
each with its own cardano-cli call was the slow, error-prone step between build and `tx submit`. Works
offline; the key file must be private (chmod 600), as for every signing key milestoned reads. Each
`X.unsigned.json` is written as `X.signed.json` beside it (never over an existing different file); a
`X.signed.json` named explicitly gets the new signatures added in place, its own kept (how a schedule's
guardians each add theirs to a pause or resume transaction, wherever their keys are).
"""

from __future__ import annotations

import json
from pathlib import Path

from milestoned.commands.output import Column, CommandError, ExitCode, Output
from milestoned.commands.textfiles import read_text

MAX_TX_FILE_BYTES = 16 * 1024 * 1024


def unsigned_files(paths: list[Path]) -> list[Path]:
    """The files named, and the `*.unsigned.json` files directly in the folders named, in order."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(path.glob("*.unsigned.json"), key=_natural)
            if not found:
                raise CommandError(f"{path} holds no *.unsigned.json file", "name the files to sign")
            files.extend(found)
        else:
            files.append(path)
    return files


def signed_files(paths: list[Path]) -> list[Path]:
    """The files named, and the `*.signed.json` files directly in the folders named (register-2 before
    register-10: a chain of transactions must be submitted in order)."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(path.glob("*.signed.json"), key=_natural)
            if not found:
                raise CommandError(
                    f"{path} holds no *.signed.json file", "sign them first: milestonectl tx sign"
                )
            files.extend(found)
        else:
            files.append(path)
    return files


def _natural(path: Path) -> tuple[object, ...]:
    """register-2 before register-10."""
    import re

    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.name))


def signed_name(file: Path) -> Path:
    """`X.unsigned.json` -> `X.signed.json`; a signed file is signed again in place (its signatures kept:
    the guardians of a schedule add theirs to the file the admin signed, one after the other)."""
    name = file.name
    if name.endswith(".signed.json"):
        return file
    stem = name[: -len(".unsigned.json")] if name.endswith(".unsigned.json") else file.stem
    return file.with_name(f"{stem}.signed.json")


def sign_files(key_paths: list[Path], paths: list[Path], out: Output) -> int:
    from pycardano import Transaction

    from milestoned.txbuilder.errors import SigningError
    from milestoned.txbuilder.signing import load_signing_key, sign, signed_envelope

    try:
        keys = [load_signing_key(path) for path in key_paths]
    except SigningError as exc:
        raise CommandError(str(exc), "pass the admin's (or payer's) cardano-cli .skey, chmod 600") from None
    rows: list[tuple[str, str, str]] = []
    written: list[dict[str, str]] = []
    for file in unsigned_files(paths):
        text = read_text(file, "transaction file", MAX_TX_FILE_BYTES)
        try:
            envelope = json.loads(text)
            tx = Transaction.from_cbor(bytes.fromhex(envelope["cborHex"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise CommandError(
                f"{file} is not a transaction text envelope: {exc}",
                "give the unsigned files that `schedule register --unsigned-out` or "
                "`reclaim --unsigned-out` wrote",
            ) from None
        signed = sign(tx, keys)
        target = signed_name(file)
        document = json.dumps(signed_envelope(signed, envelope.get("description", "")), indent=2) + "\n"
        if target != file and target.exists() and target.read_text() != document:
            raise CommandError(f"{target} exists and differs", "move it away, then sign again")
        target.write_text(document)
        rows.append((str(file), str(target), str(signed.id)))
        written.append({"unsigned": str(file), "signed": str(target), "tx_id": str(signed.id)})
    if out.json_mode:
        out.emit_json({"ok": True, "signed": written})
    else:
        out.table(
            f"{len(rows)} transaction(s) signed; submit them with `milestonectl tx submit FILE...`",
            (Column("unsigned"), Column("signed"), Column("tx id", no_wrap=True)),
            rows,
        )
    return ExitCode.OK
