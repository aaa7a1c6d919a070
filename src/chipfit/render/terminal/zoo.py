"""Rich rendering of the built-in model zoo."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Group
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from chipfit.data.zoo import ZooEntry

BUILT_BY = {"torchvision": "traced", "hf": "traced", "config": "analytic", "diffusers": "traced"}


def default_input(e: "ZooEntry") -> str:
    if e.input_shape:
        return "×".join(map(str, e.input_shape))
    if e.inputs and "image_size" in e.inputs:  # an image model run at another size than its config's
        side = e.inputs["image_size"]
        return "×".join(map(str, side if isinstance(side, list) else [side, side])) + " image"
    if e.inputs:
        return ", ".join(f"{v:,} {k.replace('_', ' ')}" for k, v in e.inputs.items())
    cfg = e.config or {}
    kind = cfg.get("model_type")
    if kind == "clip":
        return f"{cfg.get('vision_config', {}).get('image_size', 224)}² image + {e.seq_len or 77} tokens"
    if kind == "llava":
        return f"{cfg.get('vision_config', {}).get('image_size', 336)}² image + {e.seq_len or 128:,} tokens"
    if kind == "blip_2_qformer":
        return f"{cfg.get('num_query_tokens', 32)} queries, {cfg.get('image_tokens', 257)} image tokens"
    if kind in ("vit", "clip_vision_model") or "image_size" in cfg:
        return f"{cfg.get('image_size', 224)}² image"
    if kind == "whisper":
        return f"30 s audio + {e.seq_len or 1} token"
    if cfg.get("model_type") == "wav2vec2":
        return f"{e.seq_len or 16000:,} samples"
    return f"{e.seq_len or 128:,} tokens"


def zoo_table(entries: list["ZooEntry"]) -> Group:
    table = Table(show_edge=False, header_style="bold", pad_edge=False)
    table.add_column("name", no_wrap=True, min_width=max((len(e.name) for e in entries), default=4))
    table.add_column("task", no_wrap=True, min_width=10)
    table.add_column("built", no_wrap=True, min_width=8)
    table.add_column("default input", no_wrap=True, min_width=28)
    table.add_column("aliases", overflow="ellipsis", no_wrap=True, max_width=20)
    for e in entries:
        table.add_row(e.name, e.task, BUILT_BY[e.frontend], default_input(e), ", ".join(e.aliases))
    legend = Text(f"{len(entries)} models. analytic: built from its Hugging Face config in milliseconds, "
                  "without torch (--trace builds it with transformers instead); traced: the module runs on "
                  "the meta device. Configs and sources: chipfit zoo --json.", style="dim")
    return Group(table, legend)
