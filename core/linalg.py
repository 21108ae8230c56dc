"""``xpgrad.linalg``: the PyTorch-face linear algebra functions (``dim=``/``keepdim=``).

The same ops as ``xpgrad.xp.linalg`` (which keeps the array API standard's signatures),
under ``torch.linalg``'s names and arguments. See ``xpgrad.ops.linalg`` and
``xpgrad.ops.decompositions`` for the gradients at singular matrices and repeated
eigen/singular values, and for complex input (PyTorch's convention, and the phases of
complex eigen- and singular vectors).
"""
from xpgrad.plugins.arrays import is_complex

from .dispatch import apply
from .xp import conj, expand_dims, moveaxis, squeeze
from .xp import linalg as _xl
from .xp.linalg import EighResult, EigResult, QRResult, SlogdetResult, SVDResult

__all__ = ["cholesky", "cross", "det", "diagonal", "eig", "eigh", "eigvals", "eigvalsh", "inv", "matmul", "matrix_norm",
           "matrix_power", "matrix_rank", "multi_dot", "norm", "pinv", "qr", "slogdet", "solve", "svd",
           "svdvals", "trace", "vecdot", "vector_norm",
           "EigResult", "EighResult", "QRResult", "SVDResult", "SlogdetResult"]


def _dims(dim):
    return tuple(dim) if isinstance(dim, list) else dim


def inv(A):
    """The inverse of each square matrix in the last two axes of ``A``."""
    return apply("inv", (A,))


def vector_norm(x, ord=2, dim=None, keepdim=False):
    """The vector ``ord``-norm over ``dim`` (all elements if None); 0-subgradient at 0."""
    return apply("vector_norm", (x,), {"ord": ord, "axis": _dims(dim), "keepdims": keepdim})


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False):
    """The matrix norm over the two axes ``dim`` (``'fro'``, ``'nuc'``, ±1, ±2, ±inf)."""
    dim = tuple(d % A.ndim for d in dim)
    if dim != (A.ndim - 2, A.ndim - 1):
        out = _xl.matrix_norm(moveaxis(A, dim, (-2, -1)), ord=ord, keepdims=False)
        if keepdim:
            for d in sorted(dim):
                out = expand_dims(out, axis=d)
        return out
    return _xl.matrix_norm(A, ord=ord, keepdims=keepdim)


def norm(A, ord=None, dim=None, keepdim=False):
    """``torch.linalg.norm``: a vector or a matrix norm, as ``dim``, ``ord`` and ``A.ndim`` say.

    A vector norm over an int ``dim`` (or of the flattened input when ``dim`` and
    ``ord`` are None, or of a 1-D input), a matrix norm over a pair ``dim`` (or of a
    2-D input given ``ord``).
    """
    dim = _dims(dim)
    if isinstance(dim, int):
        return vector_norm(A, 2 if ord is None else ord, dim, keepdim)
    if dim is None:
        if ord is None or A.ndim == 1:
            return vector_norm(A, 2 if ord is None else ord, None, keepdim)
        if A.ndim != 2:
            raise ValueError(f"norm: ord={ord!r} without dim needs a 1-D or 2-D input, got {A.ndim}-D; pass dim")
        dim = (-2, -1)
    if len(dim) == 1:
        return vector_norm(A, 2 if ord is None else ord, dim, keepdim)
    if len(dim) != 2:
        raise ValueError(f"norm: dim must be an int or a pair of axes, got {dim!r}")
    return matrix_norm(A, "fro" if ord is None else ord, dim, keepdim)


def matmul(input, other):
    """Matrix product with 1-D promotion and batch broadcasting."""
    return apply("matmul", (input, other))


def multi_dot(tensors):
    """The product of a sequence of matrices, left to right (first and last may be 1-D)."""
    tensors = list(tensors)
    if len(tensors) < 2:
        raise ValueError(f"multi_dot needs at least 2 tensors, got {len(tensors)}")
    out = tensors[0]
    for t in tensors[1:]:
        out = apply("matmul", (out, t))
    return out


def trace(x):
    """The sum of the main diagonal of the last two axes."""
    return apply("trace", (x,))


def diagonal(A, *, offset=0, dim1=-2, dim2=-1):
    """The ``offset`` diagonal of the matrices in axes ``dim1``, ``dim2``."""
    if (dim1 % A.ndim, dim2 % A.ndim) != (A.ndim - 2, A.ndim - 1):
        A = moveaxis(A, (dim1, dim2), (-2, -1))
    return _xl.diagonal(A, offset=offset)


def det(A):
    """The determinant; its gradient (the cofactor matrix) is exact for singular ``A``."""
    return _xl.det(A)


def slogdet(A):
    """``(sign, logabsdet)``: the sign and the log of the absolute value of the determinant.

    ``sign`` is not differentiable for real ``A`` and is the differentiable phase
    ``det / |det|`` for complex ``A``.
    """
    return _xl.slogdet(A)


def cholesky(A, *, upper=False):
    """The Cholesky factor (lower, or upper with ``upper=True``) of SPD matrices."""
    return _xl.cholesky(A, upper=upper)


def eig(A):
    """``(eigenvalues, eigenvectors)`` of square matrices, complex even for real ``A``.

    ``torch.linalg.eig``'s name; the gradient asks of the loss what PyTorch's does.
    """
    return _xl.eig(A)


def eigvals(A):
    """The eigenvalues of square matrices, complex even for real ``A``."""
    return _xl.eigvals(A)


def eigh(A, UPLO="L"):
    """``(eigenvalues, eigenvectors)`` of symmetric (complex: Hermitian) matrices.

    The matrices are read from the ``UPLO`` triangle (``'L'`` or ``'U'``).
    """
    return _xl.eigh(_triangle(A, UPLO))


def eigvalsh(A, UPLO="L"):
    """The eigenvalues of symmetric (complex: Hermitian) matrices.

    The matrices are read from the ``UPLO`` triangle (``'L'`` or ``'U'``).
    """
    return _xl.eigvalsh(_triangle(A, UPLO))


def _triangle(A, UPLO):
    """``A``, or for ``UPLO='U'`` the matrix whose lower triangle is ``A``'s upper one
    as a symmetric (Hermitian) matrix has it: ``A^T`` (``A^H`` for complex ``A``)."""
    if UPLO not in ("L", "U"):
        raise ValueError(f"UPLO must be 'L' or 'U', got {UPLO!r}")
    if UPLO == "L":
        return A
    return conj(A.mT) if is_complex(A) else A.mT


def qr(A, mode="reduced"):
    """The QR decomposition ``(Q, R)`` of ``A``.

    ``mode`` is ``'reduced'`` or ``'complete'`` (``'r'``: R only, Q empty is not
    supported).
    """
    return _xl.qr(A, mode=mode)


def svd(A, full_matrices=True):
    """``(U, S, Vh)`` with ``A = U diag(S) Vh``."""
    return _xl.svd(A, full_matrices=full_matrices)


def svdvals(A):
    """The singular values, descending."""
    return _xl.svdvals(A)


def solve(A, B, *, left=True):
    """The solution ``X`` of ``A X = B`` (``left=False``: ``X A = B``).

    Unlike the array API's ``solve``, a ``B`` of shape ``(..., n)`` that broadcasts as a
    batch of vectors is a vector when ``A`` is ``(..., n, n)`` and
    ``B.ndim == A.ndim - 1``, as in PyTorch.
    """
    if not left:
        return _xl.matrix_transpose(solve(A.mT, B.mT))
    if B.ndim == A.ndim - 1 and B.ndim > 1:
        return squeeze(_xl.solve(A, expand_dims(B, axis=-1)), axis=-1)
    return _xl.solve(A, B)


def pinv(A, *, rtol=None, hermitian=False):
    """The Moore-Penrose pseudo-inverse (``hermitian`` is accepted and ignored)."""
    return _xl.pinv(A, rtol=rtol)


def matrix_rank(A, *, rtol=None, hermitian=False):
    """The numerical rank (not differentiable)."""
    return _xl.matrix_rank(A, rtol=rtol)


def matrix_power(A, n):
    """``A`` to the integer power ``n`` (negative: of the inverse)."""
    return _xl.matrix_power(A, n)


def cross(input, other, *, dim=-1):
    """The cross product of 3-vectors along ``dim``."""
    return _xl.cross(input, other, axis=dim)


def vecdot(x, y, *, dim=-1):
    """The dot product along ``dim``, conjugating ``x``."""
    return _xl.vecdot(x, y, axis=dim)
