"""No one in the socket's group can lock the socket: not by holding idle connections, not by sending a
byte a second (slowloris), not with a huge request (issue 17, points 6 and 7). The real daemon process,
its real socket, clients running as other users (root is always an admin)."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson
import pytest
from daemon_process import Daemon, running, short_folder
from socket_clients import NOBODY, OTHER_USER, STATUS, first_line, fork_as, one_call

from milestoned.commands.socket_client import DaemonClient, DaemonRefused

SLOWLORIS_CLIENTS = 70
READ_TIMEOUT_S = 10.0
IDLE_TIMEOUT_S = 15.0


@pytest.fixture(scope="module")
def daemon() -> Iterator[Daemon]:
    """Default connection limits (64 in all, 16 per non-admin uid, 4 kept for admins); a shorter read
    timeout than the default 30 s so the slowloris test ends sooner."""
    sections = {"socket": {"group": "nogroup", "admin_uids": [12345], "read_timeout_seconds": READ_TIMEOUT_S}}
    with running(short_folder(), **sections) as started:
        yield started


def _code(answer: dict[str, object]) -> object:
    error = answer.get("error")
    return error.get("code") if isinstance(error, dict) else None


def slowloris(path: Path, count: int, give_up_s: float) -> Callable[[Callable[[bytes], None]], bytes]:
    """`count` connections, each sent one more byte of a request every second (never its newline);
    returns how each ended: the daemon's first answer line, "EOF", or "open" if still open at the end."""

    def job(report: Callable[[bytes], None]) -> bytes:
        socks = []
        for _ in range(count):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.connect(str(path))
            sock.setblocking(False)
            socks.append(sock)
        report(b"connected\n")
        body = STATUS.rstrip(b"\n")
        ended: dict[int, str] = {}
        deadline = time.monotonic() + give_up_s
        tick = 0
        while len(ended) < count and time.monotonic() < deadline:
            for number, sock in enumerate(socks):
                if number in ended:
                    continue
                try:
                    data = sock.recv(65536)
                    ended[number] = data.split(b"\n")[0].decode() if data else "EOF"
                    continue
                except BlockingIOError:
                    pass
                except OSError as exc:
                    ended[number] = f"recv: {exc}"
                    continue
                try:
                    sock.send(body[tick % len(body) : tick % len(body) + 1])
                except BlockingIOError:
                    pass
                except OSError as exc:
                    # the daemon answered and closed between the recv above and this send (a refusal
                    # at the first tick, or the read timeout): its answer is still there to read
                    ended[number] = _left_to_read(sock) or f"send: {exc}"
            tick += 1
            time.sleep(1.0)
        return orjson.dumps([ended.get(n, "open") for n in range(count)])

    return job


def _left_to_read(sock: socket.socket) -> str:
    """The first line the peer sent before closing, if any (empty if nothing is there)."""
    try:
        data = sock.recv(65536)
    except OSError:
        return ""
    return data.split(b"\n")[0].decode()


def idle(path: Path, count: int, give_up_s: float) -> Callable[[Callable[[bytes], None]], bytes]:
    """`count` connections that never send anything; how each ended (as in `slowloris`)."""

    def job(report: Callable[[bytes], None]) -> bytes:
        socks = []
        for _ in range(count):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.connect(str(path))
            sock.settimeout(give_up_s)
            socks.append(sock)
        report(b"connected\n")
        ended = []
        for sock in socks:
            try:
                data = sock.recv(65536)
                ended.append(data.split(b"\n")[0].decode() if data else "EOF")
            except TimeoutError:
                ended.append("open")
            except OSError as exc:
                ended.append(f"recv: {exc}")
        return orjson.dumps(ended)

    return job


def as_user(uid: int, path: Path) -> dict[str, object]:
    """One status request by `uid` (a non-admin in the socket's group)."""
    child = fork_as(uid, lambda report: orjson.dumps(one_call(path)))
    return orjson.loads(child.finish(60))


def test_slowloris_leaves_new_clients_and_admins_answered(daemon: Daemon) -> None:
    attack = fork_as(NOBODY, slowloris(daemon.socket_path, SLOWLORIS_CLIENTS, READ_TIMEOUT_S + 30))
    attack.read_until(b"connected\n")
    # while 70 connections dribble a byte a second: an admin and another user are answered at once,
    admin = one_call(daemon.socket_path)
    assert "result" in admin and admin["result"]["caller"]["admin"] is True  # type: ignore[index]
    other = as_user(OTHER_USER, daemon.socket_path)
    assert "result" in other and other["result"]["caller"]["uid"] == OTHER_USER  # type: ignore[index]
    # and the attacker itself is told it holds too many
    more = as_user(NOBODY, daemon.socket_path)
    assert _code(more) == -32004 and "uid 65534 already holds 16" in more["error"]["message"]  # type: ignore[index]

    ended = orjson.loads(attack.finish())
    refused = [e for e in ended if '"code":-32004' in e]
    timed_out = [e for e in ended if '"code":-32005' in e]
    assert len(refused) == SLOWLORIS_CLIENTS - 16, ended
    assert len(timed_out) == 16, ended  # the daemon closed every dribbling connection itself
    assert "did not arrive within 10 s" in timed_out[0]
    assert "result" in one_call(daemon.socket_path)


def test_a_request_over_the_limit_gets_the_error_not_a_reset(daemon: Daemon) -> None:
    huge = b'{"jsonrpc":"2.0","id":9,"method":"status","params":{"x":"' + b"a" * 10_000_000 + b'"}}\n'
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(60)
        sock.connect(str(daemon.socket_path))
        sock.sendall(huge)  # the whole 10 MB is read (and thrown away): no broken pipe
        answer = orjson.loads(first_line(sock))
        assert sock.recv(65536) == b""  # then the connection is closed
    assert answer["error"]["code"] == -32002 and "4194304" in answer["error"]["message"]
    # milestonectl's client, with a request larger than the daemon reads before closing: it still
    # reports the daemon's -32002, or says clearly what happened
    with DaemonClient(daemon.socket_path, timeout_s=60) as client, pytest.raises(DaemonRefused) as refused:
        client.call("status", {"x": "a" * 100_000_000})
    assert refused.value.code == -32002
    assert "result" in one_call(daemon.socket_path)


def test_idle_connections_of_a_non_admin_do_not_lock_out_an_admin() -> None:
    """Here one uid may take every slot but the four kept for admins; idle connections are closed."""
    sections = {
        "socket": {
            "group": "nogroup",
            "admin_uids": [12345],
            "max_connections_per_uid": 64,
            "idle_timeout_seconds": IDLE_TIMEOUT_S,
        }
    }
    with running(short_folder(), **sections) as daemon:
        holder = fork_as(NOBODY, idle(daemon.socket_path, 64, IDLE_TIMEOUT_S + 30))
        holder.read_until(b"connected\n")
        admin = one_call(daemon.socket_path)
        assert "result" in admin, admin
        other = as_user(OTHER_USER, daemon.socket_path)
        assert _code(other) == -32004 and "kept for admins" in other["error"]["message"]  # type: ignore[index]

        ended = orjson.loads(holder.finish())
        assert sum('"code":-32004' in e for e in ended) == 4, ended
        closed_idle = [e for e in ended if '"code":-32005' in e]
        assert len(closed_idle) == 60, ended
        assert "a request did not arrive within 15 s" in closed_idle[0]
        assert "result" in as_user(OTHER_USER, daemon.socket_path)  # the slots are free again
