"""Ctrl-C (SIGINT) and SIGTERM (a scheduler's preemption or requeue) end a run at the next step
boundary, with `checkpoints/last.ckpt` saved there, so resuming it loses nothing.

Lightning handles SIGTERM itself: it notes the signal and raises `SIGTERMException` once the
current step and its evaluation are done. SIGINT is passed on to it as a SIGTERM (by itself it
would raise KeyboardInterrupt wherever it lands, mid-step, and Lightning would exit). Before
training starts (data loading) there is nothing to save, so a signal stops the run at once; a
second Ctrl-C does too, for a run stuck in a long evaluation.

Inside a submitit job (`launcher=slurm`), submitit's own signal (USR2 by default, sent before the
time limit or on preemption) requeues the job and exits at once, wherever the run is. It is
taken like SIGTERM here first: the run stops at the end of its step with its checkpoint, and
only then is submitit's handler called to requeue it.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from contextlib import contextmanager

from lightning.pytorch.callbacks import Callback
from lightning.pytorch.utilities.exceptions import SIGTERMException

from grokbench.callbacks.checkpoint import LastCheckpoint

SIGNALS = (signal.SIGINT, signal.SIGTERM)


def exit_code(signal_name: str) -> int:
    """The shell's code for a process a signal ended: 128 + its number (SIGINT 130, SIGTERM 143)."""
    return 128 + signal.Signals[signal_name].value


def requeue_signal() -> tuple[signal.Signals, object] | None:
    """submitit's preemption signal and its handler, inside a submitit job (None elsewhere)."""
    name = os.environ.get("SUBMITIT_PREEMPT_SIGNAL", "USR2")  # submitit's own setting
    signum = getattr(signal, f"SIG{name}", None)
    handler = signal.getsignal(signum) if signum is not None else None
    inside = callable(handler) and type(getattr(handler, "__self__", None)).__module__.startswith("submitit")
    return (signum, handler) if inside else None


class RunInterrupted(BaseException):
    """A signal before training started, or a second Ctrl-C: the run stops where it is. A
    BaseException, so no `except Exception` in a library swallows it."""

    def __init__(self, signal_name: str):
        super().__init__(f"interrupted by {signal_name}")
        self.signal_name = signal_name


class Interrupts(Callback):
    """Catches SIGINT and SIGTERM for the length of a run (`installed()`) and saves the checkpoint
    when the fit stops at a step boundary because of one."""

    def __init__(self, checkpoint: LastCheckpoint):
        self.checkpoint = checkpoint
        self.received: str | None = None  # the signal's name, once one came
        self.fitting = False
        self.trainer = None  # while training
        self.evaluation_pending = False  # a SIGTERM held back until the evaluation under way ends
        self.saved_step: int | None = None  # the step of the checkpoint saved on the way out
        self.line = ""  # what the run's record says about the interrupt (grokbench.run)

    @contextmanager
    def installed(self):
        if threading.current_thread() is not threading.main_thread():  # signals reach the main thread only
            yield self
            return
        requeue = requeue_signal()
        signals = SIGNALS + ((requeue[0],) if requeue else ())
        # a signal this process was started ignoring stays ignored (a shell's background job, nohup)
        previous = {s: signal.getsignal(s) for s in signals if signal.getsignal(s) is not signal.SIG_IGN}
        for s in previous:
            signal.signal(s, self.handle)
        try:
            yield self
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
            if requeue and self.received == requeue[0].name:  # the record is written: now requeue
                print(f"error: {self.line}", file=sys.stderr, flush=True)
                requeue[1](requeue[0], None)  # submitit requeues the job and exits

    def handle(self, signum, frame) -> None:
        first = self.received is None
        if first:
            self.received = signal.Signals(signum).name
        if not self.fitting or (signum == signal.SIGINT and not first):
            raise RunInterrupted(self.received)
        if signum != signal.SIGTERM:
            # Lightning's SIGTERM handling (installed for the fit; it calls this handler too, after
            # its own) stops at the end of the step, evaluation included, its loop state consistent
            signal.raise_signal(signal.SIGTERM)
        elif self.trainer.validating:
            self.hold_back(self.trainer)

    def hold_back(self, trainer) -> None:
        """Lightning also stops inside an evaluation, and the step's evaluation would be lost to
        the checkpoint (a resumed run does not redo it): the flag waits until the evaluation
        ends. Lightning keeps it on its signal connector, with no public setter."""
        trainer._signal_connector.received_sigterm = False
        self.evaluation_pending = True

    def on_train_start(self, trainer, pl_module) -> None:  # after Lightning installed its handler
        self.fitting, self.trainer = True, trainer

    def on_validation_start(self, trainer, pl_module) -> None:  # a signal during the step before
        if self.fitting and trainer.received_sigterm:
            self.hold_back(trainer)

    def on_validation_end(self, trainer, pl_module) -> None:
        if self.evaluation_pending:
            # saved here, as the periodic checkpoint is (after the detector took this evaluation):
            # a resumed run then logs its metrics.csv steps as an uninterrupted one does
            self.save(trainer)
            self.evaluation_pending = False
            trainer._signal_connector.received_sigterm = True  # Lightning stops once the step ends

    def save(self, trainer) -> None:
        self.checkpoint.save(trainer)
        self.saved_step = int(trainer.global_step)

    def on_exception(self, trainer, pl_module, exception: BaseException) -> None:
        # only at a step's end (trainer.training) is the step complete; a SIGTERMException from
        # inside an evaluation (a handler other than this one saw the signal) leaves the last
        # periodic checkpoint standing
        boundary = isinstance(exception, SIGTERMException) and trainer.training and not trainer.sanity_checking
        if self.fitting and boundary and self.saved_step != trainer.global_step:
            self.save(trainer)

    def on_train_end(self, trainer, pl_module) -> None:
        self.fitting, self.trainer = False, None
