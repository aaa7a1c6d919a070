"""Which requests the web app takes: its own page's, with bounded bodies (a pure ASGI middleware).

In order, for every HTTP request:

* a loopback server answers only Host names of this machine (a DNS-rebinding page is refused, 400);
* an ``/api/...`` request must come from the server's own page or no page at all: an ``Origin``
  header naming another host:port, or a ``Sec-Fetch-Site`` other than ``same-origin`` or
  ``none``, is refused (403). A browser sends one of them with every cross-site request, so another
  site can neither read an answer nor start a computation, while ``curl`` and scripts, which send
  neither, can still GET any endpoint;
* a POST must say what it carries, in a type the endpoint reads (``application/json``;
  ``multipart/form-data`` or a raw ONNX type for an upload; ``application/yaml`` for a scenario),
  so a ``text/plain`` or form-encoded body, which a page elsewhere could send without asking, is
  refused (415); and it must carry the ``X-Chipfit-Token`` header with the token the server made
  at start (``secrets.token_urlsafe``) and wrote into its page, which other sites cannot read
  (403). A script that POSTs reads the token from the page first, or uses GET;
* a body may not exceed its endpoint's limit (413): a declared Content-Length is checked at once,
  and the bytes are counted as they arrive, so a chunked body without a length stops at the limit.

Every refusal is ``{"error": "one sentence"}``. Every answer gets the API's security headers (the
page's own Content-Security-Policy is kept).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.responses import JSONResponse

TOKEN_HEADER = "X-Chipfit-Token"
#: What a POST may carry (the endpoint refuses what it cannot read); the default is JSON.
DEFAULT_TYPES = ("application/json",)
SECURITY_HEADERS = ((b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"))
API_CSP = b"default-src 'none'; frame-ancestors 'none'"
DEFAULT_PORTS = {"http": 80, "https": 443}


def new_token() -> str:
    return secrets.token_urlsafe(32)


def _host_port(netloc: str, scheme: str) -> tuple[str, int] | None:
    try:
        parts = urlsplit("//" + netloc)
        return (parts.hostname or "").lower(), parts.port or DEFAULT_PORTS.get(scheme, 0)
    except ValueError:
        return None


def same_origin(origin: str, host: str, scheme: str) -> bool:
    """Whether the ``Origin`` header names the server the request was sent to (``Host``)."""
    try:
        parts = urlsplit(origin)
    except ValueError:
        return False
    if parts.scheme not in DEFAULT_PORTS or not parts.netloc:
        return False        # "null" (a sandboxed frame, a file) included
    there = _host_port(parts.netloc, parts.scheme)
    return there is not None and there == _host_port(host, scheme)


def _short(text: str) -> str:
    return text if len(text) <= 80 else text[:77] + "..."


class Guard:
    """The checks above, around ``app``. ``limits`` maps a path to its body limit in bytes
    (``default_limit`` elsewhere); ``types`` a path to the content types its POSTs may carry."""

    def __init__(self, app, *, token: str, default_limit: int, limits: Mapping[str, int] | None = None,
                 types: Mapping[str, tuple[str, ...]] | None = None, allowed_hosts: set[str] | None = None):
        self.app = app
        self.token = token
        self.default_limit = default_limit
        self.limits = dict(limits or {})
        self.types = dict(types or {})
        self.allowed_hosts = allowed_hosts

    def refusal(self, scope) -> tuple[int, str] | None:
        """``(status, sentence)`` for a request that is not taken, else None."""
        headers = Headers(scope=scope)
        path, method = scope["path"], scope["method"]
        host = headers.get("host", "")
        if self.allowed_hosts is not None:
            named = _host_port(host, scope.get("scheme", "http"))
            if named is None or named[0].strip("[]") not in self.allowed_hosts:
                return 400, "this server answers only requests addressed to " + ", ".join(sorted(self.allowed_hosts))
        if path.startswith("/api/"):
            origin = headers.get("origin")
            if origin is not None and not same_origin(origin, host, scope.get("scheme", "http")):
                return 403, (f"this server answers only its own page, and this request comes from another one "
                             f"({_short(origin)})")
            site = headers.get("sec-fetch-site")
            if site is not None and site.lower() not in ("same-origin", "none"):
                return 403, f"this server answers only its own page, and the browser says this request is {_short(site)}"
        if method == "POST":
            ctype = headers.get("content-type", "").split(";")[0].strip().lower()
            accepted = self.types.get(path, DEFAULT_TYPES)
            if ctype not in accepted:
                return 415, f"POST {path} takes {' or '.join(accepted)}, not {_short(ctype) or 'a body without Content-Type'}"
            if not secrets.compare_digest(headers.get(TOKEN_HEADER, "").encode(), self.token.encode()):
                return 403, (f"this POST lacks the server's {TOKEN_HEADER} header, or has an old one: it is taken "
                             f"only from the chipfit page (reload it if the server restarted)")
        declared = headers.get("content-length", "")
        limit = self.limits.get(path, self.default_limit)
        if declared.isdigit() and int(declared) > limit:
            return 413, f"the request body is larger than {limit:,} bytes"
        return None

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def with_headers(message):
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                extra = [h for h in SECURITY_HEADERS if h[0] not in names]
                if b"content-security-policy" not in names:
                    extra.append((b"content-security-policy", API_CSP))
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        refused = self.refusal(scope)
        if refused is not None:
            return await _answer(scope, receive, with_headers, *refused)

        limit = self.limits.get(scope["path"], self.default_limit)
        seen, over, started = 0, False, False

        async def counted():
            nonlocal seen, over
            if over:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:     # the app sees the client go away, and its answer is replaced
                    over = True
                    return {"type": "http.disconnect"}
            return message

        async def sent(message):
            nonlocal started
            if over:
                return
            started = started or message["type"] == "http.response.start"
            await with_headers(message)

        try:
            await self.app(scope, counted, sent)
        except Exception:
            if not over:
                raise
        if over and not started:
            await _answer(scope, receive, with_headers, 413, f"the request body is larger than {limit:,} bytes")


async def _answer(scope, receive, send, status: int, message: str) -> None:
    await JSONResponse({"error": message}, status_code=status)(scope, receive, send)
