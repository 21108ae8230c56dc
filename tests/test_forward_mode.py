"""Forward mode: every registered op's JVP rules, against finite differences.

The case tables of the op test modules (``{name: (fn, makers)}``) are reused: each case's
JVP along a random tangent is checked against the central difference along it
(``gradcheck(..., check_forward_ad=True)``). A registry test proves that every
differentiable built-in op declares JVP rules, or is listed here as relying on the JVP
derived from its VJP rule; a plugin op without JVP rules is checked to work through that
derivation. Second order: reverse over forward (gradcheck of a jvp) and forward over
reverse (the JVP of a vector-Jacobian product) on a few cases, and nested jvp.
"""
import importlib
import math

import pytest

import xpgrad
from xpgrad import func, xp
from xpgrad.plugins import Op, hookimpl, manager, registry

from helpers import assert_close, values

F32 = xpgrad.float32
F64 = xpgrad.float64


# Test modules whose case tables (module-level dicts of ``name: (fn, makers)``) are reused.
CASE_MODULES = ["test_op_gradients", "test_xp_elementwise", "test_xp_manipulation",
                "test_xp_statistical", "test_xp_linalg", "test_xp_fft", "test_xp_namespace"]


def _is_case(value):
    return (isinstance(value, tuple) and len(value) == 2 and callable(value[0])
            and isinstance(value[1], tuple) and value[1] and all(callable(m) for m in value[1]))


def _collect_cases():
    found = []
    for modname in CASE_MODULES:
        try:
            module = importlib.import_module(modname)
        except ImportError:
            continue  # a module not written (yet)
        for table, value in vars(module).items():
            if not (table.isupper() and isinstance(value, dict)):
                continue
            for name, case in value.items():
                if _is_case(case):
                    found.append(pytest.param(case[0], case[1], id=f"{modname[5:]}-{table}-{name}"))
    return found


CASES = _collect_cases()


@pytest.mark.parametrize("fn, makers", CASES)
@pytest.mark.xpgrad_backend_marks(dask=pytest.mark.slow)
def test_jvp_matches_finite_differences(fn, makers, device):
    inputs = tuple(make(device) for make in makers)
    assert xpgrad.gradcheck(fn, inputs, check_forward_ad=True, check_backward_ad=False)


def test_cases_were_found():
    # The reuse above must not silently collect nothing.
    assert len(CASES) > 50


# ---------------------------------------------------------------------- registry coverage

# Differentiable built-in ops whose forward mode is derived from their VJP rule (the
# double-VJP trick, one extra backward per op), with the reason. Elementwise, reduction,
# manipulation and matmul ops may not appear here.
DERIVED_JVP = {}

NO_FALLBACK_PLUGINS = {"xpgrad.ops.elementwise", "xpgrad.ops.statistical", "xpgrad.ops.manipulation"}


def _missing_jvp(op):
    if op.variadic:
        op = op.with_arity(2)
    jvp = op.jvp_rules
    return [a for i, a in enumerate(op.argnames)
            if op.rules[i] is not None and (jvp is None or jvp[i] is None)]


def _builtin_ops():
    manager.get_plugin_manager()
    return {name: op for name, op in registry.ops().items()
            if op.differentiable and (op.plugin or "").startswith("xpgrad.ops.")}


def test_every_builtin_op_has_jvp_rules_or_is_listed():
    ops = _builtin_ops()
    missing = {name: _missing_jvp(op) for name, op in ops.items() if _missing_jvp(op)}
    unlisted = sorted(set(missing) - set(DERIVED_JVP))
    assert not unlisted, f"ops without JVP rules for all their differentiable arguments: {missing}"
    stale = sorted(name for name in DERIVED_JVP if name not in missing)
    assert not stale, f"listed as relying on the derived JVP but have JVP rules now: {stale}"


def test_no_fallback_for_elementwise_reduction_manipulation_matmul():
    ops = _builtin_ops()
    forbidden = [n for n in DERIVED_JVP if n == "matmul" or ops[n].plugin in NO_FALLBACK_PLUGINS]
    assert forbidden == []


# ---------------------------------------------------------------------- the derived JVP


@pytest.fixture
def plugin_ops(request):
    """Register ops for one test (unregistered when it ends)."""

    def register(*ops):
        class Plugin:
            @hookimpl
            def xpgrad_ops(self):
                return list(ops)

        plugin = Plugin()
        xpgrad.plugins.register(plugin, name="xpgrad_test_forward_mode_ops")
        request.addfinalizer(lambda: xpgrad.plugins.unregister(plugin))

    return register


def test_op_without_jvp_rules_uses_the_derived_jvp(plugin_ops, device):
    plugin_ops(
        Op("xpgrad_test_cube", lambda xp, x: x * x * x, vjp={"x": lambda xp, g, x: g * (3 * x * x)}),
        Op("xpgrad_test_mul", lambda xp, x1, x2: x1 * x2,
           vjp={"x1": lambda xp, g, x2: g * x2, "x2": lambda xp, g, x1: g * x1}),
    )
    from xpgrad.dispatch import apply

    x = xpgrad.randn(2, 3, dtype=F64, device=device)
    w = xpgrad.randn(3, dtype=F64, device=device)
    v, u = xpgrad.randn_like(x), xpgrad.randn_like(w)
    out, t = func.jvp(lambda x, w: apply("xpgrad_test_mul", (apply("xpgrad_test_cube", (x,)), w)),
                      (x, w), (v, u))
    expected = 3 * x * x * v * w + x ** 3 * u  # w broadcast against x
    assert_close(out, values(x ** 3 * w))
    assert_close(t, values(expected))
    assert xpgrad.gradcheck(lambda x: apply("xpgrad_test_cube", (x,)), (x.requires_grad_(),),
                            check_forward_ad=True)


def test_wrong_jvp_rule_is_caught(plugin_ops, device):
    plugin_ops(Op("xpgrad_test_bad_sin", lambda xp, x: xp.sin(x),
                  vjp={"x": lambda xp, g, x: g * xp.cos(x)},
                  jvp={"x": lambda xp, t, x: t * xp.sin(x)}))
    from xpgrad.dispatch import apply

    x = xpgrad.tensor([0.5, 1.0], dtype=F64, device=device, requires_grad=True)
    with pytest.raises(xpgrad.GradcheckError, match=r"JVP mismatch \(forward mode\) for output 0\[0\]"):
        xpgrad.gradcheck(lambda x: apply("xpgrad_test_bad_sin", (x,)), (x,), check_forward_ad=True)


def test_derived_jvp_failure_names_the_op(plugin_ops, device):
    def vjp_leaving_the_standard(xp, g, x):
        raise NotImplementedError("no graph version")

    plugin_ops(Op("xpgrad_test_opaque", lambda xp, x: x * 2, vjp={"x": vjp_leaving_the_standard}))
    from xpgrad.dispatch import apply

    x = xpgrad.ones(2, dtype=F64, device=device)
    with pytest.raises(RuntimeError, match=r"forward mode: op 'xpgrad_test_opaque' has no JVP rule "
                                           r"for argument 'x', and deriving one from its VJP rule failed"):
        func.jvp(lambda x: apply("xpgrad_test_opaque", (x,)), (x,), (x,))


# ---------------------------------------------------------------------- second order

SECOND_ORDER = {
    "tanh-mul": (lambda a, b: xp.tanh(a) * b, (2, 3), (3,)),
    "exp-sum-axis": (lambda a, b: xp.sum(xp.exp(a) * b, axis=-1), (2, 3), (2, 3)),
    "matmul-sin": (lambda a, b: xp.sin(xp.matmul(a, b)), (2, 3), (3, 2)),
    "divide-pow": (lambda a, b: (a / (b * b + 1)) ** 2, (2, 3), (2, 3)),
}


@pytest.mark.parametrize("name", SECOND_ORDER)
@pytest.mark.xpgrad_backend_marks(dask=pytest.mark.slow)
def test_reverse_over_forward(name, device):
    """gradcheck of the jvp: the tangents are differentiable Tensor computations."""
    fn, sa, sb = SECOND_ORDER[name]
    a, b = (xpgrad.randn(*s, dtype=F64, device=device, requires_grad=True) for s in (sa, sb))
    va, vb = (xpgrad.randn(*s, dtype=F64, device=device, requires_grad=True) for s in (sa, sb))

    def tangent(a, b, va, vb):
        return func.jvp(fn, (a, b), (va, vb))[1]

    assert xpgrad.gradcheck(tangent, (a, b, va, vb))


@pytest.mark.parametrize("name", SECOND_ORDER)
@pytest.mark.xpgrad_backend_marks(dask=pytest.mark.slow)
def test_forward_over_reverse(name, device):
    """The JVP of a vector-Jacobian product: forward mode through the backward pass."""
    fn, sa, sb = SECOND_ORDER[name]
    a, b = (xpgrad.randn(*s, dtype=F64, device=device, requires_grad=True) for s in (sa, sb))
    g = xpgrad.randn_like(fn(a, b)).detach()

    def vjp_fn(a, b):
        _, pullback = func.vjp(fn, a, b)
        return pullback(g)

    assert xpgrad.gradcheck(vjp_fn, (a, b), check_forward_ad=True, check_backward_ad=False)


def test_nested_jvp_is_the_mixed_second_derivative(device):
    # d/dy [d/dx sin(x * y)] = cos(xy) - xy sin(xy)
    x = xpgrad.tensor(0.7, dtype=F64, device=device)
    y = xpgrad.tensor(-1.3, dtype=F64, device=device)
    one = xpgrad.tensor(1.0, dtype=F64, device=device)

    def dfdx(y):
        return func.jvp(lambda x: xp.sin(x * y), (x,), (one,))[1]

    _, d2 = func.jvp(dfdx, (y,), (one,))
    xy = 0.7 * -1.3
    assert d2.item() == pytest.approx(math.cos(xy) - xy * math.sin(xy))
    assert d2.requires_grad is False


def test_third_derivative_by_forward_mode(device):
    # jvp inside jvp inside jvp: tanh''' = -2 (1 - tanh^2)(1 - 3 tanh^2)
    x = xpgrad.tensor(0.4, dtype=F64, device=device)
    one = xpgrad.tensor(1.0, dtype=F64, device=device)

    def d(f):
        return lambda x: func.jvp(f, (x,), (one,))[1]

    th = math.tanh(0.4)
    assert d(d(d(xp.tanh)))(x).item() == pytest.approx(-2 * (1 - th * th) * (1 - 3 * th * th))


# ---------------------------------------------------------------------- details


def test_inplace_op_moves_the_tangent(device):
    x = xpgrad.tensor([1.0, 2.0], dtype=F64, device=device)
    v = xpgrad.tensor([1.0, -1.0], dtype=F64, device=device)

    def f(x):
        y = x * 3
        y.mul_(x)  # y = 3 x^2 in place
        return y

    _, t = func.jvp(f, (x,), (v,))
    assert t.tolist() == pytest.approx([6.0, -12.0])


def test_non_differentiable_outputs_have_zero_tangents(device):
    x = xpgrad.tensor([1.0, -2.0, 3.0], dtype=F64, device=device)
    out, t = func.jvp(lambda x: (x > 0, xp.sum(x * x)), (x,), (xpgrad.ones_like(x),))
    assert t[0].tolist() == [False, False, False] and t[1].item() == pytest.approx(4.0)
    assert out[0].requires_grad is False and t[1].requires_grad is False


def test_float32_tangent_stays_float32(device):
    x = xpgrad.tensor([0.5, 1.0], dtype=F32, device=device)
    out, t = func.jvp(lambda x: xp.exp(x) * 2.0 + x.sum(), (x,), (xpgrad.ones_like(x),))
    assert t.dtype == x.dtype
    assert t.tolist() == pytest.approx([2 * math.exp(0.5) + 2, 2 * math.exp(1.0) + 2], rel=1e-5)


def test_tangent_independent_of_the_primal_is_zero(device):
    x = xpgrad.tensor([0.5, 1.0], dtype=F64, device=device)
    c = xpgrad.tensor([3.0, 4.0], dtype=F64, device=device)
    out, t = func.jvp(lambda x: c * 2, (x,), (xpgrad.ones_like(x),))
    assert t.tolist() == [0.0, 0.0]


def test_hook_is_removed_after_jvp(device):
    from xpgrad.dispatch import RECORD_HOOKS

    before = list(RECORD_HOOKS)
    x = xpgrad.tensor([0.5], dtype=F64, device=device)
    with pytest.raises(ZeroDivisionError):
        func.jvp(lambda x: 1 / 0, (x,), (x,))
    func.jvp(xp.sin, (x,), (x,))
    assert before == RECORD_HOOKS
