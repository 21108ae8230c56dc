"""Generated code that a debugger and a traceback can show.

The engine generates a few small functions per op (the callers of its rules, the
recorders of its calls, the node constructor), and an op declared over ``*arrays`` a
forward per number of arrays: straight-line code for exactly one case is faster than code
that loops over a plan. Each is compiled with a file name that says what it is
(``<xpgrad: MulBackward VJP rule for x1>``) and its source is registered with ``linecache``,
as dataclasses and attrs do, so a traceback through it shows the real line and a
debugger can step into it.
"""
import linecache

__all__ = ["define"]


def define(source, filename, scope):
    """Run ``source`` (function definitions) in ``scope`` as if read from ``filename``;
    returns ``scope``. ``filename`` should be ``<xpgrad: ...>``, unique per source."""
    code = compile(source, filename, "exec")
    lines = source.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    # (size, mtime, lines, name); mtime None keeps linecache.checkcache from dropping it
    linecache.cache[filename] = (len(source), None, lines, filename)
    exec(code, scope)
    return scope
