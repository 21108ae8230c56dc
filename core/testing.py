"""``xpgrad.testing``: a pytest plugin that runs op tests across every backend.

Opt in from the command line, from your configuration or from a top-level conftest::

    pytest -p xpgrad.testing

    # pyproject.toml
    [tool.pytest.ini_options]
    addopts = "-p xpgrad.testing"

    # conftest.py (the top-level one)
    pytest_plugins = ["xpgrad.testing"]

It provides:

``backend`` (fixture)
    Parametrized over every device of every backend registered with xpgrad (built-in or
    plugin), with test ids ``numpy``, ``array_api_strict``, ``array_api_strict:device1``,
    ``cupy``... A backend whose library is missing, or that has no device here (no GPU),
    still appears in the matrix, as a skipped test that says why ("cupy is not
    installed", "no CUDA device available"). The value is a :class:`BackendCase`:
    ``.device`` (the device string, ``"cpu"``), ``.name`` (the backend's name,
    ``"numpy"``), ``.xp`` (the backend's array API namespace, for raw arrays),
    ``.backend`` (the :class:`xpgrad.plugins.Backend`) and ``.make(...)``.
``make`` (fixture)
    ``make(data_or_shape, dtype=xpgrad.float64, requires_grad=False)`` bound to the
    current backend: a Tensor on its device, from Python data (numbers, nested lists,
    NumPy arrays) or, given a tuple, random normal values of that shape (the same values
    on every backend, and in every run).
:func:`assert_close`
    ``assert_close(actual, expected)`` checks a Tensor's values, and its shape, dtype and
    device: those of ``expected`` where it is a Tensor, those given as ``dtype=`` and
    ``device=`` otherwise (the shape always), with tolerances by dtype.
:func:`check_grads`
    ``check_grads(fn, *inputs, order=2)`` checks ``fn``'s gradients against central
    finite differences, first order and (``order=2``) second order, on the inputs' own
    backend, and raises ``AssertionError`` naming ``fn`` and the ops of its graph.

Example, a test of one op on every backend::

    import xpgrad
    from xpgrad.testing import check_grads

    def test_tanh(backend, make):
        x = make([-1.5, 0.0, 2.0], requires_grad=True)    # float64 on backend.device
        y = xpgrad.tanh(x)
        assert y.device == backend.device
        check_grads(xpgrad.tanh, x)                       # first and second order
        check_grads(lambda a, b: (a * b).sum(), make((2, 3), requires_grad=True),
                    make((3,), requires_grad=True), order=1)

The header of a test run lists the matrix (``xpgrad backends: ...``). To run one
backend only, select it by id: ``pytest -k numpy`` or ``-k array_api_strict``. To fix
the matrix to some backends (a project that tests torch's and jax's backends elsewhere,
say), name them in the ini option ``xpgrad_backends`` or with ``--xpgrad-backends``::

    [tool.pytest.ini_options]
    xpgrad_backends = ["numpy", "array_api_strict", "dask", "cupy"]

To mark one backend's cases of a test (slow on dask, say), give the marks by backend
name; they go into the matrix's ``pytest.param``s::

    @pytest.mark.xpgrad_backend_marks(dask=pytest.mark.slow)
    def test_gradients(backend, make): ...

PYTEST_DONT_REWRITE: this module raises its own AssertionErrors, so pytest need not
rewrite it, and may find it imported already.
"""
import importlib.util
import weakref

import pytest

import xpgrad
from xpgrad.dtypes import is_kind as _is_kind
from xpgrad.node import walk
from xpgrad.plugins import registry
from xpgrad.plugins.manager import get_plugin_manager

__all__ = [
    "BackendCase", "backend_matrix", "check_grads", "assert_close", "backend", "make",
    "pytest_addoption", "pytest_configure", "pytest_generate_tests", "pytest_report_header",
]

_DEFAULT_DTYPE = "float64"  # what finite differences need; make(..., dtype=None) infers
_SEED = 0


# ---------------------------------------------------------------------- the matrix


def _short_id(backend, device, default):
    """``numpy`` for NumPy's ``cpu``, ``cupy:1`` for ``cuda:1``, the device string for a
    named device of a backend whose devices are named after it."""
    if device == default:
        return backend.name
    prefix = backend.device_prefix or ""
    if prefix and device.startswith(prefix + ":") and prefix != backend.name:
        return backend.name + device[len(prefix):]
    return device


def _library_missing(library):
    if not library:
        return False
    try:
        return importlib.util.find_spec(library.split(".")[0]) is None
    except (ImportError, ValueError):
        return True


def _looks_like_cuda(backend, text=""):
    return backend.device_prefix == "cuda" or "cuda" in str(text).lower()


def _why_unavailable(backend, why):
    if _library_missing(backend.library):
        install = getattr(backend, "install", None) or f"pip install {backend.library}"
        return f"{backend.library} is not installed (the {backend.name} backend needs it: {install})"
    if _looks_like_cuda(backend, why):
        return f"no CUDA device available for the {backend.name} backend: {why}"
    return f"the {backend.name} backend cannot run here: {why}"


def pytest_addoption(parser):
    """Add the ``xpgrad_backends`` ini option and the ``--xpgrad-backends`` command-line option (a pytest hook)."""
    parser.addini("xpgrad_backends", type="args", default=[],
                  help="the backends of xpgrad's test matrix, by name (default: every registered one)")
    parser.addoption("--xpgrad-backends", metavar="NAMES", default=None,
                     help="comma-separated backends of xpgrad's test matrix (overrides the ini option)")


def _wanted(config):
    """The backend names the run asks for, or None for every registered backend."""
    option = config.getoption("--xpgrad-backends", default=None)
    names = [n.strip() for n in option.split(",") if n.strip()] if option else list(config.getini("xpgrad_backends"))
    return names or None


def backend_matrix(names=None):
    """The backend matrix as ``[(id, device or None, skip reason or None), ...]``.

    One entry per device of every registered backend (or of the backends ``names``),
    NumPy first; a backend that cannot run here gets one entry, with no device and the
    reason it is skipped.
    """
    return [row[:3] for row in _matrix_rows(names)]


def _matrix_rows(names=None):
    """:func:`backend_matrix`'s rows, each with the backend's name as a fourth entry."""
    get_plugin_manager()
    rows = []
    registered = registry.backends()
    if names is not None:
        unknown = sorted(set(names) - set(registered))
        if unknown:
            raise pytest.UsageError(
                f"xpgrad_backends names {unknown}, which are not registered backends; "
                f"the registered ones are {sorted(registered)}")
        registered = {n: registered[n] for n in names}
    backends = sorted(registered.items(), key=lambda item: item[0] != "numpy")
    for name, backend in backends:
        try:
            ok, why = backend.is_available()
        except Exception as exc:  # a broken backend is reported, never fatal
            ok, why = False, f"{type(exc).__name__}: {exc}"
        if not ok:
            rows.append((name, None, _why_unavailable(backend, why), name))
            continue
        try:
            devices = list(backend.devices())
        except Exception as exc:
            why = f"{type(exc).__name__}: {exc}"
            if _looks_like_cuda(backend, why):
                reason = f"no CUDA device available for the {name} backend: {why}"
            else:
                reason = f"the {name} backend has no usable device: {why}"
            rows.append((name, None, reason, name))
            continue
        if not devices:
            kind = "CUDA" if _looks_like_cuda(backend) else repr(backend.device_prefix)
            rows.append((name, None, f"no {kind} device available for the {name} backend", name))
            continue
        for device in devices:
            rows.append((_short_id(backend, device, devices[0]), device, None, name))
    return rows


_MATRIX = pytest.StashKey()
_HEADER_SHOWN = pytest.StashKey()
_PARAMETRIZED = weakref.WeakSet()  # metafuncs already done (if the plugin is loaded twice)


def _params(config, backend_marks=None):
    """The matrix as ``pytest.param``s; ``backend_marks`` (backend name -> marks) adds
    marks to that backend's entries (``xpgrad_backend_marks``)."""
    rows = config.stash.get(_MATRIX, None)
    if rows is None:
        rows = config.stash[_MATRIX] = _matrix_rows(_wanted(config))
    params = []
    for id_, device, reason, name in rows:
        marks = [] if reason is None else [pytest.mark.skip(reason=reason)]
        extra = (backend_marks or {}).get(name, ())
        marks += list(extra) if isinstance(extra, (list, tuple)) else [extra]
        params.append(pytest.param(device, id=id_, marks=marks))
    return params


def pytest_configure(config):
    """Register the ``xpgrad_backend_marks`` marker (a pytest hook)."""
    config.addinivalue_line(
        "markers", "xpgrad_backend_marks(**marks): marks for one backend's cases of this test, by backend "
        "name, e.g. xpgrad_backend_marks(dask=pytest.mark.slow)")


def _backend_marks(metafunc):
    """The ``xpgrad_backend_marks`` of a test: backend name -> marks (the closest wins)."""
    found = {}
    for mark in reversed(list(metafunc.definition.iter_markers("xpgrad_backend_marks"))):
        found.update(mark.kwargs)
    return found


def _parametrized_by_hand(metafunc):
    for mark in metafunc.definition.iter_markers("parametrize"):
        names = mark.args[0] if mark.args else mark.kwargs.get("argnames", ())
        if isinstance(names, str):
            names = [n.strip() for n in names.split(",")]
        if "backend" in names:
            return True
    return False


def pytest_generate_tests(metafunc):
    """Parametrize every test that uses ``backend`` (or ``make``) over the matrix (a pytest hook).

    A test that parametrizes ``backend`` itself (with device strings,
    ``indirect=True``) is left as it is.
    """
    if "backend" not in metafunc.fixturenames or metafunc in _PARAMETRIZED:
        return
    _PARAMETRIZED.add(metafunc)
    if not _parametrized_by_hand(metafunc):
        metafunc.parametrize("backend", _params(metafunc.config, _backend_marks(metafunc)), indirect=True)


def pytest_report_header(config):
    """``xpgrad backends: numpy, array_api_strict, ...`` and a line per skipped one."""
    if config.stash.get(_HEADER_SHOWN, False):  # the plugin is loaded under two names
        return None
    config.stash[_HEADER_SHOWN] = True
    rows = backend_matrix(_wanted(config))
    ran = ", ".join(id_ for id_, device, reason in rows if reason is None) or "none"
    lines = [f"xpgrad backends: {ran}"]
    lines += [f"xpgrad backend {id_} skipped: {reason}" for id_, _, reason in rows if reason]
    return lines


# ---------------------------------------------------------------------- fixtures


class BackendCase:
    """One entry of the backend matrix: a device of a backend, and a Tensor factory.

    Attributes
    ----------
    device : str
        The device string (``"cpu"``, ``"array_api_strict:device1"``).
    name : str
        The backend's name (``"numpy"``, ``"array_api_strict"``).
    backend : xpgrad.plugins.Backend
        The backend itself.
    xp : module
        The backend's array API namespace (for raw arrays; ``xpgrad.xp`` is the
        differentiable one for Tensors).
    """

    def __init__(self, device, seed=_SEED):
        import numpy as np

        self._dev = xpgrad.device(device)
        self.device = self._dev.name
        self.backend = self._dev.backend
        self.name = self.backend.name
        self.xp = self._dev.xp
        self._rng = np.random.default_rng(seed)

    def make(self, data_or_shape, dtype=_DEFAULT_DTYPE, requires_grad=False):
        """A Tensor on this device.

        Parameters
        ----------
        data_or_shape : tuple of int, or data
            A tuple is a shape, filled with standard normal values from a generator
            seeded per test (the same values on every backend); anything else (a Python
            number, nested lists, a NumPy array) is the data.
        dtype : dtype or str or None
            ``xpgrad.float64`` unless given (what :func:`check_grads` needs); ``None``
            lets xpgrad infer it from the data, as ``xpgrad.tensor`` does.
        requires_grad : bool
            Whether the Tensor is a leaf that requires grad.
        """
        import numpy as np

        if isinstance(data_or_shape, tuple) and all(
                isinstance(s, int) and not isinstance(s, bool) for s in data_or_shape):
            data = self._rng.standard_normal(data_or_shape).tolist()
        elif isinstance(data_or_shape, xpgrad.Tensor):
            data = data_or_shape.detach()
        elif hasattr(data_or_shape, "__array__") or hasattr(data_or_shape, "__dlpack__"):
            try:  # another library's array: by way of NumPy, then Python lists
                array = np.asarray(data_or_shape)
            except Exception:
                array = np.from_dlpack(data_or_shape)
            data = array.tolist()
            if dtype is None:
                dtype = array.dtype.name
        else:
            data = data_or_shape
        return xpgrad.tensor(data, dtype=dtype, device=self.device, requires_grad=requires_grad)

    def __repr__(self):
        return f"<BackendCase {self.name} on {self.device!r}>"


@pytest.fixture
def backend(request):
    """The backend (a :class:`BackendCase`) this run of the test is on.

    Parametrized by ``pytest_generate_tests`` over every backend device; used directly
    (``@pytest.mark.parametrize("backend", ["cpu"], indirect=True)``), its param is a
    device string.
    """
    device = getattr(request, "param", None)
    if device is None:
        pytest.fail(
            "the 'backend' fixture was not parametrized; is the xpgrad.testing plugin "
            "loaded (pytest -p xpgrad.testing)?", pytrace=False
        )
    return BackendCase(device)


@pytest.fixture
def make(backend):
    """A Tensor factory for the current backend, ``make(data_or_shape, dtype, requires_grad)``.

    ``dtype`` defaults to ``xpgrad.float64`` and ``requires_grad`` to False; see
    :meth:`BackendCase.make`.
    """
    return backend.make


# ---------------------------------------------------------------------- check_grads


def _name(fn):
    name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None)
    module = getattr(fn, "__module__", None)
    if name is None:
        return repr(fn)
    if name == "<lambda>":
        code = getattr(fn, "__code__", None)
        where = f" at {code.co_filename}:{code.co_firstlineno}" if code is not None else ""
        return f"<lambda>{where}"
    return f"{module}.{name}" if module and module not in ("__main__", "builtins") else name


def _ops_of(fn, inputs):
    """The ops in the graph ``fn(*inputs)`` records, as "'name' (plugin 'p')" strings."""
    try:
        outs = fn(*inputs)
    except Exception:
        return []
    outs = outs if isinstance(outs, (tuple, list)) else (outs,)
    found = []
    for node in walk(o.grad_fn for o in outs if isinstance(o, xpgrad.Tensor)):
        op = type(node)._op
        if op is not None:
            text = f"{op.name!r} (plugin {op.plugin!r})"
            if text not in found:
                found.append(text)
    return found


def check_grads(fn, *inputs, order=2, eps=1e-6, atol=1e-5, rtol=1e-3, batch=True):
    """Check ``fn``'s derivatives at ``inputs`` against central finite differences.

    First order: the Jacobian that ``fn``'s VJPs give, one backward per output element,
    against the one central differences give (:func:`xpgrad.gradcheck`). Second order
    (``order=2``, the default): the same for the VJP itself, computed with
    ``create_graph=True`` (:func:`xpgrad.gradgradcheck`), which proves that every VJP
    rule in the graph is itself correctly differentiable. With ``batch`` (the default),
    the batching rules too: ``xpgrad.func.vmap(fn)`` on a batch of three examples near
    ``inputs`` gives the values, and the gradients, that ``fn`` gives on each example.
    Everything runs on the inputs' own backend.

    Parameters
    ----------
    fn : callable
        Takes the inputs, returns a Tensor or a tuple of Tensors.
    *inputs : Tensor
        The point to check at; those that require grad are checked and must be float64
        (``make`` builds float64 Tensors).
    order : {1, 2}
        The highest order of derivative to check.
    eps, atol, rtol : float
        Finite-difference step and tolerances: ``|analytic - numerical| <= atol +
        rtol * |numerical|`` for every entry.
    batch : bool
        Also check ``vmap(fn)`` against ``fn`` example by example.

    Raises
    ------
    AssertionError
        On a mismatch, naming ``fn``, the order, the device, the mismatching entry and
        the ops (with their plugins) in ``fn``'s graph.
    """
    if order not in (1, 2):
        raise ValueError(f"check_grads: order must be 1 or 2, got {order!r}")
    if not inputs:
        raise TypeError("check_grads(fn, *inputs): give at least one input Tensor")
    tensors = [x for x in inputs if isinstance(x, xpgrad.Tensor)]
    device = tensors[0].device if tensors else None
    checks = [("first-order gradients (the VJPs)", xpgrad.gradcheck)]
    if order == 2:
        checks.append(("second-order gradients (the VJPs differentiated with "
                       "create_graph=True)", xpgrad.gradgradcheck))
    for what, check in checks:
        try:
            check(fn, inputs, eps=eps, atol=atol, rtol=rtol)
        except xpgrad.GradcheckError as exc:
            detail = str(exc)
            if check is xpgrad.gradgradcheck:
                detail += (f" (inputs 0..{len(inputs) - 1} are fn's inputs, the ones after "
                           "them the cotangents of its outputs)")
            ops = _ops_of(fn, inputs)
            in_graph = f"; ops in its graph: {', '.join(ops)}" if ops else ""
            raise AssertionError(
                f"check_grads: the {what} of {_name(fn)} disagree with central finite "
                f"differences on device {str(device)!r}: {detail}{in_graph}"
            ) from None
    if batch:
        _check_batching(fn, inputs, device, atol, rtol)
    return True


def _check_batching(fn, inputs, device, atol, rtol):
    """``vmap(fn)`` on three examples near ``inputs`` (scaled by 1, 0.999, 0.998, which
    keeps them in ``fn``'s domain) against ``fn`` on each, values and gradients."""
    import warnings

    from xpgrad import func, xp

    scales = (1.0, 0.999, 0.998)
    floats = [isinstance(x, xpgrad.Tensor) and _is_kind(x.dtype, ("real floating", "complex floating"))
              for x in inputs]
    examples = [[x.detach() * s if f else x for x, f in zip(inputs, floats)] for s in scales]
    batched = [xp.stack([e[i] for e in examples]) if isinstance(x, xpgrad.Tensor) else x
               for i, x in enumerate(inputs)]
    in_axes = tuple(0 if isinstance(x, xpgrad.Tensor) else None for x in inputs)

    def total(*args):  # the sum of every output, for one gradient of the batch
        out = fn(*args)
        outs = out if isinstance(out, (tuple, list)) else (out,)
        return sum(xp.sum(xp.real(o) if _is_kind(o.dtype, "complex floating") else o) for o in outs
                   if _is_kind(o.dtype, ("real floating", "complex floating")))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", func.VmapFallbackWarning)  # the loop is correct, if slow
        try:
            got = _outputs(func.vmap(fn, in_axes=in_axes)(*batched))
        except func.VmapError:
            return  # fn looks at its values in Python (a check of its input): it cannot run under vmap
        want = [xp.stack(list(o)) for o in zip(*(_outputs(fn(*e)) for e in examples))]
        diff = [i for i, x in enumerate(inputs) if floats[i] and x.requires_grad]
        got_g = want_g = []
        if diff:
            grad_of = func.grad(lambda *a: xp.sum(func.vmap(total, in_axes=in_axes)(*a)), argnums=tuple(diff))
            got_g = list(grad_of(*batched))
            per = [func.grad(total, argnums=tuple(diff))(*e) for e in examples]
            want_g = [xp.stack([p[k] for p in per]) for k in range(len(diff))]
    for what, a, b in [("values", got, want), ("gradients", got_g, want_g)]:
        for k, (x, y) in enumerate(zip(a, b)):
            if tuple(x.shape) != tuple(y.shape) or not xpgrad.allclose(x, y, rtol=rtol, atol=atol):
                raise AssertionError(
                    f"check_grads: the batching rules of {_name(fn)} disagree with running it example by example "
                    f"on device {str(device)!r}: the {what} of output {k} (xpgrad.func.vmap gives shape "
                    f"{tuple(x.shape)}, the loop {tuple(y.shape)}); a batching rule (Op(batch=...)) or a "
                    f"derived one is wrong"
                )


def _outputs(out):
    return list(out) if isinstance(out, (tuple, list)) else [out]


# ---------------------------------------------------------------------- assert_close

# (rtol, atol) by dtype where none are given: PyTorch's defaults in torch.testing
_TOLERANCES = {"float16": (1e-3, 1e-5), "bfloat16": (1.6e-2, 1e-5), "float32": (1.3e-6, 1e-5),
               "float64": (1e-7, 1e-7), "complex64": (1.3e-6, 1e-5), "complex128": (1e-7, 1e-7)}


def _dtype_name(dtype):
    return str(dtype).rsplit(".", 1)[-1]


def assert_close(actual, expected, *, rtol=None, atol=None, dtype=None, device=None, equal_nan=True):
    """Assert that the Tensor ``actual`` equals ``expected`` within tolerances, as ``torch.testing.assert_close``.

    It also checks that ``actual`` has the shape, dtype and device it should. Unlike
    PyTorch's, it counts NaNs at the same positions as equal by default.

    Parameters
    ----------
    actual : Tensor
    expected : Tensor, or data (a number, nested lists, a NumPy array)
        A Tensor fixes the shape, dtype and device ``actual`` must have; data fixes the
        shape (``np.shape(expected)``), and ``dtype=``/``device=`` the rest.
    rtol, atol : float or None
        ``|actual - expected| <= atol + rtol * |expected|`` elementwise; by default
        PyTorch's tolerances for ``actual``'s dtype (float64: 1e-7 and 1e-7; float32:
        1.3e-6 and 1e-5).
    dtype : dtype or str or None
        The dtype ``actual`` must have (``"float32"``, ``xpgrad.float32``, any backend's).
    device : str or None
        The device ``actual`` must be on (``"cpu"``, ``"array_api_strict:device1"``).
    equal_nan : bool
        Whether NaN equals NaN (at the same positions).

    Raises
    ------
    AssertionError
        Saying which of shape, dtype, device or values differ, and by how much.
    """
    import numpy as np

    if not isinstance(actual, xpgrad.Tensor):
        raise TypeError(f"assert_close: actual must be an xpgrad Tensor, got {type(actual).__name__}")
    if isinstance(expected, xpgrad.Tensor):
        dtype = expected.dtype if dtype is None else dtype
        device = expected.device if device is None else device
        want = np.asarray(expected.detach().tolist())
        shape = tuple(expected.shape)
    else:
        want = np.asarray(expected)
        shape = want.shape
    got_shape = tuple(actual.shape)
    if got_shape != shape:
        raise AssertionError(f"assert_close: the shape is {got_shape}, expected {shape}")
    if dtype is not None and _dtype_name(actual.dtype) != _dtype_name(dtype):
        raise AssertionError(f"assert_close: the dtype is {_dtype_name(actual.dtype)}, expected {_dtype_name(dtype)}")
    if device is not None and str(actual.device) != str(device):
        raise AssertionError(f"assert_close: the device is {actual.device}, expected {device}")
    default_rtol, default_atol = _TOLERANCES.get(_dtype_name(actual.dtype), (0.0, 0.0))
    rtol = default_rtol if rtol is None else rtol
    atol = default_atol if atol is None else atol
    got = np.asarray(actual.detach().tolist())
    if got.dtype == object or want.dtype == object:
        raise TypeError("assert_close: expected values must be numbers")
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, equal_nan=equal_nan,
                               err_msg=f"assert_close: the values differ (rtol={rtol}, atol={atol})")
