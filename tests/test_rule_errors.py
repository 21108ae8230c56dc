"""What a user sees when a rule fails, and where generated code says it comes from.

An exception inside an op's VJP or JVP rule is re-raised naming the op, its plugin, the
argument and the shapes and dtypes the rule was given, as forward errors are; a custom
Function's backward is the user's own code and its errors pass through unchanged. The
engine's generated functions carry file names that say what they are, and their source is
in linecache, so tracebacks show real lines.
"""
import ast
import linecache
import pathlib
import re

import numpy as np
import pytest

import xpgrad
import xpgrad.func
from xpgrad import xp
from xpgrad.dispatch import apply
from xpgrad.node import NODE_FIELDS, Node
from xpgrad.plugins import Op, OpDefinitionError

from helpers import ops_plugin


def _broken_rule(xp, g, x):
    # a rule with a shape error: (3,) @ (1, 3) does not multiply
    return xp.matmul(g, xp.reshape(x, (1, 3)))


def _broken_op():
    return Op("xpgrad_test_broken", lambda xp, x: x * x, vjp=(_broken_rule,),
              jvp=(lambda xp, t, x: _broken_rule(xp, t, x),))


def test_vjp_rule_error_names_op_plugin_argument_and_shapes(register):
    register(ops_plugin(_broken_op()), "xpgrad-test-broken-plugin")
    x = xpgrad.tensor(np.ones(3), requires_grad=True)
    y = apply("xpgrad_test_broken", (x,), None)
    with pytest.raises(ValueError) as info:
        xp.sum(y).backward()
    msg = str(info.value)
    assert msg.startswith(
        "the VJP rule of op 'xpgrad_test_broken' (plugin 'xpgrad-test-broken-plugin') for argument 'x' "
        "failed on (x=(shape=(3,), dtype=float64); cotangent shape=(3,), dtype=float64): ValueError: ")
    assert "matmul" in msg
    assert isinstance(info.value.__cause__, ValueError)  # the original, for its traceback
    # the traceback passes through the rule's generated caller, under its own name
    frames = [f.co_filename for f in _frames(info.value.__cause__.__traceback__)]
    assert "<xpgrad: XpgradTestBrokenBackward VJP rule for x>" in frames


def test_vjp_rule_error_under_create_graph(register):
    register(ops_plugin(_broken_op()), "xpgrad-test-broken-plugin")
    x = xpgrad.tensor(np.ones(3), requires_grad=True)
    y = apply("xpgrad_test_broken", (x,), None)
    with pytest.raises(ValueError, match=r"^the VJP rule of op 'xpgrad_test_broken' \(plugin "
                                         r"'xpgrad-test-broken-plugin'\) for argument 'x'"):
        xpgrad.autograd.grad(xp.sum(y), x, create_graph=True)


def test_jvp_rule_error_names_op_plugin_argument_and_shapes(register):
    register(ops_plugin(_broken_op()), "xpgrad-test-broken-plugin")
    x = xpgrad.tensor(np.ones(3))
    with pytest.raises(ValueError) as info:
        xpgrad.func.jvp(lambda x: apply("xpgrad_test_broken", (x,), None), (x,), (xpgrad.tensor(np.ones(3)),))
    assert str(info.value).startswith(
        "the JVP rule of op 'xpgrad_test_broken' (plugin 'xpgrad-test-broken-plugin') for argument 'x' "
        "failed on (x=(shape=(3,), dtype=float64); tangent shape=(3,), dtype=float64): ValueError: ")


def test_error_type_that_takes_no_message_becomes_runtime_error(register):
    class Picky(Exception):
        def __init__(self):
            super().__init__("picky")

    def vjp(xp, g, x):
        raise Picky()

    register(ops_plugin(Op("xpgrad_test_picky", lambda xp, x: x + 0, vjp=(vjp,))), "xpgrad-test-picky")
    x = xpgrad.tensor(np.ones(2), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"for argument 'x' failed on .*: Picky: picky$") as info:
        xp.sum(apply("xpgrad_test_picky", (x,), None)).backward()
    assert isinstance(info.value.__cause__, Picky)


def test_custom_function_backward_errors_pass_through():
    class Bad(xpgrad.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            raise KeyError("mine")

    x = xpgrad.tensor(np.ones(2), requires_grad=True)
    with pytest.raises(KeyError) as info:
        xp.sum(Bad.apply(x)).backward()
    assert info.value.args == ("mine",)  # the user's exception itself, not a wrapper


def test_rules_given_as_a_bare_function_are_refused_with_the_fix():
    with pytest.raises(OpDefinitionError, match=re.escape(
            "op 'xpgrad_test_bare': VJP rules are given per argument, as a tuple (one entry per "
            "argument ['x'], None where there is none) or a dict by argument name; got one function. "
            "For one argument write (fn,) or {'x': fn}")):
        Op("xpgrad_test_bare", lambda xp, x: x, vjp=lambda xp, g, x: g)


# ---------------------------------------------------------------------- generated code


def _frames(tb):
    while tb is not None:
        yield tb.tb_frame.f_code
        tb = tb.tb_next


def test_generated_code_has_file_names_and_source():
    x = xpgrad.tensor(np.ones(3), requires_grad=True)
    y = xp.sin(x)
    op = type(y.grad_fn)._op
    (recorder,) = op.recorders.values()
    name = recorder.__code__.co_filename
    assert name == f"<xpgrad: {op.node_name} recorder, mask 1>"
    assert linecache.getline(name, 1).startswith("def record(dev, out, params")
    for rule in op.rules:
        code = rule.call.__code__
        assert code.co_filename.startswith(f"<xpgrad: {op.node_name} ")
        assert linecache.getline(code.co_filename, code.co_firstlineno).startswith("def call(")
    stacked = xpgrad.xp.stack([x, x])  # an op over *arrays: a forward per arity
    fwd = type(stacked.grad_fn)._op.forward.__code__
    assert fwd.co_filename == "<xpgrad: stack forward for 2 arrays>"
    assert linecache.getline(fwd.co_filename, 1).startswith("def forward(xp, x0, x1")


# ---------------------------------------------------------------------- one node constructor


def test_node_fields_are_the_node_slots():
    assert set(NODE_FIELDS) == set(Node.__slots__) - {"__weakref__"}


def _every_kind_of_node():
    x = xpgrad.tensor(np.arange(3.0), requires_grad=True)
    yield "op", xp.sin(x).grad_fn
    yield "op saving its output", xp.exp(x).grad_fn
    yield "transfer", x.to("array_api_strict").grad_fn

    class Twice(xpgrad.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, g1, g2):
            return g1 * 2 + g2 * 3

    a, b = Twice.apply(x)
    yield "custom Function", a.grad_fn
    yield "custom Function, second output", b.grad_fn

    class Once(xpgrad.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        @xpgrad.autograd.function.once_differentiable
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 2 * x

    (g,) = xpgrad.autograd.grad(xp.sum(Once.apply(x)), x, create_graph=True)
    yield "once_differentiable guard", g.grad_fn
    yield "checkpoint", xpgrad.func.checkpoint(lambda t: xp.sin(t) * 2)(x).grad_fn


def test_every_kind_of_node_has_every_field():
    kinds = dict(_every_kind_of_node())
    assert len(kinds) == 7
    for kind, node in kinds.items():
        assert isinstance(node, Node), kind
        for field in NODE_FIELDS:
            try:
                getattr(node, field)
            except AttributeError:
                pytest.fail(f"a {kind} node has no {field!r}: not made by new_node")


def test_nodes_are_filled_in_one_place():
    """Outside core/node.py no code assigns a node's identifying fields one by one (the
    recorder's generated lines come from node.node_source)."""
    root = pathlib.Path(xpgrad.__file__).parent
    offenders = []
    for path in root.rglob("*.py"):
        if path.name == "node.py":
            continue
        for n in ast.walk(ast.parse(path.read_text())):
            if isinstance(n, ast.Assign):
                for target in n.targets:
                    if (isinstance(target, ast.Attribute) and target.attr in ("epoch", "plan", "next", "shapes")
                            and isinstance(target.value, ast.Name) and target.value.id in ("node", "twin")):
                        offenders.append(f"{path.relative_to(root)}:{n.lineno}")
    assert not offenders, offenders
