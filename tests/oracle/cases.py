"""The cases: one program, its inputs, and which op of the registry it covers.

Every op of the registry that is differentiable (``Op.differentiable``) needs a case or
an entry in :data:`EXCLUDED`; ``test_every_op_has_a_case`` fails otherwise. Cases come
from two places:

- :func:`default_cases`, from what the registry says: an elementwise op (or any op of
  one or two arrays whose name is a function of ``xpgrad.xp``) gets random inputs in its
  domain (:data:`DOMAINS`), special values (signed zeros, subnormals, huge values, the
  infinities, NaN), broadcasting pairs and 0-d and empty shapes, in each dtype it
  supports (:data:`REAL_ONLY`). A newly registered elementwise op is covered by these
  without editing this file;
- :data:`EXPLICIT`, one generator per op whose arguments need shaping (matrices,
  reductions, indexing, decompositions) or which is reached only through another
  function (``qr_q`` through ``linalg.qr``, ``scatter_add`` through ``diff``).

A case's program ``prog(xp, *arrays)`` is written against the standard and runs
unchanged on both sides; constants (indices, masks) are made with :func:`const`.
"""
import math
from dataclasses import dataclass, field

import numpy as np

from .harness import COMPONENTS, seed_of

DTYPES = ("float64", "float32", "complex128")


@dataclass(frozen=True)
class Case:
    op: str  # the registry op the case covers: it must be recorded in the case's graph
    variant: str
    prog: object  # prog(xp, *arrays) -> array or tuple of arrays
    args: tuple  # NumPy arrays: the inputs, each differentiated
    checks: tuple = COMPONENTS
    rtol: float = None
    atol: float = None
    slow: bool = False
    dtype: str = field(default=None)

    def __post_init__(self):
        if self.dtype is None:
            object.__setattr__(self, "dtype", str(self.args[0].dtype) if self.args else "none")

    @property
    def id(self):
        return f"{self.op}/{self.variant}/{self.dtype}"

    def arrays(self):
        return [np.array(a, copy=True) for a in self.args]


def const(xp, value, like):
    """A constant array of ``value`` (NumPy or Python data) on ``like``'s device."""
    return xp.asarray(value, device=like.device)


def rng_for(*parts):
    return np.random.default_rng(seed_of("/".join(map(str, parts))))


def tiny(dtype):
    """The smallest positive subnormal of a real dtype."""
    return float(np.finfo(dtype).smallest_subnormal)


def huge(dtype):
    return 1e300 if dtype in ("float64", "complex128") else 1e38


def real_dtype(dtype):
    return {"complex128": "float64", "complex64": "float32"}.get(dtype, dtype)


def special_values(dtype):
    """Signed zeros, subnormals, huge values, the infinities, NaN and a few ordinary
    values, of a real dtype."""
    t, h = tiny(dtype), huge(dtype)
    return np.array([0.0, -0.0, t, -t, 1.0, -1.0, 0.5, -2.5, h, -h, math.inf, -math.inf, math.nan], dtype=dtype)


def complex_special_values():
    """Complex values at the branch points and cuts of the elementwise functions, and
    large magnitudes (no complex infinities: their values follow C99's annex G, where
    NumPy and PyTorch differ in ways that are no gradient's business)."""
    return np.array([0, 1, -1, 1j, -1j, 2j, -2 + 0j, 0.5 - 0.5j, -3 - 1e-300j, 1e150 + 1e150j, 2 + 1e-320j],
                    dtype="complex128")


def uniform(rng, lo, hi, shape, dtype):
    """Uniform values in ``(lo, hi)``; for complex dtypes the real part there and an
    imaginary part in ``(-1, 1)`` scaled by the interval's width."""
    if dtype.startswith("complex"):
        re = rng.uniform(lo, hi, shape)
        im = rng.uniform(-1, 1, shape) * 0.5 * (hi - lo) / 2
        return (re + 1j * im).astype(dtype)
    return rng.uniform(lo, hi, shape).astype(dtype)


def signed(rng, lo, hi, shape, dtype):
    """Magnitudes in ``(lo, hi)`` with random signs."""
    a = uniform(rng, lo, hi, shape, dtype)
    return (a * rng.choice([-1, 1], size=shape)).astype(dtype)


# ---------------------------------------------------------------------- tables

# Elementwise ops that take real input only: no complex128 cases.
REAL_ONLY = {
    "atan2", "hypot", "logaddexp", "copysign", "maximum", "minimum", "remainder", "clip",
    "floor", "ceil", "trunc", "round", "signbit", "floor_divide", "nextafter", "greater",
    "greater_equal", "less", "less_equal",
}
# Elementwise ops that take complex input only.
COMPLEX_ONLY = {"real", "imag"}

# The interval random inputs are drawn from, where it is not (-2, 2); a second pair for
# an op's second argument. "signed" draws magnitudes with random signs.
DOMAINS = {
    "log": (0.1, 3.0), "log2": (0.1, 3.0), "log10": (0.1, 3.0), "sqrt": (0.1, 3.0),
    "log1p": (-0.9, 3.0), "asin": (-0.9, 0.9), "acos": (-0.9, 0.9), "atanh": (-0.9, 0.9),
    "acosh": (1.1, 3.0), "tan": (-1.2, 1.2), "reciprocal": ("signed", 0.3, 2.0),
    "divide": ((-2.0, 2.0), ("signed", 0.3, 2.0)),
    "pow": ((0.3, 2.0), (-2.0, 2.0)),
    "remainder": ((-5.0, 5.0), ("signed", 0.7, 2.0)),
    "floor_divide": ((-5.0, 5.0), ("signed", 0.7, 2.0)),
}


def _draw(rng, domain, shape, dtype):
    if domain[0] == "signed":
        return signed(rng, domain[1], domain[2], shape, dtype)
    return uniform(rng, domain[0], domain[1], shape, dtype)


def _domains(name, arity):
    d = DOMAINS.get(name, (-2.0, 2.0))
    if arity == 1:
        return (d,)
    if isinstance(d[0], tuple):
        return d
    return (d, d)


def function(xp, name):
    """The standard function ``name`` of a namespace, in the main namespace or an
    extension (``linalg.det``)."""
    obj = xp
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


# ---------------------------------------------------------------------- default cases


def _elementwise_dtypes(name):
    from xpgrad.plugins import registry

    op = registry.ops().get(name)
    if name in COMPLEX_ONLY:
        return ("complex128",)
    if name in REAL_ONLY or op is not None and not op.differentiable:
        return ("float64", "float32")
    return DTYPES


def _unary_cases(name):
    fn = lambda xp, x: function(xp, name)(x)  # noqa: E731
    (dom,) = _domains(name, 1)
    cases = []
    for dt in _elementwise_dtypes(name):
        rng = rng_for(name, dt)
        cases.append(Case(name, "random", fn, (_draw(rng, dom, (5,), dt),)))
        cases.append(Case(name, "random-large", fn, (_draw(rng, dom, (4, 64), dt),), slow=True))
        cases.append(Case(name, "0d", fn, (_draw(rng, dom, (), dt),)))
        if dt.startswith("complex"):
            cases.append(Case(name, "special", fn, (complex_special_values(),)))
        else:
            cases.append(Case(name, "special", fn, (special_values(dt),)))
    cases.append(Case(name, "empty", fn, (np.zeros((0, 3), dtype=_elementwise_dtypes(name)[0]),)))
    return cases


def _binary_cases(name):
    fn = lambda xp, x1, x2: function(xp, name)(x1, x2)  # noqa: E731
    d1, d2 = _domains(name, 2)
    cases = []
    for dt in _elementwise_dtypes(name):
        rng = rng_for(name, dt)
        cases.append(Case(name, "random", fn, (_draw(rng, d1, (5,), dt), _draw(rng, d2, (5,), dt))))
        cases.append(Case(name, "random-large", fn, (_draw(rng, d1, (4, 64), dt), _draw(rng, d2, (64,), dt)),
                          slow=True))
        cases.append(Case(name, "broadcast", fn, (_draw(rng, d1, (3, 1), dt), _draw(rng, d2, (4,), dt))))
        cases.append(Case(name, "0d-vector", fn, (_draw(rng, d1, (), dt), _draw(rng, d2, (3,), dt))))
        if dt.startswith("complex"):
            s = complex_special_values()
        else:
            s = special_values(dt)
        g1, g2 = np.meshgrid(s, s, indexing="ij")  # every pair, elementwise (no broadcast sums)
        cases.append(Case(name, "special", fn, (g1.ravel(), g2.ravel())))
        x1 = _draw(rng, d1, (4,), dt)
        cases.append(Case(name, "scalar", lambda xp, x: function(xp, name)(x, 1.5), (x1,)))
        cases.append(Case(name, "ties", fn, (x1, x1.copy())))
    dt = _elementwise_dtypes(name)[0]
    cases.append(Case(name, "empty", fn, (np.zeros((0, 3), dtype=dt), np.ones((3,), dtype=dt))))
    return cases


def default_cases(op):
    """Cases made from what the registry says about ``op``; [] if it says too little."""
    if op.variadic or not op.argnames:
        return []
    from xpgrad import xp

    name = op.name
    try:
        function(xp, name)
    except AttributeError:
        return []
    if len(op.argnames) == 1:
        return _unary_cases(name)
    if len(op.argnames) == 2:
        return _binary_cases(name)
    return []


# ---------------------------------------------------------------------- explicit cases

EXPLICIT = {}  # op name -> function returning its cases


def explicit(*names):
    def register(fn):
        for n in names:
            EXPLICIT[n] = fn
        return fn

    return register


# Ops with no case, and why. A differentiable op of the registry that is neither here
# nor covered by a case fails test_every_op_has_a_case.
EXCLUDED = {}


def cases_for(op):
    if op.name in EXPLICIT:
        return EXPLICIT[op.name]()
    return default_cases(op)


def all_cases():
    """Every case, for every op of the registry (differentiable or not) that has one."""
    import warnings

    from xpgrad.plugins import registry

    _ensure_registry()
    out = []
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")  # huge values cast to float32 overflow on purpose
        made = set()  # a generator registered for several ops runs once
        for name, op in sorted(registry.ops().items()):
            gen = EXPLICIT.get(name)
            if gen is not None:
                if id(gen) not in made:
                    made.add(id(gen))
                    out.extend(gen())
            else:
                out.extend(default_cases(op))
    return out


def _ensure_registry():
    from xpgrad.plugins import manager

    manager.get_plugin_manager()


from . import explicit_cases  # noqa: E402,F401  (registers EXPLICIT)
