"""Speech synthesis, traced: FastSpeech2 (text → mel) and its HiFi-GAN vocoder (mel → waveform).

HiFi-GAN is checked against a closed formula over its convolutions; FastSpeech2, whose number
of output frames is data (predicted durations), against transformers' own forward run on the
CPU with real (random) weights and the same durations.
"""

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch", reason="needs torch")
transformers = pytest.importorskip("transformers", reason="needs transformers")

import chipfit  # noqa: E402
from chipfit.core.errors import ChipfitError  # noqa: E402
from chipfit.data import zoo  # noqa: E402
from chipfit.frontends.pytorch import hf, hf_speech  # noqa: E402
from chipfit.frontends.pytorch.trace import trace  # noqa: E402


def _config(name: str) -> dict:
    """The zoo entry's config as keyword arguments of the transformers config class."""
    cfg = dict(zoo.lookup(name).config)
    del cfg["model_type"], cfg["architectures"]
    return cfg


# --------------------------------------------------------------------------------------
# HiFi-GAN: every MAC is a convolution's
# --------------------------------------------------------------------------------------
def hifigan_macs(cfg: dict, frames: int, batch: int = 1) -> int:
    """MACs of FastSpeech2ConformerHifiGan for ``frames`` mel frames.

    Conv1d: C_in * C_out * k * L_out / groups (groups = 1 throughout; every Conv1d here keeps
    the length). ConvTranspose1d: C_in * C_out * k * L_in / groups, counted from the input side
    as chipfit's torch_ops counts it (torch.utils.flop_counter's conv_flop_count with
    transposed=True: input length × prod(weight shape (C_in, C_out/groups, k))); each
    upsampler of rate s, kernel k and padding (k - s) / 2 multiplies the length by s.

    For the entry, per mel frame F: conv_pre 80·512·7 = 286,720; upsamplers 512·256·16 +
    256·128·16·8 + 128·64·4·64 + 64·32·4·128 = 9,437,184; residual blocks 6·(3+7+11)·c²·L =
    126·(256²·8 + 128²·64 + 64²·128 + 32²·256) = 297,271,296; conv_post 32·7·256 = 57,344;
    in all 307,052,544 MACs per frame (26.4 G for 86 frames).
    """
    c = cfg["upsample_initial_channel"]
    length = frames
    macs = cfg["model_in_dim"] * c * 7 * length                        # conv_pre, k = 7
    for rate, k in zip(cfg["upsample_rates"], cfg["upsample_kernel_sizes"]):
        macs += c * (c // 2) * k * length                                 # upsampler (transposed)
        c, length = c // 2, length * rate
        # one residual block per kernel size: len(dilations) pairs of c→c convs (convs1
        # dilated, convs2 not), all keeping the length: 6 · (3 + 7 + 11) · c² · L per stage
        macs += sum(2 * len(d) * c * c * k_rb * length
                    for k_rb, d in zip(cfg["resblock_kernel_sizes"], cfg["resblock_dilation_sizes"]))
    macs += c * 1 * 7 * length                                            # conv_post, k = 7
    return batch * macs


def hifigan_params(cfg: dict) -> int:
    """Weights + biases of every convolution (the mean/scale buffers are not parameters)."""
    c = cfg["upsample_initial_channel"]
    params = cfg["model_in_dim"] * c * 7 + c
    for k in cfg["upsample_kernel_sizes"]:
        params += c * (c // 2) * k + c // 2
        c //= 2
        params += sum(len(d) * 2 * (c * c * k_rb + c)
                      for k_rb, d in zip(cfg["resblock_kernel_sizes"], cfg["resblock_dilation_sizes"]))
    return params + c * 7 + 1


def test_hifigan_macs_are_the_convolution_formula():
    r = chipfit.count("hifigan")
    frames = zoo.lookup("hifigan").inputs["mel_frames"]
    assert frames == 86 and r.graph.inputs == {"spectrogram": (1, 86, 80)}
    assert r.macs == hifigan_macs(_config("hifigan"), frames) == 307_052_544 * 86 == 26_406_518_784
    assert not r.unsupported_ops
    assert r.notes == ["86 mel frames of 80 bins → 22,016 samples (hop 256) = 0.998 s at 22,050 Hz"]


def test_hifigan_params_are_the_transformers_models():
    cfg = _config("hifigan")
    with torch.device("meta"):
        model = transformers.FastSpeech2ConformerHifiGan(transformers.FastSpeech2ConformerHifiGanConfig(**cfg))
    expected = sum(p.numel() for p in model.parameters())
    assert chipfit.count("fastspeech2-conformer-hifigan").params == expected == hifigan_params(cfg) == 13_926_017


def test_hifigan_is_linear_in_frames_and_batch():
    one = chipfit.count("hifigan").macs
    assert chipfit.count("hifigan", seq_len=172).macs == 2 * one == hifigan_macs(_config("hifigan"), 172)
    assert chipfit.count("hifigan", batch=2).macs == 2 * one


# --------------------------------------------------------------------------------------
# FastSpeech2: fixed durations, checked against the real forward on the CPU
# --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def fastspeech2_cpu():
    """transformers' FastSpeech2ConformerModel of the zoo entry, random weights, on the CPU
    (one thread: these forwards are small, and threads only contend on a busy machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    config = transformers.FastSpeech2ConformerConfig(**_config("fastspeech2"))
    config._attn_implementation = "eager"
    try:
        yield transformers.FastSpeech2ConformerModel(config).eval()
    finally:
        torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def fastspeech2_meta():
    return hf.build(zoo.lookup("fastspeech2").config)


def _meta_graph(model, phonemes: int, frames: int):
    return trace(model, (), hf_speech.example_inputs(model, {"phonemes": phonemes, "mel_frames": frames}, 1))


def test_even_durations():
    assert hf_speech.even_durations(4, 10) == [2, 3, 2, 3]
    assert hf_speech.even_durations(5, 5) == [1] * 5
    for n, f in ((50, 430), (7, 3), (13, 1000)):
        d = hf_speech.even_durations(n, f)
        assert len(d) == n and sum(d) == f and max(d) - min(d) <= 1


def test_fastspeech2_equals_the_real_forward_with_predicted_durations(fastspeech2_cpu, fastspeech2_meta):
    """The duration predictor itself predicts 4 frames per phoneme (a zero last layer whose bias
    is log(4 + 1): exp(.) - 1 = 4); transformers' forward then runs unmodified on the CPU."""
    real = fastspeech2_cpu
    phonemes, per_phoneme = 12, 4
    linear = real.duration_predictor.linear
    saved = linear.weight.detach().clone(), linear.bias.detach().clone()
    try:
        with torch.no_grad():
            linear.weight.zero_()
            linear.bias.fill_(math.log(per_phoneme + 1))
        ids = torch.randint(1, real.config.vocab_size, (1, phonemes))
        with torch.no_grad():
            out = real(ids)
        assert out.duration_outputs.tolist() == [[per_phoneme] * phonemes]
        assert out.spectrogram.shape == (1, phonemes * per_phoneme, real.config.num_mel_bins)
        cpu = trace(real, (), {"input_ids": ids}, device="cpu")
    finally:
        with torch.no_grad():
            linear.weight.copy_(saved[0])
            linear.bias.copy_(saved[1])
    meta = _meta_graph(fastspeech2_meta, phonemes, phonemes * per_phoneme)
    assert meta.macs == cpu.macs > 0
    assert meta.flops == cpu.flops
    assert meta.params == cpu.params == sum(p.numel() for p in real.parameters())
    assert not meta.unsupported and not cpu.unsupported


def test_fastspeech2_equals_the_real_forward_with_uneven_durations(fastspeech2_cpu, fastspeech2_meta):
    """Uneven durations (3 or 4 frames) handed to the real forward as the predictor's output."""
    real = fastspeech2_cpu
    phonemes, frames = 9, 31
    durations = hf_speech.even_durations(phonemes, frames)
    hook = real.duration_predictor.register_forward_hook(lambda m, a, out: torch.tensor([durations]))
    try:
        cpu = trace(real, (), {"input_ids": torch.randint(1, real.config.vocab_size, (1, phonemes))}, device="cpu")
    finally:
        hook.remove()
    meta = _meta_graph(fastspeech2_meta, phonemes, frames)
    assert (meta.macs, meta.flops) == (cpu.macs, cpu.flops)


def test_fastspeech2_macs_are_quadratic_in_frames(fastspeech2_meta):
    """With the phonemes fixed, only the decoder and postnet see the frames: linear layers and
    convolutions cost a + b·F; relative-position self-attention adds, per decoder layer,
    F²·d (QKᵀ) + F²·d (AV) + F·(2F - 1)·d (queries × positions), so c = 4·d per layer."""
    steps = [100, 200, 300, 400]
    macs = [_meta_graph(fastspeech2_meta, 50, f).macs for f in steps]
    first = [b - a for a, b in zip(macs, macs[1:])]
    second = [b - a for a, b in zip(first, first[1:])]
    cfg = fastspeech2_meta.config
    c = cfg.decoder_layers * 4 * cfg.hidden_size
    assert second == [2 * c * 100 ** 2] * 2  # exactly quadratic
    assert all(d > 0 for d in first)


def test_fastspeech2_default_count():
    r = chipfit.count("fastspeech2")
    assert r.model == "fastspeech2-conformer"
    assert r.graph.inputs == {"input_ids": (1, 50)}
    assert r.macs == 17_971_387_392
    assert r.params == 70_262_259
    assert not r.unsupported_ops
    assert len(r.notes) == 1 and r.notes[0].startswith("50 phonemes → 430 mel frames: durations fixed at 8 or 9")
    # the whole model runs, the duration predictor included
    names = {row.name for row in r.modules(1)}
    assert {"encoder", "duration_predictor", "pitch_predictor", "energy_predictor", "decoder",
            "speech_decoder_postnet"} <= names


def test_fastspeech2_seq_len_sets_the_phonemes():
    r = chipfit.count("fastspeech2", seq_len=100)  # 100 phonemes at 8.6 frames each
    assert r.graph.inputs == {"input_ids": (1, 100)}
    assert r.notes[0].startswith("100 phonemes → 860 mel frames")


def test_text_to_waveform_is_the_sum_of_the_pair():
    """FastSpeech2ConformerWithHifiGan (both in one module) is fed like FastSpeech2: its MACs
    are FastSpeech2's plus the vocoder's over the same 430 frames."""
    sub = {name: {k: v for k, v in zoo.lookup(name).config.items() if k != "architectures"}
           for name in ("fastspeech2", "hifigan")}
    joint = hf.build({"model_type": "fastspeech2_conformer_with_hifigan",
                      "architectures": ["FastSpeech2ConformerWithHifiGan"],
                      "model_config": sub["fastspeech2"], "vocoder_config": sub["hifigan"]})
    g = trace(joint, (), hf.example_inputs(joint, 1, None))
    assert g.macs == chipfit.count("fastspeech2").macs + hifigan_macs(_config("hifigan"), 430)


def test_inputs_are_checked(fastspeech2_meta):
    with pytest.raises(ChipfitError, match="takes inputs phonemes, mel_frames, not frames"):
        hf_speech.example_inputs(fastspeech2_meta, {"frames": 10}, 1)
    with pytest.raises(ChipfitError, match="must be a positive integer"):
        hf_speech.example_inputs(fastspeech2_meta, {"phonemes": 0, "mel_frames": 10}, 1)
    with pytest.raises(ChipfitError, match="does not know how to feed"):
        hf_speech.example_inputs(torch.nn.Linear(2, 2), {"mel_frames": 10}, 1)


# --------------------------------------------------------------------------------------
# Zoo entries and the CLI
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("name, config_class, differs", [
    ("fastspeech2-conformer", "FastSpeech2ConformerConfig", set()),
    # convert_hifigan.py writes normalize_before false and the sampling rate into config.json
    ("hifigan", "FastSpeech2ConformerHifiGanConfig", {"normalize_before", "sampling_rate"}),
])
def test_zoo_configs_are_the_documented_defaults(name, config_class, differs):
    entry = zoo.lookup(name)
    assert (entry.frontend, entry.task) == ("hf", "speech")
    assert entry.source.startswith("https://huggingface.co/espnet/")
    defaults = getattr(transformers, config_class)()

    def plain(value):  # tuples (class defaults) as lists (YAML)
        return [plain(v) for v in value] if isinstance(value, (list, tuple)) else value

    for key, value in _config(name).items():
        if key not in differs:
            assert plain(getattr(defaults, key)) == value, key


def test_aliases():
    assert zoo.lookup("fastspeech2").name == zoo.lookup("fastspeech2_conformer").name == "fastspeech2-conformer"
    assert zoo.lookup("fastspeech2-conformer-hifigan").name == "hifigan"


@pytest.mark.slow  # a fresh interpreter: ~5 s of imports
def test_cli_count_json():
    script = Path(sys.executable).with_name("chipfit")
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "chipfit"]
    p = subprocess.run([*cmd, "count", "fastspeech2-conformer", "--json"], capture_output=True, text=True,
                       timeout=300)
    assert p.returncode == 0, p.stderr
    data = json.loads(p.stdout)
    assert data["model"] == "fastspeech2-conformer"
    assert data["macs"] == 17_971_387_392 > 0
    assert data["inputs"] == {"input_ids": [1, 50]}
    assert any("durations fixed" in n for n in data["notes"])
