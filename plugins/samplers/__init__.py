"""Built-in samplers: ``ddpm``, ``ddim``, ``dpm_solver_pp`` (timestep diffusions) and ``edm_euler``,
``edm_heun`` (sigma diffusions). All support partial generation, classifier-free guidance and seeding."""

from synctrack import hookimpl

from .ddim import DDIMSampler
from .ddpm import DDPMSampler
from .dpm_solver import DPMSolverPPSampler
from .edm import EDMEulerSampler, EDMHeunSampler


@hookimpl
def synctrack_register_parts(registry):
    registry.add("sampler", "ddpm", DDPMSampler, example={"steps": 4})
    registry.add("sampler", "ddim", DDIMSampler, example={"steps": 4})
    registry.add("sampler", "dpm_solver_pp", DPMSolverPPSampler, example={"steps": 4})
    registry.add("sampler", "edm_euler", EDMEulerSampler, example={"steps": 4})
    registry.add("sampler", "edm_heun", EDMHeunSampler, example={"steps": 4})
