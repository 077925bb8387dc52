"""Attention backends: sdpa and the xformers adapter agree with the naive reference; selection rules."""

from __future__ import annotations

import sys
import types

import pytest
import torch

from synctrack.attention import BACKENDS, AttentionBackendError, attend, resolve_backend, use_backend
from synctrack.attention import dispatch
from synctrack.attention.dispatch import naive_attention
from synctrack.interfaces import AttentionKernel
from synctrack.registry import Registry


def relative_error(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.detach(), b.detach()
    return float((a - b).norm() / b.norm().clamp_min(1e-30))


def random_qkv(batch=3, heads=4, queries=37, keys=53, dim=16, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return [torch.randn(batch, heads, n, dim, generator=generator, dtype=torch.float64).float().requires_grad_()
            for n in (queries, keys, keys)]


def key_mask(batch=3, keys=53, seed=1):
    generator = torch.Generator().manual_seed(seed)
    mask = torch.rand(batch, keys, generator=generator) > 0.4
    mask[1] = False  # a song with no key at all
    return mask


@pytest.mark.parametrize("masked", [False, True], ids=["no-mask", "key-mask"])
def test_sdpa_matches_naive_in_outputs_and_gradients(masked):
    mask = key_mask() if masked else None
    grads = {}
    outputs = {}
    for name in ("naive", "sdpa"):
        q, k, v = random_qkv()
        out = attend(q, k, v, key_mask=mask, backend=name)
        (out * torch.linspace(-1, 1, out.numel()).reshape(out.shape)).sum().backward()
        outputs[name] = out.detach()
        grads[name] = [t.grad for t in (q, k, v)]
    assert relative_error(outputs["sdpa"], outputs["naive"]) <= 1e-5
    for grad_sdpa, grad_naive in zip(grads["sdpa"], grads["naive"]):
        assert relative_error(grad_sdpa, grad_naive) <= 1e-5


@pytest.mark.parametrize("backend", ["naive", "sdpa"])
def test_queries_without_keys_get_zeros_not_nan(backend):
    q, k, v = random_qkv()
    out = attend(q, k, v, key_mask=key_mask(), backend=backend)
    assert torch.isfinite(out).all()
    assert torch.count_nonzero(out[1]) == 0
    out.sum().backward()
    assert all(torch.isfinite(t.grad).all() for t in (q, k, v))


def test_masked_keys_have_no_influence():
    q, k, v = random_qkv()
    mask = key_mask()
    changed_k, changed_v = k.detach().clone(), v.detach().clone()
    hidden = (~mask)[:, None, :, None].expand_as(changed_k)
    changed_k[hidden] += 50.0
    changed_v[hidden] -= 50.0
    for backend in ("naive", "sdpa"):
        torch.testing.assert_close(attend(q, k, v, mask, backend), attend(q, changed_k, changed_v, mask, backend), rtol=0, atol=1e-6)


@pytest.fixture
def fake_xformers(monkeypatch):
    """A stand-in for xformers.ops: checks the [B, M, H, K] layout and the bias, computes with einsum."""
    calls = []

    def memory_efficient_attention(query, key, value, attn_bias=None):
        assert query.dim() == 4 and query.shape[2] == 4, "xformers layout is [B, M, H, K]"
        if attn_bias is not None:
            assert attn_bias.shape == (query.shape[0], query.shape[2], query.shape[1], key.shape[1])
            assert attn_bias.untyped_storage().nbytes() // attn_bias.element_size() % 8 == 0
        calls.append({"query": query.shape, "bias": None if attn_bias is None else attn_bias.detach().clone()})
        scores = torch.einsum("bmhk,bnhk->bhmn", query, key) / query.shape[-1] ** 0.5
        if attn_bias is not None:
            scores = scores + attn_bias
        return torch.einsum("bhmn,bnhk->bmhk", scores.softmax(-1), value)

    ops = types.ModuleType("xformers.ops")
    ops.memory_efficient_attention = memory_efficient_attention
    package = types.ModuleType("xformers")
    package.ops = ops
    package.__spec__ = types.SimpleNamespace(name="xformers")
    monkeypatch.setitem(sys.modules, "xformers", package)
    monkeypatch.setitem(sys.modules, "xformers.ops", ops)
    monkeypatch.setattr("importlib.util.find_spec", lambda name, *a: object() if name == "xformers" else None)
    return calls


def test_xformers_adapter_round_trips_layout_and_translates_the_mask(fake_xformers, monkeypatch):
    monkeypatch.setattr(BACKENDS["xformers"], "device_types", frozenset({"cpu", "cuda"}))
    q, k, v = random_qkv()
    mask = key_mask()
    mask[1, :3] = True  # every song has a key, so the kernel receives the mask itself
    out = attend(q, k, v, key_mask=mask, backend="xformers")
    reference = naive_attention(q, k, v, mask)
    assert relative_error(out, reference) <= 1e-5
    (call,) = fake_xformers
    assert call["query"] == (3, 37, 4, 16)
    bias = call["bias"]
    assert torch.equal(torch.isinf(bias), (~mask)[:, None, None, :].expand_as(bias))
    assert torch.all(bias[torch.isfinite(bias)] == 0)


def test_explicit_xformers_on_cpu_says_why_and_how_to_fix(fake_xformers):
    q, k, v = random_qkv()
    with pytest.raises(AttentionBackendError, match="runs only on cuda devices, and the tensors are on cpu"):
        attend(q, k, v, backend="xformers")


def test_missing_xformers_names_the_extra(monkeypatch):
    monkeypatch.setattr("importlib.util.find_spec", lambda name, *a: None)
    with pytest.raises(AttentionBackendError, match=r"'xformers' is not installed \(pip install 'synctrack\[xformers\]'"):
        resolve_backend("xformers", torch.device("cpu"))


def test_auto_uses_sdpa_on_cpu_even_when_xformers_imports(fake_xformers):
    assert resolve_backend("auto", torch.device("cpu")).name == "sdpa"
    assert resolve_backend(None, torch.device("cpu")).name == "sdpa"


def test_selection_order_context_then_recipe_then_environment(monkeypatch):
    cpu = torch.device("cpu")
    monkeypatch.setenv("SYNCTRACK_ATTENTION", "naive")
    assert resolve_backend(None, cpu).name == "naive"
    assert resolve_backend("sdpa", cpu).name == "sdpa"
    with use_backend("naive"):
        assert resolve_backend("sdpa", cpu).name == "naive"
    monkeypatch.setenv("SYNCTRACK_ATTENTION", "flash")
    with pytest.raises(AttentionBackendError, match=r"\$SYNCTRACK_ATTENTION: unknown attention backend 'flash'"):
        resolve_backend(None, cpu)
    with pytest.raises(AttentionBackendError, match="did you mean 'sdpa'"):
        with use_backend("spda"):
            pass


class Recording(AttentionKernel):
    """A plugin's kernel for the tests: the naive kernel, counting its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, q, k, v, key_mask):
        self.calls += 1
        return naive_attention(q, k, v, key_mask)


@pytest.fixture
def plugin_kernel(monkeypatch):
    """A registry holding one plugin kernel, ``recording``, as a third-party package would register it."""
    registry = Registry()
    registry.add("attention_backend", "recording", Recording, plugin="third-party")
    monkeypatch.setattr(dispatch, "_registry", lambda: registry)
    monkeypatch.setattr(dispatch, "_plugged", {})
    return registry


def test_a_plugin_kernel_runs_when_chosen_by_name(plugin_kernel):
    q, k, v = (torch.randn(2, 2, 5, 4) for _ in range(3))
    mask = torch.tensor([[True, True, False, True, True], [False] * 5])
    with use_backend("recording"):
        out = attend(q, k, v, key_mask=mask)
    kernel = dispatch.get_backend("recording")
    assert kernel.calls == 1
    assert torch.allclose(out, attend(q, k, v, key_mask=mask, backend="naive"))
    assert torch.equal(out[1], torch.zeros_like(out[1]))  # the dispatch still zeroes queries with no keys
    assert resolve_backend("recording", torch.device("cpu")) is kernel  # built once, then reused


def test_unknown_names_list_the_plugin_kernels_too(plugin_kernel):
    with pytest.raises(AttentionBackendError, match="unknown attention backend 'recordin'.*did you mean 'recording'"):
        resolve_backend("recordin", torch.device("cpu"))
    assert dispatch.backend_names() == ["auto", "naive", "sdpa", "xformers", "recording"]


def test_a_plugin_kernel_that_needs_a_missing_module_says_how_to_get_it(plugin_kernel):
    class NeedsFlash(Recording):
        requires_module = "flash_attn_not_installed_here"
        install_hint = "pip install flash-attn"

    plugin_kernel.add("attention_backend", "flash", NeedsFlash, plugin="third-party")
    with pytest.raises(AttentionBackendError, match="'flash_attn_not_installed_here' is not installed \\(pip install flash-attn\\)"):
        resolve_backend("flash", torch.device("cpu"))


def test_a_factory_that_builds_no_kernel_is_named(plugin_kernel):
    plugin_kernel.add("attention_backend", "wrong", lambda: object(), plugin="sloppy")
    with pytest.raises(AttentionBackendError, match="'wrong' \\(plugin 'sloppy'\\) built a object, not an AttentionKernel"):
        resolve_backend("wrong", torch.device("cpu"))


def test_the_built_in_kernels_are_registered_and_a_recipe_refuses_an_unknown_one(repo):
    from synctrack import get_registry, load_recipe
    from synctrack.errors import RecipeError

    assert get_registry().names("attention_backend") == ["naive", "sdpa", "xformers"]
    recipe = load_recipe(repo / "recipes/tiny.yaml", ["model.denoiser.attention_backend=sdpaa"])
    with pytest.raises(RecipeError, match="unknown attention backend 'sdpaa'"):
        recipe.build("model.denoiser")
