"""Neural-network building blocks: Module, Parameter, layers, activations, init, functional."""

from gradlite.nn import functional, init  # noqa: F401
from gradlite.nn.activation import ReLU, Sigmoid, Tanh
from gradlite.nn.linear import Identity, Linear
from gradlite.nn.module import Module
from gradlite.nn.parameter import Parameter
from gradlite.nn import utils  # noqa: E402,F401  (clip_grad_norm_, clip_grad_value_)

__all__ = ["Identity", "Linear", "Module", "Parameter", "ReLU", "Sigmoid", "Tanh", "functional", "init"]
