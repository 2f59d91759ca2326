"""``gradlite.optim``: optimizers (SGD, Adam, AdamW, RMSprop, Adagrad) and ``lr_scheduler``."""

from gradlite.optim import lr_scheduler  # noqa: F401
from gradlite.optim.adagrad import Adagrad
from gradlite.optim.adam import Adam, AdamW
from gradlite.optim.optimizer import Optimizer
from gradlite.optim.rmsprop import RMSprop
from gradlite.optim.sgd import SGD

__all__ = ["SGD", "Adagrad", "Adam", "AdamW", "Optimizer", "RMSprop", "lr_scheduler"]
