"""The web view's routes on a snapshot: figures, paging and search, headers, and every kind of bad input."""

from __future__ import annotations

import re

import orjson
import pytest
from web_fixtures import ORACLES, SCHEDULE_ID, address, snapshot

from milestoned.daemon.http_endpoint import HttpRequest, HttpResponse, parse_head, response_bytes
from milestoned.domain.network import CardanoNetwork
from milestoned.web.routes import WebRoutes
from milestoned.web.snapshot import Snapshot
from milestoned.web.templates import PAUSED_NOTE


def routes(shot: Snapshot | None = None) -> WebRoutes:
    current = shot or snapshot()
    return WebRoutes(lambda: current, CardanoNetwork.DEVNET)


def get(r: WebRoutes, target: str, method: str = "GET", **headers: str) -> HttpResponse:
    head = f"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n" + "".join(
        f"{k.replace('_', '-')}: {v}\r\n" for k, v in headers.items()
    )
    return r.handle(parse_head((head + "\r\n").encode("latin-1")))


def as_json(response: HttpResponse) -> dict:
    assert response.content_type == "application/json", response.content_type
    return orjson.loads(response.body)


def test_schedule_figures_partition_the_total_and_milestones_say_pending_met_exceeded() -> None:
    view = as_json(get(routes(), f"/schedules/{SCHEDULE_ID}?format=json"))
    totals = view["totals"]
    # 10 allocations of 100+i; M1 (i%3==0: 0,3,6,9) signed by 2 of quorum 2, M2 by 3, M3 by none;
    # vesting at slot 100(i+1) <= tip 1000 for i <= 9: all vested; allocation 0 released.
    amounts = [100 + i for i in range(10)]
    assert totals["total"] == sum(amounts)
    assert totals["released"] == 100
    assert totals["claimable"] == sum(a for i, a in enumerate(amounts) if i % 3 in (0, 1) and i != 0)
    assert totals["locked"] == totals["total"] - totals["released"]
    statuses = {m["milestone"]: (m["status"], m["signatures"]) for m in view["milestones"]}
    assert statuses == {"M1": ("met", 2), "M2": ("exceeded", 3), "M3": ("pending", 0)}
    m1 = next(m for m in view["milestones"] if m["milestone"] == "M1")
    assert [o["signed"] for o in m1["oracles"]] == [True, True, False]
    assert [o["key"] for o in m1["oracles"]] == list(ORACLES)


def test_reasons_name_the_rule_that_is_not_met() -> None:
    shot = snapshot(tip_slot=250)  # allocations 0 and 1 have vested, the rest not
    rows = {
        r["allocation"][-4:]: r
        for r in as_json(get(routes(shot), f"/schedules/{SCHEDULE_ID}?format=json"))["allocations"]["rows"]
    }
    assert rows[f"{0:064x}#0"[-4:]]["reasons"] == ["already_claimed"]
    assert rows[f"{1:064x}#0"[-4:]]["status"] == "claimable"
    assert rows[f"{2:064x}#0"[-4:]]["reasons"] == ["milestone_not_verified", "vesting_not_passed"]
    assert rows[f"{3:064x}#0"[-4:]]["reasons"] == ["vesting_not_passed"]


def test_a_paused_schedule_says_so_for_every_open_allocation() -> None:
    shot = snapshot(tip_slot=250, paused=True)
    view = as_json(get(routes(shot), f"/schedules/{SCHEDULE_ID}?format=json"))
    rows = {r["allocation"][-4:]: r for r in view["allocations"]["rows"]}
    assert rows[f"{0:064x}#0"[-4:]]["reasons"] == ["already_claimed"]  # released before the pause
    assert rows[f"{1:064x}#0"[-4:]]["status"] == "waiting"  # verified and vested, but paused
    assert rows[f"{1:064x}#0"[-4:]]["reasons"] == ["schedule_paused"]
    assert rows[f"{2:064x}#0"[-4:]]["reasons"] == [
        "schedule_paused",
        "milestone_not_verified",
        "vesting_not_passed",
    ]
    assert view["totals"]["claimable"] == 0
    assert view["paused"] is True
    assert PAUSED_NOTE in get(routes(shot), f"/schedules/{SCHEDULE_ID}").body.decode()
    assert PAUSED_NOTE not in get(routes(), f"/schedules/{SCHEDULE_ID}").body.decode()


def test_beneficiary_page_claimable_next_unlock_history_and_command() -> None:
    shot = snapshot(tip_slot=450)
    who = address(0)  # allocations 0, 4, 8: M1 (released), M2 (vests at 500), M3 (900)
    view = as_json(get(routes(shot), f"/beneficiaries/{who}", accept="application/json"))
    assert view["claimable_now"] == 0
    assert view["next_unlock_ms"] == 1_700_000_000_000 + 500_000
    assert [r["tx_id"] for r in view["releases"]] == ["77" * 32]
    assert view["release_commands"] == [
        f"milestonectl release --schedule-id {SCHEDULE_ID} --beneficiary {who}"
    ]
    html = get(routes(shot), f"/beneficiaries/{who}").body.decode()
    assert "77" * 32 in html and who in html


def test_a_10000_allocation_schedule_page_is_paged_searchable_and_small() -> None:
    shot = snapshot(10_000, beneficiaries=400)
    r = routes(shot)
    first = get(r, f"/schedules/{SCHEDULE_ID}")
    assert first.status == 200
    assert len(first.body) < 100_000, len(first.body)
    assert first.body.count(b"<tr data-allocation=") == 50
    assert b"page 1 of 200" in first.body
    last = as_json(get(r, f"/schedules/{SCHEDULE_ID}?page=200&format=json"))["allocations"]
    assert len(last["rows"]) == 50 and last["page"] == 200
    part = address(7)[-20:]
    found = as_json(get(r, f"/schedules/{SCHEDULE_ID}?q={part}&format=json"))["allocations"]
    assert found["matching"] == 25 and {row["beneficiary"] for row in found["rows"]} == {address(7)}
    timeline = as_json(get(r, f"/schedules/{SCHEDULE_ID}?format=json"))["timeline"]
    assert len(timeline["points"]) <= 80 and timeline["vesting_times"] == 10_000


@pytest.mark.parametrize(
    ("target", "status", "says"),
    [
        ("/schedules/" + "00" * 28, 404, "not followed by this daemon"),
        ("/schedules/xyz", 400, "not a schedule id"),
        ("/schedules/" + "AB" * 28, 400, "not a schedule id"),
        ("/beneficiaries/addr_test1qqqq", 400, "not an address of this network"),
        ("/beneficiaries/" + "a" * 500, 400, "too long"),
        (f"/beneficiaries/{address(99)}", 404, "no allocation"),
        ("/beneficiaries?address=", 400, "no address given"),
        (f"/schedules/{SCHEDULE_ID}?page=abc", 400, "page must be a number"),
        (f"/schedules/{SCHEDULE_ID}?page=0", 400, "page must be a number"),
        (f"/schedules/{SCHEDULE_ID}?q=%3Cscript%3E", 400, "bech32"),
        (f"/schedules/{SCHEDULE_ID}?q=" + "a" * 200, 400, "bech32"),
        (f"/schedules/{SCHEDULE_ID}?evil=1", 400, "unknown query parameter"),
        (f"/schedules/{SCHEDULE_ID}?page=1&page=2", 400, "given 2 times"),
        ("/?" + "&".join(f"a{i}=1" for i in range(50)), 400, "too many query parameters"),
        ("/?format=xml", 400, "format must be json or html"),
        ("/" + "x" * 3000, 414, "too long"),
        ("/static/../../etc/passwd", 400, "malformed path"),
        ("/static/%2e%2e/%2e%2e/etc/passwd", 400, "malformed path"),
        ("/schedules/..%2f..%2fetc", 400, "malformed path"),
        ("/nothing-here", 404, "no such page"),
        ("/%00", 400, "malformed path"),
    ],
)
def test_bad_input_gets_a_clear_4xx_page_and_json(target: str, status: int, says: str) -> None:
    r = routes()
    page = get(r, target)
    assert page.status == status
    assert page.content_type.startswith("text/html")
    assert says in page.body.decode()
    assert "Traceback" not in page.body.decode()
    sep = "&" if "?" in target else "?"
    answer = (
        get(r, target + sep + "format=json") if status != 414 else get(r, target, accept="application/json")
    )
    if status != 400 or "format" not in target:
        assert answer.status == status
        assert as_json(answer)["error"]["status"] == status


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
def test_only_get_and_head(method: str) -> None:
    answer = get(routes(), "/", method=method)
    assert answer.status == 405
    assert ("Allow", "GET, HEAD") in answer.headers


def test_security_and_caching_headers_head_and_revalidation() -> None:
    r = routes()
    page = get(r, f"/schedules/{SCHEDULE_ID}")
    headers = dict(page.headers)
    csp = headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp
    assert "unsafe-inline" not in csp and "http" not in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Cache-Control"] == "no-cache" and headers["Vary"] == "Accept"
    # no inline script or style anywhere on the page (the CSP would block them)
    body = page.body.decode()
    assert re.findall(r"<script[^>]*>", body) == ['<script src="/static/live.js" defer>']
    assert " style=" not in body and "<style" not in body
    again = get(r, f"/schedules/{SCHEDULE_ID}", if_none_match=headers["ETag"])
    assert again.status == 304 and again.body == b""
    moved = routes(snapshot(version="2.2"))
    assert get(moved, f"/schedules/{SCHEDULE_ID}", if_none_match=headers["ETag"]).status == 200
    head = get(r, "/", method="HEAD")
    wire = response_bytes(head, head_only=True)
    assert wire.endswith(b"\r\n\r\n") and f"Content-Length: {len(head.body)}".encode() in wire
    assert dict(get(r, "/schedules/" + "00" * 28).headers)["Cache-Control"] == "no-store"


def test_hostile_text_from_a_schedule_definition_is_escaped() -> None:
    shot = snapshot(admin='<script>alert("x")</script><img src=x onerror=1>')
    body = get(routes(shot), f"/schedules/{SCHEDULE_ID}").body.decode()
    assert "<script>alert" not in body and "<img src=x" not in body
    assert "&lt;script&gt;alert" in body


def test_unavailable_projections_answer_503_not_a_traceback() -> None:
    from milestoned.web.routes import Unavailable

    def failing() -> Snapshot:
        raise Unavailable("the projections start once the chain's slot clock is known; retrying")

    answer = WebRoutes(failing, CardanoNetwork.DEVNET).handle(
        HttpRequest("GET", "/", "/", "", {"accept": "application/json"})
    )
    assert answer.status == 503 and as_json(answer)["error"]["hint"].startswith("the projections")


@pytest.mark.parametrize(
    ("host", "status"),
    [
        ("127.0.0.1:8080", 200),
        ("[::1]:8080", 200),
        ("localhost:8080", 200),
        ("grants.example.org", 200),
        ("", 200),
        ("evil.example.com:8080", 421),
        ("127.0.0.1.evil.example.com", 421),
    ],
)
def test_only_ip_addresses_localhost_and_configured_names_are_answered(host: str, status: int) -> None:
    """A page elsewhere that rebinds its own name to 127.0.0.1 cannot read the view (DNS rebinding)."""
    current = snapshot()
    r = WebRoutes(lambda: current, CardanoNetwork.DEVNET, ["grants.example.org"])
    answer = get(r, "/", host=host) if host else r.handle(HttpRequest("GET", "/", "/", "", {}))
    assert answer.status == status
    if status == 421:
        assert b"[web] hosts" in answer.body
