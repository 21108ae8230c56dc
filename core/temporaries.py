"""Temporaries: Tensors nobody else can reach, whose memory an op may reuse.

``sum(sin(x) * x + exp(-x * x))`` makes a temporary array of x's size for every
operation. NumPy writes a result into the memory of a temporary operand that no one else
can see ("temporary elision") and so saves allocating, and writing to fresh memory, one
array per operation. xpgrad does the same for its Tensors: the dispatcher asks this
module whether an argument is a temporary, and asks the backend to compute an op declared
``elementwise`` into that argument's memory (``Backend.elementwise_into``, which also
checks that no one else holds the array), provided the graph does not save it.

A Tensor method (``t.exp()``, ``-t``) tells a temporary by its reference count: one that
only the method's frame holds was moved there from the caller's evaluation stack, and
nobody else can reach it; a Tensor that a variable, a container or a C caller holds has
one more. That holds where the interpreter's stack owns its references (CPython up to
3.13 with the GIL), so the count is measured once, on probes, and elision stays off
wherever a held object would look like a temporary.

An operator (``a + b``) needs more than the count: Python's evaluation stack keeps its
reference to the operands during the call, so a temporary has the same count there as a
Tensor that C code passes with a borrowed reference, as NumPy's loops over object arrays
do, and writing into that one would change a Tensor someone holds. So for an operator the
caller's frame is read as well: it must be executing exactly that operator (its current
instruction is ``BINARY_OP`` with the same symbol), and the two stack slots that
instruction reads, found by the bytecode's static stack depth, must hold exactly these
two operands. A call from C, from ``operator.add`` or from any other function fails one
of these tests. Reading the slots needs the layout of CPython's frames, known for 3.11 to
3.13 on 64-bit builds; it is checked on probes the first time it is needed, and where the
interpreter is another or a probe disagrees, operators simply run out of place.
"""
import sys

__all__ = ["ELIDE_MIN_BYTES", "METHOD_TEMPORARY", "OPERATOR_SYMBOLS", "operator_temporaries"]

# NumPy's own threshold: below it, a fresh array costs less than the checks.
ELIDE_MIN_BYTES = 1 << 18

# The ops whose Tensor operators may be elided, with the symbol of their BINARY_OP.
OPERATOR_SYMBOLS = {"add": "+", "subtract": "-", "multiply": "*", "divide": "/"}

_getrefcount = getattr(sys, "getrefcount", None)


def _stack_owns_references():
    return (sys.implementation.name == "cpython" and _getrefcount is not None
            and getattr(sys, "_is_gil_enabled", lambda: True)())


def _measure_method_count():
    """The reference count of a temporary ``self`` inside a Tensor method, or None where
    temporaries cannot be told from held Tensors on this interpreter."""
    if not _stack_owns_references():
        return None

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


METHOD_TEMPORARY = _measure_method_count()


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
_operator_count = None  # a temporary operand's count inside an operator method
_depths = None  # code object -> {offset of a BINARY_OP: (symbol, slot of its left operand)}
_code_at = _frame_at = None  # this version's entry of _LAYOUTS


def operator_temporaries(frame, a, b, count_a, count_b, symbol):
    """Which operands of ``a <symbol> b`` are temporaries, as ``(bool, bool)``.

    ``frame`` is the caller of the operator method, and ``count_a``, ``count_b`` the
    reference counts the method read for ``a`` and ``b`` (``sys.getrefcount`` called in
    the method itself). Both are False unless ``frame`` is executing this very operator
    on these very operands (see the module's docstring)."""
    if _reader is None:
        _set_up()
    if _reader is False or (count_a != _operator_count and count_b != _operator_count):
        return False, False
    operands = _operands(frame, symbol)
    if operands is None or operands != (id(a), id(b)):
        return False, False
    return count_a == _operator_count, count_b == _operator_count


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
    """Turn operator elision on if this interpreter's frames read as expected on probes."""
    global _reader, _operator_count, _depths, _code_at, _frame_at
    _reader = False
    if (not _stack_owns_references() or sys.version_info[:2] not in _LAYOUTS
            or object.__basicsize__ != 2 * _PTR):
        return
    _code_at, _frame_at = _LAYOUTS[sys.version_info[:2]]
    import ctypes
    import weakref

    if ctypes.sizeof(ctypes.c_void_p) != _PTR:
        return
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
        _operator_count = temp_a
    else:
        _reader = False
