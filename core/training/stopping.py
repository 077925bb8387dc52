"""Stopping a run on a signal: SIGINT or SIGTERM finish the step, save a checkpoint and end the run with
128 + the signal; every process of a distributed run stops at the same step with the same code."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import torch

# Signals that end a run gracefully (finish the step, save, exit with 128 + the signal), in rising priority.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class GracefulStop:
    """The signal half of :class:`~synctrack.training.trainer.Trainer` (a mixin: it sets ``_stop_signal``)."""

    @contextmanager
    def _graceful_stop(self) -> Iterator[None]:
        """SIGINT/SIGTERM finish the current step, save a checkpoint and end the run."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}

        def request_stop(signum, frame):  # noqa: ARG001 - signal API
            if self._stop_signal is not None:  # a second signal: stop now
                signal.signal(signum, previous[signum])
                raise KeyboardInterrupt
            self._stop_signal = signum

        for sig in previous:
            signal.signal(sig, request_stop)
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _agreed_stop_signal(self) -> int | None:
        """The signal that stops the run, agreed by every process (SIGTERM when any process got it, else
        SIGINT when any got that), or None to go on: all processes stop at the same step, with the same code."""
        flags = torch.tensor([float(self._stop_signal == sig) for sig in STOP_SIGNALS], device=self.device)
        received = self.dist.sum(flags) > 0
        return next((int(sig) for sig, got in zip(reversed(STOP_SIGNALS), reversed(received.tolist())) if got), None)
