"""Architecture (:mod:`.spec`) × phase → :class:`~chipfit.core.costgraph.CostGraph`, analytically.

Every model is made of the same few pieces (embedding, attention, MLP or MoE, norm, head,
convolution), each priced once here from shapes alone, with the per-element costs shared by
the traced frontends (:mod:`chipfit.frontends.costs`), so a builder's layer and a traced
layer agree: the tests hold the MACs and parameters of every family equal to transformers'
own model, traced, for forward, prefill and decode.

Phases (:class:`Phase`)
    forward  one pass over N tokens per sequence, logits for every token (what a traced
             ``model(input_ids)`` computes);
    prefill  the prompt of N tokens of a generative model: the KV cache is written and only
             the last token's logits are computed, as serving engines do;
    decode   one new token per sequence at context position P: the KV cache of P tokens is
             read (``min(P + 1, window)`` keys with a sliding window), the new K/V written.

Conventions
    * Attention is dense: in a forward or prefill pass every query meets every key of the
      sequence, as SDPA/flash kernels compute it; ``causal_discount`` counts only the
      unmasked scores (``Σ min(i, window)`` keys for query i) instead.
    * MoE: each token runs ``top_k`` experts, so expert MACs are exact whatever the routing;
      expert weights read assume uniform routing: ``E · (1 − (1 − k/E)^T)`` experts are
      touched by T tokens.
    * Ops are the kernels a serving runtime runs (a norm, a rotary embedding, the attention
      are one op each), so activation traffic is that of fused kernels, lower than the
      unfused op-by-op trace; MACs and parameters are identical.
    * KV-cache traffic is part of the attention op's reads and the ``kv_cache`` op's writes
      (``Op.cache_read_elems`` / ``cache_write_elems`` say how much of it is cache).
    * Chunked attention (Llama 4) is priced as a window of the chunk size: the cache of a
      chunked layer never holds more than a chunk, and a decode step meets ``min(P + 1,
      chunk)`` keys, as transformers' cache keeps them (an upper bound on the ``P mod chunk
      + 1`` keys the chunk mask lets through); with ``causal_discount`` only the keys of each
      query's own chunk are counted.
    * Multi-head latent attention (DeepSeek-V3): forward and prefill run the non-absorbed
      form transformers runs (K and V expanded from the latent per token by ``kv_b_proj``);
      decode runs the absorbed form serving engines use (``kv_b_proj`` folded into the query
      and the output, attention over the cached latents); the cache holds
      ``kv_rank + rope_dim`` elements per token and layer (:class:`.spec.LatentAttention`).
    * Gated DeltaNet linear attention (Qwen3-Next, :class:`.spec.LinearAttention`): the MACs of
      transformers' own algorithm, the chunked gated delta rule in a forward pass or a prefill
      (per chunk of C tokens and value head: two C×C score products over the key width, the
      C×C product with the values, three products with the k×v state), the token-by-token
      recurrence in decode (element-wise products with the state, no matmul). Its two
      triangular solves per chunk (C(C − 1)/2 multiply-adds per column) and the recurrence
      are priced as non-MAC FLOPs; a fused kernel may differ there, not in the projections.
      The state a sequence holds (recurrent and convolution) is counted with the KV cache but
      does not grow with the context.
    * KV-shared layers (Gemma 4, ``Attention.kv_shared``) score their queries against the keys
      and values of an earlier layer of their kind: no K/V projections, norms or cache of their
      own, the shared cache read in decode. In a prefill, the trailing run of such layers computes
      the last token only: they write no cache and the last token's output is all the logits
      need (transformers does the same when it keeps only the last logits).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from chipfit.core.costgraph import CostGraph, Op
from chipfit.core.errors import ChipfitError
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
from chipfit.frontends.costs import ACTIVATION_COST, ATTENTION_SCORE_COST, SOFTMAX_COST, norm_cost

#: Logit soft-capping cap · tanh(x / cap) (Gemma 2's attention scores and final logits):
#: a divide, a tanh (1), a multiply per element.
SOFTCAP_COST = 2 + ACTIVATION_COST["tanh"]
#: quick_gelu = x · sigmoid(1.702 x): a multiply, a sigmoid (4), a multiply.
#: gpt-oss's expert activation on the gate and up halves, per element: clamp both, gate·α,
#: sigmoid, gate·sigmoid, up + 1 (the product of the two is the gated multiply).
_ACT_COST = {**ACTIVATION_COST, "quick_gelu": 6, "softcap": SOFTCAP_COST,
             "clamped_swiglu": 5 + ACTIVATION_COST["sigmoid"]}
#: Rotary embedding per element of Q and K: x·cos + rotate_half(x)·sin.
ROTARY_COST = 3


@dataclass(frozen=True)
class Phase:
    kind: Literal["forward", "prefill", "decode"] = "forward"
    tokens: int = 128            # N: tokens per sequence (forward, prefill); decode runs 1
    context: int = 0             # P: tokens already in the KV cache (decode)
    batch: int = 1
    causal_discount: bool = False
    encoder_tokens: int | None = None  # source tokens of a text encoder-decoder (T5), else N

    def __post_init__(self):
        if self.kind not in ("forward", "prefill", "decode"):
            raise ChipfitError(f"unknown phase '{self.kind}': use forward, prefill or decode")
        for what, v, low in (("batch", self.batch, 1), ("the number of tokens", self.tokens, 1),
                             ("the context position", self.context, 0)):
            if not isinstance(v, int) or isinstance(v, bool) or v < low:
                bound = "a positive" if low else "a non-negative"
                raise ChipfitError(f"{what} must be {bound} integer, not {v!r}")

    @property
    def new_tokens(self) -> int:
        return 1 if self.kind == "decode" else self.tokens

    def describe(self) -> str:
        b = f"batch {self.batch}"
        if self.kind == "decode":
            return f"decode: 1 token per sequence at context position {self.context:,}, {b}"
        what = "prefill" if self.kind == "prefill" else "forward"
        return f"{what}: {self.tokens:,} tokens per sequence, {b}"


class _Emitter:
    """Appends ops to a graph; when ``dry`` only the parameters are counted (weights the
    model holds but this phase does not run: Whisper's encoder while decoding)."""

    __slots__ = ("graph", "ops", "dry")

    def __init__(self, graph: CostGraph):
        self.graph = graph
        self.ops = graph.ops
        self.dry = False

    def op(self, name: str, kind: str, op: str, *, macs: int = 0, nonmac: int = 0, params: int = 0,
           weight: int = 0, read: int = 0, write: int = 0, ins: tuple = (), outs: tuple = (),
           cache_read: int = 0, cache_write: int = 0) -> None:
        self.graph.params += params
        if self.dry:
            return
        self.ops.append(Op(name, kind, op, macs, nonmac, params, weight, read, write, ins, outs,
                           cache_read_elems=cache_read, cache_write_elems=cache_write))

    def params(self, n: int) -> None:
        self.graph.params += n

    # -- primitives --------------------------------------------------------------------
    def linear(self, name: str, rows: int, d_in: int, d_out: int, bias: bool = False,
               tied: bool = False) -> None:
        w = d_in * d_out + (d_out if bias else 0)
        self.op(name, "linear", "linear", macs=rows * d_in * d_out, nonmac=rows * d_out if bias else 0,
                params=0 if tied else w, weight=w, read=rows * d_in, write=rows * d_out,
                ins=((rows, d_in),), outs=((rows, d_out),))

    def norm(self, name: str, rows: int, width: int, norm: Norm) -> None:
        n = rows * width
        p = norm.params(width)
        affine = p // width   # weight (and bias) terms per element
        self.op(name, "norm", f"{norm.kind}_norm", nonmac=norm_cost(n, norm.kind, affine) + (n if norm.plus_one else 0),
                params=p, weight=p, read=n, write=n, ins=((rows, width),), outs=((rows, width),))

    def act(self, name: str, elems: int, act: str) -> None:
        self.op(name, "activation", act, nonmac=_ACT_COST[act] * elems, read=elems, write=elems,
                ins=((elems,),), outs=((elems,),))

    def elementwise(self, name: str, elems: int, op: str = "add", inputs: int = 2) -> None:
        self.op(name, "elementwise", op, nonmac=elems, read=inputs * elems, write=elems,
                ins=((elems,),) * inputs, outs=((elems,),))

    def embedding(self, name: str, rows: int, table: int, width: int, shared: bool = False) -> None:
        self.op(name, "embedding", "embedding", params=0 if shared else table * width, weight=rows * width,
                read=rows, write=rows * width, ins=((table, width), (rows,)), outs=((rows, width),))

    def conv1d(self, name: str, batch: int, length: int, c: Conv1d) -> int:
        out = c.out_len(length)
        if out <= 0:
            raise ChipfitError(f"{name}: an input of {length} frames is too short for its convolutions")
        full = out + c.drop_last
        w = c.c_out * (c.c_in // c.groups) * c.kernel + (c.c_out if c.bias else 0)
        self.op(name, "conv", "conv1d", macs=batch * full * c.c_out * (c.c_in // c.groups) * c.kernel,
                nonmac=batch * full * c.c_out if c.bias else 0, params=w + c.extra_params, weight=w,
                read=batch * c.c_in * length, write=batch * c.c_out * full,
                ins=((batch, c.c_in, length),), outs=((batch, c.c_out, full),))
        if c.norm is not None:
            self.norm(f"{name}_norm", batch * out, c.c_out, c.norm)
        if c.act is not None:
            self.act(f"{name}_act", batch * out * c.c_out, c.act)
        return out


def causal_scores(q: int, window: int | None, chunked: bool = False) -> int:
    """Unmasked scores of a causal (optionally windowed) attention over q tokens: Σ min(i, w);
    ``chunked``: query i sees the keys of its own chunk of ``window``, Σ ((i − 1) mod w + 1)."""
    if chunked and window is not None:
        full, rest = divmod(q, window)
        return full * window * (window + 1) // 2 + rest * (rest + 1) // 2
    w = q if window is None else min(window, q)
    return w * (w + 1) // 2 + (q - w) * w


@dataclass(frozen=True)
class _Run:
    """How a stack runs in this phase."""

    batch: int
    q_len: int                 # new tokens per sequence
    past: int = 0              # tokens already cached (decode)
    cache: Literal["none", "write", "read"] = "none"
    enc_len: int = 0           # encoder tokens seen by cross-attention
    discount: bool = False


def _attention(em: _Emitter, p: str, a: Attention, hidden: int, run: _Run, cross: bool) -> int:
    """One attention block (projections, rotary, cache, scores, output); returns the KV-cache
    elements it holds afterwards."""
    b, q = run.batch, run.q_len
    rows = b * q
    hq, hkv, hd = a.heads, a.kv_heads, a.head_dim
    em.linear(f"{p}.q_proj", rows, hidden, hq * hd * (2 if a.gate else 1), a.q_bias)
    kv_in = a.kv_in or hidden
    if cross:
        keys = run.enc_len
        new_kv = 0 if run.cache == "read" else keys   # cross K/V computed once, then cached
    else:
        keys = q + run.past
        if a.window is not None and run.cache == "read":
            keys = min(keys, a.window)
        new_kv = q
    if a.kv_shared:   # an earlier layer's keys and values: nothing projected or cached here
        new_kv = 0
    else:
        dry, em.dry = em.dry, em.dry or new_kv == 0
        em.linear(f"{p}.k_proj", b * max(new_kv, 1), kv_in, hkv * hd, a.k_bias)
        if not a.k_eq_v:
            em.linear(f"{p}.v_proj", b * max(new_kv, 1), kv_in, hkv * hd, a.v_bias)
        em.dry = dry
    if a.qk_norm is not None and a.qk_norm_joint:
        em.norm(f"{p}.q_norm", rows, hq * hd, a.qk_norm)
        em.norm(f"{p}.k_norm", b * new_kv, hkv * hd, a.qk_norm)
    elif a.qk_norm is not None:
        em.norm(f"{p}.q_norm", rows * hq, hd, a.qk_norm)
        if not a.kv_shared:
            em.norm(f"{p}.k_norm", b * new_kv * hkv, hd, a.qk_norm)
    if a.v_norm is not None and not a.kv_shared:
        em.norm(f"{p}.v_norm", b * new_kv * hkv, hd, a.v_norm)
    if a.rotary:
        n = rows * (hq + (0 if a.kv_shared else hkv)) * hd
        em.op(f"{p}.rotary", "elementwise", "rotary", nonmac=ROTARY_COST * n, read=n, write=n)
    kv_new_elems = 2 * b * hkv * new_kv * hd
    if run.cache != "none" and new_kv:
        em.op(f"{p}.kv_cache", "data", "kv_cache_write", read=kv_new_elems, write=kv_new_elems,
              cache_write=kv_new_elems, ins=((b, hkv, new_kv, hd),) * 2, outs=((b, hkv, new_kv, hd),) * 2)
    if a.causal and not cross and run.discount and run.cache != "read":   # queries past+1 .. past+q
        scores_per_head = (causal_scores(run.past + q, a.window, a.chunked)
                           - causal_scores(run.past, a.window, a.chunked))
    elif a.blocks is not None:
        scores_per_head = a.scores(q)
    else:
        scores_per_head = q * keys
    scores = b * hq * scores_per_head
    masked = a.causal and not cross
    kv_elems = 2 * b * hkv * keys * hd
    cache_read = kv_elems - kv_new_elems if run.cache == "read" else 0  # the new K/V was just written
    sinks = rows * hq if a.sinks else 0   # one more logit per softmax row
    em.op(f"{p}.attention", "attention", "attention", macs=scores * 2 * hd,
          nonmac=scores * (ATTENTION_SCORE_COST + masked + (SOFTCAP_COST if a.softcap else 0))
          + sinks * ATTENTION_SCORE_COST, params=hq if a.sinks else 0, weight=hq if a.sinks else 0,
          read=rows * hq * hd + kv_elems,
          write=rows * hq * hd, cache_read=cache_read,
          ins=((b, hq, q, hd), (b, hkv, keys, hd), (b, hkv, keys, hd)), outs=((b, hq, q, hd),))
    if a.gate:
        em.act(f"{p}.gate_act", rows * hq * hd, "sigmoid")
        em.elementwise(f"{p}.gate_mul", rows * hq * hd, "mul")
    em.linear(f"{p}.o_proj", rows, hq * hd, a.out_dim or hidden, a.o_bias)
    if run.cache == "none" or a.kv_shared:
        return 0
    held = keys if cross else (q + run.past if a.window is None else min(q + run.past, a.window))
    return 2 * b * hkv * held * hd


def _latent_attention(em: _Emitter, p: str, a: LatentAttention, hidden: int, run: _Run) -> int:
    """Multi-head latent attention; returns the latent-cache elements it holds afterwards.

    Forward and prefill: every new token's latent is expanded by ``kv_b_proj`` into per-head
    keys (``nope_dim`` + the shared rotary ``rope_dim``) and values (``v_dim``), then dense
    attention (transformers' form). Decode: the absorbed form: the query's non-rotary part is
    multiplied into latent space by the key half of ``kv_b_proj`` (``nope_dim × kv_rank`` a
    head), scores are taken against the cached latents (``kv_rank + rope_dim`` a key) and the
    weighted latents are brought to ``v_dim`` by the value half, so only the new token passes
    through ``kv_b_proj``'s weights and the cache is read as stored."""
    b, q = run.batch, run.q_len
    rows, h, r, c = b * q, a.heads, a.rope_dim, a.kv_rank
    qk = a.nope_dim + r
    if a.q_rank:
        em.linear(f"{p}.q_a_proj", rows, hidden, a.q_rank, a.bias)
        em.norm(f"{p}.q_a_layernorm", rows, a.q_rank, a.norm)
        em.linear(f"{p}.q_b_proj", rows, a.q_rank, h * qk)
    else:
        em.linear(f"{p}.q_proj", rows, hidden, h * qk)
    em.linear(f"{p}.kv_a_proj_with_mqa", rows, hidden, c + r, a.bias)
    em.norm(f"{p}.kv_a_layernorm", rows, c, a.norm)
    n = rows * (h + 1) * r
    em.op(f"{p}.rotary", "elementwise", "rotary", nonmac=ROTARY_COST * n, read=n, write=n)
    keys = q + run.past
    new = b * q * (c + r)
    if run.cache != "none":
        em.op(f"{p}.kv_cache", "data", "kv_cache_write", read=new, write=new, cache_write=new,
              ins=((b, q, c + r),), outs=((b, q, c + r),))
    index_held = _indexer(em, f"{p}.indexer", a, hidden, run) if a.index_topk else 0
    # a decode step with sparse attention reads only the indexer's top-k latents
    attended = min(keys, a.index_topk) if a.index_topk and run.cache == "read" else keys
    scores = b * h * (causal_scores(q, None) if a.causal and run.discount and run.cache != "read" else q * attended)
    score_cost = ATTENTION_SCORE_COST + a.causal
    if run.cache == "read":   # absorbed
        em.op(f"{p}.kv_b_proj.absorb_k", "matmul", "matmul", macs=rows * h * a.nope_dim * c,
              params=c * h * a.nope_dim, weight=c * h * a.nope_dim, read=rows * h * a.nope_dim,
              write=rows * h * c, ins=((b, h, q, a.nope_dim),), outs=((b, h, q, c),))
        latent = b * attended * (c + r)
        em.op(f"{p}.attention", "attention", "attention", macs=scores * (2 * c + r), nonmac=scores * score_cost,
              read=rows * h * (c + r) + latent, write=rows * h * c, cache_read=latent - new,
              ins=((b, h, q, c + r), (b, 1, keys, c + r)), outs=((b, h, q, c),))
        em.op(f"{p}.kv_b_proj.absorb_v", "matmul", "matmul", macs=rows * h * c * a.v_dim,
              params=c * h * a.v_dim, weight=c * h * a.v_dim, read=rows * h * c, write=rows * h * a.v_dim,
              ins=((b, h, q, c),), outs=((b, h, q, a.v_dim),))
    else:
        em.linear(f"{p}.kv_b_proj", b * keys, c, h * (a.nope_dim + a.v_dim))
        kv = b * h * keys * (qk + a.v_dim)
        em.op(f"{p}.attention", "attention", "attention", macs=scores * (qk + a.v_dim), nonmac=scores * score_cost,
              read=rows * h * qk + kv, write=rows * h * a.v_dim,
              ins=((b, h, q, qk), (b, h, keys, qk), (b, h, keys, a.v_dim)), outs=((b, h, q, a.v_dim),))
    em.linear(f"{p}.o_proj", rows, h * a.v_dim, hidden, a.bias)
    return 0 if run.cache == "none" else b * keys * (c + r) + index_held


def _indexer(em: _Emitter, p: str, a: LatentAttention, hidden: int, run: _Run) -> int:
    """DeepSeek Sparse Attention's lightning indexer, as transformers runs it: per token a query
    of ``index_heads`` × ``index_dim`` from the query latent and one key of ``index_dim`` (normed,
    cached) from the hidden state; every query scores every key per head (ReLU), the heads are
    summed with per-token weights and the top-k keys chosen. Returns the index keys it holds."""
    b, q = run.batch, run.q_len
    rows, hi, di, r = b * q, a.index_heads, a.index_dim, a.rope_dim
    keys = q + run.past
    em.linear(f"{p}.wq_b", rows, a.q_rank, hi * di)
    em.linear(f"{p}.wk", rows, hidden, di)
    em.norm(f"{p}.k_norm", rows, di, Norm("layer"))
    n = rows * (hi + 1) * r
    em.op(f"{p}.rotary", "elementwise", "rotary", nonmac=ROTARY_COST * n, read=n, write=n)
    if run.cache != "none":
        em.op(f"{p}.key_cache", "data", "kv_cache_write", read=rows * di, write=rows * di, cache_write=rows * di,
              ins=((b, q, di),), outs=((b, q, di),))
    pairs = b * q * keys
    em.op(f"{p}.scores", "attention", "matmul", macs=pairs * hi * di, nonmac=2 * pairs * hi,   # scale, ReLU
          read=rows * hi * di + b * keys * di, write=pairs * hi,
          cache_read=b * run.past * di if run.cache == "read" else 0,
          ins=((b, q, hi, di), (b, keys, di)), outs=((b, q, hi, keys),))
    em.linear(f"{p}.weights_proj", rows, hidden, hi)
    em.op(f"{p}.weighted_sum", "matmul", "matmul", macs=pairs * hi, nonmac=pairs, read=pairs * hi + rows * hi,
          write=pairs, ins=((b, q, 1, hi), (b, q, hi, keys)), outs=((b, q, keys),))
    em.op(f"{p}.topk", "elementwise", "topk", nonmac=pairs, read=pairs, write=b * q * min(keys, a.index_topk))
    return 0 if run.cache == "none" else b * keys * di


def _linear_attention(em: _Emitter, p: str, a: LinearAttention, hidden: int, run: _Run) -> int:
    """Gated DeltaNet; returns the state elements it holds afterwards (fixed, whatever the
    context).

    As transformers runs it: the convolution yields ``N + kernel − 1`` outputs per channel of
    which the last N are kept (a prefill shorter than the kernel is first padded to it), and a
    decode step convolves the cached inputs with the new one (two outputs, one kept). Forward
    and prefill run the chunked delta rule over ``ceil(N / chunk)`` chunks (the last one
    padded), decode the recurrence on the cached state."""
    b, q = run.batch, run.q_len
    rows, hv, dk, dv, kern, c = b * q, a.v_heads, a.k_dim, a.v_dim, a.conv_kernel, a.chunk
    key, value, conv = a.k_heads * dk, hv * dv, a.conv_dim
    em.linear(f"{p}.in_proj_qkvz", rows, hidden, 2 * key + 2 * value)
    em.linear(f"{p}.in_proj_ba", rows, hidden, 2 * hv)
    decode = run.cache == "read"
    length, out = _causal_conv_lengths(run, kern)
    em.op(f"{p}.conv1d", "conv", "conv1d", macs=b * out * conv * kern, params=conv * kern, weight=conv * kern,
          read=b * conv * length, write=b * conv * q, ins=((b, conv, length),), outs=((b, conv, q),))
    em.act(f"{p}.conv_act", rows * conv, "silu")
    qk = rows * hv * dk                      # queries and keys repeated to every value head
    em.op(f"{p}.qk_l2norm", "norm", "l2_norm", nonmac=2 * 3 * qk, read=2 * qk, write=2 * qk)
    # beta = sigmoid(b); g = −exp(A_log) · softplus(a + dt_bias): A_log and dt_bias per value head
    em.op(f"{p}.decay", "elementwise", "gated_delta_gates", nonmac=rows * hv * (ACTIVATION_COST["sigmoid"] + 6),
          params=2 * hv, weight=2 * hv, read=2 * rows * hv, write=2 * rows * hv)
    state = b * hv * dk * dv
    if decode:
        # per value head and token: decay the state, read it with k, write k ⊗ delta, read it with q
        em.op(f"{p}.recurrence", "attention", "gated_delta_recurrence", nonmac=rows * hv * (7 * dk * dv + 4 * dv),
              read=2 * qk + rows * value + state, write=rows * value, cache_read=state,
              ins=((b, hv, q, dk), (b, hv, q, dk), (b, hv, q, dv), (b, hv, dk, dv)), outs=((b, hv, q, dv),))
    else:
        n = -(-q // c)
        macs = b * hv * n * (2 * c * c * dk + c * c * dv + 3 * c * dk * dv)
        solve = b * hv * n * c * (c - 1) // 2 * (dk + dv)   # two unit-triangular solves per chunk
        em.op(f"{p}.chunk_delta_rule", "attention", "gated_delta_chunked", macs=macs,
              nonmac=2 * solve + b * hv * n * c * (3 * c + 4 * dk + dv) + b * hv * n * dk * dv,
              read=2 * qk + rows * value, write=rows * value,
              ins=((b, hv, q, dk), (b, hv, q, dk), (b, hv, q, dv)), outs=((b, hv, q, dv),))
    held = b * a.state_elems()
    if run.cache != "none":
        em.op(f"{p}.state", "data", "recurrent_state_write", read=held, write=held, cache_write=held,
              ins=((b, hv, dk, dv), (b, conv, kern - 1)), outs=((b, hv, dk, dv), (b, conv, kern - 1)))
    em.norm(f"{p}.norm", rows * hv, dv, a.norm)
    em.act(f"{p}.norm_gate_act", rows * value, "silu")
    em.elementwise(f"{p}.norm_gate_mul", rows * value, "mul")
    em.linear(f"{p}.out_proj", rows, value, hidden)
    return 0 if run.cache == "none" else held


def _causal_conv_lengths(run: _Run, kernel: int) -> tuple[int, int]:
    """(input length, outputs computed) of a causal depthwise convolution as transformers runs
    it: padded by kernel − 1 on both sides (a prefill shorter than the kernel first padded to
    it), of whose outputs the first N are kept; a decode step convolves the kernel's cached
    inputs and the new one (two outputs, one kept)."""
    if run.cache == "read":
        return kernel + 1, 2
    length = max(run.q_len, kernel) if run.cache == "write" else run.q_len
    return length, length + kernel - 1


def _short_conv(em: _Emitter, p: str, a: ShortConv, hidden: int, run: _Run) -> int:
    """LFM2's gated short convolution (:class:`.spec.ShortConv`); returns the state elements it
    holds afterwards (fixed, whatever the context)."""
    b, q = run.batch, run.q_len
    rows, c, k = b * q, a.channels, a.kernel
    em.linear(f"{p}.in_proj", rows, hidden, 3 * c, a.bias)
    em.elementwise(f"{p}.gate_in", rows * c, "mul")
    length, out = _causal_conv_lengths(run, k)
    w = c * k + (c if a.bias else 0)
    em.op(f"{p}.conv", "conv", "conv1d", macs=b * out * c * k, nonmac=b * out * c if a.bias else 0, params=w,
          weight=w, read=b * c * length, write=b * c * q, ins=((b, c, length),), outs=((b, c, q),))
    held = b * a.state_elems()
    if run.cache != "none":
        em.op(f"{p}.state", "data", "recurrent_state_write", read=held, write=held, cache_write=held,
              cache_read=held if run.cache == "read" else 0, ins=((b, c, k - 1),), outs=((b, c, k - 1),))
    em.elementwise(f"{p}.gate_out", rows * c, "mul")
    em.linear(f"{p}.out_proj", rows, c, hidden, a.bias)
    return 0 if run.cache == "none" else held


def _mlp(em: _Emitter, p: str, m: MLP, hidden: int, rows: int) -> None:
    if m.gated:
        em.linear(f"{p}.gate_proj", rows, hidden, m.inter, m.bias)
        em.act(f"{p}.act_fn", rows * m.inter, m.act)
        em.linear(f"{p}.up_proj", rows, hidden, m.inter, m.bias)
        em.elementwise(f"{p}.gate_mul", rows * m.inter, "mul")
    else:
        em.linear(f"{p}.fc1", rows, hidden, m.inter, m.bias)
        em.act(f"{p}.act_fn", rows * m.inter, m.act)
    em.linear(f"{p}.down_proj" if m.gated else f"{p}.fc2", rows, m.inter, hidden, m.bias)


def _moe(em: _Emitter, p: str, m: MoE, hidden: int, rows: int) -> None:
    e, k, inter = m.experts, m.top_k, m.inter
    if m.router_norm:   # normed, times a learned vector and a constant
        em.norm(f"{p}.router.norm", rows, hidden, Norm("rms", bias=False, affine=False))
        em.op(f"{p}.router.scale", "elementwise", "mul", nonmac=2 * rows * hidden, params=hidden, weight=hidden,
              read=rows * hidden, write=rows * hidden, ins=((rows, hidden), (hidden,)), outs=((rows, hidden),))
    em.linear(f"{p}.gate", rows, hidden, e, m.router_bias)
    score = SOFTMAX_COST if m.router == "softmax" else ACTIVATION_COST["sigmoid"] + int(m.score_bias)
    em.op(f"{p}.router", "softmax", f"{m.router}_topk", nonmac=rows * e * (score + 1),
          weight=e if m.score_bias else 0,
          read=rows * e, write=2 * rows * k)
    active = rows * k
    if m.router_norm:   # the chosen weights renormalised, times their expert's learned scale
        em.op(f"{p}.router.per_expert_scale", "elementwise", "mul", nonmac=2 * active, params=e, weight=e,
              read=active, write=active)
    touched = expected_experts(e, k, rows)
    for proj, d_in, d_out in (("gate_proj", hidden, inter), ("up_proj", hidden, inter),
                              ("down_proj", inter, hidden)):
        if proj == "down_proj":
            em.act(f"{p}.experts.act_fn", active * inter, m.act)
            em.elementwise(f"{p}.experts.gate_mul", active * inter, "mul")
        w = d_in * d_out
        bias = d_out if m.expert_bias else 0
        em.op(f"{p}.experts.{proj}", "linear", "linear", macs=active * w, nonmac=active * bias,
              params=e * (w + bias), weight=round(touched * (w + bias)), read=active * d_in, write=active * d_out,
              ins=((active, d_in),), outs=((active, d_out),))
    em.op(f"{p}.experts.combine", "elementwise", "weighted_sum", nonmac=2 * active * hidden,
          read=active * hidden + active, write=rows * hidden)
    if m.shared_inter:
        _mlp(em, f"{p}.shared_expert", MLP(m.shared_inter, m.act, gated=True), hidden, rows)
        if m.shared_gate:
            em.linear(f"{p}.shared_expert_gate", rows, hidden, 1)
            em.act(f"{p}.shared_expert_gate_act", rows, "sigmoid")
            em.elementwise(f"{p}.shared_expert_scale", rows * hidden, "mul")
        em.elementwise(f"{p}.shared_expert_add", rows * hidden)


def _stack(em: _Emitter, s: Stack, run: _Run) -> int:
    """Every layer of a stack; returns the KV-cache elements it holds.

    A layer equal to one already built is not priced again: its ops are that layer's,
    renamed (a Llama-3-70B decode step is 80 copies of one layer)."""
    h, held = s.hidden, 0
    built: dict[tuple[Layer, _Run], tuple[int, int, int, int, int]] = {}  # -> (first op, end, params, held, i)
    types = em.graph.module_types
    types[s.prefix] = f"{len(s.layers)} layers"
    last_only = len(s.layers)   # a prefill's trailing KV-shared layers run the last token only
    if run.cache == "write" and run.q_len > 1:
        while last_only and getattr(s.layers[last_only - 1].attn, "kv_shared", False):
            last_only -= 1
    full = run
    for i, layer in enumerate(s.layers):
        p = f"{s.prefix}.{i}"
        types[p] = _layer_type(layer)
        if i == last_only:
            run = _Run(full.batch, 1, full.past + full.q_len - 1, full.cache, full.enc_len, full.discount)
        rows = run.batch * run.q_len
        seen = built.get((layer, run))
        if seen is not None and not em.dry:
            start, end, params, layer_held, j = seen
            em.graph.params += params
            cut = len(f"{s.prefix}.{j}")
            em.ops.extend(_renamed(op, p + op.name[cut:]) for op in em.ops[start:end])
            held += layer_held
            continue
        start, params0 = len(em.ops), em.graph.params
        layer_held = _layer(em, p, layer, h, rows, run)
        built[(layer, run)] = (start, len(em.ops), em.graph.params - params0, layer_held, i)
        held += layer_held
    if s.final_norm is not None:
        em.norm(s.final_norm_name, run.batch * run.q_len, h, s.final_norm)
    return held


def _layer_type(layer: Layer) -> str:
    a = layer.attn
    if isinstance(a, LinearAttention):
        attn = f"Gated DeltaNet {a.k_heads}/{a.v_heads} heads"
    elif isinstance(a, ShortConv):
        attn = f"short conv {a.kernel} taps"
    elif isinstance(a, LatentAttention):
        attn = f"MLA {a.heads} heads, latent {a.kv_rank:,}+{a.rope_dim}"
    else:
        attn = "MHA" if a.kv_heads == a.heads else ("MQA" if a.kv_heads == 1 else f"GQA {a.heads}/{a.kv_heads}")
    if a.window is not None:
        attn += f" {'chunk' if a.chunked else 'window'} {a.window:,}"
    if getattr(a, "kv_shared", False):
        attn += " KV-shared"
    if getattr(a, "blocks", None) is not None:
        attn += " in windows"
    mlp = (f"MoE {layer.mlp.top_k}/{layer.mlp.experts}" if isinstance(layer.mlp, MoE)
           else ("gated MLP" if layer.mlp.gated else "MLP"))
    if layer.beside is not None:
        mlp += f" + MoE {layer.beside.top_k}/{layer.beside.experts}"
    cross = " + cross-attn" if layer.cross is not None else ""
    return f"{'causal ' if a.causal else ''}{attn}{cross} + {mlp}"


def _renamed(op: Op, name: str) -> Op:
    return Op(name, op.kind, op.op, op.macs, op.nonmac_flops, op.params, op.weight_elems, op.act_read_elems,
              op.act_write_elems, op.input_shapes, op.output_shapes,
              cache_read_elems=op.cache_read_elems, cache_write_elems=op.cache_write_elems)


def _layer(em: _Emitter, p: str, layer: Layer, h: int, rows: int, run: _Run) -> int:
    em.norm(f"{p}.input_layernorm", rows, h, layer.norm)
    if isinstance(layer.attn, LinearAttention):
        held = _linear_attention(em, f"{p}.linear_attn", layer.attn, h, run)
    elif isinstance(layer.attn, ShortConv):
        held = _short_conv(em, f"{p}.conv", layer.attn, h, run)
    elif isinstance(layer.attn, LatentAttention):
        held = _latent_attention(em, f"{p}.self_attn", layer.attn, h, run)
    else:
        held = _attention(em, f"{p}.self_attn", layer.attn, h, run, cross=False)
    if layer.sandwich:
        em.norm(f"{p}.post_attention_layernorm", rows, h, layer.norm)
    if layer.layer_scale:
        _layer_scale(em, f"{p}.lambda_1", rows, h)
    em.elementwise(f"{p}.attn_residual", rows * h)
    if layer.cross is not None:
        em.norm(f"{p}.cross_attn_layernorm", rows, h, layer.norm)
        held += _attention(em, f"{p}.cross_attn", layer.cross, h, run, cross=True)
        em.elementwise(f"{p}.cross_attn_residual", rows * h)
    if not layer.parallel:   # a parallel layer's MLP reads the attention's normed input
        em.norm(f"{p}.pre_feedforward_layernorm" if layer.sandwich else f"{p}.post_attention_layernorm",
                rows, h, layer.norm)
    if isinstance(layer.mlp, MoE):
        _moe(em, f"{p}.mlp", layer.mlp, h, rows)
    else:
        _mlp(em, f"{p}.mlp", layer.mlp, h, rows)
    if layer.beside is not None:   # experts on the MLP's (un-normed) input, summed with its output
        em.norm(f"{p}.post_feedforward_layernorm_1", rows, h, layer.norm)
        em.norm(f"{p}.pre_feedforward_layernorm_2", rows, h, layer.norm)
        _moe(em, p, layer.beside, h, rows)
        em.norm(f"{p}.post_feedforward_layernorm_2", rows, h, layer.norm)
        em.elementwise(f"{p}.moe_add", rows * h)
    if layer.sandwich:
        em.norm(f"{p}.post_feedforward_layernorm", rows, h, layer.norm)
    if layer.layer_scale:
        _layer_scale(em, f"{p}.lambda_2", rows, h)
    em.elementwise(f"{p}.mlp_residual", rows * h)
    if layer.per_layer_input:   # the layer's own input, gated by the hidden state, projected back
        w = layer.per_layer_input
        em.linear(f"{p}.per_layer_input_gate", rows, h, w)
        em.act(f"{p}.per_layer_act", rows * w, layer.mlp.act)
        em.elementwise(f"{p}.per_layer_mul", rows * w, "mul")
        em.linear(f"{p}.per_layer_projection", rows, w, h)
        em.norm(f"{p}.post_per_layer_input_norm", rows, h, layer.norm)
        em.elementwise(f"{p}.per_layer_residual", rows * h)
    if layer.out_scale:
        em.elementwise(f"{p}.layer_scalar", rows * h, "mul", inputs=1)
    em.params(layer.unused_params)
    return held


def _layer_scale(em: _Emitter, name: str, rows: int, h: int) -> None:
    em.op(name, "elementwise", "mul", nonmac=rows * h, params=h, weight=h, read=rows * h, write=rows * h,
          ins=((rows, h), (h,)), outs=((rows, h),))


# -- fronts and heads ----------------------------------------------------------------------

def _tokens_front(em: _Emitter, e: TokenEmbedding, batch: int, q: int) -> None:
    rows = batch * q
    em.embedding(e.name, rows, e.vocab, e.hidden, shared=e.shared)
    if e.scale:
        em.elementwise(f"{e.name}.scale", rows * e.hidden, "mul", inputs=1)
    if e.positions:
        em.embedding(f"{e.name}.positions", q, e.positions, e.hidden)
        em.elementwise(f"{e.name}.add_positions", rows * e.hidden)
    if e.token_types:
        em.embedding(f"{e.name}.token_types", rows, e.token_types, e.hidden)
        em.elementwise(f"{e.name}.add_token_types", rows * e.hidden)
    if e.norm is not None:
        em.norm(f"{e.name}.norm", rows, e.hidden, e.norm)


def _patch_front(em: _Emitter, e: PatchEmbedding, batch: int) -> int:
    h, w = e.image[0] // e.patch, e.image[1] // e.patch
    k = e.channels * e.temporal * e.patch * e.patch
    wt = e.hidden * k + (e.hidden if e.bias else 0)
    n = batch * h * w
    em.op(f"{e.name}.patch_embedding", "conv", "conv3d" if e.temporal > 1 else "conv2d", macs=n * e.hidden * k,
          nonmac=n * e.hidden if e.bias else 0, params=wt, weight=wt,
          read=batch * e.channels * e.temporal * e.image[0] * e.image[1], write=n * e.hidden,
          ins=((batch, e.channels, *e.image),), outs=((batch, e.hidden, h, w),))
    tokens = e.tokens
    em.params(e.hidden if e.cls else 0)
    if e.positions is None:
        em.op(f"{e.name}.positions", "elementwise", "add", nonmac=batch * tokens * e.hidden,
              params=tokens * e.hidden, weight=tokens * e.hidden, read=batch * tokens * e.hidden,
              write=batch * tokens * e.hidden)
    elif e.positions:   # 4 bilinear taps a token: 4 multiplies, 3 adds, then the add to the patch
        n = batch * tokens * e.hidden
        em.op(f"{e.name}.positions", "elementwise", "interpolated_add", nonmac=8 * n,
              params=e.positions * e.hidden, weight=e.positions * e.hidden, read=5 * n, write=n)
    if e.pre_norm is not None:
        em.norm(f"{e.name}.pre_layernorm", batch * tokens, e.hidden, e.pre_norm)
    return tokens


def _audio_front(em: _Emitter, f: AudioFrontend, batch: int, length: int) -> int:
    for i, c in enumerate(f.convs):
        length = em.conv1d(f"{f.name}.conv{i + 1}" if f.positions else f"{f.name}.conv_layers.{i}", batch, length, c)
    h = f.hidden
    if f.projection is not None:
        norm, width = f.projection
        em.norm("feature_projection.layer_norm", batch * length, width, norm)
        em.linear("feature_projection.projection", batch * length, width, h, True)
    if f.positions:
        if length > f.positions:
            raise ChipfitError(f"the audio gives {length} positions but the encoder has {f.positions}")
        em.op(f"{f.name}.embed_positions", "elementwise", "add", nonmac=batch * length * h,
              params=f.positions * h, weight=length * h, read=batch * length * h + length * h,
              write=batch * length * h)
    if f.pos_conv is not None:
        em.conv1d("encoder.pos_conv_embed", batch, length, f.pos_conv)
        em.elementwise("encoder.pos_conv_residual", batch * length * h)
    if f.pos_norm is not None:
        em.norm("encoder.layer_norm", batch * length, h, f.pos_norm)
    em.params(f.extra_params)
    return length


def _heads(em: _Emitter, heads: tuple[Head, ...], batch: int, tokens: int) -> None:
    for hd in heads:
        rows = batch if hd.tokens == "first" else batch * tokens
        if hd.norm is not None:
            em.norm(hd.norm_name or hd.name, rows, hd.d_in, hd.norm)
        if hd.d_out:
            em.linear(hd.name, rows, hd.d_in, hd.d_out, hd.bias, tied=hd.tied)
        if hd.act is not None and hd.d_out:
            em.act(f"{hd.name}.act", rows * hd.d_out, hd.act)


# -- model kinds ---------------------------------------------------------------------------

def _check_positions(what: str, max_positions: int | None, needed: int, learned: bool, notes: list[str]) -> None:
    if max_positions is None or needed <= max_positions:
        return
    if learned:
        raise ChipfitError(f"{what} needs {needed:,} positions but the model has {max_positions:,} "
                           f"(learned position embeddings cannot go further)")
    notes.append(f"{needed:,} positions exceed the {max_positions:,} the model was trained for")


def _per_layer_inputs(em: _Emitter, e: PerLayerInputs, hidden: int, rows: int) -> None:
    """Gemma 4's per-layer embeddings (:class:`.spec.PerLayerInputs`) for ``rows`` tokens."""
    n = rows * e.layers * e.width
    em.embedding("embed_tokens_per_layer", rows, e.vocab, e.layers * e.width)
    em.elementwise("embed_tokens_per_layer.scale", n, "mul", inputs=1)
    em.linear("per_layer_model_projection", rows, hidden, e.layers * e.width)
    em.elementwise("per_layer_model_projection.scale", n, "mul", inputs=1)
    em.norm("per_layer_projection_norm", rows * e.layers, e.width, e.norm)
    em.elementwise("per_layer_inputs.add", n)
    em.elementwise("per_layer_inputs.scale", n, "mul", inputs=1)


def _decoder(em: _Emitter, d: Decoder, phase: Phase, notes: list[str], *, enc_len: int = 0,
             extra_tokens: int = 0) -> int:
    b, q = phase.batch, phase.new_tokens + (0 if phase.kind == "decode" else extra_tokens)
    past = phase.context if phase.kind == "decode" else 0
    _check_positions("the sequence", d.max_positions, past + q, bool(d.embed.positions), notes)
    _tokens_front(em, d.embed, b, q)
    if d.per_layer is not None:
        _per_layer_inputs(em, d.per_layer, d.embed.hidden, b * q)
    cache = {"forward": "none", "prefill": "write", "decode": "read"}[phase.kind]
    held = _stack(em, d.stack, _Run(b, q, past, cache, enc_len, phase.causal_discount))
    if d.head is not None:
        rows_tokens = q if phase.kind == "forward" else 1
        _heads(em, (d.head,), b, rows_tokens)
    return held


def _encoder(em: _Emitter, e: Encoder, batch: int, tokens: int | None, notes: list[str]) -> int:
    f = e.front
    if isinstance(f, PatchEmbedding):
        n = _patch_front(em, f, batch)
    elif isinstance(f, AudioFrontend):
        n = _audio_front(em, f, batch, f.fixed_len or tokens)
    else:
        _check_positions("the input", e.max_positions, tokens, bool(f.positions), notes)
        _tokens_front(em, f, batch, tokens)
        n = tokens
    _stack(em, e.stack, _Run(batch, n))
    _heads(em, e.heads, batch, n)
    return n


def takes_tokens(graph: CostGraph) -> bool:
    """Whether the graph's inputs include token ids (so that a sequence length applies)."""
    return any(k in graph.inputs for k in ("input_ids", "decoder_input_ids"))


def build(arch: Arch, phase: Phase, name: str) -> CostGraph:
    """The cost graph of ``arch`` running ``phase``."""
    g = CostGraph(model=name, frontend="config")
    em = _Emitter(g)
    notes = g.notes
    b, n = phase.batch, phase.tokens
    if isinstance(arch, Decoder):
        g.kv_cache_elems = _decoder(em, arch, phase, notes)
        g.inputs = {"input_ids": (b, phase.new_tokens)}
    elif isinstance(arch, EncoderDecoder):
        enc = arch.encoder
        src = enc.front.fixed_len if isinstance(enc.front, AudioFrontend) else (phase.encoder_tokens or n)
        em.dry = phase.kind == "decode"
        enc_len = _encoder(em, enc, b, src, notes)
        em.dry = False
        em.params(2 * arch.relative_buckets * enc.stack.layers[0].attn.heads if arch.relative_buckets else 0)
        g.kv_cache_elems = _decoder(em, arch.decoder, phase, notes, enc_len=enc_len)
        key = "input_features" if isinstance(enc.front, AudioFrontend) else "input_ids"
        g.inputs = {key: (b, src), "decoder_input_ids": (b, phase.new_tokens)}
    elif isinstance(arch, VisionLanguage):
        em.dry = phase.kind == "decode"
        _encoder(em, arch.vision, b, None, notes)
        _heads(em, arch.projector, b, arch.image_tokens)
        em.dry = False
        g.kv_cache_elems = _decoder(em, arch.llm, phase, notes, extra_tokens=arch.image_tokens)
        if arch.injected and phase.kind != "decode":
            for i in range(arch.injected):
                em.elementwise(f"{arch.llm.stack.prefix}.{i}.deepstack_add", b * arch.image_tokens * arch.llm.stack.hidden)
        img = arch.vision.front.image
        g.inputs = {"pixel_values": (b, arch.vision.front.channels, *img),
                    "input_ids": (b, phase.new_tokens + (0 if phase.kind == "decode" else arch.image_tokens))}
        if phase.kind != "decode":
            notes.append(f"{arch.image_tokens:,} image tokens from a {img[0]}×{img[1]} image "
                         f"(vision_config.image_size) precede the {n:,} text tokens")
    else:
        if phase.kind != "forward":
            raise ChipfitError(f"'{name}' is not generative: it runs one forward pass "
                               f"(`phase` prefill and decode apply to language models)")
        if isinstance(arch, Encoder):
            f = arch.front
            tokens = _encoder(em, arch, b, n, notes)
            if isinstance(f, PatchEmbedding):
                g.inputs = {"pixel_values": (b, f.channels, *f.image)}
            elif isinstance(f, AudioFrontend):
                g.inputs = {"input_values": (b, n)}
                notes.append(f"{n:,} audio samples → {tokens:,} frames")
            else:
                g.inputs = {"input_ids": (b, n)}
        elif isinstance(arch, DualEncoder):
            _encoder(em, arch.vision, b, None, notes)
            _encoder(em, arch.text, b, n, notes)
            em.params(arch.extra_params)
            proj = arch.vision.heads[-1].d_out
            em.op("logits_per_text", "matmul", "matmul", macs=b * b * proj, read=2 * b * proj, write=b * b,
                  ins=((b, proj), (proj, b)), outs=((b, b),))
            f = arch.vision.front
            g.inputs = {"pixel_values": (b, f.channels, *f.image), "input_ids": (b, n)}
        elif isinstance(arch, QFormer):
            q, hidden = arch.queries, arch.stack.hidden
            em.params(q * hidden if arch.query_params else 0)
            em.norm("layernorm", b * q, hidden, arch.norm)
            _stack(em, arch.stack, _Run(b, q, enc_len=arch.enc_tokens))
            g.inputs = {"query_embeds": (b, q, hidden), "encoder_hidden_states": (b, arch.enc_tokens, arch.enc_dim)}
        else:  # pragma: no cover - every Arch kind is handled above
            raise ChipfitError(f"no builder for {type(arch).__name__}")
    if takes_tokens(g):  # a ViT or a Q-Former has no sequence length to state
        g.notes.insert(0, phase.describe())
    if phase.causal_discount:
        g.notes.append("causal discount: only the unmasked attention scores are counted")
    return g


def expected_experts(experts: int, top_k: int, tokens: int) -> float:
    """Experts touched by ``tokens`` tokens routed uniformly to ``top_k`` of ``experts``."""
    return experts * (1.0 - (1.0 - top_k / experts) ** tokens)


__all__ = ["Phase", "build", "causal_scores", "expected_experts"]
