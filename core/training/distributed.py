"""torch.distributed under ``torchrun``: process group, device, and the few collectives the trainer needs.

``torchrun`` sets ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK``; with ``WORLD_SIZE`` > 1 the process group is
initialised with nccl on CUDA and gloo on CPU. Without torchrun everything is a no-op on one process.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from ..errors import UserError


def pick_device(choice: str, local_rank: int = 0) -> torch.device:
    """``auto``: CUDA (this process's local GPU), else MPS, else CPU; an explicit choice must be available."""
    if choice == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", local_rank % torch.cuda.device_count())
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if choice == "cuda":
        if not torch.cuda.is_available():
            raise UserError("train.device is 'cuda' but no CUDA device is available; use train.device=cpu or auto")
        return torch.device("cuda", local_rank % torch.cuda.device_count())
    if choice == "mps" and not (getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()):
        raise UserError("train.device is 'mps' but MPS is not available; use train.device=cpu or auto")
    return torch.device(choice)


@dataclass
class Distributed:
    """This process's place in the run: ``rank`` of ``world_size``, and its ``device``."""

    rank: int
    world_size: int
    local_rank: int
    device: torch.device
    owns_group: bool = False

    @classmethod
    def from_environment(cls, device_choice: str = "auto") -> Distributed:
        world_size = int(os.environ.get("WORLD_SIZE", "1"))
        rank = int(os.environ.get("RANK", "0"))
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        device = pick_device(device_choice, local_rank)
        owns = False
        if world_size > 1 and not dist.is_initialized():
            if device.type == "cuda":
                torch.cuda.set_device(device)
            dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
            owns = True
        return cls(rank, world_size, local_rank, device, owns)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world_size > 1

    def average_(self, tensors: list[torch.Tensor]) -> None:
        """Average tensors over processes in place, with one all-reduce of their concatenation."""
        if not self.active or not tensors:
            return
        flat = torch.cat([t.reshape(-1) for t in tensors])
        dist.all_reduce(flat, op=dist.ReduceOp.SUM)
        flat /= self.world_size
        offset = 0
        for tensor in tensors:
            tensor.copy_(flat[offset : offset + tensor.numel()].view_as(tensor))
            offset += tensor.numel()

    def sum(self, values: torch.Tensor) -> torch.Tensor:
        """Sum of ``values`` over processes (a new tensor)."""
        values = values.clone()
        if self.active:
            dist.all_reduce(values, op=dist.ReduceOp.SUM)
        return values

    def broadcast_(self, tensors: list[torch.Tensor]) -> None:
        """Copy rank 0's tensors to every process, in place."""
        if self.active:
            for tensor in tensors:
                dist.broadcast(tensor, src=0)

    def barrier(self) -> None:
        if self.active:
            dist.barrier()

    def close(self) -> None:
        if self.owns_group and dist.is_initialized():
            dist.destroy_process_group()
