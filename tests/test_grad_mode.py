"""Grad mode: no_grad, enable_grad and set_grad_enabled as context managers, decorators
and (set_grad_enabled) a plain call; nesting; thread-locality."""
import threading

import pytest

import xpgrad


@pytest.fixture(autouse=True)
def _grad_mode_restored():
    """Whatever a test does, the next one starts with grad mode on."""
    assert xpgrad.is_grad_enabled()
    yield
    enabled = xpgrad.is_grad_enabled()
    xpgrad.set_grad_enabled(True)
    assert enabled, "the test left grad mode off"


def _records(device):
    x = xpgrad.tensor([1.0], device=device, requires_grad=True)
    y = x * 2.0
    assert y.requires_grad == (y.grad_fn is not None)
    return y.requires_grad


def test_no_grad_context_manager(device):
    assert _records(device)
    with xpgrad.no_grad():
        assert not xpgrad.is_grad_enabled()
        assert not _records(device)
        x = xpgrad.tensor([1.0], device=device, requires_grad=True)
        y = (x * 3.0).exp()
        assert not y.requires_grad and y.grad_fn is None and y.is_leaf
        assert x.requires_grad  # creating leaves that require grad still works
    assert xpgrad.is_grad_enabled()
    assert _records(device)


def test_no_grad_restores_after_exception():
    with pytest.raises(ZeroDivisionError):
        with xpgrad.no_grad():
            1 / 0
    assert xpgrad.is_grad_enabled()


def test_no_grad_decorator(device):
    @xpgrad.no_grad()
    def f(x):
        """doc"""
        assert not xpgrad.is_grad_enabled()
        return x * 2.0

    x = xpgrad.tensor([1.0], device=device, requires_grad=True)
    assert not f(x).requires_grad
    assert xpgrad.is_grad_enabled()
    assert f.__name__ == "f" and f.__doc__ == "doc"

    @xpgrad.no_grad()
    def fails():
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        fails()
    assert xpgrad.is_grad_enabled()


def test_enable_grad_inside_no_grad(device):
    with xpgrad.no_grad():
        with xpgrad.enable_grad():
            assert xpgrad.is_grad_enabled()
            assert _records(device)
        assert not xpgrad.is_grad_enabled()
        assert not _records(device)
    assert xpgrad.is_grad_enabled()


def test_enable_grad_decorator(device):
    @xpgrad.enable_grad()
    def f(x):
        return x * 2.0

    x = xpgrad.tensor([1.0], device=device, requires_grad=True)
    with xpgrad.no_grad():
        y = f(x)
        assert not xpgrad.is_grad_enabled()
    assert y.requires_grad
    y.backward()
    assert x.grad.item() == 2.0


def test_set_grad_enabled_context_manager(device):
    with xpgrad.set_grad_enabled(False):
        assert not xpgrad.is_grad_enabled()
        assert not _records(device)
    assert xpgrad.is_grad_enabled()
    with xpgrad.no_grad():
        with xpgrad.set_grad_enabled(True):
            assert _records(device)
        assert not xpgrad.is_grad_enabled()
    assert xpgrad.is_grad_enabled()
    for mode in (True, False):
        with xpgrad.set_grad_enabled(mode):
            assert xpgrad.is_grad_enabled() is mode
        assert xpgrad.is_grad_enabled()


def test_set_grad_enabled_as_function(device):
    try:
        xpgrad.set_grad_enabled(False)
        assert not xpgrad.is_grad_enabled()
        assert not _records(device)
        xpgrad.set_grad_enabled(True)
        assert xpgrad.is_grad_enabled()
        assert _records(device)
    finally:
        xpgrad.set_grad_enabled(True)


def test_set_grad_enabled_function_inside_block():
    with xpgrad.no_grad():
        xpgrad.set_grad_enabled(True)
        assert xpgrad.is_grad_enabled()
        xpgrad.set_grad_enabled(False)
        assert not xpgrad.is_grad_enabled()
    assert xpgrad.is_grad_enabled()  # the block restores what was there before it


def test_set_grad_enabled_decorator(device):
    @xpgrad.set_grad_enabled(False)
    def f(x):
        return x * 2.0

    assert xpgrad.is_grad_enabled()  # decorating does not switch the mode
    x = xpgrad.tensor([1.0], device=device, requires_grad=True)
    assert not f(x).requires_grad
    assert xpgrad.is_grad_enabled()

    @xpgrad.set_grad_enabled(True)
    def g(x):
        return x * 2.0

    with xpgrad.no_grad():
        assert g(x).requires_grad
        assert not xpgrad.is_grad_enabled()


def test_set_grad_enabled_rejects_non_bool():
    with pytest.raises(TypeError, match="set_grad_enabled takes a bool"):
        xpgrad.set_grad_enabled("no")
    assert xpgrad.is_grad_enabled()


def test_deep_nesting():
    seen = []
    with xpgrad.no_grad():
        seen.append(xpgrad.is_grad_enabled())
        with xpgrad.enable_grad():
            seen.append(xpgrad.is_grad_enabled())
            with xpgrad.set_grad_enabled(False):
                seen.append(xpgrad.is_grad_enabled())
                with xpgrad.no_grad():
                    seen.append(xpgrad.is_grad_enabled())
                    with xpgrad.set_grad_enabled(True):
                        seen.append(xpgrad.is_grad_enabled())
                    seen.append(xpgrad.is_grad_enabled())
                seen.append(xpgrad.is_grad_enabled())
            seen.append(xpgrad.is_grad_enabled())
        seen.append(xpgrad.is_grad_enabled())
    seen.append(xpgrad.is_grad_enabled())
    assert seen == [False, True, False, False, True, False, False, True, False, True]


def test_reused_context_manager_is_reentrant():
    ctx = xpgrad.no_grad()
    with ctx:
        with ctx:
            assert not xpgrad.is_grad_enabled()
        assert not xpgrad.is_grad_enabled()
    assert xpgrad.is_grad_enabled()


def test_backward_inside_no_grad(device):
    x = xpgrad.tensor([3.0], device=device, requires_grad=True)
    y = x * x
    with xpgrad.no_grad():
        y.backward()
        assert not xpgrad.is_grad_enabled()
    assert x.grad.item() == 6.0
    assert not x.grad.requires_grad


def test_autograd_namespace_exports_grad_mode():
    assert xpgrad.autograd.no_grad is xpgrad.no_grad
    assert xpgrad.autograd.enable_grad is xpgrad.enable_grad
    assert xpgrad.autograd.set_grad_enabled is xpgrad.set_grad_enabled
    assert xpgrad.autograd.is_grad_enabled is xpgrad.is_grad_enabled


def _in_thread(fn):
    result, errors = [], []

    def run():
        try:
            result.append(fn())
        except BaseException as exc:  # reported in the main thread
            errors.append(exc)

    th = threading.Thread(target=run)
    th.start()
    th.join()
    if errors:
        raise errors[0]
    return result[0]


def test_thread_started_inside_no_grad_has_grad_enabled(device):
    def work():
        x = xpgrad.tensor([1.0], device=device, requires_grad=True)
        return xpgrad.is_grad_enabled(), (x * 2.0).requires_grad

    with xpgrad.no_grad():
        assert _in_thread(work) == (True, True)
        assert not xpgrad.is_grad_enabled()


def test_grad_mode_set_in_thread_does_not_leak(device):
    def work():
        xpgrad.set_grad_enabled(False)
        x = xpgrad.tensor([1.0], device=device, requires_grad=True)
        return xpgrad.is_grad_enabled(), (x * 2.0).requires_grad

    assert _in_thread(work) == (False, False)
    assert xpgrad.is_grad_enabled()
    assert _records(device)


def test_threads_run_in_different_modes_at_once(device):
    barrier = threading.Barrier(2, timeout=10)
    results = {}

    def worker(mode):
        with xpgrad.set_grad_enabled(mode):
            barrier.wait()  # both threads are inside their blocks now
            x = xpgrad.tensor([1.0], device=device, requires_grad=True)
            results[mode] = (xpgrad.is_grad_enabled(), (x * 2.0).requires_grad)
            barrier.wait()

    threads = [threading.Thread(target=worker, args=(m,)) for m in (True, False)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert results == {True: (True, True), False: (False, False)}
    assert xpgrad.is_grad_enabled()
