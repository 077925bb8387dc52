"""Audio input and output (soundfile), resampling (torchaudio) and the log-mel front end."""

from .io import AudioError, load_audio, save_audio, write_song
from .mel import MelConfig, MelConfigError, MelSpectrogram, check_mel_compatible, log_mel_range, mel_filterbank

__all__ = [
    "AudioError",
    "MelConfig",
    "MelConfigError",
    "MelSpectrogram",
    "check_mel_compatible",
    "load_audio",
    "log_mel_range",
    "mel_filterbank",
    "save_audio",
    "write_song",
]
