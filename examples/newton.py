"""Newton's method with exact Hessians: the Rosenbrock function in a handful of steps.

Each step solves ``H(x) p = -g(x)`` with the gradient from ``grad`` and the Hessian from
``hessian`` (both xpgrad.func), and moves to ``x + p``. Near the minimum the error is
squared at every step (quadratic convergence): from (-1.2, 1) the gradient norm goes
1e-5, 1e-8, 0 in the last three of seven steps; gradient descent along the same curved
valley needs thousands.

Run it as ``python examples/newton.py``; it prints each step's point, value and
gradient norm, starting from the classic (-1.2, 1) and ending at the minimum (1, 1).
"""
import xpgrad
from xpgrad.func import grad, hessian


def rosenbrock(x, a=1.0, b=100.0):
    """The Rosenbrock "banana" function of a point ``x`` of shape ``(2,)``; minimum 0 at (a, a^2)."""
    return (a - x[0]) ** 2 + b * (x[1] - x[0] ** 2) ** 2


def newton_step(f, x):
    """The Newton step ``p`` solving ``hessian(f)(x) @ p = -grad(f)(x)``, and the gradient."""
    xp = x.__array_namespace__()
    g = grad(f)(x)
    h = hessian(f)(x)
    # Solving is cheaper and more accurate than forming the inverse.
    return -xp.linalg.solve(h, g), g


def minimize(f, x0, tol=1e-10, max_steps=20, verbose=False):
    """Minimise ``f`` by Newton's method from ``x0`` until the gradient norm is below ``tol``.

    Parameters
    ----------
    f : callable
        A smooth scalar function of a 1-D Tensor, written with xpgrad.xp (or Tensor) ops.
    x0 : Tensor
        The starting point (float64 for tolerances like 1e-10).
    tol : float
        Stop once ``||grad f(x)|| < tol``.
    max_steps : int
        Give up (return what there is) after this many Newton steps.

    Returns
    -------
    x : Tensor
        The last point.
    history : list of float
        The gradient norm at each point visited, starting at ``x0``.
    """
    xp = x0.__array_namespace__()
    x = x0.detach()
    history = []
    for step in range(max_steps + 1):
        p, g = newton_step(f, x)
        gnorm = float(xp.linalg.vector_norm(g))
        history.append(gnorm)
        if verbose:
            point = ", ".join(f"{v:+.10f}" for v in x.tolist())
            print(f"step {step:2d}  x = ({point})  f = {float(f(x)):.3e}  |grad| = {gnorm:.3e}")
        if gnorm < tol or step == max_steps:
            break
        x = (x + p).detach()  # a plain step: no line search, the Hessian says how far
    return x, history


if __name__ == "__main__":
    x0 = xpgrad.tensor([-1.2, 1.0], dtype=xpgrad.float64)
    x, history = minimize(rosenbrock, x0, verbose=True)
    point = ", ".join(f"{v:.12f}" for v in x.tolist())
    print(f"minimum at ({point}) after {len(history) - 1} steps")
