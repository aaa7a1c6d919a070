"""Hugging Face ``config.json`` → architecture (:mod:`.spec`), one reader per ``model_type``.

A reader only translates key names and conventions into the generic pieces; it never lists
ops. Keys that set a size must be present (a missing one is named in the error); flags
(biases, tied embeddings, activation) default as transformers' config class defaults them.
Every value a reader takes has passed :func:`.checks.check` first (its type and range, the
layer cap), so a reader only checks what depends on the model family.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Any

from chipfit.core.errors import ChipfitError
from chipfit.frontends.arch.checks import check
from chipfit.frontends.arch.spec import (
    MLP,
    Arch,
    Attention,
    AudioFrontend,
    Conv1d,
    Decoder,
    DualEncoder,
    Encoder,
    EncoderDecoder,
    Head,
    LatentAttention,
    Layer,
    LinearAttention,
    MoE,
    Norm,
    PatchEmbedding,
    PerLayerInputs,
    QFormer,
    ShortConv,
    Stack,
    TokenEmbedding,
    VisionLanguage,
)

READERS: dict[str, Callable[["Config"], Arch]] = {}

#: Hugging Face activation names → the per-element cost keys of frontends/costs.py
#: (``quick_gelu`` = x·sigmoid(1.702x) is priced in build.py).
ACTIVATIONS = {
    "silu": "silu", "swish": "silu", "relu": "relu", "gelu": "gelu", "gelu_new": "gelu_tanh",
    "gelu_pytorch_tanh": "gelu_tanh", "gelu_fast": "gelu_tanh", "gelu_python": "gelu",
    "quick_gelu": "quick_gelu", "tanh": "tanh", "sigmoid": "sigmoid",
}


def reader(*model_types: str):
    def register(fn):
        for t in model_types:
            READERS[t] = fn
        return fn
    return register


def supported_model_types() -> list[str]:
    return sorted(READERS)


class Config:
    """A config dict with error messages that name the file and the missing keys."""

    def __init__(self, data: dict[str, Any], where: str):
        self.data = data
        self.where = where

    def get(self, *keys: str, default: Any = None) -> Any:
        for k in keys:
            if self.data.get(k) is not None:
                return self.data[k]
        return default

    def require(self, *keys: str | tuple[str, ...]) -> list[Any]:
        """Values of required keys (a tuple lists alternative spellings); all missing keys
        are named in one error."""
        values, missing = [], []
        for key in keys:
            names = key if isinstance(key, tuple) else (key,)
            v = self.get(*names)
            if v is None:
                missing.append(names[0])
            values.append(v)
        if missing:
            raise ChipfitError(f"{self.where} is missing {', '.join(repr(m) for m in missing)}, "
                               f"needed to build a '{self.get('model_type')}' model")
        for key, v in zip(keys, values):
            name = key[0] if isinstance(key, tuple) else key
            if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
                raise ChipfitError(f"{self.where}: {name} must be a positive integer, got {v!r:.40}")
        return values

    def sub(self, key: str) -> "Config":
        value = self.data.get(key)
        if not isinstance(value, dict):
            raise ChipfitError(f"{self.where} is missing the '{key}' section")
        return Config(value, f"{self.where} ({key})")

    def act(self, *keys: str, default: str) -> str:
        name = self.get(*keys, default=default)
        if name not in ACTIVATIONS:
            raise ChipfitError(f"{self.where}: unsupported activation '{name}' "
                               f"(supported: {', '.join(sorted(ACTIVATIONS))})")
        return ACTIVATIONS[name]

    def head_dim(self, hidden: int, heads: int, key: str = "head_dim") -> int:
        explicit = self.get(key)
        if explicit is not None:
            return explicit
        if hidden % heads:
            raise ChipfitError(f"{self.where}: hidden size {hidden} is not divisible by "
                               f"{heads} attention heads")
        return hidden // heads

    def kv_heads(self, heads: int, key: str = "num_key_value_heads") -> int:
        kv = self.get(key, default=heads)
        if not isinstance(kv, int) or kv <= 0 or heads % kv:
            raise ChipfitError(f"{self.where}: {heads} attention heads cannot be shared by "
                               f"{kv!r} key/value heads (it must divide the number of heads)")
        return kv


def read(config: dict[str, Any], where: str = "the config") -> Arch:
    """The architecture a ``config.json`` describes; every field is checked before any work."""
    if not isinstance(config, dict):
        raise ChipfitError(f"{where} is not a config: expected a JSON object, got {type(config).__name__}")
    check(config, where)
    cfg = Config(config, where)
    model_type = config.get("model_type")
    fn = READERS.get(model_type)
    if fn is None:
        close = difflib.get_close_matches(str(model_type), READERS, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise ChipfitError(f"model_type '{model_type}' has no analytic builder{hint}; supported: "
                           f"{', '.join(supported_model_types())} (`trace` builds any model_type "
                           f"transformers knows)")
    return fn(cfg)


# -- decoder-only language models ---------------------------------------------------------

#: Families whose ``sliding_window`` applies only with ``use_sliding_window`` true.
_SWITCHED_WINDOW = ("qwen2", "qwen2_moe", "qwen3", "qwen3_moe", "smollm3")


def _layer_types(cfg: Config, layers: int, default: list[str] | None = None) -> list[str] | None:
    """``layer_types`` (else ``default``), its length checked."""
    types = cfg.get("layer_types", default=default)
    if types is not None and len(types) != layers:
        raise ChipfitError(f"{cfg.where}: 'layer_types' has {len(types)} entries for {layers} layers")
    return types


def _rope_layers(cfg: Config, layers: int) -> list[bool]:
    """Which layers apply rotary embeddings: ``no_rope_layers`` (1: rotary, 0: none, as
    transformers spells it), else every ``no_rope_layer_interval``-th layer has none
    (SmolLM3, Llama 4)."""
    flags = cfg.get("no_rope_layers") or [int((i + 1) % cfg.get("no_rope_layer_interval", default=4) != 0)
                                          for i in range(layers)]
    if len(flags) != layers:
        raise ChipfitError(f"{cfg.where}: 'no_rope_layers' has {len(flags)} entries for {layers} layers")
    return [bool(f) for f in flags]


def _windows(cfg: Config, layers: int) -> list[int | None]:
    """Sliding window per layer: ``layer_types`` if given, else Qwen's ``use_sliding_window``
    from ``max_window_layers`` on (every layer for Qwen3-MoE, the NoPE layers for SmolLM3),
    else ``sliding_window`` for every layer."""
    window = cfg.get("sliding_window")
    t = cfg.get("model_type")
    if t in _SWITCHED_WINDOW and not cfg.get("use_sliding_window", default=False):
        return [None] * layers
    types = _layer_types(cfg, layers)
    if types is not None:
        return [window if t == "sliding_attention" else None for t in types]
    if t in ("qwen2", "qwen2_moe", "qwen3"):
        first = cfg.get("max_window_layers", default=28 if t == "qwen3" else layers)
        return [window if i >= first else None for i in range(layers)]
    if t == "smollm3":
        return [None if rope else window for rope in _rope_layers(cfg, layers)]
    return [window] * layers


@reader("llama", "mistral", "mixtral", "qwen2", "qwen2_moe", "gemma", "phi3", "qwen3", "qwen3_moe", "smollm3")
def _causal_lm(cfg: Config) -> Decoder:
    """The Llama-like decoders: pre-norm RMSNorm layers of (grouped-query) attention and a
    gated MLP or routed experts. Qwen3 and Qwen3-MoE add an RMSNorm over each query and key
    head (``q_norm``/``k_norm``; Qwen3's head_dim defaults to 128, not hidden // heads);
    Qwen3-MoE has no shared expert (``norm_topk_prob`` only rescales the chosen weights);
    SmolLM3 leaves out the rotary embedding on the layers ``no_rope_layers`` marks 0 (every
    fourth by default)."""
    t = cfg.get("model_type")
    experts = cfg.get("num_local_experts", "num_experts", default=0)
    hidden, layers, heads, vocab, *_ = cfg.require(
        "hidden_size", "num_hidden_layers", "num_attention_heads", "vocab_size",
        *(() if experts else ("intermediate_size",)))
    kv = cfg.kv_heads(heads)
    hd = cfg.get("head_dim", default=128) if t == "qwen3" else cfg.head_dim(hidden, heads)
    qkv_bias = cfg.get("attention_bias", "qkv_bias", default=t in ("qwen2", "qwen2_moe"))
    o_bias = bool(cfg.get("attention_bias", default=False))
    act = cfg.act("hidden_activation", "hidden_act",
                  default="gelu_pytorch_tanh" if t == "gemma" else "silu")
    mlp_bias = bool(cfg.get("mlp_bias", default=False))
    windows = _windows(cfg, layers)
    norm = Norm("rms", bias=False, plus_one=t == "gemma")
    qk_norm = norm if t in ("qwen3", "qwen3_moe") else None
    rope = _rope_layers(cfg, layers) if t == "smollm3" else [True] * layers
    mlp_only = set(cfg.get("mlp_only_layers", default=[]))
    step = cfg.get("decoder_sparse_step", default=1)
    if experts:
        top_k = cfg.get("num_experts_per_tok", default=8 if t == "qwen3_moe" else 2)
        if not 0 < top_k <= experts:
            raise ChipfitError(f"{cfg.where}: num_experts_per_tok {top_k} must be between 1 and "
                               f"the number of experts ({experts})")
        moe = MoE(experts, top_k,
                  cfg.require(("moe_intermediate_size", "intermediate_size"))[0], act,
                  shared_inter=cfg.get("shared_expert_intermediate_size", default=0) if t == "qwen2_moe" else 0,
                  shared_gate=t == "qwen2_moe")
    dense = None
    if not experts or mlp_only or step > 1:
        dense = MLP(cfg.require("intermediate_size")[0], act, gated=True, bias=mlp_bias)
    out = []
    for i in range(layers):
        attn = Attention(heads, kv, hd, q_bias=bool(qkv_bias), k_bias=bool(qkv_bias), v_bias=bool(qkv_bias),
                         o_bias=o_bias, rotary=rope[i], causal=True, window=windows[i], qk_norm=qk_norm)
        use_moe = experts and i not in mlp_only and (i + 1) % step == 0
        out.append(Layer(attn, moe if use_moe else dense, norm))
    tied = bool(cfg.get("tie_word_embeddings", default=t in ("gemma", "smollm3")))
    stack = Stack("layers", hidden, tuple(out), final_norm=norm)
    rotary = int(hd * cfg.get("partial_rotary_factor", default=1.0))
    return Decoder(TokenEmbedding(vocab, hidden, scale=t == "gemma"), stack,
                   Head("lm_head", hidden, vocab, tied=tied),
                   max_positions=cfg.get("max_position_embeddings"), rotary_dim=rotary)


@reader("gemma2", "gemma3_text")
def _gemma2(cfg: Config) -> Decoder:
    """Gemma 2 (transformers' Gemma2Config / modeling_gemma2): Gemma's (1 + w) RMSNorm, GeGLU
    and sqrt(hidden)-scaled tied embedding, plus a norm after attention and after the MLP (4 a
    layer), ``layer_types`` (default: sliding window on even layers 0, 2, ..., full attention on
    odd ones) and tanh soft-capping of the attention scores and final logits.

    Gemma 3's text model (Gemma3TextConfig / modeling_gemma3) is the same layer with a (1 + w)
    RMSNorm over each query and key head (``q_norm``/``k_norm``); its ``layer_types`` default to
    five sliding layers then one full (``sliding_window_pattern`` 6: layer i slides unless
    i + 1 is a multiple of it); final-logit soft-capping only where the config sets a cap, and
    none on the attention scores (modeling_gemma3 does not apply ``attn_logit_softcapping``)."""
    gemma3 = cfg.get("model_type") == "gemma3_text"
    hidden, layers, heads, vocab, inter = cfg.require(
        "hidden_size", "num_hidden_layers", "num_attention_heads", "vocab_size", "intermediate_size")
    kv = cfg.kv_heads(heads)
    hd = cfg.get("head_dim", default=256)   # Gemma2Config's and Gemma3TextConfig's default, not hidden // heads
    bias = bool(cfg.get("attention_bias", default=False))
    act = cfg.act("hidden_activation", default="gelu_pytorch_tanh")   # modeling_gemma2/3 ignore hidden_act

    def explicit(key: str, default: Any) -> Any:   # null switches the feature off, absence defaults
        return cfg.data[key] if key in cfg.data else default

    window = explicit("sliding_window", 4096)
    attn_cap = None if gemma3 else explicit("attn_logit_softcapping", 50.0)
    final_cap = explicit("final_logit_softcapping", None if gemma3 else 30.0)
    pattern = cfg.get("sliding_window_pattern", default=6) if gemma3 else 2
    if not isinstance(pattern, int) or isinstance(pattern, bool) or pattern <= 0:
        raise ChipfitError(f"{cfg.where}: sliding_window_pattern must be a positive integer, got {pattern!r:.40}")
    types = _layer_types(cfg, layers, ["sliding_attention" if (i + 1) % pattern else "full_attention"
                                       for i in range(layers)])
    windows = [window if t == "sliding_attention" else None for t in types]
    norm = Norm("rms", bias=False, plus_one=True)
    mlp = MLP(inter, act, gated=True)
    out = tuple(Layer(Attention(heads, kv, hd, bias, bias, bias, bias, rotary=True, causal=True, window=w,
                                softcap=attn_cap or None, qk_norm=norm if gemma3 else None), mlp, norm, sandwich=True)
                for w in windows)
    head = Head("lm_head", hidden, vocab, tied=bool(cfg.get("tie_word_embeddings", default=True)),
                act="softcap" if final_cap else None)
    return Decoder(TokenEmbedding(vocab, hidden, scale=True), Stack("layers", hidden, out, final_norm=norm), head,
                   max_positions=cfg.get("max_position_embeddings", default=131_072 if gemma3 else 8192),
                   rotary_dim=hd)


@reader("gemma4_text")
def _gemma4_text(cfg: Config) -> Decoder:
    """Gemma 4's language model (transformers' Gemma4TextConfig / modeling_gemma4): Gemma 3's
    sandwich-normed layers of sliding (``sliding_window``, default 512) and full attention
    (``layer_types``, default five sliding then one full, the last layer always full) with an
    RMSNorm (weight w, not 1 + w) over each query and key head and one without weights over each
    value head, GeGLU MLPs, a sqrt(hidden)-scaled embedding and optional final-logit soft-capping.

    Full-attention layers take ``global_head_dim`` (default 512) and, where
    ``attention_k_eq_v`` is set, ``num_global_key_value_heads`` and values that are the keys'
    projection (no v_proj); ``per_layer_config`` (as transformers saves a config) gives the same
    per layer. The last ``num_kv_shared_layers`` layers project no keys or values and hold no
    cache: each reuses those of the last earlier layer of its kind, and with
    ``use_double_wide_mlp`` its MLP is twice ``intermediate_size`` wide.

    Per-layer embeddings (``hidden_size_per_layer_input``, 0: none): a second table of
    ``vocab_size_per_layer_input`` rows gives each layer inputs of its own, gated into its
    residual after the MLP. ``enable_moe_block`` adds ``num_experts`` experts of
    ``moe_intermediate_size`` (top ``top_k_experts``) beside every layer's dense MLP. Each layer's
    output is multiplied by a fixed scalar (a buffer, not a parameter)."""
    hidden, layers, heads, vocab, inter = cfg.require(
        "hidden_size", "num_hidden_layers", "num_attention_heads", "vocab_size", "intermediate_size")
    kv = cfg.kv_heads(heads)
    hd = cfg.get("head_dim", default=256)
    bias = bool(cfg.get("attention_bias", default=False))
    act = cfg.act("hidden_activation", default="gelu_pytorch_tanh")
    k_eq_v = bool(cfg.get("attention_k_eq_v", default=False))
    bidirectional = cfg.get("use_bidirectional_attention")
    if bidirectional not in (None, "vision"):
        raise ChipfitError(f"{cfg.where}: use_bidirectional_attention {bidirectional!r:.40} is not supported "
                           f"(chipfit builds Gemma 4's causal language model: null or 'vision')")
    window = cfg.get("sliding_window", default=512)
    types = list(_layer_types(cfg, layers, ["sliding_attention" if (i + 1) % 6 else "full_attention"
                                            for i in range(layers)]))
    types[-1] = "full_attention"   # transformers forces the last layer to full attention
    for t in types:
        if t not in ("sliding_attention", "full_attention"):
            raise ChipfitError(f"{cfg.where}: layer_types holds {t!r:.40}; Gemma 4 has 'sliding_attention' "
                               f"and 'full_attention' layers only")
    # full layers: global head size and, with K = V, global key/value heads; per_layer_config overrides
    full_kv = (cfg.kv_heads(heads, "num_global_key_value_heads")
               if k_eq_v and cfg.get("num_global_key_value_heads") is not None else kv)
    shape = {i: (hd, kv) if t == "sliding_attention" else (cfg.get("global_head_dim", default=512), full_kv)
             for i, t in enumerate(types)}
    if cfg.get("per_layer_config") is not None:
        shape = {i: (hd, kv) for i in range(layers)}
        for key, over in cfg.data["per_layer_config"].items():
            i = int(key) if isinstance(key, str) and key.isdigit() else -1
            if not 0 <= i < layers:
                raise ChipfitError(f"{cfg.where}: per_layer_config names layer {key!r:.40}, not one of the "
                                   f"{layers} layers")
            if not isinstance(over, dict) or set(over) - {"head_dim", "num_key_value_heads"}:
                raise ChipfitError(f"{cfg.where}: per_layer_config.{key} may set head_dim and "
                                   f"num_key_value_heads only")
            sub = Config(over, f"{cfg.where} (per_layer_config.{key})")
            shape[i] = (sub.get("head_dim", default=hd), sub.kv_heads(heads) if "num_key_value_heads" in over else kv)
            if not isinstance(shape[i][0], int) or isinstance(shape[i][0], bool) or not 0 < shape[i][0] <= 1 << 24:
                raise ChipfitError(f"{cfg.where}: per_layer_config.{key}.head_dim must be a positive integer, "
                                   f"got {shape[i][0]!r:.40}")
    shared = cfg.get("num_kv_shared_layers", default=0)   # fewer than the layers (checks.py)
    first_shared = layers - shared
    if shared and set(types[:first_shared]) != set(types):
        raise ChipfitError(f"{cfg.where}: num_kv_shared_layers leaves no earlier layer of every kind in "
                           f"layer_types to share its keys and values")
    double = bool(cfg.get("use_double_wide_mlp", default=False))
    moe = None
    if cfg.get("enable_moe_block", default=False):
        experts, top_k, moe_inter = cfg.require("num_experts", "top_k_experts", "moe_intermediate_size")
        moe = MoE(experts, top_k, moe_inter, act, router_norm=True)
    ple = cfg.get("hidden_size_per_layer_input", default=256)
    norm = Norm("rms", bias=False)
    out = []
    for i, t in enumerate(types):
        sliding, reuse = t == "sliding_attention", i >= first_shared
        head_dim, kv_heads = shape[i]
        if reuse:   # the producer's shape: the last unshared layer of the same kind
            head_dim, kv_heads = shape[max(j for j in range(first_shared) if types[j] == t)]
        attn = Attention(heads, kv_heads, head_dim, bias, bias, bias, bias, rotary=True, causal=True,
                         window=window if sliding else None, qk_norm=norm, kv_shared=reuse,
                         k_eq_v=k_eq_v and not sliding and not reuse,
                         v_norm=Norm("rms", bias=False, affine=False))
        mlp = MLP(inter * (2 if double and reuse else 1), act, gated=True)
        out.append(Layer(attn, mlp, norm, sandwich=True, beside=moe, per_layer_input=ple, out_scale=True))
    final_cap = cfg.get("final_logit_softcapping")
    head = Head("lm_head", hidden, vocab, tied=bool(cfg.get("tie_word_embeddings", default=True)),
                act="softcap" if final_cap else None)
    per_layer = (PerLayerInputs(cfg.get("vocab_size_per_layer_input", default=262_144), layers, ple, norm)
                 if ple else None)
    return Decoder(TokenEmbedding(vocab, hidden, scale=True), Stack("layers", hidden, tuple(out), final_norm=norm),
                   head, max_positions=cfg.get("max_position_embeddings", default=131_072), rotary_dim=hd,
                   per_layer=per_layer)


@reader("deepseek_v3", "deepseek_v32")
def _deepseek_v3(cfg: Config) -> Decoder:
    """DeepSeek-V3 / R1 (transformers' DeepseekV3Config / modeling_deepseek_v3): multi-head
    latent attention (:class:`.spec.LatentAttention`; ``q_lora_rank`` null: a plain q_proj),
    the first ``first_k_dense_replace`` layers with a dense SwiGLU MLP of ``intermediate_size``,
    the others ``n_routed_experts`` experts of ``moe_intermediate_size`` chosen top-k by sigmoid
    scores plus the per-expert ``e_score_correction_bias`` (a buffer in transformers' model, so
    read as a weight but not counted as a parameter), and ``n_shared_experts`` always-on experts run as one MLP of
    ``n_shared_experts × moe_intermediate_size``.

    The multi-token-prediction module (``num_nextn_predict_layers``) is not counted:
    transformers' model does not hold it (its weights are skipped on loading) and normal
    inference does not run it.

    KV cache: ``kv_lora_rank + qk_rope_head_dim`` elements per token and layer, the compressed
    latent serving engines (vLLM, SGLang) store, not per-head keys and values. Forward and
    prefill are priced as transformers runs them (the latent expanded by ``kv_b_proj`` per
    token); decode in the absorbed form engines run (see :mod:`.build`).

    DeepSeek-V3.2 (``deepseek_v32``) adds DeepSeek Sparse Attention: a lightning indexer
    (``index_n_heads`` × ``index_head_dim``) scores every cached token and a decode step attends
    to the ``index_topk`` best only; the indexer's key (``index_head_dim`` a token) is cached too.
    Forward and prefill are priced as transformers runs them (dense attention under the top-k
    mask); ``mlp_layer_types`` says which layers are dense."""
    hidden, layers, heads, vocab, inter, moe_inter, experts, kv_rank, rope, nope, v = cfg.require(
        "hidden_size", "num_hidden_layers", "num_attention_heads", "vocab_size", "intermediate_size",
        "moe_intermediate_size", ("n_routed_experts", "num_local_experts"), "kv_lora_rank", "qk_rope_head_dim",
        "qk_nope_head_dim", "v_head_dim")
    q_rank = cfg.get("q_lora_rank") or 0
    top_k = cfg.get("num_experts_per_tok", default=8)
    shared = cfg.get("n_shared_experts", default=1)
    dense_first = cfg.get("first_k_dense_replace", default=3)
    bias = bool(cfg.get("attention_bias", default=False))
    act = cfg.act("hidden_act", default="silu")
    norm = Norm("rms", bias=False)
    index = {}
    if cfg.get("model_type") == "deepseek_v32":
        index = dict(zip(("index_heads", "index_dim", "index_topk"), cfg.require(
            "index_n_heads", "index_head_dim", "index_topk")))
        if not q_rank:
            raise ChipfitError(f"{cfg.where}: DeepSeek sparse attention needs q_lora_rank (its indexer reads the "
                               f"query latent)")
        if index["index_dim"] < rope:
            raise ChipfitError(f"{cfg.where}: index_head_dim ({index['index_dim']}) must hold the "
                               f"{rope} rotary dimensions (qk_rope_head_dim)")
    attn = LatentAttention(heads, q_rank, kv_rank, nope, rope, v, bias=bias, norm=norm, **index)
    moe = MoE(experts, top_k, moe_inter, act, shared_inter=shared * moe_inter, router="sigmoid", score_bias=True)
    dense = MLP(inter, act, gated=True)
    kinds = cfg.get("mlp_layer_types")
    if kinds is not None and len(kinds) != layers:
        raise ChipfitError(f"{cfg.where}: 'mlp_layer_types' has {len(kinds)} entries for {layers} layers")
    if kinds is not None and set(kinds) - {"dense", "sparse"}:
        bad = sorted(set(map(str, kinds)) - {"dense", "sparse"})[0]
        raise ChipfitError(f"{cfg.where}: mlp_layer_types holds '{bad}' (each layer is 'dense' or 'sparse')")
    sparse = [k == "sparse" for k in kinds] if kinds is not None else [i >= dense_first for i in range(layers)]
    out = tuple(Layer(attn, moe if sparse[i] else dense, norm) for i in range(layers))
    return Decoder(TokenEmbedding(vocab, hidden), Stack("layers", hidden, out, final_norm=norm),
                   Head("lm_head", hidden, vocab, tied=bool(cfg.get("tie_word_embeddings", default=False))),
                   max_positions=cfg.get("max_position_embeddings"), rotary_dim=rope)


@reader("qwen3_next", "qwen3_5_text", "qwen3_5_moe_text")
def _qwen3_next(cfg: Config) -> Decoder:
    """Qwen3-Next (transformers' Qwen3NextConfig / modeling_qwen3_next) and the language model of
    Qwen3.5 (its dense ``qwen3_5_text`` and MoE ``qwen3_5_moe_text``: the same layers, the linear
    attention's input projection split in four): Gated DeltaNet linear
    attention layers (:class:`.spec.LinearAttention`) and, every ``full_attention_interval``-th
    layer (4; or as ``layer_types`` says), gated full attention: q_proj yields the queries and
    a sigmoid gate on the output (twice the width), a (1 + w) RMSNorm over each query and key
    head, rotary embedding on ``partial_rotary_factor`` (0.25) of each head. MLP: routed
    experts (softmax top-k) plus a shared expert behind a sigmoid gate, or a dense SwiGLU MLP
    on ``mlp_only_layers`` and off the ``decoder_sparse_step``. Norms are (1 + w) RMSNorms.

    Cache: only the full-attention layers hold keys and values; each linear layer holds a
    fixed state per sequence (:meth:`.spec.LinearAttention.state_elems`). The
    multi-token-prediction module is not counted (transformers' model does not hold it)."""
    hidden, layers, heads, vocab = cfg.require("hidden_size", "num_hidden_layers", "num_attention_heads",
                                               "vocab_size")
    kv = cfg.kv_heads(heads)
    hd = cfg.get("head_dim", default=256)
    bias = bool(cfg.get("attention_bias", default=False))
    act = cfg.act("hidden_act", default="silu")
    interval = cfg.get("full_attention_interval", default=4)
    if not isinstance(interval, int) or isinstance(interval, bool) or interval <= 0:
        raise ChipfitError(f"{cfg.where}: full_attention_interval must be a positive integer, got {interval!r:.40}")
    types = _layer_types(cfg, layers, ["linear_attention" if (i + 1) % interval else "full_attention"
                                       for i in range(layers)])
    bad = sorted({str(t) for t in types} - {"linear_attention", "full_attention"})
    if bad:
        raise ChipfitError(f"{cfg.where}: layer_types holds '{bad[0]}' (qwen3_next layers are "
                           f"'linear_attention' or 'full_attention')")
    norm = Norm("rms", bias=False, plus_one=True)
    full = Attention(heads, kv, hd, bias, bias, bias, bias, rotary=True, causal=True, qk_norm=norm, gate=True)
    linear = None
    if "linear_attention" in types:
        k_heads, v_heads, dk, dv = cfg.get("linear_num_key_heads", default=16), \
            cfg.get("linear_num_value_heads", default=32), cfg.get("linear_key_head_dim", default=128), \
            cfg.get("linear_value_head_dim", default=128)
        if v_heads % k_heads:
            raise ChipfitError(f"{cfg.where}: linear_num_key_heads ({k_heads}) must divide "
                               f"linear_num_value_heads ({v_heads})")
        linear = LinearAttention(k_heads, v_heads, dk, dv, cfg.get("linear_conv_kernel_dim", default=4),
                                 norm=Norm("rms", bias=False))
    experts = cfg.get("num_experts", default=0 if cfg.get("model_type") == "qwen3_5_text" else
                      256 if cfg.get("model_type") == "qwen3_5_moe_text" else 512)
    step = cfg.get("decoder_sparse_step", default=1)
    mlp_only = set(cfg.get("mlp_only_layers", default=[]))
    moe = None
    if experts:
        top_k = cfg.get("num_experts_per_tok", default=10)
        moe = MoE(experts, top_k, cfg.get("moe_intermediate_size", default=512), act,
                  shared_inter=cfg.get("shared_expert_intermediate_size", default=512), shared_gate=True)
    dense = MLP(cfg.get("intermediate_size", default=5632), act, gated=True)
    out = []
    for i, t in enumerate(types):
        use_moe = moe is not None and i not in mlp_only and (i + 1) % step == 0
        out.append(Layer(full if t == "full_attention" else linear, moe if use_moe else dense, norm))
    rope = cfg.get("rope_parameters", "rope_scaling", default={})
    frac = cfg.get("partial_rotary_factor", default=rope.get("partial_rotary_factor", 0.25)
                   if isinstance(rope, dict) else 0.25)
    return Decoder(TokenEmbedding(vocab, hidden), Stack("layers", hidden, tuple(out), final_norm=norm),
                   Head("lm_head", hidden, vocab, tied=bool(cfg.get("tie_word_embeddings", default=False))),
                   max_positions=cfg.get("max_position_embeddings", default=32768), rotary_dim=int(hd * frac))


@reader("glm4_moe")
def _glm4_moe(cfg: Config) -> Decoder:
    """GLM-4.5 / 4.6 (transformers' Glm4MoeConfig / modeling_glm4_moe): grouped-query attention
    with biases on Q, K and V (``attention_bias``), optional RMSNorms over each query and key
    head (``use_qk_norm``), rotary embedding on ``partial_rotary_factor`` (0.5) of each head; the
    first ``first_k_dense_replace`` layers a dense SwiGLU MLP, the others DeepSeek-V3's mixture:
    ``n_routed_experts`` chosen top-k by sigmoid scores plus a per-expert correction bias, and
    ``n_shared_experts`` always-on experts. The multi-token-prediction layers
    (``num_nextn_predict_layers``) are not counted: transformers' model does not hold them."""
    hidden, layers, heads, vocab, inter, moe_inter, experts = cfg.require(
        "hidden_size", "num_hidden_layers", "num_attention_heads", "vocab_size", "intermediate_size",
        "moe_intermediate_size", ("n_routed_experts", "num_local_experts"))
    kv = cfg.kv_heads(heads)
    hd = cfg.head_dim(hidden, heads)
    bias = bool(cfg.get("attention_bias", default=False))
    act = cfg.act("hidden_act", default="silu")
    norm = Norm("rms", bias=False)
    attn = Attention(heads, kv, hd, bias, bias, bias, False, rotary=True, causal=True,
                     qk_norm=norm if cfg.get("use_qk_norm", default=False) else None)
    moe = MoE(experts, cfg.get("num_experts_per_tok", default=8), moe_inter, act,
              shared_inter=cfg.get("n_shared_experts", default=1) * moe_inter, router="sigmoid", score_bias=True)
    dense = MLP(inter, act, gated=True)
    dense_first = cfg.get("first_k_dense_replace", default=1)
    out = tuple(Layer(attn, dense if i < dense_first else moe, norm) for i in range(layers))
    rope = cfg.get("rope_parameters", "rope_scaling", default={})
    frac = cfg.get("partial_rotary_factor", default=rope.get("partial_rotary_factor", 0.5)
                   if isinstance(rope, dict) else 0.5)
    return Decoder(TokenEmbedding(vocab, hidden), Stack("layers", hidden, out, final_norm=norm),
                   Head("lm_head", hidden, vocab, tied=bool(cfg.get("tie_word_embeddings", default=False))),
                   max_positions=cfg.get("max_position_embeddings"), rotary_dim=int(hd * frac))


@reader("lfm2")
def _lfm2(cfg: Config) -> Decoder:
    """LFM2 (Liquid AI; transformers' Lfm2Config / modeling_lfm2), an on-device hybrid: most layers
    a gated short convolution (:class:`.spec.ShortConv`, ``conv_L_cache`` taps), the others
    (``layer_types`` 'full_attention', else ``full_attn_idxs``) grouped-query attention with
    RMSNorms over each query and key head; every layer a SwiGLU MLP whose width, with
    ``block_auto_adjust_ff_dim``, is 2/3 of ``intermediate_size`` × ``block_ffn_dim_multiplier``
    rounded up to ``block_multiple_of``. Only the attention layers hold a KV cache; the
    convolution layers a fixed state."""
    hidden, layers, heads, vocab, inter = cfg.require(
        "hidden_size", "num_hidden_layers", "num_attention_heads", "vocab_size", "intermediate_size")
    kv = cfg.kv_heads(heads)
    hd = cfg.head_dim(hidden, heads)
    attn_idx = set(cfg.get("full_attn_idxs", default=[]))
    types = _layer_types(cfg, layers, ["full_attention" if i in attn_idx else "conv" for i in range(layers)])
    bad = sorted({str(t) for t in types} - {"full_attention", "conv"})
    if bad:
        raise ChipfitError(f"{cfg.where}: layer_types holds '{bad[0]}' (lfm2 layers are 'full_attention' or 'conv')")
    if cfg.get("block_auto_adjust_ff_dim", default=True):
        inter = int(2 * inter / 3)
        mult = cfg.get("block_ffn_dim_multiplier", default=1.0)
        if mult is not None:
            step = cfg.get("block_multiple_of", default=256)
            inter = step * ((int(mult * inter) + step - 1) // step)
    norm = Norm("rms", bias=False)
    attn = Attention(heads, kv, hd, rotary=True, causal=True, qk_norm=norm)
    conv = ShortConv(hidden, cfg.get("conv_L_cache", default=3), bool(cfg.get("conv_bias", default=False)))
    mlp = MLP(inter, "silu", gated=True)
    out = tuple(Layer(attn if t == "full_attention" else conv, mlp, norm) for t in types)
    return Decoder(TokenEmbedding(vocab, hidden), Stack("layers", hidden, out, final_norm=norm, final_norm_name="embedding_norm"),
                   Head("lm_head", hidden, vocab, tied=bool(cfg.get("tie_word_embeddings", default=True))),
                   max_positions=cfg.get("max_position_embeddings"), rotary_dim=hd)


@reader("gpt_oss")
def _gpt_oss(cfg: Config) -> Decoder:
    """gpt-oss (transformers' GptOssConfig / modeling_gpt_oss): grouped-query attention with
    biases (``attention_bias`` true by default) and a learned sink logit per head joining every
    softmax, ``layer_types`` alternating a ``sliding_window`` (128) with full attention (even
    layers slide by default), and every layer a MoE: a router with a bias picks the top-k
    experts (softmax over the chosen logits), each expert's projections have biases and its
    activation is gpt-oss's clamped SwiGLU ((clamp(up) + 1) · g · sigmoid(α·g), g = clamp(gate))."""
    hidden, layers, heads, vocab, inter, experts = cfg.require(
        "hidden_size", "num_hidden_layers", "num_attention_heads", "vocab_size", "intermediate_size",
        ("num_local_experts", "num_experts"))
    kv = cfg.kv_heads(heads)
    hd = cfg.get("head_dim", default=64)
    bias = bool(cfg.get("attention_bias", default=True))
    window = cfg.data["sliding_window"] if "sliding_window" in cfg.data else 128
    types = _layer_types(cfg, layers, ["sliding_attention" if i % 2 == 0 else "full_attention" for i in range(layers)])
    norm = Norm("rms", bias=False)
    moe = MoE(experts, cfg.get("num_experts_per_tok", default=4), inter, "clamped_swiglu",
              router_bias=True, expert_bias=True)
    out = tuple(Layer(Attention(heads, kv, hd, bias, bias, bias, bias, rotary=True, causal=True, sinks=True,
                                window=window if t == "sliding_attention" else None), moe, norm)
                for t in types)
    return Decoder(TokenEmbedding(vocab, hidden), Stack("layers", hidden, out, final_norm=norm),
                   Head("lm_head", hidden, vocab, tied=bool(cfg.get("tie_word_embeddings", default=False))),
                   max_positions=cfg.get("max_position_embeddings", default=131_072), rotary_dim=hd)


@reader("llama4_text")
def _llama4_text(cfg: Config) -> Decoder:
    """Llama 4's language model (transformers' Llama4TextConfig / modeling_llama4): the layers
    ``moe_layers`` lists (default: every ``interleave_moe_layer_step``-th) route each token to the
    top-k (1) of ``num_local_experts`` experts by sigmoid score and always run a shared expert,
    both of ``intermediate_size``; the others a dense SwiGLU MLP of ``intermediate_size_mlp``.
    The rotary layers (``no_rope_layers`` 1; by default all but every fourth) use chunked
    attention over ``attention_chunk_size`` tokens and, with ``use_qk_norm``, a weightless
    RMS (L2) norm on each query and key head; the other layers are global attention without
    position embedding (NoPE).

    Chunked attention is priced as a window of the chunk (:mod:`.build`): its cache never holds
    more than a chunk. transformers runs every expert on every token (scores of the unchosen
    ones are zero); chipfit counts the top-k a serving engine runs."""
    hidden, layers, heads, vocab, inter, experts = cfg.require(
        "hidden_size", "num_hidden_layers", "num_attention_heads", "vocab_size", "intermediate_size",
        "num_local_experts")
    kv = cfg.kv_heads(heads)
    hd = cfg.head_dim(hidden, heads)
    bias = bool(cfg.get("attention_bias", default=False))
    act = cfg.act("hidden_act", default="silu")
    rope = _rope_layers(cfg, layers)
    chunk = cfg.data["attention_chunk_size"] if "attention_chunk_size" in cfg.data else 8192
    types = _layer_types(cfg, layers, ["chunked_attention" if r else "full_attention" for r in rope])
    step = cfg.get("interleave_moe_layer_step", default=1)
    moe_layers = set(cfg.get("moe_layers", default=range(step - 1, layers, step)))
    qk = Norm("rms", bias=False, affine=False) if cfg.get("use_qk_norm", default=True) else None
    norm = Norm("rms", bias=False)
    moe = MoE(experts, cfg.get("num_experts_per_tok", default=1), inter, act, shared_inter=inter, router="sigmoid")
    dense = None
    if len(moe_layers & set(range(layers))) < layers:
        dense = MLP(cfg.require("intermediate_size_mlp")[0], act, gated=True)
    out = []
    for i in range(layers):
        chunked = types[i] == "chunked_attention" and chunk is not None
        attn = Attention(heads, kv, hd, bias, bias, bias, bias, rotary=rope[i], causal=True,
                         window=chunk if chunked else None, chunked=chunked, qk_norm=qk if rope[i] else None)
        out.append(Layer(attn, moe if i in moe_layers else dense, norm))
    return Decoder(TokenEmbedding(vocab, hidden), Stack("layers", hidden, tuple(out), final_norm=norm),
                   Head("lm_head", hidden, vocab, tied=bool(cfg.get("tie_word_embeddings", default=False))),
                   max_positions=cfg.get("max_position_embeddings", default=131_072), rotary_dim=hd)


@reader("gpt2")
def _gpt2(cfg: Config) -> Decoder:
    hidden, layers, heads, vocab, positions = cfg.require(
        ("n_embd", "hidden_size"), ("n_layer", "num_hidden_layers"), ("n_head", "num_attention_heads"),
        "vocab_size", ("n_positions", "max_position_embeddings"))
    hd = cfg.head_dim(hidden, heads, key="__no_head_dim__")
    inter = cfg.get("n_inner", default=4 * hidden)
    act = cfg.act("activation_function", default="gelu_new")
    norm = Norm("layer")
    attn = Attention(heads, heads, hd, True, True, True, True, causal=True)
    layer = Layer(attn, MLP(inter, act, bias=True), norm)
    stack = Stack("h", hidden, (layer,) * layers, final_norm=norm, final_norm_name="ln_f")
    return Decoder(TokenEmbedding(vocab, hidden, positions=positions, name="wte"), stack,
                   Head("lm_head", hidden, vocab, tied=bool(cfg.get("tie_word_embeddings", default=True))),
                   max_positions=positions)


@reader("gptj")
def _gptj(cfg: Config) -> Decoder:
    """GPT-J (transformers' GPTJConfig / modeling_gptj): one LayerNorm per layer feeding attention
    and MLP in parallel, bias-free q/k/v/out projections, rotary embedding on the first
    ``rotary_dim`` dimensions of each head, a biased MLP and an untied LM head with a bias."""
    hidden, layers, heads, vocab, positions = cfg.require(
        ("n_embd", "hidden_size"), ("n_layer", "num_hidden_layers"), ("n_head", "num_attention_heads"),
        "vocab_size", ("n_positions", "max_position_embeddings"))
    hd = cfg.head_dim(hidden, heads, key="__no_head_dim__")
    inter = cfg.get("n_inner", default=None) or 4 * hidden
    act = cfg.act("activation_function", default="gelu_new")
    norm = Norm("layer")
    attn = Attention(heads, heads, hd, False, False, False, False, rotary=True, causal=True)
    layer = Layer(attn, MLP(inter, act, bias=True), norm, parallel=True)
    stack = Stack("h", hidden, (layer,) * layers, final_norm=norm, final_norm_name="ln_f")
    return Decoder(TokenEmbedding(vocab, hidden, name="wte"), stack,
                   Head("lm_head", hidden, vocab, bias=True, tied=bool(cfg.get("tie_word_embeddings", default=False))),
                   max_positions=positions, rotary_dim=cfg.get("rotary_dim", default=hd) or hd)


# -- encoders -----------------------------------------------------------------------------

def _encoder_stack(cfg: Config, prefix: str, hidden: int, layers: int, heads: int, inter: int,
                   act: str, norm: Norm, final_norm: Norm | None, causal: bool = False,
                   final_name: str = "norm") -> Stack:
    hd = cfg.head_dim(hidden, heads, key="__no_head_dim__")
    attn = Attention(heads, heads, hd, True, True, True, True, causal=causal)
    layer = Layer(attn, MLP(inter, act, bias=True), norm)
    return Stack(prefix, hidden, (layer,) * layers, final_norm=final_norm, final_norm_name=final_name)


@reader("bert")
def _bert(cfg: Config) -> Encoder:
    hidden, layers, heads, inter, vocab, positions = cfg.require(
        "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size", "vocab_size",
        "max_position_embeddings")
    norm = Norm("layer")
    stack = _encoder_stack(cfg, "encoder.layer", hidden, layers, heads, inter,
                           cfg.act("hidden_act", default="gelu"), norm, None)
    embed = TokenEmbedding(vocab, hidden, positions=positions, token_types=cfg.get("type_vocab_size", default=2),
                           norm=norm, name="embeddings")
    archs = cfg.get("architectures", default=["BertModel"])
    heads_ = (Head("pooler", hidden, hidden, bias=True, act="tanh", tokens="first"),) if "BertModel" in archs else ()
    return Encoder(embed, stack, heads_, max_positions=positions)


def _image_size(cfg: Config, default: int = 224) -> tuple[int, int]:
    size = cfg.get("image_size", default=default)
    return (size, size) if isinstance(size, int) else tuple(size)


def _patch(cfg: Config, default: int) -> int:
    """``patch_size``: one side, or a [height, width] pair that must be square."""
    size = cfg.get("patch_size", default=default)
    if isinstance(size, int):
        return size
    if size[0] != size[1]:
        raise ChipfitError(f"{cfg.where}: patch_size must be square, got {size[0]}x{size[1]}")
    return size[0]


@reader("vit")
def _vit(cfg: Config) -> Encoder:
    hidden, layers, heads, inter = cfg.require(
        "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size")
    patch = _patch(cfg, 16)
    norm = Norm("layer")
    stack = _encoder_stack(cfg, "encoder.layer", hidden, layers, heads, inter,
                           cfg.act("hidden_act", default="gelu"), norm, norm, final_name="layernorm")
    embed = PatchEmbedding(cfg.get("num_channels", default=3), _image_size(cfg), patch, hidden)
    archs = cfg.get("architectures", default=["ViTModel"])
    if "ViTForImageClassification" in archs:
        labels = cfg.get("num_labels", default=len(cfg.get("id2label", default={})) or 2)
        heads_ = (Head("classifier", hidden, labels, bias=True, tokens="first"),)
    else:
        heads_ = (Head("pooler", hidden, hidden, bias=True, act="tanh", tokens="first"),)
    return Encoder(embed, stack, heads_)


def _clip_vision(cfg: Config, prefix: str = "vision_model", projection: int = 0) -> Encoder:
    hidden, layers, heads, inter = cfg.require(
        "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size")
    norm = Norm("layer")
    stack = _encoder_stack(cfg, f"{prefix}.encoder.layers", hidden, layers, heads, inter,
                           cfg.act("hidden_act", default="quick_gelu"), norm, None)
    embed = PatchEmbedding(cfg.get("num_channels", default=3), _image_size(cfg), _patch(cfg, 32),
                           hidden, bias=False, pre_norm=norm, name=f"{prefix}.embeddings")
    heads_ = [Head(f"{prefix}.post_layernorm", hidden, 0, tokens="first", norm=norm)]
    if projection:
        heads_.append(Head("visual_projection", hidden, projection, tokens="first"))
    return Encoder(embed, stack, tuple(heads_))


def _clip_text(cfg: Config, prefix: str = "text_model", projection: int = 0) -> Encoder:
    hidden, layers, heads, inter, vocab, positions = cfg.require(
        "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size", "vocab_size",
        "max_position_embeddings")
    norm = Norm("layer")
    stack = _encoder_stack(cfg, f"{prefix}.encoder.layers", hidden, layers, heads, inter,
                           cfg.act("hidden_act", default="quick_gelu"), norm, norm, causal=True,
                           final_name="final_layer_norm")
    stack = Stack(stack.prefix, hidden, stack.layers, norm, f"{prefix}.final_layer_norm")
    heads_ = (Head("text_projection", hidden, projection, tokens="first"),) if projection else ()
    return Encoder(TokenEmbedding(vocab, hidden, positions=positions, name=f"{prefix}.embeddings"),
                   stack, heads_, max_positions=positions)


@reader("clip_vision_model")
def _clip_vision_model(cfg: Config) -> Encoder:
    return _clip_vision(cfg)


@reader("clip_text_model")
def _clip_text_model(cfg: Config) -> Encoder:
    return _clip_text(cfg)


@reader("clip")
def _clip(cfg: Config) -> DualEncoder:
    proj = cfg.get("projection_dim", default=512)
    return DualEncoder(_clip_vision(cfg.sub("vision_config"), projection=proj),
                       _clip_text(cfg.sub("text_config"), projection=proj))


@reader("wav2vec2")
def _wav2vec2(cfg: Config) -> Encoder:
    hidden, layers, heads, inter = cfg.require(
        "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size")
    dims = cfg.get("conv_dim", default=[512] * 7)
    kernels = cfg.get("conv_kernel", default=[10, 3, 3, 3, 3, 2, 2])
    strides = cfg.get("conv_stride", default=[5, 2, 2, 2, 2, 2, 2])
    if not len(dims) == len(kernels) == len(strides):
        raise ChipfitError(f"{cfg.where}: conv_dim, conv_kernel and conv_stride differ in length")
    bias = bool(cfg.get("conv_bias", default=False))
    mode = cfg.get("feat_extract_norm", default="group")
    act = cfg.act("feat_extract_activation", default="gelu")
    convs, c_in = [], 1
    for i, (c, k, s) in enumerate(zip(dims, kernels, strides)):
        norm = None
        if mode == "layer":
            norm = Norm("layer")
        elif mode == "group" and i == 0:
            norm = Norm("group")
        convs.append(Conv1d(c_in, c, k, s, bias=bias, act=act, norm=norm))
        c_in = c
    k, groups = cfg.get("num_conv_pos_embeddings", default=128), cfg.get("num_conv_pos_embedding_groups", default=16)
    if hidden % groups:
        raise ChipfitError(f"{cfg.where}: hidden size {hidden} is not divisible by {groups} "
                           f"positional convolution groups")
    pos = Conv1d(hidden, hidden, k, padding=k // 2, groups=groups, act=act, extra_params=k,
                 drop_last=1 if k % 2 == 0 else 0)
    stable = bool(cfg.get("do_stable_layer_norm", default=False))
    norm = Norm("layer")
    masked = hidden if (cfg.get("mask_time_prob", default=0.05) > 0 or cfg.get("mask_feature_prob", default=0) > 0) else 0
    front = AudioFrontend(tuple(convs), hidden, projection=(norm, c_in), pos_conv=pos,
                          pos_norm=None if stable else norm, extra_params=masked)
    stack = _encoder_stack(cfg, "encoder.layers", hidden, layers, heads, inter,
                           cfg.act("hidden_act", default="gelu"), norm, norm if stable else None)
    return Encoder(front, stack)


# -- encoder-decoder ----------------------------------------------------------------------

@reader("whisper")
def _whisper(cfg: Config) -> EncoderDecoder:
    d, enc_layers, dec_layers, enc_heads, dec_heads, enc_ffn, dec_ffn, vocab, mels, src, tgt = cfg.require(
        "d_model", "encoder_layers", "decoder_layers", "encoder_attention_heads", "decoder_attention_heads",
        "encoder_ffn_dim", "decoder_ffn_dim", "vocab_size", "num_mel_bins", "max_source_positions",
        "max_target_positions")
    act = cfg.act("activation_function", default="gelu")
    norm = Norm("layer")

    def attn(heads, causal=False, cross=False):
        hd = cfg.head_dim(d, heads, key="__no_head_dim__")
        return Attention(heads, heads, hd, q_bias=True, k_bias=False, v_bias=True, o_bias=True,
                         causal=causal, kv_in=d if cross else None)

    enc_layer = Layer(attn(enc_heads), MLP(enc_ffn, act, bias=True), norm)
    convs = (Conv1d(mels, d, 3, padding=1, act=act), Conv1d(d, d, 3, stride=2, padding=1, act=act))
    encoder = Encoder(AudioFrontend(convs, d, positions=src, fixed_len=2 * src, name="encoder"),
                      Stack("encoder.layers", d, (enc_layer,) * enc_layers, norm, "encoder.layer_norm"))
    dec_layer = Layer(attn(dec_heads, causal=True), MLP(dec_ffn, act, bias=True), norm, cross=attn(dec_heads, cross=True))
    decoder = Decoder(TokenEmbedding(vocab, d, positions=tgt, name="decoder.embed_tokens"),
                      Stack("decoder.layers", d, (dec_layer,) * dec_layers, norm, "decoder.layer_norm"),
                      Head("proj_out", d, vocab, tied=bool(cfg.get("tie_word_embeddings", default=True))),
                      max_positions=tgt)
    return EncoderDecoder(encoder, decoder)


@reader("t5")
def _t5(cfg: Config) -> EncoderDecoder:
    d, d_kv, d_ff, layers, heads, vocab = cfg.require("d_model", "d_kv", "d_ff", "num_layers", "num_heads",
                                                      "vocab_size")
    dec_layers = cfg.get("num_decoder_layers", default=layers)
    proj = str(cfg.get("feed_forward_proj", default="relu"))
    gated = proj.startswith("gated-")
    act = "gelu_tanh" if proj == "gated-gelu" else ACTIVATIONS.get(proj.removeprefix("gated-"))
    if act is None:
        raise ChipfitError(f"{cfg.where}: unsupported feed_forward_proj '{proj}'")
    norm = Norm("rms", bias=False)
    self_attn = Attention(heads, heads, d_kv, out_dim=d)
    mlp = MLP(d_ff, act, gated=gated)
    enc = Stack("encoder.block", d, (Layer(self_attn, mlp, norm),) * layers, norm, "encoder.final_layer_norm")
    dec_layer = Layer(Attention(heads, heads, d_kv, causal=True, out_dim=d), mlp, norm,
                      cross=Attention(heads, heads, d_kv, kv_in=d, out_dim=d))
    dec = Stack("decoder.block", d, (dec_layer,) * dec_layers, norm, "decoder.final_layer_norm")
    # transformers (5.x) always ties T5's lm_head to the shared embedding;
    # tie_word_embeddings only decides whether the decoder output is rescaled.
    tied = True
    embed = TokenEmbedding(vocab, d, name="shared")
    return EncoderDecoder(Encoder(embed, enc),
                          Decoder(TokenEmbedding(vocab, d, shared=True, name="decoder.embed_tokens"), dec,
                                  Head("lm_head", d, vocab, tied=tied)),
                          relative_buckets=cfg.get("relative_attention_num_buckets", default=32))


# -- multimodal ---------------------------------------------------------------------------

@reader("blip_2_qformer")
def _qformer(cfg: Config) -> QFormer:
    hidden, layers, heads, inter = cfg.require(
        "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size")
    enc_dim = cfg.get("encoder_hidden_size", default=1408)
    every = cfg.get("cross_attention_frequency", default=2)
    act = cfg.act("hidden_act", default="gelu")
    hd = cfg.head_dim(hidden, heads, key="__no_head_dim__")
    norm = Norm("layer")
    text_ffn = (2 * hidden * inter + inter + hidden + 2 * hidden) if cfg.get("use_qformer_text_input", default=False) else 0
    out = []
    for i in range(layers):
        cross = Attention(heads, heads, hd, True, True, True, True, kv_in=enc_dim) if i % every == 0 else None
        out.append(Layer(Attention(heads, heads, hd, True, True, True, True), MLP(inter, act, bias=True),
                         norm, cross=cross, unused_params=text_ffn))
    image = cfg.get("image_tokens", default=257)
    return QFormer(Stack("encoder.layer", hidden, tuple(out)), cfg.get("num_query_tokens", default=32),
                   image, enc_dim, norm)


def _vlm_llm(cfg: Config, text: Config, tied: bool | None = None) -> Decoder:
    """The language model of a vision-language config, its modules under ``language_model``;
    ``tied``, when given, overrides the text config's tying of the LM head."""
    data = dict(text.data)
    data.setdefault("model_type", "qwen2")
    if tied is not None:
        data["tie_word_embeddings"] = tied
    llm = read(data, text.where)
    if not isinstance(llm, Decoder):
        raise ChipfitError(f"{cfg.where}: the text config must describe a decoder-only language model")
    return Decoder(TokenEmbedding(llm.embed.vocab, llm.embed.hidden, scale=llm.embed.scale,
                                  name="language_model.embed_tokens"),
                   Stack("language_model.layers", llm.stack.hidden, llm.stack.layers, llm.stack.final_norm,
                         "language_model.norm"),
                   llm.head, llm.max_positions, llm.rotary_dim)


@reader("llava")
def _llava(cfg: Config) -> VisionLanguage:
    vision = _clip_vision(cfg.sub("vision_config"), prefix="vision_tower.vision_model")
    llm = _vlm_llm(cfg, cfg.sub("text_config"))
    # transformers runs the whole vision tower and picks the hidden states of
    # vision_feature_layer (-2 by default): every layer is counted.
    bias = bool(cfg.get("multimodal_projector_bias", default=True))
    act = cfg.act("projector_hidden_act", default="gelu")
    width = llm.stack.hidden
    projector = (Head("multi_modal_projector.linear_1", vision.stack.hidden, width, bias=bias, act=act),
                 Head("multi_modal_projector.linear_2", width, width, bias=bias))
    patches = vision.front.tokens - 1
    strategy = cfg.get("vision_feature_select_strategy", default="default")
    image_tokens = patches if strategy == "default" else patches + 1
    return VisionLanguage(vision, projector, llm, image_tokens)


@reader("internvl")
def _internvl(cfg: Config) -> VisionLanguage:
    """InternVL 2.5 / 3 in transformers' form (the ``-hf`` checkpoints): InternViT (pre-norm ViT
    with a learned per-channel scale on each branch) → CLS dropped, 2×2 pixel shuffle
    (``downsample_ratio`` 0.5: 4 patches → one token of 4× the width) → LayerNorm + 2-layer MLP
    → the language model."""
    v = cfg.sub("vision_config")
    hidden, layers, heads, inter = v.require(
        "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size")
    hd = v.head_dim(hidden, heads, key="__no_head_dim__")
    norm = Norm("rms", bias=False) if v.get("norm_type", default="layer_norm") == "rms_norm" else Norm("layer")
    bias = bool(v.get("attention_bias", default=False))
    attn = Attention(heads, heads, hd, bias, bias, bias, True,
                     qk_norm=Norm("rms", bias=False) if v.get("use_qk_norm", default=False) else None,
                     qk_norm_joint=True)
    layer = Layer(attn, MLP(inter, v.act("hidden_act", default="gelu"), bias=True), norm, layer_scale=True)
    mean_pool = v.get("use_mean_pooling", default=True)
    stack = Stack("vision_tower.encoder.layer", hidden, (layer,) * layers,
                  None if mean_pool else Norm("layer"), "vision_tower.layernorm")
    ph, image = _patch(v, 14), _image_size(v, 448)
    front = PatchEmbedding(v.get("num_channels", default=3), image, ph, hidden,
                           positions=None if v.get("use_absolute_position_embeddings", default=True) else 0,
                           name="vision_tower.embeddings")
    vision = Encoder(front, stack)
    if cfg.get("vision_feature_select_strategy", default="default") != "default":
        raise ChipfitError(f"{cfg.where}: vision_feature_select_strategy must be 'default' "
                           f"(the CLS token is dropped before the pixel shuffle)")
    ratio = cfg.get("downsample_ratio", default=0.5)
    scale = round(1 / ratio) if isinstance(ratio, (int, float)) and 0 < ratio <= 1 else 0
    gh, gw = image[0] // ph, image[1] // ph
    if not scale or abs(scale * ratio - 1) > 1e-9 or gh % scale or gw % scale or gh != gw:
        raise ChipfitError(f"{cfg.where}: downsample_ratio {ratio!r} must be 1/n for an n that divides "
                           f"the {gh}x{gw} patch grid (a square grid)")
    llm = _vlm_llm(cfg, cfg.sub("text_config"), tied=bool(cfg.get("tie_word_embeddings", default=True)))
    width, merged = llm.stack.hidden, hidden * scale * scale
    act = cfg.act("projector_hidden_act", default="gelu")
    projector = (Head("multi_modal_projector.linear_1", merged, width, bias=True, act=act, norm=Norm("layer"),
                      norm_name="multi_modal_projector.layer_norm"),
                 Head("multi_modal_projector.linear_2", width, width, bias=True))
    return VisionLanguage(vision, projector, llm, gh * gw // (scale * scale))


#: The image size a Qwen2-VL config is counted at when its vision_config states none (its
#: processor keeps each image's own size, rounded to multiples of 28 pixels).
QWEN_VL_IMAGE = 448


def _window_blocks(grid: tuple[int, int], merge: int, window: int) -> tuple[tuple[int, int], ...]:
    """(length, count) of Qwen2.5-VL's attention windows over a ``grid`` of patches: squares of
    ``window`` merged units (4 × 4 of 2 × 2 patches), cut short at the bottom and right edges."""
    def sides(n: int) -> dict[int, int]:
        full, rest = divmod(n // merge, window)
        return {k: c for k, c in ((window, full), (rest, 1 if rest else 0)) if c}
    rows, cols = sides(grid[0]), sides(grid[1])
    return tuple(sorted(((r * c * merge * merge, nr * nc) for r, nr in rows.items() for c, nc in cols.items()),
                        reverse=True))


#: Each Qwen vision-language family's language model.
_QWEN_VL_TEXT = {"qwen2_vl": "qwen2", "qwen2_5_vl": "qwen2", "qwen3_vl": "qwen3", "qwen3_vl_moe": "qwen3_moe",
                 "qwen3_5": "qwen3_5_text", "qwen3_5_moe": "qwen3_5_moe_text"}


@reader(*_QWEN_VL_TEXT)
def _qwen_vl(cfg: Config) -> VisionLanguage:
    """Qwen2-VL, Qwen2.5-VL, Qwen3-VL and Qwen3.5: a ViT on patches of two frames (a still image
    repeated) with 2-D rotary positions → 2×2 neighbouring patches merged (a norm, then a 2-layer
    MLP) into one token of the language model.

    * Qwen2-VL: LayerNorm, a plain MLP, full attention; no patch-embedding bias.
    * Qwen2.5-VL: RMSNorm, a SwiGLU MLP, attention within ``window_size``-pixel windows except
      on ``fullatt_block_indexes``.
    * Qwen3-VL: LayerNorm, a plain MLP, full attention, a learned grid of positions resampled to
      the image; DeepStack: after each of ``deepstack_visual_indexes`` an extra merger (its norm
      after the 2×2 merge) adds its tokens to the image positions of one of the first LLM layers.
    * Qwen3.5: Qwen3-VL's tower without DeepStack, merged into a Qwen3.5 (Gated DeltaNet hybrid)
      language model."""
    v = cfg.sub("vision_config")
    kind = cfg.get("model_type")
    depth, heads = v.require("depth", "num_heads")
    patch, merge = _patch(v, 16 if kind.startswith("qwen3") else 14), v.get("spatial_merge_size", default=2)
    image = _image_size(v, QWEN_VL_IMAGE)
    if image[0] % (patch * merge) or image[1] % (patch * merge):
        raise ChipfitError(f"{v.where}: image_size {image[0]}x{image[1]} must be a multiple of "
                           f"{patch * merge} pixels (patch_size × spatial_merge_size)")
    grid = (image[0] // patch, image[1] // patch)
    full, blocks, positions, deepstack = set(range(depth)), None, 0, []
    if kind == "qwen2_5_vl":
        hidden, inter, out = v.require("hidden_size", "intermediate_size", "out_hidden_size")
        norm, mlp = Norm("rms", bias=False), MLP(inter, v.act("hidden_act", default="silu"), gated=True, bias=True)
        window_px = v.get("window_size", default=112)
        window = window_px // merge // patch
        if window < 1:
            raise ChipfitError(f"{v.where}: window_size must be at least {merge * patch} pixels, got {window_px}")
        full = set(v.get("fullatt_block_indexes", default=[]))
        blocks = _window_blocks(grid, merge, window)
    elif kind == "qwen2_vl":
        (hidden, out), ratio = v.require("embed_dim", "hidden_size"), v.get("mlp_ratio", default=4)
        norm, mlp = Norm("layer"), MLP(int(hidden * ratio), v.act("hidden_act", default="quick_gelu"), bias=True)
    else:
        hidden, inter, out = v.require("hidden_size", "intermediate_size", "out_hidden_size")
        norm, mlp = Norm("layer"), MLP(inter, v.act("hidden_act", default="gelu_pytorch_tanh"), bias=True)
        positions = v.get("num_position_embeddings", default=2304)
        deepstack = list(v.get("deepstack_visual_indexes", default=[8, 16, 24] if "_vl" in kind else []))
        if any(i >= depth for i in deepstack):
            raise ChipfitError(f"{v.where}: deepstack_visual_indexes must name layers below depth ({depth})")
    hd = v.head_dim(hidden, heads, key="__no_head_dim__")
    attn = Attention(heads, heads, hd, True, True, True, True, rotary=True)
    windowed = Attention(heads, heads, hd, True, True, True, True, rotary=True, blocks=blocks)
    layers = tuple(Layer(attn if i in full else windowed, mlp, norm) for i in range(depth))
    final = "visual.merger.norm" if kind.startswith("qwen3") else "visual.merger.ln_q"
    stack = Stack("visual.blocks", hidden, layers, norm, final)
    front = PatchEmbedding(v.get("in_channels", "in_chans", default=3), image, patch, hidden,
                           bias=kind.startswith("qwen3"), cls=False, temporal=v.get("temporal_patch_size", default=2),
                           positions=positions, name="visual.patch_embed")
    text = cfg.sub("text_config") if isinstance(cfg.data.get("text_config"), dict) else Config(
        {k: val for k, val in cfg.data.items() if k != "vision_config"}, cfg.where)
    tied = bool(cfg.get("tie_word_embeddings", default=False) or text.get("tie_word_embeddings", default=False))
    llm = _vlm_llm(cfg, Config(dict(text.data, model_type=_QWEN_VL_TEXT[kind]), text.where), tied=tied)
    if out != llm.stack.hidden:
        raise ChipfitError(f"{v.where}: the merger's output width ({out:,}) must equal the language "
                           f"model's hidden_size ({llm.stack.hidden:,})")
    if len(deepstack) > len(llm.stack.layers):
        raise ChipfitError(f"{v.where}: {len(deepstack)} deepstack_visual_indexes but the language model has "
                           f"{len(llm.stack.layers)} layers")
    unit, wide = merge * merge, hidden * merge * merge
    fc1, fc2 = ("linear_fc1", "linear_fc2") if kind.startswith("qwen3") else ("mlp.0", "mlp.2")
    projector = [Head(f"visual.merger.{fc1}", wide, wide, bias=True, act="gelu"),
                 Head(f"visual.merger.{fc2}", wide, out, bias=True)]
    for i in range(len(deepstack)):
        p = f"visual.deepstack_merger_list.{i}"
        projector += [Head(f"{p}.linear_fc1", wide, wide, bias=True, act="gelu", norm=Norm("layer"),
                           norm_name=f"{p}.norm"),
                      Head(f"{p}.linear_fc2", wide, out, bias=True)]
    return VisionLanguage(Encoder(front, stack), tuple(projector), llm, grid[0] * grid[1] // unit,
                          injected=len(deepstack))
