"""Elementwise ops: every elementwise function of the array API standard (2024.12).

Where an argument's VJP is the cotangent times its elementwise derivative (``exp``,
``sin``, ``multiply``), the op declares that derivative (``derivative=``): it reads as
the derivative does (``xp.cos(x)``), and the engine computes ``g * conj(d)`` for the VJP
and ``t * d`` for the JVP, deciding where the product may be written (into a cotangent
or a derivative it owns; nothing is written where someone else may hold the array).
Where the VJP divides (``log``: ``g / x``, as PyTorch computes it, one rounding fewer
than ``g * (1 / x)``), the rule is written out. Rules are written with the array API's
operators where the standard has one: an operator costs about half a namespace call on
NumPy, and it works the same on raw arrays, on Python scalars and on Tensors (under
``create_graph``). Broadcasting is the engine's business: a rule returns the cotangent
in the broadcast shape and the engine sums it down to each argument's shape.

Complex numbers follow PyTorch's convention. For a real loss ``L`` of ``z = x + iy`` the
gradient is ``dL/dx + i dL/dy``; for a holomorphic ``f`` the VJP is therefore
``g * conj(f'(z))`` and the JVP ``t * f'(z)``. ``real``, ``imag``, ``conj`` and ``abs``
are not holomorphic and have their own rules. ``conj`` of a real array is the identity
but costs a pass over it, so the rules conjugate only complex values (``xpgrad.plugins.arrays``,
shared with the linear algebra rules).

Integer- and bool-valued functions (comparisons, ``floor``, ``ceil``, ``trunc``,
``round``, the real ``sign``, ``signbit``, ``isnan``, ``floor_divide``...) are declared
not differentiable: their results never require grad. The sign of complex numbers,
``z / |z|``, is smooth away from 0: ``xpgrad.xp.sign`` of complex input dispatches the
differentiable op ``sgn`` (PyTorch's ``sgn``, gradient 0 at 0). PyTorch instead gives ``floor``,
``ceil``, ``round`` and ``trunc`` a zero gradient; here those results are constants, which
has the same effect on any gradient that flows through other paths.

A forward is the library's function of the same name except where the libraries differ
from the standard's special cases (2025.12): real floating ``floor_divide`` with an
infinite operand, complex ``expm1`` and ``tanh`` at infinities, NaN and signed zeros, and
PyTorch's ``remainder`` with a zero result. Those forwards correct the library's result
with ``xp.where``, for those dtypes only (see "special cases" below).
"""
import cmath
import math

from xpgrad.dispatch import batched, call
from xpgrad.dtypes import KIND_BY_ID, kind_of
from xpgrad.plugins import Op, hookimpl
from xpgrad.plugins.arrays import conj as _conj
from xpgrad.plugins.arrays import is_complex as _is_complex
from xpgrad.tensor import Tensor

_SCALARS = (int, float, complex)
_REAL_SCALARS = (int, float, bool)
_LN2 = math.log(2.0)
_LN10 = math.log(10.0)


def _zeros(xp, g):
    return xp.zeros_like(g)


def _safe_ratio(xp, num, den):
    """``num / den`` where ``den != 0``, else 0: a subgradient where the derivative has a
    removable 0/0 (hypot and atan2 at the origin, abs of complex 0). The denominator is
    replaced before dividing, so no nan is made and none flows into a second derivative."""
    zero = den == 0
    return xp.where(zero, 0.0, num / xp.where(zero, 1.0, den))


# ---------------------------------------------------------------------- arithmetic


def _sigmoid(xp, x):
    # 1 / (1 + e^-x) for x >= 0 and e^x / (1 + e^x) below: e^-|x| never overflows, and
    # for very negative x the result keeps its relative precision (e^x, not 1 - 1).
    if _is_complex(x):
        return 1 / (1 + xp.exp(-x))
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e))


def _pow_base_derivative(xp, x1, x2):
    """d(x1 ** x2)/dx1, with the usual Python-scalar exponents made cheap. An array
    exponent: ``x2 * x1 ** (x2 - 1)``, which at ``x2 == 0`` is 0 wherever ``x1 ** -1``
    is finite, with the right mixed derivative ``d/dx2 = x1 ** -1``. Where it is not (a
    zero, subnormal or NaN base, ``0 * inf = nan``) the derivative is 0 (``x1 ** 0`` is
    1 for every x1; PyTorch's value), and those places take a base of 1 in the unused
    branch, so that no nan reaches a second derivative either (``x1 ** 1`` at 0
    differentiates, under ``create_graph``, through ``x1 ** 0`` at 0: its second
    derivative is 0 too)."""
    if isinstance(x2, _SCALARS):
        if x2 == 0:
            return None
        if x2 == 1:
            return 1
        if x2 == 2:
            return 2 * x1
        return x2 * x1 ** (x2 - 1)
    # not abs(x1) >= the smallest normal number: 0, subnormal or NaN
    tiny = xp.finfo(x1.dtype).smallest_normal
    held = xp.logical_and(x2 == 0, xp.logical_not(xp.abs(x1) >= tiny))
    safe = xp.where(held, xp.ones_like(x1), x1)
    return xp.where(held, 0.0, x2 * safe ** (x2 - 1))


def _pow_base(xp, g, x1, x2):
    d = _pow_base_derivative(xp, x1, x2)
    if d is None:
        return _zeros(xp, g)
    if type(d) is int:
        return g
    return g * _conj(xp, d)


def _pow_base_jvp(xp, t, x1, x2):
    d = _pow_base_derivative(xp, x1, x2)
    if d is None:
        return _zeros(xp, t)
    if type(d) is int:
        return t
    return t * d


def _pow_exponent_derivative(xp, x1, x2, out):
    """d(x1 ** x2)/dx2 = out * log(x1). Where x1 == 0 and x2 >= 0 (for complex x2: real
    and >= 0) the limit is 0, not 0 * -inf = nan (PyTorch's convention); where x2 < 0
    the value is inf and the derivative inf * -inf. A Python-scalar base is a constant.
    The unused branch takes a base of 1, so no nan reaches a second derivative."""
    if isinstance(x1, _SCALARS):
        if x1 == 0:  # 0 ** x2: 0 for x2 > 0, 1 at 0, inf below; constants, so no graph
            if _is_complex(out):
                other = xp.full_like(out, math.nan)
            else:
                other = xp.where(x2 < 0, xp.full_like(out, -math.inf), xp.full_like(out, math.nan))
            return xp.where(_nonnegative(xp, x2), xp.zeros_like(out), other)
        if type(x1) is complex:
            return out * cmath.log(x1)
        # log of a negative real base is nan, as in PyTorch (math.log would raise)
        return out * (math.log(x1) if x1 > 0 else math.nan)
    limit = xp.logical_and(x1 == 0, _nonnegative(xp, x2))
    safe = xp.where(limit, xp.ones_like(x1), x1)
    # safe ** x2 is out where it is used; not out itself, whose derivative in x1 is
    # infinite at 0 ** x2 for x2 < 1 and would meet the zero cotangent of the unused branch
    return xp.where(limit, xp.zeros_like(out), safe ** x2 * xp.log(safe))


def _nonnegative(xp, x2):
    """Where the exponent is real and >= 0 (where 0 ** x2 is 0 or 1, not inf or nan)."""
    if _is_complex(x2):
        return xp.logical_and(xp.imag(x2) == 0, xp.real(x2) >= 0)
    return x2 >= 0


def _pow_exponent(xp, g, x1, x2, out):
    return g * _conj(xp, _pow_exponent_derivative(xp, x1, x2, out))


def _pow_exponent_jvp(xp, t, x1, x2, out):
    return t * _pow_exponent_derivative(xp, x1, x2, out)


def _divide_denominator(xp, g, x1, x2):
    # -g * conj(x1 / x2 ** 2), divided twice (PyTorch's order): x2 * x2 underflows (to 0
    # or a subnormal) where the quotient does not, e.g. 0 / 1e-200 or, in float32, 1e-30 / 1e-30.
    return -g * _conj(xp, x1 / x2 / x2)


def _divide_denominator_jvp(xp, t, x2, out):
    # -(t * out) / x2: the tangent times the quotient first (PyTorch's forward order),
    # which does not overflow where x1 / x2 / x2 does (float32 1e38 / 0.5 / 0.5).
    return -(t * out) / x2


def _sigmoid_of_difference(xp, x1, x2):
    """``sigmoid(x1 - x2) = 1 / (1 + exp(x2 - x1))``, d logaddexp(x1, x2) / dx1, from the
    inputs rather than as ``exp(x1 - out)``: ``out`` rounds away ``log 2`` next to
    ``1e17`` (giving 1 for 1/2) and makes ``inf - inf`` at ``(inf, 0)``. Each branch
    exponentiates a non-positive number only (no overflow; 1 at ``x1 == x2``, 1 and 0 at
    infinities), and the other branch is fed 0, so that neither holds inf or nan for
    a second derivative to multiply."""
    d = x1 - x2
    up = d >= 0
    zero = xp.zeros_like(d)
    e_up = xp.exp(-xp.where(up, d, zero))  # exp(-d) where d >= 0
    e_down = xp.exp(xp.where(up, zero, d))  # exp(d) where d < 0
    return xp.where(up, 1 / (1 + e_up), e_down / (1 + e_down))


def _remainder_divisor(xp, g, x1, x2):
    # x1 % x2 = x1 - floor(x1 / x2) * x2: the quotient is piecewise constant (PyTorch's rule).
    return -g * _paired_quotient(xp, x1, x2)


def _paired_quotient(xp, x1, x2):
    """``x1 // x2`` as the library computes it, the quotient that its ``%`` pairs with
    (``x1 % x2 == x1 - x2 * (x1 // x2)``: ``1 % -inf`` is ``-inf`` and ``1 // -inf``
    is -1, so remainder's derivative in x2 there is 1), where the standard's
    floor_divide is ``floor(x1 / x2)`` (-0 there): remainder's rules use this one. The
    library's function on arrays; on Tensors (``create_graph``, forward mode) the op
    floor_divide with ``paired=True``, which is that function, recorded."""
    if isinstance(x1, Tensor) or isinstance(x2, Tensor) or batched(x1) or batched(x2):
        return call(xp, "floor_divide", x1, x2, paired=True)
    return xp.floor_divide(x1, x2)


def _divide(xp, x1, x2):
    try:
        return x1 / x2
    except TypeError:
        # Integer true division, which the standard leaves open: NumPy, dask and CuPy give
        # float64, torch and JAX their default float; array-api-strict refuses. xpgrad
        # gives the device's default real floating dtype everywhere (what the others do).
        # The exception costs the other calls nothing.
        ints = [a for a in (x1, x2) if type(a) not in _SCALARS and xp.isdtype(a.dtype, "integral")]
        if not ints or any(type(a) not in _SCALARS and not xp.isdtype(a.dtype, "integral") for a in (x1, x2)):
            raise
        dtype = xp.__array_namespace_info__().default_dtypes(device=ints[0].device)["real floating"]
        x1, x2 = (a if type(a) in _SCALARS else xp.astype(a, dtype) for a in (x1, x2))
        return x1 / x2


# ---------------------------------------------------------------------- special cases
# Where the libraries' own functions differ from the standard's special cases (2025.12),
# the forward corrects its result with ``xp.where``: after the library's function, and
# only for the dtypes concerned, told apart in Python from the dtype (no pass over the
# data, nothing that makes dask compute), so that the other dtypes cost what they did:
# one dict lookup by the dtype's id (xpgrad.dtypes.KIND_BY_ID; isdtype costs
# microseconds).

_REAL_FLOATING = "real floating"
_COMPLEX_FLOATING = "complex floating"


def _floor_divide(xp, x1, x2, *, paired=False):
    """``floor_divide``; for real floating operands, ``x1 / x2`` where either is
    infinite: the standard's ``floor(x1 / x2)`` there, which is +-inf, +-0 or NaN as it
    is. NumPy (and the libraries that compute as it does) pairs ``//`` with ``%``
    instead: ``inf // 2`` is NaN and ``-1 // inf`` is -1 where the standard wants
    ``inf`` and ``-0``. Integers, and ``paired`` (remainder's rules, see
    _paired_quotient): the library's function alone."""
    out = xp.floor_divide(x1, x2)
    if (KIND_BY_ID.get(id(out.dtype)) or kind_of(out.dtype)) != _REAL_FLOATING or paired:
        return out
    if type(x1) in _REAL_SCALARS:  # a Python scalar: an int is never infinite
        if type(x1) is float and math.isinf(x1):
            return x1 / x2
        infinite = xp.isinf(x2)
    elif type(x2) in _REAL_SCALARS:
        if type(x2) is float and math.isinf(x2):
            return x1 / x2
        infinite = xp.isinf(x1)
    else:
        infinite = xp.logical_or(xp.isinf(x1), xp.isinf(x2))
    return xp.where(infinite, x1 / x2, out)


def _remainder_zero_sign(xp, x1, x2):
    """``remainder`` where the library gives a zero result the sign of ``x1`` (PyTorch:
    ``-0.0 % 2.0`` and ``-4.0 % 2.0`` are -0.0): a zero result takes the sign of ``x2``,
    as in the standard's cases for +-0 and in Python's ``%``."""
    out = xp.remainder(x1, x2)
    if kind_of(out.dtype) != _REAL_FLOATING:
        return out
    zero = xp.zeros_like(out)
    signed = math.copysign(0.0, x2) if type(x2) in _REAL_SCALARS else xp.copysign(zero, x2)
    return xp.where(out == 0, signed, out)


def _expm1(xp, x):
    """``expm1``; for complex ``x = a + bj``, the standard's special cases where C's
    formula (NumPy's and PyTorch's) differs:

    - ``b = +-0``: ``expm1(a) + bj``, with the real part +0 at ``a = -0`` (the
      standard's ``0 + 0j``, as ``exp(x) - 1`` gives it; the real function keeps -0).
      C multiplies ``exp(a)`` by ``sin(b) = 0``: a NaN imaginary part at ``a = inf``,
      at ``a = NaN`` and where ``exp(a)`` overflows.
    - ``a = -inf``: ``+0 * cis(b) - 1``, whose real part is -1 exactly (C's
      ``-cos(b) - 2 sin(b/2)**2`` rounds); the zero signed as C has it (as ``sin(b)``)
      for finite ``b``, ``-1 + 0j`` for ``b`` infinite or NaN.
    - ``a = +inf`` with ``b`` infinite or NaN: ``inf + nanj``.

    Real ``x``: the library's function alone."""
    out = xp.expm1(x)
    if (KIND_BY_ID.get(id(x.dtype)) or kind_of(x.dtype)) != _COMPLEX_FLOATING:
        return out
    a, b = xp.real(x), xp.imag(x)
    finite_b = xp.isfinite(b)
    minus_inf = a == -math.inf
    # where the imaginary part is a zero: its sign is b's at b = +-0, C's at a = -inf
    zero_imag = xp.logical_or(b == 0, minus_inf)
    negative = xp.where(minus_inf, xp.logical_and(finite_b, xp.signbit(xp.imag(out))), xp.signbit(b))
    fixed = xp.astype(xp.where(minus_inf, -1.0, xp.real(out) + 0.0), x.dtype)  # -0 + 0.0 is +0
    fixed = xp.where(negative, xp.conj(fixed), fixed)
    out = xp.where(zero_imag, fixed, out)
    return xp.where(xp.logical_and(a == math.inf, xp.logical_not(finite_b)), complex(math.inf, math.nan), out)


def _tanh(xp, x):
    """``tanh``; for complex ``x = a + bj`` with ``a = +-inf`` and finite ``b``, the
    standard's ``+-1 + 0j`` with the zero signed as ``b`` (its ``1 + 0j`` for ``b > 0``,
    with ``tanh(conj(x)) = conj(tanh(x))`` and ``tanh(-x) = -tanh(x)``), where C's
    ``ctanh`` (NumPy, PyTorch) gives it the sign of ``sin(2b)``. Real ``x``: the
    library's function alone."""
    out = xp.tanh(x)
    if (KIND_BY_ID.get(id(x.dtype)) or kind_of(x.dtype)) != _COMPLEX_FLOATING:
        return out
    a, b = xp.real(x), xp.imag(x)
    wrong_sign = xp.logical_and(xp.logical_and(xp.isinf(a), xp.isfinite(b)),
                                xp.signbit(xp.imag(out)) != xp.signbit(b))
    return xp.where(wrong_sign, xp.conj(out), out)


# ---------------------------------------------------------------------- extrema


def _max_first(xp, g, x1, x2):
    # Ties share the gradient equally, as PyTorch's maximum/minimum do.
    return xp.where(x1 > x2, g, xp.where(x1 == x2, g / 2, _zeros(xp, g)))


def _max_second(xp, g, x1, x2):
    return xp.where(x2 > x1, g, xp.where(x1 == x2, g / 2, _zeros(xp, g)))


def _min_first(xp, g, x1, x2):
    return xp.where(x1 < x2, g, xp.where(x1 == x2, g / 2, _zeros(xp, g)))


def _min_second(xp, g, x1, x2):
    return xp.where(x2 < x1, g, xp.where(x1 == x2, g / 2, _zeros(xp, g)))


def _select(xp, g, condition, first):
    z = _zeros(xp, g)
    return xp.where(condition, g, z) if first else xp.where(condition, z, g)


def _clip_forward(xp, x, min, max, *, lower=True, upper=True):
    return xp.clip(x, min if lower else None, max if upper else None)


def _clip_x_mask(xp, x, min, max, lower, upper):
    # Inside the bounds, the bounds included, x passes its gradient (PyTorch's clamp).
    inside = None
    if lower:
        inside = x >= min
    if upper:
        below = x <= max
        inside = below if inside is None else xp.logical_and(inside, below)
    return inside


def _clip_x(xp, g, x, min, max, lower, upper):
    inside = _clip_x_mask(xp, x, min, max, lower, upper)
    return g if inside is None else xp.where(inside, g, 0.0)


def _clip_x_jvp(xp, t, x, min, max, lower, upper):
    inside = _clip_x_mask(xp, x, min, max, lower, upper)
    return t if inside is None else xp.where(inside, t, 0.0)


def _clip_min_mask(xp, x, min, max, upper):
    # The lower bound is the result where x is below it; where min > max the upper bound
    # wins, as the forward's min(max(x, min), max) does.
    mask = x < min
    if upper:
        mask = xp.logical_and(mask, min < max)
    return mask


def _clip_max_mask(xp, x, min, max, lower):
    mask = x > max
    if lower:
        mask = xp.logical_or(mask, max < min)
    return mask


def _clip_min(xp, g, x, min, max, lower, upper):
    if not lower:
        return _zeros(xp, g)
    return xp.where(_clip_min_mask(xp, x, min, max, upper), g, 0.0)


def _clip_max(xp, g, x, min, max, lower, upper):
    if not upper:
        return _zeros(xp, g)
    return xp.where(_clip_max_mask(xp, x, min, max, lower), g, 0.0)


def _clip_min_jvp(xp, t, x, min, max, lower, upper):
    if not lower:
        return xp.zeros_like(t)
    return xp.where(_clip_min_mask(xp, x, min, max, upper), t, 0.0)


def _clip_max_jvp(xp, t, x, min, max, lower, upper):
    if not upper:
        return xp.zeros_like(t)
    return xp.where(_clip_max_mask(xp, x, min, max, lower), t, 0.0)


# ---------------------------------------------------------------------- magnitude, parts


def _sgn(xp, x):
    """``x / |x|`` of complex ``x`` through the registered op ``sgn``, recorded under
    ``create_graph`` with its own derivative."""
    from xpgrad.dispatch import call

    return call(xp, "sgn", x)


def _abs_derivative(xp, x):
    """What ``abs``'s VJP multiplies ``g`` by: sign(x) for real x (0 at 0, a subgradient),
    ``sgn(x) = x / |x|`` for complex x (0 at 0), whose own derivative gives the second."""
    if _is_complex(x):
        return _sgn(xp, x)
    return xp.sign(x)


def _abs_jvp(xp, t, x):
    if _is_complex(x):
        # d|z| = Re(conj(z) dz) / |z| = Re(conj(sgn(z)) dz)
        return xp.real(xp.conj(_sgn(xp, x)) * t)
    return t * xp.sign(x)


def _sgn_forward(xp, x):
    """The sign: ``xp.sign`` of real ``x``. For complex ``x``, ``x / |x|`` by the
    standard's rule for a real divisor, each part divided by ``|x|`` (one rounding each:
    ``sign(1e-300 + 0j)`` is ``1 + 0j``, where a complex division scales by
    ``1 / 1e-300`` and rounds to ``0.9999999999999999``, and at ``1e-320`` overflows);
    ``0 + 0j`` at a zero of either sign; ``nan + nanj`` where a part is NaN, and where one
    is infinite (``inf / inf``; array-api-strict's value)."""
    if not _is_complex(x):
        return xp.sign(x)
    a = xp.abs(x)
    regular = xp.logical_and(a > 0, a < math.inf)  # not 0, inf or NaN
    safe = xp.where(regular, a, xp.ones_like(a))
    y = xp.where(regular, x, xp.zeros_like(x))  # no inf or nan in the parts put together
    re = xp.astype(xp.real(y) / safe, x.dtype)
    im = xp.astype(xp.imag(y) / safe, x.dtype)
    special = xp.where(a == 0, xp.zeros_like(x), xp.full_like(x, complex(math.nan, math.nan)))
    return xp.where(regular, re + im * 1j, special)


def _sgn_derivative(xp, d, x, out):
    """The derivative of ``s = x / |x|`` (complex ``x``) along ``d``, and its VJP for the
    cotangent ``d`` (the map is its own adjoint): ``(d - s Re(conj(s) d)) / |x|``, the
    part of ``d`` across the direction of ``x``, over ``|x|``; 0 at ``x = 0`` (PyTorch's
    sgn). Real ``x``: 0 (``sgn`` of a real array is its sign, piecewise constant)."""
    if not _is_complex(x):
        return xp.zeros_like(out if _is_complex(d) else d)
    return _safe_ratio(xp, d - out * xp.real(xp.conj(out) * d), xp.abs(x))


def _imag_vjp(xp, g, x_dtype):
    # imag(x + iy) = y: dL/dx = 0 and dL/dy = g, so the gradient is 0 + i g.
    return xp.astype(g, x_dtype) * 1j


def _copysign_magnitude(xp, g, x1, out):
    # |x1| carries x2's sign: the derivative is +1 where x1 already has it, -1 where the
    # sign flips, and 0 at x1 == 0, abs's subgradient there (PyTorch's rule).
    flipped = xp.where(xp.signbit(out) == xp.signbit(x1), g, -g)
    return xp.where(x1 == 0, 0.0, flipped)


def _hypot_first(xp, g, x1, out):
    return g * _safe_ratio(xp, x1, out)


def _hypot_second(xp, g, x2, out):
    return g * _safe_ratio(xp, x2, out)


def _atan2_first(xp, g, x1, x2):
    return g * _safe_ratio(xp, x2, x1 * x1 + x2 * x2)


def _atan2_second(xp, g, x1, x2):
    return -g * _safe_ratio(xp, x1, x1 * x1 + x2 * x2)


# ---------------------------------------------------------------------- op tables


def _not_differentiable(name, forward, doc):
    return Op(name, forward, None, doc=f"{doc}; not differentiable")


def _comparison(name, forward):
    return Op(name, forward, None, doc=f"elementwise {name.replace('_', ' ')}; bool, not differentiable")


def _unary_ops():
    """The differentiable one-argument functions (exponentials, trigonometry, powers)."""
    return [
        # ----- exponentials, logarithms, roots, powers
        _op("exp", lambda xp, x: xp.exp(x), derivative={"x": lambda xp, out: out}, doc="e ** x"),
        _op("expm1", _expm1, derivative={"x": lambda xp, out: out + 1},
           doc="exp(x) - 1, accurate near 0; gradient exp(x) = out + 1"),
        _op("log", lambda xp, x: xp.log(x), reciprocal_derivative={"x": lambda xp, x: x},
           doc="natural logarithm"),
        _op("log1p", lambda xp, x: xp.log1p(x), reciprocal_derivative={"x": lambda xp, x: 1 + x},
           doc="log(1 + x), accurate near 0"),
        _op("log2", lambda xp, x: xp.log2(x), reciprocal_derivative={"x": lambda xp, x: x * _LN2},
           doc="base-2 logarithm"),
        _op("log10", lambda xp, x: xp.log10(x), reciprocal_derivative={"x": lambda xp, x: x * _LN10},
           doc="base-10 logarithm"),
        _op("sqrt", lambda xp, x: xp.sqrt(x), reciprocal_derivative={"x": lambda xp, out: 2 * out},
           doc="square root; its gradient at 0 is inf, as in PyTorch"),
        _op("square", lambda xp, x: xp.square(x), derivative={"x": lambda xp, x: 2 * x}, doc="x * x"),
        _op("reciprocal", lambda xp, x: xp.reciprocal(x), derivative={"x": lambda xp, out: -(out * out)},
           doc="1 / x"),
        # ----- trigonometric
        _op("sin", lambda xp, x: xp.sin(x), derivative={"x": lambda xp, x: xp.cos(x)}, doc="sine"),
        _op("cos", lambda xp, x: xp.cos(x), derivative={"x": lambda xp, x: -xp.sin(x)}, doc="cosine"),
        _op("tan", lambda xp, x: xp.tan(x), derivative={"x": lambda xp, out: 1 + out * out}, doc="tangent"),
        _op("asin", lambda xp, x: xp.asin(x),
           reciprocal_derivative={"x": lambda xp, x: xp.sqrt(1 - x * x)}, doc="inverse sine; inf gradient at +-1"),
        _op("acos", lambda xp, x: xp.acos(x),
           reciprocal_derivative={"x": lambda xp, x: -xp.sqrt(1 - x * x)},
           doc="inverse cosine; inf gradient at +-1"),
        _op("atan", lambda xp, x: xp.atan(x), reciprocal_derivative={"x": lambda xp, x: 1 + x * x},
           doc="inverse tangent"),
        # ----- hyperbolic
        _op("sinh", lambda xp, x: xp.sinh(x), derivative={"x": lambda xp, x: xp.cosh(x)}, doc="hyperbolic sine"),
        _op("cosh", lambda xp, x: xp.cosh(x), derivative={"x": lambda xp, x: xp.sinh(x)}, doc="hyperbolic cosine"),
        _op("tanh", _tanh, derivative={"x": lambda xp, out: 1 - out * out},
           doc="hyperbolic tangent"),
        _op("asinh", lambda xp, x: xp.asinh(x),
           reciprocal_derivative={"x": lambda xp, x: xp.sqrt(x * x + 1)}, doc="inverse hyperbolic sine"),
        # sqrt(x - 1) * sqrt(x + 1), not sqrt(x * x - 1): the same for real x > 1, and the
        # derivative of the principal branch for complex x.
        _op("acosh", lambda xp, x: xp.acosh(x),
           reciprocal_derivative={"x": lambda xp, x: xp.sqrt(x - 1) * xp.sqrt(x + 1)},
           doc="inverse hyperbolic cosine; inf gradient at 1"),
        _op("atanh", lambda xp, x: xp.atanh(x), reciprocal_derivative={"x": lambda xp, x: 1 - x * x},
           doc="inverse hyperbolic tangent"),
        # ----- not in the standard: what PyTorch users reach for
        Op("sigmoid", _sigmoid, derivative={"x": lambda xp, out: out * (1 - out)},
           node_name="SigmoidBackward0",
           doc="the logistic function 1 / (1 + e ** -x), without overflow for large |x|"),
    ]


def _arithmetic_ops():
    """+ - * / ** and the other two-argument differentiable functions."""
    return [
        _op("add", lambda xp, x1, x2: x1 + x2,
           derivative={"x1": lambda xp: 1, "x2": lambda xp: 1}, node_name="AddBackward", doc="x1 + x2"),
        _op("subtract", lambda xp, x1, x2: x1 - x2,
           derivative={"x1": lambda xp: 1, "x2": lambda xp: -1}, node_name="SubBackward", doc="x1 - x2"),
        _op("multiply", lambda xp, x1, x2: x1 * x2,
           derivative={"x1": lambda xp, x2: x2, "x2": lambda xp, x1: x1},
           node_name="MulBackward", doc="x1 * x2"),
        _op("divide", _divide,
           reciprocal_derivative={"x1": lambda xp, x2: x2},
           vjp={"x2": _divide_denominator}, jvp={"x2": _divide_denominator_jvp},
           node_name="DivBackward", doc="x1 / x2; d/dx2 is -x1 / x2 / x2, which does not underflow"),
        _op("negative", lambda xp, x: -x, derivative={"x": lambda xp: -1}, node_name="NegBackward", doc="-x"),
        _op("positive", lambda xp, x: +x, derivative={"x": lambda xp: 1}, doc="+x"),
        _op("pow", lambda xp, x1, x2: x1 ** x2,
           vjp={"x1": _pow_base, "x2": _pow_exponent},
           jvp={"x1": _pow_base_jvp, "x2": _pow_exponent_jvp},
           doc="x1 ** x2, tensor or scalar exponent; d/dx1 is 0 where x2 == 0, d/dx2 is 0 where x1 == 0 and x2 >= 0"),
        _op("remainder", lambda xp, x1, x2: xp.remainder(x1, x2),
           vjp={"x1": lambda xp, g: g, "x2": _remainder_divisor},
           jvp={"x1": lambda xp, t: t, "x2": lambda xp, t, x1, x2: -t * _paired_quotient(xp, x1, x2)},
           doc="x1 % x2 (sign of x2); gradients 1 and -floor(x1 / x2), as in PyTorch"),
        _op("atan2", lambda xp, x1, x2: xp.atan2(x1, x2),
           vjp={"x1": _atan2_first, "x2": _atan2_second},
           jvp={"x1": lambda xp, t, x1, x2: t * _safe_ratio(xp, x2, x1 * x1 + x2 * x2),
                "x2": lambda xp, t, x1, x2: -t * _safe_ratio(xp, x1, x1 * x1 + x2 * x2)},
           doc="angle of (x2, x1); subgradient 0 at the origin"),
        _op("hypot", lambda xp, x1, x2: xp.hypot(x1, x2),
           vjp={"x1": _hypot_first, "x2": _hypot_second},
           jvp={"x1": lambda xp, t, x1, out: t * _safe_ratio(xp, x1, out),
                "x2": lambda xp, t, x2, out: t * _safe_ratio(xp, x2, out)},
           doc="sqrt(x1 ** 2 + x2 ** 2) without overflow; subgradient 0 at (0, 0)"),
        _op("logaddexp", lambda xp, x1, x2: xp.logaddexp(x1, x2),
           vjp={"x1": lambda xp, g, x1, x2: g * _sigmoid_of_difference(xp, x1, x2),
                "x2": lambda xp, g, x1, x2: g * _sigmoid_of_difference(xp, x2, x1)},
           jvp={"x1": lambda xp, t, x1, x2: t * _sigmoid_of_difference(xp, x1, x2),
                "x2": lambda xp, t, x1, x2: t * _sigmoid_of_difference(xp, x2, x1)},
           doc="log(exp(x1) + exp(x2)) without overflow; gradients sigmoid(x1 - x2) and sigmoid(x2 - x1), "
               "stable too (1/2 each at (1e17, 1e17), 1 and 0 at (inf, 0))"),
        _op("copysign", lambda xp, x1, x2: xp.copysign(x1, x2),
           vjp={"x1": _copysign_magnitude, "x2": lambda xp, g: _zeros(xp, g)},
           jvp={"x1": lambda xp, t, x1, out: _copysign_magnitude(xp, t, x1, out),
                "x2": lambda xp, t: xp.zeros_like(t)},
           doc="|x1| with the sign of x2; d/dx1 is +-1 (0 at x1 == 0), d/dx2 is 0"),
        _op("maximum", lambda xp, x1, x2: xp.maximum(x1, x2),
           vjp={"x1": _max_first, "x2": _max_second},
           jvp={"x1": _max_first, "x2": _max_second},
           doc="elementwise larger; ties split the gradient"),
        _op("minimum", lambda xp, x1, x2: xp.minimum(x1, x2),
           vjp={"x1": _min_first, "x2": _min_second},
           jvp={"x1": _min_first, "x2": _min_second},
           doc="elementwise smaller; ties split the gradient"),
        _op("clip", _clip_forward,
           vjp={"x": _clip_x, "min": _clip_min, "max": _clip_max},
           jvp={"x": _clip_x_jvp, "min": _clip_min_jvp, "max": _clip_max_jvp},
           doc="x limited to [min, max] (a bound is unused where lower/upper is False); the gradient "
               "passes to x inside the bounds, the bounds included, and to the bound that is the result"),
        _op("where", lambda xp, condition, x1, x2: xp.where(condition, x1, x2),
           vjp={"x1": lambda xp, g, condition: _select(xp, g, condition, True),
                "x2": lambda xp, g, condition: _select(xp, g, condition, False)},
           jvp={"x1": lambda xp, t, condition: _select(xp, t, condition, True),
                "x2": lambda xp, t, condition: _select(xp, t, condition, False)},
           doc="x1 where condition holds, else x2"),
    ]


def _complex_ops():
    """Magnitude and the parts of complex numbers: not holomorphic, each its own rule."""
    return [
        _op("abs", lambda xp, x: xp.abs(x), vjp={"x": lambda xp, g, x: g * _abs_derivative(xp, x)},
           jvp={"x": _abs_jvp},
           doc="absolute value; subgradient 0 at 0; for complex z the gradient is g * sgn(z), sgn(z) = z / |z|"),
        _op("real", lambda xp, x: xp.real(x), vjp={"x": lambda xp, g: g},
           jvp={"x": lambda xp, t: xp.real(t) if _is_complex(t) else t},
           doc="real part; the gradient g + 0j", view=True),
        _op("imag", lambda xp, x: xp.imag(x), vjp={"x": _imag_vjp},
           jvp={"x": lambda xp, t: xp.imag(t)}, doc="imaginary part; the gradient 0 + g * 1j", view=True),
        _op("conj", lambda xp, x: xp.conj(x), vjp={"x": lambda xp, g: _conj(xp, g)},
           jvp={"x": lambda xp, t: _conj(xp, t)}, doc="complex conjugate; the gradient conj(g)"),
        # xpgrad.xp.sign dispatches this op for complex input and the constant sign for real.
        _op("sgn", _sgn_forward,
           vjp={"x": lambda xp, g, x, out: _sgn_derivative(xp, g, x, out)},
           jvp={"x": lambda xp, t, x, out: _sgn_derivative(xp, t, x, out)}, node_name="SgnBackward0",
           doc="sign of complex x, x / |x| with each part divided by |x| (0 at 0), differentiable as "
               "PyTorch's sgn: the gradient (g - s Re(conj(s) g)) / |x|, 0 at 0"),
    ]


def _constant_ops():
    """Integer- and bool-valued functions: results that never require grad."""
    return [
        _not_differentiable("sign", lambda xp, x: xp.sign(x),
                            "-1, 0 or 1 (x / |x| for complex; xpgrad.xp.sign dispatches the "
                            "differentiable sgn for complex x)"),
        _not_differentiable("signbit", lambda xp, x: xp.signbit(x), "whether the sign bit is set; bool"),
        _not_differentiable("floor", lambda xp, x: xp.floor(x),
                            "round down (PyTorch gives a zero gradient; here the result is a constant)"),
        _not_differentiable("ceil", lambda xp, x: xp.ceil(x),
                            "round up (PyTorch gives a zero gradient; here the result is a constant)"),
        _not_differentiable("trunc", lambda xp, x: xp.trunc(x),
                            "round toward 0 (PyTorch gives a zero gradient; here the result is a constant)"),
        _not_differentiable("round", lambda xp, x: xp.round(x),
                            "round half to even (PyTorch gives a zero gradient; here the result is a constant)"),
        _not_differentiable("floor_divide", _floor_divide,
                            "floor(x1 / x2), piecewise constant"),
        _not_differentiable("nextafter", lambda xp, x1, x2: xp.nextafter(x1, x2),
                            "the next representable value after x1 toward x2"),
        _not_differentiable("isfinite", lambda xp, x: xp.isfinite(x), "whether finite; bool"),
        _not_differentiable("isinf", lambda xp, x: xp.isinf(x), "whether infinite; bool"),
        _not_differentiable("isnan", lambda xp, x: xp.isnan(x), "whether NaN; bool"),
        _comparison("equal", lambda xp, x1, x2: x1 == x2),
        _comparison("not_equal", lambda xp, x1, x2: x1 != x2),
        _comparison("less", lambda xp, x1, x2: x1 < x2),
        _comparison("less_equal", lambda xp, x1, x2: x1 <= x2),
        _comparison("greater", lambda xp, x1, x2: x1 > x2),
        _comparison("greater_equal", lambda xp, x1, x2: x1 >= x2),
    ]


# The ops whose forward is exactly the standard's function of the same name, real in
# and real out: a backend may compute them into a temporary argument (Op's
# ``elementwise``). abs is real out for real in, which is all elision takes.
_INTO_TEMPORARY = frozenset({
    "add", "subtract", "multiply", "divide", "negative", "positive", "abs", "exp", "expm1", "log", "log1p", "log2",
        "log10", "sqrt",
    "square", "reciprocal", "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh",
    "tanh", "asinh", "acosh", "atanh",
})


def _op(name, *args, **kwargs):
    """``Op(name, ...)``, declared ``elementwise`` where ``name`` is in _INTO_TEMPORARY."""
    return Op(name, *args, elementwise=name in _INTO_TEMPORARY, **kwargs)


def _backend_variants(ops):
    """The ops whose forward a backend needs its own, with the same rules: PyTorch's
    remainder gives a zero result the sign of x1 (see _remainder_zero_sign)."""
    remainder = next(op for op in ops if op.name == "remainder")
    return [remainder.replaced(_remainder_zero_sign, backends={"torch"},
                               doc=f"{remainder.doc} (torch: a zero result has the sign of x2)")]


@hookimpl
def xpgrad_ops():
    arithmetic = _arithmetic_ops()
    return arithmetic + _backend_variants(arithmetic) + _unary_ops() + _complex_ops() + _constant_ops()
