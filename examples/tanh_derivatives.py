"""tanh and its first six derivatives, by differentiating the derivative again and again.

The picture from the HIPS autograd README: ``elementwise_grad`` turns a function of an
array into the function of its elementwise derivative, and since that derivative is
itself recorded, it can be differentiated once more, as many times as we like.

Run it as ``python examples/tanh_derivatives.py [PATH]``; it writes the plot to PATH
(default ``docs/images/tanh-derivatives.png``). Needs matplotlib
(``pip install ".[examples]"``).
"""
import pathlib
import sys

import xpgrad
from xpgrad.func import elementwise_grad

DEFAULT_PATH = pathlib.Path(__file__).resolve().parent.parent / "docs" / "images" / "tanh-derivatives.png"


def tanh(x):
    """tanh written against the array API: works on any Tensor."""
    xp = x.__array_namespace__()
    return xp.tanh(x)


def derivatives(x, order=6):
    """tanh and its first ``order`` derivatives at the points ``x``.

    Returns
    -------
    list of Tensor
        ``order + 1`` Tensors of ``x``'s shape: tanh, tanh', tanh'', ...
    """
    fns = [tanh]
    for _ in range(order):
        fns.append(elementwise_grad(fns[-1]))  # d/dx of the previous derivative
    return [f(x) for f in fns]


def plot(x, ys, path):
    """Draw every curve of ``ys`` against ``x`` into the PNG file ``path``."""
    import matplotlib

    matplotlib.use("Agg")  # draw to a file, with no display needed
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5))
    for k, y in enumerate(ys):
        ax.plot(x.numpy(), y.numpy(), label="tanh" + "'" * k if k < 4 else f"tanh$^{{({k})}}$")
    ax.set_xlabel("x")
    ax.legend(loc="upper left", fontsize="small")
    ax.set_title("tanh and its first six derivatives")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)


def main(path=DEFAULT_PATH, n=200):
    """Compute tanh and its six derivatives on ``linspace(-7, 7, n)`` and plot them to ``path``.

    Returns
    -------
    list of Tensor
        The seven curves, as :func:`derivatives` returns them.
    """
    xp = xpgrad.xp
    x = xp.linspace(-7.0, 7.0, n, dtype=xp.float64)
    ys = derivatives(x)
    plot(x, ys, path)
    return ys


if __name__ == "__main__":
    target = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_PATH
    main(target)
    print(f"wrote {target}")
