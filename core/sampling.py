"""What every sampler shares: pairing checks, partial generation, guidance and seeded noise.

A sampler plugin subclasses :class:`SamplerBase` and writes only its update rule in :meth:`SamplerBase.run`,
talking to the network through :meth:`SamplingRun.evaluate`. That one call re-noises the known tracks to the
level being evaluated, applies a mixture constraint (separation, below), applies classifier-free guidance and
cross-track (mixer) guidance, and returns the (possibly modified) input with the :class:`~synctrack.interfaces.Prediction`;
:meth:`SamplingRun.finish` puts the known tracks back exactly.

Separation with a Dirac likelihood (MSDM, Mariani et al. 2024) is a property of the run, so every sampler of
the sigma family does it: with a ``mixture``, one track per song is solved for (the mixture minus the other
present tracks) at every evaluation, and the prediction is projected onto the constraint, the other tracks'
ODE slopes becoming ``noise_j - noise_solved`` (the gradient of the log prior restricted to the set where the
tracks sum to the mixture). The solved track's slope is minus the sum of the others', so every step keeps
the sum; :meth:`SamplingRun.finish` applies the constraint once more, exactly.

Random draws all come from the caller's generator, in a fixed order: the initial noise, then, step by step,
the draws in the order the step makes them (the re-noising of known tracks at each evaluation, only when
tracks are given; a stochastic step's own noise). A seeded generator therefore reproduces a run exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import torch

from . import noise as draws
from .errors import ArgumentError, UserError
from .interfaces import Diffusion, Prediction, Sampler, SamplingRequest, mixers_in
from .interfaces.process import per_song
from .tracks import TrackInfo

FAMILY_EXAMPLES = {"timestep": "ddpm", "sigma": "edm"}


class IncompatiblePartsError(UserError):
    """A sampler and a diffusion of different families, or parts that cannot work together."""


class SamplingSettingsError(ArgumentError):
    """Sampler settings that cannot work (too many steps for the diffusion, a spacing that collapses)."""


def check_pairing(
    sampler: Sampler,
    diffusion: Diffusion,
    sampler_name: str | None = None,
    diffusion_name: str | None = None,
    compatible: Iterable[str] = (),
) -> None:
    """Raise :class:`IncompatiblePartsError` unless ``sampler`` works with ``diffusion``'s family.

    ``compatible`` lists the registered samplers of the diffusion's family, for the message.
    """
    wanted, have = sampler.diffusion_family, diffusion.family
    if wanted == have:
        return
    s_name = sampler_name or type(sampler).__name__
    d_name = diffusion_name or type(diffusion).__name__
    options = ", ".join(sorted(compatible)) or "a sampler of that family"
    raise IncompatiblePartsError(
        f"model.sampler: sampler {s_name!r} works with {wanted!r} diffusions (like "
        f"{FAMILY_EXAMPLES.get(wanted, wanted)!r}), but model.diffusion {d_name!r} is a {have!r} diffusion; "
        f"use one of: {options}"
    )


class MixtureConstraint:
    """The Dirac likelihood of a mixture: the present tracks of each song sum to ``mixture``.

    ``mixture`` is ``[B, ...]`` (one track's latent shape); ``solved`` and ``others`` are bool ``[B, S]``: the
    track solved for in each song, and the other present tracks.
    """

    def __init__(self, mixture: torch.Tensor, solved: torch.Tensor, others: torch.Tensor) -> None:
        extra = [1] * (mixture.dim() - 1)
        self.mixture = mixture
        self.solved = solved.reshape(*solved.shape, *extra)  # [B, S, 1, ...]
        self.others = others.reshape(*others.shape, *extra)

    def apply(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` ``[B, S, ...]`` with the solved track set to the mixture minus the other present tracks."""
        rest = torch.where(self.others, x, torch.zeros_like(x)).sum(1)
        return torch.where(self.solved, (self.mixture - rest).unsqueeze(1), x)

    def project(self, x: torch.Tensor, prediction: Prediction, level: torch.Tensor) -> Prediction:
        """The prediction's ODE slope (its noise estimate) moved onto the constraint; ``level`` ``[B]`` sigmas."""
        noise = prediction.noise
        zero = torch.zeros_like(noise)
        solved_noise = torch.where(self.solved, noise, zero).sum(1, keepdim=True)
        slope = torch.where(self.others, noise - solved_noise, zero)
        slope = torch.where(self.solved, -slope.sum(1, keepdim=True), slope)
        return Prediction(x0=x - per_song(level.to(x.device), x) * slope, noise=slope)


def mixture_constraint(
    mixture: torch.Tensor,
    shape: tuple[int, ...],
    tracks: TrackInfo,
    known_mask: torch.Tensor | None,
    mixture_track: int | None,
) -> MixtureConstraint:
    """Check a separation request and choose the solved track of each song (see :class:`Sampler`)."""
    if tuple(mixture.shape) != (shape[0], *shape[2:]):
        raise ValueError(f"the mixture must be [B, ...] = {[shape[0], *shape[2:]]} (one track's latents per song), got {list(mixture.shape)}")
    free = tracks.mask if known_mask is None else tracks.mask & ~known_mask
    if mixture_track is not None:
        if not -shape[1] <= mixture_track < shape[1]:
            raise SamplingSettingsError(f"mixture_track {mixture_track} is not a track index of {shape[1]} tracks")
        slot = mixture_track % shape[1]
        if not bool(free[:, slot].all()):
            raise SamplingSettingsError(
                f"mixture_track {mixture_track} must be present and not given in every song, so that it can be solved for"
            )
        solved = torch.zeros_like(free)
        solved[:, slot] = True
    else:
        if not bool(free.any(1).all()):
            raise SamplingSettingsError("a song has no track left to separate: every present track is given")
        solved = torch.nn.functional.one_hot(free.long().argmax(1), shape[1]).bool()  # the first free track
    return MixtureConstraint(mixture, solved, tracks.mask & ~solved)


class SamplingRun:
    """The state shared by one :meth:`Sampler.sample` call and the sampler's loop."""

    def __init__(
        self,
        denoiser: torch.nn.Module,
        diffusion: Diffusion,
        shape: tuple[int, ...],
        tracks: TrackInfo,
        known: torch.Tensor | None,
        known_mask: torch.Tensor | None,
        generator: torch.Generator | None,
        context: Any,
        guidance_scale: float,
        on_step: Callable[[int, float, torch.Tensor], None] | None,
        dtype: torch.dtype,
        constraint: MixtureConstraint | None = None,
        mixer_guidance: float = 1.0,
    ) -> None:
        self.denoiser = denoiser
        self.diffusion = diffusion
        self.shape = tuple(shape)
        self.tracks = tracks
        self.device = tracks.instrument_ids.device
        self.dtype = dtype
        self.generator = generator
        self.context = context
        self.guidance_scale = guidance_scale
        # the network the diffusion calls, both guidances acting on its raw output (as diffusers' pipelines
        # guide the noise prediction), so that a diffusion's clipping of the clean estimate (clip_x0) bounds
        # the guided estimate instead of each pass before guidance
        network = denoiser if mixer_guidance == 1.0 else MixerGuided(denoiser, mixer_guidance)
        self.network = network if context is None or guidance_scale == 1.0 else ConditionGuided(network, guidance_scale)
        self.on_step = on_step
        self.known = known
        self.constraint = constraint
        # [B, S] -> [B, S, 1, ...] so it selects whole tracks of x
        self._known_where = None if known_mask is None else known_mask.reshape(*known_mask.shape, *([1] * (len(shape) - 2)))

    def normal(self) -> torch.Tensor:
        """Standard-normal noise of the sample's shape, from the run's generator."""
        return draws.normal(self.shape, self.generator, self.device, self.dtype)

    def levels(self, level: float | torch.Tensor) -> torch.Tensor:
        """One level per song: ``[B]`` float32 on the sample's device."""
        return torch.full((self.shape[0],), float(level), dtype=torch.float32, device=self.device)

    def evaluate(self, x: torch.Tensor, level: float | torch.Tensor) -> tuple[torch.Tensor, Prediction]:
        """Re-noise the known tracks to ``level``, apply the mixture constraint, run the (guided) network;
        return the input used and its prediction.

        Samplers continue from the returned input, not from ``x``: the known tracks must enter the update at
        the level they were re-noised to, and the solved track at its constrained value.
        """
        levels = self.levels(level)
        if self._known_where is not None:
            renoised = self.diffusion.add_noise(self.known, levels, self.normal())
            x = torch.where(self._known_where, renoised, x)
        if self.constraint is not None:
            x = self.constraint.apply(x)
        prediction = self.diffusion.predict(self.network, x, levels, self.tracks, self.context)
        if self.constraint is not None:
            prediction = self.constraint.project(x, prediction, levels)
        return x, prediction

    def step_done(self, index: int, level: float, x: torch.Tensor) -> None:
        if self.on_step is not None:
            self.on_step(index, level, x)

    def finish(self, x: torch.Tensor) -> torch.Tensor:
        """Known tracks exactly as given, the mixture constraint applied; absent tracks (``tracks.mask`` False) zero."""
        if self._known_where is not None:
            x = torch.where(self._known_where, self.known, x)
        if self.constraint is not None:
            x = self.constraint.apply(x)
        present = self.tracks.mask.reshape(*self.tracks.mask.shape, *([1] * (x.dim() - 2)))
        return torch.where(present, x, torch.zeros_like(x))


@contextmanager
def mixers_switched_off(denoiser: torch.nn.Module) -> Iterator[None]:
    """Every cross-track :class:`~synctrack.interfaces.Mixer` of ``denoiser`` off (a zero update: each track
    denoised alone) inside the block, and as it was after."""
    mixers = mixers_in(denoiser)
    before = [mixer.active for mixer in mixers]
    for mixer in mixers:
        mixer.active = False
    try:
        yield
    finally:
        for mixer, active in zip(mixers, before):
            mixer.active = active


def extrapolate(weaker: torch.Tensor, stronger: Callable[[], torch.Tensor], scale: float) -> torch.Tensor:
    """``weaker + scale * (stronger - weaker)``, the guidance both kinds share; at scale 0 ``weaker`` itself and
    the stronger pass never runs."""
    if scale == 0.0:
        return weaker
    return weaker + scale * (stronger() - weaker)


class MixerGuided(torch.nn.Module):
    """``denoiser`` guided by its cross-track mixers: ``independent + scale * (coupled - independent)`` on the
    network output ``[B, S, ...]``, the independent pass with every mixer switched off (scale 0: that pass alone,
    exactly)."""

    def __init__(self, denoiser: torch.nn.Module, scale: float) -> None:
        super().__init__()
        self.denoiser = denoiser
        self.scale = scale

    def forward(self, x: torch.Tensor, level: torch.Tensor, tracks: TrackInfo, context: Any = None) -> torch.Tensor:
        with mixers_switched_off(self.denoiser):
            independent = self.denoiser(x, level, tracks, context)
        return extrapolate(independent, lambda: self.denoiser(x, level, tracks, context), self.scale)


class ConditionGuided(torch.nn.Module):
    """``network`` under classifier-free guidance: ``unconditional + scale * (conditional - unconditional)`` on
    the network output ``[B, S, ...]``, the unconditional pass with ``context=None``. Scale 0 is that pass
    alone, exactly (MSG-LD's "total generation"); a call without a context is the plain network."""

    def __init__(self, network: torch.nn.Module, scale: float) -> None:
        super().__init__()
        self.network = network
        self.scale = scale

    def forward(self, x: torch.Tensor, level: torch.Tensor, tracks: TrackInfo, context: Any = None) -> torch.Tensor:
        if context is None:
            return self.network(x, level, tracks, None)
        unconditional = self.network(x, level, tracks, None)
        return extrapolate(unconditional, lambda: self.network(x, level, tracks, context), self.scale)


def has_mixers(denoiser: torch.nn.Module) -> bool:
    return bool(mixers_in(denoiser))


class SamplerBase(Sampler):
    """Validation and the shared machinery; subclasses implement :meth:`run`.

    ``steps``, ``guidance_scale`` and ``mixer_guidance`` are the recipe defaults that a call may override;
    ``steps`` None lets the sampler choose (``ddpm``: every training timestep).
    """

    steps: int | None
    guidance_scale: float
    mixer_guidance: float

    def __init__(self, steps: int | None, guidance_scale: float = 1.0, mixer_guidance: float = 1.0) -> None:
        if steps is not None and steps < 1:
            raise SamplingSettingsError(f"steps must be at least 1, got {steps}")
        self.steps = steps
        self.guidance_scale = guidance_scale
        self.mixer_guidance = mixer_guidance

    def run(self, run: SamplingRun, steps: int | None) -> torch.Tensor:
        """The sampling loop: draw the initial noise, step, and return the final latents."""
        raise NotImplementedError

    def sample(self, denoiser: torch.nn.Module, diffusion: Diffusion, request: SamplingRequest) -> torch.Tensor:
        shape, tracks, known, known_mask = request.shape, request.tracks, request.known, request.known_mask
        check_pairing(self, diffusion)
        shape = tuple(int(n) for n in shape)
        if len(shape) < 3:
            raise ValueError(f"shape must be [B, S, ...latent dims], got {shape}")
        if (tracks.batch_size, tracks.num_tracks) != shape[:2]:
            raise ValueError(f"tracks are [{tracks.batch_size}, {tracks.num_tracks}] but shape is {shape}")
        if (known is None) != (known_mask is None):
            raise ValueError("give known and known_mask together")
        dtype = torch.float32
        if known is not None:
            if tuple(known.shape) != shape:
                raise ValueError(f"known latents are {tuple(known.shape)}, expected {shape}")
            if known_mask.shape != shape[:2] or known_mask.dtype != torch.bool:
                raise ValueError(f"known_mask must be bool {shape[:2]}, got {known_mask.dtype} {tuple(known_mask.shape)}")
            dtype = known.dtype
            known = known.to(tracks.instrument_ids.device)
            known_mask = known_mask.to(tracks.instrument_ids.device)
            if not bool(known_mask.any()):
                known = known_mask = None
        steps = self.steps if request.steps is None else int(request.steps)
        if steps is not None and steps < 1:
            raise SamplingSettingsError(f"steps must be at least 1, got {steps}")
        scale = self.guidance_scale if request.guidance_scale is None else float(request.guidance_scale)
        mixer_scale = self.mixer_guidance if request.mixer_guidance is None else float(request.mixer_guidance)
        if mixer_scale != 1.0 and not has_mixers(denoiser):
            raise SamplingSettingsError(
                f"mixer guidance {mixer_scale:g} needs cross-track mixers, and this denoiser has none: its tracks are "
                "denoised independently already; leave mixer guidance at 1"
            )
        constraint, mixture = None, request.mixture
        if mixture is not None:
            if diffusion.family != "sigma":
                raise SamplingSettingsError(
                    f"separating a mixture (Dirac likelihood) needs a 'sigma' diffusion such as 'edm'; this is a "
                    f"{diffusion.family!r} diffusion"
                )
            mixture = mixture.to(tracks.instrument_ids.device, dtype)
            constraint = mixture_constraint(mixture, shape, tracks, known_mask, request.mixture_track)
        run = SamplingRun(denoiser, diffusion, shape, tracks, known, known_mask, request.generator, request.context, scale,
                          request.on_step, dtype, constraint, mixer_scale)
        with torch.no_grad():
            return run.finish(self.run(run, steps))
