"""Resuming a run: the trainer's state read back from a checkpoint, with the recipe's current settings on top."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import yaml

from ..errors import UserError
from ..noise import derive_seed
from . import checkpoint as ckpt
from .ema import load_flat_state
from .logs import warn
from .rng_state import restore_rng_state
from .settings import lr_factor, train_changes

STATE_VERSION = 1
# Optimizer settings that come from the recipe (train.optimizer, and the schedule's base lr): on resume the
# recipe's values replace the checkpoint's. ``lr`` itself is recomputed from the schedule.
RECIPE_HYPERPARAMETERS = ("initial_lr", "betas", "weight_decay", "eps")


class Resuming:
    """The resume half of :class:`~synctrack.training.trainer.Trainer` (a mixin: it reads the trainer's state)."""

    def resume(self, path: str | Path | None = None) -> bool:
        """Continue from ``path`` (a checkpoint) or the run's latest; False when the run has none yet."""
        folder = ckpt.resolve_checkpoint(path) if path is not None else ckpt.latest_checkpoint(self.out)
        if folder is None:
            return False
        loaded = ckpt.load_checkpoint(folder)
        self._check_same_run(loaded["recipe"], folder)
        state = loaded["trainer"]
        if state.get("version") != STATE_VERSION:
            raise ckpt.CheckpointError(f"{folder}: trainer state version {state.get('version')} is not {STATE_VERSION}")
        try:
            load_flat_state(self.modules, loaded["weights"])
        except RuntimeError as error:
            raise ckpt.CheckpointError(f"{folder}: the weights do not fit this model ({str(error).splitlines()[0]})") from None
        missing = set(self.optimizers) ^ set(state["optimizers"])
        if missing:
            raise ckpt.CheckpointError(f"{folder}: optimizers {sorted(state['optimizers'])} do not match this objective's {sorted(self.optimizers)}")
        settings = self._optimizer_settings()  # what the recipe asks for now, before the checkpoint's replace it
        for name, optimizer in self.optimizers.items():
            optimizer.load_state_dict(state["optimizers"][name])
            self.schedulers[name].load_state_dict(state["schedulers"][name])
        self._apply_optimizer_settings(settings)
        if self.scaler is not None and state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        if self.ema is not None:
            if loaded["ema"] is not None:
                self.ema.shadow = {key: value.to(self.device) for key, value in loaded["ema"].items()}
                self.ema.updates = int(state.get("ema_updates") or 0)
            else:
                warn(f"{folder} has no EMA weights; the EMA restarts from the current weights")
        self.objective.load_metadata(loaded["meta"])
        self.stream.load_state(state["data"])
        self.step = int(state["step"])
        if self.dist.world_size == 1 and state.get("world_size", 1) == 1:
            restore_rng_state(state["rng"])
        else:  # per-process streams cannot be restored from rank 0's state: reseed deterministically
            torch.manual_seed(derive_seed(self.config.seed, "global", self.dist.rank, self.step))
        self.resume_changes = train_changes(loaded["recipe"], self.recipe_text)
        if self.log is not None:
            self.log.truncate_after(self.step)
            self.log.event(step=self.step, event="resumed", folder=str(folder), changed=self.resume_changes)
        return True

    def _optimizer_settings(self) -> dict[str, list[dict[str, Any]]]:
        """Per optimizer and parameter group, the hyperparameters the current recipe gives (``initial_lr`` is
        the schedule's base learning rate)."""
        return {name: [{key: group[key] for key in RECIPE_HYPERPARAMETERS if key in group} for group in optimizer.param_groups]
                for name, optimizer in self.optimizers.items()}

    def _apply_optimizer_settings(self, settings: dict[str, list[dict[str, Any]]]) -> None:
        """Put the recipe's optimizer settings back over a loaded state, and the learning rate of the current
        step under the current schedule: a resumed run takes ``train.optimizer`` and ``train.schedule`` changes
        from its first step on (the moments, step counts and schedule position stay the checkpoint's)."""
        for name, optimizer in self.optimizers.items():
            scheduler = self.schedulers[name]
            for group, wanted in zip(optimizer.param_groups, settings[name]):
                group.update(wanted)
            scheduler.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
            factor = lr_factor(self.config)(scheduler.last_epoch)
            for group in optimizer.param_groups:
                group["lr"] = group["initial_lr"] * factor
            scheduler._last_lr = [group["lr"] for group in optimizer.param_groups]  # what get_last_lr() reports

    def _check_same_run(self, stored_text: str, folder: Path) -> None:
        if not self.recipe_text:
            return
        stored, current = yaml.safe_load(stored_text) or {}, yaml.safe_load(self.recipe_text) or {}
        changed = [key for key in ("model", "data") if stored.get(key) != current.get(key)]
        targets = [(recipe.get("train") or {}).get("target", "diffusion") for recipe in (stored, current)]
        if targets[0] != targets[1]:
            changed.append("train.target")
        if changed:
            raise UserError(
                f"cannot resume from {folder}: the recipe's {' and '.join(changed)} section(s) differ from the "
                f"checkpoint's (see {folder / ckpt.RECIPE}); resume with the same recipe or train into a new --out folder"
            )
