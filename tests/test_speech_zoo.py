"""Speech models of the zoo fed raw audio: held to published parameter counts and to the
arithmetic of their first layer."""

from __future__ import annotations

import pytest

pytest.importorskip("transformers")
pytest.importorskip("torch")

from chipfit import count  # noqa: E402


def test_moonshine_tiny_params_and_its_conv_stem():
    r = count("moonshine-tiny")
    # Jeffries et al. 2024, "Moonshine: Speech Recognition for Live Transcription and Voice
    # Commands", arXiv:2410.15608, Table 1: Moonshine Tiny 27.1M parameters
    assert r.params == pytest.approx(27.1e6, rel=0.005)
    # the stem's first convolution: 1 → 288 channels, kernel 127, stride 64, over 10 s at 16 kHz
    frames = (160_000 - 127) // 64 + 1
    stem = frames * 288 * 127
    assert any(op.macs == stem for op in r.graph.ops), stem
    assert r.macs > 20 * stem   # the encoder and decoder layers add far more than the stem
