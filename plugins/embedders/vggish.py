"""``vggish``: the standard VGGish embedding (AudioSet) from torchvggish-format weights on local disk.

The network is VGG's configuration "A" cut for 96 x 64 log-mel inputs: 3x3 convolutions with 64, 128,
256, 256, 512, 512 channels (ReLU after each), 2x2 max pooling after the 1st, 2nd, 4th and 6th, then fully
connected layers 12288 -> 4096 -> 4096 -> 128. The parameter names are torchvggish's (``features.0.weight``
... ``embeddings.4.bias``), so its released ``vggish-10086976.pth`` loads as is; its PCA parameters
(``vggish_pca_params-970ea276.pth``: ``pca_eigen_vectors``, ``pca_means``) are optional. Nothing is
downloaded: the weights file is a local path.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from synctrack.audio.io import resample
from synctrack.errors import UserError
from synctrack.interfaces import Embedder

from . import frontend

EMBEDDING_SIZE = 128
CONV_LAYOUT: tuple[int | str, ...] = (64, "M", 128, "M", 256, 256, "M", 512, 512, "M")
PCA_KEYS = {"pproc.pca_matrix": "matrix", "pproc.pca_means": "means", "pca_eigen_vectors": "matrix", "pca_means": "means"}
QUANTIZE_RANGE = (-2.0, 2.0)


class VGGishWeightsError(UserError):
    """A weights file that does not hold VGGish parameters in torchvggish's layout."""


class VGGishNetwork(nn.Module):
    """VGGish: ``[B, 1, 96, 64]`` log-mel examples -> ``[B, 128]`` embeddings (parameter names as torchvggish)."""

    def __init__(self, final_relu: bool = False) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = 1
        for item in CONV_LAYOUT:
            if item == "M":
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            else:
                layers += [nn.Conv2d(channels, int(item), kernel_size=3, padding=1), nn.ReLU(inplace=True)]
                channels = int(item)
        self.features = nn.Sequential(*layers)
        self.embeddings = nn.Sequential(
            nn.Linear(512 * 6 * 4, 4096),
            nn.ReLU(inplace=True),
            nn.Linear(4096, 4096),
            nn.ReLU(inplace=True),
            nn.Linear(4096, EMBEDDING_SIZE),
            nn.ReLU(inplace=True),
        )
        self.final_relu = final_relu

    def forward(self, examples: torch.Tensor) -> torch.Tensor:
        """``examples [B, 1, 96, 64]`` -> ``[B, 128]``."""
        maps = self.features(examples)  # [B, 512, 6, 4]
        # flatten in (time, mel, channel) order, as the TensorFlow original (NHWC) did
        flat = maps.permute(0, 2, 3, 1).reshape(maps.shape[0], -1)
        head = self.embeddings if self.final_relu else self.embeddings[:-1]
        return head(flat)


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """Tensors of a ``.pth``/``.pt`` (``torch.load(weights_only=True)``) or ``.safetensors`` file.

    torchvggish's PCA file holds numpy arrays; those are allowed through torch's weights-only unpickler.
    """
    if not path.is_file():
        raise VGGishWeightsError(f"{path}: VGGish weights file not found (download vggish-10086976.pth once, elsewhere)")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return dict(load_file(str(path)))
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        with torch.serialization.safe_globals(_numpy_globals()):
            try:
                loaded = torch.load(path, map_location="cpu", weights_only=True)
            except Exception as error:
                raise VGGishWeightsError(f"{path}: cannot read as a weights-only torch file ({error})") from None
    except Exception as error:
        raise VGGishWeightsError(f"{path}: cannot read as a torch weights file ({error})") from None
    if isinstance(loaded, dict) and isinstance(loaded.get("state_dict"), dict):
        loaded = loaded["state_dict"]
    if not isinstance(loaded, dict):
        raise VGGishWeightsError(f"{path}: expected a state dict (name -> tensor), got {type(loaded).__name__}")
    return {str(k): torch.as_tensor(np.asarray(v)) if isinstance(v, np.ndarray) else v for k, v in loaded.items()}


def _numpy_globals() -> list[Any]:
    """numpy's array reconstruction, under numpy 2's module name and under numpy 1's (older files)."""
    try:
        from numpy._core import multiarray
    except ImportError:  # numpy 1
        from numpy.core import multiarray
    reconstruct = multiarray._reconstruct
    dtypes = {type(np.dtype(code)) for code in ("f2", "f4", "f8", "i4", "i8")}
    return [
        reconstruct,
        (reconstruct, "numpy.core.multiarray._reconstruct"),
        (reconstruct, "numpy._core.multiarray._reconstruct"),
        np.ndarray,
        np.dtype,
        *dtypes,
    ]


def check_state_dict(state: dict[str, Any], model: nn.Module, source: Path) -> None:
    """Raise :class:`VGGishWeightsError` naming every missing, unexpected or mis-shaped parameter."""
    expected = {name: tuple(t.shape) for name, t in model.state_dict().items()}
    given = {name: tuple(getattr(t, "shape", ())) for name, t in state.items()}
    missing = [name for name in expected if name not in given]
    unexpected = [name for name in given if name not in expected]
    mismatched = [f"{name}: expected {expected[name]}, got {given[name]}" for name in expected if name in given and given[name] != expected[name]]
    if not (missing or unexpected or mismatched):
        return

    def listed(items: list[str]) -> str:
        return ", ".join(items[:8]) + (f" (+{len(items) - 8} more)" if len(items) > 8 else "")

    parts = []
    if mismatched:
        parts.append(f"wrong shapes: {listed(mismatched)}")
    if missing:
        parts.append(f"missing keys: {listed(missing)}")
    if unexpected:
        parts.append(f"unexpected keys: {listed(unexpected)}")
    raise VGGishWeightsError(
        f"{source}: not VGGish weights in torchvggish's layout (features.0.weight ... embeddings.4.bias): "
        + "; ".join(parts)
    )


class VGGishEmbedder(Embedder):
    """VGGish embeddings at 16 kHz from local torchvggish-format weights (the standard FAD embedding).

    ``final_relu`` keeps torchvggish's last ReLU (Google's FAD reads the layer before it); ``postprocess``
    applies AudioSet's PCA and 8-bit quantisation (needs PCA parameters, in ``weights`` or ``pca``).
    """

    sample_rate = frontend.SAMPLE_RATE

    def __init__(
        self,
        weights: Path,
        pca: Path | None = None,
        final_relu: bool = False,
        postprocess: bool = False,
        batch_size: int = 64,
    ) -> None:
        self.weights = Path(weights)
        self.pca = None if pca is None else Path(pca)
        self.final_relu = final_relu
        self.postprocess = postprocess
        self.batch_size = max(1, int(batch_size))
        self.comparable_to_published = not final_relu and not postprocess
        self._network: VGGishNetwork | None = None
        self._pca: tuple[torch.Tensor, torch.Tensor] | None = None

    @property
    def label(self) -> str:
        return "vggish" if self.comparable_to_published else "vggish (nonstandard head)"

    def prepare(self) -> None:
        """Load and check the weights (and PCA parameters); called once, before any audio is read."""
        if self._network is not None:
            return
        state = read_state_dict(self.weights)
        pca = {PCA_KEYS[k]: state.pop(k) for k in list(state) if k in PCA_KEYS}
        if self.pca is not None:
            extra = read_state_dict(self.pca)
            pca.update({PCA_KEYS[k]: v for k, v in extra.items() if k in PCA_KEYS})
        network = VGGishNetwork(final_relu=self.final_relu)
        check_state_dict(state, network, self.weights)
        network.load_state_dict(state)
        self._network = network.eval()
        if self.postprocess:
            self._pca = self._check_pca(pca)

    def _check_pca(self, pca: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        where = self.pca or self.weights
        if set(pca) != {"matrix", "means"}:
            raise VGGishWeightsError(
                f"{where}: postprocess needs PCA parameters (pca_eigen_vectors and pca_means, or pproc.pca_matrix "
                "and pproc.pca_means); pass pca: PATH to torchvggish's vggish_pca_params file"
            )
        matrix, means = pca["matrix"].double(), pca["means"].double().reshape(-1, 1)
        if matrix.shape != (EMBEDDING_SIZE, EMBEDDING_SIZE) or means.shape != (EMBEDDING_SIZE, 1):
            raise VGGishWeightsError(
                f"{where}: PCA parameters must be [128, 128] and [128], got {tuple(matrix.shape)} and {tuple(means.shape)}"
            )
        return matrix, means

    @torch.no_grad()
    def embed(self, waveforms: np.ndarray, sample_rate: int) -> np.ndarray:
        """``waveforms [N, L]`` at ``sample_rate`` -> ``[M, 128]`` embeddings of every 0.96 s example."""
        self.prepare()
        assert self._network is not None
        batches = [frontend.examples(resample(w, sample_rate, self.sample_rate)) for w in np.atleast_2d(np.asarray(waveforms, np.float32))]
        stacked = torch.from_numpy(np.concatenate(batches))[:, None]  # [M, 1, 96, 64]
        outputs = [self._network(chunk) for chunk in stacked.split(self.batch_size)] if len(stacked) else []
        embeddings = torch.cat(outputs).double() if outputs else torch.zeros(0, EMBEDDING_SIZE, dtype=torch.float64)
        if self.postprocess and len(embeddings):
            matrix, means = self._pca
            low, high = QUANTIZE_RANGE
            projected = (matrix @ (embeddings.T - means)).T.clamp(low, high)
            embeddings = torch.round((projected - low) * (255.0 / (high - low)))
        return embeddings.numpy()

    def notes(self) -> list[str]:
        if self.comparable_to_published:
            return [
                "FAD uses VGGish: comparable with published FAD only with the official torchvggish weights "
                "(vggish-10086976.pth) and the same clips, sample rate (16 kHz) and set sizes"
            ]
        return ["FAD uses VGGish with final_relu or postprocess set: NOT comparable with published FAD"]
