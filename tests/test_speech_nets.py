"""Speech networks written in chipfit (chipfit.frontends.pytorch.nets.speech_nets): held to their
published parameter counts and to the arithmetic of their layers, written out here.

Sources:
  * FunASR (MIT), https://github.com/modelscope/FunASR: README.md, model table ("SenseVoiceSmall ...
    234M"); funasr/models/sense_voice/model.py and funasr/models/sanm/attention.py (the layers);
    docs/tutorial/Tables.md (SenseVoiceSmall's config.yaml: output_size 512, attention_heads 4,
    linear_units 2048, num_blocks 50, tp_blocks 20, kernel_size 11; frontend: 80 mel bins, 25 ms
    frames every 10 ms, lfr_m 7, lfr_n 6); funasr/frontends/wav_frontend.py (kaldi fbank with
    snip_edges true; apply_lfr gives ceil(frames / lfr_n) stacked frames);
    runtime/llama.cpp/sensevoice/README.md ("CTC head (Linear 512→25055)"; the f32 GGUF of the
    checkpoint "~936 MB").
  * FunAudioLLM technical report (Tongyi SpeechTeam, Alibaba Group, 2024), arXiv:2407.04051:
    SenseVoice-Small has 234M parameters.
"""

from __future__ import annotations

import gzip
import json
import math

import pytest

pytest.importorskip("torch")

import chipfit  # noqa: E402
from chipfit.data import zoo  # noqa: E402

# SenseVoiceSmall's configuration (FunASR, above)
FEATS, DIM, HEADS, FFN, KERNEL, VOCAB = 80 * 7, 512, 4, 2048, 11, 25055
LAYERS = 50 + 20          # num_blocks (the first from the 560-wide features) + tp_blocks
QUERIES = 4               # language, event, emotion, text normalisation


def _fbank_frames(seconds: float, rate: int = 16000) -> int:
    """Kaldi fbank with snip_edges: one frame per whole 25 ms window, every 10 ms."""
    window, hop = rate * 25 // 1000, rate * 10 // 1000
    return 1 + (int(seconds * rate) - window) // hop


def _layer_macs(t: int, width_in: int) -> int:
    """One SAN-M layer over t positions: Q/K/V projection, FSMN depthwise kernel over V, QKᵀ and
    AV over all heads (together DIM wide), output projection, the two feed-forward linears."""
    return (t * width_in * 3 * DIM        # linear_q_k_v
            + t * DIM * KERNEL            # fsmn_block, depthwise: KERNEL MACs per element
            + t * t * DIM                 # QKᵀ: HEADS x t x t x (DIM / HEADS)
            + t * t * DIM                 # AV
            + t * DIM * DIM               # linear_out
            + 2 * t * DIM * FFN)          # w_1 and w_2


def _layer_params(width_in: int) -> int:
    return (2 * width_in                  # norm1 (weight and bias)
            + width_in * 3 * DIM + 3 * DIM   # linear_q_k_v
            + DIM * KERNEL                # fsmn_block (no bias)
            + DIM * DIM + DIM             # linear_out
            + 2 * DIM                     # norm2
            + DIM * FFN + FFN + FFN * DIM + DIM)   # w_1, w_2


def _total_macs(frames: int) -> int:
    t = QUERIES + frames
    return _layer_macs(t, FEATS) + (LAYERS - 1) * _layer_macs(t, DIM) + t * DIM * VOCAB


def _block(result, prefix: str, what: str) -> int:
    return sum(getattr(op, what) for op in result.layers if op.name.startswith(prefix))


@pytest.fixture(scope="module")
def sensevoice():
    return chipfit.count("sensevoice-small")


def test_sensevoice_is_in_the_zoo_for_ten_seconds_of_audio():
    for alias in ("FunAudioLLM/SenseVoiceSmall", "iic/SenseVoiceSmall", "sensevoice", "SenseVoiceSmall"):
        assert zoo.lookup(alias).name == "sensevoice-small"
    entry = zoo.lookup("sensevoice-small")
    assert entry.task == "speech" and entry.builder == "chipfit.frontends.pytorch.nets.speech_nets:sensevoice_small"
    # 10 s at 16 kHz: 998 fbank frames, then one LFR frame per 6 (the last one padded)
    assert _fbank_frames(10) == 998
    assert entry.input_shape == [1, math.ceil(998 / 6), FEATS] == [1, 167, 560]


def test_sensevoice_parameters_match_published(sensevoice):
    assert not sensevoice.unsupported_ops
    expected = (16 * FEATS                        # the query embedding table: 7 + 7 languages + 2 styles
                + _layer_params(FEATS) + (LAYERS - 1) * _layer_params(DIM)
                + 2 * 2 * DIM                     # after_norm and tp_norm
                + DIM * VOCAB + VOCAB)            # the CTC projection
    assert sensevoice.params == expected == 233_999_167
    # FunASR's README and arXiv:2407.04051 count the whole checkpoint (embedding, encoder and CTC
    # head; without the head it would be 221.1M): 234M
    assert round(sensevoice.params / 1e6) == 234
    # the f32 GGUF of the checkpoint, "~936 MB": 4 bytes per parameter
    assert round(4 * sensevoice.params / 1e6) == 936


def test_one_san_m_layer_by_hand(sensevoice):
    t = QUERIES + 167
    layer = "encoder.encoders.0."
    assert _block(sensevoice, layer, "macs") == _layer_macs(t, DIM) == 568_825_344
    assert _block(sensevoice, layer, "params") == _layer_params(DIM) == 3_158_016
    # the FSMN memory block alone: a depthwise kernel of 11 over 512 channels and 171 positions
    assert _block(sensevoice, layer + "self_attn.fsmn_block", "macs") == 171 * 512 * 11
    # the first layer takes the 560-wide features and has no residual around its attention
    assert _block(sensevoice, "encoder.encoders0.0.", "macs") == _layer_macs(t, FEATS)
    assert _block(sensevoice, "ctc.", "macs") == t * DIM * VOCAB


def test_sensevoice_macs_by_hand_at_two_lengths(sensevoice):
    assert sensevoice.macs == _total_macs(167) == 42_023_996_928
    five_seconds = math.ceil(_fbank_frames(5) / 6)   # 498 fbank frames -> 83 LFR frames
    shorter = chipfit.count("sensevoice-small", input_shape=[f"1,{five_seconds},560"])
    assert shorter.macs == _total_macs(five_seconds)
    assert shorter.params == sensevoice.params


def test_sensevoice_ships_traced(sensevoice):
    """tools/build_zoo_graphs.py and tests/test_zoo_graphs.py cover the vision entries: the stored
    graph of this speech entry is held to a fresh trace here."""
    from importlib import resources

    from chipfit.analysis.count import fresh_trace
    from chipfit.core.costgraph import CostGraph

    path = resources.files("chipfit.data.zoo").joinpath("graphs", "sensevoice-small.json.gz")
    stored = json.loads(gzip.decompress(path.read_bytes()))
    graph, notes, sparse = fresh_trace("sensevoice-small")
    assert CostGraph.from_data(stored["graph"]) == graph, "rewrite graphs/sensevoice-small.json.gz"
    assert stored["notes"] == list(notes) and stored["sparse"] == [dict(s) for s in sparse]
    assert zoo.stored_graph("sensevoice-small")[0] == graph == sensevoice.graph


def test_sensevoice_on_the_command_line(run_cli):
    rc, out, err = run_cli("count", "sensevoice-small")
    assert rc == 0, err
    assert "42,023,996,928" in out and "233,999,167" in out
    rc, out, err = run_cli("check", "sensevoice-small", "--chip", "rk3588", "--fps", "1", "--json")
    assert rc == 0, err
    report = json.loads(out)
    assert report["macs"] == _total_macs(167)
    # one 10 s clip per second: the FLOPs of one inference, in TOPS
    assert report["required_tops"] == pytest.approx(report["flops"] / 1e12)
    rc, out, err = run_cli("check", "sensevoice-small", "--chip", "rk3588", "--fps", "1")
    assert rc == 0, err
    assert "sensevoice-small" in out


def test_sensevoice_refuses_an_image_shape_in_one_sentence(run_cli):
    rc, out, err = run_cli("count", "sensevoice-small", "--input-shape", "1,3,224,224")
    assert rc == 2 and "(batch, frames, 560)" in err and "Traceback" not in err


# -- Paraformer-large (FunASR's paraformer-zh): funasr/models/paraformer/template.yaml, decoder.py,
# cif_predictor.py; the README model table: 220M parameters --------------------------------------
P_VOCAB, P_DEC_BLOCKS, P_TOKENS = 8404, 16, 52


def _decoder_layer_params() -> int:
    """norm1, the feed-forward (w_1 with a bias, a LayerNorm over its 2048 units, w_2 without a
    bias), norm2, the FSMN block (depthwise, no bias), norm3, cross-attention (linear_q, one
    linear_k_v to keys and values, linear_out)."""
    return (2 * DIM + DIM * FFN + FFN + 2 * FFN + FFN * DIM
            + 2 * DIM + DIM * KERNEL + 2 * DIM
            + DIM * DIM + DIM + DIM * 2 * DIM + 2 * DIM + DIM * DIM + DIM)


def _decoder_layer_macs(n: int, t: int) -> int:
    """One decoder layer over n tokens attending to t encoder frames."""
    return (2 * n * DIM * FFN              # w_1, w_2
            + n * DIM * KERNEL             # fsmn_block
            + n * DIM * DIM                # linear_q
            + t * DIM * 2 * DIM            # linear_k_v over the encoder's frames
            + 2 * n * t * DIM              # QKᵀ and AV, all heads
            + n * DIM * DIM)               # linear_out


@pytest.fixture(scope="module")
def paraformer():
    return chipfit.count("paraformer-large")


def test_paraformer_parameters_match_published(paraformer):
    encoder = _layer_params(FEATS) + 49 * _layer_params(DIM) + 2 * DIM      # 50 SAN-M layers, after_norm
    predictor = DIM * DIM * 3 + DIM + DIM + 1                               # cif_conv1d (3 taps), cif_output
    decoder = (P_VOCAB * DIM                                                # the embedding table (held)
               + P_DEC_BLOCKS * _decoder_layer_params()
               + 2 * DIM + DIM * FFN + FFN + 2 * FFN + FFN * DIM           # decoders3: norm1 + feed-forward
               + 2 * DIM + DIM * P_VOCAB + P_VOCAB)                         # after_norm, output_layer
    assert paraformer.params == encoder + predictor + decoder == 220_084_533
    assert round(paraformer.params / 1e6) == 220                            # FunASR's README: 220M
    assert not paraformer.unsupported_ops


def test_paraformer_decoder_layer_and_total_by_hand(paraformer):
    t, n = 167, P_TOKENS
    assert _block(paraformer, "decoder.decoders.0.", "macs") == _decoder_layer_macs(n, t)
    encoder = _layer_macs(t, FEATS) + 49 * _layer_macs(t, DIM)
    predictor = t * DIM * DIM * 3 + t * DIM
    decoder = (P_DEC_BLOCKS * _decoder_layer_macs(n, t) + 2 * n * DIM * FFN + n * DIM * P_VOCAB)
    assert paraformer.macs == encoder + predictor + decoder == 31_947_205_120


def test_paraformer_on_the_command_line(run_cli):
    for alias in ("paraformer-zh", "funasr/paraformer-zh", "paraformer"):
        assert zoo.lookup(alias).name == "paraformer-large"
    rc, out, err = run_cli("check", "paraformer-large", "--chip", "rk3588", "--fps", "1", "--json")
    assert rc in (0, 1) and err == "", err
    assert json.loads(out)["params"] == 220_084_533
