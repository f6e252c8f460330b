"""Two daemons on one PostgreSQL store (issue 12, point 3): exactly one leads, the other answers queries and
names the leader for writes, and takes over after `kill -9` of the leader with a higher term; a deposed
leader's append is refused in the same transaction as the term check (fencing)."""

from __future__ import annotations

import time
import uuid
from dataclasses import replace

import pytest
from daemon_process import demo_attestations, example_schedule_document
from devnet_process import devnet_running
from ha_cluster import cluster, drop_schema

from milestoned.daemon.jsonrpc import NOT_LEADER
from milestoned.eventlog.config import PostgresConfig

M1 = "M1-testnet-launch"
M2 = "M2-security-audit"


@pytest.mark.postgres
def test_one_leads_the_other_follows_and_takes_over_after_kill_9(postgres_server: PostgresConfig) -> None:
    with (
        devnet_running() as devnet,
        cluster(postgres_server, devnet.url, ha={"takeover_seconds": 3}) as group,
    ):
        first, second = group.add("d0"), group.add("d1")
        first.start()
        second.start()
        leader = first.wait_until(group.leader, "a leader")
        follower = second if leader is first else first
        term = group.role(leader)[1]  # type: ignore[index]
        follower.wait_until(lambda: group.role(follower) == ("follower", term), "the follower knows the term")

        # a follower refuses every change, naming the leader; queries answer
        refused = follower.call("schedule.register", {"schedule": example_schedule_document()})
        assert refused["error"]["code"] == NOT_LEADER
        assert str(leader.socket_path) in refused["error"]["message"]
        assert (
            refused["error"]["data"]["leader"]
            and str(leader.socket_path) in refused["error"]["data"]["leader"]
        )
        assert "result" in follower.call("status")

        assert "error" not in leader.call("schedule.register", {"schedule": example_schedule_document()})
        assert (
            leader.call("signature.commit", {"attestations": demo_attestations(M1, 2)})["result"]["committed"]
            == 2
        )
        follower.wait_until(lambda: len(follower.call("schedules")["result"]) == 1, "the follower sees it")
        term = group.role(leader)[1]  # type: ignore[index]

        group.kill(leader)
        new_leader = follower.wait_until(group.leader, "the follower takes over", timeout=180)
        assert new_leader is follower
        assert group.role(follower)[1] > term  # type: ignore[index]
        committed = follower.call("signature.commit", {"attestations": demo_attestations(M2, 2)})["result"]
        assert committed["committed"] == 2
        states = {m["milestone"]: m for m in follower.call("milestones")["result"]}
        assert states[M1]["quorum_reached"] and states[M2]["quorum_reached"]
        assert follower.call("log.verify")["result"]["ok"] is True
        assert follower.call("log.replay")["result"]["equal"] is True

        # the killed daemon comes back as a follower of the new term
        leader.start()
        new_term = group.role(follower)[1]  # type: ignore[index]
        leader.wait_until(lambda: group.role(leader) == ("follower", new_term), "the old leader follows")
        assert (
            leader.call("signature.commit", {"attestations": demo_attestations(M1, 3)})["error"]["code"]
            == NOT_LEADER
        )

        # the leader loses its leadership session (as when the database drops it): it steps down at its
        # next heartbeat and writes nothing more; the other daemon takes over with a higher term
        _terminate_leadership_session(postgres_server, group.url.rsplit("schema=", 1)[1])
        follower.wait_until(lambda: group.role(follower)[0] == "follower", "the deposed leader steps down")  # type: ignore[index]
        leader.wait_until(lambda: group.role(leader)[0] == "leader", "the other daemon takes over")  # type: ignore[index]
        assert group.role(leader)[1] > new_term  # type: ignore[index]

        def refusal_naming_the_leader() -> dict[str, object] | None:
            error = follower.call("signature.commit", {"attestations": demo_attestations(M1, 3)})["error"]
            assert error["code"] == NOT_LEADER
            return error if error["data"]["leader"] else None  # named once it has read the new term

        refused = follower.wait_until(refusal_naming_the_leader, "the refusal names the new leader")
        assert str(leader.socket_path) in refused["data"]["leader"]  # type: ignore[index,operator]
        assert leader.call("log.verify")["result"]["ok"] is True


@pytest.mark.postgres
def test_a_deposed_leaders_append_is_refused_in_its_own_transaction(postgres_server: PostgresConfig) -> None:
    from milestoned.daemon.leadership import NotLeaderError, PostgresElection
    from milestoned.domain.leadership import Role
    from milestoned.eventlog import EventLog
    from milestoned.eventlog.events import LeaderElected

    schema = f"ha_{uuid.uuid4().hex[:12]}"
    config = replace(postgres_server, schema=schema)
    first = PostgresElection(config, "first", 3.0)
    second = PostgresElection(config, "second", 3.0)
    try:
        with EventLog(config) as old, EventLog(config) as new:
            elected = first.try_lead()
            assert elected.role is Role.LEADER and elected.term == 1
            assert second.try_lead().role is Role.FOLLOWER  # the lock is taken
            old.fence = first.fence(elected.term)
            old.append([LeaderElected(term=1, leader="first")])

            first.close()  # its session ends (as when its machine dies): the lock is free
            for _ in range(100):  # the server drops the lock once the closed session's backend has exited
                taken = second.try_lead()
                if taken.role is Role.LEADER:
                    break
                time.sleep(0.1)
            assert taken.role is Role.LEADER and taken.term == 2
            new.fence = second.fence(taken.term)
            new.head(refresh=True)  # as the daemon does on taking over: the old leader wrote until now
            new.append([LeaderElected(term=2, leader="second")])

            before = new.head(refresh=True)
            with pytest.raises(NotLeaderError, match="deposed"):
                old.append([LeaderElected(term=1, leader="first, still writing")])
            assert new.head(refresh=True) == before  # nothing of the refused batch was written
            assert [e.event.leader for e in new.iter_events()] == ["first", "second"]  # type: ignore[attr-defined]
            assert not first.still_leads()
            assert second.still_leads()
    finally:
        first.close()
        second.close()
        drop_schema(postgres_server, schema)


def _terminate_leadership_session(server: PostgresConfig, schema: str) -> None:
    """End the leader's leadership session (the one holding the advisory lock) from the server side."""
    import psycopg

    with psycopg.connect(**server.conninfo(), autocommit=True) as conn:  # type: ignore[arg-type]
        ended = conn.execute(
            "SELECT pg_terminate_backend(a.pid) FROM pg_stat_activity a "
            "WHERE a.application_name = %s AND a.pid IN "
            "(SELECT l.pid FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted)",
            (f"milestoned-leadership/{schema}",),
        ).fetchall()
    assert ended == [(True,)], "expected exactly one leadership session holding the lock"
