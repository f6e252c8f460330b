"""Large schedules in parts: `schedule.upload` collects a schedule's JSON text in chunks that each fit the
socket's request limit; `schedule.register {"upload_id": ID}` then registers the assembled text.

WHY: a schedule of tens of thousands of allocations is several MB, more than `socket.max_request_bytes`
(4 MB by default) allows in one request line. Raising the limit for everyone is the wrong fix, and the
daemon never opens a path a client names (a client could make it read any file it can). So the client,
told the limit by the REQUEST_TOO_LARGE error, sends the text in base64 parts below it. Parts are kept in
memory only, bounded in total size and count, and forgotten after `TTL_S` or once registered.
"""

from __future__ import annotations

import base64
import binascii
import time
from dataclasses import dataclass, field
from typing import Any

from milestoned.daemon import jsonrpc
from milestoned.daemon.jsonrpc import RpcError, only_params, param

MAX_TOTAL_BYTES = 256 * 1024 * 1024
MAX_PARTS = 100_000
TTL_S = 600.0


@dataclass
class _Upload:
    count: int
    parts: dict[int, bytes] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)

    @property
    def size(self) -> int:
        return sum(len(p) for p in self.parts.values())


class ScheduleUploads:
    def __init__(self) -> None:
        self._uploads: dict[str, _Upload] = {}

    def _expire(self) -> None:
        now = time.monotonic()
        for upload_id in [u for u, up in self._uploads.items() if now - up.started > TTL_S]:
            del self._uploads[upload_id]

    def add(self, params: dict[str, Any]) -> dict[str, Any]:
        only_params(params, {"upload_id", "index", "count", "data"})
        upload_id = param(params, "upload_id", str)
        index, count = param(params, "index", int), param(params, "count", int)
        data = param(params, "data", str)
        if not 0 < len(upload_id) <= 64 or not 0 < count <= MAX_PARTS or not 0 <= index < count:
            raise RpcError(
                jsonrpc.INVALID_PARAMS,
                f"upload part {index} of {count} (upload {upload_id[:64]!r}) is out of range",
                f"number parts from 0 to count-1, at most {MAX_PARTS} parts; milestonectl does this for you",
            )
        try:
            chunk = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raise RpcError(jsonrpc.INVALID_PARAMS, '"data" must be base64') from None
        self._expire()
        upload = self._uploads.setdefault(upload_id, _Upload(count))
        if upload.count != count:
            raise RpcError(
                jsonrpc.INVALID_PARAMS, f"upload {upload_id!r} has {upload.count} parts, not {count}"
            )
        if sum(u.size for u in self._uploads.values()) + len(chunk) > MAX_TOTAL_BYTES:
            del self._uploads[upload_id]
            raise RpcError(
                jsonrpc.REQUEST_TOO_LARGE,
                f"uploads in progress would exceed {MAX_TOTAL_BYTES} bytes; the upload was dropped",
                "try again later, or split the schedule into several schedules",
            )
        upload.parts[index] = chunk
        return {"upload_id": upload_id, "received": len(upload.parts), "count": count}

    def take(self, upload_id: str) -> str:
        """The assembled text of a complete upload (removed from memory), or a clear error."""
        self._expire()
        upload = self._uploads.get(upload_id)
        if upload is None:
            raise RpcError(
                jsonrpc.NOT_FOUND,
                f"no upload {upload_id!r} (never sent, already registered, or older than {TTL_S:.0f} s)",
                "send the schedule again (milestonectl schedule register FILE)",
            )
        missing = [i for i in range(upload.count) if i not in upload.parts]
        if missing:
            raise RpcError(
                jsonrpc.INVALID_PARAMS,
                f"upload {upload_id!r} lacks {len(missing)} of its {upload.count} parts "
                f"(the first missing: {missing[0]})",
                "send the missing parts, then register again",
            )
        del self._uploads[upload_id]
        try:
            return b"".join(upload.parts[i] for i in range(upload.count)).decode("utf-8")
        except UnicodeDecodeError:
            raise RpcError(jsonrpc.VALIDATION_FAILED, "the uploaded schedule is not UTF-8 text") from None
