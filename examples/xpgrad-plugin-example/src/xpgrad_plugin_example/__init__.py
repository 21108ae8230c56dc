"""xpgrad-plugin-example: two ops for xpgrad, added by a third-party package.

Installing the package is all it takes: xpgrad discovers ``xpgrad_plugin_example.ops``
through its entry point (group ``xpgrad``), and the ops run on every backend, with first
and second derivatives::

    import xpgrad
    from xpgrad_plugin_example import logsumexp, softplus

    x = xpgrad.tensor([1000.0, -1000.0, 0.5], requires_grad=True)
    softplus(x).sum().backward()          # stable: softplus(1000.) == 1000.
    logsumexp(x, axis=0)

The functions here are the Python face: each dispatches the registered op by name, on
whatever device its Tensor lives.
"""
from xpgrad.dispatch import apply

__all__ = ["softplus", "logsumexp"]
__version__ = "0.1.0"


def softplus(x, /):
    """``log(1 + exp(x))`` elementwise, without overflow for large ``|x|``.

    Its derivative is the logistic sigmoid.
    """
    return apply("softplus", (x,))


def logsumexp(x, /, *, axis=None, keepdims=False):
    """``log(sum(exp(x), axis))``, computed with the maximum shifted out (no overflow).

    ``axis`` is None (every axis), an int or a tuple of ints; ``keepdims`` keeps the
    reduced axes with size 1. Its derivative is the softmax of ``x`` along ``axis``.
    """
    if isinstance(axis, list):
        axis = tuple(axis)
    return apply("logsumexp", (x,), {"axis": axis, "keepdims": keepdims})
