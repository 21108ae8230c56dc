"""PyTorch-style reprs: ``tensor([19.], grad_fn=<AddBackward>)``."""

_PLAIN_DTYPES = ("float32", "int64", "bool")


def tensor_repr(t):
    arr = t._dev.backend.to_numpy(t._data)
    body = _format(arr)
    extras = []
    if t._dev.name != "cpu":
        extras.append(f"device='{t._dev.name}'")
    dtype_name = str(getattr(arr.dtype, "name", arr.dtype))
    if dtype_name not in _PLAIN_DTYPES or arr.size == 0:
        extras.append(f"dtype=xpgrad.{dtype_name}")
    if t._grad_fn is not None:
        extras.append(f"grad_fn=<{type(t._grad_fn).__name__}>")
    elif t._rg:
        extras.append("requires_grad=True")
    return "tensor(" + body + "".join(", " + e for e in extras) + ")"


def _format(arr):
    # Formatting belongs to NumPy, which every backend can convert to; the layout
    # mirrors PyTorch's: "1." for whole numbers, four decimals otherwise.
    np = _numpy()
    kind = arr.dtype.kind
    # NumPy keeps room for every enclosing "]" on each line; PyTorch fits
    # floor((80 - indent) / (width + 2)) elements a line. ndim - 1 more columns match it.
    opts = dict(separator=", ", prefix="tensor(", threshold=1000, edgeitems=3,
                max_line_width=80 + max(arr.ndim - 1, 0))
    if kind == "f" and arr.size:
        finite = arr[np.isfinite(arr)]
        whole = finite.size == 0 or bool(np.all(finite == np.round(finite)))
        # PyTorch's rule, on the nonzero finite values compared in float64: scientific
        # notation when max/min > 1000 or max > 1e8, or (not all whole) min < 1e-4.
        nonzero = finite[finite != 0]
        sci = False
        if nonzero.size:
            mag = np.abs(nonzero).astype(np.float64)
            lo, hi = float(np.min(mag)), float(np.max(mag))
            sci = hi / lo > 1000.0 or hi > 1e8 or (not whole and lo < 1e-4)
        if sci:
            width = max(len(f"{float(v):.4e}") for v in nonzero)
            return np.array2string(arr, formatter={"float_kind": lambda v: f"{float(v):{width}.4e}"}, **opts)
        if whole:
            opts.update(precision=0, floatmode="fixed")
            return np.array2string(arr, **opts).replace(".,", ".,")
        opts.update(precision=4, floatmode="fixed", suppress_small=True)
    return np.array2string(arr, **opts)


def _numpy():
    import importlib

    return importlib.import_module("numpy")
