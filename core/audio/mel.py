"""The log-mel front end shared by the mel encoders and the vocoders (MusicLDM's settings by default).

Defaults (MusicLDM / AudioLDM): 16 kHz mono, a periodic Hann window of ``win_length = n_fft = 1024``,
hop 160 (10 ms), the STFT magnitude (not power), 64 Slaney-normalised mel filters on the Slaney mel scale
(librosa's default filterbank) from 0 to 8000 Hz, and natural-log compression with a floor:
``log(max(mel, 1e-5))``.

Framing. A clip of ``L`` samples gives exactly ``L // hop_length`` frames, so 10.24 s at 16 kHz
(163840 samples) gives 1024 frames and a vocoder that upsamples each frame by ``hop_length`` returns the
original length. This is how MusicLDM frames its clips: the STFT is *centred* (the signal is
reflect-padded by ``n_fft // 2`` on both sides, frame ``k`` is centred on sample ``k * hop``), which gives
``L // hop + 1`` frames; the last frame (centred on, or just after, the final sample, and mostly padding)
is dropped, as MusicLDM's crop of the spectrogram to its 1024-frame target length does.

Valid range. Audio in [-1, 1] gives log-mel values between ``log(log_floor)`` and a ceiling, ``log(sum(window)
* max_m sum_k filterbank[k, m])`` (about 3.5 with the defaults): :func:`log_mel_range`. Decoders and vocoders
clamp what they are given to it (:meth:`MelSpectrogram.clamp_to_range`), so that an untrained model's
absurd outputs (a log-mel of 300 overflows ``exp``) still give finite audio.

Normalisation. :meth:`MelSpectrogram.normalize` maps log-mel values affinely so that the floor (silence,
``log(1e-5)`` = -11.51) becomes -1 and ``log_max`` (2.5 by default) becomes +1. A full-scale sinusoid peaks
at about 2.2 (0.96 normalised); the transform is not clipped, so the denormalised values are exactly the
log-mel values.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import torch
import torchaudio
from torch import nn

from ..errors import UserError


class MelConfigError(UserError):
    """Mel settings that cannot work together; the message names the setting."""


@dataclass(frozen=True)
class MelConfig:
    """Settings of the log-mel front end; every encoder and vocoder that exchanges mels holds one.

    Attributes:
        sample_rate: audio rate in Hz.
        n_fft: FFT size (frequency bins: ``n_fft // 2 + 1``).
        win_length: Hann window length, at most ``n_fft``.
        hop_length: samples between frames; a clip of ``L`` samples has ``L // hop_length`` frames.
        n_mels: mel filters.
        f_min, f_max: band of the filterbank in Hz; ``f_max=None`` means ``sample_rate / 2``.
        log_floor: magnitudes below it are clamped before the log (silence is ``log(log_floor)``).
        log_max: the log-mel value that :meth:`MelSpectrogram.normalize` maps to +1.
    """

    sample_rate: int = 16000
    n_fft: int = 1024
    win_length: int = 1024
    hop_length: int = 160
    n_mels: int = 64
    f_min: float = 0.0
    f_max: float | None = 8000.0
    log_floor: float = 1e-5
    log_max: float = 2.5

    def __post_init__(self) -> None:
        problems = []
        for name in ("sample_rate", "n_fft", "win_length", "hop_length", "n_mels"):
            if getattr(self, name) <= 0:
                problems.append(f"{name} must be positive, got {getattr(self, name)}")
        if self.win_length > self.n_fft:
            problems.append(f"win_length ({self.win_length}) must not exceed n_fft ({self.n_fft})")
        if self.f_max is not None and self.f_max > self.sample_rate / 2:
            problems.append(f"f_max ({self.f_max} Hz) is above the Nyquist frequency ({self.sample_rate / 2} Hz)")
        if not 0 <= self.f_min < self.top_frequency:
            problems.append(f"f_min ({self.f_min} Hz) must lie in [0, f_max = {self.top_frequency} Hz)")
        if self.log_floor <= 0:
            problems.append(f"log_floor must be positive, got {self.log_floor}")
        elif self.log_max <= math.log(self.log_floor):
            problems.append(f"log_max ({self.log_max}) must exceed log(log_floor) = {math.log(self.log_floor):.3f}")
        if problems:
            raise MelConfigError("mel settings: " + "; ".join(problems))

    @classmethod
    def of(cls, value: MelConfig | Mapping[str, Any] | None) -> MelConfig:
        """``value`` as a MelConfig: a MelConfig, a mapping of its fields (as Python callers may pass), or None."""
        if value is None:
            return cls()
        if isinstance(value, Mapping):
            return cls(**value)
        if not isinstance(value, cls):
            raise TypeError(f"expected a MelConfig or a mapping of its fields, got {value!r}")
        return value

    @property
    def top_frequency(self) -> float:
        """``f_max``, with ``None`` resolved to the Nyquist frequency."""
        return self.sample_rate / 2 if self.f_max is None else float(self.f_max)

    @property
    def n_freqs(self) -> int:
        return self.n_fft // 2 + 1

    def num_frames(self, num_samples: int) -> int:
        """Frames of a clip of ``num_samples`` samples: ``num_samples // hop_length``."""
        return num_samples // self.hop_length

    def num_samples(self, num_frames: int) -> int:
        """Samples a vocoder makes from ``num_frames`` frames: ``num_frames * hop_length``."""
        return num_frames * self.hop_length

    def as_dict(self) -> dict:
        return asdict(self)

    def differences(self, other: MelConfig) -> list[str]:
        """The settings in which ``other`` differs, as ``"n_mels: 64 != 80"``; empty when they agree."""
        mine, theirs = self.as_dict(), other.as_dict()
        return [f"{key}: {mine[key]} != {theirs[key]}" for key in mine if mine[key] != theirs[key]]


def check_mel_compatible(encoder: Any, vocoder: Any) -> None:
    """Raise a :class:`MelConfigError` when a mel encoder's output does not fit a vocoder's input.

    Encoders that decode to waveforms need no vocoder and always pass.
    """
    if getattr(encoder, "decodes_to", "mel") != "mel":
        return
    differences = MelConfig.of(encoder.mel_config).differences(MelConfig.of(vocoder.mel_config))
    if differences:
        raise MelConfigError(
            f"the encoder's mels do not fit the vocoder ({'; '.join(differences)}, encoder first); give both "
            f"the same `mel:` settings in the recipe"
        )


@functools.lru_cache(maxsize=32)
def log_mel_range(config: MelConfig) -> tuple[float, float]:
    """``(lowest, highest)`` log-mel value audio in [-1, 1] can produce with ``config``.

    The lowest is the floor, ``log(log_floor)``. The highest bounds every frame: ``|X_k| <= sum(window)`` for a
    signal in [-1, 1] (reflect padding keeps it there), so a mel band is at most ``sum(window)`` times the
    sum of its filter weights.
    """
    window = torch.hann_window(config.win_length, device="cpu", dtype=torch.float64)
    band_weight = mel_filterbank(config).double().sum(dim=0).max()
    return math.log(config.log_floor), math.log(max(float(window.sum() * band_weight), config.log_floor))


def mel_filterbank(config: MelConfig) -> torch.Tensor:
    """The ``[n_freqs, n_mels]`` filterbank: Slaney mel scale, Slaney (area) normalisation, like librosa's.

    Always computed on the CPU (its construction needs real values, also when parts are built on the meta
    device to count their parameters); ``.to(device)`` moves it with its module.
    """
    with torch.device("cpu"):
        return _slaney_filterbank(config)


def _slaney_filterbank(config: MelConfig) -> torch.Tensor:
    return torchaudio.functional.melscale_fbanks(
        n_freqs=config.n_freqs,
        f_min=float(config.f_min),
        f_max=config.top_frequency,
        n_mels=config.n_mels,
        sample_rate=config.sample_rate,
        norm="slaney",
        mel_scale="slaney",
    )


class MelSpectrogram(nn.Module):
    """Waveforms ``[..., L]`` -> log-mel ``[..., n_mels, L // hop_length]`` (any leading dims, e.g. ``[B, S]``).

    Differentiable (the HiFi-GAN mel loss backpropagates through it). Its buffers are derived from the
    config and are not saved in state dicts.
    """

    def __init__(self, config: MelConfig | None = None) -> None:
        super().__init__()
        self.config = MelConfig.of(config)
        self.register_buffer("window", torch.hann_window(self.config.win_length), persistent=False)
        self.register_buffer("filterbank", mel_filterbank(self.config), persistent=False)

    def magnitude(self, waveforms: torch.Tensor) -> torch.Tensor:
        """STFT magnitude ``[..., n_freqs, L // hop_length]`` with the framing described in the module doc."""
        config = self.config
        length = waveforms.shape[-1]
        if length <= config.n_fft // 2:
            raise ValueError(
                f"waveforms of {length} samples are too short for the mel front end: centred framing "
                f"reflect-pads by n_fft // 2 = {config.n_fft // 2} samples, so clips need more than that"
            )
        leading = waveforms.shape[:-1]
        flat = waveforms.reshape(-1, length)
        spectrum = torch.stft(
            flat,
            n_fft=config.n_fft,
            hop_length=config.hop_length,
            win_length=config.win_length,
            window=self.window.to(flat.dtype),
            center=True,
            pad_mode="reflect",
            return_complex=True,
        )
        magnitude = spectrum.abs()[..., : config.num_frames(length)]  # drop the trailing, mostly padded, frame
        return magnitude.reshape(*leading, *magnitude.shape[-2:])

    def mel(self, magnitude: torch.Tensor) -> torch.Tensor:
        """Linear magnitude ``[..., n_freqs, frames]`` -> mel magnitude ``[..., n_mels, frames]``."""
        return torch.matmul(self.filterbank.to(magnitude.dtype).transpose(0, 1), magnitude)

    def compress(self, mel: torch.Tensor) -> torch.Tensor:
        """Mel magnitude -> log-mel: ``log(max(mel, log_floor))``."""
        return torch.log(torch.clamp(mel, min=self.config.log_floor))

    def clamp_to_range(self, log_mel: torch.Tensor) -> torch.Tensor:
        """Log-mel clamped to :func:`log_mel_range` (infinities too; NaN stays NaN, a broken model shows)."""
        low, high = log_mel_range(self.config)
        return log_mel.clamp(low, high)

    def decompress(self, log_mel: torch.Tensor) -> torch.Tensor:
        """Log-mel -> mel magnitude (the floor is not undone)."""
        return torch.exp(log_mel)

    def forward(self, waveforms: torch.Tensor) -> torch.Tensor:
        """Waveforms ``[..., L]`` -> log-mel ``[..., n_mels, L // hop_length]``."""
        return self.compress(self.mel(self.magnitude(waveforms)))

    # -- the documented range used by the ``mel`` encoder ---------------------------------------------------

    @property
    def log_min(self) -> float:
        """The log-mel of silence, ``log(log_floor)``: normalised to -1."""
        return math.log(self.config.log_floor)

    def normalize(self, log_mel: torch.Tensor) -> torch.Tensor:
        """Log-mel -> normalised: ``log(log_floor)`` -> -1, ``log_max`` -> +1 (affine, not clipped)."""
        low, high = self.log_min, self.config.log_max
        return (log_mel - low) * (2.0 / (high - low)) - 1.0

    def denormalize(self, normalized: torch.Tensor) -> torch.Tensor:
        """Inverse of :meth:`normalize`."""
        low, high = self.log_min, self.config.log_max
        return (normalized + 1.0) * ((high - low) / 2.0) + low

    def silence(self, *shape: int, device: torch.device | None = None, dtype: torch.dtype | None = None) -> torch.Tensor:
        """A log-mel tensor of ``shape`` holding silence (the floor), for padding."""
        return torch.full(shape, self.log_min, device=device, dtype=dtype)

    def extra_repr(self) -> str:
        return ", ".join(f"{key}={value}" for key, value in self.config.as_dict().items())
