"""JSON-RPC 2.0 framing for the command socket: one request per line in, one response per line out.

Pure: bytes in, values out. Why strict: a request that is not exactly a JSON-RPC 2.0 call gets an error
that names what is wrong, and nothing it contains ever reaches a handler. Notifications (no `id`) are
answered anyway, with `id: null`: a command client always wants to know what happened, and a silent
socket is the worst answer to a typo.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
# Application errors (the -32000..-32099 range is reserved for implementations).
PERMISSION_DENIED = -32001
REQUEST_TOO_LARGE = -32002
NOT_READY = -32003
TOO_MANY_CONNECTIONS = -32004
REQUEST_TIMEOUT = -32005
RECOVERING = -32006
"""The log is being rebuilt from the chain: changes are refused until it is done (reads answer)."""
NOT_LEADER = -32007
"""This daemon follows another one on the same PostgreSQL store: changes go to the leader it names."""
VALIDATION_FAILED = -32010
NOT_FOUND = -32011
TX_REFUSED = -32020
TX_UNAVAILABLE = -32021


class RpcError(Exception):
    """An error answer: a JSON-RPC code, a message for people, and data (`hint` says what to do)."""

    def __init__(self, code: int, message: str, hint: str = "", **data: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data: dict[str, Any] = {"hint": hint, **data} if hint or data else {}

    def to_json(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data:
            error["data"] = self.data
        return error


@dataclass(frozen=True, slots=True)
class Request:
    id: int | str | None
    method: str
    params: dict[str, Any] = field(default_factory=dict)


def parse_request(line: bytes) -> Request:
    """A request from one line, or RpcError (with the request's id in `.data['id']` when it had one)."""
    try:
        document = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise RpcError(
            PARSE_ERROR,
            f"the request is not valid JSON ({exc})",
            'send one JSON object per line: {"jsonrpc": "2.0", "id": 1, "method": "status"}',
        ) from None
    if not isinstance(document, dict):
        raise RpcError(
            INVALID_REQUEST,
            f"a request must be a JSON object, got {type(document).__name__} (batches are not supported)",
            "send one request object per line",
        )
    request_id = document.get("id")
    if request_id is not None and (isinstance(request_id, bool) or not isinstance(request_id, int | str)):
        raise RpcError(INVALID_REQUEST, "the request id must be a number or a string", 'use e.g. "id": 1')
    problems = []
    if document.get("jsonrpc") != "2.0":
        problems.append('"jsonrpc" must be "2.0"')
    method = document.get("method")
    if not isinstance(method, str) or not method:
        problems.append('"method" must be a non-empty string')
    params = document.get("params", {})
    if params is None:
        params = {}
    if not isinstance(params, dict):
        problems.append('"params" must be an object of named parameters (positional arrays are not accepted)')
    unknown = set(document) - {"jsonrpc", "id", "method", "params"}
    if unknown:
        problems.append(f"unknown members {sorted(unknown)}")
    if problems:
        raise RpcError(
            INVALID_REQUEST, "; ".join(problems), "see docs/operations.md, 'The socket'", id=request_id
        )
    assert isinstance(method, str) and isinstance(params, dict)
    return Request(request_id, method, params)


def result_line(request_id: int | str | None, result: Any) -> bytes:
    return orjson.dumps({"jsonrpc": "2.0", "id": request_id, "result": result}) + b"\n"


def error_line(request_id: int | str | None, error: RpcError) -> bytes:
    return orjson.dumps({"jsonrpc": "2.0", "id": request_id, "error": error.to_json()}) + b"\n"


def request_line(method: str, params: dict[str, Any] | None = None, request_id: int = 1) -> bytes:
    """What a client sends (used by milestonectl and the tests)."""
    return (
        orjson.dumps({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params or {}}) + b"\n"
    )


# --- parameter helpers for handlers ------------------------------------------------------------------


def param(params: dict[str, Any], name: str, kind: type | tuple[type, ...], *, required: bool = True) -> Any:
    """A named parameter of the expected JSON type, or an INVALID_PARAMS error naming it."""
    if name not in params or params[name] is None:
        if required:
            raise RpcError(INVALID_PARAMS, f'missing parameter "{name}"', f'add "{name}" to "params"')
        return None
    value = params[name]
    if isinstance(value, bool) and kind is not bool and not (isinstance(kind, tuple) and bool in kind):
        raise RpcError(INVALID_PARAMS, f'parameter "{name}" must not be true/false')
    if not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise RpcError(INVALID_PARAMS, f'parameter "{name}" must be {names}, got {type(value).__name__}')
    return value


def only_params(params: dict[str, Any], allowed: set[str]) -> None:
    unknown = set(params) - allowed
    if unknown:
        takes = ", ".join(sorted(allowed)) or "no parameters"
        raise RpcError(INVALID_PARAMS, f"unknown parameters {sorted(unknown)}", f"this method takes {takes}")
