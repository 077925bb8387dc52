"""The pipeline: one object holding a generative model's parts, and :func:`build`, the one way to get it.

``synctrack.build(recipe)`` checks the recipe, builds ``model.encoder``, ``model.denoiser``,
``model.diffusion``, ``model.sampler`` and ``model.vocoder``, checks that they fit together (the sampler's
family matches the diffusion's; a waveform-decoding encoder takes no vocoder) and returns a
:class:`Pipeline`. Training, sampling and evaluation all get their model this way (or through
:func:`synctrack.load_pipeline`, which builds from the recipe stored in a checkpoint and loads its weights).

The space the diffusion runs in is the encoder's latent space. Without an encoder it is the data itself:
the batch's audio ``[B, S, L]`` (or a mel, when a vocoder turns it into audio). A batch is a
``synctrack.data.SongBatch`` (``audio``, ``tracks``, ``meta``) or a dict with ``audio``, ``instrument_ids`` and
``track_mask``; either may also carry precomputed ``latents`` ``[B, S, ...]`` (the encoder is then skipped)
and a ``context`` (the condition of conditional models).

Conditions and mixtures. A denoiser declares the condition it takes in ``context_kind``; the pipeline makes
it, so that recipes, the trainer and the CLI stay the same for every model:

- ``"mixture"`` (MSG-LD): in training, the batch's mixture (its tracks summed and clipped to [-1, 1]) encoded
  like the stems (:meth:`Pipeline.context_from_batch`); at sampling time, a mixture the user gives
  (:meth:`Pipeline.encode_mixture`, then ``sample_latents(mixture=...)``), with classifier-free guidance.
- An unconditional model separates a mixture with a Dirac likelihood instead (MSDM): when its diffusion is
  of the sigma family and its encoder is additive (the mixture's latent is the sum of the tracks'), the
  sampler constrains the tracks to sum to the mixture (see :mod:`synctrack.sampling`).

:attr:`Pipeline.mixture_use` says which applies (``"condition"``, ``"constraint"`` or None); a mixture given
to a model that can use it in neither way is a :class:`~synctrack.errors.UserError`.
"""

from .building import build, untrained_front_end
from .layout import CONTEXT_KINDS, Rendered, SongLayout
from .model import Pipeline

__all__ = ["CONTEXT_KINDS", "Pipeline", "Rendered", "SongLayout", "build", "untrained_front_end"]
