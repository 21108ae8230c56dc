"""xpgrad's pytest plugin (``-p xpgrad.testing``): the backend matrix, the ``backend`` and
``make`` fixtures, and ``check_grads``, tested by running pytest on generated test files
(pytester) and by calling ``check_grads`` on deliberately wrong VJP rules."""
import importlib.util

import numpy as np
import pytest

import xpgrad
from xpgrad.dispatch import apply
from xpgrad.plugins import Backend, Op, hookimpl, registry
from xpgrad.testing import BackendCase, backend_matrix, check_grads

from helpers import ops_plugin

pytest_plugins = ["pytester"]

INI = """
[pytest]
addopts = -ra
filterwarnings =
    error
"""

MATRIX_TESTS = """
import pytest

import xpgrad
from xpgrad.testing import check_grads


def test_fixtures(backend, make):
    assert backend.device == xpgrad.device(backend.device).name
    assert backend.xp is xpgrad.device(backend.device).xp
    assert backend.name == xpgrad.device(backend.device).backend.name
    x = make([1.0, -2.0, 0.5], requires_grad=True)
    assert x.device == backend.device and x.requires_grad
    assert x.dtype == backend.xp.float64
    r = make((2, 3))
    assert r.shape == (2, 3) and r.dtype == backend.xp.float64 and not r.requires_grad
    assert make([1.0], dtype=xpgrad.float32).dtype == backend.xp.float32


def test_check_grads(make):
    x = make([1.0, -2.0, 0.5], requires_grad=True)
    w = make((3, 2), requires_grad=True)
    check_grads(lambda a: (a * a).tanh(), x)
    check_grads(lambda a, b: xpgrad.matmul(a, b).sum(), x, w, order=1)


@pytest.mark.parametrize("backend", ["cpu", "array_api_strict:device1"], indirect=True)
def test_chosen_by_hand(backend, make):
    assert make([1.0]).device == backend.device
"""


# The matrix, read once when this module is imported. Reading it imports every backend's
# library; pytester takes sys.modules back to what it was before each of its tests, so a
# library first imported inside one would be imported afresh by the next test, whose
# arrays then no longer match the namespaces xpgrad keeps.
MATRIX = backend_matrix()


def _run(pytester, *args):
    pytester.makeini(INI)
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args, timeout=300)


def _ids_in_matrix():
    return [id_ for id_, device, reason in MATRIX if reason is None]


# ---------------------------------------------------------------------- the matrix


@pytest.mark.parametrize("load", ["-p xpgrad.testing", "conftest",
                                  "both names"])
def test_matrix_runs_on_every_backend(pytester, load):
    pytester.makepyfile(test_matrix=MATRIX_TESTS)
    args = []
    if load == "conftest":
        pytester.makeconftest('pytest_plugins = ["xpgrad.testing"]\n')
    elif load == "both names":
        pytester.makeconftest('pytest_plugins = ["xpgrad.testing"]\n')
        args = ["-p", "xpgrad.testing"]
    else:
        args = load.split()
    if load != "-p xpgrad.testing":  # one run with every backend is enough; dask is slow
        args += ["-k", "numpy or array_api_strict"]
    result = _run(pytester, "-v", *args)
    ids = _ids_in_matrix()
    skipped = len(MATRIX) - len(ids)  # backends that cannot run here
    if load != "-p xpgrad.testing":
        ids = [i for i in ids if i == "numpy" or i.startswith("array_api_strict")]
        skipped = 0
    assert {"numpy", "array_api_strict", "array_api_strict:device1"} <= set(ids)
    by_hand = ["array_api_strict:device1"] + (["cpu"] if load == "-p xpgrad.testing" else [])
    result.assert_outcomes(passed=2 * len(ids) + len(by_hand), skipped=2 * skipped)
    for id_ in by_hand:  # parametrized by the test itself: not over the matrix
        result.stdout.fnmatch_lines([f"*test_chosen_by_hand?{id_}? PASSED*"])
    for id_ in ids:
        result.stdout.fnmatch_lines([f"*test_fixtures?{id_}? PASSED*", f"*test_check_grads?{id_}? PASSED*"])
    result.stdout.fnmatch_lines(["xpgrad backends: numpy, array_api_strict, array_api_strict:device1*"])
    assert result.stdout.str().count("xpgrad backends:") == 1  # one header, even loaded twice


def test_backend_fixture_needs_the_plugin(pytester):
    pytester.makepyfile("def test_it(backend):\n    pass\n")
    result = _run(pytester)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'backend' not found*"])


def test_matrix_lists_every_registered_backend():
    rows = backend_matrix()
    ids = [id_ for id_, _, _ in rows]
    assert ids[0] == "numpy"
    assert [i for i in _ids_in_matrix() if i.startswith("array_api_strict")][:2] == [
        "array_api_strict", "array_api_strict:device1"]
    assert len(set(ids)) == len(ids)
    assert {id_.split(":")[0] for id_ in ids} == set(registry.backends())
    for _id, device, reason in rows:
        assert (device is None) == (reason is not None)
        if device is not None:
            assert xpgrad.device(device).name == device


def test_make_gives_the_same_values_on_every_backend():
    ref = BackendCase("cpu").make((2, 3)).tolist()
    for device in ("array_api_strict", "array_api_strict:device1"):
        case = BackendCase(device)
        assert (case.name, case.device) == ("array_api_strict", device)
        assert case.make((2, 3)).tolist() == ref
        assert case.make(np.array([1, 2]), dtype=None).dtype == case.xp.int64
        assert case.make(2.5).shape == ()
    # a fresh case per test, so the values do not depend on what ran before
    assert BackendCase("cpu").make((2, 3)).tolist() == ref


# ---------------------------------------------------------------------- skipped backends


MISSING_CONFTEST = '''
import xpgrad.plugins
from xpgrad.plugins import Backend, hookimpl

class MissingLibrary(Backend):
    name = "nosuchlib"
    library = "xpgrad_no_such_library_4217"
    device_prefix = "nosuchlib"

class NoGpu(Backend):
    name = "fakegpu"
    library = "numpy"  # installed, but the backend's GPU is missing
    device_prefix = "fakegpu"

    def is_available(self):
        return False, "CUDARuntimeError: cudaErrorNoDevice: no CUDA-capable device is detected"

class Plugin:
    @hookimpl
    def xpgrad_backends(self):
        return [MissingLibrary(), NoGpu()]

PLUGIN = Plugin()

def pytest_configure(config):
    xpgrad.plugins.register(PLUGIN, name="test_missing_backends")

def pytest_unconfigure(config):
    xpgrad.plugins.unregister(PLUGIN)
'''


def test_backend_without_its_library_is_skipped_with_the_reason(pytester):
    pytester.makeconftest(MISSING_CONFTEST)
    pytester.makepyfile("def test_it(make):\n    assert make([1.0]).shape == (1,)\n")
    result = _run(pytester, "-p", "xpgrad.testing", "-v", "-rs", "-k",
                  "numpy or nosuchlib or fakegpu or cupy")
    result.stdout.fnmatch_lines([
        "*test_it?numpy? PASSED*",
        "*test_it?nosuchlib? SKIPPED*",
        "*test_it?fakegpu? SKIPPED*",
    ])
    result.stdout.fnmatch_lines([
        "xpgrad backend nosuchlib skipped: xpgrad_no_such_library_4217 is not installed*",
        "xpgrad backend fakegpu skipped: no CUDA device available for the fakegpu backend*",
    ])
    result.stdout.fnmatch_lines([
        "SKIPPED*xpgrad_no_such_library_4217 is not installed (the nosuchlib backend needs it: "
        "pip install xpgrad_no_such_library_4217)",
    ])
    result.stdout.fnmatch_lines([
        "SKIPPED*no CUDA device available for the fakegpu backend: CUDARuntimeError: "
        "cudaErrorNoDevice*",
    ])
    if "cupy" in registry.backends() and importlib.util.find_spec("cupy") is None:
        # the real case: the CuPy backend is registered, CuPy is not installed here
        result.stdout.fnmatch_lines(["*test_it?cupy? SKIPPED*"])
        result.stdout.fnmatch_lines(["SKIPPED*: cupy is not installed (the cupy backend needs it*"])
    cupy = [device for id_, device, _ in MATRIX if "cupy" in id_]
    result.assert_outcomes(passed=1 + sum(d is not None for d in cupy),
                           skipped=2 + sum(d is None for d in cupy))


def test_ids_of_a_backend_with_several_devices():
    class TwoGpus(Backend):
        name = "fakegpus"
        library = "numpy"
        device_prefix = "fakecuda"

        def is_available(self):
            return True, ""

        def devices(self):
            return ["fakecuda:0", "fakecuda:1"]

    class NoDevices(TwoGpus):
        name = "fakenone"
        device_prefix = "cuda_fake_none"

        def devices(self):
            raise RuntimeError("cudaErrorNoDevice")

    class Plugin:
        @hookimpl
        def xpgrad_backends(self):
            return [TwoGpus(), NoDevices()]

    plugin = Plugin()
    xpgrad.plugins.register(plugin, name="test_two_gpus")
    try:
        rows = {id_: (device, reason) for id_, device, reason in backend_matrix()}
    finally:
        xpgrad.plugins.unregister(plugin)
    assert rows["fakegpus"] == ("fakecuda:0", None)
    assert rows["fakegpus:1"] == ("fakecuda:1", None)
    device, reason = rows["fakenone"]
    assert device is None and reason.startswith("no CUDA device available for the fakenone backend")
    assert "fakegpus" not in registry.backends()


# ---------------------------------------------------------------------- check_grads


def cube_with_a_wrong_vjp(x):
    return apply("xpgrad_test_wrong_cube", (x,))


def test_check_grads_names_a_wrong_vjp(register, device):
    # d x**3 / dx is 3 x**2; this rule says 2 x**2.
    register(ops_plugin(Op("xpgrad_test_wrong_cube", lambda xp, x: x * x * x,
                            vjp={"x": lambda xp, g, x: g * (2 * x * x)})), name="wrong_vjp_plugin")
    x = BackendCase(device).make([1.0, -2.0, 0.5], requires_grad=True)
    with pytest.raises(AssertionError) as info:
        check_grads(cube_with_a_wrong_vjp, x, order=1)
    message = str(info.value)
    assert "cube_with_a_wrong_vjp" in message
    assert "first-order" in message and f"device {device!r}" in message
    assert "'xpgrad_test_wrong_cube' (plugin 'wrong_vjp_plugin')" in message
    assert "analytic 2.0, numerical 2.99" in message or "analytic 2.0, numerical 3.0" in message
    with pytest.raises(AssertionError, match="cube_with_a_wrong_vjp"):
        check_grads(cube_with_a_wrong_vjp, x)  # order=2 checks first order first


def test_check_grads_unregisters_cleanly():
    # The op of the test above is gone again: the registry is as it was.
    assert "xpgrad_test_wrong_cube" not in registry.all_ops()
    assert "wrong_vjp_plugin" not in xpgrad.plugins.list_plugins()


def test_check_grads_catches_a_vjp_that_is_wrong_only_at_second_order(register, device):
    # The rule's value is right, but under create_graph it cuts x out of the graph
    # (detach), so the second derivative it implies is 0 instead of 6 x.
    def vjp(xp, g, x):
        if isinstance(x, xpgrad.Tensor):
            x = x.detach()
        return g * (3 * x * x)

    register(ops_plugin(Op("xpgrad_test_flat_cube", lambda xp, x: x * x * x, vjp={"x": vjp})),
             name="flat_vjp_plugin")

    def flat_cube(x):
        return apply("xpgrad_test_flat_cube", (x,))

    x = BackendCase(device).make([1.0, -2.0], requires_grad=True)
    assert check_grads(flat_cube, x, order=1)
    with pytest.raises(AssertionError) as info:
        check_grads(flat_cube, x, order=2)
    message = str(info.value)
    assert "second-order" in message and "flat_cube" in message
    assert "'xpgrad_test_flat_cube' (plugin 'flat_vjp_plugin')" in message


def test_check_grads_passes_builtin_ops(device):
    make = BackendCase(device).make
    a, b = make((2, 3), requires_grad=True), make((3,), requires_grad=True)
    assert check_grads(lambda a, b: (a * b).exp().sum(axis=0), a, b)


def test_check_grads_arguments():
    x = BackendCase("cpu").make([1.0], requires_grad=True)
    with pytest.raises(ValueError, match="order must be 1 or 2"):
        check_grads(xpgrad.exp, x, order=3)
    with pytest.raises(TypeError, match="at least one input"):
        check_grads(xpgrad.exp)
    with pytest.raises(ValueError, match="float64"):
        check_grads(xpgrad.exp, BackendCase("cpu").make([1.0], dtype="float32", requires_grad=True))


WRONG_VJP_TESTS = """
import pytest
import xpgrad
from xpgrad.dispatch import apply
from xpgrad.plugins import Op, hookimpl
from xpgrad.testing import check_grads


class Wrong:
    @hookimpl
    def xpgrad_ops(self):
        return [Op("xpgrad_test_wrong_square", lambda xp, x: x * x,
                   vjp={"x": lambda xp, g, x: g * x})]  # should be 2 x


@pytest.fixture
def wrong_op():
    plugin = Wrong()
    xpgrad.plugins.register(plugin, name="wrong_square_plugin")
    yield
    xpgrad.plugins.unregister(plugin)


def square_with_a_wrong_vjp(x):
    return apply("xpgrad_test_wrong_square", (x,))


def test_wrong(wrong_op, make):
    check_grads(square_with_a_wrong_vjp, make([1.5, -1.0], requires_grad=True))


def test_unregistered_after(make):
    assert "xpgrad_test_wrong_square" not in xpgrad.plugins.registry.all_ops()
"""


def test_wrong_vjp_fails_the_generated_test(pytester):
    pytester.makepyfile(test_wrong=WRONG_VJP_TESTS)
    result = _run(pytester, "-p", "xpgrad.testing", "-k", "numpy or array_api_strict")
    n = len([i for i in _ids_in_matrix() if i == "numpy" or i.startswith("array_api_strict")])
    result.assert_outcomes(failed=n, passed=n)
    result.stdout.fnmatch_lines([
        "E * AssertionError: check_grads: the first-order gradients (the VJPs) of "
        "test_wrong.square_with_a_wrong_vjp disagree with central finite differences on "
        "device 'cpu'*'xpgrad_test_wrong_square' (plugin 'wrong_square_plugin')*",
        "FAILED test_wrong.py::test_wrong?array_api_strict:device1?*",
    ])


# ---------------------------------------------------------------------- choosing the matrix


def test_ini_option_fixes_the_matrix_and_the_command_line_overrides_it(pytester):
    pytester.makepyfile("def test_it(backend):\n    assert backend.name in ('numpy', 'array_api_strict')\n")
    pytester.makeini(INI + "xpgrad_backends = numpy array_api_strict\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "xpgrad.testing", "-v", timeout=300)
    chosen = [i for i in _ids_in_matrix() if i == "numpy" or i.startswith("array_api_strict")]
    result.assert_outcomes(passed=len(chosen))
    result.stdout.fnmatch_lines(["xpgrad backends: numpy, array_api_strict, array_api_strict:device1*"])
    assert "dask" not in result.stdout.str()
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "xpgrad.testing", "-v",
                                           "--xpgrad-backends", "numpy", timeout=300)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*test_it?numpy? PASSED*"])


def test_unknown_backend_name_is_a_usage_error_listing_the_registered_ones(pytester):
    pytester.makepyfile("def test_it(backend):\n    pass\n")
    pytester.makeini(INI)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "xpgrad.testing",
                                           "--xpgrad-backends", "numpy,nosuch", timeout=300)
    assert result.ret != 0
    err = result.stderr.str()
    assert "xpgrad_backends names ['nosuch'], which are not registered backends; the registered ones are [" in err
    assert "'numpy'" in err.split("the registered ones are", 1)[1]


# ---------------------------------------------------------------------- assert_close


def test_assert_close_checks_values_shape_dtype_and_device():
    from xpgrad.testing import assert_close

    t = xpgrad.tensor([1.0, 2.0], dtype=xpgrad.float32)
    assert_close(t, [1.0, 2.0])
    assert_close(t, xpgrad.tensor([1.0, 2.0 + 1e-6], dtype=xpgrad.float32))  # float32 tolerances
    with pytest.raises(AssertionError, match=r"^assert_close: the shape is \(2,\), expected \(1, 2\)$"):
        assert_close(t, [[1.0, 2.0]])
    with pytest.raises(AssertionError, match=r"^assert_close: the dtype is float32, expected float64$"):
        assert_close(t, xpgrad.tensor([1.0, 2.0], dtype=xpgrad.float64))
    with pytest.raises(AssertionError, match=r"^assert_close: the dtype is float32, expected float64$"):
        assert_close(t, [1.0, 2.0], dtype="float64")
    with pytest.raises(AssertionError, match=r"^assert_close: the device is cpu, expected array_api_strict$"):
        assert_close(t, xpgrad.tensor([1.0, 2.0], dtype=xpgrad.float32, device="array_api_strict"))
    with pytest.raises(AssertionError, match=r"assert_close: the values differ \(rtol=1e-07, atol=1e-07\)"):
        assert_close(xpgrad.tensor([1.0, 2.0], dtype=xpgrad.float64), [1.0, 2.0 + 1e-5])
    assert_close(xpgrad.tensor([1.0, float("nan")], dtype=xpgrad.float64), [1.0, float("nan")])
    with pytest.raises(TypeError, match="actual must be an xpgrad Tensor, got list"):
        assert_close([1.0], [1.0])


def test_backend_marks_go_into_that_backends_params(pytester):
    pytester.makepyfile(
        "import pytest\n\n"
        "@pytest.mark.xpgrad_backend_marks(numpy=pytest.mark.slow, array_api_strict=[pytest.mark.xfail(strict=True)])\n"
        "def test_it(backend):\n"
        "    assert backend.name not in ('array_api_strict',)\n")
    pytester.makeini(INI + "markers =\n    slow: slow\nxpgrad_backends = numpy array_api_strict\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "xpgrad.testing", "-v",
                                           "-m", "not slow", "--strict-markers", timeout=300)
    strict = len([i for i in _ids_in_matrix() if i.startswith("array_api_strict")])
    result.assert_outcomes(xfailed=strict, deselected=1)  # numpy's case is slow: deselected
    result.stdout.fnmatch_lines(["*test_it?array_api_strict? XFAIL*"])


def rowsum_with_a_wrong_batching_rule(x):
    return apply("xpgrad_test_rowsum", (x,))


def test_check_grads_catches_a_wrong_batching_rule(register, device):
    # The rule sums over the batch axis instead of each example's last axis.
    def wrong_batch(values, batched, params, size):
        (x,) = values
        total = xpgrad.xp.sum(x, axis=0, keepdims=True)
        return xpgrad.xp.broadcast_to(total[..., 0], (size,))

    register(ops_plugin(Op("xpgrad_test_rowsum", lambda xp, x: xp.sum(x, axis=-1),
                           vjp={"x": lambda xp, g, x: xp.broadcast_to(g[..., None], x.shape)},
                           batch=wrong_batch)), name="wrong_batch_plugin")
    x = BackendCase(device).make([1.0, -2.0, 0.5], requires_grad=True)
    with pytest.raises(AssertionError, match=r"the batching rules of .*rowsum_with_a_wrong_batching_rule disagree "
                                             r"with running it example by example on device .*the values of output 0"):
        check_grads(rowsum_with_a_wrong_batching_rule, x, order=1)
    check_grads(rowsum_with_a_wrong_batching_rule, x, order=1, batch=False)  # the VJP itself is right
