"""xpgrad: reverse-mode automatic differentiation for any Python array API library.

>>> import xpgrad
>>> x = xpgrad.tensor([2.0], requires_grad=True)
>>> z = (x + 2) ** 2 + 3
>>> z.backward()
>>> x.grad
tensor([8.])

The same program runs on NumPy, or any other backend registered as a plugin; every op
is a plugin declaring its forward and its vector-Jacobian product once, against the
array API standard. ``xpgrad.xp`` is the differentiable array API namespace.
"""
from ._version import __version__
from .tensor import Tensor
from . import methods as _methods  # noqa: F401  (installs Tensor's computing methods)
from .node import Node, AccumulateGrad, RemovableHandle
from .grad_mode import no_grad, enable_grad, set_grad_enabled, is_grad_enabled
from .temporaries import set_temporaries_enabled, elide_temporaries, temporaries_enabled, TemporariesWarning
from .device import (
    Device, DeviceError, device, default_device, get_default_device, set_default_device,
)
from .dispatch import DispatchError
from .creation import (
    tensor, as_tensor, ones, zeros, full, empty, arange, eye, linspace, rand, randn, ones_like,
    zeros_like, full_like, empty_like, rand_like, randn_like, manual_seed, dtype,
    float16, float32, float64, int32, int64, bool_, complex64, complex128,
)
from .functions import (
    add, sub, subtract, mul, multiply, div, divide, neg, negative, pow, exp, log, sqrt, sin,
    cos, tanh, abs, sign, maximum, minimum, where, sum, mean, matmul, mm, t, transpose,
    reshape, trace, inverse, norm, clone, detach, numel, floor_divide, remainder, tril, triu,
    meshgrid, cat, concat, concatenate, stack, clamp, clip, sigmoid, relu, softmax, log_softmax,
    logsumexp, flatten, unsqueeze, squeeze, permute, from_numpy, allclose,
)
from .einsum_notation import einsum
from .lazy import compute
from .gradcheck import gradcheck, gradgradcheck, GradcheckError
from . import autograd, func, linalg, viz, xp
from .engine import grad

# The array API spells float64 as a dtype name; PyTorch code also says xpgrad.float / double.
from ._missing import missing_attribute as _missing_attribute


# Imported when first used (xpgrad.optim.SGD, `from xpgrad import nn`): a program that
# does not use them pays nothing for them at start-up.
_ON_FIRST_USE = ("nn", "optim", "special", "utils")


def __getattr__(name: str):
    if name in _ON_FIRST_USE:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise _missing_attribute(name)


float = float32  # noqa: A001  (PyTorch's alias)
double = float64
long = int64
FloatTensor = Tensor  # old code: xpgrad.FloatTensor([1, 2]) is a float32 Tensor

__all__ = [
    "__version__", "Tensor", "Node", "AccumulateGrad", "RemovableHandle", "no_grad",
    "enable_grad", "set_grad_enabled", "is_grad_enabled", "set_temporaries_enabled",
    "elide_temporaries", "temporaries_enabled", "TemporariesWarning", "Device", "DeviceError",
    "device", "default_device", "get_default_device", "set_default_device",
    "DispatchError", "tensor", "as_tensor", "ones", "zeros", "full", "empty", "arange",
    "eye", "linspace", "rand", "randn", "ones_like", "zeros_like", "full_like", "empty_like",
    "rand_like", "randn_like", "manual_seed", "dtype", "float16", "float32", "float64",
    "int32", "int64", "bool_", "complex64", "complex128", "add", "sub", "subtract",
    "mul", "multiply", "div", "divide", "neg", "negative", "pow", "exp", "log", "sqrt",
    "sin", "cos", "tanh", "abs", "sign", "maximum", "minimum", "where", "sum", "mean",
    "matmul", "mm", "t", "transpose", "reshape", "trace", "inverse", "norm", "clone",
    "detach", "numel", "floor_divide", "remainder", "tril", "triu", "meshgrid", "cat", "concat",
    "concatenate", "stack", "clamp", "clip", "sigmoid", "relu", "softmax", "log_softmax",
    "logsumexp", "flatten", "unsqueeze", "squeeze", "permute", "from_numpy", "allclose", "einsum",
    "compute", "gradcheck", "gradgradcheck", "GradcheckError", "autograd", "func", "linalg", "nn", "optim", "special",
    "utils", "viz", "xp", "grad",
]
