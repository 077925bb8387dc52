"""Built-in diffusions: ``ddpm`` (discrete timesteps, epsilon or v) and ``edm`` (Karras preconditioning)."""

from synctrack import hookimpl

from .ddpm import DDPM
from .edm import EDM


@hookimpl
def synctrack_register_parts(registry):
    registry.add("diffusion", "ddpm", DDPM, example={"num_timesteps": 50})
    registry.add("diffusion", "edm", EDM)
