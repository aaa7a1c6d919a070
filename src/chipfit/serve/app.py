"""The ``chipfit serve`` web app: one page, and JSON endpoints over the Python API.

Every ``/api/...`` endpoint validates its parameters (:mod:`.params`), calls chipfit (:mod:`.compute`)
and answers with the very object ``chipfit CMD --json`` prints. Bad input is a 4xx answer
``{"error": "one sentence"}`` (422 for parameters and chipfit's own refusals, 400 for an upload
that is not ONNX, 413 for one over the limit), never a 500. The page (``/``) is static HTML and
vanilla JS served from this package; it draws results with the HTML report's renderer through
``POST /api/render``, so its charts are the report's charts. Nothing is fetched from elsewhere.
"""

# No "from __future__ import annotations": FastAPI reads the endpoints' annotations at run time,
# and the command endpoints take their parameter model from a closure.
import logging
from importlib import resources
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Body, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from chipfit.analysis.check import check
from chipfit.analysis.count import count
from chipfit.analysis.explain import with_explain
from chipfit.analysis.params import sentence
from chipfit.analysis.rank import rank
from chipfit.core.errors import ChipfitError
from chipfit.core.jsonio import dumps_json, script_json
from chipfit.core.version import VERSION
from chipfit.data import zoo
from chipfit.data.chips import chips as list_chips
from chipfit.render.html import page as html_report
from chipfit.serve import compute
from chipfit.serve.params import COMMANDS, PlanParams, UploadParams, choices
from chipfit.serve.upload import Upload, UploadError, received

log = logging.getLogger("chipfit.serve")

DEFAULT_MAX_UPLOAD_BYTES = 1 << 30
#: Largest body of the other endpoints (a scenario, a result to render).
MAX_BODY_BYTES = 64 << 20
MAX_SCENARIO_BYTES = 1 << 20

PAGE_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
            "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
API_CSP = "default-src 'none'; frame-ancestors 'none'"

EXAMPLE_SCENARIO = """name: camera box
chip: jetson-orin-nano-8gb
precision: int8
latency_budget_s: 0.1
stages:
  - name: detector
    model: ssdlite320_mobilenet_v3_large
    rate: {per_s: 30}
    streams: 2
  - name: classifier
    model: mobilenet_v3_small
    after: [detector]
    rate: {per_input: 5}
    batch: 5
"""

SUMMARIES = {
    "count": "MACs, FLOPs, parameters and bytes (chipfit count)",
    "check": "Will this chip run the model at this rate? (chipfit check)",
    "rank": "Every chip that meets the target, best first (chipfit rank)",
    "llm": "TTFT, time per token, tokens/s and memory of an LLM (chipfit llm)",
    "whatif": "Which lever closes the gap on this chip: precision, batch, input size, sparsity, pruning, a lighter "
              "model (chipfit whatif)",
}

ERROR_SCHEMA = {"type": "object", "properties": {"error": {"type": "string"},
                                                "fields": {"type": "array", "items": {"type": "string"}}},
                "required": ["error"]}
RESULT_SCHEMA = {"type": "object", "description": "The object 'chipfit CMD --json' prints, with its 'command' key.",
                 "additionalProperties": True}


def _errors(*codes: int) -> dict:
    return {c: {"description": "One sentence saying what is wrong.",
                "content": {"application/json": {"schema": ERROR_SCHEMA}}} for c in codes}


RESULT_RESPONSES: dict = {200: {"description": "The result, as the CLI's --json prints it.",
                                "content": {"application/json": {"schema": RESULT_SCHEMA}}}, **_errors(422)}


class ResultJSON(JSONResponse):
    """Plain ``json.dumps`` (the CLI's), without FastAPI's slow encoder pass; non-finite floats become null."""

    def render(self, content: Any) -> bytes:
        return dumps_json(content, indent=None).encode("utf-8")


def _error(status: int, message: str, fields: list[str] | None = None) -> ResultJSON:
    """``{"error": sentence}``, with ``"fields"``: the parameters at fault, for the page to mark."""
    return ResultJSON({"error": message, **({"fields": fields} if fields else {})}, status_code=status)


def _validation_sentence(exc: RequestValidationError) -> "str | ChipfitError":
    errors = exc.errors()
    if not errors:
        return "the request is malformed"
    err = errors[0]
    loc = [str(x) for x in err.get("loc", ()) if x not in ("query", "body", "path", "header")]
    where = ".".join(loc)
    kind = err.get("type", "")
    if kind == "json_invalid":
        return "the request body is not valid JSON"
    if kind == "missing":
        return f"missing parameter '{where}'" if where else "the request body is missing"
    if kind == "extra_forbidden":
        return f"unknown parameter '{where}'"
    if not where and kind in ("model_attributes_type", "dict_type"):
        return "the request body must be a JSON object"
    more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
    if not where:
        msg = str(err.get("msg", "invalid value"))
        return msg[:1].lower() + msg[1:] + more
    found = sentence({**err, "loc": loc})   # the Python API's and the CLI's sentence
    return ChipfitError(found.template + more) if more else found


def _host_allowed(request: Request, allowed: set[str]) -> bool:
    host = request.headers.get("host", "")
    try:
        name = urlsplit("//" + host).hostname or ""
    except ValueError:
        return False
    return name.lower() in allowed


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise UploadError(f"the request body is larger than {limit:,} bytes", 413)
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > limit:
            raise UploadError(f"the request body is larger than {limit:,} bytes", 413)
    return bytes(data)


def _upload_result(up: Upload, p: UploadParams) -> dict:
    """Count (then check or rank) an uploaded ONNX file, as the CLI does with a path."""
    precision = p.precision or ("fp32" if p.view == "count" else "int8")
    with compute.WORK_LOCK:
        try:
            # check and rank price one inference: a free batch dimension is bound to 1 (as the CLI does)
            counted = count(str(up.path), precision=precision, batch=p.batch if p.view == "count" else 1,
                            dims=p.dims or None, input_shape=p.input_shape or None, name=up.filename)
        except ChipfitError as exc:
            message = str(exc).replace(str(up.path), up.filename).replace(str(up.path.parent), "")
            raise UploadError(message, 400) from None
        if p.view == "count":
            return {"command": "count", **counted.to_dict(per_layer=p.per_layer, depth=p.depth)}
        if p.view == "check":
            r = check(counted, p.chip, fps=p.fps, precision=precision, batch=p.batch or 1,
                      utilization=p.utilization, sparse=p.sparse, fuse=p.fuse)
            return {"command": "check", **with_explain(r.to_dict(per_layer=p.per_layer), r, p.explain)}
        r = rank(counted, fps=p.fps, precision=precision, by=p.by, batch=p.batch or 1, utilization=p.utilization,
                 category=p.category, max_power=p.max_power, min_memory_gb=p.min_memory_gb)
        return {"command": "rank", **with_explain(r.to_dict(), r, p.explain)}


def _page() -> str:
    """The page, with the pickers' choices and each view's defaults from the parameter models."""
    spec = script_json(choices())
    page = resources.files(__package__).joinpath("page.html").read_text(encoding="utf-8")
    return page.replace("<!--CHIPFIT-PARAMS-->", f'<script id="chipfit-params" type="application/json">{spec}</script>')


def create_app(max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES, *, allowed_hosts: list[str] | None = None,
               upload_dir: str | None = None, cache_size: int = 128) -> FastAPI:
    """The app. ``max_upload_bytes`` caps an ONNX upload; ``allowed_hosts`` (when given) are the
    only Host header names answered (a loopback server refuses DNS-rebinding pages);
    ``upload_dir`` is where uploads are briefly kept (default: the system's temporary folder)."""
    if max_upload_bytes < 1:
        raise ChipfitError(f"the upload limit must be at least 1 byte, got {max_upload_bytes}")
    app = FastAPI(
        title="chipfit", version=VERSION, docs_url=None, redoc_url=None, openapi_url="/openapi.json",
        description="How much compute and bandwidth does a neural network need, and will this chip run it? "
                    "Each endpoint returns the JSON object the matching `chipfit` command prints with `--json`.",
    )
    cache = compute.ResultCache(cache_size)
    app.state.cache = cache
    app.state.max_upload_bytes = max_upload_bytes
    allowed = {h.lower().strip("[]") for h in allowed_hosts} if allowed_hosts is not None else None

    @app.middleware("http")
    async def guard(request: Request, call_next):
        if allowed is not None and not _host_allowed(request, allowed):
            return _error(400, "this server answers only requests addressed to "
                          + ", ".join(sorted(allowed)))
        declared = request.headers.get("content-length", "")
        if request.url.path != "/api/upload" and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            return _error(413, f"the request body is larger than {MAX_BODY_BYTES:,} bytes")
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", API_CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        return response

    @app.exception_handler(ChipfitError)
    async def _chipfit_error(request: Request, exc: ChipfitError):
        return _error(422, str(exc), exc.fields)

    @app.exception_handler(UploadError)
    async def _upload_error(request: Request, exc: UploadError):
        return _error(exc.status, str(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        sentence = _validation_sentence(exc)
        return _error(422, str(sentence), getattr(sentence, "fields", None))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        message = {404: f"no such page or endpoint: {request.url.path}",
                   405: f"{request.method} is not allowed on {request.url.path}"}.get(exc.status_code, str(exc.detail))
        return _error(exc.status_code, message)

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception):
        log.exception("internal error on %s %s", request.method, request.url.path)
        return _error(500, f"internal error ({type(exc).__name__}: {exc})")

    # -- the page ---------------------------------------------------------------------------
    @app.get("/", include_in_schema=False)
    def page() -> HTMLResponse:
        return HTMLResponse(_page(), headers={"Content-Security-Policy": PAGE_CSP, "Cache-Control": "no-cache"})

    app.mount("/static", StaticFiles(packages=[("chipfit.serve", "static")]), name="static")

    # -- pickers ----------------------------------------------------------------------------
    @app.get("/api/models", tags=["data"], summary="The built-in models (chipfit zoo --json)",
             responses={200: {"content": {"application/json": {"schema": RESULT_SCHEMA}}}, **_errors(422)})
    def models(task: Annotated[str | None, Query(max_length=20, description="vision, language, speech or "
                                                                            "multimodal.")] = None):
        return ResultJSON({"models": [e.model_dump(exclude_none=True) for e in zoo.entries(task)]})

    @app.get("/api/chips", tags=["data"], summary="The chip database (chipfit chips --json)",
             responses={200: {"content": {"application/json": {"schema": RESULT_SCHEMA}}}, **_errors(422)})
    def chips(
        category: Annotated[str | None, Query(max_length=20, description="edge, mobile, desktop, datacenter "
                                                                         "or cpu.")] = None,
        vendor: Annotated[str | None, Query(max_length=100, description="Vendor name (substring).")] = None,
        precision: Annotated[str | None, Query(max_length=20, description="Only chips with a dense peak for "
                                                                          "it.")] = None,
        max_power: Annotated[float | None, Query(gt=0, le=1e6, allow_inf_nan=False)] = None,
        min_memory_gb: Annotated[float | None, Query(ge=0, le=1e6, allow_inf_nan=False)] = None,
    ):
        records = list_chips(category=category, vendor=vendor, precision=precision, max_power=max_power,
                             min_memory_gb=min_memory_gb)
        return ResultJSON({"chips": [r.summary() for r in records]})

    # -- the commands -------------------------------------------------------------------------
    def cached(kind: str, fn, p) -> ResultJSON:
        return ResultJSON(cache.get((kind, p.model_dump_json()), lambda: fn(p)))

    def command(name: str, params_type, fn, summary: str) -> None:
        def get(p: Annotated[params_type, Query()]):  # type: ignore[valid-type]
            return cached(name, fn, p)

        def post(p: Annotated[params_type, Body()]):  # type: ignore[valid-type]
            return cached(name, fn, p)

        for method, handler in (("get", get), ("post", post)):
            handler.__name__ = f"{name}_{method}"
            getattr(app, method)(f"/api/{name}", tags=["commands"], summary=summary, responses=RESULT_RESPONSES,
                                 response_class=ResultJSON,
                                 description=f"Parameters as {'a query string' if method == 'get' else 'a JSON body'}; "
                                             f"the answer is what `chipfit {name} ... --json` prints.")(handler)

    for name, params_type in COMMANDS.items():
        command(name, params_type, lambda p, name=name: compute.run(name, p), SUMMARIES[name])

    @app.post("/api/plan", tags=["commands"], summary="Several models at once (chipfit plan)",
              responses=RESULT_RESPONSES | _errors(413), response_class=ResultJSON,
              description="The body is the scenario YAML (as in examples/*.yaml; at most 1 MiB); every stage's "
                          "model must be a built-in name.",
              openapi_extra={"requestBody": {"required": True, "content": {
                  "application/yaml": {"schema": {"type": "string", "maxLength": MAX_SCENARIO_BYTES},
                                       "example": EXAMPLE_SCENARIO},
                  "text/plain": {"schema": {"type": "string", "maxLength": MAX_SCENARIO_BYTES}}}}})
    async def plan(request: Request, p: Annotated[PlanParams, Query()]):
        raw = await _read_body(request, MAX_SCENARIO_BYTES)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ChipfitError("the scenario is not UTF-8 text") from None
        if not text.strip():
            raise ChipfitError("the scenario is empty: send the scenario YAML as the request body")
        result = await run_in_threadpool(cache.get, ("plan", text, p.model_dump_json()), lambda: compute.plan(text, p))
        return ResultJSON(result)

    @app.post("/api/upload", tags=["commands"], summary="Count, check or rank an uploaded ONNX file",
              responses=RESULT_RESPONSES | _errors(400, 413, 415), response_class=ResultJSON,
              description="The ONNX file goes in the body, as multipart/form-data (field 'file') or raw "
                          "(application/octet-stream, name in ?filename=). It is streamed to a temporary file "
                          "(at most the server's upload limit), read without its weights, and deleted before the "
                          "answer is sent; nothing in it is executed.",
              openapi_extra={"requestBody": {"required": True, "content": {
                  "multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
                      "file": {"type": "string", "format": "binary"}}}},
                  "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}})
    async def upload(request: Request, p: Annotated[UploadParams, Query()]):
        if p.view == "check" and (p.chip is None or p.fps is None):
            raise ChipfitError("checking an uploaded model needs chip and fps")
        if p.view == "rank" and p.fps is None:
            raise ChipfitError("ranking chips for an uploaded model needs fps")
        async with received(request, max_upload_bytes, p.filename, upload_dir) as up:
            result = await run_in_threadpool(_upload_result, up, p)
        return ResultJSON(result)

    @app.post("/api/render", tags=["reports"], summary="The HTML report of a result",
              responses={200: {"description": "kind, title and HTML", "content": {"application/json": {"schema": {
                  "type": "object", "properties": {"kind": {"type": "string"}, "title": {"type": "string"},
                                                   "html": {"type": "string"}}}}}}, **_errors(422)},
              response_class=ResultJSON,
              description="The body is a result (any endpoint's answer, or a saved --json). The answer's html is "
                          "the report's content (verdict, summary, charts, formulas) to show inside a page, or "
                          "with full=true the whole self-contained page that --report writes.")
    def render(result: Annotated[dict[str, Any], Body()],
               full: Annotated[bool, Query(description="The whole page instead of its content.")] = False):
        try:
            kind, title, body = html_report.fragment(result)
            html = html_report.render(result) if full else body
        except ChipfitError:
            raise
        except Exception as exc:  # a hand-made or truncated result: say so, never a 500
            log.info("cannot render a result: %s: %s", type(exc).__name__, exc)
            raise ChipfitError(f"this is not a chipfit result the report can draw ({type(exc).__name__}: {exc}); "
                               "send an endpoint's answer unchanged") from None
        return ResultJSON({"kind": kind, "title": title, "html": html})

    return app
