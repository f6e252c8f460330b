"""Finding the browser for the web view's tests: Debian's chromium driven by Playwright (no download).

Outside CI a missing browser (or Playwright) skips the browser tests with the reason and how to get it;
under CI=true it fails them: CI must run them (`.ci/run` installs chromium when it is missing).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from ci_rule import requirement_missing

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"


def chromium_path() -> str:
    """The chromium executable, or skip (fail under CI) saying how to install it."""
    found = os.environ.get("MILESTONED_CHROMIUM") or next(
        (p for p in CHROMIUM_CANDIDATES if Path(p).exists()), shutil.which("chromium")
    )
    problem = None
    if not found:
        problem = "no chromium found: `sudo apt-get install chromium` (or set MILESTONED_CHROMIUM=PATH)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            problem = "playwright is not installed: `make setup` installs it"
    if problem is not None:
        requirement_missing("the browser tests to run", problem)
    assert found
    return found
