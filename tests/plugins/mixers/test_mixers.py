"""Cross-track mixers: equal to a plain per-song reference, and the invariants every mixer must keep."""

from __future__ import annotations

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from synctrack import get_registry
from synctrack.attention import BACKENDS, use_backend
from synctrack.attention.dispatch import naive_attention
from synctrack.interfaces import Mixer
from synctrack.recipe import PartSpec, build
from synctrack.testing import CHECKS, check_mixer, registered_mixers

GRID = (4, 3)  # T' x F'
DIM = 16

CONFIGS = {
    "global": {"type": "global_cross_track", "head_dim": 8},
    "time-frame": {"type": "time_cross_track", "scope": "frame", "head_dim": 8},
    "time-cell": {"type": "time_cross_track", "scope": "cell", "head_dim": 8},
    "mix-mean": {"type": "mix_cross_track", "head_dim": 8},
    "mix-sum": {"type": "mix_cross_track", "reduce": "sum", "head_dim": 8},
    "global-time-position": {"type": "global_cross_track", "head_dim": 8, "time_position": True},
    "mix-time-position": {"type": "mix_cross_track", "head_dim": 8, "time_position": True},
}


def make_mixer(config, randomize, zero_init=False, seed=0) -> Mixer:
    spec = build({**config, "zero_init": zero_init}, PartSpec[Mixer], get_registry())
    mixer = spec(dim=DIM).eval()
    return randomize(mixer, seed) if not zero_init else mixer


def tokens(batch=3, tracks=4, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(batch, tracks, GRID[0] * GRID[1], DIM, generator=generator)


def mask(batch=3, tracks=4):
    present = torch.ones(batch, tracks, dtype=torch.bool)
    present[0, 2] = False
    present[2, 0] = False
    return present


def time_positions(dim=DIM, grid=GRID):
    """``[T' * F', D]``: the transformer sinusoid of each token's time row, cosines first, written out."""
    half = dim // 2
    rows = []
    for t in range(grid[0]):
        angles = [t * 10000.0 ** (-i / half) for i in range(half)]
        row = torch.tensor([float(torch.cos(torch.tensor(a))) for a in angles] + [float(torch.sin(torch.tensor(a))) for a in angles])
        rows += [row] * grid[1]
    return torch.stack(rows)


def reference_normed(mixer, x):
    return mixer.norm(x) + (time_positions() if getattr(mixer, "time_position", False) else 0.0)


def reference_update(mixer, x, present, group_of_token):
    """Straight from the definition, one song and one group at a time, with explicit softmax per head.

    Queries are every token of the group; keys and values are the group's tokens of present tracks only.
    """
    attention = mixer.attention
    heads, head_dim = attention.heads, attention.head_dim
    normed = reference_normed(mixer, x)
    out = torch.zeros_like(x)
    batch, tracks, count, _ = x.shape
    for b in range(batch):
        groups = sorted({group_of_token(n) for n in range(count)})
        for g in groups:
            cells = [(s, n) for s in range(tracks) for n in range(count) if group_of_token(n) == g]
            keys = [(s, n) for (s, n) in cells if present[b, s]]
            query_tokens = torch.stack([normed[b, s, n] for s, n in cells])
            key_tokens = torch.stack([normed[b, s, n] for s, n in keys]) if keys else None
            for row, (s, n) in enumerate(cells):
                if not present[b, s] or key_tokens is None:
                    continue
                q = attention.to_q(query_tokens[row]).view(heads, head_dim)
                k = attention.to_k(key_tokens).view(len(keys), heads, head_dim)
                v = attention.to_v(key_tokens).view(len(keys), heads, head_dim)
                weights = torch.softmax(torch.einsum("hd,khd->hk", q, k) / head_dim**0.5, dim=-1)
                mixed = torch.einsum("hk,khd->hd", weights, v).reshape(-1)
                out[b, s, n] = attention.to_out(mixed)
    return out


GROUPS = {
    "global": lambda n: 0,
    "time-frame": lambda n: n // GRID[1],
    "time-cell": lambda n: n,
    "global-time-position": lambda n: 0,
}


@pytest.mark.parametrize("name", GROUPS)
@pytest.mark.parametrize("backend", ["naive", "sdpa"])
def test_mixer_equals_the_definition(name, backend, randomized):
    mixer = make_mixer(CONFIGS[name], randomized)
    x, present = tokens(), mask()
    with use_backend(backend), torch.no_grad():
        update = mixer(x, GRID, present)
        expected = reference_update(mixer, x, present, GROUPS[name])
    torch.testing.assert_close(update, expected, rtol=1e-5, atol=1e-5)


def mix_reference_update(mixer, x, present, reduce):
    """The mix mixer from its definition, one song and one query token at a time.

    A song's mix at position n is the mean (or sum) over its present tracks of the normed tokens at n; each
    token of a present track attends, per head, to the N mix tokens of its song.
    """
    attention = mixer.attention
    heads, head_dim = attention.heads, attention.head_dim
    normed = reference_normed(mixer, x)
    out = torch.zeros_like(x)
    batch, tracks, count, _ = x.shape
    for b in range(batch):
        members = [s for s in range(tracks) if present[b, s]]
        if not members:
            continue
        mix = torch.stack([sum(normed[b, s, n] for s in members) for n in range(count)])
        if reduce == "mean":
            mix = mix / len(members)
        k = attention.to_k(mix).view(count, heads, head_dim)
        v = attention.to_v(mix).view(count, heads, head_dim)
        for s in members:
            for n in range(count):
                q = attention.to_q(normed[b, s, n]).view(heads, head_dim)
                weights = torch.softmax(torch.einsum("hd,khd->hk", q, k) / head_dim**0.5, dim=-1)
                out[b, s, n] = attention.to_out(torch.einsum("hk,khd->hd", weights, v).reshape(-1))
    return out


@pytest.mark.parametrize("reduce", ["mean", "sum"])
@pytest.mark.parametrize("backend", ["naive", "sdpa"])
def test_mix_mixer_equals_the_definition(reduce, backend, randomized):
    mixer = make_mixer(CONFIGS[f"mix-{reduce}"], randomized)
    x, present = tokens(), mask()
    present[1] = False  # a song without any track: a zero update, not NaN
    with use_backend(backend), torch.no_grad():
        update = mixer(x, GRID, present)
        expected = mix_reference_update(mixer, x, present, reduce)
    torch.testing.assert_close(update, expected, rtol=1e-5, atol=1e-5)
    assert torch.count_nonzero(update[1]) == 0


def test_mix_mean_does_not_grow_with_the_track_count(randomized):
    """S copies of one track have the same mean mix as the track alone, so the update is the same."""
    mixer = make_mixer(CONFIGS["mix-mean"], randomized)
    one = tokens(batch=1, tracks=1)
    with torch.no_grad():
        alone = mixer(one, GRID, torch.ones(1, 1, dtype=torch.bool))
        copies = mixer(one.expand(1, 6, -1, -1), GRID, torch.ones(1, 6, dtype=torch.bool))
    torch.testing.assert_close(copies, alone.expand(1, 6, -1, -1), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", CONFIGS)
@pytest.mark.parametrize("tracks", [1, 3])
def test_attention_shapes_count_the_flops_the_naive_kernel_runs(name, tracks, randomized, monkeypatch):
    """The declared cost equals the batched matmuls of the materialised kernel (q k^T and weights v),
    counted by torch's FLOP counter, and the declared shapes are those of the kernel's score matrices."""
    mixer = make_mixer(CONFIGS[name], randomized)
    x = tokens(batch=2, tracks=tracks)
    shapes = mixer.attention_shapes(2, tracks, GRID)
    seen = []

    def spy(q, k, v, key_mask):
        seen.append((q.shape[0], q.shape[2], k.shape[2], q.shape[1], q.shape[3]))
        return naive_attention(q, k, v, key_mask)

    monkeypatch.setattr(BACKENDS["naive"], "kernel", spy)
    with use_backend("naive"), FlopCounterMode(display=False) as counter, torch.no_grad():
        mixer(x, GRID, torch.ones(2, tracks, dtype=torch.bool))
    counted = sum(flops for op, flops in counter.get_flop_counts()["Global"].items() if "bmm" in str(op))
    assert sum(shape.flops for shape in shapes) == counted
    assert [(s.sequences, s.queries, s.keys, s.heads, s.head_dim) for s in shapes] == seen


def test_cost_formulas_grow_as_documented(randomized):
    """global (S N)^2, time frame T' (S F')^2, time cell T' F' S^2, mix S N^2 (docs/models.md)."""
    frames, bins = GRID
    count = frames * bins
    width = DIM
    expected = {
        "global": lambda s: 4 * (s * count) ** 2 * width,
        "time-frame": lambda s: 4 * frames * (s * bins) ** 2 * width,
        "time-cell": lambda s: 4 * frames * bins * s**2 * width,
        "mix-mean": lambda s: 4 * s * count**2 * width,
    }
    for name, formula in expected.items():
        mixer = make_mixer(CONFIGS[name], randomized)
        for tracks in (1, 4, 32):
            assert sum(shape.flops for shape in mixer.attention_shapes(1, tracks, GRID)) == formula(tracks), name
    none = build("none", PartSpec[Mixer], get_registry())(dim=DIM)
    assert none.attention_shapes(1, 4, GRID) == []


CONTRACT_NODES = {**{node["type"]: node for node in registered_mixers()}, **CONFIGS}


@pytest.mark.parametrize("name", CONTRACT_NODES)
@pytest.mark.parametrize("check", CHECKS)
def test_every_mixer_keeps_the_contract(name, check):
    """synctrack.testing's checks, on every registered mixer and every configuration above.

    ``songs`` is the one the official SyncTrack code fails: its global cross-track attention builds keys so
    that query row (song b, track s) reads the keys of song (4b + s) mod B, i.e. other songs whenever B > 1.
    """
    ran = check_mixer(CONTRACT_NODES[name], dim=DIM, checks=(check,))
    assert ran == [check] or (check == "zero_init" and name == "none")


class Leaky(Mixer):
    """Breaks the contract on purpose, in the way ``fault`` names (to show that the checks catch it)."""

    def __init__(self, dim: int, fault: str = "songs", zero_init: bool = False) -> None:
        super().__init__()
        self.fault, self.project = fault, torch.nn.Linear(dim, dim)
        self.unused = torch.nn.Parameter(torch.zeros(1)) if fault == "gradients" else None
        self.bias = torch.nn.Parameter(torch.ones(1)) if fault == "zero_init" else None
        if zero_init:
            torch.nn.init.zeros_(self.project.weight)
            torch.nn.init.zeros_(self.project.bias)

    def forward(self, tokens, grid, track_mask):
        present = track_mask.to(tokens.dtype)[:, :, None, None]
        if self.fault == "masked tracks":  # the mean reads masked tracks too
            return self.project(tokens.mean(dim=1, keepdim=True)).expand_as(tokens) * present
        mean = (tokens * present).sum(dim=1, keepdim=True) / present.sum(dim=1, keepdim=True).clamp(min=1)
        if self.fault == "songs":  # the batch mean (of present tracks) leaks between songs
            mean = mean + (tokens * present).mean(dim=(0, 1), keepdim=True)
        update = self.project(mean).expand_as(tokens)
        if self.fault == "track order":  # the update depends on a track's position
            update = update * torch.arange(1, tokens.shape[1] + 1, dtype=tokens.dtype)[None, :, None, None]
        if self.fault == "track counts":
            update = update[:, :2]
        if self.fault == "zero_init":
            update = update + self.bias
        return update * (present if self.fault != "track counts" else present[:, :2])


@pytest.mark.parametrize("fault", ["songs", "masked tracks", "track order", "track counts", "gradients", "zero_init"])
def test_each_check_catches_the_fault_it_is_for(fault):
    from synctrack.registry import Registry

    registry = Registry()
    registry.add("mixer", "leaky", Leaky)
    with pytest.raises(AssertionError, match=rf"check {fault!r} failed"):
        check_mixer({"type": "leaky", "fault": fault}, registry=registry, checks=(fault,))
    if fault != "track counts":  # (a mixer that drops tracks fails the checks that index them too)
        others = tuple(c for c in CHECKS if c != fault)
        assert check_mixer({"type": "leaky", "fault": fault}, registry=registry, checks=others) == list(others)
    with pytest.raises(AssertionError, match="check '"):
        check_mixer({"type": "leaky", "fault": fault}, registry=registry)  # all checks: the first failure is named


def test_none_mixer_is_zero():
    spec = build("none", PartSpec[Mixer], get_registry())
    assert torch.count_nonzero(spec(dim=DIM)(tokens(), GRID, mask())) == 0


def test_tokens_must_fill_the_grid(randomized):
    mixer = make_mixer(CONFIGS["global"], randomized)
    with pytest.raises(ValueError, match="do not fill the grid"):
        mixer(tokens(), (5, 3), mask())


@pytest.mark.parametrize("backend", ["naive", "sdpa"])
def test_mix_mixer_with_time_position_equals_the_definition(backend, randomized):
    mixer = make_mixer(CONFIGS["mix-time-position"], randomized)
    x, present = tokens(), mask()
    with use_backend(backend), torch.no_grad():
        torch.testing.assert_close(mixer(x, GRID, present), mix_reference_update(mixer, x, present, "mean"), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kind", ["global_cross_track", "mix_cross_track"])
def test_time_position_tells_time_steps_apart_and_nothing_else(kind, randomized):
    """Tokens equal everywhere: without a position every token gets the same update; with it, the update
    changes from one time step to the next but not across the frequency bins of a time step."""
    x = tokens(batch=1, tracks=3)[:, :, :1].expand(1, 3, GRID[0] * GRID[1], DIM).clone()
    x[:, 1:] = x[:, :1]  # every track the same too
    present = torch.ones(1, 3, dtype=torch.bool)
    with torch.no_grad():
        plain = make_mixer({"type": kind, "head_dim": 8}, randomized)(x, GRID, present)
        placed = make_mixer({"type": kind, "head_dim": 8, "time_position": True}, randomized)(x, GRID, present)
    torch.testing.assert_close(plain, plain[:, :, :1].expand_as(plain))
    rows = placed.view(1, 3, GRID[0], GRID[1], DIM)
    torch.testing.assert_close(rows, rows[:, :, :, :1].expand_as(rows))  # same within a time step
    assert (rows[:, :, 1:, 0] - rows[:, :, :-1, 0]).abs().amax() > 1e-3  # different across time steps
