"""The ``chipfit serve`` web app: one page, and JSON endpoints over the Python API.

Every ``/api/...`` endpoint validates its parameters (:mod:`.params`), runs chipfit (:mod:`.compute`)
in a worker process with a memory cap and a time limit (:mod:`.worker`) and answers with the very
object ``chipfit CMD --json`` prints. Bad input is a 4xx answer ``{"error": "one sentence"}`` (422
for parameters and chipfit's own refusals, 400 for an upload that is not ONNX, 413 for a body over
its limit), never a 500; a computation stopped at the time limit, or one that finds the workers
busy, is a 503. The pickers' endpoints, the page and the report renderer answer from the server
process itself, so they stay quick while a computation runs.

Requests are taken only from the server's own page, or from scripts that send no browser headers
(:mod:`.guard`): cross-site ``/api/...`` requests are refused, and a POST needs a JSON (or upload,
or YAML scenario) content type and the ``X-Chipfit-Token`` header with the token this app makes at
start and writes into its page (``app.state.token``). A plain ``curl`` GET of any ``/api/...``
endpoint works without it. The page (``/``) is static HTML and vanilla JS served from this
package; it draws results with the HTML report's renderer through ``POST /api/render``, so its
charts are the report's charts. Nothing is fetched from elsewhere.
"""

# No "from __future__ import annotations": FastAPI reads the endpoints' annotations at run time,
# and the command endpoints take their parameter model from a closure.
import logging
from contextlib import asynccontextmanager
from importlib import resources
from typing import Annotated, Any

from fastapi import Body, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from chipfit.analysis.params import sentence
from chipfit.core.errors import ChipfitError
from chipfit.core.jsonio import dumps_json, script_json
from chipfit.core.version import VERSION
from chipfit.data import zoo
from chipfit.data.chips import chips as list_chips
from chipfit.render.html import page as html_report
from chipfit.serve import compute
from chipfit.serve.guard import TOKEN_HEADER, Guard, new_token
from chipfit.serve.params import COMMANDS, PlanParams, UploadParams, choices
from chipfit.serve.upload import ENVELOPE_BYTES, RAW_TYPES, UploadError, received
from chipfit.serve.worker import Pool, WorkError

log = logging.getLogger("chipfit.serve")

DEFAULT_MAX_UPLOAD_BYTES = 1 << 30
#: Largest body of the other endpoints (a query, a scenario) ...
MAX_BODY_BYTES = 1 << 20
#: ... but a result to render, which lists every layer of an uploaded model.
MAX_RENDER_BYTES = 16 << 20
#: What each POST endpoint reads (the others take JSON).
POST_TYPES = {"/api/plan": ("application/yaml", "application/json"),
              "/api/upload": ("multipart/form-data", *RAW_TYPES)}

PAGE_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
            "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")

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
                                "content": {"application/json": {"schema": RESULT_SCHEMA}}}, **_errors(403, 422, 503)}


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


def _page(token: str) -> str:
    """The page, with the pickers' choices, each view's defaults from the parameter models, and the
    token its POSTs carry."""
    spec = script_json({**choices(), "token": token})
    page = resources.files(__package__).joinpath("page.html").read_text(encoding="utf-8")
    return page.replace("<!--CHIPFIT-PARAMS-->", f'<script id="chipfit-params" type="application/json">{spec}</script>')


def create_app(max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES, *, allowed_hosts: list[str] | None = None,
               upload_dir: str | None = None, cache_size: int = 128, in_process: bool = False) -> FastAPI:
    """The app. ``max_upload_bytes`` caps an ONNX upload; ``allowed_hosts`` (when given) are the
    only Host header names answered (a loopback server refuses DNS-rebinding pages);
    ``upload_dir`` is where uploads are briefly kept (default: the system's temporary folder);
    ``in_process`` runs computations in the server's own threads, one at a time and without
    limits (for tests that do not test isolation). ``app.state.worker`` is the :class:`.worker.Pool`
    (its limits are attributes), ``app.state.token`` the token POSTs must carry."""
    if max_upload_bytes < 1:
        raise ChipfitError(f"the upload limit must be at least 1 byte, got {max_upload_bytes}")
    pool = Pool(in_process=in_process)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        pool.close()

    app = FastAPI(
        title="chipfit", version=VERSION, docs_url=None, redoc_url=None, openapi_url="/openapi.json",
        lifespan=lifespan,
        description="How much compute and bandwidth does a neural network need, and will this chip run it? "
                    "Each endpoint returns the JSON object the matching `chipfit` command prints with `--json`. "
                    f"A POST must carry the `{TOKEN_HEADER}` header with the token of `GET /api/token` "
                    "(also in the server's page); GET needs none.",
    )
    cache = compute.ResultCache(cache_size)
    token = new_token()
    app.state.cache = cache
    app.state.max_upload_bytes = max_upload_bytes
    app.state.worker = pool
    app.state.token = token
    app.add_middleware(
        Guard, token=token, default_limit=MAX_BODY_BYTES, types=POST_TYPES,
        limits={"/api/upload": max_upload_bytes + ENVELOPE_BYTES, "/api/render": MAX_RENDER_BYTES},
        allowed_hosts={h.lower().strip("[]") for h in allowed_hosts} if allowed_hosts is not None else None)

    @app.exception_handler(ChipfitError)
    async def _chipfit_error(request: Request, exc: ChipfitError):
        return _error(422, str(exc), exc.fields)

    @app.exception_handler(UploadError)
    async def _upload_error(request: Request, exc: UploadError):
        return _error(exc.status, str(exc))

    @app.exception_handler(WorkError)
    async def _work_error(request: Request, exc: WorkError):
        response = _error(exc.status, str(exc), exc.fields)
        if exc.status == 503:
            response.headers["Retry-After"] = "5"
        return response

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        sentence = _validation_sentence(exc)
        return _error(422, str(sentence), getattr(sentence, "fields", None))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        message = {404: f"no such page or endpoint: {request.url.path}",
                   405: f"{request.method} is not allowed on {request.url.path}"}.get(exc.status_code, str(exc.detail))
        if exc.status_code == 400 and message == "There was an error parsing the body":   # FastAPI's words
            message = "the request body cannot be read (malformed, or nested too deeply)"
        return _error(exc.status_code, message)

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception):
        log.exception("internal error on %s %s", request.method, request.url.path)
        return _error(500, f"internal error ({type(exc).__name__}): the server's log has the details")

    # -- the page ---------------------------------------------------------------------------
    @app.get("/", include_in_schema=False)
    def page() -> HTMLResponse:
        return HTMLResponse(_page(token), headers={"Content-Security-Policy": PAGE_CSP, "Cache-Control": "no-cache"})

    app.mount("/static", StaticFiles(packages=[("chipfit.serve", "static")]), name="static")

    @app.get("/api/token", tags=["data"], summary="The token every POST carries in its X-Chipfit-Token header")
    def get_token():
        """Readable by this machine's scripts and the server's own page only: another site's page is
        refused (Origin, Sec-Fetch-Site) and could not read the answer anyway (same-origin policy)."""
        return {"token": token, "header": TOKEN_HEADER}

    # -- pickers ----------------------------------------------------------------------------
    @app.get("/api/models", tags=["data"], summary="The built-in models (chipfit zoo --json)",
             responses={200: {"content": {"application/json": {"schema": RESULT_SCHEMA}}}, **_errors(422)})
    def models(task: Annotated[str | None, Query(max_length=20, description="vision, language, speech, "
                                                                            "multimodal or diffusion.")] = None):
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
    def cached(name: str, p) -> ResultJSON:
        return ResultJSON(cache.get((name, p.model_dump_json()), lambda: pool.run(compute.run, name, p)))

    def command(name: str, params_type, summary: str) -> None:
        def get(p: Annotated[params_type, Query()]):  # type: ignore[valid-type]
            return cached(name, p)

        def post(p: Annotated[params_type, Body()]):  # type: ignore[valid-type]
            return cached(name, p)

        for method, handler in (("get", get), ("post", post)):
            handler.__name__ = f"{name}_{method}"
            getattr(app, method)(f"/api/{name}", tags=["commands"], summary=summary, responses=RESULT_RESPONSES,
                                 response_class=ResultJSON,
                                 description=f"Parameters as {'a query string' if method == 'get' else 'a JSON body'}; "
                                             f"the answer is what `chipfit {name} ... --json` prints.")(handler)

    for name, params_type in COMMANDS.items():
        command(name, params_type, SUMMARIES[name])

    @app.post("/api/plan", tags=["commands"], summary="Several models at once (chipfit plan)",
              responses=RESULT_RESPONSES | _errors(413, 415), response_class=ResultJSON,
              description="The body is the scenario YAML (as in examples/*.yaml; at most 1 MiB), sent as "
                          "application/yaml; every stage's model must be a built-in name.",
              openapi_extra={"requestBody": {"required": True, "content": {
                  "application/yaml": {"schema": {"type": "string", "maxLength": MAX_BODY_BYTES},
                                       "example": EXAMPLE_SCENARIO}}}})
    async def plan(request: Request, p: Annotated[PlanParams, Query()]):
        raw = await request.body()     # at most MAX_BODY_BYTES: the guard stops a longer one
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ChipfitError("the scenario is not UTF-8 text") from None
        if not text.strip():
            raise ChipfitError("the scenario is empty: send the scenario YAML as the request body")
        result = await run_in_threadpool(cache.get, ("plan", text, p.model_dump_json()),
                                         lambda: pool.run(compute.plan, text, p))
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
            result = await run_in_threadpool(pool.run, compute.upload, up.path, up.filename, p)
        return ResultJSON(result)

    @app.post("/api/render", tags=["reports"], summary="The HTML report of a result",
              responses={200: {"description": "kind, title and HTML", "content": {"application/json": {"schema": {
                  "type": "object", "properties": {"kind": {"type": "string"}, "title": {"type": "string"},
                                                   "html": {"type": "string"}}}}}}, **_errors(403, 413, 415, 422)},
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
