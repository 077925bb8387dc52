"""Audio input and output (soundfile) and resampling (torchaudio)."""

from .io import AudioError, load_audio, save_audio, write_song

__all__ = ["AudioError", "load_audio", "save_audio", "write_song"]
