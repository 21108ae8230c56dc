"""Fit a line by gradient descent: the smallest complete training loop in xpgrad.

Run it as ``python examples/linear_regression.py``; it prints the loss every 50 steps
and the fitted slope and intercept, which approach the true 3 and -2.
"""
import xpgrad


def fit(steps=200, lr=0.1, seed=0):
    xpgrad.manual_seed(seed)
    x = xpgrad.rand(100, 1, dtype=xpgrad.float64)
    y = 3 * x - 2 + 0.01 * xpgrad.randn(100, 1, dtype=xpgrad.float64)
    w = xpgrad.zeros(1, 1, dtype=xpgrad.float64, requires_grad=True)
    b = xpgrad.zeros(1, dtype=xpgrad.float64, requires_grad=True)
    for step in range(steps):
        loss = ((x @ w + b - y) ** 2).mean()
        loss.backward()
        with xpgrad.no_grad():  # an optimiser step changes leaves in place
            w -= lr * w.grad
            b -= lr * b.grad
        w.grad.zero_()
        b.grad.zero_()
        if step % 50 == 0:
            print(f"step {step:4d}  loss {loss.item():.5f}")
    return w.item(), b.item(), loss.item()


if __name__ == "__main__":
    slope, intercept, loss = fit(steps=1000)
    print(f"slope {slope:.3f}  intercept {intercept:.3f}  (true: 3, -2)  loss {loss:.6f}")
