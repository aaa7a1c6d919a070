"""A result's JSON object as rows: ``--format csv`` and ``--format markdown``.

CSV holds one table, with raw values in the JSON's plain units (counts, seconds, bytes, TOPS)
so a spreadsheet can compute with them; its columns are the JSON keys. Markdown holds the
summary (quantity, value) and then that table, with numbers shortened to 4 significant digits,
for pasting into a document.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from chipfit.render.html.page import kind_of

#: Scalar keys of the summary, per result kind, in order (those present are shown).
SUMMARY_KEYS = {
    "count": ("model", "precision", "macs", "flops", "nonmac_flops", "params", "weight_bytes", "activation_bytes"),
    "check": ("model", "chip", "unit", "precision", "fps", "batch", "sufficient", "verdict", "verdict_basis",
              "class_verdict", "limiting", "macs", "flops", "required_tops", "chip_peak_tops", "effective_tops",
              "margin_tops", "latency_s", "max_fps", "utilization", "bound", "required_bandwidth_gbps",
              "chip_bandwidth_gbps", "memory_required_bytes", "memory_capacity_bytes", "memory_fits", "power_w",
              "energy_per_inference_j"),
    "rank": ("model", "precision", "fps", "by", "macs", "flops", "required_tops"),
    "llm": ("model", "chip", "unit", "precision", "kv_precision", "engine", "prompt", "output", "batch", "context",
            "chips_count", "ttft_s", "tpot_s", "decode_tokens_per_s", "decode_tokens_per_s_total",
            "prefill_tokens_per_s", "e2e_latency_s", "prefill_bound", "decode_bound", "weight_bytes",
            "kv_cache_bytes", "memory_fits", "max_batch", "max_context", "power_w", "energy_per_token_j"),
    "llm-sweep": ("sweep",),
    "plan": ("scenario", "sufficient", "limiting", "required_tops", "required_bandwidth_gbps", "memory_bytes",
             "memory_fits", "utilization", "latency_s", "latency_loaded_s", "latency_budget_s"),
    "plan-rank": ("scenario", "by"),
    "whatif": ("model", "chip", "unit", "precision", "fps", "sufficient", "verdict", "verdict_basis", "macs",
               "required_tops", "choice"),
    "chips": (),
}

_CHECK_LAYER = ("name", "kind", "op", "op_class", "macs", "flops", "bytes", "intensity", "compute_s", "memory_s",
                "time_s", "bound", "fused")
_COUNT_LAYER = ("name", "kind", "op", "module_type", "macs", "flops", "params", "weight_bytes", "activation_bytes",
                "input_shapes", "output_shapes", "supported")
_RANK = ("chip", "chip_name", "unit", "sufficient", "verdict", "verdict_basis", "max_fps", "latency_s", "utilization",
         "bound", "required_tops", "effective_tops", "margin_tops", "memory_fits", "power_w", "energy_per_inference_j",
         "limiting")
_LLM_POINT = ("ttft_s", "tpot_s", "decode_tokens_per_s", "decode_tokens_per_s_total", "prefill_tokens_per_s",
              "e2e_latency_s", "weight_bytes", "kv_cache_bytes", "memory_fits")
_STAGE = ("name", "kind", "model", "chip", "unit", "precision", "rate", "streams", "batch", "repeat", "runs_per_s",
          "flops_per_run", "bytes_per_run", "required_tops", "required_bandwidth_gbps", "share", "latency_s", "bound",
          "weight_bytes", "working_bytes")
_PLAN_CHIP = ("chip", "chip_name", "sufficient", "utilization", "memory_bytes", "memory_capacity_bytes",
              "latency_s", "latency_loaded_s", "power_w", "limiting")
_OPTION = ("lever", "setting", "macs", "required_tops", "latency_s", "max_fps", "memory_bytes",
           "energy_per_inference_j", "sufficient", "verdict", "verdict_basis", "accuracy_top1", "accuracy_source",
           "note")
_CHIP = ("id", "name", "vendor", "category", "memory_bandwidth_gbps", "memory_gb", "power_w", "origin")


def _pick(rows: list[dict], keys: tuple[str, ...]) -> tuple[list[str], list[list[Any]]]:
    present = [k for k in keys if any(k in r for r in rows)]
    return present, [[r.get(k) for k in present] for r in rows]


def _kind(result: dict) -> str:
    """The result's kind; ``{"chips": [...]}`` is the chip listing."""
    return "chips" if set(result) == {"chips"} else kind_of(result)


def table(result: dict) -> tuple[list[str], list[list[Any]]]:
    """The result's main table: (columns, rows)."""
    kind = _kind(result)
    if kind in ("count", "check") and result.get("layers"):
        return _pick(result["layers"], _COUNT_LAYER if kind == "count" else _CHECK_LAYER)
    if kind == "count" and result.get("modules"):
        return _pick(result["modules"], ("name", "depth", "module_type", "ops", "macs", "flops", "params",
                                         "weight_bytes", "activation_bytes"))
    if kind == "rank":
        return _pick(result["chips"] + result.get("insufficient", []), _RANK)
    if kind == "llm-sweep":
        cols, rows = _pick(result["points"], _LLM_POINT)
        return [result["sweep"]] + cols, [[v] + r for v, r in zip(result["values"], rows)]
    if kind == "plan":
        return _pick(result["stages"], _STAGE)
    if kind == "whatif":
        return _pick(result["options"], _OPTION)
    if kind == "plan-rank":
        return _pick(result["chips"] + result.get("insufficient", []), _PLAN_CHIP)
    if kind == "chips":
        chips = result["chips"]
        cols, rows = _pick(chips, _CHIP)
        precs = sorted({p for c in chips for p in c.get("dense_tops", {})})
        return (cols + [f"dense_{p}_tops" for p in precs],
                [r + [c.get("dense_tops", {}).get(p) for p in precs] for r, c in zip(rows, chips)])
    return ["quantity", "value"], summary(result, kind)


def summary(result: dict, kind: str | None = None) -> list[list[Any]]:
    kind = kind or kind_of(result)
    return [[k, result[k]] for k in SUMMARY_KEYS[kind] if k in result]


def to_csv(result: dict) -> str:
    cols, rows = table(result)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(cols)
    for r in rows:
        w.writerow(["" if v is None else _csv_value(v) for v in r])
    return buf.getvalue()


def _csv_value(v: Any) -> Any:
    if isinstance(v, (list, tuple)):
        return " ".join("x".join(map(str, x)) if isinstance(x, (list, tuple)) else str(x) for x in v)
    return v


def _md(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return f"{v:,.0f}" if abs(v) >= 1e4 else f"{v:.4g}"
    return str(_csv_value(v)).replace("|", "\\|")


def _md_table(cols: list[str], rows: list[list[Any]]) -> str:
    out = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    out += ["| " + " | ".join(_md(v) for v in r) + " |" for r in rows]
    return "\n".join(out)


def to_markdown(result: dict) -> str:
    kind = _kind(result)
    parts = []
    head = summary(result, kind) if kind != "chips" else []
    cols, rows = table(result)
    if head and cols != ["quantity", "value"]:
        parts.append(_md_table(["quantity", "value"], head))
    parts.append(_md_table(cols, rows))
    if result.get("explain"):
        parts.append(_md_table(["quantity", "formula"], [[e["quantity"], e["formula"]] for e in result["explain"]]))
    return "\n\n".join(parts) + "\n"
