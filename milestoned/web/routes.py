"""Requests to responses for the web view: paths, query checks, content negotiation, headers, errors.

Pure given a snapshot: `WebRoutes.handle` reads the request and the current snapshot and returns bytes;
it never raises for bad input (every refusal is a 4xx page, or error JSON for scripts) and never writes.
GET and HEAD only: the view is read-only by construction, there is no handler that could change state.

Every page is also JSON under the same path (`Accept: application/json`, or `?format=json` for links
and curl). Responses carry a strict CSP (scripts and styles only from this origin, no inline script,
nothing from elsewhere, no framing), `nosniff`, no referrer, and an ETag that changes when the daemon's
state does: browsers revalidate with `no-cache`, and the live-update script's polls cost a 304 while
nothing moved. Rendered pages are kept per snapshot version, so a crowd on one page costs one render.
"""

from __future__ import annotations

import ipaddress
import re
from collections import OrderedDict
from collections.abc import Callable, Iterable
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, unquote

import orjson

from milestoned.daemon.http_endpoint import HttpRequest, HttpResponse
from milestoned.domain.addresses import canonical_address, parse_payment_address
from milestoned.domain.network import CardanoNetwork
from milestoned.domain.validation_errors import InputProblem
from milestoned.web import templates, viewmodels
from milestoned.web.snapshot import Snapshot
from milestoned.web.templates import Links

MAX_TARGET = 2048
MAX_QUERY_FIELDS = 8
RENDER_CACHE = 128
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = (
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Cross-Origin-Resource-Policy", "same-origin"),
)
HTML = "text/html; charset=utf-8"
JSON = "application/json"
_SCHEDULE_ID = re.compile(r"[0-9a-f]{56}")
_QUERY_TEXT = re.compile(r"[0-9a-z_]*")
_PATH_TEXT = re.compile(r"[A-Za-z0-9/._\-]*")


def static_file(name: str) -> bytes:
    """A file of the package's static folder (style sheet, script, icon), for the server and the reports."""
    return resources.files("milestoned.web").joinpath("static", name).read_bytes()


STATIC: dict[str, tuple[str, bytes]] = {
    "/static/web.css": ("text/css; charset=utf-8", static_file("web.css")),
    "/static/live.js": ("text/javascript; charset=utf-8", static_file("live.js")),
    "/static/icon.svg": ("image/svg+xml", static_file("icon.svg")),
    "/favicon.ico": ("image/svg+xml", static_file("icon.svg")),
}


class Refusal(Exception):
    def __init__(self, status: int, message: str, hint: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.hint = hint


class Unavailable(Exception):
    """The daemon cannot give a snapshot now (projections not started or failing); answered 503."""


def wants_json(request: HttpRequest, params: dict[str, str]) -> bool:
    if params.get("format") == "json":
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def parse_query(query: str, allowed: set[str]) -> dict[str, str]:
    try:
        parsed = parse_qs(query, keep_blank_values=True, max_num_fields=MAX_QUERY_FIELDS)
    except ValueError:
        raise Refusal(
            400, "too many query parameters", f"this page takes only: {', '.join(sorted(allowed))}"
        ) from None
    unknown = sorted(set(parsed) - allowed - {"format"})
    if unknown:
        raise Refusal(
            400,
            f"unknown query parameter {unknown[0][:40]!r}",
            f"this page takes: {', '.join(sorted(allowed | {'format'}))}",
        )
    values = {}
    for key, items in parsed.items():
        if len(items) != 1:
            raise Refusal(400, f"query parameter {key!r} given {len(items)} times", "give it once")
        values[key] = items[0]
    if values.get("format", "json") not in ("json", "html"):
        raise Refusal(400, "format must be json or html", "leave it out for HTML, or use ?format=json")
    return values


def check_address(value: str, network: CardanoNetwork) -> str:
    if len(value) > 200:
        raise Refusal(400, "that is not an address (too long)", "paste a bech32 payment address (addr…)")
    try:
        return canonical_address(parse_payment_address(value.strip(), network))
    except InputProblem as problem:
        raise Refusal(
            400,
            f"not an address of this network: {problem.problem}",
            problem.hint or "paste a payment address",
        ) from None


def host_allowed(host_header: str, names: frozenset[str]) -> bool:
    """An IP address, localhost, or one of `names` (a missing Host, from HTTP/1.0 tools, passes)."""
    host = host_header.strip().lower()
    if not host:
        return True
    if host.startswith("["):
        host = host[1 : host.find("]")] if "]" in host else host
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return host in ("localhost", "localhost.") or host in names


def schedule_head(snapshot: Snapshot, schedule_id: str, view: dict[str, Any] | None = None) -> str:
    """The part of a schedule page that is the same for every page and search of a snapshot (definition,
    figures, milestones, the timeline chart and its table), rendered once per snapshot."""
    key = ("head-html", schedule_id)
    cached = snapshot.memo.get(key)
    if cached is None:
        cached = templates.schedule_head(
            view or viewmodels.schedule_view(snapshot, schedule_id), Links(live=True)
        )
        snapshot.memo[key] = cached
    return str(cached)


def prerender(snapshot: Snapshot) -> Snapshot:
    """Render every schedule's head now (the daemon calls it in the worker thread that built `snapshot`)."""
    for info in snapshot.schedules:
        schedule_head(snapshot, info.schedule_id)
    return snapshot


class WebRoutes:
    def __init__(
        self, snapshot: Callable[[], Snapshot], network: CardanoNetwork, hosts: Iterable[str] = ()
    ) -> None:
        self.snapshot = snapshot
        self.network = network
        self.hosts = frozenset(h.lower() for h in hosts)
        self._cache: OrderedDict[tuple[str, str, bool], HttpResponse] = OrderedDict()
        self._cache_version = ""

    def handle(self, request: HttpRequest) -> HttpResponse:
        as_json = "format=json" in request.query or "application/json" in request.headers.get("accept", "")
        try:
            if request.method not in ("GET", "HEAD"):
                raise Refusal(
                    405,
                    f"{request.method[:20] or 'that method'} is not allowed",
                    "this view is read-only: GET or HEAD",
                )
            if not host_allowed(request.headers.get("host", ""), self.hosts):
                raise Refusal(
                    421,
                    "this view does not answer to that host name",
                    "open it by IP address or localhost, or list the name in [web] hosts",
                )
            if len(request.target) > MAX_TARGET:
                raise Refusal(
                    414, "the address of the request is too long", f"at most {MAX_TARGET} characters"
                )
            if request.path in STATIC:
                content_type, body = STATIC[request.path]
                return HttpResponse(
                    200, content_type, body, (*SECURITY_HEADERS, ("Cache-Control", "public, max-age=300"))
                )
            path = unquote(request.path)
            if not _PATH_TEXT.fullmatch(path) or ".." in path or "//" in path:
                raise Refusal(400, "malformed path", "paths are like /schedules/ID or /beneficiaries/ADDRESS")
            return self._page(request, path)
        except Refusal as refusal:
            return self._refusal(refusal, as_json)
        except Unavailable as exc:
            return self._refusal(Refusal(503, "not ready", str(exc)), as_json, (("Retry-After", "2"),))

    def _refusal(
        self, refusal: Refusal, as_json: bool, extra: tuple[tuple[str, str], ...] = ()
    ) -> HttpResponse:
        headers = (*SECURITY_HEADERS, ("Cache-Control", "no-store"), *extra)
        if refusal.status == 405:
            headers = (*headers, ("Allow", "GET, HEAD"))
        if as_json:
            body = orjson.dumps(
                {"error": {"status": refusal.status, "message": refusal.message, "hint": refusal.hint}}
            )
            return HttpResponse(refusal.status, JSON, body + b"\n", headers)
        html = templates.page(
            f"{refusal.status}",
            templates.error_body(refusal.status, refusal.message, refusal.hint),
            version="",
            links=Links(live=refusal.status < 500),
        )
        return HttpResponse(refusal.status, HTML, html.encode(), headers)

    def _page(self, request: HttpRequest, path: str) -> HttpResponse:
        parts = [p for p in path.split("/") if p]
        if parts in ([], ["schedules"]):
            route: tuple[str, ...] = ("schedules",)
            allowed: set[str] = set()
        elif len(parts) == 2 and parts[0] == "schedules":
            route, allowed = ("schedule", parts[1]), {"page", "q"}
        elif len(parts) == 3 and parts[0] == "schedules" and parts[2] == "definition.json":
            route, allowed = ("definition", parts[1]), set()
        elif parts == ["beneficiaries"]:
            route, allowed = ("beneficiary-form",), {"address"}
        elif len(parts) == 2 and parts[0] == "beneficiaries":
            route, allowed = ("beneficiary", parts[1]), set()
        elif parts == ["activity"]:
            route, allowed = ("activity",), set()
        else:
            raise Refusal(
                404, "no such page", "the pages are /, /schedules/ID, /beneficiaries/ADDRESS and /activity"
            )
        params = parse_query(request.query, allowed)
        as_json = wants_json(request, params) or route[0] == "definition"
        snapshot = self.snapshot()
        if snapshot.version != self._cache_version:
            self._cache.clear()
            self._cache_version = snapshot.version
        etag = f'W/"{snapshot.version}-{"j" if as_json else "h"}"'
        key = (path, "&".join(f"{k}={v}" for k, v in sorted(params.items())), as_json)
        cached = self._cache.get(key)
        if cached is None:
            cached = self._render(snapshot, route, params, as_json, etag)
            self._cache[key] = cached
            if len(self._cache) > RENDER_CACHE:
                self._cache.popitem(last=False)
        if etag in request.headers.get("if-none-match", ""):
            return HttpResponse(304, "", b"", self._headers(etag))
        return cached

    def _headers(self, etag: str) -> tuple[tuple[str, str], ...]:
        return (*SECURITY_HEADERS, ("Cache-Control", "no-cache"), ("ETag", etag), ("Vary", "Accept"))

    def _render(
        self, snapshot: Snapshot, route: tuple[str, ...], params: dict[str, str], as_json: bool, etag: str
    ) -> HttpResponse:
        links = Links(live=True)
        name = route[0]
        view: dict[str, Any]
        if name == "schedules":
            view = viewmodels.schedules_view(snapshot)
            title, body = "Schedules", (lambda: templates.schedules_body(view, links))
        elif name in ("schedule", "definition"):
            schedule_id = route[1]
            if not _SCHEDULE_ID.fullmatch(schedule_id):
                raise Refusal(
                    400, "that is not a schedule id", "a schedule id is 56 lowercase hex digits (see /)"
                )
            if name == "definition":
                info = self._known(snapshot, schedule_id)
                body_bytes = orjson.dumps(dict(info.definition), option=orjson.OPT_INDENT_2)
                headers = (
                    *self._headers(etag),
                    ("Content-Disposition", f'attachment; filename="schedule-{schedule_id[:8]}.json"'),
                )
                return HttpResponse(200, JSON, body_bytes + b"\n", headers)
            page = self._page_number(params.get("page", "1"))
            query = params.get("q", "")
            if len(query) > viewmodels.MAX_QUERY_CHARS or not _QUERY_TEXT.fullmatch(query.strip().lower()):
                raise Refusal(
                    400,
                    "the search must be (part of) a bech32 address",
                    "letters, digits and _ only, at most 120",
                )
            self._known(snapshot, schedule_id)
            view = viewmodels.schedule_view(snapshot, schedule_id, page, query)
            head = schedule_head(snapshot, schedule_id, view)
            title = f"Schedule {schedule_id[:12]}…"
            body = lambda: templates.schedule_body(view, links, head)  # noqa: E731
        elif name in ("beneficiary", "beneficiary-form"):
            raw = route[1] if name == "beneficiary" else params.get("address", "")
            if not raw:
                raise Refusal(400, "no address given", "type a beneficiary address in the search box")
            address = check_address(raw, self.network)
            try:
                view = viewmodels.beneficiary_view(snapshot, address)
            except viewmodels.NotFound as exc:
                raise Refusal(
                    404, str(exc), "check the address; `milestonectl claimable` lists beneficiaries"
                ) from None
            title, body = f"Beneficiary {address[:16]}…", (lambda: templates.beneficiary_body(view, links))
        else:
            view = viewmodels.activity_view(snapshot)
            title, body = "Activity", (lambda: templates.activity_body(view, links))
        headers = self._headers(etag)
        if as_json:
            return HttpResponse(200, JSON, orjson.dumps(view) + b"\n", headers)
        html = templates.page(title, body(), version=snapshot.version, links=links)
        return HttpResponse(200, HTML, html.encode(), headers)

    @staticmethod
    def _known(snapshot: Snapshot, schedule_id: str) -> Any:
        try:
            return viewmodels.schedule_info(snapshot, schedule_id)
        except viewmodels.NotFound as exc:
            raise Refusal(404, str(exc), "the list of schedules is at /") from None

    @staticmethod
    def _page_number(text: str) -> int:
        if not text.isdigit() or len(text) > 7 or int(text) < 1:
            raise Refusal(400, f"page must be a number from 1 (got {text[:20]!r})", "use the page links")
        return int(text)
