"""What each ``config.json`` field chipfit reads may hold, checked before any work.

A config.json may come from anyone: a layer count of a million or of 400 digits, a negative
head size, ``true`` where a width belongs or a number that overflows to infinity would
otherwise run for minutes, fill the memory or give absurd counts. :data:`FIELDS` is the one
table of every field the readers (:mod:`.hf_config`, and the transformers path in
:mod:`chipfit.frontends.pytorch.hf`) use, each with what it may hold; :data:`RELATIONS` holds
the few rules between two fields. :func:`check` applies both to a config and to every config
nested in it (``text_config``, ``vision_config``, ``llm_config``...) and refuses the first bad
field in one sentence that names the file and the field::

    config.json: num_hidden_layers must be a positive integer, got -3

A field that is absent or null is not checked here: the reader gives it its default, or names
it as missing. Fields no reader uses are left alone.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from chipfit.core.errors import ChipfitError
from chipfit.core.limits import LIMITS

#: Widths, heads, experts, image sides: no model comes near 16.8 million.
SIZE = 1 << 24
#: Vocabularies, positions, attention windows: at most 2**31.
TOKENS = 1 << 31
#: Entries of a per-layer list (convolutions of an audio front end).
SHORT_LIST = 256
#: Characters of a name (an activation, a model_type).
NAME = 256
#: Configs nested in configs (a VLM's text_config): deeper is refused.
MAX_NESTING = 8


def _shown(value: Any) -> str:
    """``value`` as a message shows it: thousands separated, a huge number by its digits, a
    long string cut."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        digits = len(str(abs(value)))
        if digits > 24:
            return f"a {digits}-digit {'negative ' if value < 0 else ''}number"
        return f"{value:,}"
    if value is None:
        return "null"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, (list, tuple)):
        return f"a list of {len(value):,}"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "...'"


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


# -- what a field may hold ------------------------------------------------------------------
@dataclass(frozen=True)
class Int:
    """An integer from ``low`` to ``high`` (None: the layer cap, ``LIMITS.max_layers``)."""

    low: int = 1
    high: int | None = SIZE

    def problem(self, v: Any) -> str | None:
        kind = "a non-negative integer" if self.low == 0 else f"an integer of at least {self.low:,}"
        if self.low == 1:
            kind = "a positive integer"
        if not _is_int(v) or v < self.low:
            return f"must be {kind}, got {_shown(v)}"
        if self.high is None:
            if v > LIMITS.max_layers:
                return (f"is {_shown(v)} but chipfit builds at most {LIMITS.max_layers:,} layers "
                        f"(raise the cap with `max_layers`)")
        elif v > self.high:
            return f"must be {kind} of at most {self.high:,}, got {_shown(v)}"
        return None


#: A layer count: a positive integer up to ``LIMITS.max_layers``.
LAYERS = Int(1, None)
_WIDTH = Int(1, SIZE)
_TOKENS = Int(1, TOKENS)


@dataclass(frozen=True)
class Real:
    """A finite number from ``low`` to ``high``."""

    low: float = 0.0
    high: float = 1.0

    def problem(self, v: Any) -> str | None:
        if (isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v)
                or not self.low <= v <= self.high):
            return f"must be a finite number from {self.low:g} to {self.high:g}, got {_shown(v)}"
        return None


@dataclass(frozen=True)
class Flag:
    def problem(self, v: Any) -> str | None:
        return None if isinstance(v, bool) else f"must be true or false, got {_shown(v)}"


@dataclass(frozen=True)
class Text:
    def problem(self, v: Any) -> str | None:
        if not isinstance(v, str):
            return f"must be a string, got {_shown(v)}"
        if len(v) > NAME:
            return f"must be a name of at most {NAME} characters, got {len(v):,}"
        return None


@dataclass(frozen=True)
class Ints:
    """A list of integers each as ``item`` allows, at most ``most`` (None: the layer cap) long."""

    item: Int = Int()
    most: int | None = SHORT_LIST

    def problem(self, v: Any) -> str | None:
        if not isinstance(v, (list, tuple)):
            return f"must be a list of integers, got {_shown(v)}"
        most = LIMITS.max_layers if self.most is None else self.most
        if len(v) > most:
            return f"has {len(v):,} entries but chipfit reads at most {most:,}"
        for i, x in enumerate(v):
            why = self.item.problem(x)
            if why is not None:
                return f"[{i}] {why}"
        return None


@dataclass(frozen=True)
class Heads:
    """Attention heads: one count, or one per stage of a hierarchical encoder (SegFormer, Swin)."""

    def problem(self, v: Any) -> str | None:
        return (Ints(_WIDTH) if isinstance(v, (list, tuple)) else _WIDTH).problem(v)


@dataclass(frozen=True)
class Texts:
    """A list of names, at most ``most`` (None: the layer cap) long."""

    most: int | None = SHORT_LIST

    def problem(self, v: Any) -> str | None:
        if not isinstance(v, (list, tuple)):
            return f"must be a list of strings, got {_shown(v)}"
        most = LIMITS.max_layers if self.most is None else self.most
        if len(v) > most:
            return f"has {len(v):,} entries but chipfit reads at most {most:,}"
        for i, x in enumerate(v):
            why = Text().problem(x)
            if why is not None:
                return f"[{i}] {why}"
        return None


@dataclass(frozen=True)
class Side:
    """An image size: one side, or [height, width]."""

    def problem(self, v: Any) -> str | None:
        pair = isinstance(v, (list, tuple))
        sides = list(v) if pair else [v]
        if (pair and len(sides) != 2) or any(_WIDTH.problem(s) for s in sides):
            got = "[" + ", ".join(map(_shown, sides)) + "]" if pair and len(sides) == 2 else _shown(v)
            return f"must be a positive integer of at most {SIZE:,} or a list of two, got {got}"
        return None


@dataclass(frozen=True)
class Section:
    """A JSON object (a nested config, a label map)."""

    def problem(self, v: Any) -> str | None:
        return None if isinstance(v, Mapping) else f"must be an object, got {_shown(v)}"


Rule = Int | Real | Flag | Text | Ints | Heads | Texts | Side | Section

#: Every field a reader uses → what it may hold (when present and not null).
FIELDS: dict[str, Rule] = {
    # identity
    "model_type": Text(),
    "architectures": Texts(),
    # layer counts: at most LIMITS.max_layers
    **dict.fromkeys(("num_hidden_layers", "n_layer", "num_layers", "num_decoder_layers", "encoder_layers",
                     "decoder_layers"), LAYERS),
    # widths
    **dict.fromkeys(("hidden_size", "n_embd", "d_model", "intermediate_size", "n_inner", "d_ff", "d_kv",
                     "head_dim", "encoder_ffn_dim", "decoder_ffn_dim", "moe_intermediate_size",
                     "encoder_hidden_size", "projection_dim", "num_mel_bins", "intermediate_size_mlp",
                     "kv_lora_rank", "qk_rope_head_dim", "qk_nope_head_dim", "v_head_dim",
                     "linear_key_head_dim", "linear_value_head_dim"), _WIDTH),
    "q_lora_rank": _WIDTH,                               # null: no low-rank query

    "shared_expert_intermediate_size": Int(0, SIZE),     # 0: no shared expert
    # heads
    **dict.fromkeys(("num_key_value_heads", "n_head", "encoder_attention_heads", "decoder_attention_heads",
                     "linear_num_key_heads", "linear_num_value_heads"), _WIDTH),
    "linear_conv_kernel_dim": _WIDTH,
    "full_attention_interval": _WIDTH,
    **dict.fromkeys(("num_attention_heads", "num_heads"), Heads()),   # a list: one per stage
    # experts
    **dict.fromkeys(("num_local_experts", "num_experts", "n_routed_experts"), Int(0, SIZE)),   # 0: a dense model
    "num_experts_per_tok": _WIDTH,
    "n_shared_experts": Int(0, SIZE),
    "decoder_sparse_step": _WIDTH,
    "interleave_moe_layer_step": _WIDTH,
    "first_k_dense_replace": Int(0, None),
    **dict.fromkeys(("mlp_only_layers", "moe_layers"), Ints(Int(0, TOKENS), most=None)),
    # vocabularies, positions, windows
    **dict.fromkeys(("vocab_size", "max_position_embeddings", "n_positions", "max_source_positions",
                     "max_target_positions", "sliding_window", "image_tokens"), _TOKENS),
    "type_vocab_size": Int(0, TOKENS),
    "max_window_layers": Int(0, TOKENS),
    "relative_attention_num_buckets": Int(0, SIZE),
    "layer_types": Texts(most=None),
    "use_sliding_window": Flag(),
    "attention_chunk_size": _TOKENS,
    "no_rope_layers": Ints(Int(0, 1), most=None),
    "no_rope_layer_interval": _WIDTH,
    "use_qk_norm": Flag(),
    "partial_rotary_factor": Real(0, 1),
    **dict.fromkeys(("attn_logit_softcapping", "final_logit_softcapping"), Real(0, 1e9)),
    # biases, tying, norms
    **dict.fromkeys(("attention_bias", "qkv_bias", "mlp_bias", "tie_word_embeddings", "conv_bias",
                     "do_stable_layer_norm", "use_qformer_text_input", "multimodal_projector_bias"), Flag()),
    # activations and other names
    **dict.fromkeys(("hidden_act", "hidden_activation", "activation_function", "feat_extract_activation",
                     "projector_hidden_act", "feed_forward_proj", "feat_extract_norm",
                     "vision_feature_select_strategy"), Text()),
    # images
    **dict.fromkeys(("image_size", "patch_size"), Side()),
    **dict.fromkeys(("num_channels", "num_labels", "num_query_tokens", "cross_attention_frequency",
                     "in_channels", "in_chans", "spatial_merge_size", "temporal_patch_size", "window_size",
                     "embed_dim", "out_hidden_size"), _WIDTH),
    "depth": LAYERS,
    **dict.fromkeys(("fullatt_block_indexes", "deepstack_visual_indexes"), Ints(Int(0, TOKENS), most=None)),
    "num_position_embeddings": _TOKENS,
    **dict.fromkeys(("index_n_heads", "index_head_dim"), _WIDTH),
    "index_topk": _TOKENS,
    "mlp_layer_types": Texts(most=None),
    "full_attn_idxs": Ints(Int(0, TOKENS), most=None),
    **dict.fromkeys(("conv_L_cache", "block_multiple_of"), _WIDTH),
    "block_ffn_dim_multiplier": Real(0, 1e3),
    "block_auto_adjust_ff_dim": Flag(),
    "mlp_ratio": Real(0, 1e6),
    "downsample_ratio": Real(0, 1),
    "norm_type": Text(),
    **dict.fromkeys(("use_mean_pooling", "use_absolute_position_embeddings"), Flag()),
    "id2label": Section(),
    # Gemma 4's language model
    **dict.fromkeys(("global_head_dim", "num_global_key_value_heads", "top_k_experts"), _WIDTH),
    "hidden_size_per_layer_input": Int(0, SIZE),         # 0: no per-layer embeddings
    "num_kv_shared_layers": Int(0, None),
    "vocab_size_per_layer_input": _TOKENS,
    **dict.fromkeys(("attention_k_eq_v", "enable_moe_block", "use_double_wide_mlp"), Flag()),
    "use_bidirectional_attention": Text(),
    "per_layer_config": Section(),
    # audio front ends
    **dict.fromkeys(("conv_dim", "conv_kernel", "conv_stride"), Ints(_WIDTH)),
    **dict.fromkeys(("num_conv_pos_embeddings", "num_conv_pos_embedding_groups"), _WIDTH),
    **dict.fromkeys(("mask_time_prob", "mask_feature_prob"), Real(0, 1)),
    # nested configs the readers open
    **dict.fromkeys(("text_config", "vision_config", "llm_config"), Section()),
}


# Each relation takes a config whose fields passed FIELDS and the prefix naming it ("" or
# "text_config."), and says what is wrong, or None.

def _kv_divides(cfg: Mapping[str, Any], p: str) -> str | None:
    heads = cfg.get("num_attention_heads")
    for key in ("num_key_value_heads", "num_global_key_value_heads"):   # the second: Gemma 4's full layers
        kv = cfg.get(key)
        if _is_int(heads) and _is_int(kv) and heads % kv:
            return (f"{p}{key} must divide {p}num_attention_heads ({heads:,} attention heads "
                    f"cannot be shared by {kv:,} key/value heads)")
    return None


def _top_k_within(cfg: Mapping[str, Any], p: str) -> str | None:
    experts = cfg.get("num_local_experts") or cfg.get("num_experts") or cfg.get("n_routed_experts")
    for key in ("num_experts_per_tok", "top_k_experts"):   # the second: Gemma 4
        top_k = cfg.get(key)
        if experts and top_k is not None and top_k > experts:
            return f"{p}{key} must be between 1 and the number of experts ({experts:,}), got {top_k:,}"
    return None


def _shared_within(cfg: Mapping[str, Any], p: str) -> str | None:
    shared, layers = cfg.get("num_kv_shared_layers"), cfg.get("num_hidden_layers")
    if _is_int(shared) and _is_int(layers) and shared >= layers:
        return (f"{p}num_kv_shared_layers must be fewer than the {layers:,} layers (one at least computes "
                f"keys and values), got {shared:,}")
    return None


def _patch_within(cfg: Mapping[str, Any], p: str) -> str | None:
    patch, image = cfg.get("patch_size"), cfg.get("image_size")
    if patch is None or image is None:
        return None
    side = min(image) if isinstance(image, (list, tuple)) else image
    patch = max(patch) if isinstance(patch, (list, tuple)) else patch
    if patch > side:
        return f"{p}patch_size must be at most the image side ({side:,}), got {patch:,}"
    return None


#: Rules between two fields, each checked once the fields passed :data:`FIELDS`.
RELATIONS: tuple[Callable[[Mapping[str, Any], str], str | None], ...] = (_kv_divides, _top_k_within, _patch_within,
                                                                         _shared_within)


def _nested(key: str, value: Any) -> bool:
    """Whether ``value`` is a config nested in another (``text_config``, an encoder-decoder's
    ``encoder``)."""
    return isinstance(value, Mapping) and (key.endswith("_config") or key in ("encoder", "decoder"))


def check(config: Mapping[str, Any], where: str = "the config") -> None:
    """Refuse, in one sentence naming ``where`` and the field, the first field of ``config`` (or
    of a config nested in it) that :data:`FIELDS` or :data:`RELATIONS` does not allow."""
    todo: list[tuple[Mapping[str, Any], str, int]] = [(config, "", 0)]
    while todo:
        cfg, prefix, depth = todo.pop(0)
        if depth > MAX_NESTING:
            raise ChipfitError(f"{where}: {prefix.rstrip('.')} nests configs more than {MAX_NESTING} deep")
        for key, value in cfg.items():
            rule = FIELDS.get(key)
            if value is not None and rule is not None:
                why = rule.problem(value)
                if why is not None:
                    sep = "" if why.startswith("[") else " "
                    raise ChipfitError(f"{where}: {prefix}{key}{sep}{why}")
            if _nested(str(key), value):
                todo.append((value, f"{prefix}{key}.", depth + 1))
        for relation in RELATIONS:
            why = relation(cfg, prefix)
            if why is not None:
                raise ChipfitError(f"{where}: {why}")


__all__ = ["FIELDS", "RELATIONS", "check"]
