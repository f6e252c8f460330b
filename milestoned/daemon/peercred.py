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
from collections.abc import Callable, Collection
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


def peer_of(
    sock: socket.socket,
    admins: AdminPolicy | None = None,
    read_groups: Callable[[int, int, int], set[int]] | None = None,
) -> Peer:
    """The credentials of the process at the other end of a connected Unix socket.

    Given the admin policy, the supplementary groups are read only when the admin decision depends on
    them (`AdminPolicy.needs_groups`); otherwise `groups` holds the primary group alone. Why: reading
    them is three system calls per connection (open, read, close of /proc/PID/status), each a hand-off
    of the interpreter lock, which a burst of fifty new connections pays fifty times while nobody
    looks at the answer (root, an admin uid, a member by primary group, or a policy without admin
    groups). The decision itself is the same either way: `is_admin` only intersects `groups` with the
    policy's groups. They are still read at once, never later: the pid may be reused once the peer exits.
    `read_groups` is a seam for tests (default: `/proc`, then the group database).
    """
    raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _UCRED.size)
    pid, uid, gid = _UCRED.unpack(raw)
    if admins is not None and not admins.needs_groups(uid, gid):
        return Peer(pid, uid, gid, frozenset({gid}))
    read = _groups if read_groups is None else read_groups
    return Peer(pid, uid, gid, frozenset({gid, *read(pid, uid, gid)}))


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

    def needs_groups(self, uid: int, gid: int) -> bool:
        """Whether `is_admin` for a peer with this uid and primary gid depends on its other groups."""
        return uid != 0 and uid not in self.uids and gid not in self.gids and bool(self.gids)
