"""Unmodified third-party array-API code, differentiated on xpgrad Tensors: SciPy
(``SCIPY_ARRAY_API=1``), scikit-learn (``array_api_dispatch``) and array-api-extra. Each
program's gradient must match central differences (see third_party_programs.py), with
the Tensors on NumPy and on array-api-strict (where such code compares ``x.dtype`` with
its namespace's dtypes, ``if x.dtype != xp.float64``)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("sklearn")
pytest.importorskip("scipy")
pytest.importorskip("array_api_extra")

PROGRAMS = Path(__file__).with_name("third_party_programs.py")
NAMES = [
    "scipy.stats.moment(order=3)", "scipy.stats.skew", "scipy.stats.kurtosis",
    "sklearn MinMaxScaler", "sklearn MaxAbsScaler", "sklearn polynomial_kernel",
    "sklearn rbf_kernel", "sklearn PCA(svd_solver='covariance_eigh')",
    "sklearn PCA(svd_solver='full')", "array_api_extra.at().multiply",
    "array_api_extra.at().max", "array_api_extra.at().set", "array_api_extra.cov",
    "array_api_extra.pad",
]


@pytest.fixture(scope="module", params=["cpu", "array_api_strict"])
def results(request):
    env = dict(os.environ, SCIPY_ARRAY_API="1", PYTHONWARNINGS="ignore")
    done = subprocess.run([sys.executable, str(PROGRAMS), request.param], capture_output=True, text=True,
                          env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)
    assert results.pop("device of the inputs") == request.param  # the programs' Tensors live there
    return results


@pytest.mark.parametrize("name", NAMES)
def test_third_party_gradient(results, name):
    error = results[name]
    assert isinstance(error, float), error
    assert error < 1e-6, f"{name}: relative error {error}"
