"""Who is an admin on the socket: tests for mutants of `peercred` that survived (issue 19).

Root, a configured uid, and a member of an admin group (primary or supplementary, from the kernel's
credentials and /proc, or the group database once the peer is gone) are admins; nobody else is.
"""

from __future__ import annotations

import grp
import os
import pwd
import socket
import subprocess

import pytest

from milestoned.daemon.peercred import AdminPolicy, Peer, _groups, peer_of

UNKNOWN_UID = 2**31 - 7  # no account has it
GONE_PID = 2**22 + 1  # above the kernel's pid_max: never a live process


def peer(uid: int, gid: int = 5000, groups: frozenset[int] = frozenset()) -> Peer:
    return Peer(pid=1234, uid=uid, gid=gid, groups=groups | {gid})


def test_root_configured_uids_and_admin_group_members_are_admins() -> None:
    policy = AdminPolicy(uids=frozenset({1001}), gids=frozenset({2001}))
    assert policy.is_admin(peer(0))
    assert policy.is_admin(peer(1001))
    assert policy.is_admin(peer(1002, gid=2001))
    assert policy.is_admin(peer(1002, groups=frozenset({7, 2001})))
    assert not policy.is_admin(peer(1002, groups=frozenset({7, 8})))
    assert not AdminPolicy(frozenset(), frozenset()).is_admin(peer(1))


def test_the_admin_group_is_added_by_name() -> None:
    group = grp.getgrgid(os.getgid())
    assert AdminPolicy.build([5], [6], group.gr_name) == AdminPolicy(
        frozenset({5}), frozenset({6, group.gr_gid})
    )
    assert AdminPolicy.build([5], [6]) == AdminPolicy(frozenset({5}), frozenset({6}))


def test_the_kernel_reports_the_peer_and_proc_its_groups() -> None:
    left, right = socket.socketpair(socket.AF_UNIX)
    with left, right:
        me = peer_of(left)
    assert (me.pid, me.uid, me.gid) == (os.getpid(), os.getuid(), os.getgid())
    assert me.groups == frozenset({os.getgid(), *os.getgroups()})
    assert _groups(os.getpid(), os.getuid(), os.getgid()) == set(os.getgroups())


def test_a_peer_that_has_exited_gets_its_groups_from_the_group_database() -> None:
    name = pwd.getpwuid(os.getuid()).pw_name
    expected = {g.gr_gid for g in grp.getgrall() if name in g.gr_mem}
    assert _groups(GONE_PID, os.getuid(), os.getgid()) == expected
    assert _groups(GONE_PID, UNKNOWN_UID, 0) == set()


def test_a_peer_is_described_by_name_or_uid() -> None:
    name = pwd.getpwuid(os.getuid()).pw_name
    assert Peer(42, os.getuid(), 0, frozenset()).describe() == f"{name} (uid {os.getuid()}, pid 42)"
    assert Peer(42, UNKNOWN_UID, 0, frozenset()).describe() == f"{UNKNOWN_UID} (uid {UNKNOWN_UID}, pid 42)"


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a child process other groups needs root")
def test_a_live_peer_s_groups_come_from_proc_not_the_group_database() -> None:
    """The kernel's supplementary groups of the running peer win over what the group database says."""
    child = subprocess.Popen(["sleep", "30"], extra_groups=[54321])
    try:
        assert _groups(child.pid, os.getuid(), os.getgid()) == {54321}
    finally:
        child.kill()
        child.wait()
