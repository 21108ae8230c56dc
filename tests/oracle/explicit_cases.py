"""Cases for the ops whose arguments need shaping: reductions, manipulation, indexing,
linear algebra, decompositions and Fourier transforms, and for the ops reached only
through another function. Each generator is registered under the op(s) it covers."""
import numpy as np

from .cases import (
    Case,
    _binary_cases,
    _unary_cases,
    complex_special_values,
    const,
    explicit,
    rng_for,
    special_values,
)

F64, F32, C128 = "float64", "float32", "complex128"


def randn(rng, shape, dt=F64):
    a = rng.standard_normal(shape)
    if dt.startswith("complex"):
        a = a + 1j * rng.standard_normal(shape)
    return a.astype(dt)


def well_conditioned(rng, n, dt=F64, batch=()):
    return (randn(rng, batch + (n, n), dt) + 3 * np.eye(n)).astype(dt)


def spd(rng, n, dt=F64):
    a = randn(rng, (n, n), dt)
    return (a @ a.conj().T + n * np.eye(n)).astype(dt)


def cases(op, *specs, dtypes=(F64, F32, C128), **common):
    """``Case(op, variant, prog, args(rng, dt))`` for each spec and dtype; a spec is
    ``(variant, prog, make_args)`` or ``(variant, prog, make_args, options)``."""
    out = []
    for dt in dtypes:
        for spec in specs:
            variant, prog, make = spec[:3]
            opts = dict(common, **(spec[3] if len(spec) > 3 else {}))
            only = opts.pop("dtypes", None)
            if only is not None and dt not in only:
                continue
            rng = rng_for(op, variant, dt)
            out.append(Case(op, variant, prog, tuple(make(rng, dt)), **opts))
    return out


# ---------------------------------------------------------------------- elementwise extras


@explicit("logaddexp")
def _logaddexp():
    f = lambda xp, a, b: xp.logaddexp(a, b)  # noqa: E731
    return _binary_cases("logaddexp") + [
        Case("logaddexp", "large-ties", f, (np.array([1e17, -1e17, 1e300]), np.array([1e17, -1e17, 1e300]))),
        Case("logaddexp", "inf", f, (np.array([np.inf, 0.0, -np.inf, np.inf]), np.array([0.0, np.inf, 0.0, -np.inf]))),
    ]


@explicit("divide")
def _divide():
    f = lambda xp, a, b: xp.divide(a, b)  # noqa: E731
    return _binary_cases("divide") + [
        Case("divide", "tiny-divisor", f, (np.array([1e-170, 3e-200, 1.0]), np.array([1e-170, 2e-160, 1e-155]))),
        Case("divide", "huge-divisor", f, (np.array([1e300, 1.0]), np.array([1e200, 1e160]))),
    ]


@explicit("pow")
def _pow():
    f = lambda xp, a, b: xp.pow(a, b)  # noqa: E731
    return _binary_cases("pow") + [
        Case("pow", "zero-base", f, (np.array([0.0, 0.0, 0.0, 0.0]), np.array([0.0, 1.0, 2.0, 0.5]))),
        Case("pow", "int-scalar-exponent", lambda xp, a: xp.pow(a, 3), (np.array([-1.5, 0.0, 2.0]),)),
        Case("pow", "zero-scalar-exponent", lambda xp, a: a ** 0, (np.array([-1.5, 0.0, 2.0]),)),
        Case("pow", "scalar-base", lambda xp, a: 2.0 ** a, (np.array([-1.5, 0.0, 2.0]),)),
        Case("pow", "negative-base", f, (np.array([-2.0, -0.5]), np.array([2.0, 3.0]))),
    ]


@explicit("sgn")
def _sgn():
    # xpgrad.xp.sign of complex input dispatches op sgn (the real sign is a constant)
    f = lambda xp, x: xp.sign(x)  # noqa: E731
    rng = rng_for("sgn")
    return [
        Case("sgn", "random", f, (randn(rng, (5,), C128),)),
        Case("sgn", "random-large", f, (randn(rng, (4, 64), C128),), slow=True),
        Case("sgn", "0d", f, (randn(rng, (), C128),)),
        Case("sgn", "special", f, (complex_special_values(),)),
        Case("sgn", "empty", f, (np.zeros((0, 3), dtype=C128),)),
    ]


@explicit("maximum", "minimum")
def _extrema():
    out = []
    for name in ("maximum", "minimum"):
        out += _binary_cases(name)
    return out


def torch_face(path, *lead, **kwargs):
    """A program calling ``xpgrad.<path>`` on xpgrad's side and ``torch.<path>`` on
    PyTorch's, for functions outside the standard (the PyTorch face: ``"sigmoid"``,
    ``"einsum"``, ``"special.erf"``), with the leading non-array arguments ``lead`` (an
    equation, polygamma's order) and keyword arguments ``kwargs`` (logit's ``eps``)."""

    def prog(xp, *args):
        if getattr(xp, "__name__", "") == "xpgrad.xp":
            import xpgrad as fn
        else:
            import torch as fn
        for part in path.split("."):
            fn = getattr(fn, part)
        return fn(*lead, *args, **kwargs)

    return prog


@explicit("sigmoid")
def _sigmoid():
    f = torch_face("sigmoid")
    return cases("sigmoid", ("random", f, lambda rng, dt: (randn(rng, (5,), dt),)),
                 ("0d", f, lambda rng, dt: (randn(rng, (), dt),)),
                 ("large", f, lambda rng, dt: (np.array([-800.0, -40.0, 40.0, 800.0], dtype=dt),),
                  {"dtypes": (F64,)}),
                 dtypes=(F64, F32)) + [
        Case("sigmoid", "empty", f, (np.zeros((0, 3)),)),
    ]


@explicit("clip")
def _clip():
    x = np.array([-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0])
    lo, hi = np.full(7, -1.0), np.full(7, 1.0)
    return [
        Case("clip", "scalar-bounds", lambda xp, x: xp.clip(x, -1.0, 1.0), (x,)),
        Case("clip", "scalar-bounds", lambda xp, x: xp.clip(x, -1.0, 1.0), (x.astype(F32),)),
        Case("clip", "min-only", lambda xp, x: xp.clip(x, min=0.0), (x,)),
        Case("clip", "max-only", lambda xp, x: xp.clip(x, max=0.0), (x,)),
        Case("clip", "array-bounds", lambda xp, x, lo, hi: xp.clip(x, lo, hi), (x, lo, hi)),
        Case("clip", "crossed-bounds", lambda xp, x, lo, hi: xp.clip(x, lo, hi), (x, hi, lo)),
        Case("clip", "broadcast-bounds", lambda xp, x, lo: xp.clip(x, lo, 0.7),
             (randn(rng_for("clip"), (3, 4)), np.array([-0.5, 0.0, 0.3, 1.0]))),
    ]


@explicit("where")
def _where():
    cond = np.array([True, False, True, False])
    f = lambda xp, a, b: xp.where(const(xp, cond, a), a, b)  # noqa: E731
    return cases("where",
                 ("random", f, lambda r, dt: (randn(r, (4,), dt), randn(r, (4,), dt))),
                 ("broadcast", lambda xp, a, b: xp.where(const(xp, cond, a), a, b),
                  lambda r, dt: (randn(r, (3, 4), dt), randn(r, (1,), dt))),
                 ("scalar", lambda xp, a: xp.where(const(xp, cond, a), a, 0.0), lambda r, dt: (randn(r, (4,), dt),)))


@explicit("real", "imag", "conj")
def _parts():
    out = []
    for name in ("real", "imag", "conj"):
        f = lambda xp, x, name=name: getattr(xp, name)(x)  # noqa: E731
        out += cases(name, ("random", f, lambda r, dt: (randn(r, (2, 3), dt),)),
                     ("special", f, lambda r, dt: (complex_special_values(),)), dtypes=(C128,))
    out += cases("conj", ("real", lambda xp, x: xp.conj(x), lambda r, dt: (randn(r, (4,), dt),)), dtypes=(F64,))
    return out


@explicit("abs")
def _abs():
    return _unary_cases("abs") + [
        Case("abs", "complex-zero", lambda xp, x: xp.abs(x), (np.array([0j, 1e-300 + 0j, 3 - 4j]),)),
    ]


# ---------------------------------------------------------------------- reductions

_M = (3, 4)


def _reduction(name, complex_ok=True, **extra):
    fn = lambda **kw: (lambda xp, x: getattr(xp, name)(x, **kw))  # noqa: E731
    dts = (F64, F32, C128) if complex_ok else (F64, F32)
    specs = [
        ("all", fn(), lambda r, dt: (randn(r, _M, dt),)),
        ("axis0", fn(axis=0), lambda r, dt: (randn(r, _M, dt),)),
        ("axis-1-keepdims", fn(axis=-1, keepdims=True), lambda r, dt: (randn(r, (2,) + _M, dt),)),
        ("axes01", fn(axis=(0, 1)), lambda r, dt: (randn(r, (2,) + _M, dt),)),
        ("0d", fn(), lambda r, dt: (randn(r, (), dt),)),
    ]
    specs += [(v, fn(**kw), make) for v, kw, make in extra.get("more", [])]
    return cases(name, *specs, dtypes=dts)


@explicit("sum")
def _sum():
    return _reduction("sum") + cases(
        "sum", ("empty", lambda xp, x: xp.sum(x, axis=0), lambda r, dt: (np.zeros((0, 3), dt),)),
        ("dtype", lambda xp, x: xp.sum(x, dtype=xp.float64), lambda r, dt: (randn(r, (3,), dt),)), dtypes=(F64, F32))


@explicit("mean")
def _mean():
    return _reduction("mean")


@explicit("prod")
def _prod():
    def zeros(count):
        def make(r, dt):
            a = randn(r, _M, dt)
            a.flat[[1, 6][:count]] = 0
            return (a,)
        return make

    f = lambda xp, x: xp.prod(x, axis=-1)  # noqa: E731
    return _reduction("prod") + cases(
        "prod", ("one-zero", f, zeros(1)), ("two-zeros", lambda xp, x: xp.prod(x), zeros(2)),
        ("zeros-in-row", f, lambda r, dt: (np.array([[0.0, 0.0, 2.0], [1.0, 0.0, 3.0]], dt),)),
        ("special", lambda xp, x: xp.prod(x, axis=-1),
         lambda r, dt: (np.array([[np.inf, 2.0, 3.0], [1e200, 1e200, 1e-200]], dt),),
         {"dtypes": (F64,), "checks": ("value", "grad", "jvp")}),  # second derivatives: inf - inf
        ("empty", lambda xp, x: xp.prod(x, axis=0), lambda r, dt: (np.zeros((0, 3), dt),), {"dtypes": (F64,)}))


@explicit("max", "min")
def _max_min():
    out = []
    for name in ("max", "min"):
        out += _reduction(name, complex_ok=False) + cases(
            name,
            ("ties", lambda xp, x, name=name: getattr(xp, name)(x),
             lambda r, dt: (np.array([1.0, 3.0, -3.0, 3.0, -3.0, 0.5], dt),)),
            ("ties-axis", lambda xp, x, name=name: getattr(xp, name)(x, axis=1),
             lambda r, dt: (np.array([[1.0, 1.0, 1.0], [2.0, -2.0, 2.0]], dt),)),
            ("signed-zeros", lambda xp, x, name=name: getattr(xp, name)(x), lambda r, dt: (np.array([0.0, -0.0], dt),)),
            ("inf", lambda xp, x, name=name: getattr(xp, name)(x, axis=-1),
             lambda r, dt: (np.array([[np.inf, 1.0, -np.inf], [np.inf, np.inf, 0.0]], dt),)),
            ("nan", lambda xp, x, name=name: getattr(xp, name)(x, axis=-1),
             lambda r, dt: (np.array([[np.nan, 1.0, 2.0], [1.0, np.nan, np.nan]], dt),)),
            dtypes=(F64, F32))
    return out


@explicit("var", "std")
def _var_std():
    out = []
    for name in ("var", "std"):
        out += _reduction(name, more=[
            ("correction", {"axis": 1, "correction": 1}, lambda r, dt: (randn(r, _M, dt),)),
        ]) + cases(
            name,
            ("constant", lambda xp, x, name=name: getattr(xp, name)(x, axis=1),
             lambda r, dt: (np.array([[2.0, 2.0, 2.0], [1.0, 2.0, 4.0]], dt),)),
            ("empty", lambda xp, x, name=name: getattr(xp, name)(x), lambda r, dt: (np.zeros((0,), dt),)),
            dtypes=(F64,))
    return out


@explicit("cumulative_sum", "cumulative_prod")
def _cumulative():
    out = []
    for name in ("cumulative_sum", "cumulative_prod"):
        g = lambda name=name, **kw: (lambda xp, x: getattr(xp, name)(x, **kw))  # noqa: E731
        out += cases(
            name,
            ("1d", g(), lambda r, dt: (randn(r, (5,), dt),)),
            ("axis0", g(axis=0), lambda r, dt: (randn(r, _M, dt),)),
            ("axis1-initial", g(axis=1, include_initial=True), lambda r, dt: (randn(r, _M, dt),)),
            ("zeros", g(axis=-1),
             lambda r, dt: (np.array([[1.5, 0.0, 2.0, 0.0, 3.0], [0.0, 2.0, -1.0, 4.0, 0.5]], dt),)),
            ("empty", g(axis=0), lambda r, dt: (np.zeros((0, 2), dt),), {"dtypes": (F64,)}),
            ("special", g(), lambda r, dt: (np.array([2.0, np.inf, 0.5, np.nan, 1.0], dt),), {"dtypes": (F64,)}),
        )
    return out


# ---------------------------------------------------------------------- manipulation


def _simple(op, prog, shape, variants=None, dtypes=(F64, F32, C128)):
    return cases(op, (variants or "random", prog, lambda r, dt: (randn(r, shape, dt),)), dtypes=dtypes)


@explicit("reshape")
def _reshape():
    return (_simple("reshape", lambda xp, x: xp.reshape(x, (4, 3)), (3, 4))
            + _simple("reshape", lambda xp, x: xp.reshape(x, (-1,)), (2, 3, 2), "flatten", dtypes=(F64,))
            + _simple("reshape", lambda xp, x: xp.reshape(x, (1, 1)), (), "0d", dtypes=(F64,))
            + _simple("reshape", lambda xp, x: xp.reshape(x, (3, 0)), (0, 3), "empty", dtypes=(F64,)))


@explicit("permute_dims")
def _permute_dims():
    return _simple("permute_dims", lambda xp, x: xp.permute_dims(x, (2, 0, 1)), (2, 3, 4))


@explicit("broadcast_to")
def _broadcast_to():
    return (_simple("broadcast_to", lambda xp, x: xp.broadcast_to(x, (2, 3, 4)), (3, 1))
            + _simple("broadcast_to", lambda xp, x: xp.broadcast_to(x, (3,)), (), "0d", dtypes=(F64,)))


@explicit("expand_dims")
def _expand_dims():
    return _simple("expand_dims", lambda xp, x: xp.expand_dims(x, axis=1), (3, 4))


@explicit("squeeze")
def _squeeze():
    return _simple("squeeze", lambda xp, x: xp.squeeze(x, axis=(0, 2)), (1, 3, 1))


@explicit("astype")
def _astype():
    return [
        Case("astype", "to-float32", lambda xp, x: xp.astype(x, xp.float32), (randn(rng_for("astype"), (4,)),)),
        Case("astype", "to-float64", lambda xp, x: xp.astype(x, xp.float64), (randn(rng_for("astype"), (4,), F32),)),
        Case("astype", "to-complex128", lambda xp, x: xp.astype(x, xp.complex128), (randn(rng_for("astype"), (4,)),)),
        Case("astype", "to-float32-huge", lambda xp, x: xp.astype(x, xp.float32), (np.array([1e300, 1e-300, 1.0]),)),
    ]


@explicit("clone")
def _clone():
    return _simple("clone", lambda xp, x: xp.asarray(x, copy=True) * 2, (3,))


@explicit("concat")
def _concat():
    f = lambda xp, a, b, c: xp.concat([a, b, c], axis=1)  # noqa: E731
    return cases("concat",
                 ("axis1", f, lambda r, dt: (randn(r, (2, 1), dt), randn(r, (2, 3), dt), randn(r, (2, 0), dt))),
                 ("axis-none", lambda xp, a, b: xp.concat([a, b], axis=None),
                  lambda r, dt: (randn(r, (2, 2), dt), randn(r, (3,), dt)), {"dtypes": (F64,)}))


@explicit("stack")
def _stack():
    return cases("stack", ("axis1", lambda xp, a, b: xp.stack([a, b], axis=1),
                           lambda r, dt: (randn(r, (2, 3), dt), randn(r, (2, 3), dt))))


@explicit("flip")
def _flip():
    return (_simple("flip", lambda xp, x: xp.flip(x, axis=0), (3, 4))
            + _simple("flip", lambda xp, x: xp.flip(x), (3, 4), "all", dtypes=(F64,)))


@explicit("roll")
def _roll():
    return (_simple("roll", lambda xp, x: xp.roll(x, 2, axis=1), (3, 4))
            + _simple("roll", lambda xp, x: xp.roll(x, (1, -1), axis=(0, 1)), (3, 4), "axes", dtypes=(F64,))
            + _simple("roll", lambda xp, x: xp.roll(x, 5), (3, 4), "flat", dtypes=(F64,)))


@explicit("repeat")
def _repeat():
    reps = np.array([2, 0, 1])
    return (_simple("repeat", lambda xp, x: xp.repeat(x, 2, axis=0), (3, 2))
            + _simple("repeat", lambda xp, x: xp.repeat(x, const(xp, reps, x), axis=0), (3, 2), "array-repeats")
            + _simple("repeat", lambda xp, x: xp.repeat(x, 3), (2, 2), "flat", dtypes=(F64,)))


@explicit("tile")
def _tile():
    return _simple("tile", lambda xp, x: xp.tile(x, (2, 3)), (2, 2))


# ---------------------------------------------------------------------- indexing


@explicit("getitem")
def _getitem():
    idx = np.array([2, 0, 2, 1])
    mask = np.array([[True, False, True, False], [False, False, True, True], [True, True, False, False]])
    return (_simple("getitem", lambda xp, x: x[1:, ::2], (3, 4), "slices")
            + _simple("getitem", lambda xp, x: x[-1, 2], (3, 4), "integers", dtypes=(F64,))
            + _simple("getitem", lambda xp, x: x[None, ..., 1], (3, 4), "newaxis-ellipsis", dtypes=(F64,))
            + _simple("getitem", lambda xp, x: x[const(xp, idx, x), :], (3, 4), "integer-array")
            + _simple("getitem", lambda xp, x: x[const(xp, mask, x)], (3, 4), "mask")
            + _simple("getitem", lambda xp, x: x[1:1], (3, 4), "empty", dtypes=(F64,)))


def _assigned(key, value_is_array=True):
    def prog(xp, x, v=None):
        y = xp.asarray(x, copy=True)
        k = key(xp, x) if callable(key) else key
        y[k] = v if value_is_array else 0.5
        return y * 1.0
    return prog


# the key of setitem/integer-array-repeated: position 1 written twice, the second value kept
REPEATED_KEY = np.array([1, 1, 3])


@explicit("setitem")
def _setitem():
    idx = np.array([0, 2])
    dup = REPEATED_KEY
    mask = np.array([True, False, True, False])
    return cases(
        "setitem",
        ("slice", _assigned((slice(None), slice(1, 3))), lambda r, dt: (randn(r, (3, 4), dt), randn(r, (3, 2), dt))),
        ("broadcast-value", _assigned((1, Ellipsis)), lambda r, dt: (randn(r, (3, 4), dt), randn(r, (1,), dt))),
        ("scalar-value", _assigned((0, 0), value_is_array=False), lambda r, dt: (randn(r, (3, 4), dt),)),
        ("integer-array", _assigned(lambda xp, x: (Ellipsis, const(xp, idx, x))),
         lambda r, dt: (randn(r, (3, 4), dt), randn(r, (3, 2), dt))),
        ("integer-array-repeated", _assigned(lambda xp, x: const(xp, dup, x)),
         lambda r, dt: (randn(r, (5,), dt), np.array([1.0, 2.0, 3.0], dt))),
        ("mask", _assigned(lambda xp, x: (slice(None), const(xp, mask, x))),
         lambda r, dt: (randn(r, (3, 4), dt), randn(r, (3, 2), dt))),
        dtypes=(F64, C128))


@explicit("scatter_add")
def _scatter_add():
    # diff joins prepend/append to x by adding each into zeros at its slice; indexing with
    # repeated integer indices has scatter_add as its VJP, recorded under create_graph
    # where the cotangent depends on x (the square)
    idx = np.array([2, 0, 2, 1, 2, 2])
    return cases("scatter_add", ("diff-prepend", lambda xp, x, p: xp.diff(x, axis=0, prepend=p),
                                 lambda r, dt: (randn(r, (3, 2), dt), randn(r, (1, 2), dt))),
                 ("diff-append-n2", lambda xp, x, p: xp.diff(x, n=2, append=p),
                  lambda r, dt: (randn(r, (2, 4), dt), randn(r, (2, 1), dt)), {"dtypes": (F64,)}),
                 ("getitem-repeated-squared", lambda xp, x: x[const(xp, idx, x)] ** 2,
                  lambda r, dt: (randn(r, (4,), dt),)),
                 ("take-repeated-squared", lambda xp, x: xp.take(x, const(xp, idx, x), axis=1) ** 2,
                  lambda r, dt: (randn(r, (2, 3), dt),)))


@explicit("cofactor")
def _cofactor():
    # det's gradient is the cofactor matrix, an op whose own derivative is det's second
    f = lambda xp, x: xp.linalg.det(x)  # noqa: E731
    return cases("cofactor",
                 ("det-random", f, lambda r, dt: (randn(r, (3, 3), dt),)),
                 ("det-batch", f, lambda r, dt: (randn(r, (2, 3, 3), dt),), {"dtypes": (F64, C128)}),
                 ("det-rank-deficient-1", f, lambda r, dt: (_singular(2, dt=dt),), {"dtypes": (F64,)}),
                 ("det-rank-deficient-2", f, lambda r, dt: (_singular(1, dt=dt),), {"dtypes": (F64,)}),
                 ("det-repeated-singular-values", f, lambda r, dt: (_orthogonal(dt=dt),), {"dtypes": (F64,)}),
                 ("det-identity", f, lambda r, dt: (np.eye(3, dtype=dt),), {"dtypes": (F64, C128)}))


@explicit("take")
def _take():
    idx = np.array([2, 0, 2])
    return (_simple("take", lambda xp, x: xp.take(x, const(xp, idx, x), axis=1), (2, 3))
            + _simple("take", lambda xp, x: xp.take(x, const(xp, idx, x)), (4,), "1d", dtypes=(F64,)))


@explicit("take_along_axis")
def _take_along_axis():
    idx = np.array([[0, 0, 2], [1, 2, 1]])
    return _simple("take_along_axis", lambda xp, x: xp.take_along_axis(x, const(xp, idx, x), axis=1), (2, 3))


# ---------------------------------------------------------------------- sorting, sets


def _sort_specs(op):
    return cases(
        op,
        ("random", lambda xp, x: xp.sort(x), lambda r, dt: (randn(r, (3, 5), dt),)),
        ("axis0-descending", lambda xp, x: xp.sort(x, axis=0, descending=True), lambda r, dt: (randn(r, (3, 4), dt),)),
        ("ties", lambda xp, x: xp.sort(x), lambda r, dt: (np.array([2.0, 1.0, 2.0, 0.0, 1.0], dt),)),
        ("ties-descending", lambda xp, x: xp.sort(x, descending=True),
         lambda r, dt: (np.array([2.0, 1.0, 2.0, 0.0, 1.0], dt),)),
        ("special", lambda xp, x: xp.sort(x), lambda r, dt: (special_values(dt)[:-1],)),
        dtypes=(F64, F32))


@explicit("sort")
def _sort():
    return _sort_specs("sort")


@explicit("argsort")
def _argsort():
    return [Case("argsort", c.variant, lambda xp, x, c=c: xp.argsort(x, axis=-1 if "axis0" not in c.variant else 0,
                                                                  descending="descending" in c.variant), c.args)
            for c in _sort_specs("argsort")]


@explicit("searchsorted")
def _searchsorted():
    s = np.sort(special_values(F64)[:-1])
    return cases("searchsorted",
                 ("left", lambda xp, a, v: xp.searchsorted(a, v), lambda r, dt: (s.astype(dt), special_values(dt))),
                 ("right", lambda xp, a, v: xp.searchsorted(a, v, side="right"),
                  lambda r, dt: (np.array([0.0, 1.0, 1.0, 2.0], dt), np.array([1.0, -1.0, 3.0, 0.5], dt))),
                 dtypes=(F64, F32))


@explicit("permute_along_axis")
def _permute_along_axis():
    # sort's gradient is this op: recorded where the cotangent depends on x (second order)
    return cases("permute_along_axis",
                 ("sort-squared", lambda xp, x: xp.sort(x) ** 2, lambda r, dt: (randn(r, (3, 5), dt),)),
                 ("ties-squared", lambda xp, x: xp.sort(x, descending=True) ** 2,
                  lambda r, dt: (np.array([2.0, 1.0, 2.0, 0.0, 1.0], dt),)),
                 dtypes=(F64, F32))


@explicit("unique_values")
def _unique_values():
    return cases("unique_values",
                 ("repeated", lambda xp, x: xp.unique_values(x),
                  lambda r, dt: (np.array([3.0, 1.0, 3.0, 2.0, 1.0, 3.0], dt),)),
                 ("matrix", lambda xp, x: xp.unique_values(x),
                  lambda r, dt: (np.array([[1.0, 2.0], [2.0, -1.0]], dt),)),
                 ("signed-zeros", lambda xp, x: xp.unique_values(x), lambda r, dt: (np.array([0.0, -0.0, 1.0], dt),)),
                 dtypes=(F64, F32))


# ---------------------------------------------------------------------- linear algebra


@explicit("matmul")
def _matmul():
    f = lambda xp, a, b: xp.matmul(a, b)  # noqa: E731
    return cases(
        "matmul",
        ("matrix", f, lambda r, dt: (randn(r, (3, 4), dt), randn(r, (4, 2), dt))),
        ("vector-matrix", f, lambda r, dt: (randn(r, (4,), dt), randn(r, (4, 2), dt))),
        ("matrix-vector", f, lambda r, dt: (randn(r, (3, 4), dt), randn(r, (4,), dt))),
        ("dot", f, lambda r, dt: (randn(r, (4,), dt), randn(r, (4,), dt))),
        ("batch-broadcast", f, lambda r, dt: (randn(r, (2, 1, 3, 4), dt), randn(r, (5, 4, 2), dt))),
        ("empty-inner", f, lambda r, dt: (randn(r, (3, 0), dt), randn(r, (0, 2), dt)), {"dtypes": (F64,)}),
        ("operator", lambda xp, a, b: a @ b, lambda r, dt: (randn(r, (2, 3), dt), randn(r, (3, 2), dt)),
         {"dtypes": (F64,)}),
        ("tensordot", lambda xp, a, b: xp.tensordot(a, b, axes=([1, 2], [0, 1])),
         lambda r, dt: (randn(r, (2, 3, 4), dt), randn(r, (3, 4, 2), dt))),
    ) + cases("sum", ("vecdot", lambda xp, a, b: xp.vecdot(a, b),
                       lambda r, dt: (randn(r, (3, 4), dt), randn(r, (4,), dt))))


@explicit("einsum")
def _einsum():
    def spec(variant, equation, *shapes, **options):
        return (variant, torch_face("einsum", equation), lambda r, dt: tuple(randn(r, s, dt) for s in shapes), options)

    only64 = {"dtypes": (F64,)}
    return cases(
        "einsum",
        spec("matmul", "ij,jk->ik", (3, 4), (4, 2)),
        spec("batch-ellipsis-broadcast", "...ij,...jk->...ik", (2, 1, 2, 3), (3, 3, 2)),
        spec("trace", "ii->", (3, 3)),
        spec("diagonal", "ii->i", (3, 3)),
        spec("implicit", "ij,jk", (2, 3), (3, 2)),
        spec("three", "ij,jk,kl->il", (2, 3), (3, 2), (2, 4)),
        spec("repeated-across-three", "i,i,i->i", (4,), (4,), (4,)),
        spec("summed-in-one-operand", "ij,jk->k", (2, 3), (3, 2), **only64),
        spec("diagonal-and-contraction", "ii,ij->j", (3, 3), (3, 2), **only64),
        spec("ellipsis-summed", "...ij->ij", (4, 2, 3), **only64),
        spec("broadcast-length-one", "ij,jk->ik", (2, 1), (3, 2), **only64),
        spec("scalars", ",->", (), (), **only64),
        spec("empty", "ij,jk->ik", (2, 0), (0, 3), **only64),
    )


@explicit("matrix_transpose")
def _matrix_transpose():
    return _simple("matrix_transpose", lambda xp, x: xp.matrix_transpose(x), (2, 3, 4))


@explicit("outer")
def _outer():
    return cases("outer", ("random", lambda xp, a, b: xp.linalg.outer(a, b),
                           lambda r, dt: (randn(r, (3,), dt), randn(r, (4,), dt))))


@explicit("cross")
def _cross():
    return cases("cross",
                 ("random", lambda xp, a, b: xp.linalg.cross(a, b),
                  lambda r, dt: (randn(r, (2, 3), dt), randn(r, (2, 3), dt))),
                 ("axis0-broadcast", lambda xp, a, b: xp.linalg.cross(a, b, axis=0),
                  lambda r, dt: (randn(r, (3, 4), dt), randn(r, (3, 1), dt))))


@explicit("trace")
def _trace():
    return (_simple("trace", lambda xp, x: xp.linalg.trace(x), (2, 3, 3))
            + _simple("trace", lambda xp, x: xp.linalg.trace(x, offset=1), (3, 4), "offset", dtypes=(F64,)))


@explicit("diagonal")
def _diagonal():
    return (_simple("diagonal", lambda xp, x: xp.linalg.diagonal(x), (2, 3, 4))
            + _simple("diagonal", lambda xp, x: xp.linalg.diagonal(x, offset=-1), (3, 4), "offset", dtypes=(F64,)))


@explicit("inv")
def _inv():
    return cases("inv",
                 ("random", lambda xp, x: xp.linalg.inv(x), lambda r, dt: (well_conditioned(r, 3, dt),)),
                 ("batch", lambda xp, x: xp.linalg.inv(x), lambda r, dt: (well_conditioned(r, 2, dt, (2,)),)),
                 ("near-singular", lambda xp, x: xp.linalg.inv(x),
                  lambda r, dt: (np.array([[1.0, 2.0], [1.0, 2.0 + 1e-6]], dt),), {"rtol": 1e-5, "dtypes": (F64,)}))


@explicit("solve")
def _solve():
    f = lambda xp, a, b: xp.linalg.solve(a, b)  # noqa: E731
    return cases("solve",
                 ("matrix", f, lambda r, dt: (well_conditioned(r, 3, dt), randn(r, (3, 2), dt))),
                 ("vector", f, lambda r, dt: (well_conditioned(r, 3, dt), randn(r, (3,), dt))),
                 ("batch-broadcast", f, lambda r, dt: (well_conditioned(r, 2, dt, (2,)), randn(r, (2, 1), dt))))


def _singular(rank, n=3, dt=F64):
    r = rng_for("singular", rank, n, dt)
    u, _ = np.linalg.qr(randn(r, (n, n)))
    v, _ = np.linalg.qr(randn(r, (n, n)))
    s = np.array([2.0, 1.0, 0.5][:rank] + [0.0] * (n - rank))
    return (u @ np.diag(s) @ v.T).astype(dt)


def _orthogonal(n=3, dt=F64):
    q, _ = np.linalg.qr(randn(rng_for("orthogonal", n), (n, n)))
    return q.astype(dt)


@explicit("det")
def _det():
    f = lambda xp, x: xp.linalg.det(x)  # noqa: E731
    return cases("det",
                 ("random", f, lambda r, dt: (randn(r, (3, 3), dt),)),
                 ("batch", f, lambda r, dt: (randn(r, (2, 2, 2), dt),)),
                 ("1x1-zero", f, lambda r, dt: (np.zeros((1, 1), dt),), {"dtypes": (F64,)}),
                 ("rank-deficient-1", f, lambda r, dt: (_singular(2, dt=dt),), {"dtypes": (F64,)}),
                 ("rank-deficient-2", f, lambda r, dt: (_singular(1, dt=dt),), {"dtypes": (F64,)}),
                 ("repeated-singular-values", f, lambda r, dt: (_orthogonal(dt=dt),), {"dtypes": (F64,)}),
                 ("identity", f, lambda r, dt: (np.eye(3, dtype=dt),), {"dtypes": (F64,)}),
                 ("near-singular", f, lambda r, dt: (np.array([[1.0, 2.0], [1.0, 2.0 + 1e-9]], dt),),
                  {"dtypes": (F64,), "rtol": 1e-3}))


@explicit("slogdet_sign", "slogdet_logabsdet", "slogdet_phase")
def _slogdet():
    out = []
    for op, part, dts in (("slogdet_sign", 0, (F64, F32)), ("slogdet_logabsdet", 1, (F64, F32, C128)),
                          ("slogdet_phase", 0, (C128,))):
        f = lambda xp, x, part=part: xp.linalg.slogdet(x)[part]  # noqa: E731
        out += cases(op, ("random", f, lambda r, dt: (randn(r, (3, 3), dt),)),
                     ("batch", f, lambda r, dt: (randn(r, (2, 2, 2), dt),)), dtypes=dts)
    out += cases("slogdet_logabsdet",
                 ("singular", lambda xp, x: xp.linalg.slogdet(x)[1],
                  lambda r, dt: (np.array([[1.0, 2.0], [2.0, 4.0]], dt),)),
                 dtypes=(F64,))
    return out


@explicit("matrix_power")
def _matrix_power():
    out = []
    for n in (0, 1, 2, 3, -1, -2):
        out += cases("matrix_power", (f"n={n}", lambda xp, x, n=n: xp.linalg.matrix_power(x, n),
                                      lambda r, dt: (well_conditioned(r, 3, dt) / 3,)),
                     dtypes=(F64, C128) if n not in (2, -1) else (F64, F32, C128))
    return out


@explicit("pinv")
def _pinv():
    f = lambda xp, x: xp.linalg.pinv(x)  # noqa: E731
    return cases("pinv",
                 ("square", f, lambda r, dt: (well_conditioned(r, 3, dt),)),
                 ("tall", f, lambda r, dt: (randn(r, (4, 2), dt),)),
                 ("wide", f, lambda r, dt: (randn(r, (2, 4), dt),)),
                 ("rank-deficient", f, lambda r, dt: (_singular(2, dt=dt),), {"dtypes": (F64,)}),
                 ("float-rtol", lambda xp, x: xp.linalg.pinv(x, rtol=0.3), lambda r, dt: (_singular(3, dt=dt),),
                  {"dtypes": (F64,)}),
                 ("array-rtol", lambda xp, x: xp.linalg.pinv(x, rtol=const(xp, 0.3, x)),
                  lambda r, dt: (_singular(3, dt=dt),), {"dtypes": (F64,)}),
                 ("batch-array-rtol", lambda xp, x: xp.linalg.pinv(x, rtol=const(xp, np.array([0.3, 0.01]), x)),
                  lambda r, dt: (np.stack([_singular(3, dt=dt), _singular(3, dt=dt)]),), {"dtypes": (F64,)}))


@explicit("matrix_rank")
def _matrix_rank():
    return cases("matrix_rank",
                 ("rank-2", lambda xp, x: xp.linalg.matrix_rank(x), lambda r, dt: (_singular(2, dt=dt),)),
                 ("array-rtol", lambda xp, x: xp.linalg.matrix_rank(x, rtol=const(xp, 0.3, x)),
                  lambda r, dt: (_singular(3, dt=dt),)),
                 ("batch-array-rtol", lambda xp, x: xp.linalg.matrix_rank(x, rtol=const(xp, np.array([0.3, 0.01]), x)),
                  lambda r, dt: (np.stack([_singular(3, dt=dt), _singular(3, dt=dt)]),)),
                 dtypes=(F64,))


@explicit("vector_norm")
def _vector_norm():
    specs = []
    zeros = lambda r, dt: (np.array([[0.0, 1.5, -2.0], [0.0, 0.0, 0.0]], dt),)  # noqa: E731
    for ord_ in (2, 1, np.inf, -np.inf, 3, 0.5, -1, 0):
        f = lambda xp, x, o=ord_: xp.linalg.vector_norm(x, ord=o, axis=-1)  # noqa: E731
        specs.append((f"ord={ord_}", f, lambda r, dt: (randn(r, (2, 3), dt),)))
        specs.append((f"ord={ord_}-zeros", f, zeros, {"dtypes": (F64,)}))
    specs += [
        ("all-keepdims", lambda xp, x: xp.linalg.vector_norm(x, keepdims=True), lambda r, dt: (randn(r, (2, 3), dt),)),
        ("axes", lambda xp, x: xp.linalg.vector_norm(x, axis=(0, 2)), lambda r, dt: (randn(r, (2, 3, 2), dt),)),
        ("huge", lambda xp, x: xp.linalg.vector_norm(x), lambda r, dt: (np.array([1e300, 1e300], dt),),
         {"dtypes": (F64,)}),
        ("tiny", lambda xp, x: xp.linalg.vector_norm(x), lambda r, dt: (np.array([1e-300, 3e-300], dt),),
         {"dtypes": (F64,)}),
        ("inf", lambda xp, x: xp.linalg.vector_norm(x, ord=np.inf),
         lambda r, dt: (np.array([1.0, -3.0, 3.0], dt),), {"dtypes": (F64,)}),
    ]
    return cases("vector_norm", *specs)


# ---------------------------------------------------------------------- decompositions


@explicit("cholesky")
def _cholesky():
    return cases("cholesky",
                 ("lower", lambda xp, x: xp.linalg.cholesky(_hermitian_part(xp, x)), lambda r, dt: (spd(r, 3, dt),)),
                 ("upper", lambda xp, x: xp.linalg.cholesky(_hermitian_part(xp, x), upper=True),
                  lambda r, dt: (spd(r, 3, dt),)),
                 ("lower-triangle", lambda xp, x: xp.linalg.cholesky(x),
                  lambda r, dt: (spd(r, 3, dt) + np.triu(np.ones((3, 3)), 1).astype(dt),), _FIRST_ORDER))


def _sym(r, n, dt, eig=None):
    q, _ = np.linalg.qr(randn(r, (n, n), dt))
    w = np.array(eig if eig is not None else np.sort(r.standard_normal(n)) * 2 + np.arange(n))
    return (q @ np.diag(w) @ q.conj().T).astype(dt)


# The lower-triangle cases compare the first derivative only: PyTorch's convention (a
# symmetric gradient) has no second derivative or JVP to set beside a triangle's.
_FIRST_ORDER = {"checks": ("value", "grad")}


def _hermitian_part(xp, x):
    """``(x + x^H) / 2``: the programs hand eigh and cholesky a symmetric matrix, whose
    gradient is the same whichever triangle a library reads."""
    return (x + xp.conj(xp.matrix_transpose(x))) / 2


def _weights_like(xp, w, x):
    w = const(xp, np.asarray(w), x)
    return xp.astype(w, xp.real(x).dtype if xp.isdtype(x.dtype, "complex floating") else x.dtype)


def _gauge_free(xp, v, w):
    """Functions of eigenvectors that do not depend on their signs or phases:
    ``V diag(w) V^H`` and ``|V|^2``."""
    vh = xp.conj(xp.matrix_transpose(v))
    return (v * w) @ vh, xp.real(v * xp.conj(v))


def _eigh_vectors(w):
    return lambda xp, x: _gauge_free(xp, xp.linalg.eigh(_hermitian_part(xp, x))[1], _weights_like(xp, w, x))


@explicit("eigh_eigenvalues", "eigh_eigenvectors", "eigvalsh")
def _eigh():
    values = lambda xp, x: xp.linalg.eigh(_hermitian_part(xp, x))[0]  # noqa: E731
    cube_sum = lambda xp, x: xp.sum(xp.linalg.eigvalsh(_hermitian_part(xp, x)) ** 3)  # noqa: E731
    lower = lambda r, dt: (_sym(r, 3, dt) + np.triu(np.ones((3, 3)), 1).astype(dt),)  # noqa: E731
    return (cases("eigh_eigenvalues", ("random", values, lambda r, dt: (_sym(r, 3, dt),)),
                  ("repeated-symmetric-function", lambda xp, x: xp.sum(xp.linalg.eigh(_hermitian_part(xp, x))[0] ** 3),
                   lambda r, dt: (_sym(r, 3, dt, [1.0, 1.0, 2.0]),)),
                  ("lower-triangle", lambda xp, x: xp.linalg.eigh(x)[0], lower, _FIRST_ORDER))
            + cases("eigh_eigenvectors", ("random", _eigh_vectors([1.0, -2.0, 3.0]), lambda r, dt: (_sym(r, 3, dt),)),
                    # PyTorch's second derivative and JVP here are its gradient's 1/gap noise
                    ("repeated", lambda xp, x: _eigh_vectors([1.0, 1.0, 3.0])(xp, x)[0],
                     lambda r, dt: (_sym(r, 3, dt, [1.0, 1.0, 2.0]),), dict(_FIRST_ORDER, dtypes=(F64,))),
                    ("lower-triangle",
                     lambda xp, x: _gauge_free(xp, xp.linalg.eigh(x)[1], _weights_like(xp, [1.0, -2.0, 3.0], x)),
                     lower, _FIRST_ORDER))
            + cases("eigvalsh",
                    ("random", lambda xp, x: xp.linalg.eigvalsh(_hermitian_part(xp, x)),
                     lambda r, dt: (_sym(r, 3, dt),)),
                    ("repeated-symmetric-function", cube_sum, lambda r, dt: (_sym(r, 3, dt, [2.0, 2.0, 2.0]),)),
                    ("lower-triangle", lambda xp, x: xp.linalg.eigvalsh(x), lower, _FIRST_ORDER)))


def _power_sums(xp, w):
    """``sum(w^k)`` for k = 1, 2, 3: functions of the eigenvalues as a set (the order
    is each library's)."""
    return xp.stack([xp.sum(w, axis=-1), xp.sum(w * w, axis=-1), xp.sum(w * w * w, axis=-1)], axis=-1)


def _eig_phase_free(xp, x):
    """``V diag(exp(L / 2)) V^-1`` (``exp(x / 2)``) and ``sum_k Re(L_k) |V_ik|^2``:
    functions of the eigenvectors that depend neither on their phases nor on the order."""
    w, v = xp.linalg.eig(x)
    return ((v * xp.exp(w / 2)[..., None, :]) @ xp.linalg.inv(v),
            xp.sum(xp.abs(v) ** 2 * xp.real(w)[..., None, :], axis=-1))


def _separated(r, dt, batch=()):
    """General matrices whose eigenvalues are apart (near 3, 0 and -3): the derivatives
    divide by their gaps, which single precision would otherwise not resolve."""
    return (0.5 * randn(r, batch + (3, 3), dt) + np.diag([3.0, 0.0, -3.0])).astype(dt)


def _complex_pair(r, dt):
    """``S B S^-1`` with the eigenvalues 2 and -1 +- 1.5i (a complex pair of a real matrix)."""
    s = randn(r, (3, 3), dt) + 2 * np.eye(3)
    b = np.array([[2.0, 0.0, 0.0], [0.0, -1.0, 1.5], [0.0, -1.5, -1.0]])
    return (s @ b @ np.linalg.inv(s)).astype(dt)


@explicit("eig_eigenvalues", "eig_eigenvectors")
def _eig():
    # xpgrad.xp.linalg.eigvals while recording is eig's eigenvalues (op eig_eigenvalues)
    general = lambda r, dt: (_separated(r, dt),)  # noqa: E731
    batched = lambda r, dt: (_separated(r, dt, (2,)),)  # noqa: E731
    pair = lambda r, dt: (_complex_pair(r, dt),)  # noqa: E731
    return (cases("eig_eigenvalues",
                  ("power-sums", lambda xp, x: _power_sums(xp, xp.linalg.eig(x)[0]), general),
                  ("power-sums-complex-pair", lambda xp, x: _power_sums(xp, xp.linalg.eig(x)[0]), pair),
                  ("eigvals-batched", lambda xp, x: _power_sums(xp, xp.linalg.eigvals(x)), batched))
            + cases("eig_eigenvectors", ("phase-free", _eig_phase_free, general),
                    ("phase-free-complex-pair", _eig_phase_free, pair),
                    ("phase-free-batched", _eig_phase_free, batched)))


@explicit("qr_q", "qr_r")
def _qr():
    out = []
    for op, part in (("qr_q", 0), ("qr_r", 1)):
        f = lambda xp, x, part=part, **kw: xp.linalg.qr(x, **kw)[part]  # noqa: E731
        out += cases(op,
                     ("square", f, lambda r, dt: (randn(r, (3, 3), dt),)),
                     ("tall", f, lambda r, dt: (randn(r, (4, 2), dt),)),
                     ("complete-square", lambda xp, x, part=part: xp.linalg.qr(x, mode="complete")[part],
                      lambda r, dt: (randn(r, (3, 3), dt),)),
                     ("rank-deficient", f,
                      lambda r, dt: (np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 1.0]], dt),),
                      {"dtypes": (F64,)}))
    return out


def _svd_gauge_free(xp, x, **kw):
    u, s, vh = xp.linalg.svd(x, **kw)
    k = s.shape[-1]
    return u[..., :, :k] @ vh[..., :k, :], s


@explicit("svd_u", "svd_s", "svd_vh", "svd_packed")
def _svd():
    out = []
    f = lambda xp, x: _svd_gauge_free(xp, x, full_matrices=False)  # noqa: E731
    for op, dts in (("svd_u", (F64, F32)), ("svd_vh", (F64, F32)), ("svd_s", (F64, F32)), ("svd_packed", (C128,))):
        out += cases(op,
                     ("square", f, lambda r, dt: (randn(r, (3, 3), dt),)),
                     ("tall", f, lambda r, dt: (randn(r, (4, 2), dt),)),
                     ("wide", f, lambda r, dt: (randn(r, (2, 4), dt),)),
                     dtypes=dts)
    out += cases("svd_s", ("values-only", lambda xp, x: xp.linalg.svd(x)[1], lambda r, dt: (randn(r, (3, 2), dt),)),
                 ("repeated-symmetric-function", lambda xp, x: xp.sum(xp.linalg.svd(x)[1] ** 3),
                  lambda r, dt: (_orthogonal(dt=dt),)), dtypes=(F64,))
    return out


@explicit("svdvals")
def _svdvals():
    f = lambda xp, x: xp.linalg.svdvals(x)  # noqa: E731
    return cases("svdvals", ("random", f, lambda r, dt: (randn(r, (3, 4), dt),)),
                 ("repeated-symmetric-function", lambda xp, x: xp.sum(xp.linalg.svdvals(x) ** 3),
                  lambda r, dt: (_orthogonal(dt=dt),), {"dtypes": (F64,)}),
                 ("matrix-norms", lambda xp, x: tuple(xp.linalg.matrix_norm(x, ord=o) for o in ("nuc", 2, -2)),
                  lambda r, dt: (randn(r, (3, 4), dt),)),
    ) + cases("vector_norm", ("matrix-norms", lambda xp, x: tuple(xp.linalg.matrix_norm(x, ord=o)
                                                                for o in ("fro", 1, -1, np.inf, -np.inf)),
                              lambda r, dt: (randn(r, (3, 4), dt),)))


# ---------------------------------------------------------------------- Fourier transforms


@explicit("fft", "ifft", "fftn", "ifftn")
def _c2c():
    out = []
    for name in ("fft", "ifft"):
        g = lambda name=name, **kw: (lambda xp, x: getattr(xp.fft, name)(x, **kw))  # noqa: E731
        out += cases(name,
                     ("default", g(), lambda r, dt: (randn(r, (2, 5), dt),)),
                     ("n-pad-ortho", g(n=7, norm="ortho"), lambda r, dt: (randn(r, (5,), dt),)),
                     ("n-crop-forward-axis0", g(n=3, axis=0, norm="forward"), lambda r, dt: (randn(r, (5, 2), dt),)),
                     dtypes=(C128,))
    for name in ("fftn", "ifftn"):
        g = lambda name=name, **kw: (lambda xp, x: getattr(xp.fft, name)(x, **kw))  # noqa: E731
        out += cases(name,
                     ("default", g(), lambda r, dt: (randn(r, (2, 3, 4), dt),)),
                     ("s-axes-ortho", g(s=(4, 2), axes=(0, 2), norm="ortho"), lambda r, dt: (randn(r, (2, 3, 4), dt),)),
                     dtypes=(C128,))
    return out


@explicit("rfft", "irfft", "rfftn", "irfftn")
def _real_fft():
    out = []
    for name in ("rfft",):
        g = lambda **kw: (lambda xp, x: xp.fft.rfft(x, **kw))  # noqa: E731
        out += cases(name, ("even", g(), lambda r, dt: (randn(r, (2, 6), dt),)),
                     ("odd-n-ortho", g(n=5, norm="ortho"), lambda r, dt: (randn(r, (7,), dt),)),
                     ("hfft", lambda xp, x: xp.fft.ihfft(x), lambda r, dt: (randn(r, (6,), dt),)), dtypes=(F64, F32))
    g = lambda **kw: (lambda xp, x: xp.fft.irfft(x, **kw))  # noqa: E731
    out += cases("irfft", ("default", g(), lambda r, dt: (randn(r, (2, 4), dt),)),
                 ("odd-n-forward", g(n=5, norm="forward"), lambda r, dt: (randn(r, (3,), dt),)),
                 ("hfft", lambda xp, x: xp.fft.hfft(x), lambda r, dt: (randn(r, (4,), dt),)), dtypes=(C128,))
    out += cases("rfftn", ("default", lambda xp, x: xp.fft.rfftn(x), lambda r, dt: (randn(r, (3, 4), dt),)),
                 ("s-ortho", lambda xp, x: xp.fft.rfftn(x, s=(2, 5), axes=(0, 1), norm="ortho"),
                  lambda r, dt: (randn(r, (3, 4), dt),)),
                 dtypes=(F64,))
    out += cases("irfftn", ("default", lambda xp, x: xp.fft.irfftn(x), lambda r, dt: (randn(r, (3, 3), dt),)),
                 ("s-ortho", lambda xp, x: xp.fft.irfftn(x, s=(2, 5), axes=(0, 1), norm="ortho"),
                  lambda r, dt: (randn(r, (3, 3), dt),)),
                 dtypes=(C128,))
    return out


# ---------------------------------------------------------------------- special functions


def special_face(name, *lead, **kwargs):
    """``torch_face`` for ``special.<name>``."""
    return torch_face(f"special.{name}", *lead, **kwargs)


def _in(lo, hi, shape=(5,)):
    return lambda rng, dt: (rng.uniform(lo, hi, shape).astype(dt),)


# op: (program variants as (variant, prog, domain), points where the conventions show).
# Each gets random inputs in its domain (float64 and float32, and 0-d), and its edge
# points in float64, compared in value and first-order gradient (second derivatives and
# tangents there are infinite or nan on both sides, which says nothing).
_SPECIAL = {
    "erf": ([("random", special_face("erf"), (-2.0, 2.0))], [0.0, -0.0, 40.0, -40.0, np.inf, -np.inf, np.nan]),
    "erfc": ([("random", special_face("erfc"), (-2.0, 2.0))], [0.0, -30.0, 30.0, np.inf, -np.inf]),
    "erfinv": ([("random", special_face("erfinv"), (-0.9, 0.9))], [1.0, -1.0, 0.0, 1.5, np.nan]),
    "gammaln": ([("random", special_face("gammaln"), (0.2, 4.0)), ("negative", special_face("gammaln"), (-2.9, -2.1))],
                [0.0, -1.0, -2.5, 1e-300, 1e300, np.inf]),
    "digamma": ([("random", special_face("digamma"), (0.2, 4.0))], [0.0, -2.5, 1e-300, np.inf, np.nan]),
    "polygamma": ([("n0", special_face("polygamma", 0), (0.2, 4.0)), ("n1", special_face("polygamma", 1), (0.2, 4.0)),
                   ("n2", special_face("polygamma", 2), (0.3, 4.0))], [0.5, -2.5, np.inf]),
    "ndtr": ([("random", special_face("ndtr"), (-3.0, 3.0))], [0.0, -40.0, 40.0, np.inf, -np.inf]),
    "log_ndtr": ([("random", special_face("log_ndtr"), (-6.0, 3.0))], [0.0, -40.0, -1e3, 40.0, np.inf]),
    "ndtri": ([("random", special_face("ndtri"), (0.05, 0.95))], [0.0, 1.0, 0.5, 1.5, np.nan]),
    "i0": ([("random", special_face("i0"), (-3.0, 3.0))], [0.0, -0.0, 700.0, -700.0, np.inf]),
    "i0e": ([("random", special_face("i0e"), (-3.0, 3.0))], [0.0, 1e-20, 1e5, -1e5, np.inf, -np.inf]),
    "i1": ([("random", special_face("i1"), (-3.0, 3.0))], [0.0, -0.0, 1e-20, 700.0, -700.0]),
    "i1e": ([("random", special_face("i1e"), (-3.0, 3.0))], [0.0, 1e-20, 1e5, -1e5, np.inf, -np.inf]),
    "logit": ([("random", special_face("logit"), (0.05, 0.95)), ("eps", special_face("logit", eps=0.2), (0.0, 1.0))],
              [-0.5, 1.5, 0.3, np.nan]),
    "sinc": ([("random", special_face("sinc"), (-3.0, 3.0))], [0.0, -0.0, 1.0, -3.0, 1e-300]),
    "entr": ([("random", special_face("entr"), (0.1, 3.0))], [0.0, -1.0, 2.0, np.inf, np.nan]),
}


def _special_cases(op):
    variants, edges = _SPECIAL[op]
    specs = []
    for variant, prog, (lo, hi) in variants:
        specs.append((variant, prog, _in(lo, hi)))
        specs.append((f"{variant}-0d", prog, _in(lo, hi, ())))
    out = cases(op, *specs, dtypes=(F64, F32))
    prog = variants[0][1]
    out.append(Case(op, "edges", prog, (np.array(edges),), checks=("value", "grad")))
    out.append(Case(op, "empty", prog, (np.zeros((0, 3)),)))
    return out


for _op in _SPECIAL:
    explicit(_op)(lambda _op=_op: _special_cases(_op))


@explicit("xlogy", "xlog1py")
def _xlogy_xlog1py():
    out = []
    for name, (lo, hi), edge in (("xlogy", (0.2, 3.0), 0.0), ("xlog1py", (-0.8, 3.0), -1.0)):
        f = special_face(name)
        out += cases(name,
                     ("random", f, lambda rng, dt, lo=lo, hi=hi: (randn(rng, (5,), dt),
                                                                  rng.uniform(lo, hi, (5,)).astype(dt))),
                     ("broadcast", f, lambda rng, dt, lo=lo, hi=hi: (randn(rng, (3, 1), dt),
                                                                     rng.uniform(lo, hi, (4,)).astype(dt))),
                     ("scalar-y", lambda xp, x, name=name: special_face(name)(xp, x, 2.5),
                      lambda rng, dt: (randn(rng, (4,), dt),)),
                     dtypes=(F64, F32))
        x = np.array([0.0, 0.0, 0.0, 0.0, 2.0, 1.0, np.nan, -1.5])
        y = np.array([0.5, edge, edge - 1.0, np.inf, np.nan, edge, 1.0, 2.0])
        out.append(Case(name, "zeros", f, (x, y), checks=("value", "grad")))
        out.append(Case(name, "empty", f, (np.zeros((0, 3)), np.ones((3,)))))
    return out
