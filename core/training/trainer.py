"""The trainer: AdamW, warm-up and schedule, clipping, accumulation, mixed precision, EMA, checkpoints,
resumption, NaN guard, logs and previews, on one process or many under ``torchrun``.

One optimizer step consumes one global batch of ``train.batch_size`` songs: each of the ``W`` processes loads
its ``batch_size / W`` songs (see :mod:`synctrack.training.data`) and runs them in ``grad_accumulation``
micro-batches; every micro-batch loss is a mean over its songs and is scaled by ``1 / grad_accumulation``, and
the gradients are averaged over processes, so the update is the gradient of the mean loss over the global
batch whatever ``W`` and the accumulation are. Gradients are averaged with one all-reduce per optimizer after
the last micro-batch; that works for any :class:`~synctrack.training.objective.Objective` (several
optimizers, GANs), at the price of not overlapping communication with the backward pass as DDP does.
"""

from __future__ import annotations

import math
import signal
import time
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import torch
from rich.console import Console

from ..errors import UserError
from ..files import WriteFailure
from ..noise import derive_seed
from . import checkpoint as ckpt
from .rng_state import capture_rng_state
from .config import TrainSection
from .settings import check_config, lr_factor, resolve_precision
from ..data import collate_songs
from .data import SongStream, split_batch, to_device
from .distributed import Distributed
from .ema import EMA, flat_state
from .logs import RunLog, progress_bar, warn
from .objective import Objective, StepContext
from .resuming import STATE_VERSION, Resuming
from .staging import stage_mixers
from .stopping import GracefulStop



class NonFiniteLossError(UserError):
    """The loss (or gradient norm) became NaN or infinite; the run stopped without saving that state."""


class Trainer(Resuming, GracefulStop):
    """Trains an :class:`Objective` on a dataset of songs into the run folder ``out``.

    ``recipe_text`` (the resolved recipe) is stored in every checkpoint; ``collate`` builds batches from dataset
    items. Call :meth:`resume` to continue from the run's latest checkpoint, then :meth:`train`.
    """

    def __init__(
        self,
        objective: Objective,
        dataset: Any,
        config: TrainSection,
        out: str | Path,
        recipe_text: str = "",
        collate: Callable[[list[Any]], dict[str, Any]] = collate_songs,
        distributed: Distributed | None = None,
        console: Console | None = None,
        show_progress: bool = True,
    ) -> None:
        self.objective = objective
        self.config = config
        self.out = Path(out)
        self.recipe_text = recipe_text
        self.dist = distributed or Distributed.from_environment(config.device)
        check_config(config, self.dist.world_size)
        self.device = self.dist.device
        self.console = console
        self.show_progress = show_progress and self.dist.is_main
        self.step = 0
        self.resume_changes: dict[str, list[Any]] = {}  # train: settings that differ from the resumed checkpoint's

        self.modules = objective.modules()
        objective.to(self.device)
        for module in self.modules.values():
            module.train()
        # every process starts from rank 0's weights, whatever each process's initialisation drew
        self.dist.broadcast_([t for t in flat_state(self.modules).values()])

        self.optimizers = self._make_optimizers()
        factor = lr_factor(config)
        self.schedulers = {name: torch.optim.lr_scheduler.LambdaLR(opt, factor) for name, opt in self.optimizers.items()}
        self.autocast_dtype = resolve_precision(config.precision, self.device)
        self.scaler = torch.amp.GradScaler("cuda") if self.autocast_dtype == torch.float16 else None
        # the EMA averages what the objective samples with (a GAN's generator, not its discriminators)
        self.ema_modules = objective.ema_modules()
        self.ema = EMA(self.ema_modules, config.ema_decay, config.ema_warmup) if config.ema_decay is not None else None

        objective.prepare(dataset)
        self.stream = SongStream(dataset, collate, config.batch_size, self.dist.world_size, self.dist.rank, config.seed, config.num_workers)
        self.log = RunLog(self.out, config.tensorboard) if self.dist.is_main else None
        self._stop_signal: int | None = None  # the signal that asked this process to stop (SIGINT, SIGTERM)
        if self.dist.world_size > 1:
            torch.manual_seed(derive_seed(config.seed, "global", self.dist.rank))

    def _make_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        settings = self.config.optimizer
        groups = self.objective.parameter_groups()
        if not groups:
            raise ValueError("the objective has no parameter groups to optimise")
        optimizers = {}
        for name, params in groups.items():
            params = list(params)
            if not params:
                raise UserError(f"optimizer {name!r} has no trainable parameters; is the model frozen?")
            optimizers[name] = torch.optim.AdamW(
                params, lr=settings.lr, betas=tuple(settings.betas), weight_decay=settings.weight_decay, eps=settings.eps
            )
        return optimizers

    # -- state ----------------------------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """The trainer state saved as ``trainer.pt`` (weights-only loadable)."""
        return {
            "version": STATE_VERSION,
            "step": self.step,
            "optimizers": {name: opt.state_dict() for name, opt in self.optimizers.items()},
            "schedulers": {name: sched.state_dict() for name, sched in self.schedulers.items()},
            "scaler": self.scaler.state_dict() if self.scaler is not None else None,
            "ema_updates": self.ema.updates if self.ema is not None else None,
            "data": self.stream.state(),
            "rng": capture_rng_state(),
            "world_size": self.dist.world_size,
        }

    def save(self) -> Path | None:
        """Write a checkpoint of the current step (rank 0; the others wait).

        A save that fails because of where it goes (a full disk, a read-only or vanished folder) stops every
        process with one message: what failed, the last complete checkpoint, and how to go on."""
        folder, failure = None, None
        if self.dist.is_main:
            meta = {**self.objective.metadata(), "world_size": self.dist.world_size, "synctrack_version": _version()}
            try:
                folder = ckpt.save_checkpoint(
                    self.out, self.step, flat_state(self.modules), self.state_dict(), self.recipe_text, meta,
                    ema_weights=self.ema.shadow if self.ema is not None else None, keep=self.config.keep_checkpoints,
                )
            except WriteFailure as error:
                failure = error
            else:
                self.log.event(step=self.step, event="checkpoint", folder=str(folder))
        # every process learns of rank 0's failure, rather than waiting at the barrier for a save that never comes
        if self.dist.sum(torch.tensor([0.0 if failure is None else 1.0])).item() > 0:
            raise self._save_failed(failure)
        self.dist.barrier()
        return folder

    def _save_failed(self, failure: WriteFailure | None) -> UserError:
        if failure is None:
            return UserError(f"rank 0 could not save the checkpoint of step {self.step}; its message says why")
        last = ckpt.latest_checkpoint(self.out)
        where = (f"the last complete checkpoint is {last}: free space (or fix the folder), then run the same "
                 "command with --resume to go on from it") if last is not None else \
                "no checkpoint of this run is complete yet: free space (or fix the folder) and start again"
        if self.log is not None:
            try:  # the log lives on the same full disk: its line may not fit either
                self.log.event(step=self.step, event="save failed", message=str(failure), checkpoint=str(last))
            except OSError:
                pass
        return UserError(f"step {self.step}: {failure}; {where}")

    # -- one step -------------------------------------------------------------------------------------------

    def _autocast(self):
        if self.autocast_dtype is None:
            return nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.autocast_dtype)

    def _parameters(self, optimizer: torch.optim.Optimizer) -> list[torch.Tensor]:
        return [p for group in optimizer.param_groups for p in group["params"]]

    def _zero_all_grads(self) -> None:
        for module in self.modules.values():
            module.zero_grad(set_to_none=True)
        for optimizer in self.optimizers.values():
            optimizer.zero_grad(set_to_none=True)

    def train_step(self) -> dict[str, float]:
        """One optimizer step of every optimizer on the next global batch; returns the numbers to log."""
        idle = stage_mixers(self.modules.values(), self.step, self.config.mixer_start_step())  # ids of parameters unused this step
        accumulation = self.config.grad_accumulation
        batch, seeds = self.stream.next(self.step)
        micro_batches = split_batch(to_device(batch, self.device), accumulation)
        contexts = [StepContext(self.step, part) for part in seeds.chunk(accumulation)]
        row: dict[str, float] = {}
        for name, optimizer in self.optimizers.items():
            self._zero_all_grads()
            total = torch.zeros((), device=self.device)
            extras: dict[str, float] = {}
            for micro, context in zip(micro_batches, contexts):
                with self._autocast():
                    result = self.objective.loss(name, micro, context)
                loss, extra = result if isinstance(result, tuple) else (result, {})
                scaled = loss / accumulation
                (self.scaler.scale(scaled) if self.scaler is not None else scaled).backward()
                total += loss.detach().float()
                for key, value in extra.items():
                    extras[key] = extras.get(key, 0.0) + float(value) / accumulation
            mean_loss = float(self.dist.sum(total)) / (accumulation * self.dist.world_size)
            if not math.isfinite(mean_loss):
                raise NonFiniteLossError(self._nonfinite_message(f"the loss of optimizer {name!r} is {mean_loss}"))
            parameters = [p for p in self._parameters(optimizer) if id(p) not in idle]
            grads = []
            for parameter in parameters:
                if parameter.grad is None:
                    parameter.grad = torch.zeros_like(parameter)
                grads.append(parameter.grad)
            self.dist.average_(grads)
            if self.scaler is not None:
                self.scaler.unscale_(optimizer)
            norm = torch.nn.utils.clip_grad_norm_(parameters, self.config.grad_clip or float("inf"))
            if not torch.isfinite(norm) and self.scaler is None:
                raise NonFiniteLossError(self._nonfinite_message(f"the gradient norm of optimizer {name!r} is {float(norm)}"))
            if self.scaler is not None:
                self.scaler.step(optimizer)  # skips the step when fp16 gradients overflowed
            else:
                optimizer.step()
            self.schedulers[name].step()
            prefix = "" if len(self.optimizers) == 1 else f"{name}/"
            row[f"{prefix}loss"] = mean_loss
            row[f"{prefix}grad_norm"] = float(norm)
            row[f"{prefix}lr"] = optimizer.param_groups[0]["lr"]
            row.update({f"{prefix}{key}": value for key, value in extras.items()})
        if self.scaler is not None:
            self.scaler.update()  # once per step, after every optimizer stepped
        self._zero_all_grads()
        if self.ema is not None:
            self.ema.update(self.ema_modules)
        self.step += 1
        return row

    def _nonfinite_message(self, what: str) -> str:
        last = ckpt.latest_checkpoint(self.out)
        kept = f"the last good checkpoint is {last}" if last else "no checkpoint had been written yet"
        return (
            f"training stopped at step {self.step + 1}: {what}. Nothing was saved from this step; {kept}. "
            "Lower train.optimizer.lr, set train.grad_clip, or check the data for NaNs, then resume with --resume."
        )

    # -- the loop -------------------------------------------------------------------------------------------

    def write_samples(self) -> None:
        """Previews of the current step into ``<run>/samples/step_<n>/`` (rank 0, EMA weights)."""
        if self.dist.is_main:
            folder = self.out / "samples" / ckpt.step_folder_name(self.step)
            context = self.ema.applied(self.ema_modules) if self.ema is not None else nullcontext()
            with context:
                for module in self.modules.values():
                    module.eval()
                try:
                    self.objective.write_samples(folder, self.step)
                    self.log.event(step=self.step, event="samples", folder=str(folder))
                except Exception as error:  # a failed preview must not end a long run; it is reported and logged
                    warn(f"step {self.step}: writing previews failed ({type(error).__name__}: {error}); training goes on")
                    self.log.event(step=self.step, event="samples failed", error=f"{type(error).__name__}: {error}")
                finally:
                    for module in self.modules.values():
                        module.train()
        self.dist.barrier()

    def run_probe(self, train_seconds: float) -> None:
        """The sync probe at this step (rank 0, EMA weights), logged as a ``probe`` event with the seconds spent
        training so far (probes and previews not counted): one point of the run's learning curve."""
        if self.dist.is_main:
            context = self.ema.applied(self.ema_modules) if self.ema is not None else nullcontext()
            with context:
                result = self.objective.probe(self.step, self.config)
            if result is not None:
                measured = {key: value for key, value in result.to_dict().items() if key != "step"}
                self.log.event(step=self.step, event="probe", train_seconds=round(train_seconds, 2), **measured)
                if self.console is not None:
                    self.console.print(f"step {self.step}: probe {result.summary()}", markup=False)
        self.dist.barrier()

    def train(self) -> dict[str, Any]:
        """Train until ``train.steps`` or a stop signal; returns ``{"step", "loss", "checkpoint", "stopped_early",
        "signal"}`` (``signal``: the number of the signal that stopped the run after its checkpoint, else None;
        ``synctrack train`` exits with 128 + it)."""
        config = self.config
        last_row: dict[str, float] = {}
        saved_at = self.step if ckpt.latest_checkpoint(self.out) is not None else -1
        stopped_by: int | None = None
        started, rate = time.perf_counter(), None
        training_seconds = 0.0  # time in train_step only: what the probe's learning curve is plotted against
        with self._graceful_stop(), progress_bar(self.console, self.show_progress) as bar:
            task = bar.add_task("train", total=config.steps, completed=self.step, loss="-", rate="-")
            try:
                while self.step < config.steps:
                    tick = time.perf_counter()
                    last_row = self.train_step()
                    elapsed = time.perf_counter() - tick
                    training_seconds += elapsed
                    rate = 1.0 / elapsed if rate is None else 0.9 * rate + 0.1 / elapsed
                    loss = last_row.get("loss", next(iter(last_row.values())))
                    bar.update(task, completed=self.step, loss=f"{loss:.4g}", rate=f"{rate:.2f}")
                    if self.log is not None and (self.step % config.log_every == 0 or self.step == config.steps):
                        self.log.write({"step": self.step, **last_row, "steps_per_second": rate,
                                        "elapsed_seconds": time.perf_counter() - started})
                    if config.sample_every and self.step % config.sample_every == 0:
                        self.write_samples()
                    if config.probe_every and self.step % config.probe_every == 0:
                        self.run_probe(training_seconds)
                    if self.step % config.checkpoint_every == 0:
                        self.save()
                        saved_at = self.step
                    stopped_by = self._agreed_stop_signal()
                    if stopped_by is not None:
                        break
            except WriteFailure as failure:  # the log or a preview of samples could not be written
                raise self._save_failed(failure) from None
            except NonFiniteLossError as error:
                if self.log is not None:
                    self.log.event(step=self.step + 1, event="non-finite loss", message=str(error))
                    self.log.close()
                raise
        if saved_at != self.step:
            self.save()
        checkpoint = ckpt.latest_checkpoint(self.out)
        if stopped_by is not None and self.dist.is_main:  # said only now: the checkpoint is on disk
            name = signal.Signals(stopped_by).name
            self.log.event(step=self.step, event="stopped", signal=name, checkpoint=str(checkpoint), exit_code=128 + stopped_by)
            (self.console or Console(stderr=True)).print(
                f"{name} received: stopped at step {self.step} after saving {checkpoint}; exiting with code "
                f"{128 + stopped_by}; resume with --resume", markup=False
            )
        if self.log is not None:
            self.log.close()
        return {"step": self.step, "loss": last_row.get("loss"), "checkpoint": checkpoint,
                "stopped_early": stopped_by is not None, "signal": stopped_by}

    def close(self) -> None:
        self.dist.close()


def _version() -> str:
    from ..version import __version__

    return __version__
