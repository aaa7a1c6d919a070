"""What the web API accepts: each command's parameter model (:mod:`chipfit.analysis.params`)
without the parameters that read local files, and the model-name guard.

The names, bounds, defaults and help are the Python API's and the CLI's, declared once; every
number has a range, so a query can neither ask for an infinite rate nor a batch that would take
the server down; anything out of range is a 422 with one sentence.

Only built-in model names (and their aliases) are taken as ``model``: the CLI's other MODEL forms
read local files (``config.json``, ``.onnx``) or import and run Python code (``module:callable``),
which a web page must never do. ONNX files come in through the upload endpoint instead, and
scenario YAML is checked stage by stage with the same guard (:func:`builtin_model`).
"""

from __future__ import annotations

import difflib
from typing import Any, Literal, Optional

from pydantic import Field, create_model, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_core import PydanticCustomError

from chipfit.analysis import params as P
from chipfit.core.errors import ChipfitError
from chipfit.data import zoo
from chipfit.frontends.resolve import is_onnx

#: Old names of parameters, still accepted (shared addresses made before the rename).
RENAMED = {"to_precision": "precisions", "load": "load_factor", "dim": "dims"}


class WebParams(P.Params):
    """A web query: a built-in model name only; old parameter names mapped to the new."""

    @model_validator(mode="before")
    @classmethod
    def _renamed(cls, values: Any) -> Any:
        if isinstance(values, dict):
            values = {RENAMED.get(k, k) if RENAMED.get(k) in cls.model_fields else k: v for k, v in values.items()}
        return values

    @field_validator("model", check_fields=False)
    @classmethod
    def _builtin(cls, value: str) -> str:
        try:
            return builtin_model(value)
        except ChipfitError as exc:  # a whole sentence already: shown as it is
            raise PydanticCustomError("sentence", str(exc)) from None


WEB_MODEL_HELP = ("A built-in model name or alias (GET /api/models); files and module:callable are refused: "
                  "send an ONNX file to POST /api/upload.")


def web(model: type[P.Params], *, drop: tuple[str, ...] = (), **more: Any) -> type[WebParams]:
    """``model`` as the web API takes it: a built-in model, none of the LOCAL parameters (nor
    ``drop``), and ``more``."""
    fields: dict[str, Any] = {}
    for name, f in model.model_fields.items():
        if "local" in model.roles(name) or name in drop or name == "dims":  # built-in models have no free dims
            continue
        if name == "model":
            f = FieldInfo.merge_field_infos(f, description=WEB_MODEL_HELP, examples=["resnet18"])
        fields[name] = (f.annotation, f)
    fields.update(more)
    return create_model(model.__name__, __base__=WebParams, __doc__=model.__doc__, **fields)


CountParams = web(P.CountParams)
CheckParams = web(P.CheckParams)
RankParams = web(P.RankParams)
LLMParams = web(P.LLMParams)
WhatIfParams = web(P.WhatIfParams)
PlanParams = web(P.PlanParams)

#: The commands the web API runs from a query (plan takes its scenario as the body).
COMMANDS: dict[str, type[WebParams]] = {"count": CountParams, "check": CheckParams, "rank": RankParams,
                                        "llm": LLMParams, "whatif": WhatIfParams}


def _upload_fields() -> dict[str, Any]:
    """Every option of count, check and rank (an uploaded ONNX file is their model)."""
    out: dict[str, Any] = {}
    for model in (P.RankParams, P.CheckParams, P.CountParams):
        for name, f in model.model_fields.items():
            if name in ("model", "chips_files", "device", "trace", "phase", "context", "causal_discount",
                        "show_all") or name in out:
                continue
            if name in ("fps", "chip", "precision", "batch"):   # required or defaulted per view
                f = FieldInfo.merge_field_infos(f, default=None)
                fields_type = Optional[f.annotation]
            else:
                fields_type = f.annotation
            out[name] = (fields_type, f)
    return out


UploadParams = create_model(
    "UploadParams", __base__=WebParams,
    __doc__="What to do with an uploaded ONNX file: count it, check it on a chip or rank chips for it.",
    view=(Literal["count", "check", "rank"], Field("count", description="count, check or rank.")),
    filename=(Optional[str], Field(None, max_length=255, description="The file's name, for a raw "
                                   "(application/octet-stream) body; multipart uploads carry their own.")),
    **_upload_fields(),
)


def choices() -> dict[str, Any]:
    """What the page's pickers offer and each view's defaults, from the parameter models (so the
    page never lists a precision or a sort key the API would refuse)."""
    out: dict[str, Any] = {"choices": {
        "precision": list(P.literal_values(P.CheckParams, "precision")),
        "by": list(P.literal_values(P.RankParams, "by")),
        "category": list(P.literal_values(P.RankParams, "category")),
        "levers": list(P.LEVERS),
    }, "defaults": {}}
    for name, model in {**COMMANDS, "plan": PlanParams}.items():
        out["defaults"][name] = {k: f.default for k, f in model.model_fields.items()
                                 if not f.is_required() and f.default is not None
                                 and isinstance(f.default, (str, int, float, list))}
    return out


def builtin_model(name: str) -> str:
    """The canonical name of the built-in model ``name`` names; a one-sentence refusal for
    anything else (a path, an ``.onnx`` or ``config.json`` file, ``module:callable``)."""
    text = str(name).strip()
    entry = zoo.find(text)
    if entry is not None and not is_onnx(entry.name):
        return entry.name
    if is_onnx(text) or text.lower().endswith(".json") or any(c in text for c in "/\\:~"):
        raise ChipfitError(f"'{text}' is not a built-in model name: the web app never reads local files or "
                           f"imports Python code; pick a name from /api/models or upload an ONNX file")
    names = {e.name.lower(): e.name for e in zoo.by_name().values()}
    close = difflib.get_close_matches(text.lower(), list(names), n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(names[c] for c in close)}?" if close else "; /api/models lists them"
    raise ChipfitError(f"unknown model '{text}': not a built-in name{hint}")


#: Bounds on a web scenario's numbers (the scenario file itself only asks for positive ones): the
#: LLM parameters' memory allowance, the count parameters' batch, and room for any real deployment.
SCENARIO_BOUNDS = {"overhead_gb": 1e4, "latency_budget_s": 1e6}
STAGE_BOUNDS = {"streams": 1e6, "repeat": 1e6, "batch": 65536, "covers_s": 1e6}
RATE_BOUND = 1e9


def bounded_scenario(sc: Any) -> None:
    """Refuse a scenario number that is infinite or beyond the bounds above, naming its line."""
    found = [((k,), getattr(sc, k), cap) for k, cap in SCENARIO_BOUNDS.items()]
    for i, s in enumerate(sc.stages):
        found += [(("stages", i, k), getattr(s, k), cap) for k, cap in STAGE_BOUNDS.items()]
        if s.rate is not None:
            found.append((("stages", i, "rate", s.rate.form), s.rate.value, RATE_BOUND))
    for loc, value, cap in found:
        if value is not None and not value <= cap:      # not: NaN too
            got = f"{value:g}" if isinstance(value, float) else f"{value:,}" if value.bit_length() < 64 else "more"
            raise sc.problem(loc, f"must be at most {cap:,.0f}, got {got}")
