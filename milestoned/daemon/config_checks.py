"""Checks of a configuration against the machine it will run on: the files it names.

Why apart from `config.load_config`: loading is pure (values, types, ranges) so it can be tested and
reused anywhere; these look at the file system, and run where the daemon will run (`milestoned run`
and `--check-config`), so that a missing or exposed wallet key is refused with exit code 2 before
the daemon starts instead of surfacing as a failed auto-release hours later.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from milestoned.shared.config import DaemonConfig


def machine_problems(config: DaemonConfig) -> list[str]:
    """Problems of the files the configuration names, each "key: what is wrong; how to fix it"."""
    problems: list[str] = []
    release = config.release
    if release.wallet_key:
        problems.extend(wallet_key_problems(Path(release.wallet_key), auto=release.auto))
    return problems


def wallet_key_problems(path: Path, *, auto: bool) -> list[str]:
    """The operator wallet key must exist, be a regular file we can read, and be readable by its owner
    only (it spends the operator's funds). Checked whenever it is set; auto-release makes it urgent,
    as the daemon would otherwise find out only at the first claimable allocation."""
    key = "release.wallet_key"
    why = " (auto-release is on and signs with it)" if auto else " (`milestonectl release` signs with it)"
    try:
        status = path.stat()
    except FileNotFoundError:
        return [
            f"{key}: {path} does not exist{why}; write the operator's cardano-cli payment .skey there "
            "(chmod 600, owned by the daemon's user), fix the path, or set release.auto = false and "
            'wallet_key = ""'
        ]
    except OSError as exc:
        return [f"{key}: {path} cannot be read: {exc.strerror or exc}; check its folder's permissions"]
    if not stat.S_ISREG(status.st_mode):
        return [f"{key}: {path} is not a regular file{why}; point wallet_key at the .skey file"]
    problems: list[str] = []
    if status.st_mode & 0o077:
        others = "everyone" if status.st_mode & 0o007 else "its group"
        problems.append(
            f"{key}: {path} has mode {stat.S_IMODE(status.st_mode):04o}, so {others} can read the operator's "
            f"signing key{why}; run `chmod 600 {path}`"
        )
    if not os.access(path, os.R_OK):
        problems.append(
            f"{key}: {path} is not readable by this user{why}; `chown` it to the daemon's user, mode 600"
        )
    return problems
