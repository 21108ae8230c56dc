"""Matrix decompositions: cholesky, eigh, eigvalsh, qr, svd, svdvals.

A decomposition with several outputs is one op per output (``eigh_eigenvalues``,
``eigh_eigenvectors``; ``qr_q``, ``qr_r``; ``svd_u``, ``svd_s``, ``svd_vh``), each
computing the decomposition in its forward and returning its part. A decomposition's
VJP is linear in the output cotangents, so the engine's sum of the per-output VJPs is
the full VJP. The price: a caller that uses several outputs of one call while recording
a graph computes the decomposition once per output, and each rule recomputes the parts
it reads (``xpgrad.xp.linalg`` computes it once when nothing requires grad).

Conventions:

- ``eigh``, ``eigvalsh`` and ``cholesky`` read the lower triangle of their input (as the
  backends do); their gradients are the exact derivatives of that, so they are zero
  above the diagonal. For a symmetric matrix built symmetrically (``(A + A^T) / 2``),
  the chain rule makes them the familiar symmetric gradients.
- Repeated eigenvalues (singular values): the terms ``1 / (l_j - l_i)`` whose
  denominator is exactly zero are dropped (set to 0), as JAX and PyTorch do. Gradients
  of functions of the eigenvalues only (singular values only) are then exact and
  NaN-free; so is any loss whose eigenvectors' gradient has no component inside a
  degenerate eigenspace. A gauge-invariant function of the eigenvectors (``V diag(w)
  V^T``) gets finite gradients there, but its component inside the degenerate
  eigenspace is lost. Nearly repeated values give large, finite gradients.
- ``svd`` with ``full_matrices=True`` on a non-square matrix: the columns of ``U`` (rows
  of ``Vh``) past ``min(M, N)`` are any orthonormal completion, not a differentiable
  function of the input: their cotangents are ignored and their tangents are zero. Zero
  singular values of a non-square matrix drop the ``1 / s`` terms (set to 0).
- ``qr`` with ``mode='complete'`` and ``M > N``: likewise, ``Q``'s last ``M - N``
  columns are any orthonormal completion; their cotangents are ignored and their
  tangents are zero (``R`` and ``Q``'s first ``N`` columns are exact).
"""
from xpgrad.dispatch import call
from xpgrad.plugins import Op, hookimpl

from ._shapes import device_of
from .linalg import (T, as_matrix, as_vector, backend_linalg, decomposition, diag_part, eye_like, inv, lower_symmetric, lower_symmetric_vjp,
                     safe_reciprocal)


def _expect_matrices(name, x, square=False):
    if x.ndim < 2 or square and x.shape[-1] != x.shape[-2]:
        what = "square matrices (..., M, M)" if square else "matrices (..., M, N)"
        raise ValueError(f"{name} takes {what}, got shape {tuple(x.shape)}")


def _col(xp, v):
    """``v`` ``(..., k)`` as ``(..., 1, k)``: scales the columns of a matrix."""
    return xp.expand_dims(v, axis=-2)


def _row(xp, v):
    """``v`` ``(..., k)`` as ``(..., k, 1)``: scales the rows of a matrix."""
    return xp.expand_dims(v, axis=-1)


# ---------------------------------------------------------------------- cholesky


def _cholesky(xp, x, *, upper=False):
    _expect_matrices("cholesky", x, square=True)
    # Always the lower factor, transposed for upper: the input's lower triangle is read
    # on every backend (NumPy's upper=True would read the upper one).
    lower = backend_linalg(xp, "cholesky")(x)
    return T(xp, lower) if upper else lower


def _phi(xp, x):
    """The lower triangle with the diagonal halved."""
    return xp.tril(x) - 0.5 * x * eye_like(xp, x, x.shape[-1])


def _cholesky_vjp(xp, g, out, upper):
    lower = T(xp, out) if upper else out
    gl = T(xp, g) if upper else g
    li = inv(xp, lower)
    # For symmetric dA: dL = L phi(L^-1 dA L^-T), so the symmetric cotangent is
    # L^-T phi(L^T gL) L^-1.
    h = xp.matmul(xp.matmul(T(xp, li), _phi(xp, xp.matmul(T(xp, lower), gl))), li)
    return lower_symmetric_vjp(xp, h)


def _cholesky_jvp(xp, t, out, upper):
    lower = T(xp, out) if upper else out
    li = inv(xp, lower)
    dl = xp.matmul(lower, _phi(xp, xp.matmul(xp.matmul(li, lower_symmetric(xp, t)), T(xp, li))))
    return T(xp, dl) if upper else dl


# ---------------------------------------------------------------------- eigh


# Results are indexed, not read by field name: some backends return plain tuples.


def _eigh_part(index):
    def forward(xp, x):
        _expect_matrices("eigh", x, square=True)
        return backend_linalg(xp, "eigh")(x)[index]

    return forward


def _eigvalsh(xp, x):
    _expect_matrices("eigvalsh", x, square=True)
    return backend_linalg(xp, "eigvalsh")(x)


def _eigenvectors(xp, x):
    return call(xp, "eigh_eigenvectors", x)


def _gap_reciprocals(xp, w):
    """``F[i, j] = 1 / (w_j - w_i)``, 0 where the values coincide (and on the diagonal)."""
    return safe_reciprocal(xp, _col(xp, w) - _row(xp, w))


def _eigenvalues_vjp(xp, g, x):
    v = _eigenvectors(xp, x)
    return lower_symmetric_vjp(xp, xp.matmul(v * _col(xp, g), T(xp, v)))


def _eigenvalues_jvp(xp, t, x):
    v = _eigenvectors(xp, x)
    return xp.sum(v * xp.matmul(lower_symmetric(xp, t), v), axis=-2)


def _eigenvectors_vjp(xp, g, x, out):
    v = out
    f = _gap_reciprocals(xp, call(xp, "eigh_eigenvalues", x))
    h = xp.matmul(xp.matmul(v, f * xp.matmul(T(xp, v), g)), T(xp, v))
    return lower_symmetric_vjp(xp, h)


def _eigenvectors_jvp(xp, t, x, out):
    v = out
    f = _gap_reciprocals(xp, call(xp, "eigh_eigenvalues", x))
    p = xp.matmul(xp.matmul(T(xp, v), lower_symmetric(xp, t)), v)
    return xp.matmul(v, f * p)


# ---------------------------------------------------------------------- qr


def _qr_part(index):
    def forward(xp, x, *, mode="reduced"):
        _expect_matrices("qr", x)
        if mode not in ("reduced", "complete"):
            raise ValueError(f"qr: mode must be 'reduced' or 'complete', got {mode!r}")
        return backend_linalg(xp, "qr")(x, mode=mode)[index]

    return forward


def _qr_deep_vjp(xp, q, r, gq, gr):
    """The cotangent of ``A = QR`` with ``M >= N`` (``R`` square), from ``gq``/``gr``
    (either may be None): ``Q (gR + tril(sym) R^-T) + (gQ - Q Q^T gQ) R^-T``."""
    ri_t = T(xp, inv(xp, r))
    skew = None
    if gq is not None:
        qgq = xp.matmul(T(xp, q), gq)
        skew = qgq - T(xp, qgq)
    if gr is not None:
        rgr = xp.matmul(r, T(xp, gr))
        skew = rgr - T(xp, rgr) if skew is None else skew + rgr - T(xp, rgr)
    inner = xp.matmul(xp.tril(skew), ri_t)
    if gr is not None:
        inner = inner + gr
    out = xp.matmul(q, inner)
    if gq is not None:
        out = out + xp.matmul(gq - xp.matmul(q, qgq), ri_t)
    return out


def _qr_vjp(xp, x, q, r, gq, gr, mode):
    m, n = x.shape[-2], x.shape[-1]
    if m > n and mode == "complete":
        # Q's last M - N columns are any orthonormal completion: their cotangent is ignored.
        q, r = q[..., :, :n], r[..., :n, :]
        gq = None if gq is None else gq[..., :, :n]
        gr = None if gr is None else gr[..., :n, :]
    if m >= n:
        return _qr_deep_vjp(xp, q, r, gq, gr)
    # Wide: A = [X | Y], R = [U | V]; X = Q U is the square case, Y = Q V.
    y, u = x[..., :, m:], r[..., :, :m]
    if gr is None:
        return xp.concat([_qr_deep_vjp(xp, q, u, gq, None), xp.zeros_like(y)], axis=-1)
    gu, gv = gr[..., :, :m], gr[..., :, m:]
    extra = xp.matmul(y, T(xp, gv))
    gx = _qr_deep_vjp(xp, q, u, extra if gq is None else gq + extra, gu)
    return xp.concat([gx, xp.matmul(q, gv)], axis=-1)


def _qr_deep_jvp(xp, q, r, t):
    """Tangents of ``Q``, ``R`` for ``M >= N``: with ``C = Q^T dA R^-1`` and ``W`` the
    skew matrix from C's strictly lower triangle, ``dR = (C - W) R``,
    ``dQ = dA R^-1 - Q (C - W)``."""
    ri = inv(xp, r)
    c = xp.matmul(xp.matmul(T(xp, q), t), ri)
    low = xp.tril(c, k=-1)
    upper = c - low + T(xp, low)  # C - W
    return xp.matmul(t, ri) - xp.matmul(q, upper), xp.matmul(upper, r)


def _qr_jvp(xp, t, x, mode, want):
    m, n = x.shape[-2], x.shape[-1]
    q, r = decomposition(xp, "qr", x, ("qr_q", "qr_r"), mode=mode)
    if m > n and mode == "complete":  # the completion's columns of Q: zero tangent
        dq, dr = _qr_deep_jvp(xp, q[..., :, :n], r[..., :n, :], t)
        if want == "q":
            return xp.concat([dq, xp.zeros_like(q[..., :, n:])], axis=-1)
        return xp.concat([dr, xp.zeros_like(r[..., n:, :])], axis=-2)
    if m >= n:
        dq, dr = _qr_deep_jvp(xp, q, r, t)
        return dq if want == "q" else dr
    dq, du = _qr_deep_jvp(xp, q, r[..., :, :m], t[..., :, :m])
    if want == "q":
        return dq
    dv = xp.matmul(T(xp, q), t[..., :, m:] - xp.matmul(dq, r[..., :, m:]))
    return xp.concat([du, dv], axis=-1)


def _qr_q_vjp(xp, g, x, out, mode):
    return _qr_vjp(xp, x, out, call(xp, "qr_r", x, mode=mode), g, None, mode)


def _qr_r_vjp(xp, g, x, out, mode):
    return _qr_vjp(xp, x, call(xp, "qr_q", x, mode=mode), out, None, g, mode)


# ---------------------------------------------------------------------- svd


def _svd_part(index):
    def forward(xp, x, *, full_matrices=True):
        _expect_matrices("svd", x)
        return backend_linalg(xp, "svd")(x, full_matrices=full_matrices)[index]

    return forward


def _svdvals(xp, x):
    _expect_matrices("svdvals", x)
    return backend_linalg(xp, "svdvals")(x)


def _reduced_svd(xp, x, full_matrices):
    """``U``, ``S``, ``Vh`` of ``x`` with ``k = min(M, N)`` columns/rows. Computed with
    the caller's ``full_matrices`` and cut, so that the signs match the forward's."""
    k = min(x.shape[-2], x.shape[-1])
    u, s, vh = decomposition(xp, "svd", x, ("svd_u", "svd_s", "svd_vh"), full_matrices=full_matrices)
    return u[..., :, :k], s, vh[..., :k, :]


def _svd_gaps(xp, s):
    """``F[i, j] = 1 / (s_j^2 - s_i^2)``, 0 where the values coincide."""
    s2 = s * s
    return safe_reciprocal(xp, _col(xp, s2) - _row(xp, s2))


def _svd_vjp(xp, x, u, s, vh, gu, gs, gvh):
    """The cotangent of ``A = U diag(S) Vh`` (reduced) from any of ``gu``, ``gs``,
    ``gvh`` (the others None):
    ``U [J S + S K + diag(gS)] Vh + (I - U U^T) gU S^-1 Vh + U S^-1 gV^T (I - V V^T)``
    with ``J = F o (U^T gU - gU^T U)``, ``K = F o (V^T gV - gV^T V)``."""
    m, n = x.shape[-2], x.shape[-1]
    k = s.shape[-1]
    if gs is not None:
        return xp.matmul(u * _col(xp, gs), vh)
    v = T(xp, vh)
    f = _svd_gaps(xp, s)
    s_inv = safe_reciprocal(xp, s)
    if gu is not None:
        utg = xp.matmul(T(xp, u), gu)
        inner = f * (utg - T(xp, utg)) * _col(xp, s)
        out = xp.matmul(xp.matmul(u, inner), vh)
        if m > k:
            proj = gu - xp.matmul(u, utg)
            out = out + xp.matmul(proj * _col(xp, s_inv), vh)
        return out
    gv = T(xp, gvh)
    vtg = xp.matmul(T(xp, v), gv)
    inner = _row(xp, s) * (f * (vtg - T(xp, vtg)))
    out = xp.matmul(xp.matmul(u, inner), vh)
    if n > k:
        proj = gvh - xp.matmul(xp.matmul(gvh, v), vh)  # gV^T (I - V V^T)
        out = out + xp.matmul(u * _col(xp, s_inv), proj)
    return out


def _svd_rule(field):
    def vjp(xp, g, x, full_matrices):
        m, n = x.shape[-2], x.shape[-1]
        k = min(m, n)
        u, s, vh = _reduced_svd(xp, x, full_matrices)
        if field == "U":
            return _svd_vjp(xp, x, u, s, vh, g[..., :, :k], None, None)
        if field == "S":
            return _svd_vjp(xp, x, u, s, vh, None, g, None)
        return _svd_vjp(xp, x, u, s, vh, None, None, g[..., :k, :])

    return vjp


def _svd_tangent(field):
    def jvp(xp, t, x, full_matrices):
        m, n = x.shape[-2], x.shape[-1]
        k = min(m, n)
        u, s, vh = _reduced_svd(xp, x, full_matrices)
        v = T(xp, vh)
        dp = xp.matmul(xp.matmul(T(xp, u), t), v)
        if field == "S":
            return diag_part(xp, dp)
        f = _svd_gaps(xp, s)
        s_inv = safe_reciprocal(xp, s)
        if field == "U":
            du = xp.matmul(u, f * (dp * _col(xp, s) + _row(xp, s) * T(xp, dp)))
            if m > k:
                tv = xp.matmul(t, v)
                du = du + (tv - xp.matmul(u, xp.matmul(T(xp, u), tv))) * _col(xp, s_inv)
            if full_matrices and m > k:  # the completion's columns: no tangent
                du = xp.concat([du, _zeros(xp, du, tuple(du.shape[:-1]) + (m - k,))], axis=-1)
            return du
        dv = xp.matmul(v, f * (_row(xp, s) * dp + T(xp, dp) * _col(xp, s)))
        if n > k:
            tu = xp.matmul(T(xp, t), u)
            dv = dv + (tu - xp.matmul(v, xp.matmul(vh, tu))) * _col(xp, s_inv)
        dvh = T(xp, dv)
        if full_matrices and n > k:
            dvh = xp.concat([dvh, _zeros(xp, dvh, tuple(dvh.shape[:-2]) + (n - k, n))], axis=-2)
        return dvh

    return jvp


def _zeros(xp, like, shape):
    return xp.zeros(shape, dtype=like.dtype, device=device_of(like))


def _svdvals_vjp(xp, g, x):
    u, s, vh = _reduced_svd(xp, x, False)
    return xp.matmul(u * _col(xp, g), vh)


def _svdvals_jvp(xp, t, x):
    u, s, vh = _reduced_svd(xp, x, False)
    return xp.sum(u * xp.matmul(t, T(xp, vh)), axis=-2)


@hookimpl
def xpgrad_ops():
    return [
        Op("cholesky", _cholesky, vjp={"x": _cholesky_vjp}, jvp={"x": _cholesky_jvp},
           node_name="LinalgCholeskyBackward",
           doc="Cholesky factor of the lower triangle (upper=True: its transpose)"),
        Op("eigh_eigenvalues", _eigh_part(0), vjp={"x": _eigenvalues_vjp},
           jvp={"x": _eigenvalues_jvp}, node_name="LinalgEighBackward",
           doc="eigh(x).eigenvalues (lower triangle read)"),
        Op("eigh_eigenvectors", _eigh_part(1), vjp={"x": _eigenvectors_vjp},
           jvp={"x": _eigenvectors_jvp}, node_name="LinalgEighBackward",
           doc="eigh(x).eigenvectors; repeated eigenvalues drop their 1/gap terms"),
        Op("eigvalsh", _eigvalsh, vjp={"x": _eigenvalues_vjp}, jvp={"x": _eigenvalues_jvp},
           node_name="LinalgEigvalshBackward", doc="eigenvalues of a symmetric matrix (lower triangle read)"),
        Op("qr_q", _qr_part(0), vjp={"x": _qr_q_vjp},
           jvp={"x": lambda xp, t, x, mode: _qr_jvp(xp, t, x, mode, "q")},
           node_name="LinalgQrBackward", doc="qr(x).Q"),
        Op("qr_r", _qr_part(1), vjp={"x": _qr_r_vjp},
           jvp={"x": lambda xp, t, x, mode: _qr_jvp(xp, t, x, mode, "r")},
           node_name="LinalgQrBackward", doc="qr(x).R"),
        Op("svd_u", _svd_part(0), vjp={"x": _svd_rule("U")}, jvp={"x": _svd_tangent("U")},
           node_name="LinalgSvdBackward", doc="svd(x).U; repeated singular values drop their 1/gap terms"),
        Op("svd_s", _svd_part(1), vjp={"x": _svd_rule("S")}, jvp={"x": _svd_tangent("S")},
           node_name="LinalgSvdBackward", doc="svd(x).S"),
        Op("svd_vh", _svd_part(2), vjp={"x": _svd_rule("Vh")}, jvp={"x": _svd_tangent("Vh")},
           node_name="LinalgSvdBackward", doc="svd(x).Vh; repeated singular values drop their 1/gap terms"),
        Op("svdvals", _svdvals, vjp={"x": _svdvals_vjp}, jvp={"x": _svdvals_jvp},
           node_name="LinalgSvdvalsBackward", doc="singular values"),
    ]
