"""Devices without a GPU: array-api-strict's distinct devices stand in for GPUs.

Moving Tensors on purpose (``to``, ``to_device``, ``cpu``, ``xpgrad.tensor(t, device=)``)
is a recorded copy whose gradient goes back to the source device, first and second
order; mixing devices in one op is an error naming both; nothing is copied silently; the
default device is a context-local setting; and the CuPy backend is never imported unless
``"cuda"`` is asked for, and says what is missing when it cannot run.
"""
import asyncio
import contextvars
import subprocess
import sys
import textwrap
import threading
import types

import numpy as np
import pytest

import xpgrad
from xpgrad.plugins import Backend, hookimpl, registry

from helpers import assert_close, values

strict = pytest.importorskip("array_api_strict")

CPU, STRICT, DEV1, DEV2 = "cpu", "array_api_strict", "array_api_strict:device1", "array_api_strict:device2"
PLACES = [CPU, STRICT, DEV1, DEV2]
MOVES = [(a, b) for a in PLACES for b in PLACES if a != b]
MOVE_IDS = [f"{a}->{b}" for a, b in MOVES]


def leaf(values_, device, dtype=xpgrad.float64):
    return xpgrad.tensor(values_, dtype=dtype, device=device, requires_grad=True)


# ---------------------------------------------------------------------- moving


def test_device_property_and_grad_device(device):
    x = leaf([1.0, 2.0], device)
    assert x.device == device and str(x.device) == xpgrad.device(device).name
    assert x.device is xpgrad.device(device)
    (x * x).sum().backward()
    assert x.grad.device is x.device


def test_round_trip_numpy_strict_device1_and_back():
    x = xpgrad.tensor([1.0, -2.0, 3.0])
    a = x.to(STRICT)
    b = a.to(DEV1)
    c = b.cpu()
    assert (a.device, b.device, c.device) == (STRICT, DEV1, CPU)
    assert type(a._data) is type(strict.asarray(0)) and type(c._data) is np.ndarray
    assert b._data.device == strict.Device("device1")
    for t in (a, b, c):
        assert_close(t, [1.0, -2.0, 3.0])
        assert t.dtype == t.device.xp.float32


@pytest.mark.parametrize("src, dst", MOVES, ids=MOVE_IDS)
def test_gradient_flows_back_to_the_source_device(src, dst):
    x = leaf([0.5, -1.0, 2.0], src)
    y = (x * 2).to(dst)
    assert y.device == dst and type(y.grad_fn).__name__ == "ToCopyBackward"
    loss = (y ** 3).sum()
    assert loss.device == dst
    loss.backward()
    assert x.grad.device is x.device
    assert_close(x.grad, 24 * values(x) ** 2)


@pytest.mark.parametrize("src, dst", MOVES, ids=MOVE_IDS)
def test_second_order_through_a_move(src, dst):
    x = leaf([0.5, -1.0, 2.0], src)
    (g,) = xpgrad.grad((x.to(dst) ** 3).sum(), x, create_graph=True)
    assert g.device is x.device and g.requires_grad
    assert_close(g, 3 * values(x) ** 2)
    (h,) = xpgrad.grad(g.sum(), x)
    assert h.device is x.device
    assert_close(h, 6 * values(x))


def test_second_order_with_backward_through_two_moves():
    x = leaf([1.0, 2.0], CPU)
    y = x.to(DEV1).sin().to(DEV2) * x.to(DEV2)  # x sin x, computed on device2
    (g,) = xpgrad.grad(y.sum(), x, create_graph=True)
    g.sum().backward()
    v = values(x)
    assert x.grad.device == CPU
    assert_close(x.grad, 2 * np.cos(v) - v * np.sin(v))


def test_moving_each_device_of_the_matrix_and_back(device):
    for dst in PLACES:
        x = leaf([1.5, -0.5], device)
        out = (x.to(dst).exp() * 3).to(device).sum()
        out.backward()
        assert x.grad.device is x.device
        assert_close(x.grad, 3 * np.exp(values(x)))


def test_gradients_from_both_sides_of_a_move_add_up():
    x = leaf([0.3, 0.7], CPU)
    loss = x.sin().sum() + x.to(DEV1).cos().sum().to(CPU)
    loss.backward()
    v = values(x)
    assert_close(x.grad, np.cos(v) - np.sin(v))


def test_gradcheck_through_moves():
    x = leaf([0.5, 1.5], CPU)

    def f(x):
        return (x.to(DEV1) ** 3).sin().to(CPU)

    assert xpgrad.gradcheck(f, (x,))
    assert xpgrad.gradgradcheck(f, (x,))


def test_the_move_node():
    x = leaf([1.0], CPU)
    y = x.to(DEV1)
    node = y.grad_fn
    assert node.name() == "ToCopyBackward"
    assert node.next_functions == ((x.grad_fn or x._accum, 0),)
    assert node.metadata == {"source": xpgrad.device(CPU), "target": xpgrad.device(DEV1)}
    assert not y.is_leaf and y.requires_grad


def test_hooks_and_retain_grad_on_a_moved_tensor_see_its_device():
    x = leaf([1.0, 2.0], CPU)
    y = x.to(DEV1)
    y.retain_grad()
    seen = []
    y.register_hook(lambda g: seen.append(g.device))
    (y * 5).sum().backward()
    assert seen == [DEV1] and y.grad.device == DEV1
    assert_close(y.grad, [5.0, 5.0])
    assert_close(x.grad, [5.0, 5.0])


def test_backward_twice_through_a_move_accumulates():
    x = leaf([1.0, 2.0], DEV2)
    loss = (x.to(CPU) * 2).sum()
    loss.backward(retain_graph=True)
    loss.backward()
    assert x.grad.device == DEV2
    assert_close(x.grad, [4.0, 4.0])


def test_no_node_under_no_grad_or_without_requires_grad():
    x = leaf([1.0], CPU)
    with xpgrad.no_grad():
        assert x.to(DEV1).grad_fn is None
    assert xpgrad.tensor([1.0]).to(DEV1).requires_grad is False


def test_to_forms():
    x = xpgrad.tensor([1.0, 2.0])
    assert x.to(CPU) is x and x.cpu() is x and x.to_device(CPU) is x
    assert x.to(xpgrad.device(CPU)) is x
    y = x.to(DEV1, xpgrad.float64)
    assert y.device == DEV1 and y.dtype == y.device.xp.float64
    z = x.to(device=STRICT, dtype="float64")
    assert z.device == STRICT and z.dtype == strict.float64
    w = x.to(y)  # another Tensor's device and dtype
    assert w.device == DEV1 and w.dtype == strict.float64
    assert x.to("double").dtype == np.float64 and x.to("double").device == CPU
    c = x.to(CPU, copy=True)
    assert c is not x and c._data is not x._data
    assert x.to_device(xpgrad.device(DEV2)).device == DEV2
    with pytest.raises(ValueError, match="stream"):
        x.to_device(DEV1, stream=1)


def test_xp_astype_with_device_moves_and_records():
    x = leaf([1.0, 2.0], CPU, dtype=xpgrad.float32)
    y = xpgrad.xp.astype(x, "float64", device=DEV1)
    assert y.device == DEV1 and y.dtype == strict.float64
    (y * y).sum().backward()
    assert_close(x.grad, [2.0, 4.0])


def test_a_move_is_a_copy_not_a_view():
    for src, dst in MOVES:
        x = xpgrad.tensor([1.0, 2.0], device=src)
        y = x.to(dst)
        y.add_(10)
        assert_close(x, [1.0, 2.0])
        assert_close(y, [11.0, 12.0])


def test_copy_between_devices_is_explicit_and_allowed():
    x = xpgrad.zeros(2)
    x.copy_(xpgrad.tensor([3.0, 4.0], device=DEV1))
    assert x.device == CPU
    assert_close(x, [3.0, 4.0])


def test_unknown_device_and_bad_device_names():
    with pytest.raises(xpgrad.DeviceError, match="unknown device 'tpu'"):
        xpgrad.tensor([1.0]).to("tpu")
    with pytest.raises(xpgrad.DeviceError, match="array_api_strict:device9"):
        xpgrad.tensor([1.0]).to("array_api_strict:device9")


# ---------------------------------------------------------------------- never silently


@pytest.mark.parametrize("a, b", [(CPU, STRICT), (STRICT, DEV1), (DEV1, CPU)])
@pytest.mark.parametrize("op", [
    pytest.param(lambda x, y: x + y, id="add"),
    pytest.param(lambda x, y: y * x, id="rmul"),
    pytest.param(lambda x, y: x @ y, id="matmul"),
    pytest.param(lambda x, y: xpgrad.xp.where(x > 0, x, y), id="where"),
    pytest.param(lambda x, y: xpgrad.xp.maximum(x, y), id="xp.maximum"),
])
def test_mixing_devices_in_one_op_raises_naming_both(a, b, op):
    x = xpgrad.tensor([1.0, 2.0], device=a)
    y = xpgrad.tensor([3.0, 4.0], device=b)
    with pytest.raises(xpgrad.DeviceError) as info:
        op(x, y)
    text = str(info.value)
    assert f"device={a}" in text and f"device={b}" in text, text
    assert ".to(" in text


def test_mixing_is_an_error_for_gradients_too():
    x = leaf([1.0], CPU)
    y = leaf([1.0], DEV1)
    with pytest.raises(xpgrad.DeviceError):
        x * y
    with pytest.raises(RuntimeError, match="device"):
        (x * 2).backward(xpgrad.ones(1, device=DEV1))
    with pytest.raises(RuntimeError, match="device"):
        x.grad = xpgrad.ones(1, device=DEV1)


def test_no_silent_copy_of_an_array_of_another_library():
    t = xpgrad.tensor([1.0, 2.0], device=STRICT)
    with pytest.raises(TypeError):  # a NumPy array is not a Tensor: wrap it (explicitly)
        t * np.array([1.0, 2.0])
    with pytest.raises(xpgrad.DeviceError):
        t * xpgrad.tensor(np.array([1.0, 2.0]))  # keeps NumPy's device, "cpu"


# ---------------------------------------------------------------------- creation


def test_a_tensor_from_an_existing_array_keeps_its_library_and_device():
    a = np.arange(3.0)
    s1 = strict.asarray([1.0, 2.0], device=strict.Device("device1"))
    with xpgrad.default_device(DEV2):  # the default applies to Python data, not arrays
        t, u = xpgrad.tensor(a), xpgrad.tensor(s1)
        v = xpgrad.as_tensor(a)
    assert t.device == CPU and t.dtype == np.float64
    assert u.device == DEV1 and type(u._data) is type(s1) and u.dtype == strict.float64
    assert v._data is a


@pytest.mark.parametrize("src, dst", MOVES, ids=MOVE_IDS)
def test_tensor_of_a_tensor_on_another_device_copies(src, dst):
    x = leaf([1.0, 2.0], src)
    y = xpgrad.tensor(x, device=dst)
    assert y.device == dst and not y.requires_grad and y.grad_fn is None
    assert y.dtype == y.device.xp.float64
    with xpgrad.no_grad():
        y.mul_(3)
    assert_close(x, [1.0, 2.0])
    assert_close(y, [3.0, 6.0])
    z = xpgrad.tensor(x, dtype=xpgrad.float32, device=dst, requires_grad=True)
    assert z.is_leaf and z.dtype == z.device.xp.float32


def test_tensor_of_an_array_on_another_device_copies():
    a = np.array([1.0, 2.0])
    t = xpgrad.tensor(a, device=DEV1)
    assert t.device == DEV1 and t.dtype == strict.float64
    a[0] = 9.0
    assert_close(t, [1.0, 2.0])
    s = strict.asarray([5.0, 6.0], device=strict.Device("device2"))
    n = xpgrad.tensor(s, device=CPU)
    assert n.device == CPU and type(n._data) is np.ndarray
    n.add_(1)
    assert strict.all(s == strict.asarray([5.0, 6.0], device=strict.Device("device2")))


def test_as_tensor_with_a_device_is_a_recorded_move():
    x = leaf([2.0], CPU)
    y = xpgrad.as_tensor(x, device=DEV1)
    assert y.device == DEV1 and type(y.grad_fn).__name__ == "ToCopyBackward"
    (y * y).sum().backward()
    assert_close(x.grad, [4.0])


# ---------------------------------------------------------------------- default device


def _creations():
    return {
        "ones": xpgrad.ones(2), "zeros": xpgrad.zeros(2, 2), "empty": xpgrad.empty(1),
        "full": xpgrad.full((2,), 1.5), "arange": xpgrad.arange(3), "eye": xpgrad.eye(2),
        "rand": xpgrad.rand(2), "randn": xpgrad.randn(2), "tensor": xpgrad.tensor([1.0]),
        "Tensor": xpgrad.Tensor([1.0]), "xp.ones": xpgrad.xp.ones((2,)),
    }


def test_default_device_context_manager():
    assert xpgrad.get_default_device() == CPU
    with xpgrad.default_device(DEV1) as dev:
        assert dev is xpgrad.device(DEV1) and xpgrad.get_default_device() is dev
        for name, t in _creations().items():
            assert t.device == DEV1, name
        with xpgrad.default_device(STRICT):
            assert xpgrad.ones(1).device == STRICT
        assert xpgrad.ones(1).device == DEV1
        # ops compute where their inputs live, whatever the default
        assert (xpgrad.tensor(np.ones(2)) * 2).device == CPU
    for name, t in _creations().items():
        assert t.device == CPU, name


def test_default_device_is_restored_when_the_block_raises():
    with pytest.raises(ZeroDivisionError):
        with xpgrad.default_device(DEV2):
            1 / 0
    assert xpgrad.get_default_device() == CPU


def test_default_device_rejects_unknown_devices_up_front():
    with pytest.raises(xpgrad.DeviceError):
        with xpgrad.default_device("nowhere"):
            pass
    assert xpgrad.get_default_device() == CPU


def test_set_default_device_stays():
    def body():
        xpgrad.set_default_device(STRICT)
        return xpgrad.randn(2).device, xpgrad.get_default_device()

    made, default = contextvars.copy_context().run(body)
    assert made == STRICT and default == STRICT
    assert xpgrad.ones(1).device == CPU  # the copied context took the change with it


def test_default_device_is_thread_local():
    inside, seen, errors = threading.Event(), {}, []

    def worker_with_default():
        try:
            with xpgrad.default_device(DEV1):
                inside.set()
                other.join(timeout=30)  # the other thread works while this block is open
                seen["self"] = xpgrad.ones(1).device
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def worker_without():
        inside.wait(timeout=30)
        seen["other"] = xpgrad.ones(1).device

    other = threading.Thread(target=worker_without)
    first = threading.Thread(target=worker_with_default)
    other.start()
    first.start()
    first.join(timeout=60)
    assert not errors
    assert seen == {"self": DEV1, "other": CPU}
    with xpgrad.default_device(DEV2):  # nor does this thread's setting reach a new thread
        t = threading.Thread(target=lambda: seen.__setitem__("new", xpgrad.ones(1).device))
        t.start()
        t.join()
    assert seen["new"] == CPU


def test_default_device_is_task_local():
    async def task(device, out):
        with xpgrad.default_device(device):
            await asyncio.sleep(0)  # let the other task run inside its own block
            out.append(xpgrad.ones(1).device.name)

    async def main():
        out = []
        await asyncio.gather(task(DEV1, out), task(DEV2, out))
        return out

    assert sorted(asyncio.run(main())) == [DEV1, DEV2]


# ---------------------------------------------------------------------- a third party's


class _ToyArray:
    """Arrays of the toy backend never exist: its Tensors hold NumPy arrays."""


class _ToyBackend(Backend):
    """A third party's backend, with only what the contract requires (NumPy underneath):
    moving to and from it comes from the contract's defaults."""

    name = "xpgrad_test_toy"
    library = "numpy"
    device_prefix = "xpgradtesttoy"

    def array_types(self):
        return (_ToyArray,)

    def namespace(self):
        from array_api_compat import numpy as np_compat

        return np_compat

    def to_numpy(self, array):
        return np.asarray(array)


class _ToyPlugin:
    @hookimpl
    def xpgrad_backends(self):
        return [_ToyBackend()]


def test_a_third_party_backend_moves_through_the_contract_defaults():
    plugin = _ToyPlugin()
    xpgrad.plugins.register(plugin, name="xpgrad_test_toy_backend")
    try:
        for src in (CPU, DEV1):
            x = leaf([1.0, 2.0], src)
            y = x.to("xpgradtesttoy")
            assert y.device == "xpgradtesttoy"
            back = (y * y).to(src)
            back.sum().backward()
            assert x.grad.device is x.device
            assert_close(x.grad, [2.0, 4.0])
            with xpgrad.no_grad():
                y.add_(10)  # a copy of its own: x does not change
                back.add_(10)
            assert_close(x, [1.0, 2.0])
            assert_close(y, [11.0, 12.0])
            z = xpgrad.tensor([5.0], device="xpgradtesttoy").to(src)
            assert z.device == src
            assert_close(z, [5.0])
    finally:
        xpgrad.plugins.unregister(plugin)


# ---------------------------------------------------------------------- CuPy


def _cupy_backend():
    return registry.backends()["cupy"]


def test_cuda_without_cupy_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)  # as if CuPy were not installed
    x = xpgrad.tensor([1.0])
    for ask in (lambda: xpgrad.device("cuda"), lambda: x.cuda(), lambda: x.to("cuda:1"),
                lambda: xpgrad.ones(2, device="cuda")):
        with pytest.raises(xpgrad.DeviceError) as info:
            ask()
        text = str(info.value)
        assert "CuPy is not installed" in text and 'pip install "xpgrad[cuda]"' in text, text
    ok, why = _cupy_backend().is_available()
    assert not ok and "CuPy is not installed" in why
    assert _cupy_backend().version() is None
    assert _cupy_backend().array_types() == ()


class _NoDevice(RuntimeError):
    pass


def _fake_cupy(device_count):
    """A stand-in for an installed CuPy: ``device_count`` None means the CUDA runtime
    raises, as it does on a machine without a GPU or driver."""
    cupy = types.ModuleType("cupy")
    cupy.__version__ = "13.9.9"
    cupy.ndarray = type("ndarray", (), {})

    def count():
        if device_count is None:
            raise _NoDevice("cudaErrorNoDevice: no CUDA-capable device is detected")
        return device_count

    class Device:
        def __init__(self, index):
            self.id = index

    cupy.cuda = types.SimpleNamespace(
        runtime=types.SimpleNamespace(getDeviceCount=count, getDevice=lambda: 1),
        Device=Device,
    )
    return cupy


def test_cuda_with_cupy_but_no_gpu_says_no_device_is_available(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "cupy", _fake_cupy(None))
    with pytest.raises(xpgrad.DeviceError, match="no CUDA device is available"):
        xpgrad.device("cuda:0")
    with pytest.raises(xpgrad.DeviceError, match="no CUDA device is available"):
        xpgrad.tensor([1.0]).cuda()
    backend = _cupy_backend()
    assert backend.version() == "13.9.9"
    assert backend.array_types() == (sys.modules["cupy"].ndarray,)
    monkeypatch.setitem(sys.modules, "cupy", _fake_cupy(0))
    ok, why = backend.is_available()
    assert not ok and "no CUDA device is available" in why

    from xpgrad.__main__ import main

    assert main(["--device", "cpu"]) == 0
    listing = capsys.readouterr().out
    line = next(li for li in listing.splitlines() if li.strip().startswith("cupy"))
    assert "unusable here" in line and "no CUDA device is available" in line, line


def test_python_m_xpgrad_lists_cupy_as_not_installed(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "cupy", None)
    from xpgrad.__main__ import main

    assert main(["--device", "cpu"]) == 0
    line = next(li for li in capsys.readouterr().out.splitlines() if li.strip().startswith("cupy"))
    assert "not installed" in line and 'pip install "xpgrad[cuda]"' in line, line


def test_cupy_device_names_and_lazy_seeding(monkeypatch):
    from xpgrad.backends.cupy import CupyBackend

    backend = CupyBackend()
    backend.seed(3)  # manual_seed reaches every backend: nothing is imported for it
    monkeypatch.setitem(sys.modules, "cupy", _fake_cupy(3))
    assert backend.devices() == ["cuda:1", "cuda:0", "cuda:2"]  # the current GPU first
    assert backend.native_device("cuda:2").id == 2 and backend.native_device("cuda").id == 1
    assert backend.device_of(types.SimpleNamespace(device=types.SimpleNamespace(id=2))) == "cuda:2"
    with pytest.raises(ValueError, match="cuda:x"):
        backend.native_device("cuda:x")


def test_cupy_is_never_imported_unless_cuda_is_asked_for():
    code = textwrap.dedent("""
        import sys
        import numpy as np
        import xpgrad
        from xpgrad.device import device_of_array
        from xpgrad.plugins import get_plugin_manager, registry

        get_plugin_manager()
        assert "cupy" in registry.backends()
        xpgrad.manual_seed(0)
        x = xpgrad.ones(2, requires_grad=True)
        (x.to("array_api_strict:device1") * xpgrad.randn(2, device="array_api_strict:device1")).sum().backward()
        xpgrad.tensor(np.ones(3))
        assert device_of_array(object()) is None   # asks every backend which arrays are its own
        try:
            xpgrad.device("tpu")
        except xpgrad.DeviceError:
            pass
        assert "cupy" not in sys.modules, "cupy was imported"
        print("ok")
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stdout + done.stderr
