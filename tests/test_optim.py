"""xpgrad.optim: the optimizers' trajectories against torch.optim's on every backend,
parameter groups, zero_grad, state_dict round trips, the schedulers' learning rates, and
the errors, in PyTorch's words."""
import math
import re

import numpy as np
import pytest

import xpgrad
import xpgrad.optim as optim
from xpgrad.optim import lr_scheduler

from helpers import assert_close

# The problem: a least-squares fit with a quartic term, over two parameters of different
# shapes. float64 throughout, so that xpgrad and torch agree to rounding.
X = [[1.0, 2.0, 0.5], [0.3, -1.0, 2.0], [1.5, 0.2, -0.7], [0.1, 0.4, 1.0], [-0.6, 0.9, 0.3]]
Y = [[1.0, 0.0], [0.0, 1.0], [2.0, -1.0], [0.5, 0.5], [-1.0, 0.2]]
W0 = [[0.1, 0.2], [0.3, -0.1], [0.0, 0.5]]
B0 = [0.1, -0.2]

STEPS = 50
# dask's in-place write (Array.__setitem__) walks the array's whole lazy history, so a
# run of n steps costs time quadratic in n: on dask the same checks run over 10 steps.
DASK_STEPS = 10

CASES = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.05, "momentum": 0.9}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    ("SGD", {"lr": 0.05, "momentum": 0.8, "dampening": 0.3}),
    ("SGD", {"lr": 0.1, "weight_decay": 0.1}),
    ("SGD", {"lr": 0.05, "momentum": 0.5, "weight_decay": 0.05, "maximize": True}),
    ("Adam", {"lr": 0.05}),
    ("Adam", {"lr": 0.05, "amsgrad": True}),
    ("Adam", {"lr": 0.05, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.02, "betas": (0.4, 0.9), "maximize": True}),  # lerp from the far end
    ("AdamW", {"lr": 0.05}),
    ("AdamW", {"lr": 0.05, "weight_decay": 0.2, "amsgrad": True}),
    ("RMSprop", {"lr": 0.01}),
    ("RMSprop", {"lr": 0.01, "centered": True}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.5}),
    ("RMSprop", {"lr": 0.01, "alpha": 0.9, "centered": True, "momentum": 0.5, "weight_decay": 0.1}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.01, "initial_accumulator_value": 0.1}),
    ("Adagrad", {"lr": 0.1, "weight_decay": 0.1, "maximize": True}),
]


def _case_id(case):
    name, kwargs = case
    return name + "-" + "-".join(f"{k}={v}" for k, v in kwargs.items())


def _steps(device):
    return DASK_STEPS if device.startswith("dask") else STEPS


def _params(device):
    return (xpgrad.tensor(W0, dtype=xpgrad.float64, device=device, requires_grad=True),
            xpgrad.tensor(B0, dtype=xpgrad.float64, device=device, requires_grad=True))


def _loss(x, y, w, b, sign):
    return sign * (((x @ w + b - y) ** 2).mean() + 0.1 * (w ** 4).sum())


def _run(make_optimizer, params, device, steps, sign=1.0):
    """``{step: the parameters' values after it}`` (NumPy arrays) for each of ``steps``
    steps; on dask for the first and the last only (reading a value computes the whole
    lazy history, so reading every step would cost time quadratic in the steps)."""
    x = xpgrad.tensor(X, dtype=xpgrad.float64, device=device)
    y = xpgrad.tensor(Y, dtype=xpgrad.float64, device=device)
    opt = make_optimizer(params)
    every = not device.startswith("dask")
    trajectory = {}
    for step in range(1, steps + 1):
        opt.zero_grad()
        _loss(x, y, *params, sign).backward()
        opt.step()
        if every or step in (1, steps):
            trajectory[step] = [np.array(p.tolist()) for p in params]
    return trajectory, opt


def _torch_run(name, kwargs, steps, sign=1.0, groups=None):
    torch = pytest.importorskip("torch")
    x, y = torch.tensor(X, dtype=torch.float64), torch.tensor(Y, dtype=torch.float64)
    w = torch.tensor(W0, dtype=torch.float64, requires_grad=True)
    b = torch.tensor(B0, dtype=torch.float64, requires_grad=True)
    params = [w, b] if groups is None else groups(w, b)
    opt = getattr(torch.optim, name)(params, foreach=False, **kwargs)
    trajectory = {}
    for step in range(1, steps + 1):
        opt.zero_grad()
        _loss(x, y, w, b, sign).backward()
        opt.step()
        trajectory[step] = [w.detach().numpy().copy(), b.detach().numpy().copy()]
    return trajectory


def _assert_same_trajectory(got, want, rtol=1e-10):
    """``got`` equals ``want`` at each step both have, the last one among them."""
    assert max(got) == max(want)
    for step in sorted(got.keys() & want.keys()):
        for gp, wp in zip(got[step], want[step]):
            np.testing.assert_allclose(gp, wp, rtol=rtol, atol=1e-13, err_msg=f"step {step}")


# ---------------------------------------------------------------- against torch.optim


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["dask"], indirect=True)
@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_the_whole_trajectory_on_dask(backend, case):
    """The 50 steps on dask too (the default tier runs 10 there: see DASK_STEPS)."""
    name, kwargs = case
    sign = -1.0 if kwargs.get("maximize") else 1.0
    got, _ = _run(lambda ps: getattr(optim, name)(ps, **kwargs), _params(backend.device), backend.device,
                  STEPS, sign)
    _assert_same_trajectory(got, _torch_run(name, kwargs, STEPS, sign))


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_trajectory_matches_torch(device, case):
    name, kwargs = case
    sign = -1.0 if kwargs.get("maximize") else 1.0
    steps = _steps(device)
    params = _params(device)
    got, opt = _run(lambda ps: getattr(optim, name)(ps, **kwargs), params, device, steps, sign)
    _assert_same_trajectory(got, _torch_run(name, kwargs, steps, sign))
    # the optimizer moved the problem toward its minimum (or the maximum of its negative)
    assert abs(got[steps][0] - np.array(W0)).max() > 1e-3
    # the same Tensors, still leaves, nothing recorded; the state lives beside them
    w, b = params
    assert w.is_leaf and w.requires_grad and w.grad_fn is None
    for p in params:
        for value in opt.state[p].values():
            if isinstance(value, xpgrad.Tensor):
                assert value.device == p.device and value.dtype == p.dtype and not value.requires_grad
                assert value.shape == p.shape


def test_parameter_groups_take_their_own_options(device):
    steps = _steps(device)
    w, b = params = _params(device)

    def make(ps):
        return optim.Adam([{"params": [ps[0]], "lr": 0.1}, {"params": ps[1], "betas": (0.5, 0.9)}], lr=0.01)

    got, opt = _run(make, params, device, steps)
    groups = opt.param_groups
    assert [g["lr"] for g in groups] == [0.1, 0.01]
    assert [g["betas"] for g in groups] == [(0.9, 0.999), (0.5, 0.9)]
    assert groups[0]["params"][0] is w and groups[1]["params"][0] is b

    def torch_groups(tw, tb):
        return [{"params": [tw], "lr": 0.1}, {"params": tb, "betas": (0.5, 0.9)}]

    _assert_same_trajectory(got, _torch_run("Adam", {"lr": 0.01}, steps, groups=torch_groups))


def test_add_param_group_fills_in_the_defaults(device):
    w, b = _params(device)
    opt = optim.SGD([w], lr=0.1, momentum=0.9)
    group = {"params": b, "lr": 0.5}
    opt.add_param_group(group)
    assert opt.param_groups[1] == {"params": [b], "lr": 0.5, "momentum": 0.9, "dampening": 0, "weight_decay": 0,
                                   "nesterov": False, "maximize": False}
    assert group == {"params": b, "lr": 0.5}  # the caller's dict is left as it was


def test_sgd_and_adam_first_steps_follow_their_formulas(device):
    # Without torch: the loss sum(c * p**2) / 2 has the gradient c * p.
    c = xpgrad.tensor([1.0, 2.0, -0.5], dtype=xpgrad.float64, device=device)
    p0 = np.array([1.0, -2.0, 3.0])
    cn = np.array(c.tolist())

    def steps(opt, p, n):
        for _ in range(n):
            opt.zero_grad()
            (c * p * p / 2).sum().backward()
            opt.step()

    p = xpgrad.tensor(p0, dtype=xpgrad.float64, device=device, requires_grad=True)
    opt = optim.SGD([p], lr=0.1, momentum=0.9, weight_decay=0.01)
    steps(opt, p, 2)
    g1 = cn * p0 + 0.01 * p0
    p1 = p0 - 0.1 * g1
    g2 = cn * p1 + 0.01 * p1
    buf = 0.9 * g1 + g2
    assert_close(p, p1 - 0.1 * buf, rtol=1e-14, atol=1e-15, device=device)
    assert_close(opt.state[p]["momentum_buffer"], buf, rtol=1e-14, atol=1e-15, device=device)

    p = xpgrad.tensor(p0, dtype=xpgrad.float64, device=device, requires_grad=True)
    opt = optim.Adam([p], lr=0.1, betas=(0.8, 0.9), eps=1e-3)
    steps(opt, p, 2)
    m, v, q = np.zeros(3), np.zeros(3), p0
    for t in (1, 2):
        g = cn * q
        m = 0.8 * m + 0.2 * g
        v = 0.9 * v + 0.1 * g * g
        q = q - 0.1 * (m / (1 - 0.8 ** t)) / (np.sqrt(v / (1 - 0.9 ** t)) + 1e-3)
    assert_close(p, q, rtol=1e-13, atol=1e-15, device=device)
    assert_close(opt.state[p]["exp_avg"], m, rtol=1e-14, atol=1e-15, device=device)
    assert_close(opt.state[p]["exp_avg_sq"], v, rtol=1e-14, atol=1e-15, device=device)
    assert opt.state[p]["step"] == 2


def test_rmsprop_adagrad_and_adamw_first_step_by_hand(device):
    # At the first step every one of them moves each element by about lr * sign(g):
    # RMSprop by lr * g / sqrt((1 - alpha) g^2), Adagrad by lr * g / |g|, AdamW by lr
    # after decaying the weights.
    p0 = np.array([1.0, -2.0, 0.5])
    for make, want in [
        (lambda p: optim.RMSprop([p], lr=0.01, alpha=0.75, eps=0.0), p0 - 0.01 * np.sign(p0) / math.sqrt(0.25)),
        (lambda p: optim.Adagrad([p], lr=0.1, eps=0.0), p0 - 0.1 * np.sign(p0)),
        (lambda p: optim.AdamW([p], lr=0.1, eps=0.0, weight_decay=0.5), p0 * (1 - 0.05) - 0.1 * np.sign(p0)),
    ]:
        p = xpgrad.tensor(p0, dtype=xpgrad.float64, device=device, requires_grad=True)
        opt = make(p)
        (p * p).sum().backward()
        opt.step()
        assert_close(p, want, rtol=1e-14, atol=1e-15, device=device)


# ---------------------------------------------------------------- steps, grads, closures


def test_parameters_without_grad_are_skipped(device):
    w, b = _params(device)
    opt = optim.Adam([w, b], lr=0.1)
    (w ** 2).sum().backward()
    opt.step()
    assert_close(b, B0, rtol=0, atol=0, device=device)
    assert b not in opt.state and w in opt.state
    assert not np.allclose(w.tolist(), W0)


def test_step_writes_in_place_and_records_nothing(device):
    w, b = _params(device)
    alias = w.detach()  # shares w's memory: sees the writes
    other = optim.SGD([w], lr=0.1, momentum=0.9)
    opt = optim.Adam([w, b], lr=0.1)
    (w.sum() + b.sum()).backward()
    other.step()
    opt.step()
    assert w.is_leaf and w.grad_fn is None and w.requires_grad
    assert_close(alias, w.detach())
    assert not np.allclose(alias.tolist(), W0)
    assert w in other.state and w in opt.state  # both keep their state for the same Tensor
    other.step()
    assert_close(alias, w.detach())


def test_step_with_a_closure_returns_its_loss_and_runs_it_with_grad(device):
    w, b = _params(device)
    x, y = (xpgrad.tensor(d, dtype=xpgrad.float64, device=device) for d in (X, Y))
    opt = optim.SGD([w, b], lr=0.1)
    calls = []

    def closure():
        opt.zero_grad()
        loss = _loss(x, y, w, b, 1.0)
        loss.backward()
        calls.append(xpgrad.is_grad_enabled())
        return loss

    with xpgrad.no_grad():
        loss = opt.step(closure)
    assert calls == [True]
    assert loss.requires_grad and loss.device == w.device
    w0, b0 = _params(device)
    assert float(loss) == float(_loss(x, y, w0, b0, 1.0))
    assert not np.allclose(w.tolist(), W0)
    assert opt.step() is None


def test_zero_grad_sets_to_none_by_default(device):
    w, b = _params(device)
    opt = optim.SGD([w, b])
    (w.sum() * 2 + b.sum()).backward()
    opt.zero_grad()
    assert w.grad is None and b.grad is None


def test_zero_grad_in_place_keeps_the_grad_tensors(device):
    w, b = _params(device)
    opt = optim.SGD([w, b])
    (w.sum() * 2 + b.sum()).backward()
    grad = w.grad
    opt.zero_grad(set_to_none=False)
    assert w.grad is grad
    assert_close(w.grad, np.zeros((3, 2)), rtol=0, atol=0, device=device)
    assert_close(b.grad, np.zeros(2), rtol=0, atol=0, device=device)
    (w.sum() * 3).backward()
    assert_close(w.grad, np.full((3, 2), 3.0), rtol=0, atol=0, device=device)
    assert_close(b.grad, np.zeros(2), rtol=0, atol=0, device=device)


def test_zero_grad_in_place_cuts_a_grad_from_its_graph(device):
    w = xpgrad.tensor([1.0, 2.0], dtype=xpgrad.float64, device=device, requires_grad=True)
    (w ** 3).sum().backward(create_graph=True)
    assert w.grad.requires_grad
    optim.SGD([w]).zero_grad(set_to_none=False)
    assert not w.grad.requires_grad and w.grad.grad_fn is None
    assert_close(w.grad, [0.0, 0.0], rtol=0, atol=0, device=device)


# ---------------------------------------------------------------- state_dict


ROUND_TRIPS = [c for c in CASES if c in [
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    ("Adam", {"lr": 0.05, "amsgrad": True}),
    ("AdamW", {"lr": 0.05}),
    ("RMSprop", {"lr": 0.01, "alpha": 0.9, "centered": True, "momentum": 0.5, "weight_decay": 0.1}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.01, "initial_accumulator_value": 0.1}),
]]


@pytest.mark.parametrize("case", ROUND_TRIPS, ids=_case_id)
def test_state_dict_round_trip_continues_the_same_trajectory(device, case):
    name, kwargs = case
    total = _steps(device)
    first = total * 2 // 5  # 20 of 50
    make = lambda ps: getattr(optim, name)(ps, **kwargs)  # noqa: E731
    whole, _ = _run(make, _params(device), device, total)

    params = _params(device)
    before, opt = _run(make, params, device, first)
    saved = opt.state_dict()
    fresh = tuple(xpgrad.tensor(p.tolist(), dtype=xpgrad.float64, device=device, requires_grad=True)
                  for p in params)
    resumed = getattr(optim, name)(fresh, lr=123.0)  # the saved options replace these
    resumed.load_state_dict(saved)
    assert resumed.param_groups[0]["lr"] == kwargs["lr"]
    after, _ = _run(lambda ps: resumed, fresh, device, total - first)
    joined = {**before, **{first + step: values for step, values in after.items()}}
    _assert_same_trajectory(joined, whole, rtol=1e-13)


def test_state_dict_layout_and_copies(device):
    w, b = _params(device)
    opt = optim.SGD([{"params": [w]}, {"params": [b], "lr": 0.5}], lr=0.1, momentum=0.9)
    (w.sum() + 2 * b.sum()).backward()
    opt.step()
    saved = opt.state_dict()
    assert list(saved) == ["state", "param_groups"]
    assert [g["params"] for g in saved["param_groups"]] == [[0], [1]]
    assert [g["lr"] for g in saved["param_groups"]] == [0.1, 0.5]
    assert sorted(saved["state"]) == [0, 1] and list(saved["state"][1]) == ["momentum_buffer"]
    kept = saved["state"][1]["momentum_buffer"]
    assert kept is not opt.state[b]["momentum_buffer"]
    assert_close(kept, [2.0, 2.0], rtol=0, atol=0, device=device)
    opt.step()  # the live buffer changes; the saved copy does not
    assert_close(kept, [2.0, 2.0], rtol=0, atol=0, device=device)

    again = optim.SGD([{"params": [w]}, {"params": [b]}], lr=0.1, momentum=0.9)
    again.load_state_dict(saved)
    assert again.state[b]["momentum_buffer"] is not kept
    assert again.param_groups[1]["lr"] == 0.5 and again.param_groups[1]["params"][0] is b
    again.step()
    assert_close(kept, [2.0, 2.0], rtol=0, atol=0, device=device)
    saved["param_groups"][0]["lr"] = 7.0  # nor is the loaded state aliased with the dict
    assert again.param_groups[0]["lr"] == 0.1


def test_state_dict_matches_torchs_layout():
    torch = pytest.importorskip("torch")
    for name, kwargs in CASES:
        w, b = _params("cpu")
        tw, tb = (torch.tensor(p.tolist(), dtype=torch.float64, requires_grad=True) for p in (w, b))
        ours = getattr(optim, name)([w, b], **kwargs)
        theirs = getattr(torch.optim, name)([tw, tb], foreach=False, **kwargs)
        for p in (w, b):
            p.grad = xpgrad.ones_like(p)
        for p in (tw, tb):
            p.grad = torch.ones_like(p)
        ours.step()
        theirs.step()
        mine, want = ours.state_dict(), theirs.state_dict()
        torch_only = {"foreach", "fused", "capturable", "differentiable"}
        assert {k: v for k, v in want["param_groups"][0].items() if k not in torch_only} == \
            mine["param_groups"][0], name
        assert {k: sorted(v) for k, v in want["state"].items()} == {k: sorted(v) for k, v in mine["state"].items()}
        for k, state in want["state"].items():
            for key, value in state.items():
                np.testing.assert_allclose(np.array(mine["state"][k][key].tolist() if key != "step" else
                                                    mine["state"][k][key]), value.numpy(), rtol=1e-14)


def test_load_state_dict_checks_the_groups_and_shapes(device):
    w, b = _params(device)
    opt = optim.Adam([w, b])
    (w.sum() + b.sum()).backward()
    opt.step()
    saved = opt.state_dict()
    with pytest.raises(ValueError, match=re.escape("loaded state dict has a different number of parameter groups")):
        optim.Adam([{"params": [w]}, {"params": [b]}]).load_state_dict(saved)
    with pytest.raises(ValueError, match=re.escape(
            "loaded state dict contains a parameter group that doesn't match the size of optimizer's group")):
        optim.Adam([w]).load_state_dict(saved)
    with pytest.raises(ValueError, match=re.escape(
            "loaded state dict has 'exp_avg' of shape (3, 2) for parameter 0, whose shape in this optimizer is (2,)")):
        optim.Adam([b, w]).load_state_dict(saved)


# ---------------------------------------------------------------- errors

INVALID = [
    (optim.SGD, {"lr": -1.0}, "Invalid learning rate: -1.0"),
    (optim.SGD, {"momentum": -0.5}, "Invalid momentum value: -0.5"),
    (optim.SGD, {"weight_decay": -1e-3}, "Invalid weight_decay value: -0.001"),
    (optim.SGD, {"nesterov": True}, "Nesterov momentum requires a momentum and zero dampening"),
    (optim.SGD, {"nesterov": True, "momentum": 0.9, "dampening": 0.1},
     "Nesterov momentum requires a momentum and zero dampening"),
    (optim.Adam, {"lr": -1.0}, "Invalid learning rate: -1.0"),
    (optim.Adam, {"eps": -1.0}, "Invalid epsilon value: -1.0"),
    (optim.Adam, {"betas": (1.0, 0.999)}, "Invalid beta parameter at index 0: 1.0"),
    (optim.Adam, {"betas": (0.9, -0.1)}, "Invalid beta parameter at index 1: -0.1"),
    (optim.AdamW, {"weight_decay": -0.5}, "Invalid weight_decay value: -0.5"),
    (optim.RMSprop, {"alpha": -0.5}, "Invalid alpha value: -0.5"),
    (optim.RMSprop, {"momentum": -0.5}, "Invalid momentum value: -0.5"),
    (optim.RMSprop, {"eps": -0.5}, "Invalid epsilon value: -0.5"),
    (optim.Adagrad, {"lr_decay": -0.5}, "Invalid lr_decay value: -0.5"),
    (optim.Adagrad, {"initial_accumulator_value": -0.5}, "Invalid initial_accumulator_value value: -0.5"),
]


@pytest.mark.parametrize(("cls", "kwargs", "message"), INVALID, ids=lambda v: getattr(v, "__name__", None))
def test_invalid_options_raise_torchs_errors(cls, kwargs, message):
    w = xpgrad.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
        cls([w], **kwargs)


def test_the_error_messages_are_torchs():
    torch = pytest.importorskip("torch")
    for cls, kwargs, message in INVALID:
        with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
            getattr(torch.optim, cls.__name__)([torch.zeros(2, requires_grad=True)], **kwargs)
    with pytest.raises(ValueError, match="^can't optimize a non-leaf Tensor$"):
        torch.optim.SGD([torch.zeros(2, requires_grad=True) * 2])
    with pytest.raises(ValueError, match="^optimizer got an empty parameter list$"):
        torch.optim.SGD([])


def test_bad_parameters_are_refused(device):
    w, b = _params(device)
    with pytest.raises(ValueError, match="^can't optimize a non-leaf Tensor$"):
        optim.SGD([w * 2])
    with pytest.raises(ValueError, match="^optimizer got an empty parameter list$"):
        optim.Adam([])
    with pytest.raises(TypeError, match=re.escape(
            "params argument given to the optimizer should be an iterable of Tensors or dicts, but got xpgrad.Tensor")):
        optim.SGD(w)
    with pytest.raises(TypeError, match=re.escape("optimizer can only optimize Tensors, but one of the params is")):
        optim.SGD([W0])
    with pytest.raises(ValueError, match=re.escape("some parameters appear in more than one parameter group")):
        optim.SGD([{"params": [w, b]}, {"params": [b]}])
    with pytest.raises(ValueError, match=re.escape("optimizer contains a parameter group with duplicate parameters")):
        optim.SGD([w, b, w])


def test_complex_parameters_are_refused_by_the_adaptive_optimizers(device):
    z = xpgrad.tensor([1 + 2j], dtype=xpgrad.complex128, device=device, requires_grad=True)
    z.grad = xpgrad.tensor([1 + 0j], dtype=xpgrad.complex128, device=device)
    for cls in (optim.Adam, optim.RMSprop):
        with pytest.raises(TypeError, match=f"^{cls.__name__} does not support complex parameters"):
            cls([z]).step()
    with pytest.raises(TypeError, match="^Adagrad does not support complex parameters"):
        optim.Adagrad([z])
    optim.SGD([z], lr=0.5).step()  # linear in the gradient: complex is fine
    assert_close(z.detach(), [0.5 + 2j], rtol=0, atol=0, device=device)


# ---------------------------------------------------------------- schedulers

# (name, kwargs, metrics for ReduceLROnPlateau): plateaus, an improvement below the
# threshold, and a rise, so that patience and cooldown both come into play.
PLATEAU = [5.0, 4.0, 4.0, 4.0, 3.9999, 4.2, 3.0, 3.0, 3.0, 3.0, 2.0, 2.0, 2.5, 2.5, 2.5,
           1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.6, 0.7, 0.4, 0.4, 0.4, 0.4, 0.4, 0.3, 0.3]
SCHEDULES = [
    ("StepLR", {"step_size": 7}),
    ("StepLR", {"step_size": 3, "gamma": 0.5}),
    ("CosineAnnealingLR", {"T_max": 10}),
    ("CosineAnnealingLR", {"T_max": 12, "eta_min": 0.01}),
    ("ReduceLROnPlateau", {"patience": 2}),
    ("ReduceLROnPlateau", {"patience": 1, "cooldown": 2, "factor": 0.5, "min_lr": [0.05, 0.001]}),
    ("ReduceLROnPlateau", {"mode": "max", "patience": 0, "threshold": 0.1, "threshold_mode": "abs"}),
]


def _lr_sequence(module, optimizer_cls, param, name, kwargs, epochs=30):
    opt = optimizer_cls([{"params": [param[0]], "lr": 0.1}, {"params": [param[1]], "lr": 0.02}], lr=1.0)
    sched = getattr(module, name)(opt, **kwargs)
    lrs = [sched.get_last_lr()]
    for epoch in range(epochs):
        opt.step()
        if name == "ReduceLROnPlateau":
            sched.step(PLATEAU[epoch])
        else:
            sched.step()
        lrs.append(sched.get_last_lr())
        assert [g["lr"] for g in opt.param_groups] == lrs[-1]
    return lrs, opt, sched


@pytest.mark.parametrize(("name", "kwargs"), SCHEDULES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(SCHEDULES)])
def test_scheduler_matches_torch(name, kwargs):
    torch = pytest.importorskip("torch")
    params = [xpgrad.zeros(2, requires_grad=True), xpgrad.zeros(1, requires_grad=True)]
    ours, opt, sched = _lr_sequence(lr_scheduler, optim.SGD, params, name, kwargs)
    tparams = [torch.zeros(2, requires_grad=True), torch.zeros(1, requires_grad=True)]
    theirs, topt, tsched = _lr_sequence(torch.optim.lr_scheduler, torch.optim.SGD, tparams, name, kwargs)
    np.testing.assert_allclose(np.array(ours), np.array(theirs), rtol=1e-12, atol=0)
    assert len({tuple(r) for r in ours}) > 2  # the rates changed, more than once
    assert sched.last_epoch == tsched.last_epoch
    for group, tgroup in zip(opt.param_groups, topt.param_groups):
        assert ("initial_lr" in group) == ("initial_lr" in tgroup)
        assert group.get("initial_lr") == tgroup.get("initial_lr")


def test_step_lr_and_cosine_annealing_by_hand():
    params = [xpgrad.zeros(2, requires_grad=True), xpgrad.zeros(1, requires_grad=True)]
    lrs, opt, sched = _lr_sequence(lr_scheduler, optim.SGD, params, "StepLR", {"step_size": 3, "gamma": 0.5}, 10)
    assert [r[0] for r in lrs] == [0.1 * 0.5 ** (e // 3) for e in range(11)]
    assert [g["initial_lr"] for g in opt.param_groups] == [0.1, 0.02] == sched.base_lrs
    assert sched.last_epoch == 10
    lrs, _, _ = _lr_sequence(lr_scheduler, optim.SGD, params, "CosineAnnealingLR", {"T_max": 10, "eta_min": 0.01}, 30)
    for epoch, (first, second) in enumerate(lrs):
        # the recursive form equals the closed form where no one else changes the rates
        cosine = (1 + math.cos(math.pi * epoch / 10)) / 2
        assert first == pytest.approx(0.01 + (0.1 - 0.01) * cosine, rel=1e-12, abs=1e-15)
        assert second == pytest.approx(0.01 + (0.02 - 0.01) * cosine, rel=1e-12, abs=1e-15)


def test_reduce_lr_on_plateau_by_hand():
    opt = optim.SGD([xpgrad.zeros(1, requires_grad=True)], lr=1.0)
    sched = lr_scheduler.ReduceLROnPlateau(opt, patience=1, factor=0.5, cooldown=1, min_lr=0.2)
    lrs = []
    for metric in [3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0]:
        sched.step(xpgrad.tensor(metric))  # a one-element Tensor is a metric too
        lrs.append(sched.get_last_lr()[0])
    # two bad epochs reduce; one epoch of cooldown; then two bad epochs again; 0.2 is the floor
    assert lrs == [1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25, 0.2, 0.2, 0.2, 0.2]
    assert "initial_lr" not in opt.param_groups[0]


def test_scheduler_state_dict_round_trip():
    opt = optim.SGD([xpgrad.zeros(1, requires_grad=True)], lr=1.0)
    sched = lr_scheduler.CosineAnnealingLR(opt, T_max=10)
    for _ in range(4):
        opt.step()
        sched.step()
    saved, opt_saved = sched.state_dict(), opt.state_dict()
    assert "optimizer" not in saved and saved["last_epoch"] == 4
    want = []
    for _ in range(6):
        opt.step()
        sched.step()
        want.append(sched.get_last_lr())

    opt2 = optim.SGD([xpgrad.zeros(1, requires_grad=True)], lr=1.0)
    sched2 = lr_scheduler.CosineAnnealingLR(opt2, T_max=10)
    opt2.load_state_dict(opt_saved)
    sched2.load_state_dict(saved)
    got = []
    for _ in range(6):
        opt2.step()
        sched2.step()
        got.append(sched2.get_last_lr())
    assert got == want


def test_scheduler_errors():
    opt = optim.SGD([xpgrad.zeros(1, requires_grad=True)], lr=1.0)
    with pytest.raises(TypeError, match="^list is not an Optimizer$"):
        lr_scheduler.StepLR([], step_size=2)
    with pytest.raises(KeyError, match=re.escape("param 'initial_lr' is not specified in param_groups[0]")):
        lr_scheduler.StepLR(opt, step_size=2, last_epoch=3)
    with pytest.raises(ValueError, match=re.escape("Factor should be < 1.0.")):
        lr_scheduler.ReduceLROnPlateau(opt, factor=1.0)
    with pytest.raises(ValueError, match=re.escape("mode average is unknown!")):
        lr_scheduler.ReduceLROnPlateau(opt, mode="average")
    with pytest.raises(ValueError, match=re.escape("threshold mode relative is unknown!")):
        lr_scheduler.ReduceLROnPlateau(opt, threshold_mode="relative")
    with pytest.raises(ValueError, match=re.escape("expected 1 min_lrs, got 2")):
        lr_scheduler.ReduceLROnPlateau(opt, min_lr=[0.1, 0.2])


def test_the_docs_example_runs():
    """Every ```python block of docs/optim.md runs, in order, in one namespace."""
    import pathlib

    text = (pathlib.Path(__file__).resolve().parent.parent / "docs" / "optim.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks
    scope = {}
    for block in blocks:
        exec(compile(block, "docs/optim.md", "exec"), scope)
    assert scope["resumed"].state[scope["w"]]["step"] == 300
