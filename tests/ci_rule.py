"""The one rule for a test whose requirement is missing here: skip outside CI, fail under CI=true.

CI must run every test (PostgreSQL, the Node interop clients, chromium, a mountable tmpfs), so there a
missing requirement is a failure that names it; on a developer's machine the test skips with the same
reason and how to get what is missing. Importable from every test folder: the root conftest puts
`tests/` on the path.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def requirement_missing(needed: str, reason: str) -> NoReturn:
    """Skip with `reason` (fail under CI=true, saying that CI requires `needed`)."""
    if in_ci():
        pytest.fail(f"CI=true requires {needed}: {reason}", pytrace=False)
    pytest.skip(reason)
