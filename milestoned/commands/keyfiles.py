"""Key files on disk: their permissions, and reading an oracle's signing key without leaking it.

A signing key that group or others can read is as good as published, and a verification key that others
can write can be swapped for theirs before it goes into a schedule: both are refused, with the `chmod`
that fixes them. The permission check runs before the file is read, so a refused key is never loaded.
"""

from __future__ import annotations

import os
import shlex
import stat
from dataclasses import dataclass, field
from pathlib import Path

from milestoned.commands.key_envelopes import (
    KeyEnvelope,
    KeyKind,
    check_signing_key_type,
    inspect_envelope,
    read_envelope_json,
    signing_key_seed,
)
from milestoned.commands.output import CommandError, ExitCode
from milestoned.commands.textfiles import read_text
from milestoned.domain.validation_errors import InputProblem

KEY_FILE_SUFFIXES = (".skey", ".vkey")
SECRET_MODE_BITS = stat.S_IRGRP | stat.S_IWGRP | stat.S_IROTH | stat.S_IWOTH  # read or write by others
SHARED_WRITE_BITS = stat.S_IWGRP | stat.S_IWOTH


@dataclass(frozen=True)
class KeyFileProblem:
    problem: str
    fix: str


@dataclass(frozen=True)
class KeyFileReport:
    """What `keys check` found about one key file."""

    path: Path
    mode: int | None = None
    envelope: KeyEnvelope | None = None
    problems: tuple[KeyFileProblem, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return not self.problems


def permissions_text(mode: int) -> str:
    return f"{stat.S_IMODE(mode):04o}, {stat.filemode(mode)}"


def secret_permission_problem(path: Path, mode: int) -> KeyFileProblem | None:
    """Why a signing key file's mode is unsafe, or None when only its owner can touch it."""
    if os.name == "nt" or not mode & SECRET_MODE_BITS:
        return None
    who = _who(mode & SECRET_MODE_BITS)
    return KeyFileProblem(
        f"{path} is a signing key file that {who} (mode {permissions_text(mode)}); anyone who can read it "
        "can sign as this oracle",
        f"chmod 600 {shlex.quote(str(path))}   (and if others may have copied it, make a new key and ask "
        "the admin to replace the oracle)",
    )


def shared_write_problem(path: Path, mode: int) -> KeyFileProblem | None:
    """Why a verification key file's mode is unsafe: someone else could replace the key in it."""
    if os.name == "nt" or not mode & SHARED_WRITE_BITS:
        return None
    return KeyFileProblem(
        f"{path} is a verification key file that {_who(mode & SHARED_WRITE_BITS)} "
        f"(mode {permissions_text(mode)});"
        " someone could swap in their own key before it goes into a schedule",
        f"chmod 644 {shlex.quote(str(path))}",
    )


def _who(bits: int) -> str:
    parties = []
    if bits & (stat.S_IRGRP | stat.S_IWGRP):
        parties.append("the group")
    if bits & (stat.S_IROTH | stat.S_IWOTH):
        parties.append("all other users")
    verbs = []
    if bits & (stat.S_IRGRP | stat.S_IROTH):
        verbs.append("read")
    if bits & (stat.S_IWGRP | stat.S_IWOTH):
        verbs.append("write")
    return f"{' and '.join(parties)} can {' and '.join(verbs)}"


def _stat(path: Path, what: str) -> os.stat_result:
    try:
        status = path.stat()
    except FileNotFoundError:
        raise CommandError(f"{what} {path} does not exist", "check the path") from None
    except OSError as error:
        raise CommandError(f"{what} {path} cannot be read: {error.strerror or error}") from None
    if not stat.S_ISREG(status.st_mode):
        raise CommandError(f"{what} {path} is not a regular file", "give the path of the .skey file itself")
    return status


def read_signing_key(path: Path) -> bytes:
    """The ed25519 seed of an oracle's `.skey` file; refuses one that group or others can access."""
    status = _stat(path, "signing key file")
    problem = secret_permission_problem(path, status.st_mode)
    if problem is not None:
        _refuse_non_signing_key(path)
        raise CommandError(f"refusing to sign: {problem.problem}", problem.fix, ExitCode.FAILED)
    text = read_text(path, "signing key file")
    try:
        return signing_key_seed(text)
    except InputProblem as error:
        raise CommandError(f"key file {path}: {error.problem}", error.hint, ExitCode.FAILED) from None


def _refuse_non_signing_key(path: Path) -> None:
    """A shared file that is not a signing key at all (a .vkey given by mistake) deserves that error.

    Only its envelope type is looked at, and only because others can already read the file anyway.
    """
    try:
        key_type = read_envelope_json(read_text(path, "key file")).get("type")
    except (CommandError, InputProblem):
        return
    if isinstance(key_type, str) and "SigningKey" not in key_type:
        try:
            check_signing_key_type(key_type)
        except InputProblem as error:
            raise CommandError(f"key file {path}: {error.problem}", error.hint, ExitCode.FAILED) from None


def check_key_file(path: Path) -> KeyFileReport:
    """Permissions and format of one key file, every problem with its fix (never raises for bad files)."""
    try:
        status = path.stat()
    except FileNotFoundError:
        return KeyFileReport(path, problems=(KeyFileProblem(f"{path} does not exist", "check the path"),))
    except OSError as error:
        return KeyFileReport(
            path, problems=(KeyFileProblem(f"{path} cannot be read: {error.strerror or error}", ""),)
        )
    if not stat.S_ISREG(status.st_mode):
        return KeyFileReport(
            path,
            status.st_mode,
            problems=(KeyFileProblem(f"{path} is not a regular file", "give a key file"),),
        )
    problems: list[KeyFileProblem] = []
    try:
        envelope: KeyEnvelope | None = inspect_envelope(read_text(path, "key file"))
    except CommandError as error:
        envelope = None
        problems.append(KeyFileProblem(error.message, error.hint))
    except InputProblem as error:
        envelope = None
        problems.append(KeyFileProblem(f"{path}: {error.problem}", error.hint))
    # A file that claims to be a .skey is treated as a secret even when its content could not be read.
    is_secret = envelope.kind is KeyKind.SIGNING if envelope is not None else path.suffix == ".skey"
    if is_secret:
        permission = secret_permission_problem(path, status.st_mode)
    else:
        permission = shared_write_problem(path, status.st_mode)
    if permission is not None:
        problems.insert(0, permission)
    if envelope is not None and envelope.kind is KeyKind.SIGNING:
        problems.extend(_pair_problems(path, envelope))
    return KeyFileReport(path, status.st_mode, envelope, tuple(problems))


def _pair_problems(path: Path, envelope: KeyEnvelope) -> list[KeyFileProblem]:
    """A `.skey` beside a `.vkey` of the same name must be its pair, or the admin got the wrong key."""
    partner = path.with_suffix(".vkey")
    if path.suffix != ".skey" or not partner.is_file():
        return []
    try:
        partner_key = inspect_envelope(read_text(partner, "key file"))
    except (CommandError, InputProblem):
        return []  # reported when that file is checked itself
    if partner_key.kind is KeyKind.VERIFICATION and partner_key.verification_key != envelope.verification_key:
        return [
            KeyFileProblem(
                f"{path} does not belong to {partner}: their public keys differ",
                f"keep each .skey with its own .vkey; the key of {path.name} is "
                f"{envelope.verification_key.hex()}",
            )
        ]
    return []


def key_files_in(paths: list[Path]) -> list[Path]:
    """The paths given, with each directory replaced by the key files directly inside it."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.iterdir() if p.suffix in KEY_FILE_SUFFIXES))
        else:
            found.append(path)
    return found
