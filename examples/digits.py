"""Handwritten digits: a small network trained by hand, written once against the array API.

The model below uses only functions of the array API standard, through
``xp = array_namespace(x)``. Handed xpgrad Tensors, that namespace is ``xpgrad.xp``,
which records what is computed so that ``value_and_grad`` (xpgrad.func) can
differentiate it; the loss is ``xpgrad.nn.functional.cross_entropy`` and
``xpgrad.optim.Adam`` updates the parameters in place, as their ``torch`` namesakes
would. Which library does the arithmetic is picked by ``--device``:

    python examples/digits.py                          # NumPy
    python examples/digits.py --device array_api_strict
    python examples/digits.py --device dask --epochs 5
    python examples/digits.py --device cuda            # CuPy, on a GPU

The data are scikit-learn's 8x8 digits (1,797 images, bundled with scikit-learn: no
download). The network is 64 -> 32 (tanh) -> 10 with a softmax cross-entropy loss,
trained with Adam; it reaches about 96% accuracy on the 500 held-out images. Needs
scikit-learn and tqdm (``pip install ".[examples]"``).
"""
import argparse
import math

import numpy as np
from array_api_compat import array_namespace

import xpgrad
import xpgrad.nn.functional as F
from xpgrad.func import value_and_grad
from xpgrad.optim import Adam

N_CLASSES = 10


# ---------------------------------------------------------------- data (NumPy, on the host)


def load_data(device="cpu", dtype=xpgrad.float32, n_train=None, n_test=500, seed=0):
    """The digits, shuffled and split, as Tensors on ``device``.

    Pixels are scaled to [0, 1]; labels are int64. ``n_train`` (default: all that the
    test set leaves) and ``n_test`` pick the sizes.

    Returns
    -------
    (x_train, y_train), (x_test, y_test) : tuples of Tensor
    """
    from sklearn.datasets import load_digits

    images, labels = load_digits(return_X_y=True)
    order = np.random.default_rng(seed).permutation(len(labels))
    images, labels = images[order] / 16.0, labels[order].astype(np.int64)
    test, train = slice(0, n_test), slice(n_test, None if n_train is None else n_test + n_train)

    def put(a, dt=None):
        return xpgrad.xp.asarray(a, dtype=dt, device=device)

    return ((put(images[train], dtype), put(labels[train])),
            (put(images[test], dtype), put(labels[test])))


def init_params(sizes=(64, 32, N_CLASSES), device="cpu", dtype=xpgrad.float32, seed=0):
    """Weights drawn as Glorot-uniform and zero biases, the same on every device.

    Returns
    -------
    list of Tensor
        ``[W1, b1, W2, b2, ...]`` with ``W`` of shape ``(fan_in, fan_out)``.
    """
    rng = np.random.default_rng(seed)
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = math.sqrt(6.0 / (fan_in + fan_out))
        w = rng.uniform(-bound, bound, size=(fan_in, fan_out))
        params += [xpgrad.xp.asarray(w, dtype=dtype, device=device),
                   xpgrad.xp.zeros((fan_out,), dtype=dtype, device=device)]
    return params


# -------------------------------------------------- the model: array API functions only


def predict(params, x):
    """The logits: ``tanh`` hidden layers, then a linear output layer."""
    xp = array_namespace(x)
    *hidden, w_out, b_out = params
    for w, b in zip(hidden[::2], hidden[1::2]):
        x = xp.tanh(x @ w + b)
    return x @ w_out + b_out


def one_hot(labels, n_classes, dtype):
    """``(n,)`` integer labels as ``(n, n_classes)`` rows of 0 and 1."""
    xp = array_namespace(labels)
    classes = xp.arange(n_classes, dtype=labels.dtype, device=labels.device)
    return xp.astype(xp.expand_dims(labels, axis=1) == classes, dtype)


def cross_entropy(params, x, targets):
    """Mean softmax cross-entropy of the logits against one-hot ``targets`` (class
    probabilities, which ``F.cross_entropy`` takes as PyTorch's does)."""
    return F.cross_entropy(predict(params, x), targets)


def accuracy(params, x, labels):
    """The fraction of ``x`` whose most likely class is its label."""
    xp = array_namespace(x)
    z = predict(params, x)
    hits = xp.argmax(z, axis=1) == labels
    return float(xp.mean(xp.astype(hits, z.dtype)))


# ------------------------------------------------------------------------- training


def train_step(params, optimiser, x, targets):
    """One optimiser step on the mini-batch ``x``, in place; returns the loss."""
    # The gradient with respect to argument 0, the list of parameters, is a list.
    loss, grads = value_and_grad(cross_entropy)(params, x, targets)
    # The optimiser reads each parameter's .grad, as torch.optim does (here set from
    # value_and_grad's result rather than by loss.backward()), and writes the new values
    # into the parameters themselves.
    for p, g in zip(params, grads):
        p.grad = g
    optimiser.step()
    return loss


def train(device="cpu", epochs=20, batch_size=64, lr=1e-2, n_train=None, hidden=32,
          dtype=xpgrad.float32, seed=0, progress=True):
    """Train the network on ``device`` and measure it on the held-out images.

    Returns
    -------
    params : list of Tensor
        The trained weights and biases.
    losses : list of float
        The training loss of every mini-batch, in order.
    test_accuracy : float
        The fraction of the test images classified right.
    """
    from tqdm import tqdm

    (x_train, y_train), (x_test, y_test) = load_data(device, dtype, n_train, seed=seed)
    targets = one_hot(y_train, N_CLASSES, x_train.dtype)
    params = init_params((x_train.shape[1], hidden, N_CLASSES), device, dtype, seed)
    optimiser = Adam(params, lr=lr)
    n = x_train.shape[0]
    batches = [(start, min(start + batch_size, n)) for start in range(0, n, batch_size)]
    rng = np.random.default_rng(seed)
    losses = []
    with tqdm(total=epochs * len(batches), desc=f"training on {device}", disable=not progress) as bar:
        for epoch in range(epochs):
            # The data were shuffled once; each epoch visits the mini-batches in a new order.
            for k in rng.permutation(len(batches)):
                # Python ints: array_api_strict takes no NumPy integers, nor stops past the end.
                start, stop = batches[k]
                x, t = x_train[start:stop], targets[start:stop]
                loss = train_step(params, optimiser, x, t)
                # the parameters and Adam's moving averages (its state, made at its first step)
                _settle(params + [m for state in optimiser.state.values() for m in state.values()
                                  if isinstance(m, xpgrad.Tensor)], device)
                losses.append(float(loss))
                bar.update()
            bar.set_postfix(epoch=epoch + 1, loss=f"{losses[-1]:.4f}")
    test_accuracy = accuracy(params, x_test, y_test)
    return params, losses, test_accuracy


def _settle(tensors, device):
    """Compute the Tensors now, in place, if ``device`` is lazy (dask).

    A lazy backend records each step as a graph on top of the previous step's; without
    this the graph, and the time to compute a loss, would grow with every step. Setting
    ``.data`` keeps each Tensor the same object, which the optimiser's state is keyed by.
    """
    if not str(device).startswith("dask"):
        return
    for t in tensors:
        t.data = xpgrad.xp.asarray(t.numpy(), device=device)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cpu",
                        help="where to compute: cpu (NumPy), array_api_strict, dask, cuda, ...")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-2)
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    args = parser.parse_args(argv)
    _, losses, test_accuracy = train(args.device, args.epochs, args.batch_size, args.lr,
                                     hidden=args.hidden, dtype=getattr(xpgrad, args.dtype))
    print(f"final training loss {losses[-1]:.4f}, test accuracy {test_accuracy:.1%} on {args.device}")
    return test_accuracy


if __name__ == "__main__":
    main()
