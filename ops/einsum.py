"""Einstein summation (``xpgrad.einsum``): one op over ``*arrays``, its equation a param.

The forward reads the equation once per equation and shapes (``xpgrad.einsum_notation.parse``,
cached) into an explicit form, and computes it with the backend's own ``einsum`` where
its namespace has one (NumPy, CuPy, PyTorch, JAX, dask), and otherwise with the array
API standard alone (array-api-strict): diagonals by strided slicing, then the operands
contracted pairwise with ``matmul``, summing each letter out as soon as no later
operand and not the output has it.

einsum is multilinear: the JVP is the sum over the operands of the einsum with that
operand replaced by its tangent, and the VJP of operand ``i`` is an einsum of the
cotangent with the other operands (conjugated) that produces operand ``i``'s subscripts,
broadcast along the letters only operand ``i`` has (summed out in the forward) and
placed on the diagonal (times an identity) where operand ``i`` repeats a letter. Both
are written with ``xpgrad.xp`` and the einsum op itself, so they differentiate again.

The rules of operand ``i`` read every other operand, so their factories take the number
of operands too (``vjp=lambda i, n: ...``): the rules are made per number of operands.
"""
import inspect
from typing import Any

from xpgrad.dispatch import call
from xpgrad.einsum_notation import parse
from xpgrad.plugins import Op, hookimpl
from xpgrad.plugins.arrays import conj, device_of, prod
from xpgrad.plugins.codegen import define

# ---------------------------------------------------------------------- the forward

_NATIVE: dict[Any, tuple[Any, bool]] = {}  # namespace -> (its einsum or None, whether it takes optimize=)


def _native(xp):
    """The namespace's own einsum and whether it takes ``optimize=``, or None."""
    found = _NATIVE.get(xp)
    if found is None:
        fn = getattr(xp, "einsum", None)
        found = _NATIVE[xp] = (fn, fn is not None and _takes_optimize(fn))
    return found if found[0] is not None else None


def _takes_optimize(fn):
    try:
        return "optimize" in inspect.signature(fn).parameters
    except (TypeError, ValueError):  # no signature to read: call it without
        return False


def _sum_out(xp, a, sub, keep):
    """``a`` (subscripts ``sub``) summed over the letters not in ``keep``."""
    axes = tuple(j for j, c in enumerate(sub) if c not in keep)
    if not axes:
        return a, sub
    return xp.sum(a, axis=axes), "".join(c for c in sub if c in keep)


def _diagonals(xp, a, sub):
    """``a`` with every repeated letter of ``sub`` reduced to its diagonal: the two
    axes moved last, flattened, and every ``n + 1``-th element taken."""
    while len(set(sub)) < len(sub):
        c = next(c for c in sub if sub.count(c) > 1)
        p = sub.index(c)
        q = sub.index(c, p + 1)
        rest = [j for j in range(len(sub)) if j not in (p, q)]
        n = a.shape[p]
        a = xp.permute_dims(a, tuple(rest) + (p, q))
        a = xp.reshape(a, tuple(a.shape[:-2]) + (n * n,))[..., ::n + 1]
        sub = "".join(sub[j] for j in rest) + c
    return a, sub


def _contract(xp, a, sa, b, sb, keep, sizes):
    """The product of ``a`` and ``b`` summed over their shared letters not in ``keep``,
    as one batched ``matmul``; returns it and its subscripts."""
    batch = [c for c in sa if c in sb and c in keep]
    summed = [c for c in sa if c in sb and c not in keep]
    left = [c for c in sa if c not in sb]
    right = [c for c in sb if c not in sa]

    def arranged(x, sx, order, shape):
        perm = tuple(sx.index(c) for c in order)
        if perm != tuple(range(len(perm))):
            x = xp.permute_dims(x, perm)
        return xp.reshape(x, shape)

    nb, m, k, n = (prod(sizes[c] for c in group) for group in (batch, left, summed, right))
    a = arranged(a, sa, batch + left + summed, (nb, m, k))
    b = arranged(b, sb, batch + summed + right, (nb, k, n))
    out = xp.matmul(a, b)
    return xp.reshape(out, tuple(sizes[c] for c in batch + left + right)), "".join(batch + left + right)


def _generic(xp, spec, arrays):
    """The einsum of ``spec`` (explicit, :class:`xpgrad.einsum_notation.Subscripts`) with the
    array API standard's functions only."""
    terms = [_diagonals(xp, a, sub) for a, sub in zip(arrays, spec.inputs)]
    out = spec.output
    a, sa = terms[0]
    for k in range(1, len(terms)):
        b, sb = terms[k]
        keep = set(out).union(*(s for _, s in terms[k + 1:]))
        a, sa = _sum_out(xp, a, sa, keep | set(sb))
        b, sb = _sum_out(xp, b, sb, keep | set(sa))
        a, sa = _contract(xp, a, sa, b, sb, keep, spec.sizes)
    a, sa = _sum_out(xp, a, sa, set(out))
    perm = tuple(sa.index(c) for c in out)
    return xp.permute_dims(a, perm) if perm != tuple(range(len(perm))) else a


def _einsum(xp, *arrays, equation):
    spec = parse(equation, tuple(tuple(a.shape) for a in arrays))
    arrays = [xp.reshape(a, shape) if r else a for a, shape, r in zip(arrays, spec.shapes, spec.reduced)]
    dtypes = {a.dtype for a in arrays}
    if len(dtypes) > 1:  # PyTorch's einsum wants one dtype
        dtype = xp.result_type(*arrays)
        arrays = [xp.astype(a, dtype) for a in arrays]
    native = _native(xp)
    if native is None:
        out = _generic(xp, spec, arrays)
    elif native[1] and len(arrays) > 2:  # without a contraction order, a loop over every letter at once
        out = native[0](spec.equation, *arrays, optimize=True)
    else:
        out = native[0](spec.equation, *arrays)
    if len(arrays) == 1 and set(spec.output) == set(spec.inputs[0]):
        # Nothing summed: the result may be a view of the operand (a transpose, a
        # diagonal), and an op that is not a view returns memory of its own.
        out = xp.asarray(out, copy=True)
    return out


# ---------------------------------------------------------------------- the rules


def _explicit(xp, others, spec, i):
    """The operands but the ``i``-th, reshaped to their explicit form where it drops axes."""
    kept = [(shape, r) for k, (shape, r) in enumerate(zip(spec.shapes, spec.reduced)) if k != i]
    return [xp.reshape(x, shape) if r else x for x, (shape, r) in zip(others, kept)]


def _vjp(xp, g, equation, i, others, x_shape):
    shapes = tuple(tuple(x.shape) for x in others)
    shapes = shapes[:i] + (tuple(x_shape),) + shapes[i:]
    spec = parse(equation, shapes)
    sub, out, sizes = spec.inputs[i], spec.output, spec.sizes
    rest = [conj(xp, x) for x in _explicit(xp, others, spec, i)]
    subs = [s for k, s in enumerate(spec.inputs) if k != i]
    present = set(out).union(*subs)
    letters = "".join(dict.fromkeys(sub))  # each letter once, in order of first appearance
    wanted = "".join(c for c in letters if c in present)
    if rest or wanted != out:
        g = call(xp, "einsum", g, *rest, equation=",".join([out, *subs]) + "->" + wanted)
    # Back to one axis per subscript: length 1 at a letter's second and later places
    # (and where only operand i has it), then the identity on each repeated pair and a
    # broadcast along the letters summed out in the forward.
    first = [sub.index(c) == p for p, c in enumerate(sub)]
    shape = tuple(sizes[c] if f and c in present else 1 for c, f in zip(sub, first))
    if shape != tuple(g.shape):
        g = xp.reshape(g, shape)
    for p, c in enumerate(sub):
        if not first[p]:
            q = sub.index(c)
            eye_shape = tuple(sizes[c] if j in (p, q) else 1 for j in range(len(sub)))
            g = g * xp.reshape(xp.eye(sizes[c], dtype=g.dtype, device=device_of(g)), eye_shape)
    full = tuple(sizes[c] for c in sub)
    if tuple(g.shape) != full:
        g = xp.broadcast_to(g, full)
    if spec.reduced[i]:
        g = xp.reshape(g, tuple(x_shape))
    return g


def _jvp(xp, t, equation, i, others):
    return call(xp, "einsum", *others[:i], t, *others[i:], equation=equation)


def _rule(kind, i, n):
    """Operand ``i``'s VJP (``kind="vjp"``) or JVP rule among ``n`` operands, asking by
    name for the other operands (``x0 ... x{n-1}`` but ``x{i}``)."""
    others = [f"x{j}" for j in range(n) if j != i]
    listed = "".join(f"{o}, " for o in others)
    if kind == "vjp":
        source = (f"def rule(xp, g, equation, {listed}x{i}_shape):\n"
                  f"    return vjp(xp, g, equation, {i}, ({listed}), x{i}_shape)\n")
    else:
        source = (f"def rule(xp, t, equation, {listed.rstrip(', ')}):\n"
                  f"    return jvp(xp, t, equation, {i}, ({listed}))\n")
    scope = define(source, f"<xpgrad: einsum {kind.upper()} rule for x{i} of {n}>", {"vjp": _vjp, "jvp": _jvp})
    return scope["rule"]


@hookimpl
def xpgrad_ops():
    return [
        Op("einsum", _einsum, vjp=lambda i, n: _rule("vjp", i, n), jvp=lambda i, n: _rule("jvp", i, n),
           node_name="EinsumBackward",
           doc=("Sums of products of the arrays' elements, as the Einstein summation ``equation`` says "
                "(``\"ij,jk->ik\"``; PyTorch's ``einsum``). The gradient of each array is the einsum of the "
                "cotangent with the other arrays (conjugated), broadcast along the letters only that array "
                "has and placed on the diagonal where it repeats a letter (``\"ii->i\"``).")),
    ]
