"""Where xpgrad deliberately differs from PyTorch: the one table (:data:`DIFFERENCES`)
the oracle asserts and ``docs/oracle.md`` shows.

Each entry names the cases it applies to (``fnmatch`` patterns over case ids
``op/variant/dtype``), the components that differ (``value``, ``grad``, ``grad2``,
``jvp``), a kind, the reason, and what exactly the difference is:

- :class:`NotDifferentiable`: xpgrad declares the op not differentiable (its result
  never requires grad) where PyTorch gives a gradient (zero, for the rounding functions);
- :class:`At`: at the elements where ``where(*inputs)`` holds, xpgrad's result is
  ``ours`` (``"nan"``, ``"zero"``, ``"inf"``, ``"finite"``, ``"nonfinite"``, a function
  of the inputs giving the expected values, or an :class:`Analytic` reference) and
  PyTorch's differs; everywhere else the two agree;
- :class:`Matches`: xpgrad's result equals a function of PyTorch's (or an analytic
  value), and not PyTorch's own;
- :class:`TorchRaises`: PyTorch raises where xpgrad gives a documented result.

An entry that no longer describes what happens (the difference is gone, or is another
one) fails the case: the table cannot go stale.
"""
import fnmatch
from dataclasses import dataclass

import numpy as np

from .explicit_cases import REPEATED_KEY
from .harness import NOT_DIFFERENTIABLE, TOLERANCES, Error, Mismatch, compare, compare_arrays, dtype_name


@dataclass(frozen=True)
class NotDifferentiable:
    torch: str = "zero"  # what PyTorch's gradient is: "zero", or "any" array

    def describe(self):
        return "xpgrad: no gradient (the result does not require grad); PyTorch: " + (
            "a zero gradient" if self.torch == "zero" else "a gradient")

    def check(self, case, component, ours, theirs):
        if component == "jvp":  # the tangent of a constant is zero; PyTorch refuses forward mode
            if isinstance(ours, Error) or any(np.any(o != 0) for o in ours):
                raise Mismatch(f"jvp: documented as a zero tangent, xpgrad gives {ours!r}")
            if self.torch == "refuses" and not isinstance(theirs, Error):
                raise Mismatch(f"jvp: documented that PyTorch refuses forward mode, it gives {theirs!r}")
            if self.torch != "refuses" and isinstance(theirs, Error):
                raise Mismatch(f"jvp: documented that PyTorch gives a tangent, it gives {theirs!r}")
            return
        if ours is not NOT_DIFFERENTIABLE:
            raise Mismatch(f"{component}: documented as not differentiable, but xpgrad gives {ours!r}")
        if isinstance(theirs, (Error,)) or theirs is NOT_DIFFERENTIABLE:
            raise Mismatch(f"{component}: documented that PyTorch gives a gradient, it gives {theirs!r}")
        if self.torch == "zero" and any(np.any(t != 0) for t in theirs):
            raise Mismatch(f"{component}: documented that PyTorch's gradient is zero, it is {theirs!r}")


@dataclass(frozen=True)
class Analytic:
    """Expected values that depend on the case's weights as well as its inputs:
    ``expected(case, component)`` returns one array per result (only the elements an
    :class:`At` entry covers are read)."""

    expected: object


@dataclass(frozen=True)
class At:
    where: object  # where(*inputs) -> bool array, broadcast against each result (or a tuple: one per result)
    ours: object  # "nan", "zero", "inf", "finite", "nonfinite", f(*inputs) or Analytic
    text: str = ""
    results: tuple = None  # the indices of the results (gradients) it covers; None: all

    def describe(self):
        return self.text

    def mask(self, case, shape, i=0):
        if self.results is not None and i not in self.results:
            return np.zeros(shape, dtype=bool)
        m = self.where(*case.arrays())
        m = np.asarray(m[i] if isinstance(m, tuple) else m, dtype=bool)
        return np.broadcast_to(m, shape) if m.shape != shape else m

    def satisfied(self, case, component, i, o):
        if isinstance(self.ours, Analytic) or callable(self.ours):
            if isinstance(self.ours, Analytic):
                expected = self.ours.expected(case, component)[i]
            else:
                expected = self.ours(*case.arrays())
            expected = np.broadcast_to(np.asarray(expected), o.shape)
            rtol = TOLERANCES[dtype_name(o.dtype)][0] if o.dtype.kind in "fc" else 0
            with np.errstate(all="ignore"):
                return np.isclose(o, expected, rtol=rtol, atol=0, equal_nan=True) | (o == expected)
        return {
            "nan": lambda: np.isnan(o),
            "zero": lambda: o == 0,
            "inf": lambda: np.isinf(o.real) | np.isinf(o.imag),
            "finite": lambda: np.isfinite(o),
            "nonfinite": lambda: ~np.isfinite(o),
        }[self.ours]()


@dataclass(frozen=True)
class Matches:
    expected: object  # expected(case, component, theirs) -> list of arrays
    text: str = ""

    def describe(self):
        return self.text

    def check(self, case, component, ours, theirs):
        if isinstance(ours, Error) or ours is NOT_DIFFERENTIABLE:
            raise Mismatch(f"{component}: xpgrad gives {ours!r}")
        expected = self.expected(case, component, theirs)
        compare(component, ours, expected, case.rtol, case.atol)
        try:
            compare(component, ours, theirs, case.rtol, case.atol)
        except Mismatch:
            return
        raise Mismatch(f"{component}: documented difference from PyTorch no longer occurs: "
                       "remove its entry from DIFFERENCES")


@dataclass(frozen=True)
class TorchRaises:
    """PyTorch raises; xpgrad's result is ``ours`` ("nan") everywhere."""

    ours: str = "nan"
    text: str = ""

    def describe(self):
        return self.text

    def check(self, case, component, ours, theirs):
        if not isinstance(theirs, Error):
            raise Mismatch(f"{component}: documented that PyTorch raises, it gives {theirs!r}: "
                           "remove its entry from DIFFERENCES")
        if isinstance(ours, Error) or ours is NOT_DIFFERENTIABLE:
            raise Mismatch(f"{component}: xpgrad gives {ours!r}")
        if self.ours == "nan" and not all(np.all(np.isnan(o)) for o in ours):
            raise Mismatch(f"{component}: documented as NaN, xpgrad gives {ours!r}")


@dataclass(frozen=True)
class Difference:
    cases: tuple  # fnmatch patterns over case ids
    components: tuple
    kind: str
    reason: str
    what: object  # NotDifferentiable, At or Matches

    def applies(self, case_id, component):
        return component in self.components and any(fnmatch.fnmatchcase(case_id, p) for p in self.cases)


def check_component(case, component, ours, theirs, entries):
    """Compare one component under the entries that apply to it (none: plain equality)."""
    whole = [e for e in entries if not isinstance(e.what, At)]
    at = [e for e in entries if isinstance(e.what, At)]
    for e in whole:
        e.what.check(case, component, ours, theirs)
    if whole:
        return
    if not at:
        compare(component, ours, theirs, case.rtol, case.atol)
        return
    if isinstance(ours, Error) or isinstance(theirs, Error) or NOT_DIFFERENTIABLE in (ours, theirs):
        raise Mismatch(f"{component}: ours {ours!r}, torch {theirs!r}")
    differs = False
    for i, (o, t) in enumerate(zip(ours, theirs)):
        o, t = np.asarray(o), np.asarray(t)
        covered = np.zeros(o.shape, dtype=bool)
        for e in at:
            m = e.what.mask(case, o.shape, i)
            ok = e.what.satisfied(case, component, i, o)
            if np.any(m & ~ok):
                where = np.argwhere(m & ~ok)[:5].tolist()
                raise Mismatch(f"{component}[{i}]: at {where} xpgrad gives {o[m & ~ok][:5]}, not the documented "
                               f"{e.what.ours if isinstance(e.what.ours, str) else 'values'} ({e.kind})")
            covered |= m
        same_o, same_t = np.where(covered, 0, o), np.where(covered, 0, t)
        compare_arrays(same_o, same_t, case.rtol, case.atol, what=f"{component}[{i}] (outside the documented elements)")
        with np.errstate(all="ignore"):
            for po, pt in ((o.real, t.real), (o.imag, t.imag)):
                agree = (po == pt) | (np.isnan(po) & np.isnan(pt)) | np.isclose(po, pt, rtol=1e-7, atol=0)
                differs |= bool(np.any(covered & ~agree))
    if not differs:
        raise Mismatch(f"{component}: documented difference from PyTorch no longer occurs: "
                       "remove its entry from DIFFERENCES")


def entries_for(case_id, component):
    return [e for e in DIFFERENCES if e.applies(case_id, component)]


# ---------------------------------------------------------------------- helpers


def _lower_fold(case, component, theirs):
    """PyTorch's symmetric gradient ``G`` of a function of a symmetric matrix, as the
    gradient of the same function of the lower triangle: ``tril(G + G^H, -1) + Re(diag G)``."""
    out = []
    for g in theirs:
        low = np.tril(g + np.conj(np.swapaxes(g, -1, -2)), -1)
        diag = np.real(np.diagonal(g, axis1=-2, axis2=-1))
        out.append((low + diag[..., None] * np.eye(g.shape[-1])).astype(g.dtype))
    return out


def _tangents(case):
    from .harness import _weights

    return _weights(case.id, "tangent", case.arrays())


def _cotangent(case, outputs):
    from .harness import _weights

    return _weights(case.id, "cotangent", outputs)


def _second(case):
    from .harness import _weights

    return _weights(case.id, "second", case.arrays())


def _det_1x1_jvp(case, component, theirs):
    """d det([[a]]) = da: the tangent itself."""
    return [_tangents(case)[0][..., 0, 0]]


def _sym(m):
    return (m + np.swapaxes(m, -1, -2)) / 2


def _trace_cube_grad2(case, component, theirs):
    """The second derivative of sum(eig(S)^3) = trace(S^3), S = (x + x^T) / 2, weighted
    by w0 and v: 3 w0 sym(v S + S v)."""
    (x,) = case.arrays()
    s = _sym(x)
    (w0,) = _cotangent(case, [np.zeros(())])
    (v,) = _second(case)
    return [(3 * w0 * _sym(v @ s + s @ v)).astype(x.dtype)]


def _singular_cube_grad2(case, component, theirs):
    """The second derivative of sum(svdvals(Q)^3) at an orthogonal Q: the gradient is
    3 A (A^T A)^(1/2), whose derivative at Q gives w0 (4.5 v + 1.5 Q v^T Q)."""
    (q,) = case.arrays()
    (w0,) = _cotangent(case, [np.zeros(())])
    (v,) = _second(case)
    return [w0 * (4.5 * v + 1.5 * q @ v.T @ q)]


def _projector_grad(case, component, theirs):
    """The gradient of <W, V diag(1, 1, 3) V^T> = <W, I + 2 P>, P the projector on the
    eigenvector of the simple eigenvalue 2 of S = sym(x) (eigenvalues 1, 1, 2):
    dP = R dS P + P dS R with R = (2 I - S)^+ = I - P, so the gradient is
    2 sym(R W P + P W R) (W symmetrised)."""
    (x,) = case.arrays()
    w, vecs = np.linalg.eigh(_sym(x))
    p = np.outer(vecs[:, -1], vecs[:, -1].conj())
    r = np.eye(3) - p
    (wt,) = _cotangent(case, [np.zeros((3, 3), dtype=x.dtype)])
    wt = _sym(wt)
    return [(2 * _sym(r @ wt @ p + p @ wt @ r)).astype(x.dtype)]


def _scaled_norm(case, component, theirs):
    """The 2-norm of x, its gradient ``w u`` (``u = x / ||x||``), its Hessian applied to
    v, ``w (v - u (u . v)) / ||x||``, and its tangent ``u . t``, computed without squaring
    x (which underflows at 1e-300 and overflows at 1e300)."""
    (x,) = case.arrays()
    scale = np.max(np.abs(x))
    norm = scale * np.sqrt(np.sum((x / scale) ** 2))
    u = x / norm
    if component == "value":
        return [np.asarray(norm)]
    if component == "jvp":
        return [np.asarray(np.dot(u, _tangents(case)[0]))]
    (w0,) = _cotangent(case, [np.zeros(())])
    if component == "grad":
        return [w0 * u]
    (v,) = _second(case)
    return [w0 * (v - u * np.dot(u, v)) / norm]


def _output_like(*inputs):
    """Zeros shaped and typed as an elementwise result of ``inputs`` (for its weights)."""
    return np.zeros(np.broadcast_shapes(*(a.shape for a in inputs)), dtype=np.result_type(*inputs))


def _pow_zero_base_grad2(case, component):
    """The second derivative of ``sum(w * x1 ** x2)`` weighted by ``v`` at ``x1 = +-0``,
    ``x2 >= 0`` (real), as the derivatives of pow's conventions: ``d/dx1`` is 0 where
    ``x2 == 0`` (``x1 ** 0`` is 1), ``d/dx2`` is 0 where ``x1 == 0`` and ``x2 >= 0``
    (the limit of ``x1 ** x2 log x1``), held there. So ``d/dx2`` contributes nothing,
    and the derivatives of ``x2 x1 ** (x2 - 1)`` are, in ``x1``,
    ``x2 (x2 - 1) x1 ** (x2 - 2)`` (0 at ``x2`` 0 and 1) and, in ``x2``,
    ``x1 ** (x2 - 1) + x2 x1 ** (x2 - 1) log x1`` (the second term 0 where ``x2 >= 1``;
    0 at ``x2 == 0``)."""
    x1, x2 = case.arrays()
    (w,) = _cotangent(case, [_output_like(x1, x2)])
    v1, _ = _second(case)
    with np.errstate(all="ignore"):
        d11 = np.where((x2 == 0) | (x2 == 1), 0.0, x2 * ((x2 - 1) * x1 ** (x2 - 2)))
        d12 = np.where(x2 == 0, 0.0, x1 ** (x2 - 1) + x2 * np.where(x2 >= 1, 0.0, x1 ** (x2 - 1) * np.log(x1)))
        return [(w * v1 * d11).astype(x1.dtype), (w * v1 * d12).astype(x1.dtype)]


def _pow_subnormal_base_grad2(case, component):
    """The second derivative at ``x2 == 0`` and a subnormal ``x1``, where ``d/dx1`` is
    held at 0 (``x2 x1 ** -1`` would be ``0 * inf``): only ``d/dx2 = out log x1`` (out = 1)
    moves, ``d/dx1`` of it is ``1 / x1`` and ``d/dx2`` of it ``log(x1) ** 2``."""
    x1, x2 = case.arrays()
    (w,) = _cotangent(case, [_output_like(x1, x2)])
    _, v2 = _second(case)
    with np.errstate(all="ignore"):
        return [(w * v2 / x1).astype(x1.dtype), (w * v2 * np.log(x1) ** 2).astype(x1.dtype)]


def _pow_complex_zero_base(case, component):
    """Complex ``0 ** 0`` and ``0 ** 1`` (the elements an entry covers): ``z ** 1`` has
    derivative 1 in ``z``, ``z ** 0`` derivative 0, and ``d/dx2`` is held at 0 at a zero
    base; the second derivative in ``x2`` of ``sum(Re(conj(w) x1 ** x2))``'s gradient
    ``w conj(x2 x1 ** (x2 - 1))``, weighted by ``v1``, is ``conj(v1) w`` at ``0 ** 1``
    (``d/dx2 (x2 0 ** (x2 - 1)) = 0 ** 0 = 1``)."""
    x1, x2 = case.arrays()
    one = x2 == 1
    zero = np.zeros(x1.shape, dtype=x1.dtype)
    if component == "jvp":
        t1, _ = _tangents(case)
        return [np.where(one, t1, zero)]
    (w,) = _cotangent(case, [_output_like(x1, x2)])
    if component == "grad":
        return [np.where(one, w, zero), zero]
    v1, _ = _second(case)
    return [zero, np.where(one, np.conj(v1) * w, zero)]


def _overwritten(key):
    """Where a value written through ``key`` is overwritten by a later write to its
    position (integer-array assignment keeps the last)."""
    key = np.asarray(key)
    return np.array([np.any(key[i + 1:] == k) for i, k in enumerate(key)])


def _finite_others(x):
    """Where the product of the other elements of the row (last axis) is finite."""
    out = np.zeros(x.shape, dtype=bool)
    for i in range(x.shape[-1]):
        out[..., i] = np.isfinite(np.prod(np.delete(x, i, axis=-1), axis=-1))
    return out


def _either_nan(x1, x2):
    return np.isnan(x1) | np.isnan(x2)


def _origin(x1, x2):
    return (x1 == 0) & (x2 == 0)


def _subnormal(x):
    return (x != 0) & (np.abs(x) < np.finfo(x.dtype).tiny)


def _floor_of_quotient(x1, x2):
    with np.errstate(all="ignore"):
        return np.floor(x1 / x2)


# ---------------------------------------------------------------------- the table

DIFFERENCES = [
    Difference(("floor/*", "ceil/*", "round/*", "trunc/*"), ("grad", "grad2"), "not differentiable",
               "Rounding is piecewise constant; xpgrad declares it not differentiable, so its result "
               "is a constant, which gives the same gradient through every other path.",
               NotDifferentiable("zero")),
    Difference(("sign/*/float64", "sign/*/float32", "slogdet_sign/*"), ("grad", "grad2"), "not differentiable",
               "The sign of a real number (of a real determinant) is piecewise constant.",
               NotDifferentiable("zero")),
    Difference(("nextafter/*",), ("grad", "grad2", "jvp"), "not differentiable",
               "The next representable number is a step function of both arguments; PyTorch passes "
               "the gradient through to x1.",
               NotDifferentiable("any")),
    Difference(("cholesky/lower-triangle/*", "eigh_eigenvalues/lower-triangle/*",
                "eigh_eigenvectors/lower-triangle/*", "eigvalsh/lower-triangle/*"), ("grad", "grad2"),
               "triangle read",
               "eigh, eigvalsh and cholesky read the lower triangle only, as the libraries do; xpgrad "
               "differentiates that function (the upper triangle gets zero, the lower the sum of both "
               "mirrored entries) where PyTorch returns the symmetric gradient of the symmetric matrix.",
               Matches(_lower_fold, "xpgrad = tril(G + G^H, -1) + Re(diag G), G PyTorch's gradient")),
    Difference(("prod/special/float64",), ("grad",), "exact with non-finite elements",
               "prod's gradient is the product of the other elements, computed without dividing: "
               "finite for an infinite element among finite ones, where PyTorch's divides and gives NaN.",
               At(lambda x: _finite_others(x) & ~np.all(np.isfinite(x) & (np.abs(x) < 1e100), axis=-1, keepdims=True),
                  "finite", "xpgrad finite; PyTorch -inf or NaN")),
    Difference(("floor_divide/*",), ("jvp",), "not differentiable",
               "floor_divide is piecewise constant: xpgrad's forward mode gives it a zero tangent, "
               "where PyTorch refuses forward mode for it.",
               NotDifferentiable("refuses")),
    # ----- subgradients at the points where the derivative is 0/0
    Difference(("hypot/special/*",), ("grad", "grad2", "jvp"), "subgradient",
               "At the origin the derivative of hypot is 0/0; xpgrad takes the subgradient 0 (and the "
               "second derivative 0), where PyTorch gives NaN.",
               At(_origin, "zero", "xpgrad 0 at (0, 0); PyTorch NaN")),
    Difference(("atan2/special/*",), ("jvp",), "subgradient",
               "Where x1^2 + x2^2 is 0 (the origin, and subnormal pairs whose squares underflow) "
               "atan2's derivative is 0/0; xpgrad's forward mode takes the subgradient 0, as both "
               "libraries' reverse modes do at the origin, where PyTorch's forward mode gives NaN or +-inf.",
               At(lambda x1, x2: (x1 * x1 + x2 * x2 == 0), "zero", "xpgrad 0; PyTorch NaN or +-inf")),
    Difference(("atan2/special/*",), ("grad2",), "subgradient",
               "Where x1^2 + x2^2 is 0 (the origin, and subnormal pairs whose squares underflow) "
               "atan2's second derivative is taken as 0, the derivative of the subgradient; PyTorch "
               "gives NaN.",
               At(lambda x1, x2: (x1 * x1 + x2 * x2 == 0), "zero", "xpgrad 0; PyTorch NaN")),
    Difference(("copysign/special/*",), ("grad2",), "subgradient",
               "copysign's derivative in x1 is +-1, and 0 at x1 == 0 (abs's subgradient); its second "
               "derivative is 0 everywhere, where PyTorch's is NaN at zero, subnormal and "
               "non-finite x1.",
               At(lambda x1, x2: np.ones(x1.shape, dtype=bool), "zero", "xpgrad 0 everywhere; PyTorch NaN at some")),
    Difference(("sgn/special/complex128",), ("grad2",), "subgradient",
               "The complex sign z / |z| has gradient 0 at z = 0 (the subgradient, as PyTorch's sgn); "
               "its second derivative there is 0, the derivative of that subgradient, where PyTorch's "
               "is NaN.",
               At(lambda z: z == 0, "zero", "xpgrad 0 at 0; PyTorch NaN")),
    Difference(("vector_norm/ord=2-zeros/float64",), ("grad2",), "subgradient",
               "The 2-norm's gradient at the zero vector is the subgradient 0; its second derivative "
               "there is 0, where PyTorch's is NaN.",
               At(lambda x: np.all(x == 0, axis=-1, keepdims=True), "zero", "xpgrad 0 at a zero row; PyTorch NaN")),
    # ----- exact where PyTorch's formula loses the value
    Difference(("hypot/special/*",), ("grad", "jvp"), "exact with subnormals",
               "hypot's derivative x / hypot(x, y) is computed as a ratio of like magnitudes; PyTorch "
               "multiplies by a subnormal first and rounds the derivative to 0, 1 or 2.",
               At(lambda x1, x2: (~_origin(x1, x2) & (_subnormal(x1) | _subnormal(x2))
                                  & np.isfinite(x1) & np.isfinite(x2)),
                  "finite", "xpgrad the derivative; PyTorch a rounded one (or NaN)")),
    Difference(("hypot/special/*",), ("grad2",), "subnormal second derivative",
               "hypot's second derivative y^2 / hypot^3 at subnormal arguments is 0/0 in floating "
               "point: xpgrad gives NaN, PyTorch +-inf.",
               At(lambda x1, x2: ~_origin(x1, x2) & (np.abs(x1) < np.finfo(x1.dtype).tiny)
                  & (np.abs(x2) < np.finfo(x2.dtype).tiny), "nan", "xpgrad NaN; PyTorch +-inf")),
    Difference(("copysign/special/*",), ("grad", "jvp"), "exact at infinity",
               "copysign's derivative in x1 is +-1 also at x1 = +-inf and NaN; PyTorch computes it as "
               "x1 / |x1| and gives NaN there.",
               At(lambda x1, x2: ~np.isfinite(x1), "finite", "xpgrad +-1 times the cotangent; PyTorch NaN")),
    Difference(("det/1x1-zero/float64",), ("jvp",), "exact at singular matrices",
               "det's JVP is the cofactor contraction, exact at singular matrices; PyTorch's forward "
               "mode gives 0 for det([[0.]]) whose derivative is 1.",
               Matches(_det_1x1_jvp, "xpgrad = the tangent (d det([[a]]) = da); PyTorch 0")),
    Difference(("eigh_eigenvectors/repeated/*",), ("grad",), "repeated eigenvalues",
               "At repeated eigenvalues the eigenvector rules drop their 1/gap terms (the gap is 0); a "
               "function that does not tell the repeated eigenvectors apart then has its true gradient. "
               "PyTorch divides by the rounding-level gap and returns large wrong values.",
               Matches(_projector_grad, "xpgrad = the analytic gradient 2 sym(R W P + P W R)")),
    Difference(("setitem/integer-array-repeated/*",), ("grad",), "overwritten value",
               "Assignment through an integer array that names a position twice keeps the value "
               "written last (as NumPy and PyTorch do); the value written first does not reach the "
               "result, and xpgrad gives it gradient 0. PyTorch's index_put gives every value "
               "written to a position the cotangent there, the overwritten ones too.",
               At(lambda x, v: _overwritten(REPEATED_KEY), "zero", "xpgrad 0 for the overwritten value; "
                  "PyTorch the cotangent at its position", results=(1,))),
    # ----- NaN and out-of-domain conventions
    Difference(("abs/special/float*",), ("grad", "jvp"), "NaN propagates",
               "abs's gradient at NaN is NaN (sign(NaN)); PyTorch gives 0.",
               At(lambda x: np.isnan(x), "nan", "xpgrad NaN; PyTorch 0")),
    Difference(("maximum/special/*", "minimum/special/*"), ("grad", "jvp"), "NaN operand",
               "Where either operand is NaN the result is NaN and xpgrad passes no gradient to either "
               "(neither is the maximum); PyTorch passes it to both.",
               At(_either_nan, "zero", "xpgrad 0; PyTorch the cotangent")),
    Difference(("acosh/special/float*",), ("grad", "jvp"), "outside the domain",
               "acosh is NaN below 1; so is xpgrad's derivative there, where PyTorch's formula "
               "1 / sqrt(x^2 - 1) gives a finite number.",
               At(lambda x: x < 1, "nan", "xpgrad NaN; PyTorch finite")),
    Difference(("acosh/special/float*",), ("grad2",), "outside the domain",
               "acosh's second derivative is NaN below 1 and at 1, where PyTorch gives a finite "
               "number below 1 and -inf at 1.",
               At(lambda x: x <= 1, "nan", "xpgrad NaN; PyTorch finite or -inf")),
    Difference(("asin/special/complex128", "acos/special/complex128", "acosh/special/complex128"),
               ("grad", "jvp"), "branch point",
               "At the branch points +-1 the derivative is infinite; xpgrad gives complex infinity, "
               "PyTorch NaN.",
               At(lambda z: (z.imag == 0) & (np.abs(z.real) == 1), "inf", "xpgrad infinite; PyTorch NaN")),
    Difference(("asinh/special/complex128",), ("grad", "jvp"), "branch point",
               "At the branch points +-i the derivative of asinh is infinite; xpgrad gives complex "
               "infinity, PyTorch NaN.",
               At(lambda z: (z.real == 0) & (np.abs(z.imag) == 1), "inf", "xpgrad infinite; PyTorch NaN")),
    # ----- the standard's values where PyTorch's (NumPy's) differ
    Difference(("floor_divide/special/*",), ("value",), "the standard's value",
               "floor_divide with an infinite operand is the standard's floor(x1 / x2) (its special cases, "
               "2025.12): +-inf for an infinite x1 and a finite x2, +-0 for a finite x1 and an infinite x2. "
               "PyTorch, as NumPy, pairs // with % there: inf // 2 is NaN, -1 // inf is -1.",
               At(lambda x1, x2: np.isinf(x1) | np.isinf(x2), _floor_of_quotient,
                  "xpgrad floor(x1 / x2); PyTorch NaN for an infinite x1, -1 for -1 // inf")),
    # ----- NumPy's values where PyTorch's differ
    Difference(("remainder/special/*",), ("value",), "NumPy's value",
               "The forward is the backend's (NumPy's) remainder: x % y for a subnormal y is 0, "
               "where PyTorch's is NaN.",
               At(lambda x1, x2: _subnormal(x2) & np.isfinite(x1), lambda x1, x2: np.remainder(x1, x2),
                  "xpgrad NumPy's remainder; PyTorch NaN")),
    Difference(("reciprocal/special/complex128",), ("value",), "NumPy's value",
               "The forward is NumPy's: 1 / (0 + 0j) is nan + nanj, where PyTorch's is inf + nanj.",
               At(lambda z: z == 0, lambda z: np.reciprocal(z), "xpgrad NumPy's 1 / z")),
    Difference(("multiply/special/complex128",), ("value",), "NumPy's value",
               "The forward is NumPy's complex multiply, which differs from PyTorch's where a product "
               "of parts overflows.",
               At(lambda a, b: (np.abs(a) > 1e100) | (np.abs(b) > 1e100), lambda a, b: a * b,
                  "xpgrad NumPy's a * b")),
    Difference(("logaddexp/special/*", "logaddexp/inf/*"), ("grad2",), "exact with overflow",
               "logaddexp's second derivative is sigmoid(d) sigmoid(-d), d = x1 - x2, computed from "
               "exponentials of non-positive numbers: 0 where |d| is beyond exp's range or infinite "
               "(one argument infinite, or the two far apart); PyTorch's exp(x - out) overflows or "
               "makes inf - inf there, and gives NaN.",
               At(lambda x1, x2: ~np.isnan(x1 - x2) & (np.abs(x1 - x2) > np.log(np.finfo(x1.dtype).max)),
                  "zero", "xpgrad 0; PyTorch NaN")),
    Difference(("vector_norm/ord=0.5-zeros/float64", "vector_norm/ord=-1-zeros/float64"), ("grad2",), "subgradient",
               "For ord < 1 the gradient is 0 at a zero entry (|x|^(ord-1) is infinite there), and so is "
               "the second derivative there, the derivative of that subgradient (at the zero vector, "
               "and for ord < 0 wherever a zero entry makes the norm 0, the gradient is 0 for every "
               "entry, held); PyTorch's second derivative is NaN there.",
               At(lambda x: x == 0, "zero", "xpgrad 0 at the zero entries; PyTorch NaN")),
    Difference(("pow/special/float*", "pow/zero-base/float64"), ("grad2",), "0 ** x2",
               "At x1 = 0, x2 >= 0 the first derivatives are pow's conventions (d/dx2 is 0, and d/dx1 "
               "is 0 at 0 ** 0, 1 at 0 ** 1); the second derivative is theirs, with d/dx2 held at 0: "
               "finite at 0 ** 0, 0 ** 1 and 0 ** 2. PyTorch differentiates the unused branch of its "
               "where (0 * inf) and gives NaN.",
               At(lambda x1, x2: (x1 == 0) & ((x2 == 0) | (x2 >= np.finfo(x2.dtype).tiny)),
                  Analytic(_pow_zero_base_grad2),
                  "xpgrad the derivatives of the conventions (held d/dx2 = 0); PyTorch NaN")),
    Difference(("pow/special/float*",), ("grad2",), "0 ** x2",
               "At x1 = 0 and a subnormal x2 > 0 the second derivative in x1 is x2 (x2 - 1) 0 ** (x2 - 2) "
               "= -inf times the weights: xpgrad gives that, or NaN where the cotangent times the subnormal "
               "x2 underflows to 0 before it meets the infinite factor; PyTorch NaN.",
               At(lambda x1, x2: (x1 == 0) & (x2 > 0) & (x2 < np.finfo(x2.dtype).tiny), "nonfinite",
                  "xpgrad -inf or NaN in x1's; PyTorch NaN", results=(0,))),
    Difference(("pow/special/float*",), ("grad2",), "0 ** x2",
               "At x2 = 0 and a positive subnormal x1, d/dx1 = x2 x1 ** (x2 - 1) is 0 * inf: it is held at 0 "
               "(x1 ** 0 is 1), so the second derivative is that of d/dx2 = log(x1) alone: 1 / x1 "
               "(overflowing to +-inf) and log(x1) ** 2. PyTorch gives NaN.",
               At(lambda x1, x2: (x2 == 0) & (x1 > 0) & (x1 < np.finfo(x1.dtype).tiny),
                  Analytic(_pow_subnormal_base_grad2),
                  "xpgrad 1 / x1 and log(x1) ** 2 times the weights; PyTorch NaN")),
    Difference(("pow/special/float*",), ("grad2",), "NaN propagates",
               "At x2 = 0 with x1 < 0 (log(x1) is NaN) or x1 = inf (log(x1) is inf), the second "
               "derivative through d/dx2 = out log(x1) multiplies that NaN or inf by the derivative 0 "
               "of x1 ** 0: NaN. PyTorch's where(x2 == 0, 0, ...) discards the cotangent first and "
               "gives a number, the same where that drops the mixed derivative d/dx2 (x2 x1 ** (x2 - 1)) "
               "= 1 / x1 at every x2 = 0, which xpgrad keeps.",
               At(lambda x1, x2: (x2 == 0) & ((x1 < 0) | (x1 == np.inf)), "nan", "xpgrad NaN; PyTorch finite")),
    Difference(("pow/special/complex128",), ("value",), "NumPy's value",
               "The forward is NumPy's complex power: 0 ** 0 is 1 and 0 ** x2 for a negative real x2 "
               "is nan + nanj, where PyTorch's are nan + nanj and inf + nanj.",
               At(lambda x1, x2: x1 == 0, lambda x1, x2: np.power(x1, x2), "xpgrad NumPy's x1 ** x2")),
    Difference(("pow/special/complex128",), ("grad", "grad2", "jvp"), "0 ** x2",
               "Complex z ** 1 has derivative 1 in z and z ** 0 derivative 0, at z = 0 too (the "
               "derivative in x2 is held at 0 at a zero base, as for real input); PyTorch's complex "
               "pow differentiates through exp(x2 log z) and gives NaN at z = 0.",
               At(lambda x1, x2: (x1 == 0) & ((x2 == 0) | (x2 == 1)), Analytic(_pow_complex_zero_base),
                  "xpgrad the derivatives of z ** 1 and z ** 0; PyTorch NaN")),
    Difference(("pow/special/complex128",), ("grad", "jvp"), "NumPy's value",
               "The derivative x2 z ** (x2 - 1) is NumPy's complex power, which overflows to "
               "nan + nanj for z ** -3 at |z| ~ 1e150 (the true value underflows to 0); PyTorch's is 0.",
               At(lambda x1, x2: (np.abs(x1) > 1e100) & (x2.imag == 0) & (x2.real <= -2), "nan",
                  "xpgrad NaN in x1's; PyTorch 0", results=(0,))),
    Difference(("pow/special/complex128",), ("grad2",), "NumPy's value",
               "The second derivatives x2 (x2 - 1) z ** (x2 - 2) and z ** (x2 - 1) (1 + x2 log z) are "
               "NumPy's complex powers, which overflow to nan + nanj for z ** -3 at |z| ~ 1e150 where "
               "the true value underflows to 0; PyTorch's are 0.",
               At(lambda x1, x2: ((np.abs(x1) > 1e100) & (x2.imag == 0) & (x2.real <= -1),
                                  (np.abs(x1) > 1e100) & (x2.imag == 0) & (x2.real <= -2)), "nan",
                  "xpgrad NaN; PyTorch 0")),
    Difference(("divide/special/float*",), ("jvp",), "pole",
               "Where 1 / x2 overflows (x2 = 0 or subnormal) the partial tangents t1 / x2 and "
               "-(t2 out) / x2 are infinite: xpgrad sums them, NaN where their signs differ; PyTorch "
               "forms (t1 - t2 out) / x2, one infinity. The quotient has a pole there, and neither "
               "is a derivative.",
               At(lambda x1, x2: np.isinf(np.reciprocal(x2)), "nonfinite", "xpgrad NaN or +-inf; PyTorch +-inf")),
    Difference(("divide/special/complex128",), ("grad2", "jvp"), "pole",
               "At x2 = 0 the quotient is a complex infinity (or NaN) and has no derivative; xpgrad's "
               "tangents and second derivatives there are not finite, with an infinite part where "
               "PyTorch's are nan + nanj (which part comes out infinite depends on the order of the "
               "arithmetic).",
               At(lambda x1, x2: x2 == 0, "nonfinite", "xpgrad an infinite or NaN part; PyTorch nan + nanj")),
    Difference(("slogdet_logabsdet/singular/float64",), ("grad",), "singular input",
               "log|det| is -inf at a singular matrix, and its derivative A^-T has no value there "
               "(+-inf along different directions): xpgrad gives NaN, PyTorch +-inf.",
               At(lambda x: np.ones(x.shape, dtype=bool), "nan", "xpgrad NaN; PyTorch +-inf")),
    Difference(("slogdet_logabsdet/singular/float64",), ("grad2",), "singular input",
               "The second derivative of log|det| at a singular matrix: xpgrad NaN, where PyTorch's "
               "solve raises.",
               TorchRaises("nan", "xpgrad NaN; PyTorch raises (the solver meets a singular matrix)")),
    Difference(("qr_q/rank-deficient/float64", "qr_r/rank-deficient/float64"), ("grad",), "singular input",
               "QR is not differentiable where R has a zero on its diagonal (Q's column there is not "
               "determined): xpgrad's gradients are NaN in the columns that depend on it; PyTorch's are "
               "NaN, +-inf and finite values.",
               At(lambda x: np.ones(x.shape, dtype=bool), "nan", "xpgrad NaN; PyTorch NaN, +-inf or finite")),
    Difference(("qr_q/rank-deficient/float64",), ("jvp",), "singular input",
               "Q's tangent where R has a zero on its diagonal: xpgrad NaN in every column, PyTorch "
               "finite values in the columns before that zero.",
               At(lambda x: np.ones(x.shape, dtype=bool), "nan", "xpgrad NaN; PyTorch NaN or finite")),
    # ----- where PyTorch is inaccurate: the analytic value is the reference
    Difference(("eigh_eigenvalues/repeated-symmetric-function/*", "eigvalsh/repeated-symmetric-function/*"),
               ("grad2",), "PyTorch inaccurate",
               "The second derivative of sum(eigenvalues^3) = trace(S^3) at repeated eigenvalues is "
               "3 sym(v S + S v); PyTorch's differs in the third digit (its 1/gap terms at a "
               "rounding-level gap). xpgrad is checked against the analytic value.",
               Matches(_trace_cube_grad2, "xpgrad = the analytic 3 w sym(v S + S v)")),
    Difference(("svd_s/repeated-symmetric-function/*", "svdvals/repeated-symmetric-function/*"), ("grad2",),
               "PyTorch inaccurate",
               "The second derivative of sum(svdvals^3) at an orthogonal matrix (all singular values "
               "1) is w (4.5 v + 1.5 Q v^T Q); PyTorch's differs in the second digit.",
               Matches(_singular_cube_grad2, "xpgrad = the analytic w (4.5 v + 1.5 Q v^T Q)")),
    Difference(("vector_norm/tiny/float64",), ("grad", "grad2", "jvp"), "PyTorch inaccurate",
               "xpgrad's p-norms divide x by a power of two near its largest magnitude and multiply "
               "the norm by it, so x * x does not underflow at 1e-300: the norm (3e-300, within the "
               "oracle's absolute tolerance of PyTorch's 0), its gradient x / ||x||, its Hessian "
               "(I - u u^T) / ||x|| (~1e300) and its tangent are the exact ones. PyTorch's (and "
               "NumPy's) square x: the norm is 0, its gradient 0, its Hessian NaN. xpgrad is checked "
               "against the analytic values.",
               Matches(_scaled_norm, "xpgrad = the analytic w u, w (v - u (u . v)) / ||x||, u . t")),
    Difference(("vector_norm/huge/float64",), ("value", "grad", "jvp"), "PyTorch inaccurate",
               "Scaled the same way, x * x does not overflow at 1e300: the norm is 1.4e300 and its "
               "gradient x / ||x||, where PyTorch's (and NumPy's) norm is inf and its gradient 0. xpgrad "
               "is checked against the analytic values.",
               Matches(_scaled_norm, "xpgrad = the analytic ||x||, w u, u . t")),
]


# ---------------------------------------------------------------------- programs
# Differences that are not one op's, but a program's: views and in-place writes. Each
# names the tests that assert it, on xpgrad's side and PyTorch's
# (``test_program_differences_are_asserted`` checks that those tests exist).


@dataclass(frozen=True)
class ProgramDifference:
    program: str
    torch: str
    ours: str
    reason: str
    tests: tuple  # "module.py::test_name" under tests/


PROGRAM_DIFFERENCES = (
    ProgramDifference(
        "`t[i] = f(t[i], y)` where `f` saved `t[i]`, as array-api-extra's `at(t, i).max(y)` writes",
        "raises at backward (a saved tensor was modified in place)",
        "the exact gradient",
        "Before the assignment, the node that computed the value gets a copy of what it saved "
        "from the memory being overwritten (views.keep_saved): code written for the array API "
        "does this, and the copy is of the region only.",
        ("test_views.py::test_a_write_through_a_view_against_pytorch",
         "test_views.py::test_gradient_of_a_write_through_a_view",
         "test_third_party.py::test_third_party_gradient")),
    ProgramDifference(
        "a write into an output its own node saved: `e = exp(x); e += 1`, scikit-learn's "
        "StandardScaler into `sqrt(var)`, its PCA(covariance_eigh) through a view into `eigh`'s "
        "eigenvectors",
        "raises at backward",
        "the exact gradient",
        "Before the first such write the node gets a copy of its output (views.keep_output): one "
        "copy, once, and common array-API code becomes differentiable.",
        ("test_views.py::test_pytorch_refuses_a_write_into_a_saved_output",
         "test_views.py::test_a_write_into_an_output_its_node_saved",
         "test_views.py::test_a_write_under_no_grad_into_a_saved_output_keeps_it_too")),
    ProgramDifference(
        "in-place writes into the pieces `unstack` returns",
        "refused (unbind's outputs are views of a multi-output function)",
        "recorded, as through any indexing view",
        "xpgrad's unstack is indexing, one view per piece, so a write through a piece is "
        "an ordinary write through a view.",
        ("test_views.py::test_writes_into_unstacked_pieces_where_pytorch_refuses",)),
    ProgramDifference(
        "a second backward into a `.grad` the user assigned over an array of their own "
        "(`x.grad = xpgrad.as_tensor(a)`)",
        "adds into it in place (the user's array changes)",
        "makes `.grad` a new Tensor holding the sum; the user's array is never written",
        "A user's data is the user's: xpgrad writes in place only into memory it allocated "
        "(an earlier backward's `.grad`, which it does add into in place, as PyTorch does).",
        ("test_engine.py::test_a_grad_the_user_assigned_over_their_own_array_is_never_written",
         "test_engine.py::test_pytorch_adds_into_a_grad_over_the_users_array",
         "test_engine.py::test_large_backward_accumulates_into_an_existing_grad")),
)
