"""Who is calling: the peer's uid, gid and groups from `SO_PEERCRED`, and whether that makes them an admin.

Why the kernel's word and nothing the client says: `SO_PEERCRED` reports the credentials of the process
that connected, so a client cannot claim to be someone else. The socket's own mode (0660, the configured
group) decides who may connect at all; this decides, per request, who may change anything: root, the
configured admin uids, and members of the admin groups (primary or supplementary, read from
`/proc/<pid>/status`, falling back to the group database when the peer has already exited).
"""

from __future__ import annotations

import grp
import pwd
import socket
import struct
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

_UCRED = struct.Struct("3i")


@dataclass(frozen=True, slots=True)
class Peer:
    pid: int
    uid: int
    gid: int
    groups: frozenset[int]

    def describe(self) -> str:
        try:
            name = pwd.getpwuid(self.uid).pw_name
        except KeyError:
            name = str(self.uid)
        return f"{name} (uid {self.uid}, pid {self.pid})"


def peer_of(sock: socket.socket) -> Peer:
    """The credentials of the process at the other end of a connected Unix socket."""
    raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _UCRED.size)
    pid, uid, gid = _UCRED.unpack(raw)
    return Peer(pid, uid, gid, frozenset({gid, *_groups(pid, uid, gid)}))


def _groups(pid: int, uid: int, gid: int) -> set[int]:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("Groups:"):
                return {int(g) for g in line.split()[1:]}
    except (OSError, ValueError):
        pass
    try:
        name = pwd.getpwuid(uid).pw_name
    except KeyError:
        return set()
    return {g.gr_gid for g in grp.getgrall() if name in g.gr_mem}


@dataclass(frozen=True, slots=True)
class AdminPolicy:
    """Who may change things. Root always may."""

    uids: frozenset[int]
    gids: frozenset[int]

    @classmethod
    def build(cls, uids: Collection[int], gids: Collection[int], group_name: str = "") -> AdminPolicy:
        all_gids = set(gids)
        if group_name:
            all_gids.add(grp.getgrnam(group_name).gr_gid)
        return cls(frozenset(uids), frozenset(all_gids))

    def is_admin(self, peer: Peer) -> bool:
        return peer.uid == 0 or peer.uid in self.uids or bool(peer.groups & self.gids)
