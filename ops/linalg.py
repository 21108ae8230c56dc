"""Linear algebra: products, transposes, trace, diagonal, inverse, solve, determinants,
powers, pseudo-inverse and norms (the decompositions are in ``decompositions.py``).

Shapes follow the standard: ``matmul`` promotes 1-D operands and broadcasts batch
dimensions, the matrix functions act on the last two axes, ``vector_norm`` reduces over
any axes. The engine sums batch-broadcast cotangents back to each operand's shape.

Every rule is written with the standard's functions and registered ops only, so it runs
on raw arrays in plain backward and records itself under ``create_graph``: second
derivatives come from the same code. Conventions at the hard places:

- ``det``: the gradient is the cofactor matrix (the transposed adjugate), computed from
  an SVD as ``sign * U diag(prod_{j != i} s_j) V^T``; it never inverts, so it is exact
  for singular matrices (``det([[0.]])`` has gradient ``[[1.]]``; a rank ``n - 1``
  matrix has the nonzero ``adj(A)^T``). The cofactor matrix is an op of its own
  (``cofactor``) with its own derivative: the cofactor matrix is multiplicative, so with
  the SVD's factors held fixed ``cof(U (S + P) V^T) = cof(U) cof(S + P) cof(V^T)``, and
  the derivative is that of the cofactor matrix at the diagonal ``S``, with no
  ``1 / (s_i - s_j)``. The second derivative of ``det`` is therefore exact at repeated
  singular values (``I``, rotations, permutations) and at singular matrices too.
- ``slogdet``: ``sign`` is not differentiable; ``logabsdet`` has gradient ``A^{-T}``.
  At a singular ``A`` (``logabsdet`` is ``-inf``) it has none: the gradient and the
  tangent are NaN (PyTorch's are inf or NaN there), and no error is raised; so for the
  complex ``sign``.
- ``pinv``: the constant-rank formula (Golub and Pereyra), exact for rank-deficient
  matrices along perturbations that keep the rank; the pseudo-inverse is discontinuous
  across rank changes, so no formula can do better.
- ``matrix_rank``: not differentiable.
- ``vector_norm``: computed from ``x`` divided by a power of two near its largest
  magnitude (the norm multiplied back), so that ``|x| ** ord`` neither underflows nor
  overflows: at ``1e-300`` the 2-norm, its gradient ``x / ||x||`` and its Hessian
  ``(I - u u^T) / ||x||`` are the exact ones (PyTorch's squares give 0, 0 and NaN), and
  where nothing under- or overflows the 2-norm is the backend's, bit for bit. The
  gradient of a p-norm is ``sign(x) (|x| / ||x||)^(ord-1)``, the ratio first. The
  subgradient 0 at 0. For ``ord < 1`` the gradient
  ``sign(x) |x|^(ord-1) ||x||^(1-ord)`` is 0 at zero entries (``|x|^(ord-1)`` is infinite
  there), to second order too; a negative ``ord`` whose norm a zero entry makes 0 has
  gradient 0 (PyTorch's values), and so has the zero vector, held there: the second
  derivative is 0 (PyTorch's is NaN).

Complex input follows PyTorch's convention: for a real loss ``L`` of ``z = x + iy`` the
gradient is ``dL/dx + i dL/dy``, so a function holomorphic in its inputs has the VJP
``g * conj(f'(z))`` and the JVP ``f'(z) t``. Every differentiable function here supports
complex input:

- ``matmul``, ``outer``, ``cross``, ``inv``, ``solve``, ``matrix_power``, ``pinv``:
  the real rules with the conjugate transpose ``^H`` for ``^T`` (``matmul``: ``g B^H``
  and ``A^H g``; ``inv``: ``-A^-H g A^-H``); ``matrix_transpose``, ``trace`` and
  ``diagonal`` are linear with real coefficients and need no conjugate.
- ``det``: ``g * conj(cofactor)``, still from the SVD, with the phase
  ``det(U) det(Vh)`` (of modulus 1) through the differentiable ``det``.
- ``slogdet``: ``logabsdet`` is real, with gradient ``g A^-H``; ``sign`` is the phase
  ``det / |det|``, differentiable for complex input (op ``slogdet_phase``; gradient
  ``i Im(g conj(sign)) A^-H``, PyTorch's).
- ``vector_norm`` (and through it and ``svdvals`` every ``matrix_norm``): real results;
  ``d ||x|| = Re(sum(conj(P) dx))`` with ``P`` the gradient (``x / ||x||`` for
  ``ord=2``, ``sgn(x) = x / |x|`` in place of ``sign`` for the others).
- ``vecdot`` conjugates ``x1`` (the standard's definition) and ``tensordot`` does not;
  both are composed of differentiable ops.

The rules conjugate only complex arrays (:func:`conj`, :func:`conj_T`): real input runs
exactly the real rules.
"""
import math

from xpgrad.dispatch import call
from xpgrad.plugins import Op, hookimpl
from xpgrad.plugins.arrays import conj, count, device_of, is_complex, restore_reduced

# ---------------------------------------------------------------------- helpers (both modes)


def T(xp, x):
    """The transpose of the last two axes."""
    return xp.matrix_transpose(x)


def conj_T(xp, x):
    """The conjugate transpose ``x^H`` of the last two axes; the plain transpose for
    real ``x``."""
    t = xp.matrix_transpose(x)
    return xp.conj(t) if is_complex(x) else t


def tril(xp, x, k=0):
    """``xp.tril``; for complex ``x`` by a mask (dask's ``tril`` of complex arrays
    warns that it casts complex values to real)."""
    return _band(xp, x, k, True) if is_complex(x) else xp.tril(x, k=k)


def triu(xp, x, k=0):
    """``xp.triu``; for complex ``x`` by a mask, as :func:`tril`."""
    return _band(xp, x, k, False) if is_complex(x) else xp.triu(x, k=k)


def _band(xp, x, k, lower):
    n, m = x.shape[-2], x.shape[-1]
    dev = device_of(x)
    offset = xp.arange(m, device=dev) - xp.reshape(xp.arange(n, device=dev), (n, 1))
    keep = offset <= k if lower else offset >= k
    return xp.where(keep, x, xp.zeros_like(x))


def imag_part(xp, z):
    """``i Im(z)`` of complex ``z``, as ``z - Re(z)`` (a complex array)."""
    return z - xp.real(z)


def eye_like(xp, x, n, m=None, k=0):
    """An ``n x m`` identity (``k``-th diagonal) of ``x``'s dtype on ``x``'s device."""
    return xp.eye(n, m, k=k, dtype=x.dtype, device=device_of(x))


def diag_embed(xp, v):
    """The diagonal matrices ``(..., n, n)`` with the vectors ``v`` ``(..., n)`` on them."""
    return xp.expand_dims(v, axis=-1) * eye_like(xp, v, v.shape[-1])


def diag_part(xp, x):
    """The main diagonals ``(..., n)`` of square matrices ``x``, differentiably."""
    return xp.sum(x * eye_like(xp, x, x.shape[-2], x.shape[-1]), axis=-1)


def safe_reciprocal(xp, e):
    """``1 / e`` where ``e != 0``, else 0: the terms of a spectral rule whose
    denominator vanishes (repeated eigen- or singular values) are dropped, as JAX and
    PyTorch drop them, instead of turning the whole gradient into NaN."""
    zero = e == 0
    return xp.where(zero, xp.zeros_like(e), 1 / xp.where(zero, xp.ones_like(e), e))


def inv(xp, x):
    """The registered inverse (the backend's, or a device's override such as dask's)."""
    return call(xp, "inv", x)


def inv_or_nan(xp, x, singular):
    """:func:`inv` of the matrices ``x`` where ``singular`` ``(...)`` is False, and NaN
    for those where it is True: a rule whose derivative does not exist at a singular
    matrix (``slogdet``'s ``x^-H``, ``qr``'s ``R^-1``) gives NaN there, as PyTorch gives
    inf or NaN, instead of the backend's error (NumPy's ``LinAlgError``) from deep inside
    backward. The singular matrices are inverted as the identity, ``x + (I - x)``, and
    the result multiplied by NaN: products, not ``where``, so that a second derivative
    there is NaN too (``where`` would drop the NaN cotangent and give 0), while the
    others are ``x`` and ``inv(x)`` exactly."""
    s = xp.expand_dims(xp.expand_dims(singular, axis=-1), axis=-1)
    ones = xp.astype(s, x.dtype)  # 1 for a singular matrix, 0 for the others
    safe = x + ones * (eye_like(xp, x, x.shape[-1]) - x)
    return inv(xp, safe) * xp.where(s, math.nan, 1 - ones)


def triangular_inv(xp, r):
    """The inverse of triangular matrices ``r``, NaN for those with an exact zero on the
    diagonal (singular: where the backend's inverse fails); see :func:`inv_or_nan`."""
    return inv_or_nan(xp, r, xp.any(diag_part(xp, r) == 0, axis=-1))


def decomposition(xp, name, x, ops, **params):
    """The parts of a decomposition (``name`` in the backend's linalg, ``ops`` the
    registered op per part). On raw arrays the backend computes it once; on Tensors
    (under ``create_graph``) each part is its op, so that it is recorded."""
    from xpgrad.tensor import Tensor

    if not isinstance(x, Tensor):
        from xpgrad.device import device_of_array

        if device_of_array(x).ops[ops[0]].backends is None:  # the generic op: the backend's function
            return tuple(backend_linalg(xp, name)(x, **params))
    return tuple(call(xp, op, x, **params) for op in ops)


def backend_extension(xp, extension, name):
    """The backend's ``<extension>.<name>`` (``linalg.svd``, ``fft.rfft``), or an error
    saying that this library lacks it and what to do."""
    fn = getattr(getattr(xp, extension, None), name, None)
    if fn is None:
        raise NotImplementedError(
            f"{extension}.{name} is not available for this device: its array library "
            f"({getattr(xp, '__name__', xp)}) has no {extension}.{name}; move the data to a "
            "device whose library has it (e.g. t.to('cpu'))")
    return fn


def backend_linalg(xp, name):
    """The backend's ``linalg.<name>``, or an error saying that this library lacks it."""
    return backend_extension(xp, "linalg", name)


def as_matrix(xp, x, vector):
    """``x`` with a trailing unit axis if it stands for a vector (solve's 1-D ``x2``)."""
    return xp.expand_dims(x, axis=-1) if vector else x


def as_vector(xp, x, vector):
    return xp.squeeze(x, axis=-1) if vector else x


def lower_symmetric(xp, x):
    """The symmetric (Hermitian) matrix a backend's ``eigh``/``cholesky`` actually reads
    from ``x``: its lower triangle, mirrored (NumPy, array-api-strict, CuPy and PyTorch
    read the lower triangle; JAX symmetrises, which agrees on symmetric input). For
    complex ``x`` the mirror is conjugated and the diagonal's imaginary part is ignored,
    as LAPACK's Hermitian routines ignore it."""
    if is_complex(x):
        low = tril(xp, x, k=-1)
        return low + conj_T(xp, low) + xp.real(x) * eye_like(xp, x, x.shape[-1])
    return xp.tril(x) + T(xp, xp.tril(x, k=-1))


def lower_symmetric_vjp(xp, h):
    """The VJP of :func:`lower_symmetric`: a cotangent ``h`` for the symmetric matrix
    becomes the cotangent of ``x``: ``h + h^T`` below the diagonal, ``h``'s diagonal on
    it, zero above (entries the function never reads). For complex: ``h + h^H`` below
    the diagonal and the real part of ``h``'s diagonal."""
    n = h.shape[-1]
    if is_complex(h):
        return tril(xp, h + conj_T(xp, h), k=-1) + xp.real(h) * eye_like(xp, h, n)
    return xp.tril(h + T(xp, h), k=-1) + h * eye_like(xp, h, n)


# ---------------------------------------------------------------------- products


def _matmul(xp, x1, x2):
    """``x1 @ x2``. Where the library refuses, the shapes are checked first, so that
    operands ``matmul`` cannot multiply are the same ValueError on every backend (PyTorch
    raises RuntimeErrors, dask fails on its chunks); then operands of two dtypes are
    promoted to the library's result type and multiplied (PyTorch's ``@`` does not
    promote). Nothing is checked where the product succeeds."""
    try:
        return x1 @ x2
    except Exception:
        _check_matmul_shapes(tuple(x1.shape), tuple(x2.shape))
        if x1.dtype != x2.dtype:
            dtype = xp.result_type(x1.dtype, x2.dtype)  # the library's promotion, or its TypeError
            return xp.astype(x1, dtype) @ xp.astype(x2, dtype)
        raise


def _check_matmul_shapes(s1, s2):
    """Raise a ValueError naming both shapes unless ``matmul`` can multiply arrays of
    shapes ``s1`` and ``s2`` (the standard's rules: 1-D operands promoted, batch
    dimensions broadcast)."""
    if not s1 or not s2:
        raise ValueError(f"matmul needs operands of at least one dimension, got shapes {s1} and {s2}")
    inner1 = s1[-1]
    inner2 = s2[-2] if len(s2) > 1 else s2[0]
    if inner1 != inner2:
        raise ValueError(
            f"matmul: the last dimension of x1 ({inner1}) differs from the "
            f"{'second-to-last' if len(s2) > 1 else 'only'} dimension of x2 ({inner2}), "
            f"shapes {s1} and {s2}")
    for a, b in zip(reversed(s1[:-2]), reversed(s2[:-2])):
        if a != b and a != 1 and b != 1:
            raise ValueError(f"matmul: the batch dimensions of shapes {s1} and {s2} do not broadcast")


def _matmul_first(xp, g, x1, x2):
    # g x2^H (x2^T for real x2: the real path never conjugates).
    if x2.ndim == 1:
        if x1.ndim == 1:  # dot product: g is 0-d
            return g * conj(xp, x2)
        return xp.expand_dims(g, axis=-1) * conj(xp, x2)  # (..., n) x (k,) -> (..., n, k)
    if x1.ndim == 1:  # (k,) @ (..., k, m) -> (..., m)
        return xp.squeeze(xp.matmul(conj(xp, x2), xp.expand_dims(g, axis=-1)), axis=-1)
    x2t = xp.matrix_transpose(x2)  # conj_T inline: this is the hot path
    return xp.matmul(g, xp.conj(x2t) if is_complex(x2) else x2t)


def _matmul_second(xp, g, x1, x2):
    # x1^H g.
    if x1.ndim == 1:
        if x2.ndim == 1:
            return g * conj(xp, x1)
        return xp.expand_dims(conj(xp, x1), axis=-1) * xp.expand_dims(g, axis=-2)  # (k, 1) x (..., 1, m)
    if x2.ndim == 1:  # (..., n, k) @ (k,) -> (..., n)
        return xp.squeeze(xp.matmul(conj_T(xp, x1), xp.expand_dims(g, axis=-1)), axis=-1)
    x1t = xp.matrix_transpose(x1)
    return xp.matmul(xp.conj(x1t) if is_complex(x1) else x1t, g)


def _outer(xp, x1, x2):
    linalg = getattr(xp, "linalg", None)
    if linalg is not None and hasattr(linalg, "outer"):
        return linalg.outer(x1, x2)
    return xp.expand_dims(x1, axis=-1) * x2


def _cross(xp, x1, x2, *, axis=-1):
    """``x1 x x2`` along ``axis`` (size 3), by components where the backend lacks it."""
    ndim = max(x1.ndim, x2.ndim)
    ax = axis - ndim if axis >= 0 else axis  # the standard counts axis in the broadcast shape
    for name, x in (("x1", x1), ("x2", x2)):
        if not -x.ndim <= ax < 0 or x.shape[ax] != 3:
            raise ValueError(f"cross: {name} of shape {tuple(x.shape)} has no axis {axis} of size 3; "
                             "the vectors must lie along an axis of size 3 in both arrays")
    linalg = getattr(xp, "linalg", None)
    if linalg is not None and hasattr(linalg, "cross"):
        return linalg.cross(x1, x2, axis=ax)
    a, b = xp.moveaxis(x1, ax, -1), xp.moveaxis(x2, ax, -1)
    a = [a[..., i:i + 1] for i in range(3)]
    b = [b[..., i:i + 1] for i in range(3)]
    parts = [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
    return xp.moveaxis(xp.concat(parts, axis=-1), -1, ax)


# ---------------------------------------------------------------------- matrix functions


def _trace_vjp(xp, g, x_shape, x_dtype, offset):
    n, m = x_shape[-2], x_shape[-1]
    eye = xp.eye(n, m, k=offset, dtype=x_dtype, device=device_of(g))
    return xp.reshape(g, tuple(g.shape) + (1, 1)) * eye


def _diagonal(xp, x, *, offset=0):
    if x.ndim < 2:
        raise ValueError(f"diagonal takes matrices (..., M, N), got shape {tuple(x.shape)}")
    return backend_linalg(xp, "diagonal")(x, offset=offset)


def _diagonal_vjp(xp, g, x_shape, offset):
    """Scatter ``g`` onto the ``offset`` diagonal: pad it to a full row (column) of
    length ``n`` (``m``) with a rectangular identity, then spread it by the diagonal."""
    n, m, length = x_shape[-2], x_shape[-1], g.shape[-1]
    band = eye_like(xp, g, n, m, k=offset)
    if offset >= 0:  # entry i sits in row i
        return xp.expand_dims(xp.matmul(g, eye_like(xp, g, length, n)), axis=-1) * band
    return xp.expand_dims(xp.matmul(g, eye_like(xp, g, length, m)), axis=-2) * band


def _inv_vjp(xp, g, out):
    # d(X^-1) = -X^-1 dX X^-1, so the cotangent is -X^-H G X^-H.
    inv_h = conj_T(xp, out)
    return -xp.matmul(xp.matmul(inv_h, g), inv_h)


def _inv_jvp(xp, t, out):
    return -xp.matmul(xp.matmul(out, t), out)


def _solve(xp, x1, x2):
    if x1.ndim < 2 or x1.shape[-1] != x1.shape[-2]:
        raise ValueError(f"solve: x1 must hold square matrices (..., M, M), got shape {tuple(x1.shape)}")
    return backend_linalg(xp, "solve")(x1, x2)


def _solve_vector(x1, out):
    """Whether ``x2`` was one vector (1-D): the result then has one axis less than
    ``x1`` (a stack of matrices ``x2`` gives at least as many). Read from ``x1`` and the
    result, since a node knows the shape of ``x2`` only when ``x2`` requires grad."""
    return out.ndim == x1.ndim - 1


def _solve_x2_vjp(xp, g, x1):
    vector = _solve_vector(x1, g)
    return as_vector(xp, call(xp, "solve", conj_T(xp, x1), as_matrix(xp, g, vector)), vector)


def _solve_x1_vjp(xp, g, x1, out):
    vector = _solve_vector(x1, out)
    gb = call(xp, "solve", conj_T(xp, x1), as_matrix(xp, g, vector))
    return -xp.matmul(gb, conj_T(xp, as_matrix(xp, out, vector)))


def _solve_x1_jvp(xp, t, x1, out):
    vector = _solve_vector(x1, out)
    return -as_vector(xp, call(xp, "solve", x1, xp.matmul(t, as_matrix(xp, out, vector))), vector)


def _solve_x2_jvp(xp, t, x1):
    return call(xp, "solve", x1, t)


# ---------------------------------------------------------------------- determinants


def _square(name, x):
    if x.ndim < 2 or x.shape[-1] != x.shape[-2]:
        raise ValueError(f"{name} takes square matrices (..., n, n), got shape {tuple(x.shape)}")


def _det(xp, x):
    _square("det", x)
    return backend_linalg(xp, "det")(x)


def _cofactor_svd(xp, x):
    """``U``, ``S``, ``Vh`` of a reduced SVD ``x = U diag(S) Vh`` and ``k = det(U) det(Vh)``,
    of modulus 1. For real ``x``, ``k`` is a sign, locally constant, taken from
    ``slogdet``; for complex ``x`` it is a phase that moves with ``x``, so it is
    ``det(U) det(Vh)`` through the differentiable ``det`` (as PyTorch computes it)."""
    u, s, vh = decomposition(xp, "svd", x, ("svd_u", "svd_s", "svd_vh"), full_matrices=False)
    if is_complex(x):
        k = call(xp, "det", u) * call(xp, "det", vh)
    else:  # U and V are orthogonal: their determinants are +-1 and locally constant.
        k = call(xp, "slogdet_sign", u) * call(xp, "slogdet_sign", vh)
    return u, s, vh, xp.expand_dims(xp.expand_dims(k, axis=-1), axis=-1)


def _others(xp, s, leave):
    """Products of the singular values ``s`` ``(..., n)`` leaving some out, by ``prod``
    (no division, exact with zeros): ``leave=1`` gives ``c_i = prod_{l != i} s_l``
    ``(..., n)``; ``leave=2`` gives ``q_ij = prod_{l != i, j} s_l`` for ``i != j`` and 0
    on the diagonal ``(..., n, n)``."""
    n = s.shape[-1]
    eye = eye_like(xp, s, n)
    if leave == 1:
        return xp.prod(xp.expand_dims(s, axis=-2) * (1 - eye) + eye, axis=-1)
    dev = device_of(s)
    ls = xp.arange(n, device=dev)
    left = xp.reshape(ls, (n, 1, 1)) == xp.reshape(ls, (1, 1, n))  # l == i
    right = xp.reshape(ls, (1, n, 1)) == xp.reshape(ls, (1, 1, n))  # l == j
    parts = xp.where(xp.logical_or(left, right), 1.0, xp.expand_dims(xp.expand_dims(s, axis=-2), axis=-2))
    return xp.prod(parts, axis=-1) * (1 - eye)


def _cofactor_derivative_at_diagonal(xp, q, p):
    """The derivative of the cofactor matrix at ``diag(s)`` along ``p``: a diagonal
    entry ``C_ii`` (the product of the other ``s_l``) moves by ``sum_{k != i} q_ik p_kk``,
    an off-diagonal one ``C_ij`` by ``-q_ij p_ji``; ``q`` from :func:`_others`. The map
    is its own adjoint (``q`` is real and symmetric)."""
    d = xp.sum(q * xp.expand_dims(diag_part(xp, p), axis=-2), axis=-1)
    return diag_embed(xp, d) - q * T(xp, p)


def _cofactor(xp, x):
    """The cofactor matrix of each square matrix (``adj(x)^T``; ``det(x) x^{-T}`` when
    invertible), from an SVD ``x = U S Vh``: the cofactor matrix is multiplicative and
    that of a unitary ``U`` is ``det(U) conj(U)``, so it is ``k conj(U) diag(c) conj(Vh)``
    with ``c_i`` the product of the other singular values and ``k = det U det Vh``.
    Products, no division: exact for singular matrices. Unchanged by the SVD's gauge
    (``U -> U D``, ``Vh -> D^H Vh``)."""
    _square("cofactor", x)
    n = x.shape[-1]
    if n <= 1:
        return xp.ones_like(x)
    u, s, vh, k = _cofactor_svd(xp, x)
    return k * xp.matmul(conj(xp, u) * xp.expand_dims(_others(xp, s, 1), axis=-2), conj(xp, vh))


def _cofactor_jvp(xp, t, x):
    # With U, Vh fixed, cof(x + dx) = k conj(U) cof(S + P) conj(Vh) exactly, P = U^H dx V:
    # the derivative is that of the cofactor matrix at the diagonal S, which needs no
    # 1 / (s_i - s_j) and so is exact where singular values repeat (or vanish).
    if x.shape[-1] <= 1:
        return xp.zeros_like(t)
    u, s, vh, k = _cofactor_svd(xp, x)
    p = xp.matmul(xp.matmul(conj_T(xp, u), t), conj_T(xp, vh))
    m = _cofactor_derivative_at_diagonal(xp, _others(xp, s, 2), p)
    return k * xp.matmul(xp.matmul(conj(xp, u), m), conj(xp, vh))


def _cofactor_vjp(xp, g, x):
    # The adjoint of the JVP (the cofactor matrix is holomorphic): U M(conj(k) U^T g Vh^T) Vh.
    if x.shape[-1] <= 1:
        return xp.zeros_like(g)
    u, s, vh, k = _cofactor_svd(xp, x)
    p = conj(xp, k) * xp.matmul(xp.matmul(T(xp, u), g), T(xp, vh))
    m = _cofactor_derivative_at_diagonal(xp, _others(xp, s, 2), p)
    return xp.matmul(xp.matmul(u, m), vh)


def cofactor(xp, x):
    """The cofactor matrix of each square matrix, through the registered op (recorded
    under ``create_graph``, with its own exact derivative): see :func:`_cofactor`."""
    return call(xp, "cofactor", x)


def conj_cofactor(xp, x):
    """The conjugate of :func:`cofactor` (the cofactor itself for real ``x``)."""
    return conj(xp, cofactor(xp, x))


def _det_vjp(xp, g, x):
    # g * conj(cofactor): the determinant is holomorphic, d det = sum(cofactor * dx).
    return xp.expand_dims(xp.expand_dims(g, axis=-1), axis=-1) * conj_cofactor(xp, x)


def _det_jvp(xp, t, x):
    return xp.sum(cofactor(xp, x) * t, axis=(-2, -1))


def _slogdet_part(index):
    def forward(xp, x):
        _square("slogdet", x)
        return backend_linalg(xp, "slogdet")(x)[index]

    return forward


def _slogdet_inv(xp, x, logabsdet):
    """``x^-1``, NaN for the singular matrices: those whose ``log|det|`` is ``-inf``
    (the backend's LU met an exact zero pivot, which is where its inverse fails)."""
    return inv_or_nan(xp, x, logabsdet == -math.inf)


def _logabsdet_vjp(xp, g, x, out):
    # d log|det x| = Re tr(x^-1 dx): the gradient is g x^-H (NaN where x is singular).
    return xp.expand_dims(xp.expand_dims(g, axis=-1), axis=-1) * conj_T(xp, _slogdet_inv(xp, x, out))


def _logabsdet_jvp(xp, t, x, out):
    d = xp.sum(T(xp, _slogdet_inv(xp, x, out)) * t, axis=(-2, -1))
    return xp.real(d) if is_complex(d) else d


def _phase_forward(xp, x):
    _square("slogdet", x)
    if not is_complex(x):
        raise TypeError(f"slogdet_phase takes complex matrices, got dtype {x.dtype}; the sign of a "
                        "real determinant is slogdet_sign (not differentiable)")
    return backend_linalg(xp, "slogdet")(x)[0]


def _phase_inv(xp, x, sign):
    """``x^-1``, NaN where ``x`` is singular (its sign is 0)."""
    return inv_or_nan(xp, x, sign == 0)


def _phase_vjp(xp, g, x, out):
    # sign = det / |det|: d sign = i sign Im tr(x^-1 dx), so the gradient is
    # i Im(g conj(sign)) x^-H (PyTorch's slogdet_backward); NaN where x is singular.
    k = imag_part(xp, g * xp.conj(out))
    return xp.expand_dims(xp.expand_dims(k, axis=-1), axis=-1) * conj_T(xp, _phase_inv(xp, x, out))


def _phase_jvp(xp, t, x, out):
    return out * imag_part(xp, xp.sum(T(xp, _phase_inv(xp, x, out)) * t, axis=(-2, -1)))


# ---------------------------------------------------------------------- matrix_power


def _power(xp, x, n):
    """``x^n`` for ``n >= 1`` by repeated squaring (for backends without matrix_power)."""
    result, base = None, x
    while n:
        if n & 1:
            result = base if result is None else xp.matmul(result, base)
        n >>= 1
        if n:
            base = xp.matmul(base, base)
    return result


def _matrix_power(xp, x, *, n):
    _square("matrix_power", x)
    if not isinstance(n, int) or isinstance(n, bool):
        raise TypeError(f"matrix_power: n must be an integer, got {n!r}")
    if n == 1:  # libraries return x itself; an op's result has memory of its own
        return xp.asarray(x, copy=True)
    linalg = getattr(xp, "linalg", None)
    if linalg is not None and hasattr(linalg, "matrix_power"):
        return linalg.matrix_power(x, n)
    if n == 0:
        return xp.broadcast_to(eye_like(xp, x, x.shape[-1]), tuple(x.shape))
    return _power(xp, x if n > 0 else inv(xp, x), abs(n))


def _powers(xp, x, n):
    """``[I, x, x^2, ..., x^(n-1)]``: what the product rule of ``x^n`` sums over."""
    out = [xp.broadcast_to(eye_like(xp, x, x.shape[-1]), tuple(x.shape))]
    for _ in range(n - 1):
        out.append(x if len(out) == 1 else xp.matmul(out[-1], x))
    return out


def _power_sum(xp, left, middle, right):
    """``sum_k left[k] @ middle @ right[n-1-k]``."""
    n = len(left)
    total = None
    for k in range(n):
        term = xp.matmul(xp.matmul(left[k], middle), right[n - 1 - k])
        total = term if total is None else total + term
    return total


def _matrix_power_vjp(xp, g, x, n):
    if n == 0:
        return xp.zeros_like(x)
    z = x if n > 0 else inv(xp, x)
    powers = [conj_T(xp, p) for p in _powers(xp, z, abs(n))]
    gz = _power_sum(xp, powers, g, powers)
    if n > 0:
        return gz
    zh = conj_T(xp, z)  # through z = x^-1: -z^H gz z^H
    return -xp.matmul(xp.matmul(zh, gz), zh)


def _matrix_power_jvp(xp, t, x, n):
    if n == 0:
        return xp.zeros_like(t)
    if n > 0:
        z, dz = x, t
    else:
        z = inv(xp, x)
        dz = -xp.matmul(xp.matmul(z, t), z)
    powers = _powers(xp, z, abs(n))
    return _power_sum(xp, powers, dz, powers)


# ---------------------------------------------------------------------- pinv, rank


def _pinv(xp, x, *, rtol=None):
    if x.ndim < 2:
        raise ValueError(f"pinv takes matrices (..., M, N), got shape {tuple(x.shape)}")
    return backend_linalg(xp, "pinv")(x, rtol=rtol)


def _pinv_projectors(xp, x, p):
    """``I - A A^+`` (m x m) and ``I - A^+ A`` (n x n)."""
    m, n = x.shape[-2], x.shape[-1]
    return eye_like(xp, x, m) - xp.matmul(x, p), eye_like(xp, x, n) - xp.matmul(p, x)


def _pinv_vjp(xp, g, x, out):
    # dP = -P dA P + P P^H dA^H (I - A P) + (I - P A) dA^H P^H P  (constant rank; ^H is
    # ^T for real matrices)
    p, pt = out, conj_T(xp, out)
    left, right = _pinv_projectors(xp, x, p)
    gt = conj_T(xp, g)
    return (-xp.matmul(xp.matmul(pt, g), pt)
            + xp.matmul(xp.matmul(left, gt), xp.matmul(p, pt))
            + xp.matmul(xp.matmul(pt, p), xp.matmul(gt, right)))


def _pinv_jvp(xp, t, x, out):
    p, pt = out, conj_T(xp, out)
    left, right = _pinv_projectors(xp, x, p)
    tt = conj_T(xp, t)
    return (-xp.matmul(xp.matmul(p, t), p)
            + xp.matmul(xp.matmul(p, pt), xp.matmul(tt, left))
            + xp.matmul(xp.matmul(right, tt), xp.matmul(pt, p)))


def _matrix_rank(xp, x, *, rtol=None):
    if x.ndim < 2:
        raise ValueError(f"matrix_rank takes matrices (..., M, N), got shape {tuple(x.shape)}")
    return backend_linalg(xp, "matrix_rank")(x, rtol=rtol)


# ---------------------------------------------------------------------- norms


def _safe_divide(xp, num, den):
    """num / den where den != 0, else 0: the subgradient the norms take at zero."""
    zero = den == 0
    return xp.where(zero, xp.zeros_like(num), num / xp.where(zero, xp.ones_like(den), den))


def _sgn(xp, x):
    """``sign(x)``; ``x / |x|`` (0 at 0) for complex ``x``, whatever the backend's
    ``sign`` does with complex numbers."""
    if is_complex(x):
        return _safe_divide(xp, x, xp.abs(x))
    return xp.sign(x)


_UNSCALED_ORDS = (1, float("inf"), float("-inf"), 0)


def _vector_norm(xp, x, *, axis=None, keepdims=False, ord=2):
    """``vector_norm``, without the underflow or overflow of ``|x| ** ord`` (``x * x``
    for the 2-norm): ``x`` is divided by a power of two near its largest magnitude along
    the axes, and the norm multiplied by it (a norm is homogeneous). A power of two
    scales exactly, so where nothing under- or overflows the 2-norm is the backend's, bit
    for bit; at ``1e-300`` it is not 0, nor inf at ``1e300``. The orders without powers
    (1, inf, -inf, 0) are the backend's."""
    norm = xp.linalg.vector_norm
    if ord in _UNSCALED_ORDS or count(tuple(x.shape), axis) == 0:
        return norm(x, axis=axis, keepdims=keepdims, ord=ord)
    m = xp.max(xp.abs(x), axis=axis, keepdims=True)
    usable = xp.logical_and(m > 0, m < math.inf)  # not 0, inf or NaN: those are not scaled
    k = xp.floor(xp.log2(xp.where(usable, m, xp.ones_like(m))))
    scale = 2.0 ** k
    out = norm(x / scale, axis=axis, keepdims=keepdims, ord=ord)
    return out * xp.reshape(scale, tuple(out.shape))


def _norm_partials(xp, x, out, axis, keepdims, ord):
    """The gradient of ``||x||_ord``, elementwise, broadcast against ``x``: for complex
    ``x`` (``|x|`` is the modulus) ``d ||x|| = Re(sum(conj(P) dx))``."""
    out = restore_reduced(xp, out, tuple(x.shape), axis, keepdims)
    if ord == 2:
        return _safe_divide(xp, x, out)
    if ord == 1:
        return _sgn(xp, x)
    if ord in (float("inf"), float("-inf")):
        hit = xp.astype(xp.abs(x) == out, x.dtype)
        ties = xp.sum(hit, axis=axis, keepdims=True)
        return _sgn(xp, x) * hit / ties
    if ord == 0:
        return xp.zeros_like(x)
    # d/dx = sign(x) |x|^(p-1) / ||x||^(p-1) = sign(x) (|x| / ||x||)^(p-1): the ratio
    # first, in [0, 1], so that nothing under- or overflows where |x| ** (p - 1) would.
    # A zero norm (the zero vector; for ord < 0 any zero entry) has gradient 0, held:
    # its second derivative is 0 (the derivative of the subgradient, as for the 2-norm
    # at 0), and the norm 1 in the unused branch keeps inf and nan out of it.
    vanished = out == 0
    ratio = xp.abs(x) / xp.where(vanished, xp.ones_like(out), out)
    if ord > 1:
        return xp.where(vanished, 0.0, _sgn(xp, x) * ratio ** (ord - 1))
    # ord < 1: 0 at the zero entries (PyTorch's subgradient; the ratio's power is
    # infinite there), which take the ratio 1 in the unused branch, for the same reason.
    zero = x == 0
    ratio = xp.where(zero, xp.ones_like(ratio), ratio)
    return xp.where(xp.logical_or(vanished, zero), 0.0, _sgn(xp, x) * ratio ** (ord - 1))


def _vector_norm_vjp(xp, g, x, out, axis, keepdims, ord):
    g = restore_reduced(xp, g, tuple(x.shape), axis, keepdims)
    return g * _norm_partials(xp, x, out, axis, keepdims, ord)


def _vector_norm_jvp(xp, t, x, out, axis, keepdims, ord):
    p = _norm_partials(xp, x, out, axis, keepdims, ord)
    if is_complex(p):
        return xp.sum(xp.real(xp.conj(p) * t), axis=axis, keepdims=keepdims)
    return xp.sum(t * p, axis=axis, keepdims=keepdims)


@hookimpl
def xpgrad_ops():
    return [
        Op("matmul", _matmul,
           vjp={"x1": _matmul_first, "x2": _matmul_second},
           jvp={"x1": lambda xp, t, x2: xp.matmul(t, x2), "x2": lambda xp, t, x1: xp.matmul(x1, t)},
           node_name="MmBackward",
           doc="Matrix product with the standard's 1-D promotion and batch broadcasting."),
        Op("matrix_transpose", lambda xp, x: xp.matrix_transpose(x),
           vjp={"x": lambda xp, g: xp.matrix_transpose(g)},
           jvp="linear", node_name="TBackward",
           doc="Swap the last two axes.", view=True),
        Op("outer", _outer,
           vjp={"x1": lambda xp, g, x2: xp.matmul(g, conj(xp, x2)),
                "x2": lambda xp, g, x1: xp.matmul(conj(xp, x1), g)},
           jvp={"x1": lambda xp, t, x2: call(xp, "outer", t, x2),
                "x2": lambda xp, t, x1: call(xp, "outer", x1, t)},
           node_name="OuterBackward", doc="The outer product of two 1-D arrays: ``(n,) x (m,) -> (n, m)``."),
        Op("cross", _cross,
           vjp={"x1": lambda xp, g, x2, axis: call(xp, "cross", conj(xp, x2), g, axis=axis),
                "x2": lambda xp, g, x1, axis: call(xp, "cross", g, conj(xp, x1), axis=axis)},
           jvp={"x1": lambda xp, t, x2, axis: call(xp, "cross", t, x2, axis=axis),
                "x2": lambda xp, t, x1, axis: call(xp, "cross", x1, t, axis=axis)},
           node_name="LinalgCrossBackward",
           doc="The cross product of 3-vectors along ``axis`` (broadcasting the other axes)."),
        Op("trace", lambda xp, x, *, offset=0, dtype=None: xp.linalg.trace(x, offset=offset, dtype=dtype),
           vjp={"x": _trace_vjp},
           jvp="linear",
           doc="The sum of the ``offset`` diagonal of each matrix in the last two axes."),
        Op("diagonal", _diagonal, vjp={"x": _diagonal_vjp},
           jvp="linear",
           node_name="DiagonalBackward", doc="The ``offset`` diagonal of each matrix in the last two axes.", view=True),
        Op("inv", lambda xp, x: xp.linalg.inv(x), vjp={"x": _inv_vjp}, jvp={"x": _inv_jvp},
           node_name="InverseBackward", doc="The inverse of each square matrix in the last two axes."),
        Op("solve", _solve, vjp={"x1": _solve_x1_vjp, "x2": _solve_x2_vjp},
           jvp={"x1": _solve_x1_jvp, "x2": _solve_x2_jvp}, node_name="LinalgSolveBackward",
           doc=("``x1^-1 x2`` for square ``x1``; a 1-D ``x2`` is one vector, otherwise ``x2`` holds matrices ``(..., "
                "M, K)``; batch axes broadcast.")),
        Op("det", _det, vjp={"x": _det_vjp}, jvp={"x": _det_jvp}, node_name="LinalgDetBackward",
           doc=("The determinant of each square matrix. Its gradient, the cofactor matrix, is computed without "
                "inverting: exact for singular matrices; so is the second derivative, at repeated singular values "
                "too.")),
        Op("cofactor", _cofactor, vjp={"x": _cofactor_vjp}, jvp={"x": _cofactor_jvp},
           node_name="LinalgCofactorBackward",
           doc="the cofactor matrix adj(x)^T, det's gradient; from an SVD, with a derivative exact for "
               "singular matrices and at repeated singular values"),
        Op("slogdet_sign", _slogdet_part(0), doc="sign of the determinant (not differentiable)"),
        Op("slogdet_phase", _phase_forward, vjp={"x": _phase_vjp}, jvp={"x": _phase_jvp},
           node_name="SlogdetBackward",
           doc="sign of the determinant of complex matrices, det / |det| (differentiable)"),
        Op("slogdet_logabsdet", _slogdet_part(1), vjp={"x": _logabsdet_vjp},
           jvp={"x": _logabsdet_jvp}, node_name="SlogdetBackward",
           doc="log |det|; gradient x^-T, NaN at singular matrices"),
        Op("matrix_power", _matrix_power, vjp={"x": _matrix_power_vjp}, jvp={"x": _matrix_power_jvp},
           node_name="LinalgMatrixPowerBackward",
           doc="``x`` to the integer power ``n`` (``n < 0``: the inverse's power; 0: identity)."),
        Op("pinv", _pinv, vjp={"x": _pinv_vjp}, jvp={"x": _pinv_jvp}, node_name="PinvBackward",
           doc=("The Moore-Penrose pseudo-inverse; singular values up to ``rtol`` (a float, or a Tensor broadcasting "
                "against the batch) times the largest count as zero. The gradient is the constant-rank one; ``rtol`` "
                "gets none.")),
        Op("matrix_rank", _matrix_rank,
           doc=("The numerical rank of each matrix (an integer array; not differentiable); ``rtol`` a float or a "
                "Tensor broadcasting against the batch.")),
        Op("vector_norm", _vector_norm,
           vjp={"x": _vector_norm_vjp}, jvp={"x": _vector_norm_jvp}, node_name="NormBackward",
           doc=("The vector ``ord``-norm over ``axis`` (all elements if None), scaled so that ``|x| ** ord`` does not "
                "under- or overflow; subgradient 0 at 0.")),
    ]
