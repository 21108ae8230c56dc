"""The op definition: what a plugin declares, once, against the array API standard.

An op is a forward function and one VJP rule per differentiable argument::

    Op("multiply", lambda xp, x1, x2: xp.multiply(x1, x2),
       vjp={"x1": lambda xp, g, x2: g * x2,
            "x2": lambda xp, g, x1: g * x1})

The forward's positional parameters after ``xp`` are the op's array arguments (Tensors
or Python scalars at the call site); its keyword-only parameters are the op's params.
A VJP rule takes ``xp`` and the cotangent ``g``, then asks by name for what it needs,
in any order, as pytest fixtures do:

- an argument's name (``x1``): that argument's value, saved for backward;
- ``out``: the forward's result, saved for backward;
- ``<arg>_shape`` / ``<arg>_dtype``: that argument's shape or dtype (nothing saved);
- a param's name (``axis``): that param's value.

Where the VJP is the cotangent times an elementwise derivative, the op may declare the
derivative instead, ``derivative={"x1": lambda xp, x2: x2, "x2": lambda xp, x1: x1}``;
the engine then forms ``g * conj(d)`` (and the JVP ``t * d``) and decides where that
product may be written.

The engine saves exactly what the rules of the arguments that require grad ask for, and
nothing else, so a graph keeps no array alive that its backward does not read. The same
rule runs on raw backend arrays with the backend's namespace in plain ``backward()``,
and on Tensors with ``xpgrad.xp`` under ``create_graph=True``. A rule returns a new
array or one of the arrays it was handed, unchanged; never one it keeps elsewhere (a
cache, a global), which the engine would take for its own.
"""
import inspect
import re

__all__ = ["Op", "OpDefinitionError"]


class OpDefinitionError(TypeError):
    """An op was declared in a way the engine cannot use."""


_SUFFIXES = ("_shape", "_dtype")


def _node_name(name):
    return "".join(part.capitalize() for part in name.split("_")) + "Backward"


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
    if _complex_dtype(d.dtype):
        return g * xp.conj(d)
    return g * d


def _tangent(xp, t, d):
    """``t * d``: a tangent through a derivative ``d`` (no conjugate: forward mode)."""
    if type(d) in _REAL_SCALARS:
        return t if d == 1 else -t if d == -1 else t * d
    return t * d


_REAL_SCALARS = (int, float, bool)


def _constant(fn):
    """The value of a derivative that names nothing, where it is a Python number."""
    try:
        value = fn(None)
    except Exception:
        return None
    return value if type(value) in _REAL_SCALARS or type(value) is complex else None


class Rule:
    """One compiled rule: the function and the callers that feed it what it names.

    ``kind`` says what the function is: ``"vjp"`` ``fn(xp, g, ...)`` returns the
    cotangent of its argument; ``"jvp"`` ``fn(xp, t, ...)`` its contribution to the
    output's tangent; ``"derivative"`` ``fn(xp, ...)`` the argument's elementwise
    derivative ``d``, from which the cotangent is ``g * conj(d)`` (``derive`` returns
    ``d`` itself, so that the engine decides where that product is written) and the
    tangent ``t * d`` (kind ``"derivative_jvp"``, the same function).

    ``call`` serves plain backward: the saved arguments are unwrapped to raw arrays.
    ``call_graph`` serves ``create_graph`` (and forward mode): the saved Tensors are
    passed as they are. Both read shapes, dtypes and params from the node, and only
    where the rule names them.
    """

    __slots__ = ("fn", "kind", "call", "call_graph", "derive", "derivative", "needs_args",
                 "needs_out", "names")
    # What an op's rule returns is a new array or one it was handed (the contract in
    # docs/plugins.md), so the engine may own the new ones; a custom Function's backward
    # is user code, whose results the engine never owns (its rules say trusted = False).
    trusted = True

    def __init__(self, op_name, argnames, params, fn, kind="vjp"):
        what = "derivative" if kind.startswith("derivative") else f"{kind.upper()} rule"
        try:
            sig = inspect.signature(fn)
        except (TypeError, ValueError) as exc:
            raise OpDefinitionError(f"op {op_name!r}: cannot read the {what}'s signature: {exc}")
        names = list(sig.parameters)
        skip = 1 if kind.startswith("derivative") else 2
        if len(names) < skip:
            raise OpDefinitionError(
                f"op {op_name!r}: a {what} takes "
                f"{'(xp, ...)' if skip == 1 else '(xp, g, ...)'} and then the names it needs; "
                f"got {fn!r} with parameters {names}"
            )
        exprs, needs_args, needs_out = [], set(), False
        for name in names[skip:]:
            if name in argnames:
                i = argnames.index(name)
                needs_args.add(i)
                exprs.append(f"a{i}")
            elif name == "out":
                needs_out = True
                exprs.append("out")
            elif name.endswith(_SUFFIXES) and name[:-6] in argnames:
                i = argnames.index(name[:-6])
                exprs.append(f"node.{'shapes' if name.endswith('_shape') else 'dtypes'}[{i}]")
            elif name in params:
                exprs.append(f"node.params[{name!r}]")
            else:
                raise OpDefinitionError(
                    f"op {op_name!r}: the {what} asks for {name!r}, which is none of the "
                    f"op's arguments {list(argnames)}, 'out', '<arg>_shape', '<arg>_dtype' "
                    f"or its params {sorted(params)}"
                )
        # A generated caller costs one Python call per rule; building the argument list
        # from a plan at every backward step would cost several. A saved argument is a
        # Tensor or a Python scalar; plain backward hands the rule the Tensor's array.
        unwrap, keep = [], []
        for i in sorted(needs_args):
            unwrap += [f"    a{i} = saved[{i}]", f"    if type(a{i}) is Tensor:", f"        a{i} = a{i}._data"]
            keep.append(f"    a{i} = saved[{i}]")
        given = "".join(", " + e for e in exprs)
        constant = _constant(fn) if skip == 1 and not exprs else None
        if constant is not None:  # a constant derivative (add's 1): folded here, once
            ret = ("    return g" if constant == 1 else "    return -g" if constant == -1 else
                   f"    return {'product' if kind == 'derivative' else 'tangent'}(xp, g, {constant!r})")
        elif skip == 1:
            value = f"fn(xp{given})"
            ret = f"    return {'product' if kind == 'derivative' else 'tangent'}(xp, g, {value})"
        else:
            ret = f"    return fn(xp, g{given})"
        lines = (["def call(xp, g, saved, out, node):"] + unwrap + [ret]
                 + ["def call_graph(xp, g, saved, out, node):"] + keep + [ret])
        if skip == 1:
            lines += ["def derive(xp, saved, out, node):"] + unwrap + [f"    return fn(xp{given})"]
        from xpgrad.tensor import Tensor

        scope = {"fn": fn, "Tensor": Tensor, "product": _product, "tangent": _tangent}
        exec("\n".join(lines), scope)
        self.fn = fn
        self.kind = kind
        self.call = scope["call"]
        self.call_graph = scope["call_graph"]
        self.derive = scope.get("derive")
        self.derivative = kind == "derivative"
        self.needs_args = frozenset(needs_args)
        self.needs_out = needs_out
        self.names = tuple(names[skip:])


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


class Op:
    """A differentiable function, declared once against the array API standard.

    Parameters
    ----------
    name : str
        The op's name in the registry (``"multiply"``). Tensor methods, operators and
        ``xpgrad.xp`` functions dispatch on it.
    forward : callable
        ``forward(xp, *arrays, **params)`` returning one array of the backend. ``xp`` is
        the backend's array API namespace.
    vjp : dict or tuple or None
        One rule per differentiable argument, keyed by argument name or listed in order
        (``None`` for an argument with no gradient). ``vjp=None`` declares the op not
        differentiable: its outputs never require grad (comparisons, ``argmax``).
    derivative : dict or tuple or None, optional
        For an argument whose VJP is a product with its elementwise derivative (``exp``,
        ``sin``, ``multiply``): ``{"x": lambda xp, x: xp.cos(x)}``, the derivative of the
        output with respect to that argument, elementwise (an array that broadcasts to
        the output's shape, or a Python number), asking by name for what it needs as a
        VJP rule does. The engine then computes the cotangent ``g * conj(d)`` and the
        tangent ``t * d`` itself, and decides where the product may be written (into a
        cotangent or a derivative no one else holds). An argument has either a derivative
        or a VJP (and JVP) rule, not both.
    jvp : dict or tuple or None, optional
        Forward-mode rules, one per differentiable argument, in the same form as ``vjp``
        but taking the argument's tangent ``t`` where a VJP rule takes ``g``:
        ``{"x": lambda xp, t, x: t * xp.cos(x)}`` returns that argument's contribution
        to the output's tangent (the contributions are summed, and broadcast to the
        output's shape). An op without them still works in forward mode: the engine
        derives the JVP from the VJP rules (the double-VJP trick), one op at a time.
    backends : iterable of str, optional
        Backend names this definition is specialised for (``{"numpy"}``); it then
        overrides the generic definition on those backends only.
    overrides : bool
        Declares that this definition deliberately replaces another plugin's op of the
        same name and backends. Without it, a clash is an error naming both plugins.
    node_name : str, optional
        The graph node's class name (``"MulBackward"``). Derived from ``name`` if absent.
    doc : str, optional
        One line shown by ``python -m xpgrad`` and the generated docs.
    first_order_only : bool
        The VJP rules are not themselves differentiable (they leave the array API, or
        their derivative is not implemented): a backward with ``create_graph=True``
        through this op raises an error naming it instead of returning a wrong answer.
    elementwise : bool
        The op takes one or two arrays and its forward is exactly the standard's
        elementwise function of the same name (``exp``, ``add``): a backend may then
        compute it into the memory of an argument that nothing else holds, a temporary,
        as NumPy does for its own temporaries (``Backend.elementwise_into``; the
        dispatcher decides when that is safe). Two-argument ops are elided only through
        their operator (``+ - * /``).
    view : bool
        The forward may return a view of its first argument (``x[1:]``, ``reshape``,
        ``permute_dims`` on NumPy): the dispatcher then asks the backend whether the
        result shares memory with that argument (``Backend.shares_memory``) and, if so,
        makes it a view Tensor, which shares its base's version counter and whose
        in-place writes rewrite the base's graph (see ``xpgrad.views``). An op that is
        not declared ``view`` must return memory of its own.
    """

    __slots__ = (
        "name", "forward", "argnames", "params", "defaults", "rules", "jvp_rules", "backends",
        "overrides", "node_name", "node_type", "doc", "plugin", "_plans", "recorders",
        "differentiable", "first_order_only", "variadic", "_rule_factories", "_arities",
        "elementwise", "view",
    )

    def __init__(self, name, forward, vjp=None, *, derivative=None, jvp=None, backends=None,
                 overrides=False, node_name=None, doc=None, first_order_only=False,
                 elementwise=False, view=False):
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise OpDefinitionError(f"an op's name must be an identifier, got {name!r}")
        if not callable(forward):
            raise OpDefinitionError(f"op {name!r}: forward must be callable, got {forward!r}")
        sig = inspect.signature(forward)
        params = list(sig.parameters.values())
        if not params or params[0].kind not in (params[0].POSITIONAL_ONLY, params[0].POSITIONAL_OR_KEYWORD):
            raise OpDefinitionError(f"op {name!r}: forward takes xp first, then the arrays")
        argnames, kw, variadic = [], {}, False
        for p in params[1:]:
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
                argnames.append(p.name)
            elif p.kind is p.KEYWORD_ONLY:
                kw[p.name] = None if p.default is p.empty else p.default
            elif p.kind is p.VAR_POSITIONAL and not argnames:
                variadic = True
            else:
                raise OpDefinitionError(
                    f"op {name!r}: forward may not take **kwargs, or *arrays after named arrays; "
                    "list the arrays positionally (or all as *arrays) and the params keyword-only"
                )
        self.name = name
        self.forward = forward
        self.argnames = tuple(argnames)
        self.params = frozenset(kw)
        self.defaults = kw
        self.backends = frozenset(backends) if backends else None
        self.overrides = bool(overrides)
        self.node_name = node_name or _node_name(name)
        self.doc = doc
        self.plugin = None  # set by the registry: the plugin's name
        self.node_type = None  # set by the registry: a Node subclass named node_name
        self.differentiable = vjp is not None or derivative is not None
        self.first_order_only = bool(first_order_only)
        self.variadic = variadic
        self.elementwise = bool(elementwise) and len(argnames) in (1, 2)
        self.view = bool(view)
        if self.view and (variadic or not argnames):
            raise OpDefinitionError(f"op {name!r}: a view op returns a view of its first array argument, "
                                    "so it needs one, named (not *arrays)")
        self._arities = {}
        if variadic:
            # Rules are made per argument count: see with_arity.
            for what, factory in (("vjp", vjp), ("jvp", jvp)):
                if factory is not None and not callable(factory):
                    raise OpDefinitionError(
                        f"op {name!r} takes *arrays: its {what} must be a function of the argument's "
                        "index i returning that argument's rule (or None)"
                    )
            if derivative is not None:
                raise OpDefinitionError(f"op {name!r} takes *arrays: give vjp= (and jvp=) factories, "
                                        "not derivative=")
            self._rule_factories = (vjp, jvp)
            vjp = jvp = None
        self.rules = self._compile_rules(vjp)
        self.jvp_rules = self._compile_rules(jvp, "jvp") if jvp is not None else None
        if derivative is not None:
            self._add_derivatives(derivative)
        if self.jvp_rules is not None and not self.differentiable:
            raise OpDefinitionError(f"op {name!r}: JVP rules given for an op declared not differentiable (vjp=None)")
        self._plans = {}
        self.recorders = {}  # the dispatcher's, by bit mask of the arguments requiring grad

    def _per_argument(self, given, what):
        """``given`` (a dict by argument name, or a sequence in order) as a list with one
        entry per argument (None where absent)."""
        n = len(self.argnames)
        if isinstance(given, dict):
            unknown = set(given) - set(self.argnames)
            if unknown:
                raise OpDefinitionError(
                    f"op {self.name!r}: {what} for {sorted(unknown)}, which are not "
                    f"arguments of its forward {list(self.argnames)}"
                )
            return [given.get(a) for a in self.argnames]
        fns = list(given)
        if len(fns) != n:
            raise OpDefinitionError(
                f"op {self.name!r}: {len(fns)} {what} for {n} arguments {list(self.argnames)}"
            )
        return fns

    def _compile_rules(self, rules, kind="vjp"):
        """VJP rules and JVP rules alike: the function after ``(xp, g_or_t)`` names what it needs."""
        if rules is None:
            return (None,) * len(self.argnames)
        fns = self._per_argument(rules, f"{kind.upper()} rules")
        return tuple(None if f is None else Rule(self.name, self.argnames, self.params, f, kind)
                     for f in fns)

    def _add_derivatives(self, derivative):
        """The VJP and JVP rules of the arguments that have a derivative."""
        fns = self._per_argument(derivative, "derivatives")
        rules, jvp_rules = list(self.rules), list(self.jvp_rules or (None,) * len(fns))
        for i, f in enumerate(fns):
            if f is None:
                continue
            if rules[i] is not None or jvp_rules[i] is not None:
                raise OpDefinitionError(
                    f"op {self.name!r}: argument {self.argnames[i]!r} has a derivative and a VJP or "
                    "JVP rule; give one or the other"
                )
            rules[i] = Rule(self.name, self.argnames, self.params, f, "derivative")
            jvp_rules[i] = Rule(self.name, self.argnames, self.params, f, "derivative_jvp")
        self.rules = tuple(rules)
        self.jvp_rules = tuple(jvp_rules)

    def with_arity(self, n):
        """For an op declared with ``*arrays``: the op for exactly ``n`` arrays, named
        ``x0 ... x{n-1}``, made once per ``n``. Its rules are the factories' rules for
        each index; it shares this op's name, node type and plugin."""
        op = self._arities.get(n)
        if op is None:
            argnames = [f"x{i}" for i in range(n)]
            params = "".join(f", {p}={p}" for p in self.defaults)
            kwonly = "".join(f", {p}=_d[{p!r}]" for p in self.defaults)
            sig = ", ".join(argnames)
            scope = {"fwd": self.forward, "_d": self.defaults}
            exec(f"def forward(xp, {sig}{', *' if self.defaults else ''}{kwonly}):\n"
                 f"    return fwd(xp, {sig}{params})", scope)
            vjp_for, jvp_for = self._rule_factories
            vjp = None if vjp_for is None else tuple(vjp_for(i) for i in range(n))
            jvp = None if jvp_for is None else tuple(jvp_for(i) for i in range(n))
            op = Op(self.name, scope["forward"], vjp, jvp=jvp, node_name=self.node_name,
                    doc=self.doc, first_order_only=self.first_order_only)
            op.backends, op.overrides = self.backends, self.overrides
            op.plugin = self.plugin
            if self.node_type is not None:  # the registry's type, specialised so node._op is this op
                op.node_type = type(self.node_name, (self.node_type,), {"__slots__": (), "_op": op})
            self._arities[n] = op
        return op

    def plan(self, needs):
        """The SavePlan for ``needs``, a tuple of bools: which arguments require grad."""
        plan = self._plans.get(needs)
        if plan is None:
            rules = tuple(r if need else None for r, need in zip(self.rules, needs))
            keep = [False] * len(self.argnames)
            out = False
            for r in rules:
                if r is not None:
                    for i in r.needs_args:
                        keep[i] = True
                    out = out or r.needs_out
            plan = self._plans[needs] = SavePlan(tuple(keep), out, rules)
        return plan

    def __repr__(self):
        where = f" from {self.plugin}" if self.plugin else ""
        args = "*arrays" if self.variadic else ", ".join(self.argnames)
        return f"<Op {self.name}({args}){where}>"
