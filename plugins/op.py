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

This module is the declaration only: it checks what an op declares and keeps it. The
engine compiles it (``xpgrad.rules``, plugged in as ``Op.compiler``) when the registry
publishes the op.
"""
from __future__ import annotations

import inspect
import re
from typing import TYPE_CHECKING, Any, ClassVar

from .codegen import define

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence
    from typing import Literal

    #: A rule (VJP, JVP or derivative): ``xp`` (and ``g`` or ``t``), then the names it asks for.
    Rule = Callable[..., Any]
    #: Rules per argument: by name, in order (None where an argument has none), or, for an
    #: op over ``*arrays``, a function of the argument's index ``i`` (or of ``i`` and the
    #: number of arrays ``n``) returning its rule.
    Rules = Mapping[str, Rule | None] | Sequence[Rule | None] | Callable[..., Rule | None]

__all__ = ["Op", "OpDefinitionError"]


class OpDefinitionError(TypeError):
    """An op was declared in a way the engine cannot use."""


_SUFFIXES = ("_shape", "_dtype")


def _node_name(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_")) + "Backward"


_RULE_KINDS = {"vjp": ("VJP rule", 2), "jvp": ("JVP rule", 2), "derivative": ("derivative", 1),
               "reciprocal_derivative": ("reciprocal derivative", 1)}


def _per_index(factory: Callable[..., Any], n: int) -> tuple[Any, ...]:
    """The rules a factory of an op over ``*arrays`` makes for ``n`` arrays: it is called
    with each index ``i``, and with ``n`` too where it takes a second parameter (a rule
    that reads every other array, as einsum's, is made knowing how many there are)."""
    try:
        takes_n = len(inspect.signature(factory).parameters) >= 2
    except (TypeError, ValueError):
        takes_n = False
    return tuple(factory(i, n) if takes_n else factory(i) for i in range(n))


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
    reciprocal_derivative : dict or tuple or None, optional
        For an argument whose elementwise derivative is a quotient ``1 / r`` (``log``:
        ``r = x``; ``sqrt``: ``r = 2 * out``; ``atan``: ``r = 1 + x * x``):
        ``{"x": lambda xp, x: x}`` declares ``r``, in the form of ``derivative``. The
        cotangent is then ``g / conj(r)`` and the tangent ``t / r``: one division, as the
        math is written, where ``g * conj(1 / r)`` would round twice and overflow sooner.
    jvp : dict or tuple or None, optional
        Forward-mode rules, one per differentiable argument, in the same form as ``vjp``
        but taking the argument's tangent ``t`` where a VJP rule takes ``g``:
        ``{"x": lambda xp, t, x: t * xp.cos(x)}`` returns that argument's contribution
        to the output's tangent (the contributions are summed, and broadcast to the
        output's shape). ``jvp="linear"`` declares an op of one array argument that is
        linear in it (``reshape``, ``sum``, ``fft``): its JVP is the op itself applied to
        the tangent. An op without them still works in forward mode: the engine derives
        the JVP from the VJP rules (the double-VJP trick), one op at a time.
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
    batch : callable or str, optional
        How ``xpgrad.func.vmap`` runs the op on a batch. An op declared ``elementwise``
        needs nothing: it broadcasts its operands with the batch axis in front, derived.
        Otherwise one of the derived rules by
        name: ``"elementwise"`` (the operands broadcast together), ``"reduction"`` (one
        array, ``axis=None`` meaning every axis), ``"trailing"`` (one array, computed on
        its last axes with any leading ones as a batch, as ``det``); or a function
        ``batch(values, batched, params, size)`` returning the op's result for the whole
        batch: ``values`` are the operands (Tensors whose axis 0 is the batch where
        ``batched[i]`` is True; others as given), ``params`` the op's params (a dict it
        may change), ``size`` the batch size; it calls the op (or others) through
        ``xpgrad.xp`` or ``xpgrad.dispatch.apply`` on them, and returns the result with
        the batch on axis 0, or ``NotImplemented`` for the loop. An op with no rule runs
        once per example, with a one-time ``VmapFallbackWarning``.
    """

    __slots__ = (
        # the declaration
        "name", "forward", "argnames", "params", "defaults", "vjp", "derivative",
        "reciprocal_derivative", "jvp",
        "backends", "overrides", "node_name", "doc", "plugin", "differentiable",
        "first_order_only", "variadic", "elementwise", "view", "batch", "_rule_factories", "_arities",
        # what the engine compiles from it (Op.compiler), when the registry publishes it
        "rules", "jvp_rules", "node_type", "recorders", "_plans",
    )

    #: The engine's rule compiler (``xpgrad.rules``), which the engine sets here when it
    #: is imported; the registry runs ``compiler.compile_op`` on every op it publishes.
    compiler: ClassVar[Any] = None

    name: str
    forward: Callable[..., Any]
    argnames: tuple[str, ...]
    params: frozenset[str]
    defaults: dict[str, Any]
    vjp: tuple[Rule | None, ...]
    derivative: tuple[Rule | None, ...]
    reciprocal_derivative: tuple[Rule | None, ...]
    jvp: tuple[Any, ...]  # a rule or None per argument, or ("linear",)
    backends: frozenset[str] | None
    overrides: bool
    node_name: str
    doc: str | None
    plugin: str | None
    differentiable: bool
    first_order_only: bool
    variadic: bool
    elementwise: bool
    view: bool
    _rule_factories: Any
    _arities: dict[int, Op]
    # compiled by the engine (types of core/, which this layer does not import)
    rules: Any
    jvp_rules: Any
    node_type: Any
    recorders: Any
    _plans: Any

    def __init__(self, name: str, forward: Callable[..., Any], vjp: Rules | None = None, *,
                 derivative: Rules | None = None, reciprocal_derivative: Rules | None = None,
                 jvp: Rules | Literal["linear"] | None = None,
                 backends: Iterable[str] | None = None, overrides: bool = False, node_name: str | None = None,
                 doc: str | None = None, first_order_only: bool = False, elementwise: bool = False,
                 view: bool = False, batch: Callable[..., Any] | str | None = None) -> None:
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
        self.differentiable = vjp is not None or derivative is not None or reciprocal_derivative is not None
        self.first_order_only = bool(first_order_only)
        self.variadic = variadic
        self.elementwise = bool(elementwise) and len(argnames) in (1, 2)
        self.view = bool(view)
        if batch is not None and not callable(batch) and batch not in ("elementwise", "reduction", "trailing"):
            raise OpDefinitionError(f"op {name!r}: batch= takes a function or one of 'elementwise', 'reduction', "
                                    f"'trailing', got {batch!r}")
        self.batch = batch
        if self.view and (variadic or len(argnames) != 1):
            raise OpDefinitionError(f"op {name!r}: a view op returns a view of its one array argument, "
                                    "so it takes exactly one, named (not *arrays)")
        self._arities = {}
        self.rules = self.jvp_rules = self.node_type = self.recorders = self._plans = None
        n = len(argnames)
        if variadic:
            # Rules are made per argument count: see with_arity.
            for what, factory in (("vjp", vjp), ("jvp", jvp)):
                if factory is not None and not callable(factory):
                    raise OpDefinitionError(
                        f"op {name!r} takes *arrays: its {what} must be a function of the argument's "
                        "index i (or of i and the number of arrays n) returning that argument's rule (or None)"
                    )
            if derivative is not None or reciprocal_derivative is not None:
                raise OpDefinitionError(f"op {name!r} takes *arrays: give vjp= (and jvp=) factories, "
                                        "not derivative=")
            self._rule_factories = (vjp, jvp)
            self.vjp = self.derivative = self.reciprocal_derivative = self.jvp = ()
            return
        self._rule_factories = None
        self.vjp = self._per_argument(vjp, "VJP rules") if vjp is not None else (None,) * n
        self.derivative = (self._per_argument(derivative, "derivatives") if derivative is not None
                           else (None,) * n)
        self.reciprocal_derivative = (
            self._per_argument(reciprocal_derivative, "reciprocal derivatives")
            if reciprocal_derivative is not None else (None,) * n)
        if jvp == "linear":
            if n != 1:
                raise OpDefinitionError(f'op {name!r}: jvp="linear" is for an op of one array argument; '
                                        f"this one takes {list(argnames)}: give one JVP rule per argument")
            self.jvp = ("linear",)
        else:
            self.jvp = self._per_argument(jvp, "JVP rules") if jvp is not None else (None,) * n
        for i, (v, d, r, j) in enumerate(zip(self.vjp, self.derivative, self.reciprocal_derivative, self.jvp)):
            if (d is not None) + (r is not None) + (v is not None or j is not None) > 1:
                raise OpDefinitionError(
                    f"op {name!r}: argument {argnames[i]!r} has more than one of a derivative, a "
                    "reciprocal derivative and a VJP or JVP rule; give one of them"
                )
            for fn, kind in ((v, "vjp"), (d, "derivative"), (r, "reciprocal_derivative"), (j, "jvp")):
                if fn is not None and fn != "linear":
                    self.rule_names(fn, kind)  # raises, naming the op, where a name is unknown
        if not self.differentiable and any(j is not None for j in self.jvp):
            raise OpDefinitionError(f"op {name!r}: JVP rules given for an op declared not differentiable (vjp=None)")

    def rule_names(self, fn: Rule, kind: str) -> list[str]:
        """The names a rule of ``kind`` asks for after ``xp`` (and ``g`` or ``t``).

        ``kind`` is ``"vjp"``, ``"jvp"``, ``"derivative"`` or ``"reciprocal_derivative"``.
        Each name is an argument, ``out``, ``<arg>_shape``, ``<arg>_dtype`` or a param;
        raises OpDefinitionError naming the op otherwise.
        """
        what, skip = _RULE_KINDS[kind]
        try:
            names = list(inspect.signature(fn).parameters)
        except (TypeError, ValueError) as exc:
            raise OpDefinitionError(f"op {self.name!r}: cannot read the {what}'s signature: {exc}") from exc
        if len(names) < skip:
            raise OpDefinitionError(
                f"op {self.name!r}: a {what} takes {'(xp, ...)' if skip == 1 else '(xp, g, ...)'} "
                f"and then the names it needs; got {fn!r} with parameters {names}"
            )
        for name in names[skip:]:
            if not (name in self.argnames or name == "out" or name in self.params
                    or name.endswith(_SUFFIXES) and name[:-6] in self.argnames):
                raise OpDefinitionError(
                    f"op {self.name!r}: the {what} asks for {name!r}, which is none of the "
                    f"op's arguments {list(self.argnames)}, 'out', '<arg>_shape', '<arg>_dtype' "
                    f"or its params {sorted(self.params)}"
                )
        return names[skip:]

    def _per_argument(self, given: Any, what: str) -> tuple[Any, ...]:
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
            return tuple(given.get(a) for a in self.argnames)
        if callable(given) or isinstance(given, str):
            raise OpDefinitionError(
                f"op {self.name!r}: {what} are given per argument, as a tuple (one entry per "
                f"argument {list(self.argnames)}, None where there is none) or a dict by "
                f"argument name; got one {type(given).__name__}. For one argument write "
                f"(fn,) or {{{self.argnames[0]!r}: fn}}" if n else
                f"op {self.name!r}: {what} are given per argument, but its forward has none"
            )
        fns = tuple(given)
        if len(fns) != n:
            raise OpDefinitionError(
                f"op {self.name!r}: {len(fns)} {what} for {n} arguments {list(self.argnames)}"
            )
        return fns

    def with_arity(self, n: int) -> Op:
        """For an op declared with ``*arrays``: the op for exactly ``n`` arrays, made once per n.

        Its arrays are named ``x0 ... x{n-1}``. Its rules are the factories' rules for
        each index; it shares this op's name, node type and plugin.
        """
        op = self._arities.get(n)
        if op is None:
            argnames = [f"x{i}" for i in range(n)]
            params = "".join(f", {p}={p}" for p in self.defaults)
            kwonly = "".join(f", {p}=_d[{p!r}]" for p in self.defaults)
            sig = ", ".join(argnames)
            # A forward with exactly these arguments: Op reads its argument names from
            # the signature, and the rules name them.
            scope = define(f"def forward(xp, {sig}{', *' if self.defaults else ''}{kwonly}):\n"
                           f"    return fwd(xp, {sig}{params})\n",
                           f"<xpgrad: {self.name} forward for {n} arrays>",
                           {"fwd": self.forward, "_d": self.defaults})
            vjp_for, jvp_for = self._rule_factories
            vjp = None if vjp_for is None else _per_index(vjp_for, n)
            jvp = None if jvp_for is None else _per_index(jvp_for, n)
            op = Op(self.name, scope["forward"], vjp, jvp=jvp, node_name=self.node_name,
                    doc=self.doc, first_order_only=self.first_order_only)
            op.backends, op.overrides = self.backends, self.overrides
            op.plugin = self.plugin
            if self.node_type is not None:  # the registry's type, specialised so node._op is this op
                op.node_type = type(self.node_name, (self.node_type,), {"__slots__": (), "_op": op})
            if Op.compiler is not None:
                Op.compiler.compile_op(op)
            self._arities[n] = op
        return op

    def replaced(self, forward: Callable[..., Any], *, backends: Iterable[str], doc: str | None = None) -> Op:
        """This op's declaration with another forward, for ``backends`` only.

        It is how a backend runs a generic op its own way (dask's blockwise linear
        algebra) with the same rules.
        """
        if self.variadic:
            raise OpDefinitionError(f"op {self.name!r} takes *arrays: declare its variant in full")
        jvp = self.jvp
        return Op(self.name, forward, self.vjp if self.differentiable and any(self.vjp) else None,
                  derivative=self.derivative if any(d is not None for d in self.derivative) else None,
                  reciprocal_derivative=(self.reciprocal_derivative
                                         if any(r is not None for r in self.reciprocal_derivative) else None),
                  jvp=("linear" if jvp == ("linear",) else jvp if any(j is not None for j in jvp) else None),
                  backends=backends, node_name=self.node_name, doc=doc or self.doc,
                  first_order_only=self.first_order_only, elementwise=self.elementwise, view=self.view,
                  batch=self.batch)

    def plan(self, needs: tuple[bool, ...]) -> Any:
        """What a node of this op keeps (the engine's SavePlan), given which arguments need grad.

        ``needs`` is a tuple of bools, one per argument: True where it requires grad.
        """
        found = self._plans.get(needs)
        return found if found is not None else Op.compiler.plan(self, needs)

    def __repr__(self) -> str:
        where = f" from {self.plugin}" if self.plugin else ""
        args = "*arrays" if self.variadic else ", ".join(self.argnames)
        return f"<Op {self.name}({args}){where}>"
