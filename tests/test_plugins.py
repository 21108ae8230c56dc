"""The plugin system: registering and unregistering op plugins at run time, conflicts
and overrides, backend-specialised ops, VJP shape checks, and a dispatcher that never
calls pluggy per op."""
import os
import re
import subprocess
import sys
import types

import numpy as np
import pluggy
import pytest
from array_api_compat import numpy as np_compat

import xpgrad
from xpgrad.dispatch import DispatchError, apply
from xpgrad.plugins import (
    Backend,
    Op,
    OpDefinitionError,
    PluginConflictError,
    hookimpl,
    list_plugins,
    manager,
    registry,
)
from xpgrad.testing import check_grads

from helpers import assert_close, ops_plugin


def _cube_op(**kw):
    return Op("xpgrad_test_cube", lambda xp, x: x * x * x,
              vjp={"x": lambda xp, g, x: g * (3 * x * x)}, **kw)


# ---------------------------------------------------------------------- register / unregister


def test_register_class_instance_plugin(register, device):
    name = register(ops_plugin(_cube_op()), name="xpgrad_test_cube_plugin")
    assert name == "xpgrad_test_cube_plugin"
    assert "xpgrad_test_cube_plugin" in list_plugins()
    x = xpgrad.tensor([1.0, -2.0, 0.5], device=device, requires_grad=True)
    y = apply("xpgrad_test_cube", (x,))
    assert isinstance(y, xpgrad.Tensor)
    assert_close(y, [1.0, -8.0, 0.125])
    assert type(y.grad_fn).__name__ == "XpgradTestCubeBackward"
    assert y.grad_fn.op.plugin == "xpgrad_test_cube_plugin"
    y.sum().backward()
    assert_close(x.grad, 3 * np.array([1.0, -2.0, 0.5]) ** 2)


def test_registered_op_is_twice_differentiable(register, device):
    register(ops_plugin(_cube_op()), name="xpgrad_test_cube_plugin")
    x = xpgrad.tensor([1.0, -2.0], device=device, requires_grad=True)
    (d1,) = xpgrad.autograd.grad(apply("xpgrad_test_cube", (x,)).sum(), x, create_graph=True)
    (d2,) = xpgrad.autograd.grad(d1.sum(), x)
    assert_close(d2, 6 * np.array([1.0, -2.0]))


def test_register_module_like_namespace(register, device):
    @hookimpl
    def xpgrad_ops():
        return [Op("xpgrad_test_scale", lambda xp, x, *, factor=2.0: x * factor,
                   vjp={"x": lambda xp, g, factor: g * factor}, node_name="ScaleBackward")]

    module = types.ModuleType("xpgrad_test_scale_module")
    module.xpgrad_ops = xpgrad_ops
    name = register(module)
    assert name == "xpgrad_test_scale_module"
    x = xpgrad.tensor([1.0, 2.0], device=device, requires_grad=True)
    y = apply("xpgrad_test_scale", (x,), {"factor": 3.0})
    assert_close(y, [3.0, 6.0])
    assert type(y.grad_fn).__name__ == "ScaleBackward"
    y.sum().backward()
    assert_close(x.grad, [3.0, 3.0])
    assert_close(apply("xpgrad_test_scale", (x,)), [2.0, 4.0])  # the default param
    with pytest.raises(DispatchError, match=r"unexpected parameter\(s\) \['scale'\]"):
        apply("xpgrad_test_scale", (x,), {"scale": 3.0})

    ns = types.SimpleNamespace(xpgrad_ops=hookimpl(
        lambda: [Op("xpgrad_test_twice", lambda xp, x: x + x, vjp={"x": lambda xp, g: 2 * g})]))
    register(ns, name="xpgrad_test_namespace")
    x.grad = None
    apply("xpgrad_test_twice", (x,)).sum().backward()
    assert_close(x.grad, [2.0, 2.0])


def test_unregister_removes_op(register, device):
    plugin = ops_plugin(_cube_op())
    register(plugin, name="xpgrad_test_cube_plugin")
    x = xpgrad.tensor([2.0], device=device)
    assert apply("xpgrad_test_cube", (x,)).item() == 8.0
    assert xpgrad.plugins.unregister(plugin) is plugin
    assert "xpgrad_test_cube_plugin" not in list_plugins()
    with pytest.raises(DispatchError, match="no op 'xpgrad_test_cube'"):
        apply("xpgrad_test_cube", (x,))
    # and by name
    register(plugin, name="xpgrad_test_cube_plugin")
    assert apply("xpgrad_test_cube", (x,)).item() == 8.0
    xpgrad.plugins.unregister(name="xpgrad_test_cube_plugin")
    with pytest.raises(DispatchError, match="no op 'xpgrad_test_cube'"):
        apply("xpgrad_test_cube", (x,))
    with pytest.raises(ValueError, match="no plugin"):
        xpgrad.plugins.unregister(name="xpgrad_test_cube_plugin")


def test_builtin_ops_survive_register_and_unregister(register, device):
    plugin = ops_plugin(_cube_op())
    register(plugin, name="xpgrad_test_cube_plugin")
    xpgrad.plugins.unregister(plugin)
    x = xpgrad.tensor([1.0, 2.0], device=device, requires_grad=True)
    (x * x).exp().sum().backward()
    assert_close(x.grad, 2 * np.array([1.0, 2.0]) * np.exp([1.0, 4.0]), rtol=1e-5)


# ---------------------------------------------------------------------- conflicts and overrides


def test_same_op_in_two_plugins_conflicts(register, device):
    register(ops_plugin(_cube_op()), name="xpgrad_test_plugin_a")
    second = ops_plugin(Op("xpgrad_test_cube", lambda xp, x: x, vjp={"x": lambda xp, g: g}))
    with pytest.raises(PluginConflictError, match="'xpgrad_test_cube'") as info:
        register(second, name="xpgrad_test_plugin_b")
    message = str(info.value)
    assert "'xpgrad_test_plugin_a'" in message and "'xpgrad_test_plugin_b'" in message
    assert "overrides=True" in message
    assert "xpgrad_test_plugin_b" not in list_plugins()  # left unregistered
    assert apply("xpgrad_test_cube", (xpgrad.tensor([2.0], device=device),)).item() == 8.0


def test_conflict_with_builtin_op(register):
    plugin = ops_plugin(Op("exp", lambda xp, x: xp.exp(x), vjp={"x": lambda xp, g, out: g * out}))
    with pytest.raises(PluginConflictError, match=r"op 'exp' .*defined by two plugins") as info:
        register(plugin, name="xpgrad_test_exp_plugin")
    assert "'xpgrad.ops.elementwise'" in str(info.value)
    assert "'xpgrad_test_exp_plugin'" in str(info.value)
    assert "xpgrad_test_exp_plugin" not in list_plugins()


def test_overrides_wins(register, device):
    register(ops_plugin(_cube_op()), name="xpgrad_test_plugin_a")
    calls = []

    def cube_again(xp, x):
        calls.append(1)
        return x * x * x

    register(ops_plugin(Op("xpgrad_test_cube", cube_again, vjp={"x": lambda xp, g, x: g * (3 * x * x)},
                            overrides=True)), name="xpgrad_test_plugin_b")
    x = xpgrad.tensor([2.0], device=device, requires_grad=True)
    y = apply("xpgrad_test_cube", (x,))
    assert calls == [1]
    assert y.grad_fn.op.plugin == "xpgrad_test_plugin_b"
    y.backward()
    assert_close(x.grad, [12.0])


def test_override_registered_first_still_wins(register, device):
    register(ops_plugin(Op("xpgrad_test_cube", lambda xp, x: x * x * x - 1,
                            vjp={"x": lambda xp, g, x: g * (3 * x * x)}, overrides=True)),
             name="xpgrad_test_plugin_b")
    register(ops_plugin(_cube_op()), name="xpgrad_test_plugin_a")
    assert apply("xpgrad_test_cube", (xpgrad.tensor([2.0], device=device),)).item() == 7.0


def test_override_builtin_op_and_restore(register, device):
    calls = []

    def sin(xp, x):
        calls.append(1)
        return xp.sin(x)

    plugin = ops_plugin(Op("sin", sin, vjp={"x": lambda xp, g, x: g * xp.cos(x)}, overrides=True))
    register(plugin, name="xpgrad_test_sin_plugin")
    x = xpgrad.tensor([0.5], device=device, requires_grad=True)
    x.sin().backward()
    assert calls == [1]
    assert_close(x.grad, [np.cos(0.5)], rtol=1e-6)
    xpgrad.plugins.unregister(plugin)
    x.sin()
    assert calls == [1]  # the built-in is back
    assert registry.ops()["sin"].plugin == "xpgrad.ops.elementwise"


# ---------------------------------------------------------------------- backend-specialised ops


class _FakeArray:
    """Arrays of the fake backend never exist: its Tensors hold NumPy arrays."""


class _FakeBackend(Backend):
    """A second CPU backend (NumPy underneath), to see what a NumPy-only op reaches."""

    name = "xpgrad_test_fake"
    library = "numpy"
    device_prefix = "xpgradtestfake"

    def array_types(self):
        return (_FakeArray,)

    def namespace(self):
        return np_compat

    def to_numpy(self, array):
        return np.asarray(array)


class _FakeBackendPlugin:
    @hookimpl
    def xpgrad_backends(self):
        return [_FakeBackend()]


def test_backend_specialised_op_replaces_generic_on_that_backend_only(register):
    calls = []

    def numpy_exp(xp, x):
        calls.append(type(x))
        return np.exp(x)

    register(_FakeBackendPlugin(), name="xpgrad_test_fake_backend")
    register(ops_plugin(Op("exp", numpy_exp, vjp={"x": lambda xp, g, out: g * out},
                            backends={"numpy"}, overrides=True)), name="xpgrad_test_numpy_exp")
    assert registry.table("numpy")["exp"].plugin == "xpgrad_test_numpy_exp"
    assert registry.table("xpgrad_test_fake")["exp"].plugin == "xpgrad.ops.elementwise"
    assert registry.ops()["exp"].plugin == "xpgrad.ops.elementwise"

    x = xpgrad.tensor([0.0, 1.0], device="cpu", requires_grad=True)
    y = x.exp()
    assert calls == [np.ndarray]
    assert y.grad_fn.op.plugin == "xpgrad_test_numpy_exp"
    y.sum().backward()
    assert_close(x.grad, np.exp([0.0, 1.0]), rtol=1e-6)

    f = xpgrad.tensor([0.0, 1.0], device="xpgradtestfake", requires_grad=True)
    assert str(f.device) == "xpgradtestfake"
    z = f.exp()
    assert len(calls) == 1  # the generic exp ran on the other backend
    assert z.grad_fn.op.plugin == "xpgrad.ops.elementwise"
    z.sum().backward()
    assert_close(f.grad, np.exp([0.0, 1.0]), rtol=1e-6)


def test_backend_specialised_op_removed_with_its_plugin(register):
    calls = []

    def numpy_exp(xp, x):
        calls.append(1)
        return np.exp(x)

    plugin = ops_plugin(Op("exp", numpy_exp, vjp={"x": lambda xp, g, out: g * out},
                            backends={"numpy"}, overrides=True))
    register(plugin, name="xpgrad_test_numpy_exp")
    xpgrad.tensor([1.0], device="cpu").exp()
    assert calls == [1]
    xpgrad.plugins.unregister(plugin)
    assert xpgrad.tensor([1.0], device="cpu").exp().item() == pytest.approx(np.e)
    assert calls == [1]
    assert registry.table("numpy")["exp"].plugin == "xpgrad.ops.elementwise"


# ---------------------------------------------------------------------- VJP contract


def test_wrong_shape_vjp_names_op_and_plugin(register, device):
    bad = Op("xpgrad_test_bad_vjp", lambda xp, x: x * 2,
             vjp={"x": lambda xp, g: xp.ones((4,), dtype=g.dtype)})
    register(ops_plugin(bad), name="xpgrad_test_bad_plugin")
    x = xpgrad.tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)
    y = apply("xpgrad_test_bad_vjp", (x,))
    assert_close(y, [2.0, 4.0, 6.0])  # the forward is fine
    with pytest.raises(RuntimeError, match=re.escape(
            "the VJP of op 'xpgrad_test_bad_vjp' (plugin 'xpgrad_test_bad_plugin') returned a "
            "gradient of shape (4,) for argument 'x', whose shape is (3,)")):
        y.sum().backward()


def _log_base_op():
    """log_b(x) = log(x) / log(b) for an array base b: d/dx is 1 / (x log b), declared as
    that reciprocal; d/db = -log(x) / (b log(b)^2) as a VJP and JVP rule."""
    return Op("xpgrad_test_log_base", lambda xp, x, b: xp.log(x) / xp.log(b),
              reciprocal_derivative={"x": lambda xp, x, b: x * xp.log(b)},
              vjp={"b": lambda xp, g, b, out: -g * out / (b * xp.log(b))},
              jvp={"b": lambda xp, t, b, out: -t * out / (b * xp.log(b))})


def test_an_op_declared_by_its_reciprocal_derivative(register, make):
    """``reciprocal_derivative={"x": r}`` gives the cotangent g / conj(r) and the tangent
    t / r: first and second order against finite differences, forward mode against the
    reverse-mode Jacobian, on every backend; the other argument keeps its own rules."""
    register(ops_plugin(_log_base_op()), name="xpgrad_test_log_base_plugin")
    x = make([0.5, 2.0, 7.0], requires_grad=True)
    b = make([3.0, 1.5, 10.0], requires_grad=True)

    def f(x, b):
        return apply("xpgrad_test_log_base", (x, b))

    check_grads(f, x, b)
    y = f(x, b)
    assert_close(y, np.log([0.5, 2.0, 7.0]) / np.log([3.0, 1.5, 10.0]))
    gx, gb = xpgrad.autograd.grad(y.sum(), (x, b))
    assert_close(gx, 1 / (np.array([0.5, 2.0, 7.0]) * np.log([3.0, 1.5, 10.0])))
    tx = make([1.0, -1.0, 0.5])
    tb = make([0.25, 0.5, -2.0])
    _, tangent = xpgrad.func.jvp(f, (x.detach(), b.detach()), (tx, tb))
    assert_close(tangent, gx.detach() * tx + gb.detach() * tb)
    rules = xpgrad.plugins.registry.ops()["xpgrad_test_log_base"].rules
    assert [r.kind for r in rules] == ["quotient", "vjp"]


def test_a_reciprocal_derivative_divides_once(device):
    """log's gradient is g / x, not g * (1 / x): at x = 1e-310 (subnormal) 1 / x
    overflows to inf, while 1e-10 / x = 1e300 is finite (PyTorch's LogBackward divides
    too). The same holds through forward mode."""
    f64 = xpgrad.float64
    x = xpgrad.tensor([1e-310, 2.0], dtype=f64, device=device, requires_grad=True)
    y = xpgrad.xp.log(x)
    seed = xpgrad.tensor([1e-10, 1.0], dtype=f64, device=device)
    (g,) = xpgrad.autograd.grad(y, x, grad_outputs=seed)
    assert_close(g, [1e-10 / 1e-310, 0.5], rtol=1e-12)
    _, t = xpgrad.func.jvp(xpgrad.xp.log, (x.detach(),), (seed,))
    assert_close(t, [1e-10 / 1e-310, 0.5], rtol=1e-12)


def test_a_reciprocal_derivative_is_one_form_per_argument():
    with pytest.raises(OpDefinitionError, match=re.escape(
            "op 'xpgrad_test_op': argument 'x' has more than one of a derivative, a reciprocal "
            "derivative and a VJP or JVP rule; give one of them")):
        Op("xpgrad_test_op", lambda xp, x: xp.log(x), reciprocal_derivative={"x": lambda xp, x: x},
           vjp={"x": lambda xp, g, x: g / x})
    with pytest.raises(OpDefinitionError, match="has more than one of a derivative"):
        Op("xpgrad_test_op", lambda xp, x: xp.log(x), reciprocal_derivative={"x": lambda xp, x: x},
           derivative={"x": lambda xp, x: 1 / x})
    with pytest.raises(OpDefinitionError, match=r"the reciprocal derivative asks for 'y'"):
        Op("xpgrad_test_op", lambda xp, x: xp.log(x), reciprocal_derivative={"x": lambda xp, y: y})
    with pytest.raises(OpDefinitionError, match=r"reciprocal derivatives are given per argument"):
        Op("xpgrad_test_op", lambda xp, x: xp.log(x), reciprocal_derivative=lambda xp, x: x)


def test_vjp_asking_for_unknown_name_is_rejected_at_definition():
    with pytest.raises(OpDefinitionError, match=r"'xpgrad_test_op'.*asks for 'y'"):
        Op("xpgrad_test_op", lambda xp, x: x, vjp={"x": lambda xp, g, y: g})
    with pytest.raises(OpDefinitionError, match=r"VJP rules for \['y'\]"):
        Op("xpgrad_test_op", lambda xp, x: x, vjp={"y": lambda xp, g: g})
    with pytest.raises(OpDefinitionError, match=r"may not take \*\*kwargs, or \*arrays after named arrays"):
        Op("xpgrad_test_op", lambda xp, x, *xs: xs[0])
    with pytest.raises(OpDefinitionError, match=r"may not take \*\*kwargs"):
        Op("xpgrad_test_op", lambda xp, x, **kw: x)
    with pytest.raises(OpDefinitionError, match=r"takes \*arrays: its vjp must be a function of the argument's index"):
        Op("xpgrad_test_op", lambda xp, *xs: xs[0], vjp={"x": lambda xp, g: g})


def test_an_op_over_any_number_of_arrays_gets_rules_per_index(register):
    """A forward taking ``*arrays`` is made into one op per arity, with each argument's
    rule from the factory; a rule reads what the wrapper passed as params."""

    def piece(i):
        def rule(xp, g, sizes):
            start = sum(sizes[:i])
            return g[start:start + sizes[i]]
        return rule

    op = Op("xpgrad_test_concat", lambda xp, *arrays, sizes=(): xp.concat(arrays), vjp=piece,
            jvp=lambda i: (lambda xp, t: t))
    assert repr(op) == "<Op xpgrad_test_concat(*arrays)>"

    register(ops_plugin(op), name="concat-plugin")
    a = xpgrad.tensor([1.0, 2.0], dtype=xpgrad.float64, requires_grad=True)
    b = xpgrad.tensor([3.0, 4.0, 5.0], dtype=xpgrad.float64, requires_grad=True)
    y = apply("xpgrad_test_concat", (a, b), {"sizes": (2, 3)})
    assert type(y.grad_fn).__name__ == "XpgradTestConcatBackward"
    assert y.grad_fn.op.argnames == ("x0", "x1")
    (y * xpgrad.arange(5.0, dtype=xpgrad.float64)).sum().backward()
    assert a.grad.tolist() == [0.0, 1.0] and b.grad.tolist() == [2.0, 3.0, 4.0]
    with pytest.raises(DispatchError, match="needs at least one Tensor argument"):
        apply("xpgrad_test_concat", (), {"sizes": ()})


def test_a_rule_factory_may_take_the_number_of_arrays(register):
    """A factory taking ``(i, n)`` is told how many arrays there are: the rule of a
    product of all the arrays reads every other one (``x0 ... x{n-1}`` but ``x{i}``)."""

    def factor(i, n):
        others = [f"x{j}" for j in range(n) if j != i]
        scope = {}
        exec(f"def rule(xp, g, {', '.join(others)}):\n    return g * " + " * ".join(others), scope)
        return scope["rule"]

    def product(xp, *arrays):
        out = arrays[0]
        for a in arrays[1:]:
            out = out * a
        return out

    register(ops_plugin(Op("xpgrad_test_product", product, vjp=factor)), name="product-plugin")
    xs = [xpgrad.tensor([v], dtype=xpgrad.float64, requires_grad=True) for v in (2.0, 3.0, 5.0)]
    apply("xpgrad_test_product", tuple(xs)).sum().backward()
    assert [x.grad.tolist() for x in xs] == [[15.0], [10.0], [6.0]]
    a, b = (xpgrad.tensor([v], dtype=xpgrad.float64, requires_grad=True) for v in (4.0, 7.0))
    apply("xpgrad_test_product", (a, b)).sum().backward()  # the same op, two arrays: rules for n = 2
    assert (a.grad.tolist(), b.grad.tolist()) == ([7.0], [4.0])


def test_plugin_returning_non_op_is_rejected(register):
    with pytest.raises(TypeError, match=r"'xpgrad_test_junk'.*must return xpgrad.plugins.Op"):
        register(ops_plugin("not an op"), name="xpgrad_test_junk")
    assert "xpgrad_test_junk" not in list_plugins()


def test_plugin_with_unknown_hook_is_rejected(register):
    class Typo:
        @hookimpl
        def xpgrad_opz(self):
            return []

    with pytest.raises(pluggy.PluginValidationError, match="xpgrad_opz"):
        register(Typo(), name="xpgrad_test_typo")
    assert "xpgrad_test_typo" not in list_plugins()


def _invalid_op_plugin():
    class InvalidOp:
        @hookimpl
        def xpgrad_ops(self):
            return [_cube_op(), Op("xpgrad_test_invalid", lambda xp, x: x,
                                   vjp={"x": lambda xp, g, y: g})]  # y: no such argument

    return InvalidOp()


def test_register_plugin_with_invalid_op_raises_naming_plugin_and_op(register, recwarn):
    with pytest.raises(OpDefinitionError, match=r"plugin 'xpgrad_test_invalid_plugin': op "
                       r"'xpgrad_test_invalid': the VJP rule asks for 'y'"):
        register(_invalid_op_plugin(), name="xpgrad_test_invalid_plugin")
    assert "xpgrad_test_invalid_plugin" not in list_plugins()
    assert "xpgrad_test_cube" not in registry.ops()  # none of its ops, the valid one neither
    assert not [w for w in recwarn if issubclass(w.category, manager.XpgradPluginWarning)]
    assert (xpgrad.tensor([2.0]) * 3.0).item() == 6.0  # the built-in ops are still there


def test_register_plugin_whose_hook_fails_raises_naming_plugin(register, recwarn):
    class Failing:
        @hookimpl
        def xpgrad_ops(self):
            raise ValueError("no configuration found")

    with pytest.raises(ValueError, match=r"plugin 'xpgrad_test_failing': its xpgrad_ops hook "
                       r"raised ValueError: no configuration found"):
        register(Failing(), name="xpgrad_test_failing")
    assert "xpgrad_test_failing" not in list_plugins()
    assert not [w for w in recwarn if issubclass(w.category, manager.XpgradPluginWarning)]


# An installed package advertising two plugins that cannot load: one whose module fails
# to import, one whose hook declares an invalid op. A fresh interpreter, since this one
# has loaded its entry points already.
_BROKEN_PLUGINS = {
    "xpgrad_test_huber.py": "import xpgrad_test_module_that_is_not_installed\n",
    "xpgrad_test_invalid.py": (
        "from xpgrad.plugins import Op, hookimpl\n"
        "@hookimpl\n"
        "def xpgrad_ops():\n"
        "    return [Op('xpgrad_test_invalid', lambda xp, x: x, vjp={'x': lambda xp, g, y: g})]\n"
    ),
    "xpgrad_test_broken-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: xpgrad-test-broken\nVersion: 1.0\n",
    "xpgrad_test_broken-1.0.dist-info/entry_points.txt": (
        "[xpgrad]\nhuber = xpgrad_test_huber\ninvalid = xpgrad_test_invalid\n"
    ),
}

_LOAD_BROKEN = """
import warnings
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import xpgrad
    x = xpgrad.tensor([2.0])
    print("value", (x * 3.0).item())
for w in caught:
    print("warning", w.category.__name__, w.message)
from xpgrad.dispatch import apply
for name in ("huber", "xpgrad_test_invalid"):
    try:
        apply(name, (x,))
    except Exception as exc:
        print("error", type(exc).__name__, exc)
"""


def test_entry_point_plugin_that_fails_is_skipped_and_named_later(tmp_path):
    for relative, text in _BROKEN_PLUGINS.items():
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    env = {k: v for k, v in os.environ.items() if k != "XPGRAD_DISABLE_PLUGIN_AUTOLOAD"}
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path)] + [p for p in [env.get("PYTHONPATH")] if p])
    proc = subprocess.run([sys.executable, "-c", _LOAD_BROKEN], env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr  # importing and computing never break
    lines = proc.stdout.splitlines()
    assert "value 6.0" in lines
    warned = [line for line in lines if line.startswith("warning XpgradPluginWarning")]
    assert len(warned) == 2, lines
    assert any("'huber'" in w and "xpgrad_test_module_that_is_not_installed" in w for w in warned)
    assert any("'invalid'" in w and "op 'xpgrad_test_invalid'" in w for w in warned)
    errors = [line for line in lines if line.startswith("error")]
    assert len(errors) == 2, lines
    for error in errors:
        assert error.startswith("error DispatchError xpgrad has no op"), error
        # which plugins were skipped, and why
        assert "plugin 'huber' was skipped" in error and "ModuleNotFoundError" in error
        assert "plugin 'invalid' was skipped" in error and "asks for 'y'" in error


# ---------------------------------------------------------------------- no pluggy per op


def test_ops_run_without_any_hook_call(register, device, monkeypatch):
    register(ops_plugin(_cube_op()), name="xpgrad_test_cube_plugin")
    pm = manager.get_plugin_manager()

    class NoHooks:
        def __getattr__(self, name):
            raise AssertionError(f"pluggy hook {name} called on the hot path")

    original_call = pluggy.HookCaller.__call__
    xpgrad_calls = []

    def watched_call(self, *args, **kwargs):  # pytest itself runs on pluggy: only watch ours
        if self.name.startswith("xpgrad_"):
            xpgrad_calls.append(self.name)
        return original_call(self, *args, **kwargs)

    x = xpgrad.tensor([[1.0, 2.0], [3.0, 4.0]], device=device, requires_grad=True)
    with monkeypatch.context() as patch:
        patch.setattr(pm, "hook", NoHooks())
        patch.setattr(pluggy.HookCaller, "__call__", watched_call)
        y = apply("xpgrad_test_cube", ((x @ x.T).exp() / 100.0,)).sum() + x[0, :].norm()
        y.backward()
        (d,) = xpgrad.autograd.grad((x**3).sum(), x, create_graph=True)
    assert xpgrad_calls == []
    assert x.grad is not None and x.grad.shape == (2, 2)
    assert_close(d, 3 * np.array([[1.0, 2.0], [3.0, 4.0]]) ** 2)
    assert type(x.device.ops) is dict
    assert x.device.ops["xpgrad_test_cube"].name == "xpgrad_test_cube"


# ---------------------------------------------------------------------- entry points


def test_disable_autoload_env_var_name():
    assert manager.DISABLE_AUTOLOAD_ENV == "XPGRAD_DISABLE_PLUGIN_AUTOLOAD"
    assert "XPGRAD_DISABLE_PLUGIN_AUTOLOAD" in manager.__doc__


_PROBE = """
import importlib.metadata as md

def entry_points(**kw):
    raise SystemExit("entry points were loaded")

md.entry_points = entry_points
import xpgrad.plugins.manager as m
m.get_plugin_manager()
import xpgrad
print((xpgrad.tensor([2.0]) * 3.0).item())
"""


@pytest.mark.parametrize("disabled", [True, False])
def test_disable_autoload_env_var_turns_off_discovery(disabled):
    env = {k: v for k, v in os.environ.items() if k != "XPGRAD_DISABLE_PLUGIN_AUTOLOAD"}
    if disabled:
        env["XPGRAD_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    proc = subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True,
                          timeout=120)
    if disabled:
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip() == "6.0"
    else:
        assert proc.returncode != 0
        assert "entry points were loaded" in proc.stderr


def test_manual_seed_still_reaches_devices_after_plugins_change(register, device):
    xpgrad.randn(2, device=device)  # the device exists before the plugins change
    plugin = ops_plugin(_cube_op())
    register(plugin, name="xpgrad_test_cube_plugin")
    xpgrad.plugins.unregister(plugin)
    xpgrad.manual_seed(99)
    a = xpgrad.randn(4, device=device).tolist()
    xpgrad.manual_seed(99)
    assert xpgrad.randn(4, device=device).tolist() == a
    assert xpgrad.device(device).backend is registry.backends()[xpgrad.device(device).backend.name]
