"""Zeros in a PyTorch module's weights: what pruning did, read from real (non-meta) weights.

``torch.nn.utils.prune`` keeps ``NAME_orig`` and a ``NAME_mask`` buffer and computes
``NAME = NAME_orig * NAME_mask`` before each call; after ``prune.remove`` the zeros sit in the
plain parameter. Either way the weight the module uses is read here, and its zeros counted.
Counting stays dense (docs/architecture.md): a zero weight is still multiplied by dense hardware, so the
sparsity is reported beside the MACs, never subtracted from them.
"""

from __future__ import annotations

from typing import Any

#: Plain (unpruned) weight matrices and kernels (2-D or more: not biases or norm scales, which
#: start at zero or one) are listed when at least this share of them is exactly zero.
MIN_ZERO_SHARE = 0.01


def weight_sparsity(module: Any, plain: bool = True) -> tuple[list[dict], bool]:
    """``([{name, elements, zeros, sparsity, pruned}], unread)``: ``unread`` is True when
    pruned weights sit on the meta device, where their values (hence zeros) do not exist.
    ``plain=False`` lists pruned tensors only (for models chipfit built with random weights)."""
    import torch

    found: list[dict] = []
    unread = False
    with torch.no_grad():
        for mname, m in module.named_modules():
            for pname, p in m.named_parameters(recurse=False):
                base, pruned = (pname[:-5], True) if pname.endswith("_orig") and hasattr(m, pname[:-5] + "_mask") \
                    else (pname, False)
                if p.device.type == "meta":
                    unread |= pruned
                    continue
                t = p * getattr(m, base + "_mask") if pruned else p
                n = t.numel()
                zeros = int((t == 0).sum())
                if n and (pruned or (plain and p.dim() >= 2 and zeros / n >= MIN_ZERO_SHARE)):
                    found.append({"name": f"{mname}.{base}" if mname else base, "elements": n, "zeros": zeros,
                                  "sparsity": zeros / n, "pruned": pruned})
    return found, unread


def sparsity_note(found: list[dict], unread: bool) -> str | None:
    if unread:
        return ("pruned weights are on the meta device, where their zeros cannot be read: "
                "count with `device` cpu to see their sparsity")
    if not found:
        return None
    zeros, n = sum(f["zeros"] for f in found), sum(f["elements"] for f in found)
    parts = ", ".join(f"{f['name']} {f['sparsity']:.1%}" for f in found[:6]) + (" …" if len(found) > 6 else "")
    return (f"{len(found)} weight tensor{'s hold' if len(found) > 1 else ' holds'} zeros ({zeros:,} of {n:,} elements, {zeros / n:.1%}): {parts}; "
            "MACs are counted dense: unstructured zeros are still multiplied on dense hardware (no speed-up), "
            "only 2:4 structured sparsity on a chip with a sparse peak is faster")
