"""Programs written the way a PyTorch user writes them, run twice: with ``torch`` bound
to PyTorch and with ``torch`` bound to xpgrad (the text is the same; ``torch.`` reads
``xpgrad.``), and the values they leave behind compared. Each snippet is what the
PyTorch tutorials and forums do with autograd; a name xpgrad lacks fails here."""
import numpy as np
import pytest

import xpgrad

torch = pytest.importorskip("torch")

SNIPPETS = {
    "grad of a polynomial": """
x = torch.tensor([2.0, -1.0, 0.5], requires_grad=True, dtype=torch.float64)
y = (x ** 3 - 2 * x).sum()
y.backward()
result = x.grad
""",
    "cat and stack with dim": """
a = torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=torch.float64, requires_grad=True)
b = torch.tensor([[5.0, 6.0]], dtype=torch.float64, requires_grad=True)
c = torch.cat([a, b], dim=0)
s = torch.stack([a, a * 2], dim=1)
(c.sum() + (s ** 2).sum()).backward()
result = (c, s, a.grad, b.grad)
""",
    "clamp in a loss": """
x = torch.tensor([-2.0, -0.5, 0.5, 3.0], dtype=torch.float64, requires_grad=True)
loss = torch.clamp(x * 2, min=-1.0, max=2.0).pow(2).mean()
loss.backward()
result = (loss, x.grad)
""",
    "softmax cross-entropy by hand": """
logits = torch.tensor([[2.0, 1.0, 0.1], [0.5, 2.5, -1.0]], dtype=torch.float64, requires_grad=True)
target = torch.tensor([0, 1])
log_probs = torch.log_softmax(logits, dim=1)
loss = -log_probs[torch.arange(2), target].mean()
loss.backward()
result = (torch.softmax(logits, dim=1), loss, logits.grad)
""",
    "flatten and unsqueeze": """
x = torch.arange(24, dtype=torch.float64).reshape(2, 3, 4).requires_grad_()
y = x.flatten(1).unsqueeze(0) * torch.tensor([1.0, -1.0], dtype=torch.float64).unsqueeze(1).unsqueeze(2)
y.sum().backward()
result = (y.shape, x.grad)
""",
    "squeeze, permute, transpose, expand": """
x = torch.ones(2, 1, 3, dtype=torch.float64, requires_grad=True)
y = x.squeeze(1).permute(1, 0).transpose(0, 1).unsqueeze(0).expand(4, -1, -1)
(y * torch.arange(3, dtype=torch.float64)).sum().backward()
result = (y.shape, x.grad)
""",
    "sigmoid and relu": """
x = torch.tensor([-3.0, -0.1, 0.0, 0.7, 5.0], dtype=torch.float64, requires_grad=True)
y = torch.sigmoid(x) * torch.relu(x) + x.sigmoid()
y.sum().backward()
result = (y, x.grad)
""",
    "logsumexp": """
x = torch.tensor([[1000.0, 999.0], [-5.0, 3.0]], dtype=torch.float64, requires_grad=True)
y = torch.logsumexp(x, dim=1)
y.sum().backward()
result = (y, x.grad)
""",
    "where and no_grad": """
x = torch.tensor([-1.0, 2.0, -3.0], dtype=torch.float64, requires_grad=True)
with torch.no_grad():
    mask = x > 0
y = torch.where(mask, x ** 2, -x)
y.sum().backward()
result = (y, x.grad)
""",
    "from_numpy and allclose": """
import numpy as np
a = np.array([1.0, 2.0, 3.0])
t = torch.from_numpy(a)
a[1] = 20.0
result = (t, torch.allclose(t * 2, torch.tensor([2.0, 40.0, 6.0], dtype=torch.float64)))
""",
    "retain_grad and an intermediate": """
x = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
h = x * 3
h.retain_grad()
(h ** 2).sum().backward()
result = (h.grad, x.grad)
""",
    "higher order with autograd.grad": """
x = torch.tensor([0.3, -1.2], dtype=torch.float64, requires_grad=True)
y = torch.sin(x).sum() * torch.exp(x).sum()
(g,) = torch.autograd.grad(y, x, create_graph=True)
(h,) = torch.autograd.grad(g.sum(), x)
result = (g, h)
""",
    "an optimizer loop with a scheduler": """
w = torch.tensor([[0.5, -0.3], [0.1, 0.8]], dtype=torch.float64, requires_grad=True)
b = torch.zeros(2, dtype=torch.float64, requires_grad=True)
x = torch.tensor([[1.0, 2.0], [3.0, -1.0], [0.5, 0.5]], dtype=torch.float64)
y = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], dtype=torch.float64)
opt = torch.optim.Adam([w, b], lr=0.05)
sched = torch.optim.lr_scheduler.StepLR(opt, step_size=5, gamma=0.5)
for _ in range(12):
    opt.zero_grad()
    loss = ((x @ w + b - y) ** 2).mean()
    loss.backward()
    opt.step()
    sched.step()
result = (w, b, loss, sched.get_last_lr()[0])
""",
    "autograd.functional jacobian and hessian": """
def f(x):
    return (x ** 3).sum() + x[0] * x[1]
x = torch.tensor([1.0, 2.0, -0.5], dtype=torch.float64)
jac = torch.autograd.functional.jacobian(lambda x: torch.sin(x) * x, x)
hess = torch.autograd.functional.hessian(f, x)
out, hv = torch.autograd.functional.hvp(f, x, torch.ones(3, dtype=torch.float64))
result = (jac, hess, out, hv)
""",
    "checkpoint in PyTorch's form": """
x = torch.tensor([0.2, -1.0, 3.0], dtype=torch.float64, requires_grad=True)
w = torch.tensor([1.5, 0.5, -2.0], dtype=torch.float64, requires_grad=True)
y = torch.utils.checkpoint.checkpoint(lambda x, w: torch.tanh(x * w).sum(), x, w, use_reentrant=False)
y.backward()
result = (y, x.grad, w.grad)
""",
    "einsum": """
a = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype=torch.float64, requires_grad=True)
b = torch.tensor([[0.5, -1.0], [2.0, 0.0], [1.0, 1.0]], dtype=torch.float64, requires_grad=True)
c = torch.einsum("ij,jk->ik", a, b)
t = torch.einsum("ii->", c)
(t + torch.einsum("ij,ij->", a, a)).backward()
result = (c, t, a.grad, b.grad)
""",
    "a classification step with nn.functional": """
F = torch.nn.functional
x = torch.tensor([[0.5, -1.0, 2.0], [1.5, 0.3, -0.2], [-0.7, 0.8, 0.1], [0.0, 1.0, 1.0]], dtype=torch.float64)
y = torch.tensor([2, 0, 1, 1])
w1 = torch.tensor([[0.2, -0.4, 0.1], [0.5, 0.3, -0.2], [-0.3, 0.1, 0.4], [0.1, 0.2, 0.3]],
                  dtype=torch.float64, requires_grad=True)
b1 = torch.zeros(4, dtype=torch.float64, requires_grad=True)
w2 = torch.tensor([[0.3, -0.1, 0.2, 0.5], [-0.4, 0.2, 0.1, 0.0], [0.1, 0.3, -0.2, 0.2]],
                  dtype=torch.float64, requires_grad=True)
opt = torch.optim.SGD([w1, b1, w2], lr=0.5, momentum=0.9)
for _ in range(5):
    opt.zero_grad()
    hidden = F.relu(F.linear(x, w1, b1))
    loss = F.cross_entropy(hidden @ w2.T, y, label_smoothing=0.05)
    loss.backward()
    opt.step()
accuracy = (F.softmax(F.relu(F.linear(x, w1, b1)) @ w2.T, dim=1).argmax(dim=1) == y).double().mean()
result = (loss, w1, b1, w2, accuracy)
""",
    "multi-label loss with pos_weight": """
F = torch.nn.functional
logits = torch.tensor([[1.2, -0.3, 2.5], [-1.0, 0.4, 0.0], [1e4, -1e4, 3.0]], dtype=torch.float64,
                      requires_grad=True)
labels = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0], [1.0, 1.0, 0.0]], dtype=torch.float64)
pos_weight = torch.tensor([2.0, 1.0, 0.5], dtype=torch.float64)
loss = F.binary_cross_entropy_with_logits(logits, labels, pos_weight=pos_weight)
loss.backward()
per_label = F.binary_cross_entropy_with_logits(logits, labels, pos_weight=pos_weight, reduction="none")
result = (loss, logits.grad, per_label, torch.sigmoid(logits))
""",
}


def _values(obj):
    if isinstance(obj, (tuple, list)):
        return [_values(o) for o in obj]
    if isinstance(obj, torch.Tensor):
        return obj.detach().numpy()
    if isinstance(obj, xpgrad.Tensor):
        return np.asarray(obj.detach().cpu().numpy())
    if isinstance(obj, (torch.Size,)):
        return tuple(obj)
    return obj


def _run(source, module):
    assert "import torch" not in source  # it would bind the name to PyTorch in both runs
    scope = {"torch": module}
    exec(source, scope)
    result = scope["result"]
    if module is xpgrad:  # computed by xpgrad, not by PyTorch behind its back
        assert not any(isinstance(v, torch.Tensor) for v in _flat(result))
    return _values(result)


def _flat(obj):
    return [v for o in obj for v in _flat(o)] if isinstance(obj, (tuple, list)) else [obj]


def _compare(a, b, where):
    if isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _compare(x, y, f"{where}[{i}]")
    elif isinstance(a, np.ndarray):
        assert np.asarray(b).shape == a.shape, where
        np.testing.assert_allclose(np.asarray(b), a, rtol=1e-12, atol=1e-14, err_msg=where)
    else:
        assert tuple(b) == tuple(a) if isinstance(a, tuple) else b == a, where


@pytest.mark.parametrize("name", sorted(SNIPPETS))
def test_a_pytorch_snippet_runs_with_torch_replaced_by_xpgrad(name):
    expected = _run(SNIPPETS[name], torch)
    got = _run(SNIPPETS[name], xpgrad)
    _compare(expected, got, name)


def test_the_coming_from_pytorch_page_runs_both_ways(capsys):
    """docs/pytorch.md's program, whose first line binds ``torch`` to xpgrad, gives
    PyTorch's values when ``torch`` is PyTorch."""
    import pathlib
    import re

    page = (pathlib.Path(__file__).resolve().parents[1] / "docs" / "pytorch.md").read_text()
    (block,) = re.findall(r"```python\n(.*?)```", page, re.S)
    first, body = block.split("\n", 1)
    assert first.startswith("import xpgrad as torch")
    source = body + "result = (loss, x.grad, w)\n"
    _compare(_run(source, torch), _run(source, xpgrad), "docs/pytorch.md")
    capsys.readouterr()
