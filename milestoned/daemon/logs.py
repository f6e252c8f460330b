"""structlog setup: JSON lines for journald and log shippers, readable lines on a terminal.

Why one function called once at start-up: structlog's configuration is process-wide, so the daemon sets
it here explicitly (hynek's advice: no hidden configuration at import time). The standard `logging`
records of the libraries and of our own modules (the indexer logs through `logging`) go through the same
renderer, so one daemon writes one format.

Key material never reaches a log line: `redact_secrets` replaces the value of any field whose name says
it holds a secret (signing keys, seeds, passwords, cbor of .skey envelopes) before rendering.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog

SECRET_FIELD_MARKERS = ("skey", "signing_key", "secret", "seed", "password", "private", "mnemonic")
REDACTED = "[redacted]"


def redact_secrets(_logger: object, _method: str, event_dict: MutableMapping[str, Any]) -> Any:
    """structlog processor: blank out fields whose names mark them as secrets (paths to keys stay)."""
    for key in list(event_dict):
        lowered = key.lower()
        if lowered.endswith("_path") or lowered.endswith("_file"):
            continue
        if any(marker in lowered for marker in SECRET_FIELD_MARKERS):
            event_dict[key] = REDACTED
    return event_dict


def wants_json(log_format: str, stream: TextIO) -> bool:
    if log_format == "json":
        return True
    if log_format == "console":
        return False
    return not (hasattr(stream, "isatty") and stream.isatty())


def configure_logging(log_format: str = "auto", level: str = "info", stream: TextIO | None = None) -> None:
    """Route structlog and stdlib logging to `stream` (stdout by default: journald and containers collect
    it; the format follows whether that stream is a terminal) in one format."""
    stream = stream or sys.stdout
    numeric = getattr(logging, level.upper(), logging.INFO)
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact_secrets,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if wants_json(log_format, stream)
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(numeric)
    for noisy in ("websockets", "apscheduler", "asyncio"):
        logging.getLogger(noisy).setLevel(max(numeric, logging.WARNING))
