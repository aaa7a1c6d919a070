"""Speech recognition networks that neither torchvision nor transformers ship, written here from
their published architecture definitions, for the zoo.

SenseVoice-Small
    FunAudioLLM (Alibaba Tongyi speech team), "FunAudioLLM: Voice Understanding and Generation
    Foundation Models for Natural Interaction Between Humans and LLMs", arXiv:2407.04051
    (SenseVoice-Small: a non-autoregressive, encoder-only model; 80-bin log-mel features with
    stacked frames, a SAN-M encoder, task embeddings prepended to the frames, a CTC output). The
    layer structure follows FunASR (MIT), https://github.com/modelscope/FunASR:
    ``funasr/models/sense_voice/model.py`` (SenseVoiceEncoderSmall, SenseVoiceSmall),
    ``funasr/models/sanm/attention.py`` (MultiHeadedAttentionSANM), ``funasr/models/ctc/ctc.py``
    (the CTC projection), ``funasr/models/sense_voice/export_meta.py`` (what an exported model
    runs: the queries, the encoder and the CTC logits) and the model's configuration, printed in
    ``docs/tutorial/Tables.md`` and ``runtime/triton_gpu/model_repo_sense_voice_small/
    feature_extractor/config.yaml``: input 560 (80 mel bins x 7 stacked frames, LFR m=7 n=6),
    output_size 512, attention_heads 4, linear_units 2048, num_blocks 50 (the first from 560
    wide inputs), tp_blocks 20, kernel_size 11, sanm_shfit 0, normalize_before true; a
    25,055-token CTC vocabulary (``runtime/llama.cpp/sensevoice/README.md``: "CTC head (Linear
    512→25055)"); an embedding table of 7 + 7 languages + 2 text-normalisation rows, four of
    whose vectors (language, event, emotion, text normalisation) are prepended to the frames.

    Each SAN-M layer (pre-norm): LayerNorm; one linear to Q, K and V; scaled dot-product
    attention over all frames; an FSMN memory block (a depthwise Conv1d of kernel 11 over V,
    zero-padded 5 and 5, without bias, plus V itself) added to the attention's output
    projection; the residual (absent in the first layer, whose input is 560 wide); LayerNorm;
    a ReLU feed-forward 512 → 2048 → 512; the residual. The 50 main layers end in a LayerNorm,
    20 more layers follow ("tp" blocks) and a last LayerNorm, then the CTC projection to the
    vocabulary. The input is scaled by √512 and a sinusoidal position encoding is added.

Paraformer-large (FunASR's paraformer-zh)
    Gao et al. 2022, "Paraformer: Fast and Accurate Parallel Transformer for Non-autoregressive
    End-to-End Speech Recognition", arXiv:2206.08317. FunASR ``funasr/models/paraformer/
    template.yaml`` (the same SAN-M encoder without tp blocks; ParaformerSANMDecoder with 16
    blocks; CifPredictorV2 with l_order = r_order = 1), ``funasr/models/paraformer/decoder.py``
    (DecoderLayerSANM: the feed-forward first, then an FSMN memory block in place of
    self-attention and cross-attention to the encoder; a last feed-forward-only layer,
    ``decoders3``), ``funasr/models/paraformer/cif_predictor.py``, ``funasr/models/sanm/
    attention.py`` (MultiHeadedAttentionSANMDecoder, MultiHeadedAttentionCrossAtt) and
    ``positionwise_feed_forward.py`` (PositionwiseFeedForwardDecoderSANM: a LayerNorm over the
    hidden units, no bias on w_2); 8,404 output tokens (the checkpoint's vocabulary). The number
    of tokens the CIF predictor fires is data: the zoo entry states the one it counts.

The networks start at the LFR feature frames (batch, frames, 560): fbank, LFR stacking and CMVN
run on the host and are not counted. It ends at the CTC logits, as FunASR's export does; the
greedy CTC decoding (argmax, merging repeats, dropping blanks) is post-processing and is not
counted either. Every frame of an utterance is real: no padding mask is applied.

The code is chipfit's own; only the architecture facts come from the sources above.
"""

from __future__ import annotations

import math

import torch
from torch import nn

# FunASR's SenseVoiceSmall configuration (sources above)
SENSEVOICE_FEATS = 560          # 80 mel bins x lfr_m 7
SENSEVOICE_DIM = 512            # output_size
SENSEVOICE_HEADS = 4            # attention_heads
SENSEVOICE_FFN = 2048           # linear_units
SENSEVOICE_BLOCKS = 50          # num_blocks, the first one from SENSEVOICE_FEATS
SENSEVOICE_TP_BLOCKS = 20       # tp_blocks
SENSEVOICE_KERNEL = 11          # kernel_size of the FSMN memory block
SENSEVOICE_VOCAB = 25055        # CTC output tokens
SENSEVOICE_QUERY_ROWS = 7 + 7 + 2   # embedding rows: 7, then 7 languages, then 2 text-norm styles
# the four prepended queries: language 'auto' (0), event (1), emotion (2), 'woitn' (15)
SENSEVOICE_QUERIES = (0, 1, 2, 15)


class SinusoidalPosition(nn.Module):
    """Adds FunASR's sinusoidal position encoding (positions from 1, sines then cosines, the
    timescales spaced by log(10000) / (depth/2 - 1)); it has no parameters."""

    def forward(self, x):
        _, frames, depth = x.shape
        half = depth // 2
        positions = torch.arange(1, frames + 1, device=x.device, dtype=x.dtype)
        step = math.log(10000.0) / (half - 1)
        inv = torch.exp(torch.arange(half, device=x.device, dtype=x.dtype) * -step)
        angles = positions[:, None] * inv[None, :]
        return x + torch.cat([torch.sin(angles), torch.cos(angles)], dim=-1)[None]


class SANMAttention(nn.Module):
    """Multi-head self-attention with an FSMN memory block (SAN-M): ``linear_q_k_v`` from
    ``in_dim`` to 3 x ``dim``, attention over all frames, ``linear_out``; plus the memory block,
    a depthwise Conv1d of ``kernel`` over V ('same' zero padding, no bias) with V added back."""

    def __init__(self, in_dim: int, dim: int, heads: int, kernel: int):
        super().__init__()
        self.heads, self.dim = heads, dim
        self.linear_q_k_v = nn.Linear(in_dim, 3 * dim)
        self.linear_out = nn.Linear(dim, dim)
        self.fsmn_block = nn.Conv1d(dim, dim, kernel, groups=dim, bias=False)
        left = (kernel - 1) // 2
        self.padding = (left, kernel - 1 - left)

    def forward(self, x):
        b, t, _ = x.shape
        q, k, v = self.linear_q_k_v(x).split(self.dim, dim=-1)
        memory = self.fsmn_block(nn.functional.pad(v.transpose(1, 2), self.padding)).transpose(1, 2) + v
        d_k = self.dim // self.heads
        qh, kh, vh = (y.reshape(b, t, self.heads, d_k).transpose(1, 2) for y in (q, k, v))
        scores = torch.matmul(qh * d_k ** -0.5, kh.transpose(-2, -1))
        context = torch.matmul(torch.softmax(scores, dim=-1), vh)
        return self.linear_out(context.transpose(1, 2).reshape(b, t, self.dim)) + memory


class FeedForward(nn.Module):
    """``w_1`` to ``hidden`` units, ReLU, ``w_2`` back."""

    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.w_1 = nn.Linear(dim, hidden)
        self.w_2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.w_2(torch.relu(self.w_1(x)))


class SANMLayer(nn.Module):
    """Pre-norm SAN-M encoder layer; the attention's residual only when input and output widths
    agree (not in the first layer)."""

    def __init__(self, in_dim: int, dim: int, heads: int, ffn: int, kernel: int):
        super().__init__()
        self.norm1 = nn.LayerNorm(in_dim)
        self.self_attn = SANMAttention(in_dim, dim, heads, kernel)
        self.norm2 = nn.LayerNorm(dim)
        self.feed_forward = FeedForward(dim, ffn)
        self.residual = in_dim == dim

    def forward(self, x):
        attn = self.self_attn(self.norm1(x))
        x = x + attn if self.residual else attn
        return x + self.feed_forward(self.norm2(x))


class SenseVoiceEncoderSmall(nn.Module):
    """√dim scaling, the sinusoidal positions, ``encoders0`` (one layer from the feature width),
    ``encoders`` (blocks - 1), ``after_norm``, ``tp_encoders``, ``tp_norm``."""

    def __init__(self, feats: int = SENSEVOICE_FEATS, dim: int = SENSEVOICE_DIM, heads: int = SENSEVOICE_HEADS,
                 ffn: int = SENSEVOICE_FFN, blocks: int = SENSEVOICE_BLOCKS, tp_blocks: int = SENSEVOICE_TP_BLOCKS,
                 kernel: int = SENSEVOICE_KERNEL):
        super().__init__()
        self.scale = dim ** 0.5
        self.embed = SinusoidalPosition()
        self.encoders0 = nn.ModuleList([SANMLayer(feats, dim, heads, ffn, kernel)])
        self.encoders = nn.ModuleList([SANMLayer(dim, dim, heads, ffn, kernel) for _ in range(blocks - 1)])
        self.after_norm = nn.LayerNorm(dim)
        self.tp_encoders = nn.ModuleList([SANMLayer(dim, dim, heads, ffn, kernel) for _ in range(tp_blocks)])
        self.tp_norm = nn.LayerNorm(dim) if tp_blocks else None   # Paraformer's SANMEncoder has no tp blocks

    def forward(self, x):
        x = self.embed(x * self.scale)
        for layer in (*self.encoders0, *self.encoders):
            x = layer(x)
        x = self.after_norm(x)
        for layer in self.tp_encoders:
            x = layer(x)
        return x if self.tp_norm is None else self.tp_norm(x)


class CTCHead(nn.Module):
    """The CTC projection to the vocabulary (``ctc_lo``)."""

    def __init__(self, dim: int, vocab: int):
        super().__init__()
        self.ctc_lo = nn.Linear(dim, vocab)

    def forward(self, x):
        return self.ctc_lo(x)


class SenseVoiceSmall(nn.Module):
    """SenseVoice-Small on LFR features (batch, frames, 560): the four query embeddings
    (language, event, emotion, text normalisation) prepended, the encoder, the CTC logits
    (batch, 4 + frames, 25055)."""

    def __init__(self, vocab: int = SENSEVOICE_VOCAB, **encoder):
        super().__init__()
        self.embed = nn.Embedding(SENSEVOICE_QUERY_ROWS, encoder.get("feats", SENSEVOICE_FEATS))
        self.encoder = SenseVoiceEncoderSmall(**encoder)
        self.ctc = CTCHead(encoder.get("dim", SENSEVOICE_DIM), vocab)

    def forward(self, speech):
        feats = self.embed.embedding_dim
        if speech.dim() != 3 or speech.shape[-1] != feats:
            raise ValueError(f"SenseVoice-Small takes LFR feature frames (batch, frames, {feats}), "
                             f"not {tuple(speech.shape)}")
        ids = torch.tensor(SENSEVOICE_QUERIES, device=speech.device)
        queries = self.embed(ids)[None].expand(speech.shape[0], -1, -1)
        return self.ctc(self.encoder(torch.cat([queries, speech], dim=1)))


def sensevoice_small() -> SenseVoiceSmall:
    """SenseVoice-Small (FunAudioLLM/SenseVoiceSmall), encoder and CTC head."""
    return SenseVoiceSmall()


# Paraformer-large (FunASR's paraformer-zh) configuration: funasr/models/paraformer/template.yaml
PARAFORMER_VOCAB = 8404         # Mandarin characters and English word pieces (the checkpoint's tokens)
PARAFORMER_DECODER_BLOCKS = 16  # decoder num_blocks = att_layer_num
#: Output tokens counted: 10 s of Mandarin at 5.18 syllables (one character each) a second, the rate
#: Pellegrino, Coupé & Marsico measured (Language 87(3), 2011, "A cross-language perspective on
#: speech information rate"), rounded to 52. The CIF predictor fires one token per integrated unit
#: of its weights, so the real count is data.
PARAFORMER_TOKENS = 52


class CifPredictor(nn.Module):
    """CifPredictorV2: a Conv1d of 3 taps over time (l_order = r_order = 1, zero padded), ReLU,
    one weight per frame (``cif_output`` to 1, sigmoid), then continuous integrate-and-fire: the
    weighted frames are summed until their weights add up to 1, which fires one token. The
    integration is a scan whose boundaries are data; here the weighted frames are split evenly
    between the ``tokens`` fired (the same T × dim multiplies and adds)."""

    def __init__(self, dim: int, tokens: int):
        super().__init__()
        self.tokens = tokens
        self.cif_conv1d = nn.Conv1d(dim, dim, 3)
        self.cif_output = nn.Linear(dim, 1)

    def forward(self, hidden):
        context = nn.functional.pad(hidden.transpose(1, 2), (1, 1))
        alphas = torch.sigmoid(self.cif_output(torch.relu(self.cif_conv1d(context)).transpose(1, 2)))
        weighted = (hidden * alphas).transpose(1, 2)
        return nn.functional.adaptive_avg_pool1d(weighted, self.tokens).transpose(1, 2)


class DecoderFSMN(nn.Module):
    """The decoder's memory block in place of self-attention (MultiHeadedAttentionSANMDecoder):
    a depthwise Conv1d of ``kernel`` over the tokens ('same' zero padding, no bias), plus its input."""

    def __init__(self, dim: int, kernel: int):
        super().__init__()
        self.fsmn_block = nn.Conv1d(dim, dim, kernel, groups=dim, bias=False)
        left = (kernel - 1) // 2
        self.padding = (left, kernel - 1 - left)

    def forward(self, x):
        return self.fsmn_block(nn.functional.pad(x.transpose(1, 2), self.padding)).transpose(1, 2) + x


class CrossAttention(nn.Module):
    """MultiHeadedAttentionCrossAtt: queries from the tokens (``linear_q``), keys and values from
    the encoder's frames (one ``linear_k_v``), ``linear_out``."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads, self.dim = heads, dim
        self.linear_q = nn.Linear(dim, dim)
        self.linear_k_v = nn.Linear(dim, 2 * dim)
        self.linear_out = nn.Linear(dim, dim)

    def forward(self, x, memory):
        b, n, _ = x.shape
        d_k = self.dim // self.heads
        k, v = self.linear_k_v(memory).split(self.dim, dim=-1)
        qh = self.linear_q(x).reshape(b, n, self.heads, d_k).transpose(1, 2)
        kh, vh = (y.reshape(b, -1, self.heads, d_k).transpose(1, 2) for y in (k, v))
        scores = torch.matmul(qh * d_k ** -0.5, kh.transpose(-2, -1))
        context = torch.matmul(torch.softmax(scores, dim=-1), vh)
        return self.linear_out(context.transpose(1, 2).reshape(b, n, self.dim))


class DecoderFeedForward(nn.Module):
    """PositionwiseFeedForwardDecoderSANM: ``w_1`` to ``hidden`` units, ReLU, LayerNorm, ``w_2``
    back without a bias."""

    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.w_1 = nn.Linear(dim, hidden)
        self.norm = nn.LayerNorm(hidden)
        self.w_2 = nn.Linear(hidden, dim, bias=False)

    def forward(self, x):
        return self.w_2(self.norm(torch.relu(self.w_1(x))))


class DecoderLayerSANM(nn.Module):
    """A Paraformer decoder layer (DecoderLayerSANM): LayerNorm and the feed-forward first; then,
    in the attention layers, LayerNorm, the FSMN memory block and the residual, LayerNorm, cross-
    attention to the encoder and its residual. The last layer (``decoders3``) is the normed
    feed-forward alone, without a residual."""

    def __init__(self, dim: int, heads: int, ffn: int, kernel: int, attention: bool = True):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.feed_forward = DecoderFeedForward(dim, ffn)
        self.attention = attention
        if attention:
            self.norm2 = nn.LayerNorm(dim)
            self.self_attn = DecoderFSMN(dim, kernel)
            self.norm3 = nn.LayerNorm(dim)
            self.src_attn = CrossAttention(dim, heads)

    def forward(self, tgt, memory):
        x = self.feed_forward(self.norm1(tgt))
        if not self.attention:
            return x
        x = tgt + self.self_attn(self.norm2(x))
        return x + self.src_attn(self.norm3(x), memory)


class ParaformerDecoder(nn.Module):
    """ParaformerSANMDecoder: the token embedding table (held, not run: the decoder reads the
    predictor's acoustic embeddings), ``decoders`` (16 attention layers), ``decoders3`` (one
    feed-forward layer), ``after_norm``, the output projection to the vocabulary."""

    def __init__(self, vocab: int, dim: int, heads: int, ffn: int, blocks: int, kernel: int):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.decoders = nn.ModuleList([DecoderLayerSANM(dim, heads, ffn, kernel) for _ in range(blocks)])
        self.decoders3 = nn.ModuleList([DecoderLayerSANM(dim, heads, ffn, kernel, attention=False)])
        self.after_norm = nn.LayerNorm(dim)
        self.output_layer = nn.Linear(dim, vocab)

    def forward(self, acoustic, memory):
        x = acoustic
        for layer in (*self.decoders, *self.decoders3):
            x = layer(x, memory)
        return self.output_layer(self.after_norm(x))


class Paraformer(nn.Module):
    """Paraformer-large on LFR features (batch, frames, 560): the SAN-M encoder (50 layers, no tp
    blocks), the CIF predictor firing ``tokens`` acoustic embeddings, the non-autoregressive
    decoder attending to the encoder once, the logits (batch, tokens, 8404)."""

    def __init__(self, tokens: int = PARAFORMER_TOKENS, vocab: int = PARAFORMER_VOCAB,
                 decoder_blocks: int = PARAFORMER_DECODER_BLOCKS):
        super().__init__()
        dim = SENSEVOICE_DIM
        self.encoder = SenseVoiceEncoderSmall(tp_blocks=0)
        self.predictor = CifPredictor(dim, tokens)
        self.decoder = ParaformerDecoder(vocab, dim, SENSEVOICE_HEADS, SENSEVOICE_FFN, decoder_blocks,
                                         SENSEVOICE_KERNEL)

    def forward(self, speech):
        if speech.dim() != 3 or speech.shape[-1] != SENSEVOICE_FEATS:
            raise ValueError(f"Paraformer takes LFR feature frames (batch, frames, {SENSEVOICE_FEATS}), "
                             f"not {tuple(speech.shape)}")
        memory = self.encoder(speech)
        return self.decoder(self.predictor(memory), memory)


def paraformer_large() -> Paraformer:
    """Paraformer-large (FunASR's paraformer-zh), encoder, CIF predictor and decoder."""
    return Paraformer()
