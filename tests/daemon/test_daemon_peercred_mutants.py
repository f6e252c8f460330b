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


class CountingReader:
    """Stands in for the /proc reader and counts the peers whose groups were read."""

    def __init__(self) -> None:
        self.pids: list[int] = []

    def __call__(self, pid: int, uid: int, gid: int) -> set[int]:
        self.pids.append(pid)
        return _groups(pid, uid, gid)


def test_the_decision_is_the_same_without_the_groups_whenever_they_are_not_read() -> None:
    policies = [
        AdminPolicy(frozenset(), frozenset()),
        AdminPolicy(frozenset({1001}), frozenset()),
        AdminPolicy(frozenset(), frozenset({2001})),
        AdminPolicy(frozenset({1001}), frozenset({2001})),
    ]
    for policy in policies:
        for uid in (0, 1001, 1002):
            for gid in (2001, 5000):
                for extra in (frozenset(), frozenset({2001}), frozenset({7})):
                    full = Peer(1234, uid, gid, extra | {gid})
                    alone = Peer(1234, uid, gid, frozenset({gid}))
                    if not policy.needs_groups(uid, gid):
                        assert policy.is_admin(alone) == policy.is_admin(full)
    needing = AdminPolicy(frozenset({1001}), frozenset({2001}))
    assert needing.needs_groups(1002, 5000)
    assert not needing.needs_groups(0, 5000)
    assert not needing.needs_groups(1001, 5000)
    assert not needing.needs_groups(1002, 2001)
    assert not AdminPolicy(frozenset({1001}), frozenset()).needs_groups(1002, 5000)


def test_peer_of_reads_the_groups_only_when_the_policy_needs_them() -> None:
    me, gid = os.getuid(), os.getgid()
    other_gid = max([gid, *os.getgroups()]) + 1  # a group this process is not in
    left, right = socket.socketpair(socket.AF_UNIX)
    with left, right:
        reader = CountingReader()
        full = peer_of(left, None, reader)  # no policy: everything is read
        assert reader.pids == [os.getpid()]
        assert full.groups == frozenset({gid, *os.getgroups()})
        for policy in (
            AdminPolicy(frozenset({me}), frozenset({other_gid})),
            AdminPolicy(frozenset(), frozenset()),
            AdminPolicy(frozenset(), frozenset({gid, other_gid})),
        ):
            reader = CountingReader()
            alone = peer_of(left, policy, reader)
            assert reader.pids == []
            assert alone.groups == frozenset({gid})
            assert policy.is_admin(alone) == policy.is_admin(full)
        needing = AdminPolicy(frozenset(), frozenset({other_gid}))
        reader = CountingReader()
        peer_of(left, needing, reader)
        assert reader.pids == ([] if me == 0 else [os.getpid()])  # root is an admin regardless


@pytest.mark.skipif(os.geteuid() != 0, reason="a peer with another uid needs root to start it")
def test_a_peer_that_is_not_obviously_an_admin_has_its_groups_read() -> None:
    """A peer of another uid, outside the admin uids, with admin groups configured: read, once."""
    nobody = 65534
    sock_address = f"\0milestoned-peercred-test-{os.getpid()}"  # abstract: no file permissions involved
    server = socket.socket(socket.AF_UNIX)
    server.bind(sock_address)
    server.listen(1)
    server.settimeout(10)
    left, right = socket.socketpair(socket.AF_UNIX)  # only to hold the child until the test is done
    child = os.fork()
    if child == 0:  # the peer: drop to nobody, connect, wait for the parent
        try:
            left.close()
            server.close()
            os.setgroups([])
            os.setgid(nobody)
            os.setuid(nobody)
            with socket.socket(socket.AF_UNIX) as client:
                client.connect(sock_address)
                right.recv(1)
        finally:
            os._exit(0)
    right.close()
    try:
        conn, _ = server.accept()
        with conn:
            reader = CountingReader()
            seen = peer_of(conn, AdminPolicy(frozenset(), frozenset({54321})), reader)
            assert (seen.uid, reader.pids) == (nobody, [child])
            reader = CountingReader()
            peer_of(conn, AdminPolicy(frozenset({nobody}), frozenset({54321})), reader)
            assert reader.pids == []
    finally:
        left.close()
        server.close()
        os.waitpid(child, 0)


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
