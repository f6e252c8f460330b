"""The chain audit's tests drive the devnet with the txbuilder tests' `World` (tests/txbuilder) and run
the real daemon with the daemon tests' process helper (tests/daemon): both helpers keep their one home,
and this folder puts them on the import path beside its own."""

from __future__ import annotations

import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
for folder in (TESTS / "txbuilder", TESTS / "daemon", Path(__file__).parent):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
