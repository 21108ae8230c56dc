"""xpgrad.einsum: values against numpy.einsum and torch.einsum, first and second
derivatives against finite differences, forward mode against the Jacobian from reverse
mode, the array-API-only path (forced on NumPy), and each error with its message."""
import re
import string

import numpy as np
import pytest

import xpgrad
from xpgrad import einsum
from xpgrad.ops import einsum as einsum_op

from helpers import assert_close, complex_gradient_check, values

F64 = xpgrad.float64

# name: (equation, operand shapes); numpy.einsum computes each the same way.
EQUATIONS = {
    "matmul": ("ij,jk->ik", [(2, 3), (3, 4)]),
    "batch": ("bij,bjk->bik", [(2, 2, 3), (2, 3, 2)]),
    "outer": ("i,j->ij", [(3,), (2,)]),
    "trace": ("ii->", [(3, 3)]),
    "diagonal": ("ii->i", [(3, 3)]),
    "transpose": ("ij->ji", [(2, 3)]),
    "sum": ("ij->", [(2, 3)]),
    "implicit": ("ij,jk", [(2, 3), (3, 2)]),
    "implicit-alphabetical": ("ba", [(2, 3)]),
    "implicit-trace": ("ii", [(3, 3)]),
    "ellipsis-broadcast": ("...ij,...jk->...ik", [(2, 1, 2, 3), (3, 3, 2)]),
    "ellipsis-implicit": ("...i,...i", [(2, 3), (3,)]),
    "three": ("ij,jk,kl->il", [(2, 3), (3, 2), (2, 2)]),
    "repeated-across-three": ("i,i,i->i", [(3,), (3,), (3,)]),
    "scalar": ("->", [()]),
    "scalars": (",->", [(), ()]),
    "scalar-times-matrix": (",ij->ji", [(), (2, 3)]),
    "summed-in-one-operand": ("ij,jk->k", [(2, 3), (3, 2)]),
    "diagonal-and-contraction": ("ii,ij->j", [(3, 3), (3, 2)]),
    "triple-diagonal": ("iii->i", [(2, 2, 2)]),
    "diagonal-kept-twice": ("iij->ji", [(2, 2, 3)]),
    "broadcast-length-one": ("ij,jk->ik", [(2, 1), (3, 2)]),
    "upper-case": ("Ab,bA->A", [(2, 3), (3, 2)]),
    "spaces": (" ij , jk -> ki ", [(2, 3), (3, 2)]),
}


def _data(shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s) for s in shapes]


def _tensors(datas, device, requires_grad=False):
    return [xpgrad.tensor(d, dtype=F64, device=device, requires_grad=requires_grad) for d in datas]


def _fn(equation):
    return lambda *xs: einsum(equation, *xs)


CASES = pytest.mark.parametrize("equation, shapes", list(EQUATIONS.values()), ids=list(EQUATIONS))


# ---------------------------------------------------------------------- values


@CASES
def test_values_match_numpy(equation, shapes, device):
    datas = _data(shapes)
    out = einsum(equation, *_tensors(datas, device))
    assert_close(out, np.einsum(equation, *datas), dtype=F64, device=device)


def test_operands_as_one_list_or_tuple(device):
    datas = _data([(2, 3), (3, 4)])
    a, b = _tensors(datas, device)
    want = datas[0] @ datas[1]
    assert_close(einsum("ij,jk->ik", [a, b]), want, dtype=F64, device=device)
    assert_close(einsum("ij,jk->ik", (a, b)), want, dtype=F64, device=device)


def test_ellipsis_left_out_of_the_output_is_summed(device):
    # PyTorch's reading (NumPy refuses the equation): the ellipsis' axes are summed over.
    (data,) = _data([(4, 2, 3)])
    out = einsum("...ij->ij", *_tensors([data], device))
    assert_close(out, data.sum(axis=0), dtype=F64, device=device)


def test_length_one_diagonal_broadcasts(device):
    # A repeated letter of length 1 in one operand against length 3 in another: the
    # 1x1 diagonal broadcasts (gradient summed back into the one element).
    a, b = _tensors([[[2.0]], [1.0, 2.0, 3.0]], device, requires_grad=True)
    out = einsum("ii,i->i", a, b)
    assert_close(out, [2.0, 4.0, 6.0], dtype=F64, device=device)
    out.sum().backward()
    assert_close(a.grad, [[6.0]], dtype=F64, device=device)
    assert_close(b.grad, [2.0, 2.0, 2.0], dtype=F64, device=device)


def test_mixed_dtypes_promote_and_gradients_keep_each_dtype(device):
    a = xpgrad.tensor([[1.0, 2.0]], dtype=xpgrad.float32, device=device, requires_grad=True)
    b = xpgrad.tensor([[3.0], [4.0]], dtype=F64, device=device, requires_grad=True)
    out = einsum("ij,jk->ik", a, b)
    assert_close(out, [[11.0]], dtype=F64, device=device)
    out.backward(xpgrad.ones_like(out))
    assert_close(a.grad, [[3.0, 4.0]], dtype=xpgrad.float32, device=device)
    assert_close(b.grad, [[1.0], [2.0]], dtype=F64, device=device)


@pytest.mark.parametrize("equation", ["ij->ij", "ij->ji", "ii->i", "->"])
def test_result_has_memory_of_its_own(equation, device):
    # Where nothing is summed a backend's einsum may answer a view; writing into the
    # result must not change the operand.
    data = np.arange(9.0).reshape(3, 3) if equation != "->" else np.array(2.0)
    (x,) = _tensors([data], device)
    out = einsum(equation, x)
    out.add_(1.0)
    assert_close(x, data, dtype=F64, device=device)
    assert_close(out, np.einsum(equation, data) + 1.0, dtype=F64, device=device)


# ---------------------------------------------------------------------- gradients


@CASES
@pytest.mark.xpgrad_backend_marks(dask=pytest.mark.slow)
def test_gradients_first_and_second_order(equation, shapes, device):
    xpgrad.testing.check_grads(_fn(equation), *_tensors(_data(shapes), device, requires_grad=True))


def test_gradient_of_a_matrix_product_by_hand(device):
    # d/dA sum(A @ B) = ones @ B.T, d/dB = A.T @ ones: no finite differences involved.
    da, db = _data([(2, 3), (3, 4)])
    a, b = _tensors([da, db], device, requires_grad=True)
    einsum("ij,jk->ik", a, b).sum().backward()
    assert_close(a.grad, np.ones((2, 4)) @ db.T, dtype=F64, device=device)
    assert_close(b.grad, da.T @ np.ones((2, 4)), dtype=F64, device=device)


def test_gradient_on_the_diagonal_only(device):
    x = xpgrad.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=F64, device=device, requires_grad=True)
    einsum("ii->i", x).backward(xpgrad.tensor([5.0, 7.0], dtype=F64, device=device))
    assert_close(x.grad, [[5.0, 0.0], [0.0, 7.0]], dtype=F64, device=device)


def test_complex_gradients_follow_pytorchs_convention(device):
    rng = np.random.default_rng(3)
    a = (rng.standard_normal((2, 3)) + 1j * rng.standard_normal((2, 3))).tolist()
    b = (rng.standard_normal((3, 2)) + 1j * rng.standard_normal((3, 2))).tolist()
    complex_gradient_check(_fn("ij,jk->ik"), (a, b), device)
    complex_gradient_check(_fn("ii,ij->j"), ([[1 + 2j, 3j], [-1j, 2 - 1j]], [[1 - 1j], [2 + 1j]]), device)


# ---------------------------------------------------------------------- forward mode


@CASES
@pytest.mark.xpgrad_backend_marks(dask=pytest.mark.slow)
def test_jvp_matches_the_jacobian_from_reverse_mode(equation, shapes, device):
    xs = _tensors(_data(shapes), device)
    ts = _tensors(_data(shapes, seed=1), device)
    out, tangent = xpgrad.func.jvp(_fn(equation), tuple(xs), tuple(ts))
    jacobians = xpgrad.func.jacrev(_fn(equation), argnums=tuple(range(len(xs))))(*xs)
    want = sum(np.tensordot(values(j).reshape(tuple(out.shape) + tuple(x.shape)), values(t), axes=x.ndim)
               for j, x, t in zip(jacobians, xs, ts))
    assert_close(tangent, want, dtype=F64, device=device)


# ---------------------------------------------------------------------- against PyTorch


@CASES
def test_values_and_gradients_match_torch(equation, shapes, device):
    torch = pytest.importorskip("torch")
    datas = _data(shapes)
    xs = _tensors(datas, device, requires_grad=True)
    ts = [torch.tensor(d, dtype=torch.float64, requires_grad=True) for d in datas]
    out, want = einsum(equation, *xs), torch.einsum(equation, *ts)
    assert_close(out, want.detach().numpy(), dtype=F64, device=device)
    w = np.random.default_rng(2).standard_normal(tuple(want.shape))
    out.backward(xpgrad.tensor(w, dtype=F64, device=device))
    want.backward(torch.tensor(w))
    for x, t in zip(xs, ts):
        assert_close(x.grad, t.grad.numpy(), dtype=F64, device=device)


# ---------------------------------------------------------------------- the generic path


@pytest.fixture
def generic(monkeypatch):
    """NumPy's einsum hidden from the op: it takes the array-API-only path."""
    monkeypatch.setattr(einsum_op, "_native", lambda xp: None)


@CASES
def test_generic_path_matches_numpy_einsum(equation, shapes, generic):
    datas = _data(shapes)
    xs = _tensors(datas, "cpu", requires_grad=True)
    assert_close(einsum(equation, *xs), np.einsum(equation, *datas), dtype=F64, device="cpu")
    xpgrad.testing.check_grads(_fn(equation), *xs)


def test_generic_path_with_empty_axes(generic):
    datas = [np.zeros((2, 0)), np.zeros((0, 3))]
    out = einsum("ij,jk->ik", *_tensors(datas, "cpu"))
    assert_close(out, np.zeros((2, 3)), dtype=F64, device="cpu")


def test_backend_einsum_where_the_namespace_has_one(device):
    xp = xpgrad.tensor([1.0], device=device).device.xp
    found = einsum_op._native(xp)
    if device.startswith("array_api_strict"):
        assert found is None  # the standard has no einsum: the generic path
    else:
        assert found[0] is xp.einsum


# ---------------------------------------------------------------------- errors

ERRORS = {
    "fewer-operands": ("ij,jk->ik", [(2, 3)],
                       "einsum(): fewer operands were provided than specified in the equation: it has subscripts "
                       "for 2 operand(s), 1 were given (equation 'ij,jk->ik')"),
    "more-operands": ("ij->ij", [(2, 3), (3,)],
                      "einsum(): more operands were provided than specified in the equation: it has subscripts "
                      "for 1 operand(s), 2 were given (equation 'ij->ij')"),
    "too-many-subscripts": ("ijk->i", [(2, 3)],
                            "einsum(): the number of subscripts in the equation (3) does not match the number of "
                            "dimensions (2) for operand 0 and no ellipsis was given (equation 'ijk->i')"),
    "too-few-subscripts": ("i,j", [(2, 3), (2,)],
                           "einsum(): the number of subscripts in the equation (1) does not match the number of "
                           "dimensions (2) for operand 0 and no ellipsis was given (equation 'i,j')"),
    "ellipsis-too-many": ("...ijk", [(2, 3)],
                          "einsum(): the number of subscripts in the equation (3) is more than the number of "
                          "dimensions (2) for operand 0 (equation '...ijk')"),
    "size-mismatch": ("ij,jk->ik", [(2, 3), (4, 5)],
                      "einsum(): subscript j has size 4 for operand 1 which does not broadcast with previously "
                      "seen size 3 (equation 'ij,jk->ik')"),
    "diagonal-size-mismatch": ("ii->i", [(2, 3)],
                               "einsum(): subscript i is repeated for operand 0 but the sizes don't match, 2 != 3 "
                               "(equation 'ii->i')"),
    "output-not-in-input": ("ij->k", [(2, 3)],
                            "einsum(): output subscript k does not appear in the equation for any input operand "
                            "(equation 'ij->k')"),
    "output-repeated": ("ij->ii", [(2, 3)],
                        "einsum(): output subscript i appears more than once in the output (equation 'ij->ii')"),
    "invalid-character": ("i1->i", [(2, 3)],
                          "einsum(): invalid subscript '1' given at index 1 in the equation string, subscripts must "
                          "be in [a-zA-Z] (or an ellipsis '...') (equation 'i1->i')"),
    "invalid-in-output": ("ij->i_", [(2, 3)],
                          "einsum(): invalid subscript '_' given at index 5 in the equation string, subscripts must "
                          "be in [a-zA-Z] (or an ellipsis '...') (equation 'ij->i_')"),
    "lone-dot": ("i.j", [(2, 3)],
                 "einsum(): found '.' for operand 0 that is not part of an ellipsis '...' at index 1 "
                 "(equation 'i.j')"),
    "two-ellipses": ("...i...", [(2, 3)],
                     "einsum(): found more than one ellipsis '...' for operand 0; each operand and the output may "
                     "have one (equation '...i...')"),
    "two-arrows": ("i->i->i", [(2,)],
                   "einsum(): '->' appears more than once; an equation has one output (equation 'i->i->i')"),
    "comma-in-output": ("i,j->i,j", [(2,), (3,)],
                        "einsum(): the output (after '->') has ',' in it; an einsum has one output "
                        "(equation 'i,j->i,j')"),
}


@pytest.mark.parametrize("equation, shapes, message", list(ERRORS.values()), ids=list(ERRORS))
def test_errors_name_the_equation_and_the_mistake(equation, shapes, message, device):
    xs = _tensors(_data(shapes), device)
    with pytest.raises(ValueError, match=re.escape(message) + "$"):
        einsum(equation, *xs)


def test_too_many_distinct_subscripts():
    # 51 letters and an ellipsis of two axes need 53 letters.
    letters = (string.ascii_uppercase + string.ascii_lowercase)[:51]
    x = xpgrad.zeros((1,) * 53, dtype=F64)
    with pytest.raises(ValueError, match=re.escape(
            "einsum(): it needs 53 distinct subscripts (its letters and 2 for the ellipsis), more than the 52 "
            "letters [a-zA-Z]")):
        einsum("..." + letters, x)


def test_operands_must_be_tensors_and_the_equation_a_string():
    a = xpgrad.ones((2, 2), dtype=F64)
    with pytest.raises(TypeError, match=re.escape(
            "einsum() takes xpgrad Tensors as operands, got ndarray for operand 1; wrap the data with "
            "xpgrad.tensor(...)")):
        einsum("ij,jk", a, np.ones((2, 2)))
    with pytest.raises(TypeError, match=re.escape(
            "einsum() takes the equation first, as a string, got Tensor; the sublist form "
            "einsum(op0, [0, 1], op1, [1, 2]) is not supported")):
        einsum(a, [0, 1])
    with pytest.raises(ValueError, match=re.escape("einsum(): must provide at least one operand")):
        einsum("->")
