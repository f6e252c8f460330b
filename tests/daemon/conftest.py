"""Fixtures of the daemon tests; the process helpers live beside this file (daemon_process)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
