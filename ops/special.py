"""Special functions (``xpgrad.special``, PyTorch's ``torch.special``).

The standard has no special functions, so an op's forward goes one of two ways:

- elementary ones (``logit``, ``xlogy``, ``xlog1py``, ``sinc``, ``entr``; ``expit`` is the
  elementwise op ``sigmoid``) are written with the standard's functions, once, for every
  backend, with PyTorch's values at the edges (``xlogy(0, 0) = 0``, ``entr(0) = 0``,
  ``logit(1) = inf``). They compute no inf or nan they then discard, so NumPy warns only
  where the result itself is nan from a non-nan input (``sinc(inf)``);
- the others (``erf``, ``gammaln``, ``i0``...) are the array library's own: SciPy's
  ``scipy.special`` on NumPy, chunk by chunk (``map_blocks``, still lazy) on dask, and
  through NumPy on array-api-strict (``numpy.from_dlpack`` there, ``asarray(...,
  device=x.device)`` back: public functions only, and its arrays live in CPU memory);
  ``torch.special`` on PyTorch, ``jax.scipy.special`` on JAX and ``cupyx.scipy.special``
  on CuPy. SciPy is an optional dependency, imported when first needed.

The library forwards are backend-specialised ops (``Op.replaced(forward, backends=...)``,
as dask's blockwise linear algebra is), not one forward that looks at its array's type:
the registry picks the right one once per backend, so a call costs no type test; each
carries the generic op's rules unchanged; and a third-party backend adds its own with the
same one line in its plugin. The generic definition, which every other backend gets,
raises a NotImplementedError naming the function and the backend's namespace.

The rules are written once, with the standard's functions and these ops themselves
(``xpgrad.dispatch.call``: d gammaln = digamma, d digamma = polygamma(1, .), d i0 = i1),
so that they differentiate again (second order) and give forward mode its JVPs.
PyTorch's conventions hold at the hard places: ``d/dx xlogy(x, y)`` is ``log(y)``,
except 0 where ``x == 0`` and ``y <= 0``; ``i1`` and ``i1e`` have derivative 1/2 at 0,
``sinc`` 0; ``logit`` with ``eps`` has derivative 0 outside ``[eps, 1 - eps]``.
"""
import math

from xpgrad.dispatch import call
from xpgrad.plugins import Op, hookimpl
from xpgrad.plugins.arrays import device_of

__all__ = ["LIBRARY_OPS", "INSTALL"]

INSTALL = 'pip install "xpgrad[special]"'
_SQRT_PI = math.sqrt(math.pi)
_SQRT_2PI = math.sqrt(2.0 * math.pi)
_SCALARS = (int, float)

#: The ops computed by the array library's own special functions (same name in SciPy,
#: torch.special, jax.scipy.special and cupyx.scipy.special).
LIBRARY_OPS = ("erf", "erfc", "erfinv", "gammaln", "digamma", "polygamma", "ndtr", "log_ndtr", "ndtri",
               "i0", "i0e", "i1", "i1e")


# ---------------------------------------------------------------------- library forwards


def _library_call(module, name, x, params):
    if name == "polygamma":
        return module.polygamma(params["n"], x)
    return getattr(module, name)(x)


def _scipy_special(name):
    try:
        import scipy.special
    except ImportError as exc:
        raise ImportError(f"xpgrad.special.{name} on NumPy, dask and array-api-strict arrays is SciPy's "
                          f"scipy.special.{name}, and SciPy is not installed; install it with {INSTALL}") from exc
    return scipy.special


def _scipy_gammaln(sp, a):
    import numpy as np

    out = sp.gammaln(a)
    if a.dtype.kind == "f":
        # SciPy gives inf for subnormal x, where log|Gamma(x)| = -log|x| to the last bit,
        # and -inf at -inf, where C's lgamma and PyTorch give +inf.
        sub = np.logical_and(a != 0, np.abs(a) < np.finfo(a.dtype).smallest_normal)
        if sub.any():
            out = np.where(sub, -np.log(np.abs(np.where(sub, a, 1))), out)
        out = np.where(a == -np.inf, np.inf, out)
    return out


def _numpy_compute(name, a, params):
    """SciPy's ``name`` of the NumPy array ``a``, as an array of ``a``'s float dtype
    (SciPy returns a scalar for 0-d input, and float64 from some float32 loops)."""
    import numpy as np

    sp = _scipy_special(name)
    out = _scipy_gammaln(sp, a) if name == "gammaln" else _library_call(sp, name, a, params)
    return np.asarray(out, dtype=a.dtype if a.dtype.kind == "f" else None)


def _numpy(xp, x, name, params):
    return _numpy_compute(name, x, params)


def _dask_block(block, name_, params):
    return _numpy_compute(name_, block, params)


def _dask(xp, x, name, params):
    import numpy as np

    _scipy_special(name)  # raise now, not when the graph is computed
    dtype = x.dtype if x.dtype.kind == "f" else np.dtype("float64")
    # map_blocks passes its other keywords to the block function: its ``name=`` is the graph's key
    return x.map_blocks(_dask_block, dtype=dtype, name_=name, params=params)


def _strict(xp, x, name, params):
    import numpy as np

    return xp.asarray(_numpy_compute(name, np.from_dlpack(x), params), device=x.device)


def _same_dtype(xp, out, x):
    if out.dtype != x.dtype and xp.isdtype(x.dtype, "real floating"):
        return xp.astype(out, x.dtype)
    return out


def _torch(xp, x, name, params):
    import torch

    return _library_call(torch.special, name, x, params)


def _jax(xp, x, name, params):
    import jax.scipy.special

    return _same_dtype(xp, _library_call(jax.scipy.special, name, x, params), x)


def _cupy(xp, x, name, params):
    import cupyx.scipy.special

    return _same_dtype(xp, _library_call(cupyx.scipy.special, name, x, params), x)


_BACKEND_COMPUTE = {"numpy": _numpy, "dask": _dask, "array_api_strict": _strict, "torch": _torch,
                    "jax": _jax, "cupy": _cupy}


def _unavailable(xp, x, name, params):
    raise NotImplementedError(
        f"xpgrad.special.{name} has no implementation for arrays of namespace "
        f"{getattr(xp, '__name__', xp)!r}: it is the array library's own special function (SciPy's on "
        f"NumPy, dask and array-api-strict; torch.special, jax.scipy.special, cupyx.scipy.special), on the "
        f"backends {sorted(_BACKEND_COMPUTE)} only. A backend plugin adds one with "
        f"Op.replaced(forward, backends={{...}}) of the op {name!r}"
    )


def _forward(name, compute):
    """``compute(xp, x, name, params)`` as an op's forward: ``(xp, x)``, or ``(xp, x, *, n)``
    for polygamma (an Op reads its arrays and params from its forward's signature)."""
    if name == "polygamma":
        def polygamma(xp, x, *, n):
            return compute(xp, x, name, {"n": n})
        return polygamma

    def forward(xp, x):
        return compute(xp, x, name, {})
    forward.__name__ = name
    return forward


# ---------------------------------------------------------------------- warning-free pieces


def _log(xp, y):
    """log(y), -inf at 0 and nan below 0, computing no log of a non-positive number."""
    if isinstance(y, _SCALARS):
        return math.log(y) if y > 0 else -math.inf if y == 0 else math.nan
    pos = y > 0
    return xp.where(pos, xp.log(xp.where(pos, y, 1.0)), xp.where(y == 0, -math.inf, xp.full_like(y, math.nan)))


def _log1p(xp, y):
    """log1p(y), -inf at -1 and nan below -1, computing no log1p there."""
    if isinstance(y, _SCALARS):
        return math.log1p(y) if y > -1 else -math.inf if y == -1 else math.nan
    up = y > -1
    return xp.where(up, xp.log1p(xp.where(up, y, 0.0)),
                    xp.where(y == -1, -math.inf, xp.full_like(y, math.nan)))


def _as_arrays(xp, x, y):
    """A Python-scalar argument as an array of the other's dtype and device."""
    if isinstance(x, _SCALARS):
        x = xp.asarray(x, dtype=y.dtype, device=device_of(y))
    elif isinstance(y, _SCALARS):
        y = xp.asarray(y, dtype=x.dtype, device=device_of(x))
    return x, y


def _x_log(xp, x, y, log):
    """``x * log(y)``, 0 where ``x == 0`` and ``y`` is not nan (PyTorch's xlogy and xlog1py)."""
    x, y = _as_arrays(xp, x, y)
    zero = xp.logical_and(x == 0, xp.logical_not(xp.isnan(y)))
    return xp.where(zero, 0.0, x * xp.where(zero, 0.0, log(xp, y)))


def _x_log_derivative(xp, x, y, log, edge):
    """d/dx of ``x * log(y)``: ``log(y)``, but 0 where ``x == 0`` and ``y <= edge`` (where
    ``log(y)`` is -inf or nan and the value is 0 whatever x is near 0): PyTorch's rule."""
    if isinstance(y, _SCALARS):
        d = log(xp, y)
        return xp.where(x == 0, 0.0, xp.full_like(x, d)) if y <= edge else d
    return xp.where(xp.logical_and(x == 0, y <= edge), 0.0, log(xp, y))


# ---------------------------------------------------------------------- elementary forwards


def _logit(xp, x, *, eps=None):
    z = x if eps is None else xp.clip(x, eps, 1.0 - eps)
    inside = xp.logical_and(z > 0, z < 1)
    q = xp.where(inside, z, 0.5)
    edge = xp.where(z == 0, -math.inf, xp.where(z == 1, math.inf, xp.full_like(z, math.nan)))
    return xp.where(inside, xp.log(q / (1 - q)), edge)


def _logit_reciprocal(xp, x, eps):
    """1 / logit'(x) = x (1 - x) inside ``[eps, 1 - eps]`` (``[0, 1]`` without eps); outside,
    inf with eps (the clamped value is constant: derivative 0) and nan without."""
    lo, hi = (0.0, 1.0) if eps is None else (eps, 1.0 - eps)
    inside = xp.logical_and(x >= lo, x <= hi)
    return xp.where(inside, x * (1 - x), xp.full_like(x, math.nan if eps is None else math.inf))


def _xlogy(xp, x, y):
    return _x_log(xp, x, y, _log)


def _xlog1py(xp, x, y):
    return _x_log(xp, x, y, _log1p)


def _sinc(xp, x):
    zero = x == 0
    px = math.pi * xp.where(zero, 1.0, x)
    return xp.where(zero, 1.0, xp.sin(px) / px)


def _sinc_derivative(xp, x):
    # 0 where pi x^2 is 0, as in PyTorch: at 0 (the limit) and where it underflows, |x| < 1e-162
    # in float64, where the derivative -pi^2 x / 3 is below the smallest number too
    zero = x * x * math.pi == 0
    s = xp.where(zero, 1.0, x)
    px = math.pi * s
    return xp.where(zero, 0.0, (px * xp.cos(px) - xp.sin(px)) / (s * s * math.pi))


def _entr(xp, x):
    pos = x > 0
    s = xp.where(pos, x, 1.0)
    rest = xp.where(x < 0, -math.inf, xp.where(x == 0, 0.0, x))  # x == 0 gives 0, nan stays nan
    return xp.where(pos, -s * xp.log(s), rest)


def _entr_derivative(xp, x):
    pos = x > 0
    s = xp.where(pos, x, 1.0)
    return xp.where(pos, -(1 + xp.log(s)), xp.where(x == 0, math.inf, xp.full_like(x, math.nan)))


# ---------------------------------------------------------------------- Bessel derivatives


def _tiny(xp, x):
    """Where ``|x|`` is at most the dtype's epsilon, and ``x`` moved off it (PyTorch's i1
    and i1e backward: 1/x is not evaluated near 0, where the limit 1/2 is taken)."""
    eps = xp.finfo(x.dtype).eps
    tiny = xp.logical_not(xp.abs(x) > eps)
    return tiny, xp.where(tiny, eps, x)


def _i1_derivative(xp, x, out):
    tiny, s = _tiny(xp, x)
    return xp.where(tiny, 0.5, call(xp, "i0", s) - out / s)


def _i1e_derivative(xp, x, out):
    tiny, s = _tiny(xp, x)
    return xp.where(tiny, 0.5, call(xp, "i0e", s) - out * (xp.sign(s) + 1 / s))


# ---------------------------------------------------------------------- the ops

_LIBRARY = {
    "erf": ({"x": lambda xp, x: (2 / _SQRT_PI) * xp.exp(-(x * x))}, "ErfBackward0",
            "The error function 2/sqrt(pi) * integral of exp(-t^2) from 0 to x; derivative "
            "2/sqrt(pi) * exp(-x^2)."),
    "erfc": ({"x": lambda xp, x: (-2 / _SQRT_PI) * xp.exp(-(x * x))}, "ErfcBackward0",
             "The complementary error function 1 - erf(x), without its cancellation for large x; "
             "derivative -2/sqrt(pi) * exp(-x^2)."),
    "erfinv": ({"x": lambda xp, out: (_SQRT_PI / 2) * xp.exp(out * out)}, "ErfinvBackward0",
               "The inverse of erf on (-1, 1), ±inf at ±1 and nan outside; derivative "
               "sqrt(pi)/2 * exp(erfinv(x)^2), inf at ±1."),
    "gammaln": ({"x": lambda xp, x: call(xp, "digamma", x)}, "LgammaBackward0",
                "log|Gamma(x)|, inf at the poles 0, -1, -2, ...; derivative digamma(x)."),
    "digamma": ({"x": lambda xp, x: call(xp, "polygamma", x, n=1)}, "DigammaBackward0",
                "The digamma function Gamma'(x)/Gamma(x): -inf at +0, +inf at -0, nan at the negative "
                "integers; derivative polygamma(1, x)."),
    "polygamma": ({"x": lambda xp, x, n: call(xp, "polygamma", x, n=n + 1)}, "PolygammaBackward0",
                  "The n-th derivative of digamma (n a non-negative int, not differentiated); derivative "
                  "polygamma(n + 1, x). At the poles (0, -1, ...) the value is the backend library's."),
    "ndtr": ({"x": lambda xp, x: xp.exp(-0.5 * (x * x)) / _SQRT_2PI}, "SpecialNdtrBackward0",
             "The standard normal distribution function; derivative the normal density "
             "exp(-x^2/2)/sqrt(2 pi)."),
    "log_ndtr": ({"x": lambda xp, x, out: xp.exp(-(out + 0.5 * (x * x))) / _SQRT_2PI},
                 "SpecialLogNdtrBackward0",
                 "log(ndtr(x)), accurate far in the left tail; derivative density(x)/ndtr(x), computed as "
                 "exp(-(log_ndtr(x) + x^2/2))/sqrt(2 pi), which neither overflows nor divides 0 by 0 "
                 "(about -x for very negative x)."),
    "ndtri": ({"x": lambda xp, out: _SQRT_2PI * xp.exp(0.5 * (out * out))}, "SpecialNdtriBackward0",
              "The inverse of ndtr on (0, 1), -inf at 0, inf at 1, nan outside; derivative "
              "sqrt(2 pi) * exp(ndtri(x)^2/2), inf at 0 and 1."),
    "i0": ({"x": lambda xp, x: call(xp, "i1", x)}, "I0Backward0",
           "The modified Bessel function of the first kind of order 0; derivative i1(x)."),
    "i0e": ({"x": lambda xp, x, out: call(xp, "i1e", x) - xp.sign(x) * out}, "SpecialI0EBackward0",
            "exp(-|x|) * i0(x), which does not overflow; derivative i1e(x) - sign(x) * i0e(x) (0 at 0)."),
    "i1": ({"x": _i1_derivative}, "SpecialI1Backward0",
           "The modified Bessel function of the first kind of order 1; derivative i0(x) - i1(x)/x, "
           "its limit 1/2 where |x| is at most the dtype's epsilon."),
    "i1e": ({"x": _i1e_derivative}, "SpecialI1EBackward0",
            "exp(-|x|) * i1(x), which does not overflow; derivative i0e(x) - i1e(x) * (sign(x) + 1/x), "
            "its limit 1/2 where |x| is at most the dtype's epsilon."),
}


def _library_ops():
    out = []
    for name, (derivative, node_name, doc) in _LIBRARY.items():
        op = Op(name, _forward(name, _unavailable), derivative=derivative, node_name=node_name, doc=doc)
        out.append(op)
        out.extend(op.replaced(_forward(name, compute), backends={backend})
                   for backend, compute in _BACKEND_COMPUTE.items())
    return out


@hookimpl
def xpgrad_ops():
    return _library_ops() + [
        Op("logit", _logit, reciprocal_derivative={"x": _logit_reciprocal}, node_name="LogitBackward0",
           doc="log(x / (1 - x)), x first clamped to [eps, 1 - eps] when eps is given; -inf at 0, inf at 1, "
               "nan outside [0, 1]. Derivative 1/(x (1 - x)): inf at 0 and 1, nan outside [0, 1] without eps, "
               "0 outside [eps, 1 - eps] with it."),
        Op("xlogy", _xlogy, derivative={"x": lambda xp, x, y: _x_log_derivative(xp, x, y, _log, 0),
                                        "y": lambda xp, x, y: x / y},
           node_name="XlogyBackward0",
           doc="x * log(y), 0 where x == 0 unless y is nan (so xlogy(0, 0) = 0). Derivatives log(y), 0 where "
               "x == 0 and y <= 0 (PyTorch's), and x / y."),
        Op("xlog1py", _xlog1py, derivative={"x": lambda xp, x, y: _x_log_derivative(xp, x, y, _log1p, -1),
                                            "y": lambda xp, x, y: x / (1 + y)},
           node_name="SpecialXlog1PyBackward0",
           doc="x * log1p(y), 0 where x == 0 unless y is nan. Derivatives log1p(y), 0 where x == 0 and "
               "y <= -1 (PyTorch's), and x / (1 + y)."),
        Op("sinc", _sinc, derivative={"x": _sinc_derivative}, node_name="SincBackward0",
           doc="The normalized sinc sin(pi x)/(pi x), 1 at 0; derivative (pi x cos(pi x) - sin(pi x))/(pi x^2), "
               "its limit 0 at 0."),
        Op("entr", _entr, derivative={"x": _entr_derivative}, node_name="SpecialEntrBackward0",
           doc="-x * log(x) for x > 0, 0 at 0, -inf below 0; derivative -(1 + log(x)): inf at 0, nan below."),
    ]
