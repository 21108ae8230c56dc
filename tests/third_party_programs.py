"""Unmodified SciPy, scikit-learn and array-api-extra code differentiated on xpgrad
Tensors: each program's gradient against central differences.

Run as a script (``SCIPY_ARRAY_API=1`` must be set before SciPy is imported, so
tests/test_third_party.py runs it in a fresh interpreter), with the default device as
its argument ("cpu" if none: the programs' Tensors live there); prints one JSON object,
program name -> the largest relative error, or the error raised.
"""
import json
import os
import sys

os.environ["SCIPY_ARRAY_API"] = "1"

import numpy as np  # noqa: E402

import xpgrad  # noqa: E402
from xpgrad import xp  # noqa: E402

F64 = xpgrad.float64


def _programs():
    import array_api_extra as xpx
    import scipy.stats as st
    from sklearn.decomposition import PCA
    from sklearn.metrics.pairwise import polynomial_kernel, rbf_kernel
    from sklearn.preprocessing import MaxAbsScaler, MinMaxScaler

    w = _tensor(np.random.default_rng(1).standard_normal((6, 3)))
    return {
        # in-place ops whose other operand requires grad (z *= y, z /= y, z **= y)
        "scipy.stats.moment(order=3)": lambda x: xp.sum(st.moment(x, order=3, axis=0)),
        "scipy.stats.skew": lambda x: xp.sum(st.skew(x, axis=0)),
        "scipy.stats.kurtosis": lambda x: xp.sum(st.kurtosis(x, axis=0)),
        "sklearn MinMaxScaler": lambda x: xp.sum(MinMaxScaler().fit_transform(x) * w),
        "sklearn MaxAbsScaler": lambda x: xp.sum(MaxAbsScaler().fit_transform(x) * w),
        "sklearn polynomial_kernel": lambda x: xp.sum(polynomial_kernel(x, degree=3)),
        "sklearn rbf_kernel": lambda x: xp.sum(rbf_kernel(x)),
        # svd_flip writes into a view of eigh's saved eigenvectors
        "sklearn PCA(svd_solver='covariance_eigh')":
            lambda x: xp.sum(PCA(n_components=2, svd_solver="covariance_eigh").fit_transform(x) * w[:, :2]),
        "sklearn PCA(svd_solver='full')":
            lambda x: xp.sum(PCA(n_components=2, svd_solver="full").fit_transform(x) * w[:, :2]),
        "array_api_extra.at().multiply":
            lambda x: xp.sum(xpx.at(x * 1.0, (slice(0, 2),)).multiply(x[0:2] * 2.0)),
        "array_api_extra.at().max": lambda x: xp.sum(xpx.at(x * 1.0, (slice(0, 2),)).max(x[2:4] * 2.0)),
        "array_api_extra.at().set": lambda x: xp.sum(xpx.at(x * 1.0, (slice(1, 3), 0)).set(x[0:2, 2] ** 2) ** 2),
        "array_api_extra.cov": lambda x: xp.sum(xpx.cov(x.T)),
        "array_api_extra.pad": lambda x: xp.sum(xpx.pad(x, 1) ** 2),
    }


def _tensor(data, requires_grad=False):
    """``data`` (a NumPy array) on the default device: given no device, a NumPy array
    would stay on NumPy."""
    return xpgrad.tensor(data, dtype=F64, device=xpgrad.get_default_device(), requires_grad=requires_grad)


def _relative_error(f, x0):
    from sklearn import config_context

    with config_context(array_api_dispatch=True):
        x = _tensor(x0, requires_grad=True)
        (g,) = xpgrad.autograd.grad(f(x), x)
        eps = 1e-6
        fd = np.zeros_like(x0)
        with xpgrad.no_grad():
            for i in np.ndindex(x0.shape):
                plus, minus = x0.copy(), x0.copy()
                plus[i] += eps
                minus[i] -= eps
                up, down = float(f(_tensor(plus))), float(f(_tensor(minus)))
                fd[i] = (up - down) / (2 * eps)
    return float(np.max(np.abs(np.asarray(g.detach().tolist()) - fd)) / np.max(np.abs(fd)))


def main():
    xpgrad.set_default_device(sys.argv[1] if len(sys.argv) > 1 else "cpu")
    x0 = np.random.default_rng(0).standard_normal((6, 3))
    results = {"device of the inputs": str(_tensor(x0).device)}
    for name, f in _programs().items():
        try:
            results[name] = _relative_error(f, x0)
        except Exception as exc:  # reported, and the test names it
            results[name] = f"{type(exc).__name__}: {exc}"
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
