"""Concrete values of Tensors: ``xpgrad.compute(*tensors)`` and ``Tensor.compute()``.

On a lazy backend (dask) a Tensor, its gradients included, holds a graph of tasks, not
values. :func:`compute` hands the arrays of several Tensors to their backend at once
(``Backend.compute``), so that the parts of the graph they share (the forward pass of a
loss and of its gradients) are computed once. On an eager backend the arrays are the
values already and come back as they are.
"""
from __future__ import annotations

from typing import Any

from .tensor import Tensor

__all__ = ["compute"]


def compute(*tensors: Tensor) -> tuple[Any, ...]:
    """The values of ``tensors`` as their backends' concrete arrays, computed in one pass.

    The Tensors of one backend are computed together, by one call of that backend's
    :meth:`~xpgrad.plugins.Backend.compute`: for dask, one ``dask.compute`` over all
    their graphs, so a task several of them need runs once (on the current scheduler,
    a ``dask.distributed`` Client's if one is active). Computing a loss and the
    gradients of its ``backward()`` together therefore runs the forward pass once, where
    two separate computations would run it twice.

    Parameters
    ----------
    *tensors : Tensor
        The Tensors to compute, on any devices and backends (grouped by backend, each
        group in one pass).

    Returns
    -------
    tuple of array
        One array per Tensor, in the order given: NumPy arrays for dask Tensors; on an
        eager backend (NumPy, CuPy, array-api-strict, PyTorch, JAX) the Tensor's own
        array, not copied and outside the graph (as ``t.detach()``'s data).

    Raises
    ------
    TypeError
        If an argument is not a Tensor (a ``.grad`` that is None, a list of Tensors).

    See Also
    --------
    Tensor.compute : one Tensor's value, ``xpgrad.compute(t)[0]``.
    Tensor.numpy : one Tensor's value as a NumPy array, on any backend.

    Examples
    --------
    >>> import xpgrad
    >>> w = xpgrad.tensor([1.0, 2.0], device="dask", requires_grad=True)
    >>> loss = (w ** 2).sum()
    >>> loss.backward()
    >>> value, grad = xpgrad.compute(loss, w.grad)
    >>> value, grad
    (array(5., dtype=float32), array([2., 4.], dtype=float32))
    """
    groups: dict[int, tuple[Any, list[int]]] = {}  # id(backend) -> (backend, positions)
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(_not_a_tensor(t, i))
        backend = t._dev.backend
        groups.setdefault(id(backend), (backend, []))[1].append(i)
    out: list[Any] = [None] * len(tensors)
    for backend, positions in groups.values():
        values = backend.compute([tensors[i]._data for i in positions])
        if len(values) != len(positions):
            raise RuntimeError(f"the {backend.name} backend's compute() returned {len(values)} arrays "
                               f"for {len(positions)}")
        for i, value in zip(positions, values):
            out[i] = value
    return tuple(out)


def _not_a_tensor(value: object, i: int) -> str:
    """The TypeError message for ``value``, argument ``i`` of ``xpgrad.compute``."""
    what = f"xpgrad.compute() takes Tensors, but argument {i} is "
    if value is None:
        return what + ("None; a Tensor's .grad is None until backward() has reached it "
                       "(call loss.backward() first)")
    if isinstance(value, (list, tuple)):
        return what + (f"of type {type(value).__name__}; pass the Tensors as separate arguments: "
                       "xpgrad.compute(*tensors)")
    return what + (f"of type {type(value).__name__}; pass Tensors (xpgrad.tensor(data) makes one "
                   "of data or an array)")
