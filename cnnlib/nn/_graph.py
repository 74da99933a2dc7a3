"""The graph a forward pass leaves for backward: one stack of caches per module.

torch records every operation of a forward pass and its backward walks that record in
reverse. cnnlib's modules do the same by hand, with one rule that makes shared layers work:
each call of a module pushes its ``(out, cache)`` on the module's own stack, and each
backward pops the most recent one. A layer used twice in one forward pass (``Sequential(l,
ReLU(), l)``) therefore has two caches, and since backward visits the calls in the reverse
order of forward, each backward meets the cache of its own call; the two gradients add up
in ``Parameter.grad`` as in torch.

Lifetime (how memory stays bounded):

* A call of a module while no other module's forward is running (a *top-level* call)
  starts a new graph. A module's caches from an older graph are dropped the next time it
  is called in a new one, so an evaluation loop keeps at most one graph alive.
* Inside ``cnnlib.no_grad()`` forward keeps no cache at all.
* Backward consumes the cache: a second backward for the same forward is an error, like
  torch's "Trying to backward through the graph a second time".

The one difference from torch: ``y1 = net(x1); y2 = net(x2)`` are two top-level calls, so
the second drops the caches of the first; backpropagating both raises an error (never a
wrong gradient). Call backward before the next forward, or batch the two inputs.

``Module.__init_subclass__`` wraps every subclass's ``forward`` and ``backward`` with
``graph_forward`` / ``graph_backward``; a layer only follows the contract (forward sets
``self.out`` and ``self.cache``, backward reads them).
"""

from __future__ import annotations

import functools
import itertools
import threading
from typing import Any, NamedTuple

from cnnlib.grad_mode import is_grad_enabled

__all__ = ["graph_forward", "graph_backward", "pending_calls"]


class Call(NamedTuple):
    """One forward call of a module, kept until its backward."""

    graph: int  # the number of the top-level call it belongs to
    out: Any
    cache: Any


_state = threading.local()  # depth (forwards running), graph (its number), in_backward
_graphs = itertools.count(1)


def _get(name, default):
    return getattr(_state, name, default)


def pending_calls(module) -> int:
    """How many forward calls of `module` still wait for their backward."""
    return len(module.__dict__.get("_calls", ()))


def graph_forward(forward):
    """Wrap a module's forward: run it, then push its (out, cache) on the module's stack."""

    @functools.wraps(forward)
    def wrapper(self, *args, **kwargs):
        d = self.__dict__
        if d.get("_in_forward"):  # super().forward(...) from a subclass's forward
            return forward(self, *args, **kwargs)
        depth = _get("depth", 0)
        if depth == 0:
            _state.graph = next(_graphs)
        graph = _state.graph
        object.__setattr__(self, "out", None)
        object.__setattr__(self, "cache", None)
        d["_in_forward"], _state.depth = True, depth + 1
        try:
            result = forward(self, *args, **kwargs)
        finally:
            d["_in_forward"], _state.depth = False, depth
        if self.out is None:
            object.__setattr__(self, "out", result)
        if not is_grad_enabled():
            object.__setattr__(self, "cache", None)  # nothing kept for backward
            d["_last_forward"] = "no_grad"
            return result
        calls = d.get("_calls")
        if not calls or calls[-1].graph != graph:  # a new graph: drop any older calls
            d["_dropped"] = bool(calls)  # (remembered for the error message)
            calls = d["_calls"] = []
        calls.append(Call(graph, self.out, self.cache))
        d["_last_forward"] = "kept"
        return result

    wrapper._graph_wrapped = True
    return wrapper


def graph_backward(backward):
    """Wrap a module's backward: restore the cache of its latest call, run, pop it."""

    @functools.wraps(backward)
    def wrapper(self, *args, **kwargs):
        d = self.__dict__
        if d.get("_in_backward"):  # super().backward(...) from a subclass's backward
            return backward(self, *args, **kwargs)
        calls = d.get("_calls")
        if not calls:
            raise RuntimeError(_no_call_message(self))
        call = calls[-1]
        outer = _get("in_backward", None)
        if outer is not None and outer[0] != call.graph:
            raise RuntimeError(
                f"{type(self).__name__}.backward inside {outer[1]}.backward: the cache on "
                f"top of {type(self).__name__}'s stack belongs to a later top-level call "
                f"of it, not to {outer[1]}'s forward (calling a module on its own starts a "
                f"new graph and drops the caches of the old one). Run "
                f"{outer[1]}.backward before calling its layers again."
            )
        object.__setattr__(self, "out", call.out)
        object.__setattr__(self, "cache", call.cache)
        if args and hasattr(args[0], "shape") and getattr(call.out, "ndim", 0) > 0:
            self._check_dout(args[0])
        d["_in_backward"], _state.in_backward = True, (call.graph, type(self).__name__)
        try:
            result = backward(self, *args, **kwargs)
        finally:
            d["_in_backward"], _state.in_backward = False, outer
        calls.pop()
        return result

    wrapper._graph_wrapped = True
    return wrapper


def _no_call_message(module) -> str:
    name = type(module).__name__
    d = module.__dict__
    last = d.get("_last_forward")
    if last is None:
        return f"{name}.backward called before forward: run {name}(x) first"
    if last == "no_grad":
        return (
            f"{name}.backward: the last forward of {name} ran inside cnnlib.no_grad(), "
            f"which keeps no cache for backward; run the forward outside no_grad()"
        )
    msg = (
        f"{name}.backward: no forward call of {name} is left to backpropagate. Each "
        f"forward's cache is consumed by one backward (as in torch: 'Trying to backward "
        f"through the graph a second time'); run forward again before another backward."
    )
    if d.get("_dropped"):
        msg += (
            f" Note: a later top-level call of {name} (or of a module that contains it) "
            f"dropped the caches of an earlier call that had no backward yet: cnnlib keeps "
            f"one graph per top-level call, so y1 = net(x1); y2 = net(x2) can only "
            f"backpropagate y2 (batch the inputs, or call backward in between)."
        )
    return msg
