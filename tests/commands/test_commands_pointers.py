"""Pointers in answers lead somewhere real: doctor names the compose file where it is, and a refused
release says what to do (when it will pass, or which command supplies what is missing)."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path
from typing import Any

from milestoned.daemon.refusal_hints import refusal_hint
from milestoned.txbuilder.errors import Refusal

REPO = Path(__file__).resolve().parents[2]


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_doctor_points_at_the_compose_file_that_exists(run: Any, tmp_path: Path) -> None:
    config = tmp_path / "milestoned.toml"
    config.write_text(
        f'[chain]\nogmios_url = "ws://127.0.0.1:{_closed_port()}"\nnetwork = "preprod"\n'
        f'[store]\ndata_dir = "{tmp_path / "data"}"\n[socket]\npath = "{tmp_path / "d.sock"}"\n'
    )
    answer = run("--json", "doctor", "--config", config)
    checks = {c["check"]: c for c in json.loads(answer.out)["checks"]}
    fix = checks["ogmios reachable"]["fix"]
    named = re.findall(r"infra/[\w/.-]+\.yml", fix)
    assert named and all((REPO / path).is_file() for path in named), fix


def test_a_refusal_hint_says_what_to_do() -> None:
    later = Refusal("vesting", "allocation X vests later", passes_at_ms=1_900_000_000_000)
    assert refusal_hint(later).startswith("try again after 2030-")
    quorum = refusal_hint(Refusal("milestone_quorum", "milestone M1 has 1 of 2 signatures"))
    assert "signature commit" in quorum
    for rule in ("allocation_locked", "not_in_flight", "not_registered", "reclaim_deadline", "other"):
        hint = refusal_hint(Refusal(rule, "refused"))
        assert hint and "see the rule" not in hint


def test_no_answer_says_status_lists_schedules() -> None:
    sources = [*(REPO / "milestoned").rglob("*.py"), *(REPO / "docs").rglob("*.md"), REPO / "README.md"]
    claims = [str(p) for p in sources if re.search(r"milestonectl status`? lists", p.read_text())]
    assert not claims
