"""Optimizers and learning-rate schedulers, with torch.optim's names, signatures and rules.

An optimizer updates each Parameter from its gradient: ``step()`` reads ``p.grad`` for
every parameter that has one and changes ``p.data`` in place; ``zero_grad()`` clears the
gradients before the next backward pass. Hyperparameters live in ``param_groups`` (one
dict per group of parameters), where ``lr_scheduler`` changes them during training::

    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sched = optim.lr_scheduler.StepLR(opt, step_size=10)
    ...  # each epoch: for each batch: opt.zero_grad(); backward; opt.step()
    sched.step()
"""

from cnnlib.optim import lr_scheduler
from cnnlib.optim.adam import Adam
from cnnlib.optim.adamw import AdamW
from cnnlib.optim.optimizer import Optimizer
from cnnlib.optim.rmsprop import RMSprop
from cnnlib.optim.sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "lr_scheduler"]
