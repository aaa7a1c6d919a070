"""Architectures as plain data: the generic pieces every analytic model is made of.

A config reader (:mod:`.hf_config`) turns a Hugging Face ``config.json`` into one of the
model kinds at the bottom of this file; the builder (:mod:`.build`) turns that into a cost
graph for a phase. Nothing here knows a model family: a Llama, a Mixtral and a GPT-2 differ
only in the values of these fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Union


@dataclass(frozen=True, slots=True)
class Norm:
    kind: Literal["layer", "rms", "group"]
    bias: bool = True         # LayerNorm's bias (RMSNorm has none)
    plus_one: bool = False    # Gemma's RMSNorm scales by (1 + w)
    affine: bool = True

    def params(self, width: int) -> int:
        if not self.affine:
            return 0
        return width * (2 if self.bias and self.kind != "rms" else 1)


@dataclass(frozen=True, slots=True)
class Attention:
    """Multi-head attention; grouped-query when ``kv_heads < heads`` (one: multi-query)."""

    heads: int
    kv_heads: int
    head_dim: int
    q_bias: bool = False
    k_bias: bool = False
    v_bias: bool = False
    o_bias: bool = False
    kv_in: int | None = None     # width K/V are projected from (cross-attention), else hidden
    rotary: bool = False         # rotary position embedding applied to Q and K
    causal: bool = False
    window: int | None = None    # sliding window (keys per query), None: unbounded
    out_dim: int | None = None   # width of the output projection, else hidden
    softcap: float | None = None  # scores → cap·tanh(scores / cap) before softmax (Gemma 2)
    qk_norm: Norm | None = None  # a norm over each head's head_dim on Q and K (Qwen3, Gemma 3, Llama 4)
    sinks: bool = False          # one learned logit per head joins each softmax (gpt-oss)
    chunked: bool = False        # ``window`` is a chunk: a query sees its own chunk only (Llama 4)
    gate: bool = False           # q_proj also yields a per-element sigmoid gate on the output (Qwen3-Next)
    qk_norm_joint: bool = False  # ``qk_norm`` spans all heads at once, not each head (InternViT-6B)
    blocks: tuple[tuple[int, int], ...] | None = None
    # block-diagonal attention: (length, count) of independent blocks whose lengths sum to the
    # sequence; a query sees the keys of its own block only (Qwen2.5-VL's window layers)
    kv_shared: bool = False      # keys and values are an earlier layer's (Gemma 4): no K/V projections,
    #                              norms or cache of its own; its scores run against that layer's cache
    k_eq_v: bool = False         # the values are the keys' projection (Gemma 4's full layers): no v_proj
    v_norm: Norm | None = None   # a norm over each value head (Gemma 4's, without weights)

    def scores(self, q: int) -> int:
        """Query-key pairs per head of a forward pass over ``q`` tokens (no causal discount)."""
        if self.blocks is None:
            return q * q
        return sum(length * length * count for length, count in self.blocks)


@dataclass(frozen=True, slots=True)
class LatentAttention:
    """Multi-head latent attention (DeepSeek-V2/V3): Q through an optional low-rank
    bottleneck, K and V from one compressed latent of ``kv_rank`` per token plus a shared
    rotary key of ``rope_dim``; per head, keys are ``nope_dim + rope_dim`` wide, values ``v_dim``.

    The KV cache holds what serving engines (vLLM, SGLang) store: per token and layer the
    normed latent and the rotary key, ``kv_rank + rope_dim`` elements shared by every head
    (hence ``kv_heads`` 1: tensor parallelism replicates it rather than splitting it)."""

    heads: int
    q_rank: int                  # 0: a plain q_proj, else q_a_proj → norm → q_b_proj
    kv_rank: int
    nope_dim: int
    rope_dim: int
    v_dim: int
    bias: bool = False           # attention_bias: q_a_proj, kv_a_proj_with_mqa and o_proj
    norm: Norm = Norm("rms", bias=False)   # q_a_layernorm and kv_a_layernorm
    causal: bool = True
    # DeepSeek Sparse Attention (V3.2): a lightning indexer of ``index_heads`` heads of
    # ``index_dim`` scores every cached token (its own key of ``index_dim`` a token, cached too)
    # and a decode step attends to the ``index_topk`` best only; 0: dense MLA
    index_heads: int = 0
    index_dim: int = 0
    index_topk: int = 0

    kv_heads = 1                 # the latent is one "head" shared by all
    window = None                # no sliding window
    chunked = False


class _FixedState:
    """A token mixer that holds a fixed state per sequence instead of a KV cache (its
    ``state_elems()``): causal, no window to bound a cache."""

    __slots__ = ()
    causal = True
    window = None
    chunked = False


@dataclass(frozen=True, slots=True)
class LinearAttention(_FixedState):
    """Gated DeltaNet linear attention (Qwen3-Next): ``in_proj_qkvz`` projects queries and
    keys (``k_heads`` of ``k_dim``), values and an output gate (``v_heads`` of ``v_dim``),
    ``in_proj_ba`` a write strength and a decay per value head; a causal depthwise convolution
    of ``conv_kernel`` taps runs over queries, keys and values, each query/key head serves
    ``v_heads // k_heads`` value heads, and the output is RMS-normed, gated and projected back.

    Instead of a KV cache every sequence holds a fixed state: ``v_heads × k_dim × v_dim``
    elements of recurrent state and ``(conv_kernel − 1) × conv_dim`` of convolution state
    (the last inputs the convolution needs), whatever the context length.

    MACs are those of transformers' own algorithm: the chunked gated delta rule (chunks of
    ``chunk`` tokens, 64 as its fallback uses) for a forward pass or a prefill, the token-by-token
    recurrence for decode. A fused kernel may differ in the non-matmul work, not in the
    projections."""

    k_heads: int
    v_heads: int
    k_dim: int
    v_dim: int
    conv_kernel: int
    chunk: int = 64
    norm: Norm = Norm("rms", bias=False)   # the gated RMSNorm over each value head

    @property
    def heads(self) -> int:
        return self.v_heads

    @property
    def kv_heads(self) -> int:   # the state splits across tensor-parallel chips by key head
        return self.k_heads

    @property
    def conv_dim(self) -> int:
        return 2 * self.k_heads * self.k_dim + self.v_heads * self.v_dim

    def state_elems(self) -> int:
        """Elements of the fixed state one sequence holds."""
        return self.v_heads * self.k_dim * self.v_dim + (self.conv_kernel - 1) * self.conv_dim


@dataclass(frozen=True, slots=True)
class ShortConv(_FixedState):
    """LFM2's gated short convolution, in place of attention on some layers: ``in_proj`` makes
    two gates and an input of the hidden width; the first gate times the input runs through a
    causal depthwise convolution of ``kernel`` taps, the second gate multiplies its output, and
    ``out_proj`` maps it back. Instead of a KV cache every sequence holds the convolution's last
    ``kernel − 1`` inputs, whatever the context.

    MACs are transformers' own: the convolution padded by ``kernel − 1`` on both sides (``N +
    kernel − 1`` outputs of which the first N are kept; a prefill shorter than the kernel is
    first padded to it), a decode step the cached inputs and the new one (two outputs, one kept)."""

    channels: int
    kernel: int
    bias: bool = False

    @property
    def heads(self) -> int:
        return self.channels

    @property
    def kv_heads(self) -> int:   # any split of the channels across tensor-parallel chips
        return self.channels

    def state_elems(self) -> int:
        """Elements of the fixed state one sequence holds."""
        return (self.kernel - 1) * self.channels


@dataclass(frozen=True, slots=True)
class MLP:
    inter: int
    act: str                     # a key of costs.ACTIVATION_COST
    gated: bool = False          # gate and up projections (SwiGLU / GeGLU): three matrices
    bias: bool = False


@dataclass(frozen=True, slots=True)
class MoE:
    """Top-k routed experts (each a gated MLP of ``inter``), optional shared experts."""

    experts: int
    top_k: int
    inter: int
    act: str
    shared_inter: int = 0        # width of the always-on shared expert(s), 0: none
    shared_gate: bool = False    # a sigmoid gate on the shared expert (Qwen-MoE)
    router: Literal["softmax", "sigmoid"] = "softmax"   # scores of the routing gate
    router_bias: bool = False    # a bias on the routing gate (gpt-oss)
    router_norm: bool = False    # the router reads its input RMS-normed and scaled by a learned vector,
    #                              and a learned per-expert scale weighs the chosen experts (Gemma 4)
    score_bias: bool = False     # a per-expert bias added to the scores for the choice (DeepSeek-V3)
    expert_bias: bool = False    # biases on every expert's projections (gpt-oss)


@dataclass(frozen=True, slots=True)
class Layer:
    attn: Union[Attention, LatentAttention, LinearAttention, ShortConv]
    mlp: Union[MLP, MoE]
    norm: Norm
    cross: Attention | None = None   # cross-attention to an encoder's output
    unused_params: int = 0           # parameters the layer holds but this input never uses
    sandwich: bool = False           # norms after attention and MLP too, 4 a layer (Gemma 2)
    parallel: bool = False           # attention and MLP read the same normed input, one norm (GPT-J)
    layer_scale: bool = False        # a learned per-channel scale on the attention and MLP outputs (InternViT)
    beside: MoE | None = None        # routed experts beside the dense MLP, on the same input, with norms of
    #                                  their own and on both outputs before the sum (Gemma 4)
    per_layer_input: int = 0         # width of the layer's own slice of :class:`PerLayerInputs`, gated into
    #                                  the residual after the MLP (Gemma 4); 0: none
    out_scale: bool = False          # the layer's output times a fixed scalar (Gemma 4's layer_scalar)


@dataclass(frozen=True, slots=True)
class Stack:
    """A stack of transformer layers at width ``hidden``; module paths ``{prefix}.{i}``."""

    prefix: str
    hidden: int
    layers: tuple[Layer, ...]
    final_norm: Norm | None = None
    final_norm_name: str = "norm"


@dataclass(frozen=True, slots=True)
class TokenEmbedding:
    vocab: int
    hidden: int
    positions: int = 0           # learned absolute position rows (GPT-2, BERT, Whisper decoder)
    token_types: int = 0         # BERT's segment embedding rows
    norm: Norm | None = None     # LayerNorm after the sum (BERT)
    scale: bool = False          # multiplied by sqrt(hidden) (Gemma)
    shared: bool = False         # the same matrix as another embedding (T5's decoder)
    name: str = "embed_tokens"


@dataclass(frozen=True, slots=True)
class PatchEmbedding:
    channels: int
    image: tuple[int, int]
    patch: int
    hidden: int
    bias: bool = True
    cls: bool = True
    pre_norm: Norm | None = None  # CLIP's LayerNorm before the encoder
    name: str = "embeddings"
    temporal: int = 1             # frames one patch spans (Qwen2-VL's Conv3d: 2, a still image repeated)
    positions: int | None = None  # learned position rows added: None one per token, 0 none (rotary
    #                               positions), n a learned grid of n rows resampled to the image (Qwen3-VL)

    @property
    def tokens(self) -> int:
        return (self.image[0] // self.patch) * (self.image[1] // self.patch) + int(self.cls)


@dataclass(frozen=True, slots=True)
class Conv1d:
    c_in: int
    c_out: int
    kernel: int
    stride: int = 1
    padding: int = 0
    groups: int = 1
    bias: bool = True
    act: str | None = None
    norm: Norm | None = None     # over channels after the convolution
    extra_params: int = 0        # weight-norm magnitudes (wav2vec2's positional conv)
    drop_last: int = 0           # output frames removed afterwards (same-length padding)

    def out_len(self, length: int) -> int:
        return (length + 2 * self.padding - self.kernel) // self.stride + 1 - self.drop_last


@dataclass(frozen=True, slots=True)
class AudioFrontend:
    """Convolutions over a 1-D signal (log-mel frames or raw samples), then into the stack."""

    convs: tuple[Conv1d, ...]
    hidden: int
    positions: int = 0              # position rows added after the convolutions (Whisper)
    projection: tuple[Norm, int] | None = None  # (norm, width in): wav2vec2's feature projection
    pos_conv: Conv1d | None = None  # convolutional relative positions (wav2vec2)
    pos_norm: Norm | None = None    # LayerNorm after the positional conv (post-LN wav2vec2)
    extra_params: int = 0           # masked-frame embedding and the like
    fixed_len: int | None = None    # input length the model always takes (Whisper: 3000 frames)
    name: str = "feature_extractor"


@dataclass(frozen=True, slots=True)
class Head:
    """A projection on top: LM head, classifier, pooler, CLIP projection, VLM projector."""

    name: str
    d_in: int
    d_out: int
    bias: bool = False
    tied: bool = False           # shares the token embedding's weights
    act: str | None = None
    tokens: Literal["all", "first"] = "all"  # 'first': only the CLS/first token
    norm: Norm | None = None     # a norm on its input (CLIP's post_layernorm)
    norm_name: str = ""


@dataclass(frozen=True, slots=True)
class PerLayerInputs:
    """Per-layer embeddings (Gemma 4): a second token table of ``layers × width`` per token
    (scaled), plus the token embedding projected to ``layers × width`` (scaled, then normed over
    each layer's ``width``); their scaled sum gives each layer ``width`` inputs of its own
    (:attr:`Layer.per_layer_input`)."""

    vocab: int
    layers: int
    width: int
    norm: Norm


Front = Union[TokenEmbedding, PatchEmbedding, AudioFrontend]


@dataclass(frozen=True, slots=True)
class Decoder:
    """Decoder-only language model (Llama, Mistral, Qwen, Gemma, Phi, GPT-2, Mixtral...)."""

    embed: TokenEmbedding
    stack: Stack
    head: Head | None
    max_positions: int | None = None
    rotary_dim: int = 0          # rotary dims per head (cos/sin tables), 0: none
    per_layer: PerLayerInputs | None = None   # per-layer embeddings (Gemma 4)


@dataclass(frozen=True, slots=True)
class Encoder:
    """Bidirectional encoder over tokens, image patches or audio (BERT, ViT, CLIP towers, wav2vec2)."""

    front: Front
    stack: Stack
    heads: tuple[Head, ...] = ()
    max_positions: int | None = None


@dataclass(frozen=True, slots=True)
class EncoderDecoder:
    """An encoder feeding a decoder through cross-attention (Whisper, T5)."""

    encoder: Encoder
    decoder: Decoder
    relative_buckets: int = 0    # T5 relative position bias rows, per stack (first layer)


@dataclass(frozen=True, slots=True)
class QFormer:
    """Learned queries attending to themselves and, every few layers, to image features (BLIP-2)."""

    stack: Stack
    queries: int
    enc_tokens: int
    enc_dim: int
    norm: Norm
    query_params: bool = True    # the learned query embeddings belong to this model


@dataclass(frozen=True, slots=True)
class DualEncoder:
    """Two towers embedded into one space (CLIP): each tower, then its projection."""

    vision: Encoder
    text: Encoder
    extra_params: int = 1        # CLIP's logit scale


@dataclass(frozen=True, slots=True)
class VisionLanguage:
    """Vision encoder → projector → language model (LLaVA, InternVL, Qwen2-VL): the projector
    runs on the ``image_tokens`` the encoder's patches become (merged 2×2 by InternVL and
    Qwen2-VL before it)."""

    vision: Encoder
    projector: tuple[Head, ...]
    llm: Decoder
    image_tokens: int            # image positions in the language model's sequence
    injected: int = 0            # first LLM layers that add more vision features at the image positions
    #                              (Qwen3-VL's DeepStack: one extra projector pair each)


Arch = Union[Decoder, Encoder, EncoderDecoder, QFormer, DualEncoder, VisionLanguage]
