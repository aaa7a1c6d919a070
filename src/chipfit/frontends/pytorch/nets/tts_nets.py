"""Text-to-speech networks that neither torchvision nor transformers ship, written here from their
published architecture definitions, for the zoo.

Kokoro-82M (hexgrad/Kokoro-82M)
    A StyleTTS 2 acoustic model with an iSTFTNet decoder: Li et al. 2023, "StyleTTS 2: Towards
    Human-Level Text-to-Speech through Style Diffusion and Adversarial Training with Large Speech
    Language Models", arXiv:2306.07691 (PL-BERT text encoder, prosody predictor, AdaIN decoder);
    Kaneko et al. 2022, "iSTFTNet: Fast and Lightweight Mel-Spectrogram Vocoder Incorporating
    Inverse Short-Time Fourier Transform", arXiv:2203.02395 (the generator upsamples to STFT frames
    and predicts magnitude and phase; an inverse STFT makes the waveform). The layer structure
    follows hexgrad's inference package (Apache-2.0), https://github.com/hexgrad/kokoro (commit
    dfb907a02bba8152ca444717ca5d78747ccb4bec; the same modules as ``kokoro`` 0.9.4 on PyPI):
    ``kokoro/model.py`` (KModel: the five modules built from config.json, and
    ``forward_with_tokens``, what one utterance runs), ``kokoro/modules.py`` (CustomAlbert,
    TextEncoder, AdaLayerNorm, ProsodyPredictor, DurationEncoder), ``kokoro/istftnet.py``
    (AdaIN1d, AdaINResBlock1, SineGen, SourceModuleHnNSF, Generator, AdainResBlk1d, Decoder:
    24,000 Hz, 8 harmonics above F0, voiced threshold 10, the decoder's 1024-channel blocks and
    64-channel ``asr_res``) and ``kokoro/custom_stft.py`` (CustomSTFT: the STFT and inverse STFT as
    convolutions with fixed DFT-times-Hann-window kernels, Kokoro's ``disable_complex`` form,
    which is what makes them countable as multiply-accumulates). The configuration is
    hexgrad/Kokoro-82M's ``config.json``: n_token 178, hidden_dim 512, style_dim 128, n_layer 3,
    max_dur 50, text_encoder_kernel_size 5, dropout 0.2; plbert: hidden_size 768,
    num_attention_heads 12, intermediate_size 2048, max_position_embeddings 512,
    num_hidden_layers 12 (transformers' AlbertConfig with its defaults otherwise: embedding_size
    128, type_vocab_size 2, one shared layer group, hidden_act gelu_new); istftnet:
    upsample_rates [10, 6], upsample_kernel_sizes [20, 12], upsample_initial_channel 512,
    resblock_kernel_sizes [3, 7, 11], resblock_dilation_sizes [[1, 3, 5]] x 3,
    gen_istft_n_fft 20, gen_istft_hop_size 5. (Its dim_in 64, n_mels 80, max_conv_dim 512 and
    multispeaker are not read by KModel.) The model card says 82 million parameters.

    What one utterance runs (``KModel.forward_with_tokens``): the token ids through ALBERT
    (PL-BERT; 12 applications of one shared layer; its pooler runs on the first token, and its
    output is dropped), ``bert_encoder`` (768 to 512), the prosody predictor's DurationEncoder
    (three bidirectional LSTMs, each followed by a LayerNorm modulated by the style vector, the
    style concatenated to every position), its LSTM and ``duration_proj`` (the durations); the
    alignment from the durations (a 0/1 tokens x frames matrix) multiplies the encoding
    (a matmul); the ``shared`` LSTM over the frames, the F0 and energy (N) branches (three
    AdaIN residual blocks each, the middle one upsampling x2); the text encoder (embedding,
    three convolutions of kernel 5 with LayerNorm, a bidirectional LSTM), expanded by the same
    alignment; the decoder (an AdaIN residual block to 1024 channels, four more fed the
    alignment features, F0 and N again, the last one upsampling x2 to 512 channels) and the
    iSTFTNet generator: the harmonic-plus-noise source (F0 upsampled to samples, 9 sines,
    merged by a linear layer) and its STFT, two transposed-conv upsamplers (x10, x6) each
    joined by the source through a strided conv and an AdaIN residual block, three AdaIN
    residual blocks (Snake activations) after each, ``conv_post`` to 11 magnitude and 11 phase
    bins, and the inverse STFT (hop 5). One alignment frame is 2 x 10 x 6 x 5 = 600 samples,
    25 ms at 24 kHz. The voice (``ref_s``, 2 x 128: the decoder's style, then the prosody
    style) is an input, a row of a voice pack, and is not computed.

    How chipfit runs it: the durations are data (rounded sigmoid sums); the predictor runs, but
    its durations are replaced by fixed ones spread evenly over the tokens
    (:func:`even_durations`), ``frames`` in all. The LSTMs are ``torch.nn.LSTM`` (counted step by step:
    the input and recurrent projections, the gates and the cell update of every step). Weight normalisation (on every convolution of the text
    encoder, the AdaIN blocks and the decoder, except the generator's ``noise_convs`` and the
    predictor's ``F0_proj`` and ``N_proj``) is folded into plain weights, as an exported model
    holds them: the checkpoint's 81,763,410 tensor elements hold 32,154 more,
    one ``weight_g`` per output channel of each normalised convolution (per input channel of a
    transposed one). The AdaIN instance norms have no affine weights (kokoro's
    ``affine=True`` is an ONNX-export workaround whose weights the checkpoint does not hold).
    Dropout is the identity, every token is real (no padding mask), ``speed`` is 1, and
    CustomSTFT's phase correction for ONNX's atan2 (an index by a data mask) is left out.

The code is chipfit's own; only the architecture facts come from the sources above.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

# hexgrad/Kokoro-82M config.json (sources above)
KOKORO_TOKENS = 178             # n_token: the phoneme vocabulary (id 0 pads both ends)
KOKORO_HIDDEN = 512             # hidden_dim
KOKORO_STYLE = 128              # style_dim: ref_s is 2 x 128 (decoder style, prosody style)
KOKORO_LAYERS = 3               # n_layer: DurationEncoder LSTMs, text-encoder convolutions
KOKORO_MAX_DUR = 50             # max_dur: duration_proj outputs
KOKORO_TEXT_KERNEL = 5          # text_encoder_kernel_size
# plbert (transformers' AlbertConfig: embedding_size and type_vocab_size are its defaults)
PLBERT_HIDDEN = 768             # hidden_size
PLBERT_HEADS = 12               # num_attention_heads
PLBERT_FFN = 2048               # intermediate_size
PLBERT_POSITIONS = 512          # max_position_embeddings
PLBERT_LAYERS = 12              # num_hidden_layers (one shared layer, applied 12 times)
PLBERT_EMBED = 128              # AlbertConfig.embedding_size default
PLBERT_TYPES = 2                # AlbertConfig.type_vocab_size default
# istftnet
ISTFT_UPSAMPLE_RATES = (10, 6)
ISTFT_UPSAMPLE_KERNELS = (20, 12)
ISTFT_INITIAL_CHANNELS = 512    # upsample_initial_channel
ISTFT_RESBLOCK_KERNELS = (3, 7, 11)
ISTFT_RESBLOCK_DILATIONS = ((1, 3, 5), (1, 3, 5), (1, 3, 5))
ISTFT_N_FFT = 20                # gen_istft_n_fft: 11 magnitude and 11 phase bins
ISTFT_HOP = 5                   # gen_istft_hop_size
# fixed in kokoro/istftnet.py
SAMPLE_RATE = 24000
HARMONICS = 8                   # harmonic_num: F0 and 8 overtones
VOICED_THRESHOLD = 10
SINE_AMP, NOISE_STD = 0.1, 0.003
DECODER_WIDTH = 1024            # Decoder.encode / decode channels
DECODER_ASR_RES = 64            # Decoder.asr_res channels
NOISE_RES_KERNELS = (7, 11)     # Generator.noise_res kernels, dilations (1, 3, 5)
#: samples per alignment frame: x2 in the predictor's F0/N and the decoder, x10 x6, hop 5
SAMPLES_PER_FRAME = 2 * math.prod(ISTFT_UPSAMPLE_RATES) * ISTFT_HOP     # 600: 25 ms at 24 kHz

#: The input counted: 64 tokens (62 phoneme characters between the two 0 ids Kokoro adds) that
#: last 200 frames = 120,000 samples = 5.0 s, 3.125 frames (78 ms) a token. The frames are data.
KOKORO_INPUT_TOKENS = 64
KOKORO_INPUT_FRAMES = 200


def kokoro_frames(tokens: int) -> int:
    """Alignment frames for ``tokens`` tokens at the default 200 frames per 64 tokens (rounded)."""
    return max(1, (tokens * KOKORO_INPUT_FRAMES * 2 + KOKORO_INPUT_TOKENS) // (2 * KOKORO_INPUT_TOKENS))


def even_durations(tokens: int, frames: int) -> list[int]:
    """``frames`` spread over ``tokens`` as evenly as integers allow (they sum to ``frames``)."""
    return [(i + 1) * frames // tokens - i * frames // tokens for i in range(tokens)]


# ----------------------------------------------------------------------------------- pieces


class BiLSTM(nn.LSTM):
    """A one-layer bidirectional LSTM, batch first (``torch.nn.LSTM``, its parameters under their
    names); the output sequence only."""

    def __init__(self, in_dim: int, hidden: int):
        super().__init__(in_dim, hidden, batch_first=True, bidirectional=True)

    def forward(self, x):
        return super().forward(x)[0]


class AlbertLayer(nn.Module):
    """transformers' AlbertLayer (post-norm): query, key, value, attention over all tokens,
    ``dense`` and LayerNorm with the residual; ``ffn`` (gelu_new), ``ffn_output`` and
    ``full_layer_layer_norm`` with the residual."""

    def __init__(self, dim: int, heads: int, ffn: int):
        super().__init__()
        self.heads = heads
        self.query, self.key, self.value = nn.Linear(dim, dim), nn.Linear(dim, dim), nn.Linear(dim, dim)
        self.dense = nn.Linear(dim, dim)
        self.attention_norm = nn.LayerNorm(dim, eps=1e-12)
        self.ffn = nn.Linear(dim, ffn)
        self.ffn_output = nn.Linear(ffn, dim)
        self.full_layer_layer_norm = nn.LayerNorm(dim, eps=1e-12)

    def forward(self, x):
        b, t, dim = x.shape
        d_k = dim // self.heads
        q, k, v = (proj(x).reshape(b, t, self.heads, d_k).transpose(1, 2)
                   for proj in (self.query, self.key, self.value))
        scores = torch.matmul(q, k.transpose(-2, -1)) * d_k ** -0.5
        context = torch.matmul(torch.softmax(scores, dim=-1), v).transpose(1, 2).reshape(b, t, dim)
        x = self.attention_norm(x + self.dense(context))
        return self.full_layer_layer_norm(x + self.ffn_output(F.gelu(self.ffn(x), approximate="tanh")))


class PLBert(nn.Module):
    """ALBERT (CustomAlbert): word, position and token-type embeddings (128 wide) with a
    LayerNorm, ``embedding_hidden_mapping_in`` to 768, one shared layer applied ``layers``
    times, and the pooler (dense + tanh on the first token), which AlbertModel computes though
    Kokoro reads only the last hidden state."""

    def __init__(self, vocab: int = KOKORO_TOKENS, embed: int = PLBERT_EMBED, dim: int = PLBERT_HIDDEN,
                 heads: int = PLBERT_HEADS, ffn: int = PLBERT_FFN, layers: int = PLBERT_LAYERS,
                 positions: int = PLBERT_POSITIONS, types: int = PLBERT_TYPES):
        super().__init__()
        self.layers = layers
        self.word_embeddings = nn.Embedding(vocab, embed)
        self.position_embeddings = nn.Embedding(positions, embed)
        self.token_type_embeddings = nn.Embedding(types, embed)
        self.embedding_norm = nn.LayerNorm(embed, eps=1e-12)
        self.embedding_hidden_mapping_in = nn.Linear(embed, dim)
        self.layer = AlbertLayer(dim, heads, ffn)
        self.pooler = nn.Linear(dim, dim)

    def forward(self, ids):
        t = ids.shape[1]
        positions = torch.arange(t, device=ids.device)[None]
        types = torch.zeros_like(ids)
        x = self.word_embeddings(ids) + self.token_type_embeddings(types) + self.position_embeddings(positions)
        x = self.embedding_hidden_mapping_in(self.embedding_norm(x))
        for _ in range(self.layers):
            x = self.layer(x)
        torch.tanh(self.pooler(x[:, 0]))   # AlbertModel's pooled output, computed and not used
        return x


class AdaLayerNorm(nn.Module):
    """A LayerNorm over channels without weights, scaled by (1 + gamma) and shifted by beta, both
    from the style through ``fc``. Takes and returns (batch, positions, channels)."""

    def __init__(self, style_dim: int, channels: int):
        super().__init__()
        self.channels = channels
        self.fc = nn.Linear(style_dim, 2 * channels)

    def forward(self, x, s):
        gamma, beta = self.fc(s)[:, None].chunk(2, dim=-1)
        return (1 + gamma) * F.layer_norm(x, (self.channels,)) + beta


class AdaIN1d(nn.Module):
    """Instance norm over time (no affine weights), scaled by (1 + gamma) and shifted by beta from
    the style through ``fc``. Takes (batch, channels, time)."""

    def __init__(self, style_dim: int, channels: int):
        super().__init__()
        self.fc = nn.Linear(style_dim, 2 * channels)

    def forward(self, x, s):
        gamma, beta = self.fc(s)[:, :, None].chunk(2, dim=1)
        return (1 + gamma) * F.instance_norm(x) + beta


class AdainResBlk1d(nn.Module):
    """StyleTTS 2's AdaIN residual block: AdaIN, LeakyReLU(0.2), a depthwise transposed conv x2
    (``pool``, when upsampling), ``conv1`` (3), AdaIN, LeakyReLU, ``conv2`` (3); the shortcut
    nearest-upsampled and through a 1x1 ``conv1x1`` without bias when the widths differ; the sum
    scaled by 1/sqrt(2)."""

    def __init__(self, dim_in: int, dim_out: int, style_dim: int = KOKORO_STYLE, upsample: bool = False):
        super().__init__()
        self.upsample = upsample
        self.conv1 = nn.Conv1d(dim_in, dim_out, 3, 1, 1)
        self.conv2 = nn.Conv1d(dim_out, dim_out, 3, 1, 1)
        self.norm1 = AdaIN1d(style_dim, dim_in)
        self.norm2 = AdaIN1d(style_dim, dim_out)
        self.conv1x1 = nn.Conv1d(dim_in, dim_out, 1, bias=False) if dim_in != dim_out else None
        self.pool = (nn.ConvTranspose1d(dim_in, dim_in, 3, stride=2, groups=dim_in, padding=1, output_padding=1)
                     if upsample else None)

    def forward(self, x, s):
        y = F.leaky_relu(self.norm1(x, s), 0.2)
        if self.pool is not None:
            y = self.pool(y)
        y = self.conv2(F.leaky_relu(self.norm2(self.conv1(y), s), 0.2))
        if self.upsample:
            x = F.interpolate(x, scale_factor=2, mode="nearest")
        if self.conv1x1 is not None:
            x = self.conv1x1(x)
        return (y + x) * 2 ** -0.5


class DurationEncoder(nn.Module):
    """``n_layer`` x (bidirectional LSTM, AdaLayerNorm), the prosody style concatenated to every
    position before each LSTM and after the last norm. (batch, tokens, hidden) to (batch, tokens,
    hidden + style)."""

    def __init__(self, style_dim: int = KOKORO_STYLE, dim: int = KOKORO_HIDDEN, layers: int = KOKORO_LAYERS):
        super().__init__()
        self.lstms = nn.ModuleList()
        for _ in range(layers):
            self.lstms.append(BiLSTM(dim + style_dim, dim // 2))
            self.lstms.append(AdaLayerNorm(style_dim, dim))

    def forward(self, x, s):
        style = s[:, None].expand(-1, x.shape[1], -1)
        x = torch.cat([x, style], dim=-1)
        for block in self.lstms:
            x = torch.cat([block(x, s), style], dim=-1) if isinstance(block, AdaLayerNorm) else block(x)
        return x


class ProsodyPredictor(nn.Module):
    """The DurationEncoder (``text_encoder``), ``lstm`` and ``duration_proj`` (durations), and for
    the frames the ``shared`` LSTM, the F0 and N branches and their 1x1 projections."""

    def __init__(self, style_dim: int = KOKORO_STYLE, dim: int = KOKORO_HIDDEN, layers: int = KOKORO_LAYERS,
                 max_dur: int = KOKORO_MAX_DUR):
        super().__init__()
        self.text_encoder = DurationEncoder(style_dim, dim, layers)
        self.lstm = BiLSTM(dim + style_dim, dim // 2)
        self.duration_proj = nn.Linear(dim, max_dur)
        self.shared = BiLSTM(dim + style_dim, dim // 2)
        self.F0 = nn.ModuleList([AdainResBlk1d(dim, dim, style_dim), AdainResBlk1d(dim, dim // 2, style_dim, True),
                                 AdainResBlk1d(dim // 2, dim // 2, style_dim)])
        self.N = nn.ModuleList([AdainResBlk1d(dim, dim, style_dim), AdainResBlk1d(dim, dim // 2, style_dim, True),
                                AdainResBlk1d(dim // 2, dim // 2, style_dim)])
        self.F0_proj = nn.Conv1d(dim // 2, 1, 1)
        self.N_proj = nn.Conv1d(dim // 2, 1, 1)

    def durations(self, d):
        """What the predictor's durations are computed from: sigmoid sums over ``max_dur``."""
        return torch.sigmoid(self.duration_proj(self.lstm(d))).sum(dim=-1)

    def f0_n(self, en, s):
        """(batch, hidden + style, frames) to F0 and N curves (batch, 2 x frames)."""
        x = self.shared(en.transpose(1, 2)).transpose(1, 2)
        f0, n = x, x
        for block in self.F0:
            f0 = block(f0, s)
        for block in self.N:
            n = block(n, s)
        return self.F0_proj(f0)[:, 0], self.N_proj(n)[:, 0]


class ChannelNorm(nn.Module):
    """A LayerNorm over the channels of (batch, channels, time), with ``gamma`` and ``beta``."""

    def __init__(self, channels: int):
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(channels))
        self.beta = nn.Parameter(torch.zeros(channels))

    def forward(self, x):
        return F.layer_norm(x.transpose(1, 2), x.shape[1:2], self.gamma, self.beta).transpose(1, 2)


class TextEncoder(nn.Module):
    """The acoustic text encoder: an embedding, ``n_layer`` x (Conv1d of ``kernel``, ChannelNorm,
    LeakyReLU(0.2)), a bidirectional LSTM. Ids (batch, tokens) to (batch, hidden, tokens)."""

    def __init__(self, channels: int = KOKORO_HIDDEN, kernel: int = KOKORO_TEXT_KERNEL, depth: int = KOKORO_LAYERS,
                 symbols: int = KOKORO_TOKENS):
        super().__init__()
        self.embedding = nn.Embedding(symbols, channels)
        self.cnn = nn.ModuleList([nn.Sequential(nn.Conv1d(channels, channels, kernel, padding=(kernel - 1) // 2),
                                                ChannelNorm(channels), nn.LeakyReLU(0.2))
                                  for _ in range(depth)])
        self.lstm = BiLSTM(channels, channels // 2)

    def forward(self, ids):
        x = self.embedding(ids).transpose(1, 2)
        for conv in self.cnn:
            x = conv(x)
        return self.lstm(x.transpose(1, 2)).transpose(1, 2)


class AdaINResBlock1(nn.Module):
    """iSTFTNet's residual block with AdaIN and Snake: three times AdaIN, Snake (x + sin²(a x)/a),
    a dilated conv (``convs1``), AdaIN, Snake, a conv (``convs2``), added to the input."""

    def __init__(self, channels: int, kernel: int, dilations=(1, 3, 5), style_dim: int = KOKORO_STYLE):
        super().__init__()
        self.convs1 = nn.ModuleList([nn.Conv1d(channels, channels, kernel, dilation=d, padding=d * (kernel - 1) // 2)
                                     for d in dilations])
        self.convs2 = nn.ModuleList([nn.Conv1d(channels, channels, kernel, padding=(kernel - 1) // 2)
                                     for _ in dilations])
        self.adain1 = nn.ModuleList([AdaIN1d(style_dim, channels) for _ in dilations])
        self.adain2 = nn.ModuleList([AdaIN1d(style_dim, channels) for _ in dilations])
        self.alpha1 = nn.ParameterList([nn.Parameter(torch.ones(1, channels, 1)) for _ in dilations])
        self.alpha2 = nn.ParameterList([nn.Parameter(torch.ones(1, channels, 1)) for _ in dilations])

    def forward(self, x, s):
        for c1, c2, n1, n2, a1, a2 in zip(self.convs1, self.convs2, self.adain1, self.adain2,
                                          self.alpha1, self.alpha2):
            y = n1(x, s)
            y = c1(y + (1 / a1) * torch.sin(a1 * y) ** 2)
            y = n2(y, s)
            x = c2(y + (1 / a2) * torch.sin(a2 * y) ** 2) + x
        return x


def _dft_kernels(n_fft: int, inverse: bool):
    """CustomSTFT's kernels (bins, 1, n_fft): the real and imaginary DFT rows times a periodic Hann
    window (for the inverse: cos and sin rows times the window over n_fft)."""
    window = torch.hann_window(n_fft, periodic=True, dtype=torch.float64)
    angle = 2 * math.pi * torch.outer(torch.arange(n_fft // 2 + 1, dtype=torch.float64),
                                      torch.arange(n_fft, dtype=torch.float64)) / n_fft
    scale = window / n_fft if inverse else window
    sign = 1 if inverse else -1
    return (torch.cos(angle) * scale).float()[:, None], (sign * torch.sin(angle) * scale).float()[:, None]


class ConvSTFT(nn.Module):
    """Kokoro's CustomSTFT.transform: the STFT as two strided Conv1d (real and imaginary parts),
    the input replicate-padded by n_fft/2 at both ends; magnitude and phase. (batch, samples) to
    (batch, n_fft/2 + 1, frames) twice. The kernels are buffers, not parameters."""

    def __init__(self, n_fft: int = ISTFT_N_FFT, hop: int = ISTFT_HOP):
        super().__init__()
        self.n_fft, self.hop = n_fft, hop
        real, imag = _dft_kernels(n_fft, inverse=False)
        self.register_buffer("weight_forward_real", real)
        self.register_buffer("weight_forward_imag", imag)

    def forward(self, waveform):
        x = F.pad(waveform[:, None], (self.n_fft // 2, self.n_fft // 2), mode="replicate")
        real = F.conv1d(x, self.weight_forward_real, stride=self.hop)
        imag = F.conv1d(x, self.weight_forward_imag, stride=self.hop)
        return torch.sqrt(real ** 2 + imag ** 2 + 1e-14), torch.atan2(imag, real)


class ConvISTFT(nn.Module):
    """Kokoro's CustomSTFT.inverse: real and imaginary parts from magnitude and phase, two strided
    ConvTranspose1d (overlap-add), their difference trimmed by n_fft/2 at both ends. To
    (batch, 1, samples)."""

    def __init__(self, n_fft: int = ISTFT_N_FFT, hop: int = ISTFT_HOP):
        super().__init__()
        self.n_fft, self.hop = n_fft, hop
        real, imag = _dft_kernels(n_fft, inverse=True)
        self.register_buffer("weight_backward_real", real)
        self.register_buffer("weight_backward_imag", imag)

    def forward(self, magnitude, phase):
        real = F.conv_transpose1d(magnitude * torch.cos(phase), self.weight_backward_real, stride=self.hop)
        imag = F.conv_transpose1d(magnitude * torch.sin(phase), self.weight_backward_imag, stride=self.hop)
        pad = self.n_fft // 2
        return (real - imag)[..., pad:-pad]


class SourceModuleHnNSF(nn.Module):
    """The harmonic-plus-noise source: F0 (batch, samples, 1) times 1..9, the phase accumulated at
    frame rate (linear interpolation down by ``upsample``, a cumulative sum, back up), sines of
    amplitude 0.1 where voiced (F0 > 10) plus Gaussian noise, merged by ``l_linear`` and tanh. The
    noise source it also draws is not used by the generator."""

    def __init__(self, upsample: int, harmonics: int = HARMONICS, rate: int = SAMPLE_RATE):
        super().__init__()
        self.upsample, self.harmonics, self.rate = upsample, harmonics, rate
        self.l_linear = nn.Linear(harmonics + 1, 1)

    def forward(self, f0):
        b = f0.shape[0]
        overtones = torch.arange(1, self.harmonics + 2, device=f0.device, dtype=f0.dtype)
        rad = (f0 * overtones / self.rate) % 1
        initial = torch.rand(b, self.harmonics + 1, device=f0.device, dtype=f0.dtype)
        initial[:, 0] = 0
        rad[:, 0, :] = rad[:, 0, :] + initial
        rad = F.interpolate(rad.transpose(1, 2), scale_factor=1 / self.upsample, mode="linear")
        phase = torch.cumsum(rad.transpose(1, 2), dim=1) * 2 * math.pi
        phase = F.interpolate(phase.transpose(1, 2) * self.upsample, scale_factor=self.upsample, mode="linear")
        sines = torch.sin(phase.transpose(1, 2)) * SINE_AMP
        uv = (f0 > VOICED_THRESHOLD).to(f0.dtype)
        noise = (uv * NOISE_STD + (1 - uv) * SINE_AMP / 3) * torch.randn_like(sines)
        merged = torch.tanh(self.l_linear(sines * uv + noise))
        torch.randn_like(uv) * SINE_AMP / 3      # the noise source, drawn and not used
        return merged


class Generator(nn.Module):
    """iSTFTNet's generator with an NSF source (kokoro/istftnet.py Generator)."""

    def __init__(self, style_dim: int = KOKORO_STYLE, kernels=ISTFT_RESBLOCK_KERNELS, rates=ISTFT_UPSAMPLE_RATES,
                 channels: int = ISTFT_INITIAL_CHANNELS, dilations=ISTFT_RESBLOCK_DILATIONS,
                 up_kernels=ISTFT_UPSAMPLE_KERNELS, n_fft: int = ISTFT_N_FFT, hop: int = ISTFT_HOP):
        super().__init__()
        self.num_kernels = len(kernels)
        self.upsample_scale = math.prod(rates) * hop
        self.m_source = SourceModuleHnNSF(self.upsample_scale)
        self.noise_convs = nn.ModuleList()
        self.noise_res = nn.ModuleList()
        self.ups = nn.ModuleList()
        self.resblocks = nn.ModuleList()
        for i, (u, k) in enumerate(zip(rates, up_kernels)):
            c = channels // 2 ** (i + 1)
            self.ups.append(nn.ConvTranspose1d(channels // 2 ** i, c, k, u, padding=(k - u) // 2))
            for kernel, dil in zip(kernels, dilations):
                self.resblocks.append(AdaINResBlock1(c, kernel, dil, style_dim))
            if i + 1 < len(rates):
                stride = math.prod(rates[i + 1:])
                self.noise_convs.append(nn.Conv1d(n_fft + 2, c, stride * 2, stride=stride, padding=(stride + 1) // 2))
            else:
                self.noise_convs.append(nn.Conv1d(n_fft + 2, c, 1))
            self.noise_res.append(AdaINResBlock1(c, NOISE_RES_KERNELS[i], (1, 3, 5), style_dim))
        self.bins = n_fft // 2 + 1
        self.conv_post = nn.Conv1d(c, n_fft + 2, 7, 1, padding=3)
        self.stft = ConvSTFT(n_fft, hop)
        self.istft = ConvISTFT(n_fft, hop)

    def forward(self, x, s, f0):
        f0 = F.interpolate(f0[:, None], scale_factor=self.upsample_scale, mode="nearest").transpose(1, 2)
        har_source = self.m_source(f0).transpose(1, 2)[:, 0]
        har = torch.cat(self.stft(har_source), dim=1)
        for i, up in enumerate(self.ups):
            x = F.leaky_relu(x, 0.1)
            source = self.noise_res[i](self.noise_convs[i](har), s)
            x = up(x)
            if i == len(self.ups) - 1:
                x = F.pad(x, (1, 0), mode="reflect")
            x = x + source
            xs = None
            for j in range(self.num_kernels):
                y = self.resblocks[i * self.num_kernels + j](x, s)
                xs = y if xs is None else xs + y
            x = xs / self.num_kernels
        x = self.conv_post(F.leaky_relu(x))
        return self.istft(torch.exp(x[:, :self.bins]), torch.sin(x[:, self.bins:]))


class Decoder(nn.Module):
    """The StyleTTS 2 decoder (kokoro/istftnet.py Decoder): F0 and N halved by strided convs,
    ``encode`` (hidden + 2 to 1024), four ``decode`` blocks each fed the alignment features
    (``asr_res``, 64), F0 and N again (the last to 512 channels, upsampling x2), the generator."""

    def __init__(self, dim_in: int = KOKORO_HIDDEN, style_dim: int = KOKORO_STYLE):
        super().__init__()
        width, res = DECODER_WIDTH, DECODER_ASR_RES
        self.encode = AdainResBlk1d(dim_in + 2, width, style_dim)
        self.decode = nn.ModuleList([AdainResBlk1d(width + 2 + res, width, style_dim) for _ in range(3)]
                                    + [AdainResBlk1d(width + 2 + res, ISTFT_INITIAL_CHANNELS, style_dim, True)])
        self.F0_conv = nn.Conv1d(1, 1, 3, stride=2, padding=1)
        self.N_conv = nn.Conv1d(1, 1, 3, stride=2, padding=1)
        self.asr_res = nn.Conv1d(dim_in, res, 1)
        self.generator = Generator(style_dim)

    def forward(self, asr, f0_curve, n, s):
        f0 = self.F0_conv(f0_curve[:, None])
        n = self.N_conv(n[:, None])
        x = self.encode(torch.cat([asr, f0, n], dim=1), s)
        asr_res = self.asr_res(asr)
        for block in self.decode:
            x = block(torch.cat([x, asr_res, f0, n], dim=1), s)
        return self.generator(x, s, f0_curve)


class Kokoro(nn.Module):
    """Kokoro-82M (KModel.forward_with_tokens) on token ids (batch, tokens): a float tensor of ids
    is cast to integers (the zoo feeds zeros: id 0, Kokoro's padding token). The voice ``ref_s``
    (batch, 256) is a row of a voice pack, an input: zeros here. The durations are fixed,
    :func:`even_durations` over ``frames`` (:func:`kokoro_frames` of the tokens unless given).
    Returns the waveform (batch, 1, 600 x frames) at 24 kHz."""

    def __init__(self, frames: int | None = None):
        super().__init__()
        self.frames = frames
        self.bert = PLBert()
        self.bert_encoder = nn.Linear(PLBERT_HIDDEN, KOKORO_HIDDEN)
        self.predictor = ProsodyPredictor()
        self.text_encoder = TextEncoder()
        self.decoder = Decoder()

    def alignment(self, tokens: int, device, dtype):
        """The 0/1 (tokens, frames) matrix that repeats token i by its fixed duration."""
        frames = self.frames or kokoro_frames(tokens)
        rows, start = [], 0
        for d in even_durations(tokens, frames):
            rows.append([0.0] * start + [1.0] * d + [0.0] * (frames - start - d))
            start += d
        return torch.tensor(rows, device=device, dtype=dtype)

    def forward(self, input_ids, ref_s=None):
        if input_ids.dim() != 2:
            raise ValueError(f"Kokoro-82M takes token ids (batch, tokens), not {tuple(input_ids.shape)}")
        if input_ids.shape[1] > PLBERT_POSITIONS:
            raise ValueError(f"Kokoro-82M takes at most {PLBERT_POSITIONS} tokens, not {input_ids.shape[1]}")
        ids = input_ids.long()
        b, t = ids.shape
        if ref_s is None:
            ref_s = torch.zeros(b, 2 * KOKORO_STYLE, device=ids.device)
        s = ref_s[:, KOKORO_STYLE:]
        d = self.predictor.text_encoder(self.bert_encoder(self.bert(ids)), s)
        self.predictor.durations(d)        # replaced by the fixed durations of the alignment
        aln = self.alignment(t, ids.device, d.dtype)
        en = d.transpose(1, 2) @ aln
        f0, n = self.predictor.f0_n(en, s)
        asr = self.text_encoder(ids) @ aln
        return self.decoder(asr, f0, n, ref_s[:, :KOKORO_STYLE])


def kokoro_82m() -> Kokoro:
    """Kokoro-82M (hexgrad/Kokoro-82M): PL-BERT, prosody predictor, text encoder, iSTFTNet decoder."""
    return Kokoro()
