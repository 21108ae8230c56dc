"""Debugging tools: anomaly mode, graph drawing (xpgrad.viz) and saved_tensors_hooks."""
import re
import shutil

import pytest

import xpgrad
from xpgrad import viz
from xpgrad.autograd import Function, detect_anomaly, set_detect_anomaly
from xpgrad.autograd.graph import save_on_device, saved_tensors_hooks

# sqrt(0)'s gradient is 0 / 0: the backends warn about it before anomaly mode raises.
nan_warnings = pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning",
                                          "ignore:divide by zero:RuntimeWarning")


def _close(a, b, tol=1e-10):
    return float(xpgrad.xp.max(xpgrad.xp.abs(a - b))) < tol


def _x(device, *shape, dtype=xpgrad.float64):
    return xpgrad.randn(*shape, dtype=dtype, device=device, requires_grad=True)


# ---------------------------------------------------------------------- anomaly mode


@nan_warnings
def test_detect_anomaly_names_the_op_and_the_forward_line(device):
    x = xpgrad.zeros(3, dtype=xpgrad.float64, device=device, requires_grad=True)
    with detect_anomaly():
        y = xpgrad.sqrt(x) * 0  # THE FORWARD LINE
        with pytest.raises(RuntimeError) as info:
            y.sum().backward()
    message = str(info.value)
    assert message.startswith(
        "Function 'SqrtBackward' returned nan values in its 1st output (the gradient of its argument 'x').")
    assert "test_debugging.py" in message
    assert "y = xpgrad.sqrt(x) * 0  # THE FORWARD LINE" in message
    assert "core/dispatch.py" not in message  # xpgrad's own frames are left out


@nan_warnings
def test_without_anomaly_mode_nan_flows_silently():
    x = xpgrad.zeros(3, dtype=xpgrad.float64, requires_grad=True)
    (xpgrad.sqrt(x) * 0).sum().backward()
    assert bool(xpgrad.xp.all(xpgrad.xp.isnan(x.grad)))


@nan_warnings
def test_anomaly_in_a_custom_function_and_under_create_graph():
    class Div(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * 1

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g / x * 0  # nan at 0

    x = xpgrad.zeros(2, dtype=xpgrad.float64, requires_grad=True)
    with detect_anomaly():
        y = Div.apply(x)
        with pytest.raises(RuntimeError,
                           match=re.escape("Function 'DivBackward' returned nan values in its 1st output")):
            xpgrad.autograd.grad(y.sum(), x, create_graph=True)


@nan_warnings
def test_nodes_recorded_outside_anomaly_mode():
    x = xpgrad.zeros(3, dtype=xpgrad.float64, requires_grad=True)
    y = xpgrad.sqrt(x) * 0
    with detect_anomaly(), pytest.raises(RuntimeError, match="was not recorded: run the forward pass inside"):
        y.sum().backward()


def test_check_nan_off_and_state_restored():
    from xpgrad import dispatch, engine

    assert not xpgrad.autograd.is_anomaly_enabled()
    with detect_anomaly():
        assert xpgrad.autograd.is_anomaly_check_nan_enabled()
        with detect_anomaly(check_nan=False):
            assert xpgrad.autograd.is_anomaly_enabled()
            assert engine.ANOMALY_CHECK[0] is None
        assert engine.ANOMALY_CHECK[0] is not None
        with set_detect_anomaly(False):
            assert not xpgrad.autograd.is_anomaly_enabled()
        assert xpgrad.autograd.is_anomaly_enabled()
    assert not xpgrad.autograd.is_anomaly_enabled()
    assert engine.ANOMALY_CHECK[0] is None and dispatch.RECORD_HOOKS == []


def test_anomaly_mode_leaves_good_gradients_alone():
    x = _x("cpu", 2, 3)
    with detect_anomaly():
        (x.exp() * x).sum().backward()
    assert _close(x.grad, (x.detach() + 1) * x.detach().exp())


# ---------------------------------------------------------------------- to_dot


def _parse_dot(text):
    """(nodes {id: label}, edges [(a, b)]) of the DOT subset to_dot writes."""
    assert text.startswith("digraph {") and text.rstrip().endswith("}")
    nodes = dict(re.findall(r'^\s+(\w+) \[label="((?:[^"\\]|\\.)*)"', text, re.M))
    edges = re.findall(r"^\s+(\w+) -> (\w+)", text, re.M)
    for a, b in edges:
        assert a in nodes and b in nodes, (a, b)
    return nodes, edges


def test_to_dot_structure(device):
    w = _x(device, 3, 2)
    b = _x(device, 2)
    x = xpgrad.randn(4, 3, dtype=xpgrad.float64, device=device)
    loss = (x @ w + b).tanh().sum()
    nodes, edges = _parse_dot(viz.to_dot(loss, params={"w": w, "b": b}))
    labels = {v.split("\\n")[0]: k for k, v in nodes.items()}
    assert len(labels) == len(nodes) == 7  # output, sum, tanh, add, matmul, w, b
    assert {"output", "TanhBackward", "AddBackward", "w", "b"} <= set(labels)
    (total,) = [labels[k] for k in labels if k.startswith("Sum")]
    (product,) = [labels[k] for k in labels if k.startswith(("Mm", "Matmul"))]
    assert nodes[labels["w"]] == "w\\n(3, 2) float64"
    assert nodes[labels["output"]] == "output\\n() float64"
    assert {(labels["w"], product), (product, labels["AddBackward"]), (labels["b"], labels["AddBackward"]),
            (labels["AddBackward"], labels["TanhBackward"]), (labels["TanhBackward"], total),
            (total, labels["output"])} == set(edges)
    assert len(edges) == 6  # w, b, mm, add, tanh, sum: a chain with two leaves


def test_to_dot_leaf_names_saved_values_and_constants():
    w = _x("cpu", 2)
    y = (w * w).sum()
    text = viz.to_dot(y, show_saved=True)
    nodes, edges = _parse_dot(text)
    assert "AccumulateGrad\\n(2,) float64" in nodes.values()  # no params: the node's name
    assert any(v.startswith("saved x1") for v in nodes.values())
    assert 'fillcolor="orange"' in text
    const = viz.to_dot(xpgrad.ones(2))
    assert "(requires_grad=False)" in const and "->" not in const
    leaf = viz.to_dot(w, params={"w": w})
    assert 'label="w\\n(2,) float64"' in leaf


def test_to_dot_custom_function_and_reused_node():
    class Twice(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    x = _x("cpu", 2)
    h = Twice.apply(x)
    nodes, edges = _parse_dot(viz.to_dot(h * h))
    twice = [k for k, v in nodes.items() if v == "TwiceBackward"]
    assert len(twice) == 1  # drawn once although used twice
    assert edges.count((twice[0], [k for k, v in nodes.items() if v.startswith("Mul")][0])) == 2


def test_to_dot_rejects_non_tensors():
    with pytest.raises(TypeError, match="to_dot draws the graph of a Tensor, got list"):
        viz.to_dot([1, 2])


def test_render(tmp_path, monkeypatch):
    x = _x("cpu", 2)
    y = (x * x).sum()
    if shutil.which("dot") is not None:
        out = viz.render(y, tmp_path / "graph.svg", params={"x": x})
        assert "<svg" in (tmp_path / "graph.svg").read_text() and out.endswith("graph.svg")
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="needs Graphviz's `dot` program, which was not found"):
        viz.render(y, tmp_path / "graph.svg")


# ---------------------------------------------------------------------- saved_tensors_hooks


def test_pack_and_unpack_counts(device):
    packed, unpacked = [], []

    def pack(t):
        packed.append(tuple(t.shape))
        return t

    def unpack(t):
        unpacked.append(tuple(t.shape))
        return t

    x = _x(device, 2, 3)
    with saved_tensors_hooks(pack, unpack):
        y = (x * x).sin().sum()  # multiply saves x twice, sin saves its input
    assert len(packed) == 3 and not unpacked
    y.backward()
    assert len(unpacked) == 3
    assert _close(x.grad, 2 * x.detach() * (x.detach() * x.detach()).cos())
    assert xpgrad.dispatch.RECORD_HOOKS == []


@pytest.mark.xpgrad_backend_marks(dask=pytest.mark.slow)
def test_compressing_hook_gradients(device):
    def pack(t):
        return t.to(xpgrad.float32)

    def unpack(t):
        return t.to(xpgrad.float64)

    def f(x):
        return (x.exp() * x.sin()).sum()

    x = _x(device, 2, 3)
    (expected,) = xpgrad.autograd.grad(f(x), x)
    with saved_tensors_hooks(pack, unpack):
        y = f(x)
    (got,) = xpgrad.autograd.grad(y, x)
    assert got.dtype == x.dtype
    assert _close(got, expected, tol=1e-5) and not _close(got, expected, tol=1e-12)


def test_offload_to_another_device_and_back():
    x = _x("array_api_strict:device1", 2, 3)
    where = []

    def pack(t):
        where.append(str(t.device))
        return t.to("cpu")

    def unpack(t):
        return t.to("array_api_strict:device1")

    def f(x):
        return (x * x).sin().sum()

    (expected,) = xpgrad.autograd.grad(f(x), x, create_graph=True)
    (expected2,) = xpgrad.autograd.grad(expected.sum(), x)
    with saved_tensors_hooks(pack, unpack):
        y = f(x)
    assert set(where) == {"array_api_strict:device1"}
    node = y.grad_fn.next_functions[0][0]
    assert isinstance(node.saved, xpgrad.node.Packed) and str(node.saved.saved[0].device) == "cpu"
    (got,) = xpgrad.autograd.grad(y, x, create_graph=True)
    assert _close(got, expected)
    (got2,) = xpgrad.autograd.grad(got.sum(), x)  # the moves are recorded: second order too
    assert _close(got2, expected2)


def test_save_on_device():
    x = _x("array_api_strict:device1", 3)
    with save_on_device("cpu"):
        y = (x * x).sum()
    y.backward()
    assert _close(x.grad, 2 * x.detach())


def test_hooks_on_a_custom_function_and_nesting():
    from test_function import Exp

    outer, inner = [], []
    x = _x("cpu", 3)
    with saved_tensors_hooks(lambda t: outer.append(1) or t, lambda t: t):
        with saved_tensors_hooks(lambda t: inner.append(1) or t, lambda t: t):
            y = Exp.apply(x)  # the innermost pair applies
        z = y * y
    assert (len(inner), len(outer)) == (1, 2)
    z.sum().backward()
    assert _close(x.grad, 2 * x.detach().exp() ** 2)


def test_unpack_returning_non_tensor():
    x = _x("cpu", 3)
    with saved_tensors_hooks(lambda t: t, lambda t: t.detach().numpy()):
        y = (x * x).sum()
    with pytest.raises(TypeError, match=re.escape(
            "a saved_tensors_hooks unpack hook returned ndarray; it must return a Tensor")):
        y.backward()


def test_hooks_are_context_local():
    import threading

    packed = []
    x = _x("cpu", 3)
    seen_in_thread = []

    def other():
        (x * x).sum()
        seen_in_thread.append(len(packed))

    with saved_tensors_hooks(lambda t: packed.append(1) or t, lambda t: t):
        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
    assert seen_in_thread == [0]
