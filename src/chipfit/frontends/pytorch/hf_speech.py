"""Feeding Hugging Face speech-synthesis models: text → mel spectrogram → waveform.

Three kinds of model are fed here instead of by :func:`chipfit.frontends.pytorch.hf.example_inputs`:

* **FastSpeech2** (``FastSpeech2ConformerModel``, also inside ``FastSpeech2ConformerWithHifiGan``)
  takes ``phonemes`` token ids and writes ``mel_frames`` mel frames. How many frames it writes
  is data: its length regulator repeats each phoneme by the duration that its duration
  predictor computed, which cannot be read on the meta device. chipfit therefore fixes the
  durations, spread evenly (phoneme ``i`` of ``N`` gets ``floor((i+1)F/N) - floor(iF/N)``
  frames, so ``F/N`` on average and ``F`` in all), and runs transformers' own ``forward`` with
  a length regulator that repeats by those durations: every layer runs as in the real model,
  the duration predictor included; only its output is not used. ``speaking_speed`` is not
  applied (the frame count is given directly).
* **vocoders** whose main input is a ``spectrogram`` (``FastSpeech2ConformerHifiGan``,
  ``SpeechT5HifiGan``) take ``mel_frames`` frames of ``model_in_dim`` mel bins.
* **VITS** (``VitsModel``: MMS-TTS and the original VITS), text to waveform in one pass, takes
  ``tokens`` token ids and writes ``frames`` latent frames, each decoded to
  ``prod(upsample_rates)`` samples. Its output length is data too: its (stochastic) duration
  predictor's log-durations are rounded up to whole frames, and the longest sequence sets the
  length of the alignment it builds. chipfit fixes the durations spread evenly, as for
  FastSpeech2, by replacing the duration predictor's output with log-durations that round up to
  exactly those frames (the predictor itself still runs), and runs transformers' own
  ``forward``. On the meta device two things it reads cannot be read and are given instead:
  the output length (``frames``), and the boolean masks of the duration predictor's spline
  flows, which are taken as all true (every input inside the spline's tail bound, where the
  rational-quadratic transform is computed; outside it the spline is the identity).

``inputs`` (a zoo entry's field of that name) sets these counts; ``--seq-len`` overrides the
length of the input sequence: the phonemes of FastSpeech2 or the tokens of VITS (their frames
scale with them, at the same frames per phoneme or token) or the mel frames of a vocoder.
"""

from __future__ import annotations

import contextlib
import importlib
import math
from collections.abc import Iterator
from typing import Any

from chipfit.core.errors import ChipfitError

#: the classes whose number of output frames is set by fixed durations
FASTSPEECH2 = frozenset({"FastSpeech2ConformerModel", "FastSpeech2ConformerWithHifiGan"})
#: the classes that go from text to waveform in one pass, with a VITS duration predictor
VITS = frozenset({"VitsModel"})
#: what each kind of model is fed when neither the zoo entry nor --seq-len says otherwise:
#: 50 phonemes → 430 mel frames (5.0 s at 22,050 Hz, hop 256); 86 mel frames (1.0 s);
#: 80 tokens → 313 frames (5.0 s at 16,000 Hz, hop 256: MMS-TTS)
DEFAULTS = {"text": {"phonemes": 50, "mel_frames": 430}, "spectrogram": {"mel_frames": 86},
            "vits": {"tokens": 80, "frames": 313}}


def _kind(model) -> str | None:
    if type(model).__name__ in FASTSPEECH2:
        return "text"
    if type(model).__name__ in VITS:
        return "vits"
    if getattr(model, "main_input_name", None) == "spectrogram":
        return "spectrogram"
    return None


def handles(model) -> bool:
    """Whether this module feeds ``model`` (FastSpeech2, VITS or a spectrogram vocoder)."""
    return _kind(model) is not None


def even_durations(phonemes: int, frames: int) -> list[int]:
    """``frames`` spread over ``phonemes`` as evenly as integers allow (they sum to ``frames``)."""
    return [(i + 1) * frames // phonemes - i * frames // phonemes for i in range(phonemes)]


def _regulator(durations: list[int]):
    """A stand-in for transformers' ``length_regulator`` that repeats by ``durations``.

    The real one repeats phoneme ``i`` of every sequence by its predicted duration; this one
    by ``durations[i]``, whatever was predicted, without reading any tensor's values.
    """
    import torch

    frames = sum(durations)

    def length_regulator(encoded_embeddings, duration_labels=None, speaking_speed=1.0):
        if encoded_embeddings.size(1) != len(durations):
            raise ChipfitError(f"FastSpeech2 got {encoded_embeddings.size(1)} phonemes, "
                               f"but durations for {len(durations)}")
        if duration_labels is not None:
            # the real one's reductions over the predicted durations (its all-zero check and
            # the longest sequence), computed but never read, so that the FLOPs match too
            _ = (duration_labels.sum() == 0, torch.sum(duration_labels, dim=1).max())
        repeats = torch.tensor(durations, device=encoded_embeddings.device)
        return torch.repeat_interleave(encoded_embeddings, repeats, dim=1, output_size=frames)

    return length_regulator


@contextlib.contextmanager
def _patched(module, name: str, value) -> Iterator[None]:
    saved = getattr(module, name)
    setattr(module, name, value)
    try:
        yield
    finally:
        setattr(module, name, saved)


def fix_durations(model, durations: list[int]) -> None:
    """Make ``model`` (FastSpeech2) expand phoneme ``i`` to ``durations[i]`` frames.

    Its class's own ``forward`` still runs, with the ``length_regulator`` of transformers'
    FastSpeech2 module swapped for one that repeats by ``durations`` for the length of each
    call (set on the instance: module names, parameters and class stay those of the model).
    """
    if type(model).__name__ not in FASTSPEECH2:
        raise ChipfitError(f"{type(model).__name__} has no duration predictor to fix")
    if not durations or any(d < 0 for d in durations) or sum(durations) <= 0:
        raise ChipfitError(f"durations must be non-negative with a positive sum, not {durations}")
    modeling = importlib.import_module(
        "transformers.models.fastspeech2_conformer.modeling_fastspeech2_conformer")
    if not callable(getattr(modeling, "length_regulator", None)):
        raise ChipfitError("this transformers has no FastSpeech2 length_regulator to fix the durations of")
    real_forward = type(model).forward
    regulator = _regulator(list(durations))

    def forward(*args, **kwargs):
        with _patched(modeling, "length_regulator", regulator):
            return real_forward(model, *args, **kwargs)

    model.forward = forward
    model.chipfit_durations = tuple(durations)


def vits_log_durations(durations: list[int], speaking_rate: float = 1.0) -> list[float]:
    """Log-durations that VITS rounds up to exactly ``durations`` frames: it takes
    ``ceil(exp(log_duration) / speaking_rate)``, and ``d - 1/2`` lies half a frame clear of both
    neighbouring integers (``-inf`` for ``d = 0``: ``exp`` gives 0)."""
    return [math.log((d - 0.5) * speaking_rate) if d > 0 else -math.inf for d in durations]


@contextlib.contextmanager
def _masks_all_true() -> Iterator[None]:
    """On the meta device, a boolean mask used as an index selects every element (torch's
    ``meta_nonzero_assume_all_nonzero``); without that setting such an index cannot be traced."""
    try:
        import torch.fx.experimental._config as fx_config
    except ImportError:
        fx_config = None
    if fx_config is None or not hasattr(fx_config, "meta_nonzero_assume_all_nonzero"):
        yield
        return
    with fx_config.patch(meta_nonzero_assume_all_nonzero=True):
        yield


def _output_length(frames: int):
    """A torch function mode that gives ``torch.arange`` called with a 0-dim *meta* tensor, the
    one place VITS reads its predicted length (``arange(predicted_lengths.max())``), ``frames``
    instead; every other call passes unchanged."""
    import torch
    from torch.overrides import TorchFunctionMode

    class OutputLength(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            if (func is torch.arange and len(args) == 1 and isinstance(args[0], torch.Tensor)
                    and args[0].dim() == 0 and args[0].device.type == "meta"):
                args = (frames,)
            return func(*args, **kwargs)

    return OutputLength()


def fix_vits_durations(model, durations: list[int]) -> None:
    """Make ``model`` (VITS) give token ``i`` ``durations[i]`` frames, in every sequence.

    For the length of each call, the duration predictor's output is replaced (a forward hook)
    by log-durations that round up to ``durations`` (:func:`vits_log_durations`); on the meta
    device, where no value can be read, the output length is ``sum(durations)`` and the spline
    flows' boolean masks are taken as all true. Transformers' own ``forward`` runs (set on the
    instance: module names, parameters and class stay those of the model).
    """
    import torch

    if type(model).__name__ not in VITS:
        raise ChipfitError(f"{type(model).__name__} has no VITS duration predictor to fix")
    if not durations or any(d < 0 for d in durations) or sum(durations) <= 0:
        raise ChipfitError(f"durations must be non-negative with a positive sum, not {durations}")
    frames = sum(durations)
    logs = vits_log_durations(list(durations), getattr(model, "speaking_rate", 1.0) or 1.0)
    real_forward = type(model).forward

    def fixed(module, args, output):
        if output.shape[-1] != len(logs):
            raise ChipfitError(f"VITS got {output.shape[-1]} tokens, but durations for {len(logs)}")
        return torch.tensor(logs, dtype=output.dtype, device=output.device).expand_as(output)

    def forward(*args, **kwargs):
        hook = model.duration_predictor.register_forward_hook(fixed)
        try:
            with _output_length(frames), _masks_all_true():
                return real_forward(model, *args, **kwargs)
        finally:
            hook.remove()

    model.forward = forward
    model.chipfit_durations = tuple(durations)


def _counts(kind: str, inputs: dict[str, Any] | None, seq_len: int | None, name: str) -> dict[str, int]:
    given = dict(DEFAULTS[kind] if inputs is None else inputs)
    unknown = sorted(set(given) - set(DEFAULTS[kind]))
    if unknown:
        raise ChipfitError(f"{name} takes inputs {', '.join(DEFAULTS[kind])}, not {', '.join(unknown)}")
    counts = {**DEFAULTS[kind], **given}
    for key, value in counts.items():
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise ChipfitError(f"{name}: inputs.{key} must be a positive integer, not {value!r}")
    if seq_len is not None and kind in ("text", "vits"):  # more phonemes at the same frames per phoneme
        length, frames = list(DEFAULTS[kind])
        counts[frames] = max(1, round(counts[frames] * seq_len / counts[length]))
        counts[length] = seq_len
    elif seq_len is not None:
        counts["mel_frames"] = seq_len
    return counts


def _text2mel_config(model):
    cfg = model.config
    return getattr(cfg, "model_config", None) or cfg  # FastSpeech2ConformerWithHifiGan nests it


def example_inputs(model, inputs: dict[str, Any] | None, batch: int, seq_len: int | None = None,
                   notes: list[str] | None = None) -> dict[str, Any]:
    """Meta-device keyword inputs for ``model`` as ``inputs`` (or the defaults) describe them.

    For FastSpeech2 and VITS this also fixes the model's durations (:func:`fix_durations`,
    :func:`fix_vits_durations`): the number of frames they write is not an input. What was
    chosen is appended to ``notes``.
    """
    import torch

    name = type(model).__name__
    kind = _kind(model)
    if kind is None:
        raise ChipfitError(f"chipfit does not know how to feed inputs {sorted(inputs or {})} to {name}")
    counts = _counts(kind, inputs, seq_len, name)
    meta = torch.device("meta")
    said = notes if notes is not None else []
    if kind == "vits":
        tokens, frames = counts["tokens"], counts["frames"]
        durations = even_durations(tokens, frames)
        fix_vits_durations(model, durations)
        cfg = model.config
        hop = math.prod(cfg.upsample_rates)
        lo, hi = min(durations), max(durations)
        spread = f"{lo}" if lo == hi else f"{lo} or {hi}"
        said.append(f"{tokens} tokens → {frames} frames → {frames * hop:,} samples (hop {hop}) = "
                    f"{frames * hop / cfg.sampling_rate:.3g} s at {cfg.sampling_rate:,} Hz: durations fixed at "
                    f"{spread} frames per token ({frames}/{tokens} = {frames / tokens:.4g} on average) in place "
                    f"of the duration predictor's output; `seq_len` sets the tokens")
        return {"input_ids": torch.zeros(batch, tokens, dtype=torch.long, device=meta)}
    if kind == "text":
        phonemes, frames = counts["phonemes"], counts["mel_frames"]
        reduction = getattr(_text2mel_config(model), "reduction_factor", 1) or 1
        steps = math.ceil(frames / reduction)  # decoder steps, each writing `reduction` frames
        durations = even_durations(phonemes, steps)
        fix_durations(model, durations)
        lo, hi = min(durations), max(durations)
        spread = f"{lo}" if lo == hi else f"{lo} or {hi}"
        said.append(f"{phonemes} phonemes → {steps * reduction} mel frames: durations fixed at {spread} "
                    f"frames per phoneme ({steps}/{phonemes} = {steps / phonemes:.4g} on average"
                    + (f", × reduction factor {reduction}" if reduction > 1 else "")
                    + ") in place of the duration predictor's output; `seq_len` sets the phonemes")
        return {"input_ids": torch.zeros(batch, phonemes, dtype=torch.long, device=meta)}
    frames = counts["mel_frames"]
    cfg = model.config
    bins = getattr(cfg, "model_in_dim", None) or getattr(cfg, "num_mel_bins", 80)
    hop = math.prod(getattr(cfg, "upsample_rates", None) or [1])
    rate = getattr(cfg, "sampling_rate", None)
    seconds = f" = {frames * hop / rate:.3g} s at {rate:,} Hz" if rate and hop > 1 else ""
    said.append(f"{frames} mel frames of {bins} bins → {frames * hop:,} samples (hop {hop}){seconds}")
    return {"spectrogram": torch.zeros(batch, frames, bins, device=meta)}


__all__ = ["DEFAULTS", "FASTSPEECH2", "VITS", "even_durations", "example_inputs", "fix_durations",
           "fix_vits_durations", "handles", "vits_log_durations"]
