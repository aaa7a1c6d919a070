"""What if: the levers that close a gap between a model and a chip, each priced on that chip.

``chipfit.whatif(model, chip, fps=...)`` checks the model as given, then one option per lever,
each with the same roofline as ``check`` (plain data, no printing):

* **precision**: every step of fp32 → tf32 → fp16/bf16 → fp8 → int8 → int4 / w4a16 narrower than
  the one asked that the unit has a dense peak for (``precisions=`` names others);
* **batch** 2, 4, 8, 16: more inferences per pass (throughput), at a longer latency per batch plus
  the wait to fill it, (batch − 1) / fps;
* **input size** scaled to 0.75× and 0.5× per side (images, rounded to a multiple of 32) or the
  sequence length halved (text), recounted at that size;
* **2:4 structured sparsity**, only on a unit with a sparse peak at that precision;
* **channel pruning** at the given ratios: every internal channel count × (1 − ratio), the module
  rebuilt with those channels and recounted (convolutional networks: Conv2d, BatchNorm2d, Linear);
* **unstructured pruning**, shown for what it is: fewer non-zeros, the same dense MACs and time;
* **lighter architectures** of the zoo (and torchvision's light classifiers) with fewer MACs, with
  their ImageNet top-1 accuracy as published in torchvision's weight metadata.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from chipfit.analysis.check import CheckResult, measured_elsewhere, pick_unit, predict
from chipfit.analysis.count import count
from chipfit.analysis.params import LEVERS, WhatIfParams, validate
from chipfit.core.errors import ChipfitError
from chipfit.core.precision import get_precision
from chipfit.core.units import unit_ref
from chipfit.data import zoo
from chipfit.data.chips import with_mode
from chipfit.frontends.resolve import resolve, shape_list

PRECISION_LADDER = ("fp32", "tf32", "fp16", "bf16", "fp8", "int8", "int4", "w4a16")
#: How narrow each step is: a larger rank is narrower; equal ranks are peers (fp16/bf16, fp8/int8).
NARROWNESS = {"fp32": 0, "tf32": 1, "fp16": 2, "bf16": 2, "fp8": 3, "int8": 3, "int4": 4, "w4a16": 4}
BATCHES = tuple(WhatIfParams.model_fields["batches"].default)
SCALES = tuple(WhatIfParams.model_fields["scales"].default)
PRUNE_RATIOS = tuple(WhatIfParams.model_fields["prune_ratios"].default)
UNSTRUCTURED = 0.5
#: The levers, in table order (``levers=`` picks some).
#: Light ImageNet classifiers of torchvision tried besides the zoo's (builder names).
LIGHT_CLASSIFIERS = ("mobilenet_v3_small", "mobilenet_v3_large", "mobilenet_v2", "efficientnet_b0",
                     "shufflenet_v2_x1_0", "mnasnet1_0", "squeezenet1_1", "regnet_y_400mf", "resnet18")


@dataclass
class Option:
    """One lever at one setting, and what it gives on the chip (``result`` None: not priced)."""

    lever: str
    setting: str
    result: CheckResult | None
    note: str = ""
    accuracy_top1: float | None = None
    accuracy_source: str | None = None
    latency_s: float | None = None      # end to end for one input (batching adds the wait to fill)
    macs: int | None = None

    def to_dict(self) -> dict[str, Any]:
        r = self.result
        return {
            "lever": self.lever, "setting": self.setting,
            "macs": self.macs if self.macs is not None else (r.count.macs if r else None),
            "required_tops": r.required_tops if r else None,
            "latency_s": self.latency_s if self.latency_s is not None else (r.latency_s * r.verdict_scale
                                                                            if r else None),
            "max_fps": r.verdict_fps[0] if r else None,
            "memory_bytes": r.memory_required_bytes if r else None,
            # rated power × the time of one batch, on the verdict's basis, per image of it
            "energy_per_inference_j": (r.energy_per_inference_j * r.verdict_scale
                                       if r and r.energy_per_inference_j is not None else None),
            "sufficient": r.sufficient if r else None,
            "verdict": r.verdict if r else None,
            "verdict_basis": r.verdict_basis if r else None,
            "max_fps_low": r.verdict_fps[1] if r else None,
            "max_fps_high": r.verdict_fps[2] if r else None,
            "accuracy_top1": self.accuracy_top1, "accuracy_source": self.accuracy_source,
            "note": self.note,
        }


@dataclass
class WhatIfResult:
    model: str
    chip: str
    unit: str
    fps: float
    precision: str
    baseline: CheckResult
    options: list[Option]
    notes: list[str] = field(default_factory=list)

    def fitting(self) -> list[Option]:
        """The options that meet the target rate with the memory fitting, in table order."""
        return [o for o in self.options if o.result is not None and o.result.sufficient
                and o.lever != "unstructured pruning"]

    def choice(self) -> Option | None:
        """The least intrusive option that fits: the model as given if it does, else the first
        fitting lever in the order of :data:`LEVERS` (precision, batch, input size, sparsity,
        pruning, another model); a wider precision than asked counts as no change, a narrower one
        (quantization) comes after the input size."""
        def intrusion(o: Option) -> float:
            if o.lever == "precision" and NARROWNESS.get(o.setting, 0) > NARROWNESS.get(self.precision, 0):
                return 3.5      # a narrower precision: quantization, after batching and input size
            return _INTRUSION.get(o.lever, 9)

        return min(self.fitting(), key=lambda o: (intrusion(o), o.accuracy_top1 is None, -(o.accuracy_top1 or 0)),
                   default=None)

    def to_dict(self) -> dict[str, Any]:
        best = self.choice()
        return {"model": self.model, "chip": self.chip, "unit": self.unit, "fps": self.fps,
                "precision": self.precision, "sufficient": self.baseline.sufficient,
                "verdict": self.baseline.verdict, "verdict_basis": self.baseline.verdict_basis,
                "macs": self.baseline.count.macs, "required_tops": self.baseline.required_tops,
                "fitting": [f"{o.lever}: {o.setting}" for o in self.fitting()],
                "choice": f"{best.lever}: {best.setting}" if best else None,
                "options": [o.to_dict() for o in self.options], "notes": self.notes}


#: How much each lever changes the deployment (for :meth:`WhatIfResult.choice`): lower first.
_INTRUSION = {"as given": 0, "precision": 1, "batch": 2, "input size": 3, "sequence length": 3,
              "2:4 sparsity": 4, "channel pruning": 5, "lighter model": 6}


def whatif(model: Any, chip: str, *, fps: float, precision: str = "int8", prune_ratios: Iterable[float] = PRUNE_RATIOS,
           scales: Iterable[float] = SCALES, batches: Iterable[int] = BATCHES, lighter: bool = True,
           levers: Iterable[str] | None = None, precisions: Iterable[str] | None = None,
           chips_files: Iterable[str] = (), input_shape: Any = None, seq_len: int | None = None,
           device: str = "meta", runtime: str | None = None, power_mode: str | None = None,
           progress: Callable[[str, int, int], None] | None = None) -> WhatIfResult:
    """Price every lever for ``model`` on ``chip`` at ``fps``; see the module docstring.

    ``levers`` keeps only those of :data:`LEVERS`; asking for ``sparsity`` on a unit without a
    sparse peak is an error, as is a precision of ``precisions`` the unit has no dense peak for
    (by default every step of the ladder narrower than ``precision`` that the unit has a dense
    peak for is tried, and the others are left out).
    """
    prune_ratios, scales, batches = list(prune_ratios), list(scales), list(batches)

    def price(counted, record, unit, **kw) -> CheckResult:
        """Every option priced with the same runtime, and, as ``check`` does, from the measurements of its
        network on the class's other chips where there are any."""
        r = predict(counted, record, unit, runtime=runtime, **kw)
        r.elsewhere = measured_elsewhere(r, sparse=kw.get("sparse", False), fuse=True, host=None,
                                         chips_files=chips_files)
        return r
    validate(WhatIfParams, chip=chip, fps=fps, precision=precision, prune_ratios=prune_ratios, scales=scales,
             batches=batches, levers=None if levers is None else list(levers),
             precisions=None if precisions is None else list(precisions), chips_files=chips_files,
             input_shape=input_shape, seq_len=seq_len, power_mode=power_mode)
    chip = with_mode(chip, power_mode)
    asked = set(LEVERS) if levers is None else set(levers)
    if not lighter:     # every lever but the lighter models (unlike levers=, not a request for each)
        asked.discard("lighter")
    prec = get_precision(precision)
    record, unit, unit_note = pick_unit(chip, prec, False, chips_files)
    peaks = unit.peaks(False)
    where = unit_ref(record.id, unit.id)
    if precisions is None:      # the narrower steps the unit runs (a wider one never helps speed)
        here = NARROWNESS.get(prec.name, -1)
        ladder = [get_precision(p) for p in PRECISION_LADDER
                  if NARROWNESS[p] > here and get_precision(p).compute in peaks]
    else:
        ladder = [get_precision(p) for p in precisions]
        for pp in ladder:
            if pp.compute not in peaks:
                raise ChipfitError(f"{where} has no dense {pp.compute} peak, so {pp.name} is not an option on "
                                   f"this chip (it lists {', '.join(sorted(peaks)) or 'none'})")
    sparse = unit.peaks(True)
    if levers is not None and "sparsity" in asked and prec.compute not in sparse:
        raise ChipfitError(f"{where} lists no sparse {prec.compute} peak: 2:4 sparsity is not accelerated on "
                           "this chip")
    steps = 7 + len(prune_ratios)
    tell = progress or (lambda *_: None)
    tell("counting the model", 0, steps)
    base_count = count(model, input_shape=input_shape, seq_len=seq_len, precision=prec, device=device)
    base = price(base_count, record, unit, fps=fps)
    name = base_count.model
    acc = top1(name) if isinstance(model, str) else None
    options = [Option("as given", f"{prec.name}, batch 1", base, accuracy_top1=acc[0] if acc else None,
                      accuracy_source=acc[1] if acc else None)]

    tell("precision", 1, steps)
    for pp in ladder if "precision" in asked else ():
        if pp.name == prec.name:
            continue
        options.append(Option("precision", pp.name, price(base_count.at(pp), record, unit, fps=fps),
                              note=_precision_note(prec.name, pp.name)))

    tell("batching", 2, steps)
    for b in batches if "batch" in asked else ():
        r = price(base_count, record, unit, fps=fps, batch=b)
        wait = (b - 1) / fps
        batch_s = r.roof.latency_s * r.verdict_scale
        options.append(Option("batch", str(b), r, latency_s=batch_s + wait,
                              note=f"a batch takes {_ms(batch_s)}, + {_ms(wait)} to fill it "
                                   f"({b - 1}/{fps:g} s)"))

    tell("input size", 3, steps)
    if "input" in asked:
        options += _input_options(model, base_count, record, unit, fps, prec, scales, input_shape, seq_len, device,
                                  price)

    tell("sparsity", 4, steps)
    if "sparsity" in asked and prec.compute in sparse:
        options.append(Option("2:4 sparsity", f"{prec.name} sparse peak",
                              price(base_count, record, unit, fps=fps, sparse=True),
                              note=f"sparse peak {sparse[prec.compute].value:g} TOPS; needs the weights pruned "
                                   "2:4 and fine-tuned"))
    elif "sparsity" in asked:
        options.append(Option("2:4 sparsity", "not on this chip", None,
                              note=f"no sparse {prec.compute} peak on {where}: no speed-up"))
    if "unstructured" in asked:
        options.append(Option("unstructured pruning", f"{UNSTRUCTURED:.0%} zeros", base,
                              note="the same dense MACs: no speed-up on dense hardware (smaller only if "
                                   "stored compressed)"))
    if "prune" in asked:
        options += _pruned_options(model, prune_ratios, base_count, record, unit, fps, prec, input_shape, tell, price)

    if "lighter" in asked:
        tell("lighter architectures", 5 + len(prune_ratios), steps)
        options += _lighter(name, base_count, record, unit, fps, prec, price)
    tell("done", steps, steps)
    notes = [unit_note] if unit_note else []
    return WhatIfResult(name, record.id, unit.id, fps, prec.name, base, options, notes)


def _ms(s: float) -> str:
    return f"{s * 1e3:.3g} ms"


def _precision_note(src: str, dst: str) -> str:
    a, b = NARROWNESS.get(src, 0), NARROWNESS.get(dst, 0)
    if b > a:
        return "needs quantization: check the accuracy"
    if b == a:
        return "the same width in another format: check the value range"
    return "wider than asked: more bytes, no accuracy loss"


def _input_options(model, base_count, record, unit, fps, prec, scales, input_shape, seq_len,
                   device: str = "meta", price=predict) -> list[Option]:
    shapes = base_count.graph.inputs
    out: list[Option] = []
    image = [s for s in shapes.values() if len(s) == 4]
    if isinstance(model, str) and len(shapes) == 1 and image:
        n, c, h, w = image[0]
        for s in scales:
            hh, ww = max(32, round(h * s / 32) * 32), max(32, round(w * s / 32) * 32)
            try:
                cr = count(model, input_shape=[f"{n},{c},{hh},{ww}"], precision=prec, device=device)
            except ChipfitError as exc:
                out.append(Option("input size", f"{hh}×{ww}", None, note=f"not counted: {exc}"))
                continue
            out.append(Option("input size", f"{hh}×{ww}", price(cr, record, unit, fps=fps),
                              note=f"{s:g}× per side; retrain at that size"))
        return out
    if isinstance(model, str) and (base_count.phase is not None or seq_len):
        length = seq_len or next((s[-1] for s in shapes.values() if len(s) == 2), None)
        if length:
            for s in scales:
                L = max(1, int(length * s))
                cr = count(model, seq_len=L, precision=prec, device=device)
                out.append(Option("sequence length", str(L), price(cr, record, unit, fps=fps),
                                  note=f"{s:g}× the tokens"))
    return out


def prune_channels(module, ratio: float, image_channels: int = 3):
    """A copy of a convolutional network with every internal channel count × (1 − ratio)
    (rounded, at least 1; the image's channels and the classifier's outputs kept), on meta."""
    import torch
    from torch import nn

    keep = 1 - ratio

    def f(c: int, groups: int = 1) -> int:
        return max(groups, round(c * keep / groups) * groups)

    linears = [m for m in module.modules() if isinstance(m, nn.Linear)]
    last = linears[-1] if linears else None
    new = copy.deepcopy(module).to("meta")
    for parent in list(new.modules()):
        for cname, child in list(parent.named_children()):
            rep = None
            with torch.device("meta"):
                if isinstance(child, nn.Conv2d):
                    depthwise = child.groups == child.in_channels == child.out_channels and child.groups > 1
                    cin = child.in_channels if child.in_channels == image_channels else f(child.in_channels,
                                                                                          child.groups)
                    cout = cin if depthwise else f(child.out_channels, child.groups)
                    rep = nn.Conv2d(cin, cout, child.kernel_size, child.stride, child.padding, child.dilation,
                                    cin if depthwise else child.groups, child.bias is not None, child.padding_mode)
                elif isinstance(child, nn.BatchNorm2d):
                    rep = nn.BatchNorm2d(f(child.num_features), child.eps, child.momentum, child.affine,
                                         child.track_running_stats)
                elif isinstance(child, nn.Linear):
                    is_last = last is not None and child.in_features == last.in_features and \
                        child.out_features == last.out_features
                    rep = nn.Linear(f(child.in_features), child.out_features if is_last else f(child.out_features),
                                    child.bias is not None)
            if rep is not None:
                setattr(parent, cname, rep)
    return new


def _pruned_options(model, ratios, base_count, record, unit, fps, prec, input_shape, tell,
                    price=predict) -> list[Option]:
    """Channel pruning at each ratio: the network resolved once, rebuilt narrower per ratio, recounted."""
    settings = [f"{r:.0%} of channels" for r in ratios]

    def none(note: str) -> list[Option]:
        return [Option("channel pruning", s, None, note=note) for s in settings]

    if not ratios:
        return []
    if not isinstance(model, str):
        return none("give the model by name to rebuild it pruned")
    if base_count.graph.frontend != "torch" or not any(o.kind == "conv" for o in base_count.layers):
        return none("channel pruning is rebuilt for traced convolutional networks only")
    try:
        res = resolve(model, input_shapes=shape_list(input_shape))
    except ChipfitError as exc:
        return none(f"not rebuilt: {exc}")
    out = []
    for i, (ratio, setting) in enumerate(zip(ratios, settings)):
        tell(f"channel pruning {ratio:g}", 5 + i, 7 + len(ratios))
        try:
            pruned = prune_channels(res.module, ratio)
            cr = count(pruned, inputs=res.args[0] if len(res.args) == 1 else res.args, precision=prec,
                       name=f"{res.name} pruned {ratio:g}")
        except (ChipfitError, RuntimeError, ValueError) as exc:
            out.append(Option("channel pruning", setting, None,
                              note=f"this network could not be rebuilt pruned ({exc})"))
            continue
        out.append(Option("channel pruning", setting, price(cr, record, unit, fps=fps),
                          note=f"channels × {1 - ratio:g}, recounted; needs fine-tuning"))
    return out


def top1(name: str) -> tuple[float, str] | None:
    """ImageNet-1K top-1 as published for a zoo model or torchvision builder ``name``, with its
    source: the zoo entry's ``top1`` if it has one, else torchvision's default weights' metadata."""
    entry = zoo.find(name)
    if entry is not None and entry.top1 is not None:
        return entry.top1, entry.top1_source or entry.source
    builder = entry.builder if entry is not None and entry.frontend == "torchvision" else name
    try:
        from torchvision.models import get_model_weights

        w = get_model_weights(builder).DEFAULT
    except Exception:
        return None
    acc = w.meta.get("_metrics", {}).get("ImageNet-1K", {}).get("acc@1")
    if acc is None:
        return None
    return acc, f"torchvision {w} (recipe {w.meta.get('recipe', 'n/a')})"


def _lighter(name, base_count, record, unit, fps, prec, price=predict) -> list[Option]:
    entry = zoo.find(name)
    candidates: dict[str, str] = {}
    for e in zoo.entries("vision"):
        if e.frontend == "torchvision" and e.builder and e.input_shape and e.input_shape[2:] == [224, 224]:
            candidates[e.name] = e.builder
    for b in LIGHT_CLASSIFIERS:
        candidates.setdefault(b, b)
    if entry is None or entry.frontend != "torchvision" or name not in candidates:
        return [Option("lighter model", "-", None,
                       note="lighter architectures are compared for ImageNet classifiers of the zoo")]
    out = []
    for cname, builder in candidates.items():
        if cname == name:
            continue
        acc = top1(cname)
        if acc is None:
            continue
        spec = cname if zoo.find(cname) else f"torchvision.models:{builder}"
        cr = count(spec, input_shape=["1,3,224,224"], precision=prec, name=cname)
        if cr.macs >= base_count.macs:
            continue
        out.append(Option("lighter model", cname, price(cr, record, unit, fps=fps), accuracy_top1=acc[0],
                          accuracy_source=acc[1], macs=cr.macs))
    out.sort(key=lambda o: -(o.accuracy_top1 or 0))
    return out
