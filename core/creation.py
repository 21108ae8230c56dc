"""Creating Tensors: ``tensor``, ``ones``, ``randn`` and friends (the PyTorch face)."""
from .device import device_of_array, get_device
from .dtypes import BY_NAME, STANDARD_NAMES, dtype, dtype_name
from .tensor import Tensor, _dims, _not_a_bool
from .transfer import move_array

__all__ = ["tensor", "as_tensor", "ones", "zeros", "full", "empty", "arange", "eye", "rand",
           "randn", "linspace", "ones_like", "zeros_like", "full_like", "empty_like", "rand_like",
           "randn_like", "manual_seed", "resolve_dtype", "float32", "float64", "float16",
           "int32", "int64", "bool_", "complex64", "complex128", "dtype"]


float16 = BY_NAME["float16"]
float32 = BY_NAME["float32"]
float64 = BY_NAME["float64"]
int32 = BY_NAME["int32"]
int64 = BY_NAME["int64"]
bool_ = BY_NAME["bool"]
complex64 = BY_NAME["complex64"]
complex128 = BY_NAME["complex128"]
_ALIASES = {"float": "float32", "double": "float64", "long": "int64", "int": "int32", "half": "float16"}

_STANDARD_DTYPES = STANDARD_NAMES


def resolve_dtype(dt, dev):
    """The backend's dtype object for ``dt`` (an xpgrad dtype, a name or a backend dtype).

    Raises
    ------
    TypeError
        If ``dt`` names no dtype of the array API standard (or float16), or the backend
        lacks it.
    """
    if dt is None:
        return None
    if isinstance(dt, dtype):
        name = dt.name
    elif isinstance(dt, str):
        name = _ALIASES.get(dt, dt)
    elif dt is bool:
        return dev.xp.bool
    elif dt is float:
        return dev.xp.float64
    elif dt is int:
        return dev.xp.int64
    elif dt is complex:
        return dev.xp.complex128
    else:
        name = dtype_name(dt) or str(dt)
    found = getattr(dev.xp, name, None) if name in _STANDARD_DTYPES else None
    if found is None:
        what = (f"is not available on the {dev.backend.name} backend" if name in _STANDARD_DTYPES
                else "is not one of the array API standard's dtypes")
        raise TypeError(
            f"dtype {dt!r} {what}: use one of {', '.join(n for n in _STANDARD_DTYPES if n != 'float16')} "
            f"(float16 where the library has it), as a name (\"float64\"), xpgrad.float64 or the "
            f"library's own dtype object"
        )
    return found


def _from_data(data, dtype_, device, default_float=False, copy=False):
    """Raw array and Device for user data: an existing array keeps its library and dtype
    (and its memory, unless ``copy``). Given ``device`` elsewhere, an existing Tensor or
    array is copied there: the only place creation moves data, and only when asked."""
    if isinstance(data, Tensor):
        src = data._dev
        dev = src if device is None else get_device(device)
        raw = data._data
        if dev is not src:
            raw = move_array(raw, src, dev)
        if dtype_ is not None:
            raw = dev.xp.astype(raw, resolve_dtype(dtype_, dev))
        # Already fresh memory if it was moved or cast (astype copies), else copied here.
        return (dev.xp.asarray(raw, copy=True) if raw is data._data else raw), dev
    dev_of = device_of_array(data) if not isinstance(data, (list, tuple, int, float, bool, complex)) else None
    if dev_of is not None:
        raw = data
        if device is not None and get_device(device) is not dev_of:
            raw = move_array(raw, dev_of, get_device(device))  # a copy, on the device asked for
            dev_of = get_device(device)
        elif copy and dtype_ is None:
            raw = dev_of.xp.asarray(raw, copy=True)
        if dtype_ is not None:
            raw = dev_of.xp.astype(raw, resolve_dtype(dtype_, dev_of))
        return raw, dev_of
    dev = get_device(device)
    if not isinstance(data, (list, tuple, int, float, bool, complex)) and not hasattr(data, "__array__") \
            and not hasattr(data, "__dlpack__"):
        raise TypeError(
            f"xpgrad.tensor() takes Python numbers, (nested) lists or arrays, got {type(data).__name__}"
        )
    dt = resolve_dtype(dtype_, dev)
    kind = _python_number_kind(data) if dt is None and not hasattr(data, "dtype") else None
    if kind is complex:
        dt = dev.xp.complex64  # Python complex numbers default to complex64, as in PyTorch
    elif kind is float:
        dt = dev.xp.float32  # Python floats default to float32, as in PyTorch
    elif dt is None and default_float and not hasattr(data, "dtype"):
        dt = dev.xp.float32
    try:
        raw = dev.backend.asarray(data, dt, dev.name)
    except (ValueError, TypeError) as exc:
        raise type(exc)(f"cannot make a Tensor from this data: {exc}") from exc
    return raw, dev


def _python_number_kind(data):
    """``complex`` if the (nested) Python data holds a complex number, else ``float`` if it
    holds a float, else None (ints and bools keep the library's default)."""
    kind = None
    stack = [data]
    while stack:
        d = stack.pop()
        if isinstance(d, complex):
            return complex
        if isinstance(d, float):
            kind = float
        elif isinstance(d, (list, tuple)):
            stack.extend(d)
    return kind


def _finish(raw, dev, requires_grad):
    if requires_grad is not True and requires_grad is not False:
        raise TypeError(_not_a_bool(requires_grad))
    t = Tensor(raw, dev)
    if requires_grad:
        t.requires_grad_(True)
    return t


def tensor(data, dtype=None, device=None, requires_grad=False):
    """A new Tensor from Python data or an array.

    Python floats become float32 and Python complex numbers complex64 (as in PyTorch),
    Python ints int64; an existing array or Tensor (NumPy, or any backend's) keeps its
    library, device and dtype unless ``device`` or ``dtype`` is given:
    ``tensor(t, device="array_api_strict")`` is a copy of ``t`` there (outside the graph,
    as ``t.detach()`` is). Python data goes to the default device
    (:func:`xpgrad.default_device`). The data is always copied;
    :func:`as_tensor` shares it where it can.

    Examples
    --------
    >>> x = xpgrad.tensor([2.0], requires_grad=True)
    >>> z = (x + 2) ** 2 + 3
    >>> z.backward()
    >>> x.grad
    tensor([8.])
    """
    raw, dev = _from_data(data, dtype, device, copy=True)
    return _finish(raw, dev, requires_grad)


def as_tensor(data, dtype=None, device=None):
    """Like :func:`tensor`, but shares memory with ``data`` where it can."""
    if isinstance(data, Tensor):  # keeps its place in the graph, as PyTorch's does
        return data.to(device=device, dtype=dtype)
    raw, dev = _from_data(data, dtype, device)
    return Tensor(raw, dev)


def _creation(fn_name, shape, dtype, device, requires_grad, **kw):
    dev = get_device(device)
    dt = resolve_dtype(dtype, dev) or dev.xp.float32
    raw = getattr(dev.xp, fn_name)(shape, dtype=dt, device=dev.native, **kw)
    return _finish(raw, dev, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False):
    """A Tensor of ones: ``ones(2, 3)`` or ``ones((2, 3))``; float32 unless ``dtype``."""
    return _creation("ones", _dims(size, "ones"), dtype, device, requires_grad)


def zeros(*size, dtype=None, device=None, requires_grad=False):
    """A Tensor of zeros: ``zeros(2, 3)`` or ``zeros((2, 3))``; float32 unless ``dtype``."""
    return _creation("zeros", _dims(size, "zeros"), dtype, device, requires_grad)


def empty(*size, dtype=None, device=None, requires_grad=False):
    """An uninitialised Tensor of the given size."""
    return _creation("empty", _dims(size, "empty"), dtype, device, requires_grad)


def full(size, fill_value, dtype=None, device=None, requires_grad=False):
    """A Tensor filled with ``fill_value``."""
    dev = get_device(device)
    dt = resolve_dtype(dtype, dev)
    if dt is None:
        dt = dev.xp.float32 if isinstance(fill_value, float) else None
    raw = dev.xp.full(_dims((size,), "full"), fill_value, dtype=dt, device=dev.native)
    return _finish(raw, dev, requires_grad)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False):
    """Values from ``start`` to ``end`` (exclusive) by ``step``; float32 if any is a float."""
    dev = get_device(device)
    dt = resolve_dtype(dtype, dev)
    if dt is None and any(isinstance(v, float) for v in (start, end, step)):
        dt = dev.xp.float32
    if end is None:
        start, end = 0, start
    raw = dev.xp.arange(start, end, step, dtype=dt, device=dev.native)
    return _finish(raw, dev, requires_grad)


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False):
    """``steps`` evenly spaced values from ``start`` to ``end`` (inclusive), as ``torch.linspace``.

    float32 unless ``dtype``.
    """
    dev = get_device(device)
    dt = resolve_dtype(dtype, dev) or dev.xp.float32
    raw = dev.xp.linspace(start, end, steps, dtype=dt, device=dev.native)
    return _finish(raw, dev, requires_grad)


def eye(n, m=None, dtype=None, device=None, requires_grad=False):
    """The identity matrix (``n`` by ``m``)."""
    dev = get_device(device)
    raw = dev.xp.eye(n, m, dtype=resolve_dtype(dtype, dev) or dev.xp.float32, device=dev.native)
    return _finish(raw, dev, requires_grad)


def rand(*size, dtype=None, device=None, requires_grad=False):
    """Uniform random values in [0, 1); reproducible after :func:`manual_seed`."""
    dev = get_device(device)
    dt = resolve_dtype(dtype, dev) or dev.xp.float32
    return _finish(dev.backend.random_uniform(_dims(size, "rand"), dt, dev.name), dev, requires_grad)


def randn(*size, dtype=None, device=None, requires_grad=False):
    """Standard normal random values; reproducible after :func:`manual_seed`."""
    dev = get_device(device)
    dt = resolve_dtype(dtype, dev) or dev.xp.float32
    return _finish(dev.backend.random_normal(_dims(size, "randn"), dt, dev.name), dev, requires_grad)


def _like(t, dtype, device):
    if not isinstance(t, Tensor):
        raise TypeError(f"expected a Tensor, got {type(t).__name__}")
    dev = t._dev if device is None else get_device(device)
    return t.shape, (t.dtype if dtype is None else dtype), dev


def ones_like(t, dtype=None, device=None, requires_grad=False):
    """A Tensor of ones with the shape, dtype and device of ``t``, as ``torch.ones_like``.

    PyTorch names the first argument ``input``.

    Parameters
    ----------
    t : Tensor
        The Tensor whose shape, and by default dtype and device, the result takes.
    dtype : dtype, optional
        The result's dtype instead of ``t``'s.
    device : Device or str, optional
        The result's device instead of ``t``'s.
    requires_grad : bool, optional
        Whether autograd records the ops on the result.

    Returns
    -------
    Tensor
        A new leaf Tensor.

    Examples
    --------
    >>> xpgrad.ones_like(xpgrad.zeros(2, 2, dtype=xpgrad.float64))
    tensor([[1., 1.],
            [1., 1.]], dtype=xpgrad.float64)
    """
    shape, dt, dev = _like(t, dtype, device)
    return ones(shape, dtype=dt, device=dev, requires_grad=requires_grad)


def zeros_like(t, dtype=None, device=None, requires_grad=False):
    """A Tensor of zeros with the shape, dtype and device of ``t``, as ``torch.zeros_like``.

    The parameters are those of :func:`ones_like`.
    """
    shape, dt, dev = _like(t, dtype, device)
    return zeros(shape, dtype=dt, device=dev, requires_grad=requires_grad)


def empty_like(t, dtype=None, device=None, requires_grad=False):
    """An uninitialised Tensor with the shape, dtype and device of ``t``, as ``torch.empty_like``.

    The parameters are those of :func:`ones_like`.
    """
    shape, dt, dev = _like(t, dtype, device)
    return empty(shape, dtype=dt, device=dev, requires_grad=requires_grad)


def full_like(t, fill_value, dtype=None, device=None, requires_grad=False):
    """A Tensor filled with ``fill_value``, with the shape, dtype and device of ``t``, as ``torch.full_like``.

    ``fill_value`` is cast to ``t``'s dtype (or ``dtype``); the other parameters are
    those of :func:`ones_like`.
    """
    shape, dt, dev = _like(t, dtype, device)
    return full(shape, fill_value, dtype=dt, device=dev, requires_grad=requires_grad)


def rand_like(t, dtype=None, device=None, requires_grad=False):
    """Uniform random values in [0, 1) with the shape, dtype and device of ``t``, as ``torch.rand_like``.

    Reproducible after :func:`manual_seed`; the parameters are those of :func:`ones_like`.
    """
    shape, dt, dev = _like(t, dtype, device)
    return rand(shape, dtype=dt, device=dev, requires_grad=requires_grad)


def randn_like(t, dtype=None, device=None, requires_grad=False):
    """Standard normal random values with the shape, dtype and device of ``t``, as ``torch.randn_like``.

    Reproducible after :func:`manual_seed`; the parameters are those of :func:`ones_like`.
    """
    shape, dt, dev = _like(t, dtype, device)
    return randn(shape, dtype=dt, device=dev, requires_grad=requires_grad)


def manual_seed(seed):
    """Seed the random number generators of every backend, for reproducible runs."""
    from xpgrad.plugins import registry
    from xpgrad.plugins.manager import get_plugin_manager

    get_plugin_manager()  # the backends load with the plugins: seeding first seeds them too
    for backend in registry.backends().values():
        backend.seed(seed)
