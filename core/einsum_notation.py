"""``xpgrad.einsum`` (defined here): Einstein summation, as ``torch.einsum`` writes it.

The equation's grammar lives here, with the public function: :func:`parse` reads an
equation against the operands' shapes once (cached) and answers the one explicit form
every computation uses, ellipses spelled out as letters and broadcast axes of length 1
dropped. The op that computes it, and its gradients, is the ``einsum`` op of
``xpgrad.ops.einsum``. ``einsum`` is not a function of the array API standard, so it is
not in ``xpgrad.xp``.
"""
from functools import lru_cache
from typing import NamedTuple

from .dispatch import apply, batched
from .tensor import Tensor

__all__ = ["einsum"]

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_LETTER_SET = frozenset(LETTERS)


class Subscripts(NamedTuple):
    """An equation read against its operands' shapes, in explicit form.

    ``inputs`` holds each operand's subscripts (one letter per axis, a letter repeated
    for a diagonal) once the ellipsis is spelled out with letters of its own and the
    axes of length 1 that broadcast against a longer one are dropped: ``shapes`` are the
    operands' shapes without those axes, and ``reduced`` says which operands lost some.
    ``output`` is the result's subscripts, ``sizes`` every letter's length and
    ``equation`` the explicit equation (``"ab,bc->ac"``) of ``inputs`` and ``output``.
    """

    inputs: tuple[str, ...]
    output: str
    sizes: dict[str, int]
    shapes: tuple[tuple[int, ...], ...]
    reduced: tuple[bool, ...]
    equation: str


def _fail(equation, detail):
    return ValueError(f"einsum(): {detail} (equation {equation!r})")


def _terms(equation, text, start, what):
    """``text`` (one operand's or the output's subscripts, found at ``start`` in
    ``equation``) as a list of letters and ``"..."``."""
    out, k = [], 0
    while k < len(text):
        c = text[k]
        if c == " ":
            k += 1
        elif c == ".":
            if text[k:k + 3] != "...":
                raise _fail(equation, f"found '.' for {what} that is not part of an ellipsis '...' "
                                      f"at index {start + k}")
            if "..." in out:
                raise _fail(equation, f"found more than one ellipsis '...' for {what}; each operand and the "
                                      "output may have one")
            out.append("...")
            k += 3
        elif c in _LETTER_SET:
            out.append(c)
            k += 1
        else:
            raise _fail(equation, f"invalid subscript {c!r} given at index {start + k} in the equation string, "
                                  "subscripts must be in [a-zA-Z] (or an ellipsis '...')")
    return out


@lru_cache(maxsize=1024)
def parse(equation, shapes):
    """The explicit form of ``equation`` for operands of ``shapes`` (a tuple of shape
    tuples), as :class:`Subscripts`; raises ValueError naming the equation and what is
    wrong with it. Spaces are ignored; without ``->`` the output is the ellipsis' axes,
    then every letter that appears once, in alphabetical order (upper case first)."""
    if not isinstance(equation, str):
        raise TypeError(f"einsum(): the equation must be a string, got {type(equation).__name__}")
    lhs, arrow, rhs = equation.partition("->")
    if "->" in rhs:
        raise _fail(equation, "'->' appears more than once; an equation has one output")
    pieces, start = [], 0
    for text in lhs.split(","):
        pieces.append((text, start))
        start += len(text) + 1
    n = len(shapes)
    if len(pieces) != n:
        more = "more" if n > len(pieces) else "fewer"
        raise _fail(equation, f"{more} operands were provided than specified in the equation: it has "
                              f"subscripts for {len(pieces)} operand(s), {n} were given")
    terms = [_terms(equation, text, at, f"operand {k}") for k, (text, at) in enumerate(pieces)]
    out_terms = None
    if arrow:
        if "," in rhs:
            raise _fail(equation, "the output (after '->') has ',' in it; an einsum has one output")
        out_terms = _terms(equation, rhs, len(lhs) + 2, "the output")
    # The ellipsis' axes, per operand: right-aligned, as broadcasting aligns them.
    ell = []
    for k, (term, shape) in enumerate(zip(terms, shapes)):
        named = len(term) - ("..." in term)
        if "..." in term:
            if named > len(shape):
                raise _fail(equation, f"the number of subscripts in the equation ({named}) is more than the number "
                                      f"of dimensions ({len(shape)}) for operand {k}")
            ell.append(len(shape) - named)
        else:
            if named != len(shape):
                raise _fail(equation, f"the number of subscripts in the equation ({named}) does not match the number "
                                      f"of dimensions ({len(shape)}) for operand {k} and no ellipsis was given")
            ell.append(0)
    used = {c for term in terms for c in term} | set(out_terms or ())
    width = max(ell, default=0)
    free = [c for c in LETTERS if c not in used]
    if width > len(free):
        raise _fail(equation, f"it needs {len(used) - ('...' in used) + width} distinct subscripts (its letters and "
                              f"{width} for the ellipsis), more than the {len(LETTERS)} letters [a-zA-Z]")
    ell_letters = "".join(free[:width])
    inputs = []
    for term, e in zip(terms, ell):
        inputs.append("".join(ell_letters[width - e:] if c == "..." else c for c in term))
    if out_terms is None:
        counts = {}
        for term in terms:
            for c in term:
                if c != "...":
                    counts[c] = counts.get(c, 0) + 1
        output = ell_letters + "".join(sorted(c for c, m in counts.items() if m == 1))
    else:
        seen = set()
        for c in out_terms:
            if c in seen and c != "...":
                raise _fail(equation, f"output subscript {c} appears more than once in the output")
            seen.add(c)
            if c != "..." and not any(c in term for term in terms):
                raise _fail(equation, f"output subscript {c} does not appear in the equation for any input operand")
        # An ellipsis left out of an explicit output is summed over, as in PyTorch.
        output = "".join(ell_letters if c == "..." else c for c in out_terms)
    sizes = {}
    for k, (sub, shape) in enumerate(zip(inputs, shapes)):
        mine = {}
        for c, d in zip(sub, shape):
            if c in mine and mine[c] != d:
                raise _fail(equation, f"subscript {c} is repeated for operand {k} but the sizes don't match, "
                                      f"{mine[c]} != {d}")
            mine[c] = d
        for c, d in mine.items():
            seen_size = sizes.get(c)
            if seen_size is None or seen_size == 1:
                sizes[c] = d
            elif d != seen_size and d != 1:
                raise _fail(equation, f"subscript {c} has size {d} for operand {k} which does not broadcast with "
                                      f"previously seen size {seen_size}")
    # An axis of length 1 against a longer one broadcasts: dropped, the letter's other
    # operands carry it.
    kept_inputs, kept_shapes, reduced = [], [], []
    for sub, shape in zip(inputs, shapes):
        keep = [j for j, (c, d) in enumerate(zip(sub, shape)) if d == sizes[c]]
        kept_inputs.append("".join(sub[j] for j in keep))
        kept_shapes.append(tuple(shape[j] for j in keep))
        reduced.append(len(keep) != len(sub))
    explicit = ",".join(kept_inputs) + "->" + output
    return Subscripts(tuple(kept_inputs), output, sizes, tuple(kept_shapes), tuple(reduced), explicit)


def einsum(equation, *operands):
    """Sums of products of the operands' elements, as an Einstein summation equation says.

    ``torch.einsum``'s function: each operand's axes are named by letters
    (``"ij,jk->ik"`` is a matrix product); a letter shared by operands pairs their axes,
    a letter left out of the output (after ``->``) is summed over, and a letter repeated
    in one operand takes its diagonal (``"ii->i"``). ``...`` stands for the axes not
    named, which broadcast against each other. Without ``->``, the output is the
    ellipsis' axes followed by the letters that appear once, in alphabetical order.
    Axes of length 1 broadcast. The gradient of each operand is an einsum of the
    cotangent with the other operands (of their conjugates, for complex ones).

    Parameters
    ----------
    equation : str
        The subscripts: letters ``[a-zA-Z]`` and ``...``, one group per operand
        separated by commas, optionally ``->`` and the output's subscripts. Spaces are
        ignored.
    *operands : Tensor
        The arrays, one per group of subscripts (or one list or tuple of them).

    Returns
    -------
    Tensor
        The result, with the output's subscripts as its axes.

    Raises
    ------
    ValueError
        Where the equation does not fit the operands: their count, their numbers of
        axes, the lengths of one letter's axes, an output letter that no operand has,
        or a character that is no subscript. The message names the equation.

    Examples
    --------
    >>> import xpgrad
    >>> a = xpgrad.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    >>> xpgrad.einsum("ij,ij->", a, a).backward()   # the sum of squares
    >>> a.grad
    tensor([[2., 4.],
            [6., 8.]])
    """
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not isinstance(equation, str):
        raise TypeError(f"einsum() takes the equation first, as a string, got {type(equation).__name__}; "
                        "the sublist form einsum(op0, [0, 1], op1, [1, 2]) is not supported")
    if not operands:
        raise ValueError("einsum(): must provide at least one operand")
    for k, x in enumerate(operands):
        if not isinstance(x, Tensor) and not batched(x):
            raise TypeError(f"einsum() takes xpgrad Tensors as operands, got {type(x).__name__} for operand {k}; "
                            "wrap the data with xpgrad.tensor(...)")
    parse(equation, tuple(tuple(x.shape) for x in operands))  # the errors, before any op runs
    return apply("einsum", operands, {"equation": equation})
