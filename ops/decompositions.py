"""Matrix decompositions: cholesky, eig, eigh, eigvalsh, qr, svd, svdvals.

A decomposition with several outputs is one op per output (``eig_eigenvalues``,
``eig_eigenvectors``; ``eigh_eigenvalues``, ``eigh_eigenvectors``; ``qr_q``, ``qr_r``;
``svd_u``, ``svd_s``, ``svd_vh``), each computing the decomposition in its forward and
returning its part. A decomposition's VJP is linear in the output cotangents, so the
engine's sum of the per-output VJPs is the full VJP. The price: a caller that uses
several outputs of one call while recording a graph computes the decomposition once per
output, and each rule recomputes the parts it reads (``xpgrad.xp.linalg`` computes it
once when nothing requires grad).

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
- ``eig`` (general square matrices; ``eigvals`` while recording is its eigenvalues, as
  in PyTorch): the results are complex for real input too, the eigenvectors ``V`` unit
  columns. With ``P = V^-1 dA V`` and ``F[i, j] = 1 / (L_j - L_i)`` off the diagonal
  (PyTorch's linalg_eig_jvp and linalg_eig_backward):
  ``dL = diag(P)``; ``dV = V C - V Re(diag(V^H V C))`` with ``C = F o P`` (the columns
  keep unit norm, ``Re(v_k^H dv_k) = 0``, and ``V^-1 dV`` has a real diagonal, PyTorch's
  choice of phase); ``gA = V^-H (diag(gL) + conj(F) o (V^H gV - V^H V Re(diag(V^H gV))))
  V^H``, its real part for real input. The gradient needs distinct eigenvalues: the
  ``1 / (L_j - L_i)`` terms of exactly repeated ones are dropped, as for eigh (PyTorch
  divides by zero there), so functions of the eigenvalues of a diagonalizable matrix
  stay exact; a defective matrix (no basis of eigenvectors: the computed ``V`` is
  singular or nearly so) has no derivative, and what the rules return there means
  nothing. The eigenvectors' phases are arbitrary for real input too (``V`` is
  complex): see the phases below.
- ``svd`` with ``full_matrices=True`` on a non-square matrix: the columns of ``U`` (rows
  of ``Vh``) past ``min(M, N)`` are any orthonormal completion, not a differentiable
  function of the input: their cotangents are ignored and their tangents are zero. Zero
  singular values of a non-square matrix drop the ``1 / s`` terms (set to 0).
- ``qr`` with ``mode='complete'`` and ``M > N``: likewise, ``Q``'s last ``M - N``
  columns are any orthonormal completion; their cotangents are ignored and their
  tangents are zero (``R`` and ``Q``'s first ``N`` columns are exact).
- ``qr`` of a rank-deficient input whose ``R`` has an exact zero on its diagonal (of
  its first ``min(M, N)`` columns): ``Q`` is not determined by the input there and has
  no derivative; the gradient and the tangents of such a matrix are NaN (PyTorch's
  are NaN or inf), and no error is raised.

Complex input (PyTorch's convention, ``dL/dx + i dL/dy``; PyTorch's formulas with ``^H``
for ``^T``). Every decomposition here supports it:

- ``cholesky``, ``eigh``, ``eigvalsh`` take Hermitian matrices and read the lower
  triangle and the real part of the diagonal (LAPACK ignores its imaginary part): the
  gradient is zero above the diagonal and real on it. ``cholesky(upper=True)`` is
  ``L^H``.
- ``qr``: ``R``'s diagonal is real (LAPACK's Householder QR makes it so), which leaves no
  continuous freedom: ``Q`` and ``R`` are differentiable functions of the input, and any
  loss of them has a gradient.
- ``svdvals``, ``svd``'s ``S`` and ``eigh``'s eigenvalues are real, and any loss of them
  has a gradient.
- The phases of complex eigenvectors and singular vectors are arbitrary: ``V -> V D``
  for eig and eigh, ``U -> U D`` with ``Vh -> D^H Vh`` for svd, any diagonal unitary
  ``D``. Only a loss that does not depend on them has a gradient (``V diag(f(w)) V^H``,
  ``V diag(f(L)) V^-1`` for eig, ``U diag(f(S)) Vh``, ``U Vh``, ``|V|``, functions of
  the eigen/singular values); for it, the gradient is exact. As PyTorch does, backward
  checks the condition, ``Im diag(V^H gV) = 0`` for eig and eigh and
  ``Im diag(U^H gU) + Im diag(V^H gV) = 0`` for svd, and raises a ``RuntimeError``
  saying so where it fails. The tolerance is ``rtol`` times the largest entry of
  ``|V^H gV|`` (of ``|U^H gU| + |V^H gV|`` for svd) plus ``atol``: ``1e-6`` and
  ``1e-8`` in complex128, ``1e-2`` and ``1e-3`` in complex64. For svd the condition
  involves both factors, so ``xpgrad.xp.linalg.svd`` of a complex input that requires
  grad computes one op, ``svd_packed``, whose VJP sees ``gU``, ``gS`` and ``gVh``
  together; use the ``U``, ``S`` and ``Vh`` of one call together (each call is its own
  op: ``U`` of one call with ``Vh`` of another is refused, as in PyTorch). The ops of
  one output, ``svd_u`` and ``svd_vh``, which the rules of ``det`` and ``svd`` call for
  their own phase-free products, split the phases' part of the rule evenly between the
  two factors and do not check.
- Forward mode: the tangents of complex eigenvectors are those with
  ``Im diag(V^H dV) = 0`` for eigh, and with a real diagonal of ``V^-1 dV`` for eig;
  those of singular vectors split the phases' part evenly, ``Im diag(U^H dU) =
  -Im diag(V^H dV)`` (PyTorch's choices). Only a function that does not depend on the
  phases has, through them, its true directional derivative.
"""
from xpgrad.dispatch import call
from xpgrad.plugins import Op, hookimpl
from xpgrad.plugins.arrays import device_of, expect_matrices, pack, svd_sizes, unpack

from .linalg import (
    T,
    backend_linalg,
    conj,
    conj_T,
    decomposition,
    diag_part,
    eye_like,
    imag_part,
    inv,
    is_complex,
    lower_symmetric,
    lower_symmetric_vjp,
    safe_reciprocal,
    triangular_inv,
    tril,
    triu,
)


def _col(xp, v):
    """``v`` ``(..., k)`` as ``(..., 1, k)``: scales the columns of a matrix."""
    return xp.expand_dims(v, axis=-2)


def _row(xp, v):
    """``v`` ``(..., k)`` as ``(..., k, 1)``: scales the rows of a matrix."""
    return xp.expand_dims(v, axis=-1)


# ---------------------------------------------------------------------- cholesky


def _cholesky(xp, x, *, upper=False):
    expect_matrices("cholesky", x, square=True)
    # Always the lower factor, transposed for upper: the input's lower triangle is read
    # on every backend (NumPy's upper=True would read the upper one).
    lower = backend_linalg(xp, "cholesky")(x)
    return conj_T(xp, lower) if upper else lower


def _phi(xp, x):
    """The lower triangle with the diagonal halved."""
    return tril(xp, x) - 0.5 * x * eye_like(xp, x, x.shape[-1])


def _cholesky_vjp(xp, g, out, upper):
    lower = conj_T(xp, out) if upper else out
    gl = conj_T(xp, g) if upper else g
    li = inv(xp, lower)
    # For symmetric (Hermitian) dA: dL = L phi(L^-1 dA L^-H), so the cotangent of the
    # symmetric matrix is L^-H phi(L^H gL) L^-1 (^H is ^T for real matrices).
    h = xp.matmul(xp.matmul(conj_T(xp, li), _phi(xp, xp.matmul(conj_T(xp, lower), gl))), li)
    return lower_symmetric_vjp(xp, h)


def _cholesky_jvp(xp, t, out, upper):
    lower = conj_T(xp, out) if upper else out
    li = inv(xp, lower)
    dl = xp.matmul(lower, _phi(xp, xp.matmul(xp.matmul(li, lower_symmetric(xp, t)), conj_T(xp, li))))
    return conj_T(xp, dl) if upper else dl


# ---------------------------------------------------------------------- eigh


# Results are indexed, not read by field name: some backends return plain tuples.


def _eigh_part(index):
    def forward(xp, x):
        expect_matrices("eigh", x, square=True)
        return backend_linalg(xp, "eigh")(x)[index]

    return forward


def _eigvalsh(xp, x):
    expect_matrices("eigvalsh", x, square=True)
    return backend_linalg(xp, "eigvalsh")(x)


def _eigenvectors(xp, x):
    return call(xp, "eigh_eigenvectors", x)


def _gap_reciprocals(xp, w):
    """``F[i, j] = 1 / (w_j - w_i)``, 0 where the values coincide (and on the diagonal)."""
    return safe_reciprocal(xp, _col(xp, w) - _row(xp, w))


def _eigenvalues_vjp(xp, g, x):
    v = _eigenvectors(xp, x)
    return lower_symmetric_vjp(xp, xp.matmul(v * _col(xp, g), conj_T(xp, v)))


def _eigenvalues_jvp(xp, t, x):
    v = _eigenvectors(xp, x)
    # dw_i = v_i^H dA v_i, real for Hermitian dA.
    dw = xp.sum(conj(xp, v) * xp.matmul(lower_symmetric(xp, t), v), axis=-2)
    return xp.real(dw) if is_complex(dw) else dw


def _eigenvectors_vjp(xp, g, x, out):
    v = out
    vhg = xp.matmul(conj_T(xp, v), g)
    if is_complex(vhg):
        _check_phase_invariance(xp, "eigh", imag_diagonal(xp, vhg), vhg,
                                "the eigenvectors", "V", "Im(diag(V^H gV))",
                                "functions of the eigenvalues, of V diag(f(w)) V^H or of |V|")
    f = _gap_reciprocals(xp, call(xp, "eigh_eigenvalues", x))
    h = xp.matmul(xp.matmul(v, f * vhg), conj_T(xp, v))
    return lower_symmetric_vjp(xp, h)


def _eigenvectors_jvp(xp, t, x, out):
    # The tangent with Im(diag(V^H dV)) = 0, as PyTorch picks it for complex input.
    v = out
    f = _gap_reciprocals(xp, call(xp, "eigh_eigenvalues", x))
    p = xp.matmul(xp.matmul(conj_T(xp, v), lower_symmetric(xp, t)), v)
    return xp.matmul(v, f * p)


# ---------------------------------------------------------------------- eig


def _standard_complex(xp, a):
    """``a`` as complex values of its own precision: NumPy's eig returns real arrays
    where every eigenvalue is real, and the standard's eig is complex for every input."""
    if is_complex(a):
        return a
    return xp.astype(a, xp.complex64 if a.dtype == xp.float32 else xp.complex128)


def _eig_part(index):
    def forward(xp, x):
        expect_matrices("eig", x, square=True)
        return _standard_complex(xp, backend_linalg(xp, "eig")(x)[index])

    return forward


def _similar(xp, v, t):
    """``V^-1 t V``: the tangent ``t`` in the eigenvectors' basis (complex for real ``t``,
    made complex first: torch's matmul does not mix real and complex)."""
    return call(xp, "solve", v, xp.matmul(_standard_complex(xp, t), v))


def _similar_vjp(xp, v, m, x):
    """``V^-H m V^H``, the adjoint of :func:`_similar`: the cotangent of ``x``; its real
    part for real ``x`` (the engine would take it too; here it is explicit)."""
    vh = conj_T(xp, v)
    g = call(xp, "solve", vh, xp.matmul(m, vh))
    return g if is_complex(x) else xp.real(g)


def _eig_values_vjp(xp, g, x):
    v = call(xp, "eig_eigenvectors", x)
    return _similar_vjp(xp, v, _row(xp, g) * eye_like(xp, v, v.shape[-1]), x)


def _eig_values_jvp(xp, t, x):
    # dL = diag(V^-1 dA V), from dA V + A dV = dV L + V dL.
    return diag_part(xp, _similar(xp, call(xp, "eig_eigenvectors", x), t))


def _eig_vectors_vjp(xp, g, x, out):
    v = out
    vhg = xp.matmul(conj_T(xp, v), g)
    _check_phase_invariance(xp, "eig", imag_diagonal(xp, vhg), vhg, "the eigenvectors", "V",
                            "Im(diag(V^H gV))",
                            "functions of the eigenvalues, of V diag(f(L)) V^-1 or of |V|",
                            arbitrary="arbitrary, for real input too")
    # The columns have unit norm: the part of gV that would change their norms
    # (Re(diag(V^H gV)) along each column) is no direction the eigenvectors can move in.
    m = vhg - xp.matmul(conj_T(xp, v), v * _col(xp, xp.real(diag_part(xp, vhg))))
    f = _gap_reciprocals(xp, call(xp, "eig_eigenvalues", x))
    return _similar_vjp(xp, v, xp.conj(f) * m, x)


def _eig_vectors_jvp(xp, t, x, out):
    # dV = V C with C = (V^-1 dA V) / (L_j - L_i) off the diagonal; C's diagonal keeps the
    # columns' unit norm, Re(v_k^H dv_k) = 0, and is real (PyTorch's choice of phase).
    v = out
    f = _gap_reciprocals(xp, call(xp, "eig_eigenvalues", x))
    dv = xp.matmul(v, f * _similar(xp, v, t))
    return dv - v * _col(xp, xp.real(xp.sum(xp.conj(v) * dv, axis=-2)))


# ---------------------------------------------------------------------- complex phases


def imag_diagonal(xp, m):
    """``Im(diag(m))`` of square complex matrices ``m``, as ``(..., k)``."""
    return xp.imag(diag_part(xp, m))


# Tolerances (relative, absolute) of the phase-invariance check, by precision: rounding
# leaves imaginary parts far below these in a loss that does not depend on the phases.
# The absolute part keeps a cotangent that is itself rounding noise (a loss whose
# dependence on the vectors cancels out) from being taken for a dependence on phases.
_PHASE_TOL = {"complex64": (1e-2, 1e-3), "complex128": (1e-6, 1e-8)}


def _check_phase_invariance(xp, name, im, m, what, vectors, quantity, instead,
                            arbitrary="arbitrary for complex input"):
    """Raise if ``im`` (``(..., k)``: what a loss invariant to the phases of ``what``
    keeps at 0) is not small: above ``rtol`` times the largest entry of ``|m|``
    (``(..., k, k)``) plus ``atol``. Then the loss depends on phases that the
    decomposition leaves arbitrary (each column of ``vectors`` may be multiplied by
    ``e^{i phi}``) and has no gradient. PyTorch makes the same check (with
    ``rtol = atol = 1e-2`` against zero)."""
    data = [a.detach() if hasattr(a, "detach") else a for a in (im, m)]
    im, m = data
    rtol, atol = _PHASE_TOL.get(str(im.dtype).rsplit(".", 1)[-1].replace("float", "complex"), (1e-2, 1e-3))
    worst = xp.max(xp.abs(im), axis=-1)
    scale = xp.max(xp.abs(m), axis=(-2, -1))
    if bool(xp.any(worst > rtol * scale + atol)):
        raise RuntimeError(
            f"{name} backward: the loss depends on the phases of {what}, which are "
            f"{arbitrary} (each column of {vectors} may be multiplied by "
            f"e^(i phi)), so its gradient is not defined: {quantity} must be 0, and it is "
            f"not (up to {float(xp.max(worst))!r}). Use a loss that does not depend on "
            f"these phases, e.g. {instead}.")


# ---------------------------------------------------------------------- qr


def _qr_part(index):
    def forward(xp, x, *, mode="reduced"):
        expect_matrices("qr", x)
        if mode not in ("reduced", "complete"):
            raise ValueError(f"qr: mode must be 'reduced' or 'complete', got {mode!r}")
        return backend_linalg(xp, "qr")(x, mode=mode)[index]

    return forward


def _qr_deep_vjp(xp, q, r, gq, gr):
    """The cotangent of ``A = QR`` with ``M >= N`` (``R`` square), from ``gq``/``gr``
    (either may be None): ``Q (gR + tril(sym) R^-T) + (gQ - Q Q^T gQ) R^-T``."""
    if is_complex(r):
        return _qr_deep_vjp_complex(xp, q, r, gq, gr)
    ri_t = T(xp, triangular_inv(xp, r))
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


def _qr_deep_vjp_complex(xp, q, r, gq, gr):
    """:func:`_qr_deep_vjp` for complex ``A = QR`` (``R``'s diagonal real, as LAPACK
    makes it): ``(gQ + Q N) R^-H`` with ``M = gR R^H - Q^H gQ`` and ``N`` the Hermitian
    matrix with ``M``'s strict upper triangle and the real part of its diagonal (the
    adjoint of the JVP's ``dR R^-1 = triu(C, 1) + Re diag(C) + tril(C, -1)^H``;
    PyTorch's linalg_qr_backward)."""
    m = None
    if gr is not None:
        m = xp.matmul(gr, conj_T(xp, r))
    if gq is not None:
        qgq = xp.matmul(conj_T(xp, q), gq)
        m = -qgq if m is None else m - qgq
    up = triu(xp, m, k=1)
    n = up + conj_T(xp, up) + xp.real(m) * eye_like(xp, m, m.shape[-1])
    top = xp.matmul(q, n) if gq is None else gq + xp.matmul(q, n)
    return xp.matmul(top, conj_T(xp, triangular_inv(xp, r)))


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
    extra = xp.matmul(y, conj_T(xp, gv))
    gx = _qr_deep_vjp(xp, q, u, extra if gq is None else gq + extra, gu)
    return xp.concat([gx, xp.matmul(q, gv)], axis=-1)


def _qr_deep_jvp(xp, q, r, t):
    """Tangents of ``Q``, ``R`` for ``M >= N``: with ``C = Q^T dA R^-1`` and ``W`` the
    skew matrix from C's strictly lower triangle, ``dR = (C - W) R``,
    ``dQ = dA R^-1 - Q (C - W)``. Complex: ``C = Q^H dA R^-1`` and ``W`` the
    skew-Hermitian matrix from C's strictly lower triangle and ``i Im diag(C)``, which
    keeps ``R``'s diagonal real."""
    ri = triangular_inv(xp, r)
    c = xp.matmul(xp.matmul(conj_T(xp, q), t), ri)
    low = tril(xp, c, k=-1)
    upper = c - low + conj_T(xp, low)  # C - W
    if is_complex(c):
        upper = upper - imag_part(xp, c) * eye_like(xp, c, c.shape[-1])
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
    dv = xp.matmul(conj_T(xp, q), t[..., :, m:] - xp.matmul(dq, r[..., :, m:]))
    return xp.concat([du, dv], axis=-1)


def _qr_q_vjp(xp, g, x, out, mode):
    return _qr_vjp(xp, x, out, call(xp, "qr_r", x, mode=mode), g, None, mode)


def _qr_r_vjp(xp, g, x, out, mode):
    return _qr_vjp(xp, x, call(xp, "qr_q", x, mode=mode), out, None, g, mode)


# ---------------------------------------------------------------------- svd


def _svd_part(index):
    def forward(xp, x, *, full_matrices=True):
        expect_matrices("svd", x)
        return backend_linalg(xp, "svd")(x, full_matrices=full_matrices)[index]

    return forward


def _svdvals(xp, x):
    expect_matrices("svdvals", x)
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
    if is_complex(u):
        return _svd_vjp_complex(xp, x, u, s, vh, gu, gs, gvh)
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


def _svd_vjp_complex(xp, x, u, s, vh, gu, gs, gvh):
    """:func:`_svd_vjp` for complex ``A``, from any subset of ``gu``, ``gs``, ``gvh``
    (PyTorch's svd_backward, with ``^H`` for ``^T``):
    ``U [J S + S K + diag(gS) + D] Vh + (I - U U^H) gU S^-1 Vh + U S^-1 gV^H (I - V V^H)``
    with ``J = F o skew(U^H gU)``, ``K = F o skew(V^H gV)``, ``skew(X) = X - X^H``.

    ``D`` is the diagonal that the phases of the singular vectors leave: the loss must
    not depend on them, which makes ``Im diag(U^H gU) = -Im diag(V^H gV)``, and then
    ``D = i Im diag(U^H gU) / S``. It is split evenly between the two cotangents,
    ``i (Im diag(U^H gU) - Im diag(V^H gV)) / (2 S)``, so that the VJPs of ``U`` and of
    ``Vh`` computed apart (one op each) add up to it."""
    m, n = x.shape[-2], x.shape[-1]
    k = s.shape[-1]
    f = _svd_gaps(xp, s)
    s_inv = safe_reciprocal(xp, s)
    eye = eye_like(xp, u, k)
    inner = None
    if gu is not None:
        uhg = xp.matmul(conj_T(xp, u), gu)
        skew = uhg - conj_T(xp, uhg)
        # skew's diagonal is 2i Im diag(U^H gU): a quarter of it over S is D's half.
        inner = f * skew * _col(xp, s) + skew * eye * _col(xp, s_inv / 4)
    if gvh is not None:
        vhg = xp.matmul(vh, conj_T(xp, gvh))  # V^H gV
        skew = vhg - conj_T(xp, vhg)
        part = _row(xp, s) * (f * skew) - skew * eye * _col(xp, s_inv / 4)
        inner = part if inner is None else inner + part
    if gs is not None:
        part = _col(xp, gs) * eye
        inner = part if inner is None else inner + part
    out = xp.matmul(xp.matmul(u, inner), vh)
    if m > k and gu is not None:
        proj = gu - xp.matmul(u, xp.matmul(conj_T(xp, u), gu))
        out = out + xp.matmul(proj * _col(xp, s_inv), vh)
    if n > k and gvh is not None:
        proj = gvh - xp.matmul(xp.matmul(gvh, conj_T(xp, vh)), vh)  # gV^H (I - V V^H)
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


def _svd_tangents(xp, t, x, full_matrices, fields):
    """The tangents of the SVD's ``fields`` (a string of ``"U"``, ``"S"``, ``"V"``).
    Complex: ``dS = Re diag(dP)`` and the phases' part of ``dU``, ``dV`` is split
    evenly, ``+-i Im diag(dP) / (2 S)`` (PyTorch's linalg_svd_jvp): only a function of
    ``A`` that does not depend on those phases has these tangents for derivative."""
    m, n = x.shape[-2], x.shape[-1]
    k = min(m, n)
    u, s, vh = _reduced_svd(xp, x, full_matrices)
    v = conj_T(xp, vh)
    dp = xp.matmul(xp.matmul(conj_T(xp, u), t), v)
    complex_ = is_complex(dp)
    out = {}
    if "S" in fields:
        ds = diag_part(xp, dp)
        out["S"] = xp.real(ds) if complex_ else ds
    if "U" not in fields and "V" not in fields:
        return out
    f = _svd_gaps(xp, s)
    s_inv = safe_reciprocal(xp, s)
    if complex_:
        phases = imag_part(xp, dp) * eye_like(xp, dp, k) * _col(xp, s_inv / 2)
    if "U" in fields:
        du_inner = f * (dp * _col(xp, s) + _row(xp, s) * conj_T(xp, dp))
        if complex_:
            du_inner = du_inner + phases
        du = xp.matmul(u, du_inner)
        if m > k:
            tv = xp.matmul(t, v)
            du = du + (tv - xp.matmul(u, xp.matmul(conj_T(xp, u), tv))) * _col(xp, s_inv)
        if full_matrices and m > k:  # the completion's columns: no tangent
            du = xp.concat([du, _zeros(xp, du, tuple(du.shape[:-1]) + (m - k,))], axis=-1)
        out["U"] = du
    if "V" in fields:
        dv_inner = f * (_row(xp, s) * dp + conj_T(xp, dp) * _col(xp, s))
        if complex_:
            dv_inner = dv_inner - phases
        dv = xp.matmul(v, dv_inner)
        if n > k:
            tu = xp.matmul(conj_T(xp, t), u)
            dv = dv + (tu - xp.matmul(v, xp.matmul(vh, tu))) * _col(xp, s_inv)
        dvh = conj_T(xp, dv)
        if full_matrices and n > k:
            dvh = xp.concat([dvh, _zeros(xp, dvh, tuple(dvh.shape[:-2]) + (n - k, n))], axis=-2)
        out["V"] = dvh
    return out


def _svd_tangent(field):
    key = "V" if field == "Vh" else field

    def jvp(xp, t, x, full_matrices):
        return _svd_tangents(xp, t, x, full_matrices, key)[key]

    return jvp


def _zeros(xp, like, shape):
    return xp.zeros(shape, dtype=like.dtype, device=device_of(like))


def _svdvals_vjp(xp, g, x):
    u, s, vh = _reduced_svd(xp, x, False)
    return xp.matmul(u * _col(xp, g), vh)


def _svdvals_jvp(xp, t, x):
    u, s, vh = _reduced_svd(xp, x, False)
    if is_complex(u):  # dS = Re diag(U^H dA V)
        return xp.real(xp.sum(xp.conj(u) * xp.matmul(t, conj_T(xp, vh)), axis=-2))
    return xp.sum(u * xp.matmul(t, T(xp, vh)), axis=-2)


# ---------------------------------------------------------------------- svd of complex matrices, packed
# The phases of complex singular vectors are arbitrary (U -> U D, Vh -> D^H Vh for any
# diagonal unitary D), and a loss has a gradient only if it does not depend on them:
# Im diag(U^H gU) + Im diag(V^H gV) = 0. That condition reads the cotangents of U and Vh
# together, which ops of one output each never see. So xpgrad.xp.linalg.svd of a
# complex matrix that requires grad computes one op, svd_packed, whose output holds
# U, S and Vh flattened and concatenated along the last axis (S as complex numbers),
# and takes the three back out by slicing; its VJP sees all three cotangents, checks
# the condition as PyTorch does, and applies the full rule.


def _pack_svd(xp, u, s, vh):
    return pack(xp, [u, s, vh], u.ndim - 2)


def unpack_svd(xp, packed, m, n, full_matrices):
    """``U``, ``S``, ``Vh`` from :func:`_svd_packed`'s result (``S`` still complex)."""
    _, _, k, ku, kv = svd_sizes((m, n), full_matrices)
    return unpack(xp, packed, [(m, ku), (k,), (kv, n)])


def _svd_packed(xp, x, *, full_matrices=True):
    expect_matrices("svd", x)
    u, s, vh = backend_linalg(xp, "svd")(x, full_matrices=full_matrices)
    return _pack_svd(xp, u, s, vh)


def _svd_packed_vjp(xp, g, x, out, full_matrices):
    m, n, k, _, _ = svd_sizes(x.shape, full_matrices)
    u, s, vh = unpack_svd(xp, out, m, n, full_matrices)
    gu, gs, gvh = unpack_svd(xp, g, m, n, full_matrices)
    u, s, vh = u[..., :, :k], xp.real(s), vh[..., :k, :]
    gu, gs, gvh = gu[..., :, :k], xp.real(gs), gvh[..., :k, :]
    if is_complex(u):
        uhg = xp.matmul(conj_T(xp, u), gu)
        vhg = xp.matmul(vh, conj_T(xp, gvh))
        _check_phase_invariance(
            xp, "svd", imag_diagonal(xp, uhg) + imag_diagonal(xp, vhg), xp.abs(uhg) + xp.abs(vhg),
            "the singular vectors", "U (and the matching row of Vh)",
            "Im(diag(U^H gU)) + Im(diag(V^H gV))",
            "functions of the singular values, of U diag(f(S)) Vh, U Vh, U diag(f(S)) U^H or of |U|")
    return _svd_vjp_complex(xp, x, u, s, vh, gu, gs, gvh)  # the full rule (also right for real x)


def _svd_packed_jvp(xp, t, x, full_matrices):
    d = _svd_tangents(xp, t, x, full_matrices, "USV")
    return _pack_svd(xp, d["U"], d["S"], d["V"])


@hookimpl
def xpgrad_ops():
    return [
        Op("cholesky", _cholesky, vjp={"x": _cholesky_vjp}, jvp={"x": _cholesky_jvp},
           node_name="LinalgCholeskyBackward",
           doc=("The Cholesky factor ``L`` (``x = L L^T``) of each symmetric positive-definite matrix, read from its "
                "lower triangle; ``upper=True`` gives ``L^T``.")),
        Op("eigh_eigenvalues", _eigh_part(0), vjp={"x": _eigenvalues_vjp},
           jvp={"x": _eigenvalues_jvp}, node_name="LinalgEighBackward",
           doc="eigh(x).eigenvalues (lower triangle read)"),
        Op("eigh_eigenvectors", _eigh_part(1), vjp={"x": _eigenvectors_vjp},
           jvp={"x": _eigenvectors_jvp}, node_name="LinalgEighBackward",
           doc="eigh(x).eigenvectors; repeated eigenvalues drop their 1/gap terms"),
        Op("eig_eigenvalues", _eig_part(0), vjp={"x": _eig_values_vjp}, jvp={"x": _eig_values_jvp},
           node_name="LinalgEigBackward", batch="trailing",
           doc="eig(x).eigenvalues, complex (also eigvals(x) while a graph is recorded)"),
        Op("eig_eigenvectors", _eig_part(1), vjp={"x": _eig_vectors_vjp}, jvp={"x": _eig_vectors_jvp},
           node_name="LinalgEigBackward", batch="trailing",
           doc="eig(x).eigenvectors, complex, unit columns; repeated eigenvalues drop their 1/gap terms"),
        Op("eigvalsh", _eigvalsh, vjp={"x": _eigenvalues_vjp}, jvp={"x": _eigenvalues_jvp},
           node_name="LinalgEigvalshBackward",
           doc="The eigenvalues of each symmetric matrix (lower triangle read), ascending."),
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
        Op("svd_packed", _svd_packed, vjp={"x": _svd_packed_vjp}, jvp={"x": _svd_packed_jvp},
           node_name="LinalgSvdBackward",
           doc="svd(x) of complex x as one array (U, S, Vh flattened and concatenated), "
               "for a gradient that checks that the loss does not depend on the singular vectors' phases"),
        Op("svd_vh", _svd_part(2), vjp={"x": _svd_rule("Vh")}, jvp={"x": _svd_tangent("Vh")},
           node_name="LinalgSvdBackward", doc="svd(x).Vh; repeated singular values drop their 1/gap terms"),
        Op("svdvals", _svdvals, vjp={"x": _svdvals_vjp}, jvp={"x": _svdvals_jvp},
           node_name="LinalgSvdvalsBackward", doc="The singular values of each matrix, descending."),
    ]
