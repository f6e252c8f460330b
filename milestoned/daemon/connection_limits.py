"""Who may open one more connection to the command socket. Pure: counts in, a verdict out.

Why these rules: the socket's group lets ordinary users in to query, and without limits one of them
could hold every connection (idle, or sending a byte a second) and lock everyone out, admins included.
So a non-admin uid may hold at most `per_uid` connections, non-admins together at most
`total - admin_reserved`, and the last `admin_reserved` slots are for admins only: whatever the
others do, an admin can connect to see what is happening and act on it. (The timeouts that free
slots held by slow or silent clients live in the socket server.)
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Refusal:
    message: str
    hint: str


@dataclass(slots=True)
class ConnectionLimits:
    total: int = 64
    per_uid: int = 16
    admin_reserved: int = 4
    open_by_uid: dict[int, int] = field(default_factory=dict)

    @property
    def open(self) -> int:
        return sum(self.open_by_uid.values())

    def admit(self, uid: int, admin: bool) -> Refusal | None:
        """Take a slot for `uid` (None), or say why not (nothing taken)."""
        held = self.open_by_uid.get(uid, 0)
        if admin:
            if self.open >= self.total:
                return Refusal(
                    f"all {self.total} connections of the daemon are in use, the {self.admin_reserved} kept "
                    "for admins included",
                    "close idle milestonectl sessions, or raise socket.max_connections / "
                    "socket.admin_reserved_connections",
                )
        elif held >= self.per_uid:
            return Refusal(
                f"uid {uid} already holds {held} connections, the most one non-admin user may hold",
                "close some of them (each milestonectl call needs one), or raise "
                "socket.max_connections_per_uid in the daemon's config",
            )
        elif self.open >= self.total - self.admin_reserved:
            return Refusal(
                f"the daemon serves {self.open} connections; the remaining {self.total - self.open} are "
                "kept for admins",
                "try again shortly; an admin can see who holds them in the daemon's log",
            )
        self.open_by_uid[uid] = held + 1
        return None

    def release(self, uid: int) -> None:
        held = self.open_by_uid.get(uid, 0)
        if held <= 1:
            self.open_by_uid.pop(uid, None)
        else:
            self.open_by_uid[uid] = held - 1
