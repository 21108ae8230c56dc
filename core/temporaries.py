"""Temporaries: Tensors nobody else can reach, whose memory an op may reuse. Off by default.

``sum(sin(x) * x + exp(-x * x))`` makes a temporary array of x's size for every
operation. NumPy writes a result into the memory of a temporary operand that no one else
can see ("temporary elision") and so saves allocating, and writing to fresh memory, one
array per operation. xpgrad can do the same for its Tensors, when asked: the dispatcher
asks this module whether an argument is a temporary, and asks the backend to compute an
op declared ``elementwise`` into that argument's memory (``Backend.elementwise_into``,
which also checks that no one else holds the array), provided the graph does not save it
and the array is one xpgrad itself allocated as an op's result (``Tensor._own``).

Telling a temporary from a Tensor someone holds rests on reference counts and, for
operators, on reading the caller's frame: things a debugger, a tracer or a profiler can
shift. So it is off unless asked for (``xpgrad.set_temporaries_enabled(True)``, ``with
xpgrad.elide_temporaries():``, or ``XPGRAD_TEMPORARIES=1`` in the environment), and when asked:

- it runs only on interpreters it has been checked on (``_EXPECTED``: CPython 3.11 to
  3.13 with the GIL), never on another (3.10, 3.14 and free-threaded builds stay off);
- its calibration refuses to run while ``sys.gettrace()``, ``sys.getprofile()`` or a
  ``sys.monitoring`` tool is active (a tracer that reads ``f_locals`` holds one more
  reference to every local, which would make every held Tensor look temporary), warns,
  and leaves elision off; and the counts it measures must be the values known for the
  interpreter, or elision stays off;
- a tracer that starts later can only make temporaries look held (one more reference),
  never the reverse, so elision then just stops happening;
- no operator raises where the caller's stack is shallow (a method called from C).

A Tensor method (``t.exp()``, ``-t``) tells a temporary by its reference count: one that
only the method's frame holds was moved there from the caller's evaluation stack, and
nobody else can reach it; a Tensor that a variable, a container or a C caller holds has
one more.

An operator (``a + b``) needs more than the count: Python's evaluation stack keeps its
reference to the operands during the call, so a temporary has the same count there as a
Tensor that C code passes with a borrowed reference, as NumPy's loops over object arrays
do, and writing into that one would change a Tensor someone holds. So for an operator the
caller's frame is read as well: it must be executing exactly that operator (its current
instruction is ``BINARY_OP`` with the same symbol), and the two stack slots that
instruction reads, found by the bytecode's static stack depth, must hold exactly these
two operands. A call from C, from ``operator.add`` or from any other function fails one
of these tests. Reading the slots needs the layout of CPython's frames, known for 3.11 to
3.13 on 64-bit builds; it is checked on probes at calibration.
"""
import contextlib
import os
import sys
import warnings

__all__ = ["ELIDE_MIN_BYTES", "ACTIVE", "OPERATOR_SYMBOLS", "operator_temporaries",
           "set_temporaries_enabled", "temporaries_enabled", "elide_temporaries", "getrefcount_extra",
           "TemporariesWarning", "ENV_VAR"]

ENV_VAR = "XPGRAD_TEMPORARIES"

# NumPy's own threshold: below it, a fresh array costs less than the checks.
ELIDE_MIN_BYTES = 1 << 18

# The ops whose Tensor operators may be elided, with the symbol of their BINARY_OP.
OPERATOR_SYMBOLS = {"add": "+", "subtract": "-", "multiply": "*", "divide": "/"}

_getrefcount = getattr(sys, "getrefcount", None)

# What each checked interpreter (major, minor) shows, measured without a tracer: the
# reference count of a temporary ``self`` inside a method, that of a temporary operand
# inside an operator method, and the references ``sys.getrefcount`` counts for its own
# call on a parameter held once. 3.10 is not here: its calls keep one more reference to
# their arguments per call level (on the caller's stack), which the backends' counts of
# references held along the dispatcher's calls do not account for.
_EXPECTED = {
    (3, 11): (2, 3, 1),
    (3, 12): (2, 3, 1),
    (3, 13): (2, 3, 1),
}


class TemporariesWarning(RuntimeWarning):
    """Temporaries were asked for, but elision stays off (and why)."""


class Counts:
    """The calibration in use while temporaries are on."""

    __slots__ = ("method", "operator")

    def __init__(self, method, operator):
        self.method = method  # a temporary self's count inside a Tensor method
        self.operator = operator  # a temporary operand's count in an operator, or None


# ``[Counts]`` while temporaries are on, ``[None]`` while off: the dispatcher reads it
# per Tensor method and operator call.
ACTIVE = [None]
# The calibration, once made: turning temporaries off and on again does not repeat it
# (a refused one is tried again the next time they are turned on).
_CALIBRATED = [None]


def getrefcount_extra():
    """The references ``sys.getrefcount`` counts for its own call on this interpreter, or
    None where xpgrad has not checked it (a backend must then not claim an array unshared
    by its count)."""
    expected = _EXPECTED.get(sys.version_info[:2])
    return None if expected is None or not _stack_owns_references() else expected[2]


def _stack_owns_references():
    return (sys.implementation.name == "cpython" and _getrefcount is not None
            and getattr(sys, "_is_gil_enabled", lambda: True)())


def _tracing():
    """What is watching this thread's frames, or None."""
    if sys.gettrace() is not None:
        return "a tracer (sys.settrace)"
    if sys.getprofile() is not None:
        return "a profiler (sys.setprofile)"
    monitoring = getattr(sys, "monitoring", None)
    if monitoring is not None:
        for tool in range(6):
            name = monitoring.get_tool(tool)
            if name is not None:
                return f"the sys.monitoring tool {name!r}"
    return None


def temporaries_enabled():
    """Whether Tensor methods and operators may reuse the memory of temporaries now."""
    return ACTIVE[0] is not None


def set_temporaries_enabled(enabled):
    """Turn temporary elision on or off, for the whole process; returns whether it is on.

    Turning it on calibrates it for this interpreter; where that is not possible (an
    interpreter it has not been checked on, a tracer or profiler active now, counts other
    than those known for the interpreter) it warns (``TemporariesWarning``) and stays off.
    """
    if not enabled:
        ACTIVE[0] = None
        return False
    if ACTIVE[0] is None:
        if _CALIBRATED[0] is None:
            _CALIBRATED[0] = _calibrate()
        ACTIVE[0] = _CALIBRATED[0]
    return ACTIVE[0] is not None


@contextlib.contextmanager
def elide_temporaries(enabled=True):
    """Turn temporary elision on for a ``with`` block, and back as it was after it.

    ``with xpgrad.elide_temporaries():`` is :func:`set_temporaries_enabled` for the
    block; ``enabled=False`` turns it off instead. The ``as`` target is whether elision
    is on (:func:`temporaries_enabled`).
    """
    before = ACTIVE[0]
    try:
        set_temporaries_enabled(enabled)
        yield temporaries_enabled()
    finally:
        ACTIVE[0] = before


def _refuse(why):
    warnings.warn(f"xpgrad: temporaries stay off: {why}; operators and methods run out of "
                  "place (as by default)", TemporariesWarning, stacklevel=4)
    return None


def _calibrate():
    expected = _EXPECTED.get(sys.version_info[:2])
    if expected is None or not _stack_owns_references():
        return _refuse(f"{sys.implementation.name} {sys.version.split()[0]} is not an interpreter "
                       "they have been checked on")
    watcher = _tracing()
    if watcher is not None:
        return _refuse(f"{watcher} is active, and would skew the reference counts they rest on")
    method, operator, _ = expected
    if _measure_method_count() != method:
        return _refuse("a temporary's reference count is not the one known for this interpreter")
    if operator is not None and _set_up() != operator:
        operator = None  # methods only: the frame layout or the operator count disagrees
    return Counts(method, operator)


def _measure_method_count():
    """The reference count of a temporary ``self`` inside a Tensor method, or None where
    temporaries cannot be told from held Tensors here."""

    class Probe:
        __slots__ = ()

        def method(self):
            return _getrefcount(self)

    held = Probe()
    temporary, kept = set(), set()
    for _ in range(32):  # past the interpreter's specialisation of these call sites
        temporary.add(Probe().method())
        kept.add(held.method())
    if len(temporary) != 1 or len(kept) != 1 or min(kept) <= min(temporary):
        return None
    return temporary.pop()


def _from_environment():
    if os.environ.get(ENV_VAR, "").strip().lower() in ("1", "true", "yes", "on"):
        set_temporaries_enabled(True)


# ---------------------------------------------------------------------- operators
#
# CPython's frame layout (Include/internal/pycore_frame.h, 3.11 to 3.13, 64-bit): a frame
# object points at its interpreter frame right after its header and f_back; the
# interpreter frame keeps its code object and its frame object at fixed offsets, then the
# "localsplus" array: the fast locals, cells and free variables, then the value stack.
_PTR = 8
_F_FRAME = 24  # PyFrameObject: ob_refcnt, ob_type, f_back, f_frame
_LOCALSPLUS = 72
# per version: offsets of the code object and of the frame object in the interpreter frame
_LAYOUTS = {(3, 11): (32, 40), (3, 12): (0, 48), (3, 13): (0, 48)}

_reader = None  # None: not set up yet; False: off; else the ctypes reader
_depths = None  # code object -> {offset of a BINARY_OP: (symbol, slot of its left operand)}
_code_at = _frame_at = None  # this version's entry of _LAYOUTS


def operator_temporaries(a, b, count_a, count_b, temporary, symbol):
    """Which operands of ``a <symbol> b`` are temporaries, as ``(bool, bool)``.

    ``count_a``, ``count_b`` are the reference counts the operator method read for ``a``
    and ``b`` (``sys.getrefcount`` called in the method itself), ``temporary`` that of a
    temporary there (``Counts.operator``). Both are False unless the caller of the
    operator method is executing this very operator on these very operands (see the
    module's docstring)."""
    if (count_a != temporary and count_b != temporary) or not _reader:
        return False, False
    try:
        frame = sys._getframe(3)  # the operator method's caller
    except ValueError:  # called from C with no Python frame there: not an operator
        return False, False
    operands = _operands(frame, symbol)
    if operands is None or operands != (id(a), id(b)):
        return False, False
    return count_a == temporary, count_b == temporary


def _operands(frame, symbol):
    """The addresses of the two operands that ``frame``'s current instruction, a
    ``BINARY_OP`` for ``symbol``, reads from its stack; None if it is no such instruction
    or the frame does not look as expected."""
    code = frame.f_code
    table = _depths.get(code)
    if table is None:
        table = _depths[code] = _binary_op_slots(code)
    entry = table.get(frame.f_lasti)
    if entry is None or entry[0] != symbol:
        return None
    read = _reader
    interpreter_frame = read(id(frame) + _F_FRAME).value
    if (read(interpreter_frame + _code_at).value != id(code)
            or read(interpreter_frame + _frame_at).value != id(frame)):
        return None
    slot = interpreter_frame + _LOCALSPLUS + _PTR * entry[1]
    return read(slot).value, read(slot + _PTR).value


def _binary_op_slots(code):
    """``{offset: (symbol, slot)}`` for the BINARY_OP instructions of ``code``: ``slot``
    indexes localsplus at the left operand. The stack depth of every instruction is found
    by following the flow from the first instruction and from every exception handler
    (at the depth the exception table gives it); all of ``code`` is left out if two paths
    disagree or a depth goes negative (the compiler never emits that, but then nothing
    here is trusted)."""
    import dis

    try:
        instructions = list(dis.get_instructions(code))
        index = {ins.offset: k for k, ins in enumerate(instructions)}
        depth = [None] * len(instructions)
        depth[0] = 0
        work = [0]
        # a handler starts with the stack cut to its depth, the offset of the raising
        # instruction pushed where it asks for it (lasti), and the exception
        for entry in dis._parse_exception_table(code):
            k = index[entry.target]
            depth[k] = entry.depth + bool(entry.lasti) + 1
            work.append(k)
        while work:
            k = work.pop()
            ins, d = instructions[k], depth[k]
            successors = []
            if ins.opcode in dis.hasjrel or ins.opcode in dis.hasjabs:
                successors.append((index[ins.argval], d + dis.stack_effect(ins.opcode, ins.arg, jump=True)))
            if ins.opname not in _NO_FALL_THROUGH and k + 1 < len(instructions):
                # a generator's frame resumes with the value sent to it on the stack
                effect = 1 if ins.opname == "RETURN_GENERATOR" else dis.stack_effect(
                    ins.opcode, ins.arg, jump=False)
                successors.append((k + 1, d + effect))
            for j, dj in successors:
                if dj < 0 or (depth[j] is not None and depth[j] != dj):
                    return {}
                if depth[j] is None:
                    depth[j] = dj
                    work.append(j)
    except (AttributeError, KeyError, ValueError, TypeError):  # what dis cannot account for
        return {}
    # localsplus: the fast locals (arguments included), the cells that are not arguments,
    # the free variables; the stack follows.
    cells = set(code.co_cellvars) - set(code.co_varnames)
    base = code.co_nlocals + len(cells) + len(code.co_freevars)
    return {ins.offset: (ins.argrepr, base + depth[k] - 2)
            for k, ins in enumerate(instructions)
            if ins.opname == "BINARY_OP" and depth[k] is not None and depth[k] >= 2}


_NO_FALL_THROUGH = frozenset({
    "RETURN_VALUE", "RETURN_CONST", "RAISE_VARARGS", "RERAISE", "JUMP_FORWARD",
    "JUMP_BACKWARD", "JUMP_BACKWARD_NO_INTERRUPT", "JUMP", "JUMP_NO_INTERRUPT",
})


def _set_up():
    """Set up the frame reader for operators; return a temporary operand's reference count
    inside an operator method, or None (the reader off) where this interpreter's frames
    do not read as expected on probes."""
    global _reader, _depths, _code_at, _frame_at
    _reader = False
    if (not _stack_owns_references() or sys.version_info[:2] not in _LAYOUTS
            or object.__basicsize__ != 2 * _PTR):
        return None
    _code_at, _frame_at = _LAYOUTS[sys.version_info[:2]]
    import ctypes
    import weakref

    if ctypes.sizeof(ctypes.c_void_p) != _PTR:
        return None
    _depths = weakref.WeakKeyDictionary()
    reader = ctypes.c_void_p.from_address

    class Probe:
        __slots__ = ()

        def __add__(self, other):
            found = _operands(sys._getframe(1), "+") == (id(self), id(other))
            return _getrefcount(self), _getrefcount(other), found

    def probe(held, argument_cell):
        local_cell = held

        def closure():  # makes cells of an argument and of a local: localsplus has both
            return argument_cell, local_cell
        return Probe() + held, held + Probe(), closure

    import operator

    _reader = reader  # what _operands reads through
    try:
        held = Probe()
        seen = set()
        for _ in range(32):  # past the interpreter's specialisation of these sites
            (temp_a, held_a, found_a), (held_b, temp_b, found_b), _ = probe(held, held)
            borrowed = operator.add(Probe(), held)[2]  # a call from C, not the operator
            seen.add((temp_a, held_a, found_a, held_b, temp_b, found_b, borrowed))
        ok = (len(seen) == 1 and found_a and found_b and not borrowed
              and temp_a == temp_b < held_a == held_b)
    except Exception:
        ok = False
    if ok:
        return temp_a
    _reader = False
    return None


_from_environment()
