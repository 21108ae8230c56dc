"""``xpgrad.xp.linalg``: the standard's linear algebra extension (2025.12), differentiable.

Each function keeps the standard's signature and dispatches registered ops (see
``xpgrad.ops.linalg`` and ``xpgrad.ops.decompositions`` for the gradient conventions at
singular matrices and repeated eigen/singular values). ``tensordot`` and ``vecdot``,
which the standard puts in the main namespace, are defined here too.

Multi-output functions return the standard's named tuples (``EigResult``,
``EighResult``, ``QRResult``, ``SVDResult``, ``SlogdetResult``). Each field is its own
op: while a graph is recorded, the decomposition runs once per field; without one (no
input requiring grad, or under ``no_grad``) it runs once. ``svd`` of a complex input that
requires grad is one op whose fields are sliced out, so that its backward can check that
the loss does not depend on the singular vectors' phases.

``eig`` and ``eigvals`` take any square matrices and return complex results
(``complex64`` for ``float32`` input, ``complex128`` for ``float64``), eigenvectors
with unit columns. While a graph is recorded, ``eigvals`` is ``eig``'s eigenvalues
(op ``eig_eigenvalues``, as PyTorch computes it): its gradient needs the eigenvectors in
the eigenvalues' order, which the backend's eig gives and its eigvals need not keep.
Otherwise it is the backend's eigvals.

Complex input is supported by every differentiable function, with PyTorch's gradient
convention (``dL/dx + i dL/dy``); ``xpgrad.ops.linalg`` and
``xpgrad.ops.decompositions`` say how, and what eig, eigh and svd require of a loss.
"""
from collections import namedtuple

from xpgrad.dispatch import apply, batched
from xpgrad.grad_mode import GRAD_ENABLED
from xpgrad.plugins.arrays import expect_matrices, is_complex, svd_sizes, unpack
from xpgrad.tensor import Tensor

from . import _manipulation
from ._dtypes import isdtype, result_type
from ._elementwise import abs as _abs
from ._elementwise import conj, multiply, real
from ._manipulation import expand_dims, permute_dims, reshape
from ._statistical import max as _max
from ._statistical import min as _min
from ._statistical import sum as _sum

__all__ = ["cholesky", "cross", "det", "diagonal", "eig", "eigh", "eigvals", "eigvalsh", "inv", "matmul",
           "matrix_norm", "matrix_power", "matrix_rank", "matrix_transpose", "outer", "pinv", "qr", "slogdet",
           "solve", "svd", "svdvals", "tensordot", "trace", "vecdot", "vector_norm",
           "EigResult", "EighResult", "QRResult", "SVDResult", "SlogdetResult"]

EigResult = namedtuple("EigResult", ["eigenvalues", "eigenvectors"])
EighResult = namedtuple("EighResult", ["eigenvalues", "eigenvectors"])
QRResult = namedtuple("QRResult", ["Q", "R"])
SVDResult = namedtuple("SVDResult", ["U", "S", "Vh"])
SlogdetResult = namedtuple("SlogdetResult", ["sign", "logabsdet"])

_INF = float("inf")


def _tensor(x, name):
    if not isinstance(x, Tensor) and not batched(x):
        raise TypeError(f"{name}: x must be an xpgrad Tensor, got {type(x).__name__}; "
                        "wrap arrays with xpgrad.tensor(...)")
    return x


def _parts(result, name, x, ops, params=None):
    """``result(*fields)``, one op per field while recording; one forward otherwise."""
    return result(*_fields(name, x, ops, params))


def _fields(name, x, ops, params=None):
    """The fields of the backend's ``linalg.<name>`` of ``x`` (a tuple of Tensors; of one
    Tensor where ``ops`` names one op and the backend's function returns one array)."""
    x = _tensor(x, name)
    generic = x._dev.ops[ops[0]].backends is None  # not a device's own definition (dask's)
    if not generic or x.requires_grad and GRAD_ENABLED.get():
        return tuple(apply(op, (x,), params) for op in ops)
    if batched(x):  # inside vmap: the whole batch's decomposition (of the trailing axes), each field re-wrapped
        return tuple(type(x)(part, x._level, x._size) for part in _fields(name, x._value, ops, params))
    # Nothing to record: the backend's decomposition once. Where it fails, the first
    # field's op reruns it to raise its error, which names the op and the arguments.
    try:
        raw = getattr(x._dev.xp.linalg, name)(x._data, **(params or {}))
    except Exception:
        apply(ops[0], (x,), params)
        raise
    return tuple(Tensor(part, x._dev) for part in ((raw,) if len(ops) == 1 else raw))


# ---------------------------------------------------------------------- products


def matmul(x1, x2, /):
    """Matrix product with the standard's 1-D promotion and batch broadcasting."""
    return apply("matmul", (x1, x2))


def matrix_transpose(x, /):
    """Swap the last two axes."""
    return apply("matrix_transpose", (x,))


def outer(x1, x2, /):
    """The outer product of two 1-D arrays: ``(n,) x (m,) -> (n, m)``."""
    for name, x in (("x1", x1), ("x2", x2)):
        if getattr(x, "ndim", 1) != 1:
            raise ValueError(f"outer: {name} must be 1-D, got shape {tuple(x.shape)}")
    return apply("outer", (x1, x2))


def cross(x1, x2, /, *, axis=-1):
    """The cross product of 3-vectors along ``axis`` (broadcasting the other axes)."""
    return apply("cross", (x1, x2), {"axis": axis})


def _normalize_tensordot_axes(axes, nd1, nd2):
    if isinstance(axes, int):
        if axes < 0:
            raise ValueError(f"tensordot: axes must be a non-negative integer, got {axes}")
        if axes > min(nd1, nd2):
            raise ValueError(f"tensordot: cannot contract {axes} axes of arrays with {nd1} and {nd2} dimensions")
        return list(range(nd1 - axes, nd1)), list(range(axes))
    try:
        a1, a2 = axes
    except (TypeError, ValueError):
        raise TypeError(f"tensordot: axes must be an int or a pair of sequences of axes, got {axes!r}") from None
    a1 = [a1] if isinstance(a1, int) else list(a1)
    a2 = [a2] if isinstance(a2, int) else list(a2)
    if len(a1) != len(a2):
        raise ValueError(f"tensordot: axes {a1} and {a2} must have the same length")
    for name, ax, nd in (("x1", a1, nd1), ("x2", a2, nd2)):
        for a in ax:
            if not -nd <= a < nd:
                raise ValueError(f"tensordot: axis {a} is out of range for {name} with {nd} dimensions")
    return [a % nd1 for a in a1], [a % nd2 for a in a2]


def tensordot(x1, x2, /, *, axes=2):
    """Sum products over ``axes``: the last ``axes`` axes of ``x1`` with the first of
    ``x2`` (an int), or the listed pairs. Built from ``permute_dims``, ``reshape`` and
    ``matmul``, so it is differentiable to any order."""
    x1, x2 = _tensor(x1, "tensordot"), _tensor(x2, "tensordot")
    a1, a2 = _normalize_tensordot_axes(axes, x1.ndim, x2.ndim)
    for i, j in zip(a1, a2):
        if x1.shape[i] != x2.shape[j]:
            raise ValueError(f"tensordot: axis {i} of x1 (size {x1.shape[i]}) and axis {j} of x2 "
                             f"(size {x2.shape[j]}) must have the same size to be contracted")
    free1 = [i for i in range(x1.ndim) if i not in a1]
    free2 = [j for j in range(x2.ndim) if j not in a2]
    k = 1
    for i in a1:
        k *= x1.shape[i]
    left = [x1.shape[i] for i in free1]
    right = [x2.shape[j] for j in free2]
    n1 = 1
    for s in left:
        n1 *= s
    n2 = 1
    for s in right:
        n2 *= s
    m1 = reshape(permute_dims(x1, tuple(free1 + a1)), (n1, k))
    m2 = reshape(permute_dims(x2, tuple(a2 + free2)), (k, n2))
    return reshape(matmul(m1, m2), tuple(left + right))


def vecdot(x1, x2, /, *, axis=-1):
    """The dot product of vectors along ``axis`` (conjugating ``x1``), broadcasting the
    other axes."""
    nd = max(x1.ndim, x2.ndim)
    if not -nd <= axis < nd:
        raise ValueError(f"vecdot: axis {axis} is out of range for arrays of {x1.ndim} and {x2.ndim} dimensions")
    ax = axis - nd if axis >= 0 else axis
    for name, x in (("x1", x1), ("x2", x2)):
        if x.ndim < -ax:
            raise ValueError(f"vecdot: {name} of shape {tuple(x.shape)} has no axis {axis}")
    if x1.shape[ax] != x2.shape[ax]:
        raise ValueError(f"vecdot: the vectors must have the same length along axis {axis}, got "
                         f"{x1.shape[ax]} and {x2.shape[ax]}")
    if isdtype(x1.dtype, "complex floating"):
        x1 = conj(x1)
    # sum() would widen small integer types (uint8 -> uint64); vecdot keeps the operands' type.
    return _sum(multiply(x1, x2), axis=ax, dtype=result_type(x1, x2))


# ---------------------------------------------------------------------- matrix functions


def trace(x, /, *, offset=0, dtype=None):
    """The sum of the ``offset`` diagonal of each matrix in the last two axes."""
    return apply("trace", (x,), {"offset": offset, "dtype": dtype})


def diagonal(x, /, *, offset=0):
    """The ``offset`` diagonal of each matrix in the last two axes."""
    return apply("diagonal", (x,), {"offset": offset})


def inv(x, /):
    """The inverse of each square matrix in the last two axes."""
    return apply("inv", (x,))


def solve(x1, x2, /):
    """``x1^-1 x2`` for square ``x1``; a 1-D ``x2`` is one vector, otherwise ``x2`` holds
    matrices ``(..., M, K)``; batch axes broadcast.
    """
    return apply("solve", (x1, x2))


def det(x, /):
    """The determinant of each square matrix. Its gradient, the cofactor matrix, is
    computed without inverting: exact for singular matrices; so is the second
    derivative, at repeated singular values too.
    """
    return apply("det", (x,))


def slogdet(x, /):
    """``SlogdetResult(sign, logabsdet)``. For real ``x``, ``sign`` (+-1 or 0) is not
    differentiable; for complex ``x`` it is the phase ``det / |det|``, differentiable
    (op ``slogdet_phase``), and ``logabsdet`` is real. At a singular matrix
    (``logabsdet = -inf``) the gradients and tangents are NaN."""
    x = _tensor(x, "slogdet")
    sign = "slogdet_phase" if is_complex(x) else "slogdet_sign"
    return SlogdetResult(apply(sign, (x,)), apply("slogdet_logabsdet", (x,)))


def matrix_power(x, n, /):
    """``x`` to the integer power ``n`` (``n < 0``: the inverse's power; 0: identity).
    """
    return apply("matrix_power", (x,), {"n": n})


def _tolerance(x, rtol, name):
    """``rtol`` as the backend takes it: a float, None, or (the standard allows an array,
    broadcasting against the batch) the array of a Tensor on ``x``'s device. A Tensor's
    array is taken whether it requires grad or not: the tolerance gets no gradient, as
    in PyTorch."""
    if not isinstance(rtol, Tensor):
        return rtol
    if isinstance(x, Tensor) and rtol.device != x.device:
        raise ValueError(f"{name}: rtol is on device {rtol.device!r} and x on {x.device!r}; "
                         f"move rtol to x's device (rtol.to({str(x.device)!r}))")
    return rtol.detach()._data


def pinv(x, /, *, rtol=None):
    """The Moore-Penrose pseudo-inverse; singular values up to ``rtol`` (a float, or a
    Tensor broadcasting against the batch) times the largest count as zero. The gradient
    is the constant-rank one; ``rtol`` gets none.
    """
    return apply("pinv", (x,), {"rtol": _tolerance(x, rtol, "pinv")})


def matrix_rank(x, /, *, rtol=None):
    """The numerical rank of each matrix (an integer array; not differentiable); ``rtol`` a
    float or a Tensor broadcasting against the batch.
    """
    return apply("matrix_rank", (x,), {"rtol": _tolerance(x, rtol, "matrix_rank")})


# ---------------------------------------------------------------------- decompositions


def cholesky(x, /, *, upper=False):
    """The Cholesky factor ``L`` (``x = L L^T``) of each symmetric positive-definite
    matrix, read from its lower triangle; ``upper=True`` gives ``L^T``.
    """
    return apply("cholesky", (x,), {"upper": upper})


def eig(x, /):
    """``EigResult(eigenvalues, eigenvectors)`` of each square matrix, complex for real
    input too; the eigenvectors are unit columns, the order is the backend's.

    A loss of the eigenvectors has a gradient only if it does not depend on their
    arbitrary phases (``V diag(f(L)) V^-1``, ``|V|``); backward checks it and raises a
    ``RuntimeError`` otherwise (see ``xpgrad.ops.decompositions``). Gradients need
    distinct eigenvalues."""
    x = _tensor(x, "eig")
    expect_matrices("eig", x, square=True)
    return _parts(EigResult, "eig", x, ("eig_eigenvalues", "eig_eigenvectors"))


def eigvals(x, /):
    """The eigenvalues of each square matrix, complex for real input too, in the
    backend's order. While a graph is recorded they are ``eig(x).eigenvalues`` (op
    ``eig_eigenvalues``), as PyTorch computes them for a gradient; otherwise the
    backend's eigvals, whose order may differ from its eig's."""
    x = _tensor(x, "eigvals")
    expect_matrices("eigvals", x, square=True)
    return _fields("eigvals", x, ("eig_eigenvalues",))[0]


def eigh(x, /):
    """``EighResult(eigenvalues, eigenvectors)`` of each symmetric matrix (read from its
    lower triangle), eigenvalues ascending."""
    return _parts(EighResult, "eigh", x, ("eigh_eigenvalues", "eigh_eigenvectors"))


def eigvalsh(x, /):
    """The eigenvalues of each symmetric matrix (lower triangle read), ascending."""
    return apply("eigvalsh", (x,))


def qr(x, /, *, mode="reduced"):
    """``QRResult(Q, R)``; ``mode`` is ``'reduced'`` or ``'complete'``. Where ``R`` has an
    exact zero on its diagonal (rank-deficient input) the gradients and tangents are NaN."""
    if mode not in ("reduced", "complete"):
        raise ValueError(f"qr: mode must be 'reduced' or 'complete', got {mode!r}")
    return _parts(QRResult, "qr", x, ("qr_q", "qr_r"), {"mode": mode})


def svd(x, /, *, full_matrices=True):
    """``SVDResult(U, S, Vh)`` with ``x = U diag(S) Vh``, singular values descending.

    For a complex ``x`` that requires grad, the three come from one op (``svd_packed``)
    whose gradient checks that the loss does not depend on the singular vectors'
    arbitrary phases (see ``xpgrad.ops.decompositions``)."""
    params = {"full_matrices": full_matrices}
    x = _tensor(x, "svd")
    if is_complex(x) and x.requires_grad and GRAD_ENABLED.get():
        packed = apply("svd_packed", (x,), params)
        m, n, k, ku, kv = svd_sizes(tuple(x.shape), full_matrices)
        u, s, vh = unpack(_manipulation, packed, [(m, ku), (k,), (kv, n)])
        return SVDResult(u, real(s), vh)
    return _parts(SVDResult, "svd", x, ("svd_u", "svd_s", "svd_vh"), params)


def svdvals(x, /):
    """The singular values of each matrix, descending."""
    return apply("svdvals", (x,))


# ---------------------------------------------------------------------- norms


def vector_norm(x, /, *, axis=None, keepdims=False, ord=2):
    """The vector ``ord``-norm over ``axis`` (all elements if None), scaled so that ``|x|
    ** ord`` does not under- or overflow; subgradient 0 at 0.
    """
    return apply("vector_norm", (x,), {"axis": axis, "keepdims": keepdims, "ord": ord})


def matrix_norm(x, /, *, keepdims=False, ord="fro"):
    """The matrix norm of each matrix in the last two axes: ``'fro'``, ``'nuc'`` (sum of
    singular values), ``2``/``-2`` (largest/smallest singular value), ``1``/``-1``
    (max/min column sum of ``|x|``), ``inf``/``-inf`` (max/min row sum)."""
    x = _tensor(x, "matrix_norm")
    if x.ndim < 2:
        raise ValueError(f"matrix_norm takes matrices (..., M, N), got shape {tuple(x.shape)}")
    if ord == "fro":
        return vector_norm(x, axis=(-2, -1), keepdims=keepdims)
    if ord == "nuc":
        out = _sum(svdvals(x), axis=-1)
    elif ord in (2, -2):
        out = (_max if ord == 2 else _min)(svdvals(x), axis=-1)
    elif ord in (1, -1):
        out = (_max if ord == 1 else _min)(_sum(_abs(x), axis=-2), axis=-1)
    elif ord in (_INF, -_INF):
        out = (_max if ord > 0 else _min)(_sum(_abs(x), axis=-1), axis=-1)
    else:
        raise ValueError(f"matrix_norm: ord must be 'fro', 'nuc', 1, -1, 2, -2, inf or -inf, got {ord!r}")
    if keepdims:
        out = expand_dims(expand_dims(out, axis=-1), axis=-1)
    return out
