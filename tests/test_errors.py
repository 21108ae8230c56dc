"""Bad input: each mistake gets the right exception type and a message that says what
went wrong and how to fix it."""
import numpy as np
import pytest

import xpgrad
from xpgrad.dispatch import DispatchError, apply

# ---------------------------------------------------------------------- backward


def test_backward_on_non_scalar_without_gradient(device):
    x = xpgrad.tensor([1.0, 2.0], device=device, requires_grad=True)
    y = x * 2.0
    with pytest.raises(RuntimeError, match=r"grad can be implicitly created only for scalar outputs.*\(2,\)"):
        y.backward()
    with pytest.raises(RuntimeError, match="implicitly created only for scalar outputs"):
        xpgrad.autograd.grad(y, x)


def test_backward_with_gradient_of_wrong_shape(device):
    x = xpgrad.tensor([1.0, 2.0], device=device, requires_grad=True)
    y = x * 2.0
    with pytest.raises(RuntimeError, match=r"Mismatch in shape.*\(3,\).*\(2,\)"):
        y.backward(xpgrad.ones(3, device=device))
    with pytest.raises(RuntimeError, match=r"Mismatch in shape: grad_outputs\[0\]"):
        xpgrad.autograd.grad(y, x, grad_outputs=xpgrad.ones(2, 1, device=device))


def test_backward_with_gradient_that_is_not_a_tensor(device):
    x = xpgrad.tensor([1.0, 2.0], device=device, requires_grad=True)
    with pytest.raises(TypeError, match=r"must be a Tensor, got list; wrap it with xpgrad\.tensor"):
        (x * 2.0).backward([1.0, 1.0])
    with pytest.raises(TypeError, match=r"must be a Tensor, got float; wrap it with xpgrad\.tensor"):
        (x * 2.0).sum().backward(1.0)
    with pytest.raises(TypeError, match=r"grad_tensors\[0\] must be a Tensor, got float"):
        xpgrad.autograd.backward((x * 2.0).sum(), 1.0)
    with pytest.raises(TypeError, match=r"grad_outputs\[1\] must be a Tensor, got list"):
        xpgrad.autograd.grad([x.sum(), x.sum()], x, grad_outputs=[None, [1.0]])


def test_backward_on_tensor_that_does_not_require_grad(device):
    x = xpgrad.tensor([1.0], device=device)
    y = x * 2.0
    with pytest.raises(RuntimeError, match="does not require grad and does not have a grad_fn"):
        y.backward()
    with xpgrad.no_grad():
        z = xpgrad.tensor([1.0], device=device, requires_grad=True) * 2.0
    with pytest.raises(RuntimeError, match="does not require grad"):
        z.backward()


def test_grad_with_respect_to_tensor_that_does_not_require_grad(device):
    x = xpgrad.tensor([1.0], device=device, requires_grad=True)
    c = xpgrad.tensor([1.0], device=device)
    with pytest.raises(RuntimeError, match=r"inputs\[1\] does not require grad"):
        xpgrad.autograd.grad((x * c).sum(), [x, c])


def test_second_backward_through_freed_graph(device):
    x = xpgrad.tensor([2.0], device=device, requires_grad=True)
    y = x.exp() * x
    y.backward()
    with pytest.raises(RuntimeError, match=r"backward through the graph a second time.*retain_graph=True"):
        y.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        xpgrad.autograd.grad(y, x)


def test_hook_returning_wrong_shape(device):
    x = xpgrad.tensor([1.0, 2.0], device=device, requires_grad=True)
    x.register_hook(lambda g: xpgrad.ones(3, device=device))
    with pytest.raises(RuntimeError, match=r"a hook must return None or a Tensor of the gradient's shape \(2,\)"):
        (x * 2.0).sum().backward()


# ---------------------------------------------------------------------- requires_grad


def test_requires_grad_on_integer_tensor(device):
    with pytest.raises(RuntimeError, match="only Tensors of floating point or complex dtype can require gradients"):
        xpgrad.tensor([1, 2], device=device, requires_grad=True)
    t = xpgrad.arange(3, device=device)
    with pytest.raises(RuntimeError, match=r"floating point.*int64"):
        t.requires_grad_()
    with pytest.raises(RuntimeError, match="floating point"):
        xpgrad.ones(2, dtype=xpgrad.int64, device=device, requires_grad=True)
    assert not t.requires_grad


def test_requires_grad_false_on_non_leaf(device):
    x = xpgrad.tensor([1.0], device=device, requires_grad=True)
    y = x * 2.0
    with pytest.raises(RuntimeError, match=r"only change requires_grad flags of leaf variables.*detach\(\)"):
        y.requires_grad_(False)
    with pytest.raises(RuntimeError, match="leaf variables"):
        y.requires_grad = False
    assert y.requires_grad


def test_hooks_and_retain_grad_need_requires_grad(device):
    c = xpgrad.tensor([1.0], device=device)
    with pytest.raises(RuntimeError, match="cannot register a hook on a Tensor that doesn't require gradient"):
        c.register_hook(lambda g: g)
    with pytest.raises(RuntimeError, match="can't retain_grad on a Tensor that has requires_grad=False"):
        c.retain_grad()


def test_assigning_grad_of_wrong_shape(device):
    x = xpgrad.tensor([1.0, 2.0], device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"assigned grad has shape \(3,\), but the Tensor has shape \(2,\)"):
        x.grad = xpgrad.ones(3, device=device)
    with pytest.raises(TypeError, match="assigned grad must be a Tensor or None"):
        x.grad = [1.0, 2.0]


def test_numpy_on_tensor_that_requires_grad(device):
    x = xpgrad.tensor([1.0], device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"Can't call numpy\(\) on a Tensor that requires grad.*detach"):
        x.numpy()
    with pytest.raises(RuntimeError, match="detach"):
        np.asarray(x)


# ---------------------------------------------------------------------- dispatch


def test_unknown_op(device):
    t = xpgrad.tensor([1.0], device=device)
    with pytest.raises(DispatchError, match="xpgrad has no op 'no_such_op'") as info:
        apply("no_such_op", (t,))
    assert "did you mean" not in str(info.value)
    assert isinstance(info.value, TypeError)


def test_unknown_op_near_miss_suggests(device):
    t = xpgrad.tensor([1.0], device=device)
    with pytest.raises(DispatchError, match=r"no op 'multply'; did you mean multiply"):
        apply("multply", (t, t))
    with pytest.raises(DispatchError, match=r"did you mean .*\bexp\b"):
        apply("epx", (t,))


def test_op_without_tensor_argument():
    with pytest.raises(DispatchError, match=r"needs at least one Tensor argument.*wrap the data with xpgrad\.tensor"):
        apply("exp", (1.0,))


def test_op_with_wrong_number_of_arguments(device):
    t = xpgrad.tensor([1.0], device=device)
    with pytest.raises(DispatchError, match=r"op 'exp' takes 1 array argument\(s\) \(x\), got 2"):
        apply("exp", (t, t))


def test_argument_type_the_op_cannot_take(device):
    t = xpgrad.tensor([1.0, 2.0], device=device)
    with pytest.raises(TypeError, match=r"argument 'x2' must be a Tensor or a Python scalar, got str.*xpgrad\.tensor"):
        t + "a"
    with pytest.raises(TypeError, match=r"got list.*xpgrad\.tensor"):
        t * [1.0, 2.0]
    with pytest.raises(TypeError, match=r"xpgrad\.exp\(\) takes a Tensor, got list; wrap data with xpgrad\.tensor"):
        xpgrad.exp([1, 2])
    with pytest.raises(TypeError, match=r"xpgrad\.sum\(\) takes a Tensor.*xpgrad\.tensor"):
        xpgrad.sum([1.0, 2.0])
    with pytest.raises(TypeError, match=r"mm\(\) takes a Tensor, got list"):
        xpgrad.ones(2, 2, device=device).mm([[1.0, 0.0], [0.0, 1.0]])


def test_bad_data_for_tensor():
    with pytest.raises(TypeError, match="takes Python numbers, \\(nested\\) lists or arrays, got object"):
        xpgrad.tensor(object())
    with pytest.raises(ValueError, match="cannot make a Tensor from this data"):
        xpgrad.tensor([[1.0, 2.0], [3.0]])


def test_bad_sizes_for_creation():
    with pytest.raises(TypeError, match=r"ones takes integer sizes, got 2\.5"):
        xpgrad.ones(2.5)
    with pytest.raises(TypeError, match="reshape takes integer sizes"):
        xpgrad.ones(4).reshape("2, 2")


# ---------------------------------------------------------------------- shapes and values


def test_mm_on_non_2d(device):
    a = xpgrad.ones(2, 3, device=device)
    with pytest.raises(RuntimeError, match=r"mm\(\) multiplies 2-D Tensors, got shapes \(3,\) and \(2, 3\).*matmul"):
        xpgrad.ones(3, device=device).mm(a)
    with pytest.raises(RuntimeError, match=r"mm\(\) multiplies 2-D Tensors"):
        xpgrad.mm(a, xpgrad.ones(2, 3, 4, device=device))


def test_matmul_shape_mismatch_names_op(device):
    a = xpgrad.ones(2, 3, device=device)
    with pytest.raises(ValueError, match=(
            r"op 'matmul' \(plugin 'xpgrad\.ops\.linalg'\) "
            r"failed on \(x1=Tensor\(shape=\(2, 3\)")):
        a @ a


MATMUL_MISMATCHES = {
    "inner": ((2, 3), (2, 3), r"the last dimension of x1 \(3\) differs from the second-to-last dimension of x2 \(2\)"),
    "vectors": ((3,), (2,), r"the last dimension of x1 \(3\) differs from the only dimension of x2 \(2\)"),
    "batch": ((2, 2, 3), (3, 3, 2), r"the batch dimensions of shapes \(2, 2, 3\) and \(3, 3, 2\) do not broadcast"),
    "0-d": ((), (3,), r"at least one dimension, got shapes \(\) and \(3,\)"),
}


@pytest.mark.parametrize("s1, s2, message", MATMUL_MISMATCHES.values(), ids=MATMUL_MISMATCHES.keys())
def test_matmul_shapes_it_cannot_multiply_are_one_error_everywhere(device, s1, s2, message):
    # the libraries' own errors differ (PyTorch's are RuntimeErrors, dask's about chunks)
    a, b = xpgrad.ones(s1, device=device), xpgrad.ones(s2, device=device)
    with pytest.raises(ValueError, match=r"op 'matmul' \(plugin 'xpgrad\.ops\.linalg'\) failed on .*: matmul"):
        a @ b
    with pytest.raises(ValueError, match=message):
        xpgrad.matmul(a, b)


def test_t_on_3d(device):
    with pytest.raises(RuntimeError, match=r"t\(\) expects a Tensor with <= 2 dimensions, got 3"):
        xpgrad.ones(2, 2, 2, device=device).t()


def test_item_on_multi_element_tensor(device):
    t = xpgrad.tensor([1.0, 2.0], device=device)
    with pytest.raises(ValueError, match=r"only one element tensors can be converted to Python scalars.*\(2,\)"):
        t.item()
    with pytest.raises(TypeError, match="only one-element Tensors can be converted to Python floats"):
        float(t)


def test_len_of_0d(device):
    with pytest.raises(TypeError, match="len\\(\\) of a 0-d Tensor"):
        len(xpgrad.tensor(1.0, device=device))


def test_singular_matrix_inverse_names_op():
    a = xpgrad.tensor([[1.0, 2.0], [2.0, 4.0]], device="cpu", requires_grad=True)
    with pytest.raises(np.linalg.LinAlgError, match=r"op 'inv' \(plugin 'xpgrad\.ops\.linalg'\) failed.*[Ss]ingular"):
        a.inverse()
    with pytest.raises(np.linalg.LinAlgError, match=r"op 'inv'.*[Ss]ingular"):
        xpgrad.inverse(a)


def test_inplace_result_that_does_not_fit():
    t = xpgrad.tensor([1, 2], device="cpu")  # NumPy promotes int64 + 1.5 to float64
    with pytest.raises(TypeError, match=r"in-place add_: the result has dtype float64.*int64"):
        t.add_(1.5)
    assert t.tolist() == [1, 2]


def test_inplace_on_leaf_that_requires_grad(device):
    w = xpgrad.tensor([1.0], device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match=(
            r"leaf Tensor that requires grad is being"
            r" used in an in-place operation \(add_\)")):
        w.add_(1.0)
    with pytest.raises(RuntimeError, match=r"in-place operation \(\+=\)"):
        w += 1.0
    with pytest.raises(RuntimeError, match=r"in-place operation \(zero_\)"):
        w.zero_()
    with pytest.raises(RuntimeError, match=r"in-place operation \(fill_\)"):
        w.fill_(2.0)
    with pytest.raises(RuntimeError, match=r"in-place operation \(item assignment\)"):
        w[0] = 3.0


def test_modified_saved_tensor(device):
    x = xpgrad.tensor([1.0], device=device, requires_grad=True)
    h = x * 1.0
    y = h.log()  # saves h
    h.mul_(2.0)
    with pytest.raises(RuntimeError, match=r"LogBackward saved for backward was modified by an in-place operation"):
        y.backward()


# ---------------------------------------------------------------------- gradient checks


def test_gradcheck_refuses_inputs_it_cannot_check():
    x32 = xpgrad.tensor([1.0, 2.0], dtype=xpgrad.float32, requires_grad=True)
    with pytest.raises(ValueError, match=r"gradcheck: input 0 has dtype float32; finite differences need float64"):
        xpgrad.gradcheck(lambda a: a * 2, (x32,))
    with pytest.raises(ValueError, match="gradcheck: no input requires grad, so there is nothing to check"):
        xpgrad.gradcheck(lambda a: a * 2, (xpgrad.tensor([1.0]),))


def test_gradgradcheck_refuses_complex_outputs():
    from xpgrad import xp

    x = xpgrad.tensor([1.0, 2.0], dtype=xpgrad.float64, requires_grad=True)
    with pytest.raises(ValueError, match=(
            r"gradgradcheck: output 0 has dtype complex128; "
            r".* xp\.stack\(\[xp\.real\(y\), xp\.imag\(y\)\]\)")):
        xpgrad.gradgradcheck(lambda a: xp.astype(a, xpgrad.complex128) * 1j, (x,))


# ---------------------------------------------------------------------- first-run mistakes


@pytest.mark.parametrize("make", [
    lambda flag: xpgrad.tensor([1.0], requires_grad=flag),
    lambda flag: xpgrad.ones(2, requires_grad=flag),
    lambda flag: xpgrad.zeros(2).requires_grad_(flag),
], ids=["tensor", "ones", "requires_grad_"])
@pytest.mark.parametrize("flag", ["yes", 1, None])
def test_requires_grad_must_be_a_bool(make, flag):
    # "no" would be truthy: a flag is never read by its truth value
    with pytest.raises(TypeError, match=rf"requires_grad must be True or False, got {type(flag).__name__} "):
        make(flag)


def test_the_requires_grad_attribute_takes_only_a_bool():
    t = xpgrad.zeros(2)
    with pytest.raises(TypeError, match="requires_grad must be True or False, got str 'no'"):
        t.requires_grad = "no"
    assert t.requires_grad is False


@pytest.mark.parametrize("dt", ["float128", np.longdouble, np.dtype(np.longdouble), object, "object"],
                         ids=["name", "numpy-type", "numpy-dtype", "object", "object-name"])
def test_a_dtype_outside_the_standard_is_refused_naming_the_valid_ones(dt):
    with pytest.raises(TypeError, match=r"is not one of the array API standard's dtypes: use one of bool, int8, "
                                        r".*float32, float64, complex64, complex128"):
        xpgrad.tensor([1.0], dtype=dt)


@pytest.mark.parametrize(("dt", "expected"), [("int8", np.int8), ("uint16", np.uint16), ("double", np.float64),
                                               (xpgrad.complex64, np.complex64), (np.float32, np.float32)])
def test_standard_dtypes_are_accepted_by_name_and_object(dt, expected):
    assert xpgrad.tensor([1.0], dtype=dt).numpy().dtype == expected


@pytest.mark.parametrize("operator", ["+", "-", "*", "/", "**", "@", "//", "%"])
def test_a_numpy_array_on_the_left_of_an_operator_gets_xpgrads_message(operator):
    t = xpgrad.tensor([1.0, 2.0])
    with pytest.raises(DispatchError, match=r"argument 'x1' must be a Tensor or a Python scalar, got ndarray; "
                                            r"wrap arrays and lists with xpgrad.tensor"):
        eval(f"a {operator} t", {"a": np.ones(2), "t": t})
