"""xpgrad.nn.functional on every backend: each function's values and gradients against
torch.nn.functional's on the same float64 inputs (reductions, class weights,
ignore_index, label_smoothing, pos_weight, logits of +-1e4), against formulas written
out by hand without torch, second order by finite differences, dropout's statistics and
reproducibility, and the errors in PyTorch's words."""
import math
import re

import numpy as np
import pytest

import xpgrad
import xpgrad.nn.functional as F

from helpers import assert_close

F64 = xpgrad.float64

X = [[0.3, -1.2, 2.0, 0.0], [1e4, -1e4, 0.7, -0.4], [-2.5, 0.1, 25.0, 1.5]]
LOGITS = [[2.0, 0.5, -1.0, 0.3], [1e4, -1e4, 0.0, 2.0], [-0.2, 0.4, 1.1, -3.0], [0.0, 0.0, 0.0, 0.0],
          [1.5, -0.5, 0.25, 0.75]]
TARGET = [0, 1, 3, 2, 1]
CLASS_WEIGHT = [0.5, 2.0, 1.0, 1.5]
PROBS = [[0.1, 0.2, 0.3, 0.4], [0.0, 1.0, 0.0, 0.0], [0.25, 0.25, 0.25, 0.25], [0.7, 0.1, 0.1, 0.1],
         [0.0, 0.5, 0.5, 0.0]]
PRED = [[0.5, -1.0, 2.0], [3.0, 0.2, -0.4]]
TRUE = [[0.0, -0.5, 2.5], [0.5, 0.2, 1.0]]
SPATIAL = [[[0.5, -1.0], [2.0, 0.1], [0.0, 1.0]], [[1.0, 1.0], [-0.3, 0.2], [0.4, -2.0]]]  # (N=2, C=3, d=2)
PROB_IN = [[0.9, 0.2, 0.5], [0.01, 0.7, 0.35]]
BINARY = [[1.0, 0.0, 1.0], [0.0, 1.0, 0.3]]
BIG_LOGITS = [[1e4, -1e4, 0.5], [-1e4, 1e4, -2.0]]
LOG_Q = [[-1.2, -0.4, -2.3], [-0.7, -1.6, -1.1]]
P = [[0.2, 0.5, 0.3], [0.6, 0.0, 0.4]]
P_POSITIVE = [[0.2, 0.5, 0.3], [0.6, 0.1, 0.3]]  # at a target of 0, PyTorch's gradient for it is NaN


def t(data, device, grad=False, dtype=F64):
    return xpgrad.tensor(data, dtype=dtype, device=device, requires_grad=grad)


def idx(data, device):
    return xpgrad.tensor(data, dtype=xpgrad.int64, device=device)


# ---------------------------------------------------------------------- the oracle


class In:
    """One input of a case: ``data``, float64 unless ``integer``, requiring grad if ``grad``."""

    def __init__(self, data, grad=False, integer=False):
        self.data, self.grad, self.integer = data, grad, integer

    def xpgrad(self, device):
        dtype = xpgrad.int64 if self.integer else F64
        return xpgrad.tensor(self.data, dtype=dtype, device=device, requires_grad=self.grad)

    def torch(self, torch):
        dtype = torch.int64 if self.integer else torch.float64
        return torch.tensor(self.data, dtype=dtype, requires_grad=self.grad)


def g(data):
    return In(data, grad=True)


def c(data):
    return In(data)


def i(data):
    return In(data, integer=True)


def against_torch(device, name, args, kwargs=None):
    """``F.name(*args, **kwargs)`` by xpgrad on ``device`` and by PyTorch: the values, and
    the gradients of each input requiring grad for a fixed random cotangent."""
    torch = pytest.importorskip("torch")
    kwargs = kwargs or {}

    def build(make):
        return ([make(a) if isinstance(a, In) else a for a in args],
                {k: make(v) if isinstance(v, In) else v for k, v in kwargs.items()})

    xargs, xkwargs = build(lambda a: a.xpgrad(device))
    targs, tkwargs = build(lambda a: a.torch(torch))
    out = getattr(F, name)(*xargs, **xkwargs)
    expected = getattr(torch.nn.functional, name)(*targs, **tkwargs)
    assert_close(out, expected.detach().numpy(), dtype="float64", device=device)
    xs = [v for v in [*xargs, *xkwargs.values()] if isinstance(v, xpgrad.Tensor) and v.requires_grad]
    ts = [v for v in [*targs, *tkwargs.values()] if isinstance(v, torch.Tensor) and v.requires_grad]
    cot = np.random.default_rng(0).standard_normal(tuple(expected.shape))
    grads = xpgrad.autograd.grad((out * t(cot.tolist(), device)).sum(), xs)
    expected_grads = torch.autograd.grad((expected * torch.tensor(cot)).sum(), ts)
    for got, want in zip(grads, expected_grads):
        assert_close(got, want.numpy(), dtype="float64", device=device)
    return out


ACTIVATIONS = [
    ("relu", {}), ("leaky_relu", {}), ("leaky_relu", {"negative_slope": 0.2}), ("elu", {}),
    ("elu", {"alpha": 1.5}), ("gelu", {"approximate": "tanh"}), ("silu", {}), ("softplus", {}),
    ("softplus", {"beta": 2.0, "threshold": 5.0}), ("sigmoid", {}), ("tanh", {}), ("softmax", {"dim": 1}),
    ("softmax", {"dim": 0}), ("log_softmax", {"dim": 1}), ("log_softmax", {"dim": -2}), ("normalize", {}),
    ("normalize", {"p": 1.0, "dim": 0}),
]


@pytest.mark.parametrize(("name", "kwargs"), ACTIVATIONS, ids=[f"{n}-{k}" for n, k in ACTIVATIONS])
def test_activations_match_torch_at_ordinary_and_huge_inputs(device, name, kwargs):
    # X holds 0 (the kinks' gradient conventions), +-1e4 (no overflow, finite gradients)
    out = against_torch(device, name, [g(X)], kwargs)
    assert bool(xpgrad.xp.all(xpgrad.xp.isfinite(out)))


def test_gelu_exact_matches_torch(device):
    pytest.importorskip("xpgrad.special")
    against_torch(device, "gelu", [g(X)])
    against_torch(device, "gelu", [g(X)], {"approximate": "none"})


def test_linear_matches_torch(device):
    x = [[[0.5, -1.0, 2.0], [1.0, 0.0, 0.3]], [[0.2, 0.2, -0.7], [1.5, -2.0, 0.1]]]
    w = [[0.1, 0.2, 0.3], [-0.5, 0.4, 1.0]]
    against_torch(device, "linear", [g(x), g(w), g([0.5, -0.25])])
    against_torch(device, "linear", [g(x), g(w)])
    against_torch(device, "linear", [g(x[0]), g(w[0])])
    against_torch(device, "linear", [g(x[0]), g(w), g(2.0)])


LOSSES = [
    ("mse_loss", [g(PRED), g(TRUE)], {}),
    ("mse_loss", [g(PRED), c(TRUE)], {"reduction": "sum"}),
    ("mse_loss", [g(PRED), g(TRUE)], {"reduction": "none"}),
    ("mse_loss", [g(PRED), c(TRUE)], {"weight": c([[1.0, 2.0, 0.5], [0.0, 1.0, 3.0]])}),
    ("l1_loss", [g(PRED), g(TRUE)], {}),
    ("l1_loss", [g(PRED), c(TRUE)], {"reduction": "none", "weight": c([[1.0, 2.0, 0.5], [0.0, 1.0, 3.0]])}),
    ("l1_loss", [g(PRED), c(TRUE)], {"weight": c([[1.0, 2.0, 0.5], [0.0, 1.0, 3.0]])}),
    ("smooth_l1_loss", [g(PRED), g(TRUE)], {}),
    ("smooth_l1_loss", [g(PRED), c(TRUE)], {"beta": 0.6, "reduction": "none"}),
    ("smooth_l1_loss", [g(PRED), c(TRUE)], {"beta": 0.0, "reduction": "sum"}),
    ("huber_loss", [g(PRED), g(TRUE)], {}),
    ("huber_loss", [g(PRED), c(TRUE)], {"delta": 0.6, "reduction": "none"}),
    ("huber_loss", [g(PRED), c(TRUE)], {"delta": 2.0, "weight": c([[1.0, 2.0, 0.5], [0.0, 1.0, 3.0]])}),
    ("nll_loss", [g(LOGITS), i(TARGET)], {}),
    ("nll_loss", [g(LOGITS), i(TARGET)], {"reduction": "sum"}),
    ("nll_loss", [g(LOGITS), i(TARGET)], {"reduction": "none", "weight": c(CLASS_WEIGHT)}),
    ("nll_loss", [g(LOGITS), i(TARGET)], {"weight": c(CLASS_WEIGHT)}),
    ("nll_loss", [g(LOGITS), i([0, -100, 3, -100, 1])], {"weight": c(CLASS_WEIGHT)}),
    ("nll_loss", [g(LOGITS), i([0, 2, 3, 2, 1])], {"ignore_index": 2, "reduction": "none"}),
    ("nll_loss", [g(SPATIAL), i([[0, 2], [1, 1]])], {"weight": c([1.0, 0.5, 2.0])}),
    ("nll_loss", [g(LOGITS[0]), i(2)], {}),
    ("cross_entropy", [g(LOGITS), i(TARGET)], {}),
    ("cross_entropy", [g(LOGITS), i(TARGET)], {"reduction": "sum"}),
    ("cross_entropy", [g(LOGITS), i(TARGET)], {"reduction": "none"}),
    ("cross_entropy", [g(LOGITS), i(TARGET)], {"weight": c(CLASS_WEIGHT)}),
    ("cross_entropy", [g(LOGITS), i([0, -100, 3, 2, -100])], {}),
    ("cross_entropy", [g(LOGITS), i([0, 1, 3, 1, 1])], {"ignore_index": 1, "weight": c(CLASS_WEIGHT)}),
    ("cross_entropy", [g(LOGITS), i(TARGET)], {"label_smoothing": 0.1}),
    ("cross_entropy", [g(LOGITS), i([0, -100, 3, 2, 1])], {"label_smoothing": 0.2, "weight": c(CLASS_WEIGHT)}),
    ("cross_entropy", [g(LOGITS), i([0, -100, 3, 2, 1])], {"label_smoothing": 0.3, "reduction": "none",
                                                            "weight": c(CLASS_WEIGHT)}),
    ("cross_entropy", [g(LOGITS), i([0, -100, 3, 2, 1])], {"label_smoothing": 0.3, "reduction": "sum"}),
    ("cross_entropy", [g(SPATIAL), i([[0, 2], [1, -100]])], {"label_smoothing": 0.1, "weight": c([1.0, 0.5, 2.0])}),
    ("cross_entropy", [g(LOGITS[1]), i(0)], {}),
    ("cross_entropy", [g(LOGITS[2]), i(1)], {"reduction": "none", "label_smoothing": 0.5}),
    ("cross_entropy", [g(LOGITS), g(PROBS)], {}),
    ("cross_entropy", [g(LOGITS), c(PROBS)], {"reduction": "none", "weight": c(CLASS_WEIGHT)}),
    ("cross_entropy", [g(LOGITS), c(PROBS)], {"reduction": "sum", "label_smoothing": 0.2}),
    ("cross_entropy", [g(LOGITS), g(PROBS)], {"weight": c(CLASS_WEIGHT), "label_smoothing": 0.1}),
    ("cross_entropy", [g(SPATIAL), c([[[0.5, 0.0], [0.5, 0.0], [0.0, 1.0]], [[1.0, 0.2], [0.0, 0.3], [0.0, 0.5]]])],
     {}),
    ("binary_cross_entropy", [g(PROB_IN), g(BINARY)], {}),
    ("binary_cross_entropy", [g(PROB_IN), c(BINARY)], {"reduction": "none", "weight": c([[1.0, 2.0, 0.5],
                                                                                         [0.0, 1.0, 3.0]])}),
    ("binary_cross_entropy", [g(PROB_IN), c(BINARY)], {"reduction": "sum", "weight": c([2.0, 1.0, 0.5])}),
    ("binary_cross_entropy_with_logits", [g(BIG_LOGITS), g(BINARY)], {}),
    ("binary_cross_entropy_with_logits", [g(BIG_LOGITS), c(BINARY)], {"reduction": "none"}),
    ("binary_cross_entropy_with_logits", [g(BIG_LOGITS), c(BINARY)], {"pos_weight": c([3.0, 0.5, 2.0])}),
    ("binary_cross_entropy_with_logits", [g(BIG_LOGITS), g(BINARY)],
     {"reduction": "sum", "weight": c([[1.0, 2.0, 0.5], [0.0, 1.0, 3.0]]), "pos_weight": c([3.0, 0.5, 2.0])}),
    ("binary_cross_entropy_with_logits", [g(PRED), c(BINARY)], {"weight": c([2.0, 1.0, 0.5])}),
    ("kl_div", [g(LOG_Q), c(P)], {"reduction": "batchmean"}),
    ("kl_div", [g(LOG_Q), g(P_POSITIVE)], {"reduction": "sum"}),
    ("kl_div", [g(LOG_Q), c(P)], {"reduction": "sum"}),
    ("kl_div", [g(LOG_Q), c(P)], {"reduction": "none"}),
    ("kl_div", [g(LOG_Q), g(LOG_Q[::-1])], {"reduction": "batchmean", "log_target": True}),
    ("kl_div", [g(LOG_Q), g(LOG_Q[::-1])], {"reduction": "none", "log_target": True}),
]


def _loss_id(case):
    name, _, kwargs = case
    return name + "-" + "-".join(f"{k}={v.data if isinstance(v, In) else v}" for k, v in kwargs.items())


@pytest.mark.parametrize(("name", "args", "kwargs"), LOSSES, ids=[_loss_id(case) for case in LOSSES])
def test_losses_match_torch(device, name, args, kwargs):
    out = against_torch(device, name, args, kwargs)
    assert bool(xpgrad.xp.all(xpgrad.xp.isfinite(out)))


def test_kl_div_mean_warns_and_matches_torch(device):
    with pytest.warns(UserWarning, match="'batchmean' divides only by the batch size"):
        against_torch(device, "kl_div", [g(LOG_Q), c(P)])


def test_binary_cross_entropy_clamps_its_logs_at_minus_100_as_torch(device):
    torch = pytest.importorskip("torch")
    x, y = [0.0, 1.0, 0.0, 1.0, 1e-50], [1.0, 0.0, 0.0, 1.0, 1.0]
    out = F.binary_cross_entropy(t(x, device), t(y, device), reduction="none")
    expected = torch.nn.functional.binary_cross_entropy(torch.tensor(x, dtype=torch.float64),
                                                        torch.tensor(y, dtype=torch.float64), reduction="none")
    assert_close(out, expected.numpy())
    assert out.tolist() == [100.0, 100.0, 0.0, 0.0, 100.0]


def test_nll_loss_with_every_target_ignored_is_nan_as_torch_with_zero_gradient(device):
    torch = pytest.importorskip("torch")
    x = t(LOGITS[:2], device, grad=True)
    out = F.nll_loss(x, idx([-100, -100], device))
    assert math.isnan(float(out))
    assert math.isnan(float(torch.nn.functional.nll_loss(torch.tensor(LOGITS[:2]), torch.tensor([-100, -100]))))
    out.backward()
    assert_close(x.grad, np.zeros((2, 4)))


# ---------------------------------------------------------------------- by hand, without torch


def _sigmoid(v):
    return 1 / (1 + math.exp(-v)) if v >= 0 else math.exp(v) / (1 + math.exp(v))


def test_activations_by_their_formulas(device):
    v = [-3.0, -0.5, 0.0, 0.8, 4.0]
    x = t(v, device)
    phi = [0.5 * (1 + math.tanh(math.sqrt(2 / math.pi) * (a + 0.044715 * a ** 3))) for a in v]
    expected = {
        F.relu(x): [max(a, 0.0) for a in v],
        F.leaky_relu(x, 0.1): [a if a > 0 else 0.1 * a for a in v],
        F.elu(x, 2.0): [a if a > 0 else 2.0 * math.expm1(a) for a in v],
        F.gelu(x, approximate="tanh"): [a * p for a, p in zip(v, phi)],
        F.silu(x): [a * _sigmoid(a) for a in v],
        F.softplus(x): [math.log1p(math.exp(a)) for a in v],
        F.softplus(x, beta=2.0, threshold=1.0): [a if 2 * a > 1 else math.log1p(math.exp(2 * a)) / 2 for a in v],
        F.sigmoid(x): [_sigmoid(a) for a in v],
        F.tanh(x): [math.tanh(a) for a in v],
        F.softmax(x, dim=0): [math.exp(a) / sum(math.exp(b) for b in v) for a in v],
        F.log_softmax(x, dim=0): [a - math.log(sum(math.exp(b) for b in v)) for a in v],
        F.normalize(x, dim=0): [a / math.sqrt(sum(b * b for b in v)) for a in v],
        F.normalize(x, p=1.0, dim=0): [a / sum(abs(b) for b in v) for a in v],
    }
    for out, want in expected.items():
        assert_close(out, want, device=device, dtype="float64")
    w, b = [[1.0, 0.0, 2.0, -1.0, 0.5], [0.0, 1.0, 0.0, 1.0, 0.0]], [0.25, -0.25]
    want = [sum(p * q for p, q in zip(v, row)) + bias for row, bias in zip(w, b)]
    assert_close(F.linear(x, t(w, device), t(b, device)), want)


def test_activation_gradients_by_hand_at_huge_and_zero_inputs(device):
    x = t([-1e4, 0.0, 1e4], device, grad=True)
    for fn, want in [
        (F.softplus, [0.0, 0.5, 1.0]),
        (F.elu, [0.0, 1.0, 1.0]),
        (F.silu, [0.0, 0.5, 1.0]),
        (F.leaky_relu, [0.01, 0.01, 1.0]),
        (F.relu, [0.0, 0.0, 1.0]),
        (F.sigmoid, [0.0, 0.25, 0.0]),
    ]:
        (grad,) = xpgrad.autograd.grad(fn(x).sum(), [x])
        assert_close(grad, want, atol=0, rtol=1e-15)


def test_regression_losses_by_their_formulas(device):
    p, y = [0.5, -1.0, 2.0, 3.0], [0.0, -0.5, 2.5, 0.5]
    d = [a - b for a, b in zip(p, y)]  # 0.5, -0.5, -0.5, 2.5
    x, target = t(p, device, grad=True), t(y, device)
    assert_close(F.mse_loss(x, target), sum(e * e for e in d) / 4)
    assert_close(F.l1_loss(x, target, reduction="sum"), sum(abs(e) for e in d))
    weight = [1.0, 2.0, 0.0, 1.0]
    assert_close(F.mse_loss(x, target, weight=t(weight, device)), sum(w * e * e for w, e in zip(weight, d)) / 4.0)
    assert_close(F.smooth_l1_loss(x, target, beta=0.6, reduction="none"),
                 [0.5 * e * e / 0.6 if abs(e) < 0.6 else abs(e) - 0.3 for e in d])
    assert_close(F.huber_loss(x, target, delta=2.0, reduction="none"),
                 [0.5 * e * e if abs(e) < 2.0 else 2.0 * (abs(e) - 1.0) for e in d])
    assert_close(F.huber_loss(x, target, delta=2.0, weight=t(weight, device)),
                 sum(w * (0.5 * e * e if abs(e) < 2.0 else 2.0 * (abs(e) - 1.0)) for w, e in zip(weight, d)) / 4)
    (grad,) = xpgrad.autograd.grad(F.mse_loss(x, target, reduction="sum"), [x])
    assert_close(grad, [2 * e for e in d])


def _log_softmax_rows(rows):
    return [[a - math.log(sum(math.exp(b) for b in row)) for a in row] for row in rows]


def test_classification_losses_by_their_formulas(device):
    rows = [[2.0, 0.5, -1.0], [0.0, 1.0, 0.0], [-0.5, 0.3, 1.2]]
    target, weight = [0, 2, -100], [0.5, 2.0, 1.0]
    logp = _log_softmax_rows(rows)
    x = t(rows, device, grad=True)
    picked = [-logp[0][0] * 0.5, -logp[1][2] * 1.0]  # the third target is ignored
    assert_close(F.cross_entropy(x, idx(target, device), weight=t(weight, device)), sum(picked) / 1.5)
    assert_close(F.nll_loss(t(logp, device), idx(target, device), weight=t(weight, device), reduction="none"),
                 picked + [0.0])
    # label smoothing s: (1 - s) * nll + s / C * (the weighted sum of -log p over the classes, normalized alike)
    s = 0.3
    smooth = [-sum(w * lp for w, lp in zip(weight, logp[n])) for n in (0, 1)]
    assert_close(F.cross_entropy(x, idx(target, device), weight=t(weight, device), label_smoothing=s),
                 (1 - s) * sum(picked) / 1.5 + s / 3 * sum(smooth) / 1.5)
    # class probabilities: -sum(p log q) per sample, the mean over the samples
    probs = [[0.2, 0.3, 0.5], [1.0, 0.0, 0.0], [0.0, 0.5, 0.5]]
    per_sample = [-sum(q * lp for q, lp in zip(pr, row)) for pr, row in zip(probs, logp)]
    assert_close(F.cross_entropy(x, t(probs, device)), sum(per_sample) / 3)
    # the gradient of the mean cross-entropy: (softmax - one_hot) / N
    (grad,) = xpgrad.autograd.grad(F.cross_entropy(x, idx([0, 2, 1], device)), [x])
    want = [[(math.exp(lp) - (k == tk)) / 3 for k, lp in enumerate(row)] for row, tk in zip(logp, [0, 2, 1])]
    assert_close(grad, want)


def test_binary_losses_by_their_formulas_at_huge_logits(device):
    z, y = [1e4, -1e4, 1e4, 0.5], [0.0, 1.0, 1.0, 1.0]
    x = t(z, device, grad=True)
    loss = F.binary_cross_entropy_with_logits(x, t(y, device), reduction="none")
    assert_close(loss, [1e4, 1e4, 0.0, math.log1p(math.exp(-0.5))], rtol=1e-15, atol=0)
    (grad,) = xpgrad.autograd.grad(loss.sum(), [x])
    assert_close(grad, [_sigmoid(a) - b for a, b in zip(z, y)], rtol=1e-15, atol=1e-300)
    pos = F.binary_cross_entropy_with_logits(x, t(y, device), pos_weight=t([3.0], device), reduction="none")
    assert_close(pos, [1e4, 3e4, 0.0, 3 * math.log1p(math.exp(-0.5))], rtol=1e-15, atol=0)
    q = [0.9, 0.2, 1e-60]
    assert_close(F.binary_cross_entropy(t(q, device), t([1.0, 0.0, 1.0], device), reduction="sum"),
                 -math.log(0.9) - math.log(0.8) + 100.0)


def test_kl_div_by_its_formula(device):
    q, p = [[0.5, 0.5, 0.0], [0.1, 0.2, 0.7]], [[0.9, 0.1, 0.0], [0.0, 0.5, 0.5]]
    logq = t([[math.log(a) if a else -50.0 for a in row] for row in q], device, grad=True)
    terms = [[b * (math.log(b) - (math.log(a) if a else -50.0)) if b else 0.0 for a, b in zip(qr, pr)]
             for qr, pr in zip(q, p)]
    assert_close(F.kl_div(logq, t(p, device), reduction="batchmean"), sum(map(sum, terms)) / 2)
    assert_close(F.kl_div(logq, t(p, device), reduction="none"), terms)
    logp = [[math.log(b) if b else -50.0 for b in row] for row in p]
    assert_close(F.kl_div(logq, t(logp, device), reduction="none", log_target=True),
                 [[math.exp(lb) * (lb - la.item()) for la, lb in zip(ra, rb)] for ra, rb in zip(logq.detach(), logp)])


# ---------------------------------------------------------------------- second order


SMOOTH = {
    "elu": lambda x, y: F.elu(x, 1.3),
    "gelu tanh": lambda x, y: F.gelu(x, approximate="tanh"),
    "silu": lambda x, y: F.silu(x),
    "softplus": lambda x, y: F.softplus(x, beta=1.5),
    "softmax": lambda x, y: F.softmax(x, dim=1),
    "log_softmax": lambda x, y: F.log_softmax(x, dim=0),
    "normalize": lambda x, y: F.normalize(x),
    "linear": lambda x, y: F.linear(x, y),
    "mse_loss": lambda x, y: F.mse_loss(x, y),
    "smooth_l1_loss": lambda x, y: F.smooth_l1_loss(x, y, beta=3.0),
    "huber_loss": lambda x, y: F.huber_loss(x, y, delta=3.0, reduction="sum"),
    "cross_entropy": lambda x, y: F.cross_entropy(x, xpgrad.tensor([0, 2], device=x.device),
                                                  weight=xpgrad.tensor([1.0, 2.0, 0.5], dtype=F64, device=x.device),
                                                  label_smoothing=0.2),
    "cross_entropy probabilities": lambda x, y: F.cross_entropy(x, F.softmax(y, dim=1)),
    "binary_cross_entropy": lambda x, y: F.binary_cross_entropy(F.sigmoid(x), F.sigmoid(y)),
    "binary_cross_entropy_with_logits": lambda x, y: F.binary_cross_entropy_with_logits(
        x, F.sigmoid(y), pos_weight=xpgrad.tensor([2.0, 0.5, 1.0], dtype=F64, device=x.device)),
    "kl_div": lambda x, y: F.kl_div(F.log_softmax(x, dim=1), F.softmax(y, dim=1), reduction="batchmean"),
}


@pytest.mark.xpgrad_backend_marks(dask=pytest.mark.slow)
@pytest.mark.parametrize("name", sorted(SMOOTH))
def test_second_order_by_finite_differences(device, name):
    x = t([[0.3, -1.2, 0.8], [1.1, 0.4, -0.6]], device, grad=True)
    y = t([[0.5, 0.1, -0.9], [-0.2, 1.3, 0.7]], device, grad=True)
    xpgrad.testing.check_grads(SMOOTH[name], x, y)


def test_gelu_exact_second_order(device):
    pytest.importorskip("xpgrad.special")
    xpgrad.testing.check_grads(lambda x: F.gelu(x), t([-2.0, -0.3, 0.0, 0.7, 1.9], device, grad=True))


# ---------------------------------------------------------------------- dropout


def test_dropout_statistics_and_scaling(device):
    n, p = 20000, 0.3
    x = t(np.linspace(1.0, 2.0, n).tolist(), device, grad=True)
    out = F.dropout(x, p=p)
    got, xs = np.array(out.tolist()), np.linspace(1.0, 2.0, n)
    dropped = got == 0.0
    # the share dropped is p within 5 standard deviations, sqrt(p (1 - p) / n) = 0.0032
    assert abs(dropped.mean() - p) < 0.017
    np.testing.assert_array_equal(got[~dropped], xs[~dropped] * (1 / (1 - p)))
    (grad,) = xpgrad.autograd.grad(out.sum(), [x])
    np.testing.assert_array_equal(np.array(grad.tolist()), np.where(dropped, 0.0, 1 / (1 - p)))


def test_dropout_is_reproducible_under_manual_seed(device):
    x = t(np.ones(64).tolist(), device)
    xpgrad.manual_seed(7)
    first = F.dropout(x, 0.5).tolist()
    second = F.dropout(x, 0.5).tolist()
    xpgrad.manual_seed(7)
    assert F.dropout(x, 0.5).tolist() == first
    assert first != second and set(first) == {0.0, 2.0}


def test_dropout_off_is_the_identity_and_p_1_drops_everything(device):
    x = t([1.0, -2.0, 3.0], device, grad=True)
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x
    out = F.dropout(x, 1.0)
    assert out.tolist() == [0.0, 0.0, 0.0]
    (grad,) = xpgrad.autograd.grad(out.sum(), [x])
    assert grad.tolist() == [0.0, 0.0, 0.0]


# ---------------------------------------------------------------------- one_hot


def test_one_hot_values(device):
    out = F.one_hot(idx([[0, 2], [3, 1]], device))
    assert_close(out, [[[1, 0, 0, 0], [0, 0, 1, 0]], [[0, 0, 0, 1], [0, 1, 0, 0]]], dtype="int64", device=device)
    assert_close(F.one_hot(idx([1, 0], device), num_classes=3), [[0, 1, 0], [1, 0, 0]], dtype="int64")
    assert tuple(F.one_hot(idx([], device), 3).shape) == (0, 3)


def test_one_hot_matches_torch(device):
    torch = pytest.importorskip("torch")
    data = [[4, 0, 2], [1, 1, 3]]
    expected = torch.nn.functional.one_hot(torch.tensor(data), 6)
    assert_close(F.one_hot(idx(data, device), 6), expected.numpy(), dtype="int64")


@pytest.mark.parametrize(("data", "num_classes", "message"), [
    ([0, 3], 3, "Class values must be smaller than num_classes."),
    ([0, -1], 3, "Class values must be non-negative."),
    ([], -1, "Can not infer total number of classes from empty tensor."),
])
def test_one_hot_errors(device, data, num_classes, message):
    with pytest.raises(RuntimeError, match=f"^{re.escape(message)}$"):
        F.one_hot(idx(data, device), num_classes)


def test_one_hot_refuses_floats(device):
    with pytest.raises(RuntimeError, match=r"^one_hot is only applicable to index tensor of type LongTensor\.$"):
        F.one_hot(t([0.0, 1.0], device))


# ---------------------------------------------------------------------- errors


def _loss_calls(device):
    x, y = t(PRED, device), t(TRUE, device)
    logits, target = t(LOGITS, device), idx(TARGET, device)
    return {
        "mse_loss": lambda r: F.mse_loss(x, y, reduction=r),
        "l1_loss": lambda r: F.l1_loss(x, y, reduction=r),
        "smooth_l1_loss": lambda r: F.smooth_l1_loss(x, y, reduction=r),
        "huber_loss": lambda r: F.huber_loss(x, y, reduction=r),
        "nll_loss": lambda r: F.nll_loss(logits, target, reduction=r),
        "cross_entropy": lambda r: F.cross_entropy(logits, target, reduction=r),
        "binary_cross_entropy": lambda r: F.binary_cross_entropy(t(PROB_IN, device), t(BINARY, device), reduction=r),
        "binary_cross_entropy_with_logits": lambda r: F.binary_cross_entropy_with_logits(x, y, reduction=r),
        "kl_div": lambda r: F.kl_div(x, y, reduction=r),
    }


def test_an_unknown_reduction_is_refused_in_torch_words(device):
    for call in _loss_calls(device).values():
        with pytest.raises(ValueError, match="^avg is not a valid value for reduction$"):
            call("avg")
    with pytest.raises(ValueError, match="^batchmean is not a valid value for reduction$"):
        F.mse_loss(t(PRED, device), t(TRUE, device), reduction="batchmean")


def test_the_deprecated_size_average_and_reduce(device):
    x, y = t(PRED, device), t(TRUE, device)
    with pytest.warns(UserWarning, match=re.escape("please use reduction='sum' instead.")):
        total = F.mse_loss(x, y, size_average=False)
    assert_close(total, F.mse_loss(x, y, reduction="sum"))
    with pytest.warns(UserWarning, match=re.escape("please use reduction='none' instead.")):
        assert tuple(F.nll_loss(t(LOGITS, device), idx(TARGET, device), reduce=False).shape) == (5,)


@pytest.mark.parametrize(("target", "error", "message"), [
    ([0, 4, 1, 2, 3], IndexError, "Target 4 is out of bounds."),
    ([0, 1, -3, 2, 3], IndexError, "Target -3 is out of bounds."),
    ([0, 1, 2], ValueError, "Expected input batch_size (5) to match target batch_size (3)."),
    ([[0], [1], [2], [3], [0]], RuntimeError, "Expected target size [5], got [5, 1]"),
])
def test_class_index_errors_in_torch_words(device, target, error, message):
    for fn in (F.nll_loss, F.cross_entropy):
        with pytest.raises(error, match=f"^{re.escape(message)}$"):
            fn(t(LOGITS, device), idx(target, device))


def test_class_errors_in_torch_words(device):
    logits, target = t(LOGITS, device), idx(TARGET, device)
    with pytest.raises(RuntimeError, match=re.escape(
            "weight tensor should be defined either for all 4 classes or no classes but got weight tensor of "
            "shape: [3]")):
        F.cross_entropy(logits, target, weight=t([1.0, 1.0, 1.0], device))
    with pytest.raises(RuntimeError, match=r"^label_smoothing must be between 0\.0 and 1\.0\. Got: 1\.5$"):
        F.cross_entropy(logits, target, label_smoothing=1.5)
    with pytest.raises(RuntimeError, match="^ignore_index is not supported for floating point target$"):
        F.cross_entropy(logits, t(PROBS, device), ignore_index=0)
    with pytest.raises(RuntimeError, match=re.escape("class probabilities must have the input's shape (5, 4), "
                                                     "got (5, 3)")):
        F.cross_entropy(logits, t([r[:3] for r in PROBS], device))
    with pytest.raises(RuntimeError, match=re.escape("nll_loss(): target must hold integer class indices")):
        F.nll_loss(logits, t([0.0, 1.0, 2.0, 3.0, 0.0], device))
    with pytest.raises(RuntimeError, match=re.escape("Expected target size [2, 2], got [2, 3]")):
        F.nll_loss(t(SPATIAL, device), idx([[0, 1, 2], [0, 1, 2]], device))
    # a target equal to ignore_index is no error, whatever its value
    F.cross_entropy(logits, idx([0, 7, 1, 7, 2], device), ignore_index=7)


def test_binary_and_regression_errors_in_torch_words(device):
    x, y = t(PROB_IN, device), t(BINARY, device)
    with pytest.raises(RuntimeError, match="^all elements of input should be between 0 and 1$"):
        F.binary_cross_entropy(x * 2.0, y)
    with pytest.raises(ValueError, match=re.escape("Using a target size ((2, 2)) that is different to the input "
                                                   "size ((2, 3)) is deprecated.")):
        F.binary_cross_entropy(x, y[:, :2])
    with pytest.raises(ValueError, match=re.escape("Target size ((2, 2)) must be the same as input size ((2, 3))")):
        F.binary_cross_entropy_with_logits(x, y[:, :2])
    with pytest.raises(RuntimeError, match="^smooth_l1_loss does not support negative values for beta.$"):
        F.smooth_l1_loss(x, y, beta=-1.0)
    with pytest.raises(RuntimeError, match="^huber_loss does not support non-positive values for delta.$"):
        F.huber_loss(x, y, delta=0.0)
    with pytest.raises(ValueError, match="^Weights and input must have the same size.$"):
        F.mse_loss(x, y, weight=t([1.0, 2.0, 3.0], device))
    with pytest.warns(UserWarning, match=re.escape("Using a target size ((3,)) that is different to the input size "
                                                   "((2, 3)).")):
        F.mse_loss(x, t([1.0, 0.0, 1.0], device))


def test_other_errors(device):
    x = t(PRED, device)
    with pytest.raises(RuntimeError, match=re.escape("mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)")):
        F.linear(x, t(np.ones((5, 4)).tolist(), device))
    with pytest.raises(RuntimeError, match="^approximate argument must be either none or tanh.$"):
        F.gelu(x, approximate="erf")
    with pytest.raises(ValueError, match=re.escape("dropout probability has to be between 0 and 1, but got 1.5")):
        F.dropout(x, 1.5)
    for fn in (F.relu, F.leaky_relu, F.elu, F.silu, F.dropout):
        with pytest.raises(ValueError, match=re.escape(f"{fn.__name__}(): inplace=True is not supported")):
            fn(x, inplace=True)
    with pytest.raises(TypeError, match=re.escape("cross_entropy(): input must be an xpgrad Tensor, got list")):
        F.cross_entropy(LOGITS, idx(TARGET, device))
    with pytest.warns(UserWarning, match="^Implicit dimension choice for softmax has been deprecated"):
        assert_close(F.softmax(x), F.softmax(x, dim=1))
