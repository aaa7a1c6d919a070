"""Kokoro-82M written in chipfit (chipfit.frontends.pytorch.nets.tts_nets): held to its published
parameter count and to the arithmetic of its layers, written out here.

Sources:
  * hexgrad/Kokoro-82M on Hugging Face: the model card and the README of
    https://github.com/hexgrad/kokoro ("an open-weight TTS model with 82 million parameters");
    its config.json (n_token 178, hidden_dim 512, style_dim 128, n_layer 3, max_dur 50,
    text_encoder_kernel_size 5; plbert: hidden_size 768, num_attention_heads 12,
    intermediate_size 2048, max_position_embeddings 512, num_hidden_layers 12; istftnet:
    upsample_rates [10, 6], upsample_kernel_sizes [20, 12], upsample_initial_channel 512,
    resblock_kernel_sizes [3, 7, 11], resblock_dilation_sizes [[1, 3, 5]] x 3, gen_istft_n_fft 20,
    gen_istft_hop_size 5).
  * https://github.com/hexgrad/kokoro (Apache-2.0): kokoro/model.py (KModel.forward_with_tokens),
    kokoro/modules.py, kokoro/istftnet.py (the decoder's 1024 channels and 64-channel asr_res, 8
    harmonics, 24 kHz, noise_res kernels 7 and 11), kokoro/custom_stft.py; transformers'
    AlbertConfig defaults (embedding_size 128, type_vocab_size 2, one shared layer).
"""

from __future__ import annotations

import json

import pytest

pytest.importorskip("torch")

import chipfit  # noqa: E402
from chipfit.data import zoo  # noqa: E402

# Kokoro-82M's configuration (config.json and kokoro/istftnet.py, above)
VOCAB, H, S, LAYERS, MAX_DUR, TEXT_K = 178, 512, 128, 3, 50, 5
D, HEADS, FFN, POSITIONS, BERT_LAYERS, EMBED, TYPES = 768, 12, 2048, 512, 12, 128, 2
N_FFT, HOP, BINS = 20, 5, 20 // 2 + 1        # 11 magnitude and 11 phase bins
WIDE, ASR_RES = 1024, 64                     # Decoder.encode/decode width, asr_res channels
HARMONICS = 8 + 1                            # F0 and 8 overtones
TOKENS, FRAMES = 64, 200                     # the zoo entry's input: 64 tokens -> 200 frames
SAMPLES_PER_FRAME = 2 * 10 * 6 * HOP         # predictor/decoder x2, upsamplers x10 x6, hop 5

# -- parameters ---------------------------------------------------------------------------------


def _linear(i: int, o: int) -> int:
    return i * o + o


def _lstm(i: int, h: int) -> int:
    """A bidirectional nn.LSTM layer: weight_ih, weight_hh and two biases of 4h rows, twice."""
    return 2 * (4 * h * i + 4 * h * h + 2 * 4 * h)


def _adain(c: int) -> int:
    """AdaIN1d / AdaLayerNorm: one linear from the style to gamma and beta (the norm has no weights)."""
    return _linear(S, 2 * c)


def _resblk(cin: int, cout: int, up: bool = False) -> int:
    """AdainResBlk1d: two AdaINs, conv1 and conv2 (kernel 3), a 1x1 shortcut without bias when the
    widths differ, a depthwise transposed conv of kernel 3 (with bias) when upsampling."""
    return (_adain(cin) + cin * cout * 3 + cout + _adain(cout) + cout * cout * 3 + cout
            + (cin * cout if cin != cout else 0) + (cin * 3 + cin if up else 0))


def _snake_block(c: int, k: int) -> int:
    """AdaINResBlock1: 3 x (AdaIN, conv of k, AdaIN, conv of k) and 6 Snake alphas of c."""
    return 6 * (c * c * k + c) + 6 * _adain(c) + 6 * c


BERT = (VOCAB * EMBED + POSITIONS * EMBED + TYPES * EMBED + 2 * EMBED     # embeddings, LayerNorm
        + _linear(EMBED, D)                                              # embedding_hidden_mapping_in
        + 4 * _linear(D, D) + 2 * D + _linear(D, FFN) + _linear(FFN, D) + 2 * D   # the one shared layer
        + _linear(D, D))                                                 # pooler
BERT_ENCODER = _linear(D, H)
PREDICTOR = (LAYERS * (_lstm(H + S, H // 2) + _adain(H))                 # DurationEncoder
             + _lstm(H + S, H // 2) + _linear(H, MAX_DUR)                # lstm, duration_proj
             + _lstm(H + S, H // 2)                                      # shared
             + 2 * (_resblk(H, H) + _resblk(H, H // 2, True) + _resblk(H // 2, H // 2) + H // 2 + 1))  # F0, N
TEXT_ENCODER = VOCAB * H + LAYERS * (H * H * TEXT_K + H + 2 * H) + _lstm(H, H // 2)
GENERATOR = (HARMONICS + 1                                               # m_source.l_linear
             + 512 * 256 * 20 + 256 + 256 * 128 * 12 + 128               # ups (transposed: in x out x k)
             + sum(_snake_block(256, k) + _snake_block(128, k) for k in (3, 7, 11))   # resblocks
             + (N_FFT + 2) * 256 * 12 + 256 + (N_FFT + 2) * 128 + 128   # noise_convs
             + _snake_block(256, 7) + _snake_block(128, 11)              # noise_res
             + 128 * (N_FFT + 2) * 7 + N_FFT + 2)                        # conv_post
DECODER = (_resblk(H + 2, WIDE) + 3 * _resblk(WIDE + 2 + ASR_RES, WIDE) + _resblk(WIDE + 2 + ASR_RES, 512, True)
           + 2 * (3 + 1) + _linear(H, ASR_RES) + GENERATOR)              # F0_conv, N_conv, asr_res
#: weight_g of every weight-normalised conv (one per output channel; per input channel of a
#: transposed one), which the checkpoint holds and folding removes
WEIGHT_G = (2 * (2 * H + (3 * 256 + H) + 2 * 256)                        # predictor F0 and N blocks
            + LAYERS * H                                                 # text-encoder convs
            + 3 * WIDE + 3 * 3 * WIDE + 3 * 512 + WIDE + 2 + ASR_RES     # encode, decode (the last one's pool)
            + 2 + ASR_RES                                                # F0_conv, N_conv, asr_res
            + 512 + 256 + 6 * 3 * (256 + 128) + 6 * (256 + 128) + N_FFT + 2)   # ups, resblocks, noise_res, conv_post

# -- MACs -----------------------------------------------------------------------------------------


def _lstm_macs(t: int, i: int, h: int) -> int:
    """Both directions, every step: the input projection and the recurrent one, 4h gates each."""
    return 2 * t * 4 * h * (i + h)


def _resblk_macs(t: int, cin: int, cout: int, up: bool = False) -> int:
    to = 2 * t if up else t
    return (S * 2 * cin + to * cin * cout * 3 + S * 2 * cout + to * cout * cout * 3
            + (t * cin * 3 if up else 0) + (to * cin * cout if cin != cout else 0))


def _snake_macs(t: int, c: int, k: int) -> int:
    return 3 * (2 * S * 2 * c + 2 * t * c * c * k)


def _bert_layer_macs(n: int) -> int:
    """query, key, value, dense; QK^T and AV over all heads (together 768 wide); ffn, ffn_output."""
    return 4 * n * D * D + 2 * n * n * D + 2 * n * D * FFN


def _istft_frames(f: int) -> int:
    """STFT frames of 600 f samples, centred, hop 5 (also the generator's last resolution)."""
    return SAMPLES_PER_FRAME * f // HOP + 1


def _generator_macs(f: int) -> int:
    t1, t0 = _istft_frames(f), 20 * f        # after ups.1 (+1 reflection pad) and after ups.0
    return (SAMPLES_PER_FRAME * f * HARMONICS                                      # l_linear
            + 2 * t1 * BINS * N_FFT                                               # STFT of the source
            + t0 * 256 * (N_FFT + 2) * 12 + _snake_macs(t0, 256, 7)              # noise_convs.0, noise_res.0
            + 2 * f * 512 * 256 * 20                                              # ups.0
            + sum(_snake_macs(t0, 256, k) for k in (3, 7, 11))
            + t1 * 128 * (N_FFT + 2) + _snake_macs(t1, 128, 11)                  # noise_convs.1, noise_res.1
            + t0 * 256 * 128 * 12                                                 # ups.1
            + sum(_snake_macs(t1, 128, k) for k in (3, 7, 11))
            + t1 * 128 * (N_FFT + 2) * 7                                          # conv_post
            + 2 * t1 * BINS * N_FFT)                                              # inverse STFT


def _total_macs(n: int, f: int) -> int:
    bert = n * EMBED * D + BERT_LAYERS * _bert_layer_macs(n) + D * D + n * D * H   # + pooler, bert_encoder
    predictor = (LAYERS * (_lstm_macs(n, H + S, H // 2) + S * 2 * H) + _lstm_macs(n, H + S, H // 2)
                 + n * H * MAX_DUR + (H + S) * n * f + _lstm_macs(f, H + S, H // 2)
                 + 2 * (_resblk_macs(f, H, H) + _resblk_macs(f, H, H // 2, True)
                        + _resblk_macs(2 * f, H // 2, H // 2) + 2 * f * H // 2))
    text = LAYERS * n * H * H * TEXT_K + _lstm_macs(n, H, H // 2) + H * n * f
    decoder = (2 * f * 3 + _resblk_macs(f, H + 2, WIDE) + f * H * ASR_RES
               + 3 * _resblk_macs(f, WIDE + 2 + ASR_RES, WIDE) + _resblk_macs(f, WIDE + 2 + ASR_RES, 512, True))
    return bert + predictor + text + decoder + _generator_macs(f)


def _block(result, prefix: str, what: str) -> int:
    return sum(getattr(op, what) for op in result.layers if op.name.startswith(prefix))


@pytest.fixture(scope="module")
def kokoro():
    return chipfit.count("kokoro-82m")


def test_kokoro_is_in_the_zoo_for_five_seconds_of_speech():
    for alias in ("kokoro", "hexgrad/Kokoro-82M", "Kokoro-82M", "kokoro-82m"):
        assert zoo.lookup(alias).name == "kokoro-82m"
    entry = zoo.lookup("kokoro-82m")
    assert entry.task == "speech" and entry.builder == "chipfit.frontends.pytorch.nets.tts_nets:kokoro_82m"
    assert entry.input_shape == [1, TOKENS]
    from chipfit.frontends.pytorch.nets import tts_nets

    # 200 frames of 600 samples at 24 kHz: 5.0 s
    assert tts_nets.SAMPLES_PER_FRAME == SAMPLES_PER_FRAME == 600
    assert tts_nets.kokoro_frames(TOKENS) == FRAMES and FRAMES * SAMPLES_PER_FRAME / 24000 == 5.0
    assert [tts_nets.kokoro_frames(n) for n in (32, 128, 1)] == [100, 400, 3]
    durations = tts_nets.even_durations(TOKENS, FRAMES)
    assert sum(durations) == FRAMES and set(durations) == {3, 4}


def test_kokoro_parameters_match_published(kokoro):
    assert not kokoro.unsupported_ops
    assert BERT == 6_292_480 and _block(kokoro, "bert.", "params") == BERT
    assert _block(kokoro, "bert_encoder", "params") == BERT_ENCODER
    assert _block(kokoro, "predictor.", "params") == PREDICTOR == 16_188_980
    assert _block(kokoro, "text_encoder.", "params") == TEXT_ENCODER == 5_604_864
    assert _block(kokoro, "decoder.generator.", "params") == GENERATOR
    assert _block(kokoro, "decoder.", "params") == DECODER == 53_251_204
    assert kokoro.params == BERT + BERT_ENCODER + PREDICTOR + TEXT_ENCODER + DECODER == 81_731_256
    # the checkpoint (kokoro-v1_0.pth) also holds the weight-norm magnitudes: 81,763,410 elements
    assert WEIGHT_G == 32_154 and kokoro.params + WEIGHT_G == 81_763_410
    # the model card and README: "82 million parameters"
    assert round(kokoro.params / 1e6) == round((kokoro.params + WEIGHT_G) / 1e6) == 82


def test_kokoro_layers_by_hand(kokoro):
    n, f = TOKENS, FRAMES
    # ALBERT: one shared layer applied 12 times
    assert _block(kokoro, "bert.layer", "macs") == BERT_LAYERS * _bert_layer_macs(n) == 4_303_355_904
    # the LSTM over the frames and one over the tokens
    assert _block(kokoro, "predictor.shared", "macs") == _lstm_macs(f, H + S, H // 2) == 367_001_600
    assert _block(kokoro, "text_encoder.lstm", "macs") == _lstm_macs(n, H, H // 2) == 100_663_296
    # the generator's transposed-conv upsamplers: 400 -> 4,000 -> 24,000 frames
    assert _block(kokoro, "decoder.generator.ups.0", "macs") == 2 * f * 512 * 256 * 20 == 1_048_576_000
    assert _block(kokoro, "decoder.generator.ups.1", "macs") == 20 * f * 256 * 128 * 12 == 1_572_864_000
    # STFT of the source and inverse STFT as convolutions: 24,001 frames x 11 bins x 20 taps, 4 times
    assert _block(kokoro, "decoder.generator.stft", "macs") == 2 * _istft_frames(f) * BINS * N_FFT == 10_560_440
    assert _block(kokoro, "decoder.generator.istft", "macs") == 2 * _istft_frames(f) * BINS * N_FFT
    assert _block(kokoro, "decoder.generator.conv_post", "macs") == _istft_frames(f) * 128 * 22 * 7
    # the alignment expanding the durations is a matmul: (640 + 512) channels x tokens x frames
    assert _block(kokoro, "decoder.generator.", "macs") == _generator_macs(f) == 122_997_840_432
    assert kokoro.macs == _total_macs(n, f) == 136_895_112_080


def test_kokoro_macs_scale_with_the_tokens():
    # traced at each size (the stored graph is the 64-token default), in seconds that grow with it
    quarter = chipfit.count("kokoro-82m", input_shape=["1,16"])      # 16 tokens -> 50 frames
    assert quarter.macs == _total_macs(16, 50)
    assert quarter.params == 81_731_256
    half = chipfit.count("kokoro-82m", input_shape=["1,32:int64"])   # token ids as integers
    assert half.macs == _total_macs(32, 100) == 68_430_054_528
    # linear in the frames but for the attention over the tokens and the +1 STFT frame
    assert abs(half.macs - 2 * quarter.macs) < 0.01 * half.macs


def test_kokoro_on_the_command_line(run_cli):
    rc, out, err = run_cli("count", "kokoro-82m")
    assert rc == 0, err
    assert "136,895,112,080" in out and "81,731,256" in out
    rc, out, err = run_cli("check", "hexgrad/Kokoro-82M", "--chip", "rk3588", "--fps", "1", "--json")
    assert rc in (0, 1) and err == "", err
    report = json.loads(out)
    assert report["macs"] == _total_macs(TOKENS, FRAMES) and report["params"] == 81_731_256


def test_kokoro_refuses_an_image_shape_in_one_sentence(run_cli):
    rc, out, err = run_cli("count", "kokoro-82m", "--input-shape", "1,3,224,224")
    assert rc == 2 and "(batch, tokens)" in err and "Traceback" not in err
    rc, out, err = run_cli("count", "kokoro-82m", "--input-shape", "1,600")
    assert rc == 2 and "at most 512 tokens" in err
