"""The VGGish embedder loads torchvggish-format weights from a local file and rejects anything else."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from synctrack import get_registry
from synctrack.plugins.embedders import frontend
from synctrack.plugins.embedders.vggish import VGGishEmbedder, VGGishWeightsError

RATE = 16000
# torchvggish's parameter names and shapes, written out here independently of the module under test
CONVOLUTIONS = {0: (64, 1), 3: (128, 64), 6: (256, 128), 8: (256, 256), 11: (512, 256), 13: (512, 512)}
LINEARS = {0: (4096, 12288), 2: (4096, 4096), 4: (128, 4096)}


def torchvggish_state_dict(seed=0):
    generator = torch.Generator().manual_seed(seed)
    state = {}
    for index, (out, into) in CONVOLUTIONS.items():
        state[f"features.{index}.weight"] = torch.randn(out, into, 3, 3, generator=generator) * (2 / (9 * into)) ** 0.5
        state[f"features.{index}.bias"] = torch.randn(out, generator=generator) * 0.01
    for index, (out, into) in LINEARS.items():
        state[f"embeddings.{index}.weight"] = torch.randn(out, into, generator=generator) * (2 / into) ** 0.5
        state[f"embeddings.{index}.bias"] = torch.randn(out, generator=generator) * 0.01
    return state


def manual_forward(state, examples, final_relu):
    """VGGish written with torch.nn.functional, flattening as torchvggish does (two transposes)."""
    x = examples
    for index in CONVOLUTIONS:
        x = F.relu(F.conv2d(x, state[f"features.{index}.weight"], state[f"features.{index}.bias"], padding=1))
        if index in (0, 3, 8, 13):
            x = F.max_pool2d(x, 2, 2)
    x = torch.transpose(torch.transpose(x, 1, 3), 1, 2).contiguous().view(x.size(0), -1)
    for index in LINEARS:
        x = F.linear(x, state[f"embeddings.{index}.weight"], state[f"embeddings.{index}.bias"])
        if index != 4 or final_relu:
            x = F.relu(x)
    return x


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    folder = tmp_path_factory.mktemp("vggish")
    state = torchvggish_state_dict()
    torch.save(state, folder / "vggish-random.pth")
    return folder / "vggish-random.pth", state


@pytest.fixture(scope="module")
def clip():
    return np.random.default_rng(0).normal(scale=0.1, size=int(2.5 * RATE)).astype(np.float32)


def test_loads_torchvggish_weights_and_computes_the_standard_network(weights, clip):
    path, state = weights
    embedder = get_registry().get("embedder", "vggish").factory(weights=path)
    embedder.prepare()
    embeddings = embedder.embed(clip[None], RATE)
    assert embeddings.shape == (2, 128)
    examples = torch.from_numpy(frontend.examples(clip))[:, None]
    with torch.no_grad():
        expected = manual_forward(state, examples, final_relu=False).double().numpy()
    np.testing.assert_allclose(embeddings, expected, rtol=1e-4, atol=1e-5)
    assert (embeddings < 0).any()  # Google's FAD reads the layer before torchvggish's last ReLU
    assert embedder.comparable_to_published and embedder.label == "vggish"


def test_final_relu_and_pca_postprocessing(weights, clip, tmp_path):
    path, _ = weights
    rng = np.random.default_rng(1)
    pca = {"pca_eigen_vectors": rng.normal(size=(128, 128)).astype(np.float32), "pca_means": rng.normal(size=(128,))}
    torch.save(pca, tmp_path / "vggish_pca_params.pth")  # numpy arrays, as torchvggish ships them
    plain = VGGishEmbedder(path).embed(clip[None], RATE)
    processed = VGGishEmbedder(path, pca=tmp_path / "vggish_pca_params.pth", postprocess=True, final_relu=True)
    quantised = processed.embed(clip[None], RATE)
    relu = np.maximum(plain, 0.0)
    projected = np.clip((pca["pca_eigen_vectors"].astype(np.float64) @ (relu.T - pca["pca_means"][:, None])).T, -2, 2)
    np.testing.assert_allclose(quantised, np.round((projected + 2) * 255 / 4), atol=1.0)
    assert quantised.min() >= 0 and quantised.max() <= 255
    assert not processed.comparable_to_published
    assert any("NOT comparable" in note for note in processed.notes())


def test_safetensors_weights_give_the_same_embeddings(weights, clip, tmp_path):
    from safetensors.torch import save_file

    path, state = weights
    save_file(state, tmp_path / "vggish.safetensors")
    np.testing.assert_array_equal(
        VGGishEmbedder(tmp_path / "vggish.safetensors").embed(clip[None], RATE), VGGishEmbedder(path).embed(clip[None], RATE)
    )


def test_mismatched_state_dicts_are_rejected_naming_keys_and_shapes(tmp_path):
    state = {
        "features.0.weight": torch.zeros(32, 1, 3, 3),
        "features.0.bias": torch.zeros(64),
        "classifier.weight": torch.zeros(10, 128),
    }
    torch.save(state, tmp_path / "other.pth")
    with pytest.raises(VGGishWeightsError) as caught:
        VGGishEmbedder(tmp_path / "other.pth").prepare()
    message = str(caught.value)
    assert str(tmp_path / "other.pth") in message
    assert "features.0.weight: expected (64, 1, 3, 3), got (32, 1, 3, 3)" in message
    assert "missing keys: features.3.weight" in message and "more)" in message  # long lists are cut short
    assert "unexpected keys: classifier.weight" in message


def test_postprocess_without_pca_parameters_is_rejected(weights):
    path, _ = weights
    with pytest.raises(VGGishWeightsError, match="postprocess needs PCA parameters"):
        VGGishEmbedder(path, postprocess=True).prepare()


def test_missing_or_unreadable_weights_are_clear_errors(tmp_path):
    with pytest.raises(VGGishWeightsError, match="weights file not found"):
        VGGishEmbedder(tmp_path / "absent.pth").prepare()
    (tmp_path / "junk.pth").write_bytes(b"not a torch file")
    with pytest.raises(VGGishWeightsError, match="cannot read"):
        VGGishEmbedder(tmp_path / "junk.pth").prepare()
    torch.save([1, 2, 3], tmp_path / "list.pth")
    with pytest.raises(VGGishWeightsError, match="expected a state dict"):
        VGGishEmbedder(tmp_path / "list.pth").prepare()
