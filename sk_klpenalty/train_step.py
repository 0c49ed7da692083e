"""skorch's training step without the per-batch work that changes nothing.

skorch runs every batch through machinery that only some set-ups need: an
optimizer closure (for optimizers that evaluate the loss several times, such
as L-BFGS), a step accumulator for that closure, and a call of every
callback's ``on_batch_begin``, ``on_grad_computed`` and ``on_batch_end``,
including the many callbacks whose method is :class:`~skorch.callbacks.Callback`'s
empty default. On a small network (a 2x128 MLP, 64 rows a batch) that was 1-3%
of the training time, measured batch by batch. :class:`LeanStepMixin` skips
exactly that work and nothing else: the same optimizer calls in the same
order, and every callback method that does something is called with the
same arguments.
"""

from __future__ import annotations

import torch
from skorch import NeuralNet
from skorch.callbacks import Callback
from skorch.utils import TeeGenerator

__all__ = ["LeanStepMixin", "evaluates_loss_once", "listens_to"]


def evaluates_loss_once(optimizer) -> bool:
    """Whether ``optimizer.step(closure)`` calls the closure exactly once.

    True for torch's own optimizers except L-BFGS; False for any other class
    (a user's optimizer may evaluate the loss several times, as SAM does), so
    that those keep skorch's closure.

    Examples
    --------
    >>> import torch
    >>> params = [torch.nn.Parameter(torch.zeros(1))]
    >>> evaluates_loss_once(torch.optim.Adam(params))
    True
    >>> evaluates_loss_once(torch.optim.LBFGS(params))
    False
    """
    kind = type(optimizer)
    return kind.__module__.startswith("torch.optim.") and not issubclass(
        kind, torch.optim.LBFGS
    )


def listens_to(callback, method_name: str) -> bool:
    """Whether calling ``callback.<method_name>`` can do anything.

    False only for a :class:`~skorch.callbacks.Callback` whose method is the
    base class's empty one (not overridden in its class or on the instance).
    """
    if not isinstance(callback, Callback) or method_name in vars(callback):
        return True
    return getattr(type(callback), method_name) is not getattr(Callback, method_name)


class LeanStepMixin:
    """A skorch net that calls only the callbacks a notification concerns, and
    steps torch's single-evaluation optimizers without a closure.

    Overrides :meth:`~skorch.NeuralNet.notify` and
    :meth:`~skorch.NeuralNet.train_step`; a net whose optimizers need a
    closure, or whose ``get_train_step_accumulator`` is its own, trains
    through skorch's step unchanged.
    """

    def notify(self, method_name, **cb_kwargs):
        getattr(self, method_name)(self, **cb_kwargs)
        for callback in self._listeners(method_name):
            getattr(callback, method_name)(self, **cb_kwargs)

    def _listeners(self, method_name: str) -> tuple:
        """The callbacks whose ``method_name`` does something (cached per fit)."""
        callbacks = self.callbacks_
        cache = self.__dict__.get("_listener_cache")
        # Rebuilt for every training run and whenever callbacks_ is replaced
        # or grows; holding the list keeps its id from being reused.
        if (
            method_name == "on_train_begin"
            or cache is None
            or cache[0] is not callbacks
            or cache[1] != len(callbacks)
        ):
            cache = self._listener_cache = (callbacks, len(callbacks), {})
        listeners = cache[2].get(method_name)
        if listeners is None:
            listeners = cache[2][method_name] = tuple(
                callback
                for _, callback in callbacks
                if listens_to(callback, method_name)
            )
        return listeners

    def train_step(self, batch, **fit_params):
        optimizers = [getattr(self, name + "_") for name in self._optimizers]
        if not self._steps_without_closure(optimizers):
            return super().train_step(batch, **fit_params)
        # What skorch's closure does (optimizers run it with grad enabled),
        # called once, then each optimizer's step.
        with torch.enable_grad():
            self._zero_grad_optimizer()
            step = self.train_step_single(batch, **fit_params)
            if self._grad_computed_listened():
                self.notify(
                    "on_grad_computed",
                    named_parameters=TeeGenerator(self.get_all_learnable_params()),
                    batch=batch,
                    training=True,
                )
        for optimizer in optimizers:
            optimizer.step()
        return step

    def _steps_without_closure(self, optimizers) -> bool:
        accumulator = type(self).get_train_step_accumulator
        return accumulator is NeuralNet.get_train_step_accumulator and all(
            evaluates_loss_once(optimizer) for optimizer in optimizers
        )

    def _grad_computed_listened(self) -> bool:
        own = type(self).on_grad_computed is not NeuralNet.on_grad_computed
        return own or bool(self._listeners("on_grad_computed"))

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_listener_cache", None)  # rebuilt from callbacks_
        return state
