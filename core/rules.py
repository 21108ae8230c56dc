"""The rule compiler: from an op's declaration to what the engine runs.

An op (``xpgrad.plugins.Op``, the contract) declares, per argument, a VJP rule, an
elementwise derivative or nothing, and a JVP rule, ``"linear"`` or nothing. This module
compiles a declaration, once, when the registry publishes it (the registry calls
``Op.compiler``, which is this module):

- each rule into a :class:`Rule`, whose generated callers feed the function what it names
  (saved arguments, the output, shapes, dtypes, params) in plain backward (raw arrays)
  and under ``create_graph`` (Tensors);
- the op's node class, ``<Op>Backward``, a subclass of ``xpgrad.node.Node``;
- per pattern of arguments that require grad, on first use, a :class:`SavePlan`: which
  arguments and whether the output the node keeps.
"""
import sys
from collections.abc import Callable
from typing import Any, Protocol

from xpgrad.plugins import registry as _registry
from xpgrad.plugins.codegen import define
from xpgrad.plugins.op import Op

from .node import Node
from .tensor import Tensor

__all__ = ["Rule", "SavePlan", "RuleInterface", "PlanInterface", "compile_op", "plan", "rule_error"]

_REAL_SCALARS = (int, float, bool)

# id(dtype) -> (dtype, whether complex): asked per rule call, so answered once per dtype
# object (kept with its answer, so that its id is not reused while cached).
_COMPLEX_BY_ID = {}


def _complex_dtype(dtype):
    known = _COMPLEX_BY_ID.get(id(dtype))
    if known is None:
        known = _COMPLEX_BY_ID[id(dtype)] = (dtype, "complex" in str(dtype))
    return known[1]


def _product(xp, g, d):
    """``g * conj(d)``: the cotangent through a derivative ``d`` (PyTorch's convention for
    complex values; ``conj`` only where ``d`` is complex, at no cost for real values). A
    derivative of 1 or -1 passes ``g`` on, or its negation, without a multiply."""
    kind = type(d)
    if kind in _REAL_SCALARS:
        return g if d == 1 else -g if d == -1 else g * d
    if kind is complex:
        return g * d.conjugate()
    known = _COMPLEX_BY_ID.get(id(d.dtype))  # _complex_dtype, inlined: once per rule call
    if known is None:
        known = (None, _complex_dtype(d.dtype))
    if known[1]:
        return g * xp.conj(d)
    return g * d


def _quotient(xp, g, r):
    """``g / conj(r)``: the cotangent through a derivative ``1 / r``, one division."""
    if type(r) in _REAL_SCALARS:
        return g / r
    if type(r) is complex:
        return g / r.conjugate()
    if _complex_dtype(r.dtype):
        return g / xp.conj(r)
    return g / r


def _tangent_quotient(xp, t, r):
    """``t / r``: a tangent through a derivative ``1 / r``."""
    return t / r


def _tangent(xp, t, d):
    """``t * d``: a tangent through a derivative ``d`` (no conjugate: forward mode)."""
    if type(d) in _REAL_SCALARS:
        return t if d == 1 else -t if d == -1 else t * d
    return t * d


def _constant(fn):
    """The value of a derivative that names nothing, where it is a Python number."""
    try:
        value = fn(None)
    except Exception:
        return None
    return value if type(value) in _REAL_SCALARS or type(value) is complex else None


# ---------------------------------------------------------------------- interfaces
# What the engine reads of a node's plan and of each of its rules. Compiled ops give a
# SavePlan of Rules; a custom Function, checkpoint and the once-differentiable guard give
# their own objects with the same attributes (xpgrad.autograd.function, xpgrad.func).


class RuleInterface(Protocol):
    """A rule as the engine calls it.

    ``call(xp, g, saved, out, node)`` returns the argument's cotangent in plain backward
    (``saved`` holds what the node kept, ``out`` the output's raw array or None);
    ``call_graph`` the same under ``create_graph`` (Tensors in, Tensors out).
    ``derivative`` says the rule also has ``derive(xp, saved, out, node)``, the
    elementwise derivative ``d`` whose product with the cotangent the engine writes.
    ``trusted`` says its results are new arrays or arrays it was handed (the engine may
    own the new ones); ``needs_args``/``needs_out`` what it reads; ``names`` the names it
    was declared with (for error messages).
    """

    call: Callable[..., Any]
    call_graph: Callable[..., Any]
    derivative: bool
    trusted: bool
    needs_args: frozenset
    needs_out: bool
    names: tuple


class PlanInterface(Protocol):
    """A node's plan: what it keeps and which rule runs for each argument.

    ``keep`` is one bool per argument (the argument is saved), ``out`` whether the output
    is, ``rules`` one rule or None per argument, ``last`` the index of the last rule to
    run (it may write into the cotangent where the engine owns it; -1: none may).
    """

    keep: tuple
    out: bool
    rules: "tuple[RuleInterface | None, ...]"
    last: int


class Rule:
    """One compiled rule of one argument of an op.

    ``kind`` says what the declared function is: ``"vjp"`` ``fn(xp, g, ...)`` returns the
    argument's cotangent; ``"jvp"`` ``fn(xp, t, ...)`` its contribution to the output's
    tangent; ``"derivative"`` ``fn(xp, ...)`` its elementwise derivative ``d``, from which
    the cotangent is ``g * conj(d)`` (``derive`` returns ``d`` itself, so that the engine
    decides where that product is written); ``"derivative_jvp"``: the same function as a
    JVP, the tangent ``t * d``; ``"quotient"`` and ``"quotient_jvp"``: a reciprocal
    derivative ``r``, whose cotangent is ``g / conj(r)`` and tangent ``t / r``;
    ``"linear"``: the JVP of an op linear in this argument,
    the op itself applied to the tangent (forward mode dispatches it).

    ``call`` serves plain backward: the saved arguments are unwrapped to raw arrays.
    ``call_graph`` serves ``create_graph`` and forward mode: the saved Tensors are passed
    as they are. Both read shapes, dtypes and params from the node, and only where the
    rule names them.
    """

    __slots__ = ("fn", "kind", "call", "call_graph", "derive", "derivative", "needs_args",
                 "needs_out", "names")
    # What an op's rule returns is a new array or one it was handed (the contract in
    # docs/plugins.md), so the engine may own the new ones; a custom Function's backward
    # is user code, whose results the engine never owns (its rules say trusted = False).
    trusted = True

    def __init__(self, op, index, fn, kind, names):
        argnames, params = op.argnames, op.params
        exprs, needs_args, needs_out = [], set(), False
        for name in names:
            if name in argnames:
                i = argnames.index(name)
                needs_args.add(i)
                exprs.append(f"a{i}")
            elif name == "out":
                needs_out = True
                exprs.append("out")
            elif name.endswith(("_shape", "_dtype")) and name[:-6] in argnames:
                i = argnames.index(name[:-6])
                exprs.append(f"node.{'shapes' if name.endswith('_shape') else 'dtypes'}[{i}]")
            else:  # a param: the declaration checked that it is one
                assert name in params, name
                exprs.append(f"node.params[{name!r}]")
        self.fn = fn
        self.kind = kind
        self.derivative = kind == "derivative"
        self.needs_args = frozenset(needs_args)
        self.needs_out = needs_out
        self.names = tuple(names)
        self.derive = None
        if kind == "linear":
            self.call = self.call_graph = None  # forward mode applies the op itself
            return
        # A generated caller costs one Python call per rule; building the argument list
        # from a plan at every backward step would cost several. A saved argument is a
        # Tensor or a Python scalar; plain backward hands the rule the Tensor's array.
        unwrap, keep = [], []
        for i in sorted(needs_args):
            unwrap += [f"    a{i} = saved[{i}]", f"    if type(a{i}) is Tensor:", f"        a{i} = a{i}._data"]
            keep.append(f"    a{i} = saved[{i}]")
        given = "".join(", " + e for e in exprs)
        combine = {"derivative": "product", "derivative_jvp": "tangent", "quotient": "quotient",
                   "quotient_jvp": "tangent_quotient"}.get(kind)
        constant = _constant(fn) if combine is not None and not exprs else None
        if constant is not None:  # a constant derivative (add's 1): folded here, once
            ret = ("    return g" if constant == 1 else "    return -g" if constant == -1 else
                   f"    return {combine}(xp, g, {constant!r})")
        elif combine is not None:
            ret = f"    return {combine}(xp, g, fn(xp{given}))"
        else:
            ret = f"    return fn(xp, g{given})"
        lines = (["def call(xp, g, saved, out, node):"] + unwrap + [ret]
                 + ["def call_graph(xp, g, saved, out, node):"] + keep + [ret])
        if kind == "derivative":
            lines += ["def derive(xp, saved, out, node):"] + unwrap + [f"    return fn(xp{given})"]
        what = {"vjp": "VJP rule", "jvp": "JVP rule", "derivative": "derivative",
                "derivative_jvp": "derivative as JVP", "quotient": "reciprocal derivative",
                "quotient_jvp": "reciprocal derivative as JVP"}[kind]
        scope = define("\n".join(lines) + "\n",
                       f"<xpgrad: {op.node_name} {what} for {argnames[index]}>",
                       {"fn": fn, "Tensor": Tensor, "product": _product, "tangent": _tangent,
                        "quotient": _quotient, "tangent_quotient": _tangent_quotient})
        self.call = scope["call"]
        self.call_graph = scope["call_graph"]
        self.derive = scope.get("derive")


class SavePlan:
    """What a node keeps for a given set of arguments that require grad."""

    __slots__ = ("keep", "out", "rules", "last")

    def __init__(self, keep, out, rules):
        self.keep = keep  # tuple of bools, one per argument
        self.out = out  # whether the forward's result is kept
        self.rules = rules  # per argument: the Rule to run, or None
        # The index of the last rule to run: no later one reads g, so the engine may let
        # it write into g where g is its own (-1: none)
        self.last = max((i for i, r in enumerate(rules) if r is not None), default=-1)


def compile_op(op):
    """Compile ``op``'s declared rules (once): its ``rules``, ``jvp_rules`` and node class.
    Called by the registry for every op it publishes (``Op.compiler``)."""
    if op.rules is not None:
        return op
    if op.variadic:  # compiled per number of arguments: see Op.with_arity
        op.rules, op.jvp_rules = (), None
    else:
        rules, jvp_rules = [], []
        for i, (vjp, derivative, reciprocal, jvp) in enumerate(
                zip(op.vjp, op.derivative, op.reciprocal_derivative, op.jvp)):
            if derivative is not None:
                names = op.rule_names(derivative, "derivative")
                rules.append(Rule(op, i, derivative, "derivative", names))
                jvp_rules.append(Rule(op, i, derivative, "derivative_jvp", names))
                continue
            if reciprocal is not None:
                names = op.rule_names(reciprocal, "reciprocal_derivative")
                rules.append(Rule(op, i, reciprocal, "quotient", names))
                jvp_rules.append(Rule(op, i, reciprocal, "quotient_jvp", names))
                continue
            rules.append(None if vjp is None else Rule(op, i, vjp, "vjp", op.rule_names(vjp, "vjp")))
            if jvp == "linear":
                jvp_rules.append(Rule(op, i, None, "linear", ()))
            else:
                jvp_rules.append(None if jvp is None else Rule(op, i, jvp, "jvp", op.rule_names(jvp, "jvp")))
        op.rules = tuple(rules)
        op.jvp_rules = tuple(jvp_rules) if any(r is not None for r in jvp_rules) else None
    op.recorders = {}
    op._plans = {}
    if op.node_type is None:
        op.node_type = type(op.node_name, (Node,), {"__slots__": (), "_op": op})
    return op


def plan(op, needs):
    """The SavePlan of ``op`` for ``needs``, a tuple of bools: which arguments require
    grad (made on first use, then kept on the op)."""
    found = op._plans.get(needs)
    if found is None:
        rules = tuple(r if need else None for r, need in zip(op.rules, needs))
        keep = [False] * len(op.argnames)
        out = False
        for r in rules:
            if r is not None:
                for i in r.needs_args:
                    keep[i] = True
                out = out or r.needs_out
        found = op._plans[needs] = SavePlan(tuple(keep), out, rules)
    return found


# The contract's extension point: from now on the registry compiles every op it publishes
# with this module; ops published before the engine was imported are compiled here.
Op.compiler = sys.modules[__name__]
for _defs in _registry.all_ops().values():
    for _op in _defs:
        compile_op(_op)


def _describe_array(shape, dtype):
    return f"shape={tuple(shape)}, dtype={dtype}" if shape is not None else "requires no grad"


def rule_error(rule, op, index, shapes, dtypes, given, exc):
    """The error to raise for ``exc``, raised inside ``rule`` (a compiled rule of ``op``'s
    argument ``index``), or None to let ``exc`` through as it is: a custom Function's
    backward and checkpoint's recomputation are the user's code, whose errors are theirs.

    Like a forward error, it names the op, its plugin, the argument and what the rule was
    given (the arguments' shapes and dtypes, and the cotangent's or tangent's ``given``),
    keeping the original type where it takes a message (RuntimeError otherwise).
    """
    if type(rule) is not Rule or op is None:
        return None
    what = {"vjp": "VJP rule", "derivative": "derivative", "jvp": "JVP rule",
            "derivative_jvp": "derivative (as JVP)", "quotient": "reciprocal derivative",
            "quotient_jvp": "reciprocal derivative (as JVP)"}.get(rule.kind, "rule")
    names = op.argnames
    arg = names[index] if index < len(names) else str(index)
    inputs = ", ".join(f"{n}=({_describe_array(s, d)})" for n, s, d in zip(names, shapes, dtypes))
    seed = "cotangent" if rule.kind in ("vjp", "derivative", "quotient") else "tangent"
    given_text = _describe_array(getattr(given, "shape", ()), getattr(given, "dtype", type(given).__name__))
    msg = (f"the {what} of op {op.name!r} (plugin {op.plugin!r}) for argument {arg!r} failed "
           f"on ({inputs}; {seed} {given_text}): {type(exc).__name__}: {exc}")
    try:
        return type(exc)(msg)
    except Exception:
        return RuntimeError(msg)
