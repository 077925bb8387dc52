"""The mixer contract as checks a plugin's own tests can run: ``synctrack.testing``.

Every cross-track mixer must keep a few invariants, whatever it computes; the U-Net and the training code
rely on them. :func:`check_mixer` builds a mixer from a recipe node (its registered name, or
``{type: NAME, ...arguments}``), gives its parameters random values (zero-initialised output layers would
hide every fault) and checks that

- ``songs``: a song's update never depends on another song of the batch;
- ``masked tracks``: a masked track gets a zero update and changes no other track's update;
- ``track order``: permuting a song's tracks (with their mask) permutes the update;
- ``track counts``: any number of tracks (1, 2, 8) gives an update of the tokens' shape;
- ``gradients``: every parameter gets a non-zero gradient;
- ``zero_init``: with ``zero_init: true`` (when the mixer takes it) the update is exactly zero.

A failed check raises ``AssertionError`` naming the check and the mixer. A third-party package tests its
mixer with one import::

    from synctrack.testing import check_mixer

    def test_my_mixer_keeps_the_contract():
        check_mixer({"type": "track_mean"})

:func:`registered_mixers` lists the registered mixers' example nodes, to check every mixer of a registry
(synctrack's own test suite does this for the built-in ones).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from .interfaces import Mixer

GRID = (4, 3)  # T' x F' tokens per track
CHECKS = ("songs", "masked tracks", "track order", "track counts", "gradients", "zero_init")


def randomize(module: nn.Module, seed: int = 0, scale: float = 0.2) -> nn.Module:
    """Give every parameter a random value (norm weights near 1): zero-initialised branches hide faults."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, parameter in module.named_parameters():
            noise = torch.randn(parameter.shape, generator=generator) * scale
            is_norm_weight = name.endswith("weight") and parameter.dim() == 1
            parameter.copy_(1.0 + noise if is_norm_weight else noise)
    return module


def registered_mixers(registry: Any = None) -> list[dict[str, Any]]:
    """The example node (``{type: NAME, **example}``) of every mixer in ``registry`` (default: synctrack's)."""
    if registry is None:
        from .plugin_manager import get_registry

        registry = get_registry()
    return [part.node() for part in registry.parts("mixer")]


def check_mixer(node: str | dict[str, Any], dim: int = 16, registry: Any = None,
                checks: tuple[str, ...] = CHECKS) -> list[str]:
    """Run the contract ``checks`` on the mixer of recipe ``node`` built for ``dim`` channels; returns the
    names of the checks that ran (``zero_init`` only runs for a mixer that takes the argument)."""
    unknown = sorted(set(checks) - set(CHECKS))
    if unknown:
        raise ValueError(f"unknown checks {unknown}; known: {', '.join(CHECKS)}")
    node = {"type": node} if isinstance(node, str) else dict(node)

    def build(seed: int = 0, **extra: Any) -> Mixer:
        from .recipe import PartSpec, build as build_node

        if registry is None:
            from .plugin_manager import get_registry

            chosen = get_registry()
        else:
            chosen = registry
        mixer = build_node({**node, **extra}, PartSpec[Mixer], chosen)(dim=dim).eval()
        return mixer if extra.get("zero_init") else randomize(mixer, seed)

    ran = []
    for name in checks:
        if name == "zero_init" and not _takes(build, node, "zero_init"):
            continue
        try:
            _CHECKS[name](build, dim)
        except AssertionError as failure:
            raise AssertionError(f"mixer {node}: check {name!r} failed: {failure}") from None
        except Exception as error:  # a mixer that crashes on a check's input fails that check
            raise AssertionError(f"mixer {node}: check {name!r} failed: it raised {type(error).__name__}: {error}") from error
        ran.append(name)
    return ran


def _takes(build: Callable[..., Mixer], node: dict[str, Any], argument: str) -> bool:
    mixer_class = type(build())
    return argument in inspect.signature(mixer_class.__init__).parameters


def _tokens(batch: int = 3, tracks: int = 4, dim: int = 16, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(batch, tracks, GRID[0] * GRID[1], dim, generator=generator)


def _mask(batch: int = 3, tracks: int = 4) -> torch.Tensor:
    present = torch.ones(batch, tracks, dtype=torch.bool)
    present[0, 2] = False
    present[2, 0] = False
    return present


def _songs(build: Callable[..., Mixer], dim: int) -> None:
    mixer, x, present = build(), _tokens(dim=dim), _mask()
    changed = x.clone()
    changed[1] = torch.randn_like(changed[1]) * 5
    with torch.no_grad():
        before, after = mixer(x, GRID, present), mixer(changed, GRID, present)
    assert torch.equal(before[0], after[0]) and torch.equal(before[2], after[2]), \
        "changing song 1 of a batch of 3 changed the update of song 0 or 2"


def _masked_tracks(build: Callable[..., Mixer], dim: int) -> None:
    mixer, x, present = build(), _tokens(dim=dim), _mask()
    changed = x.clone()
    changed[0, 2] += 100.0  # a masked track
    with torch.no_grad():
        update, other = mixer(x, GRID, present), mixer(changed, GRID, present)
    assert torch.count_nonzero(update[0, 2]) == 0 and torch.count_nonzero(update[2, 0]) == 0, \
        "a masked track got a non-zero update"
    difference = float((other - update).abs().max())
    assert difference <= 1e-6, f"a masked track changed the other tracks' update (by up to {difference:.2e})"


def _track_order(build: Callable[..., Mixer], dim: int) -> None:
    mixer, x, present = build(), _tokens(dim=dim), _mask()
    order = torch.tensor([2, 0, 3, 1])
    with torch.no_grad():
        permuted, update = mixer(x[:, order], GRID, present[:, order]), mixer(x, GRID, present)[:, order]
    difference = float((permuted - update).abs().max())
    assert difference <= 1e-5, f"permuting the tracks did not permute the update (off by up to {difference:.2e})"


def _track_counts(build: Callable[..., Mixer], dim: int) -> None:
    mixer = build()
    for tracks in (1, 2, 8):
        x = _tokens(batch=2, tracks=tracks, dim=dim)
        with torch.no_grad():
            shape = tuple(mixer(x, GRID, torch.ones(2, tracks, dtype=torch.bool)).shape)
        assert shape == tuple(x.shape), f"{tracks} track(s): update of shape {shape} for tokens {tuple(x.shape)}"


def _gradients(build: Callable[..., Mixer], dim: int) -> None:
    mixer = build().train()
    if not list(mixer.parameters()):  # nothing to train (the "none" mixer)
        return
    mixer(_tokens(dim=dim), GRID, _mask()).square().sum().backward()
    silent = [name for name, p in mixer.named_parameters() if p.grad is None or not bool(p.grad.abs().sum() > 0)]
    assert not silent, f"parameters without a gradient: {', '.join(silent)}"


def _zero_init(build: Callable[..., Mixer], dim: int) -> None:
    mixer = build(zero_init=True)
    with torch.no_grad():
        update = mixer(_tokens(dim=dim), GRID, _mask())
    assert torch.count_nonzero(update) == 0, "with zero_init: true the update is not exactly zero"


_CHECKS: dict[str, Callable[[Callable[..., Mixer], int], None]] = {
    "songs": _songs, "masked tracks": _masked_tracks, "track order": _track_order,
    "track counts": _track_counts, "gradients": _gradients, "zero_init": _zero_init,
}
