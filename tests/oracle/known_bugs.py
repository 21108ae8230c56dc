"""Wrong results the oracle has found in xpgrad, not yet fixed: each case listed here is
expected to fail (``xfail(strict=True)``), so the suite stays green, and a fix makes
the case pass, which fails the run until its entry is removed.

Keys are ``fnmatch`` patterns over case ids; each entry has the reason and a one-line
reproduction.
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class Bug:
    reason: str
    repro: str


KNOWN_BUGS = {}

_T = "t = xpgrad.tensor"
_G = "xpgrad.autograd.grad"

KNOWN_BUGS.update({
    # ----- decompositions at repeated eigen- and singular values
    # Not fixable by per-op rules: at a p-fold eigenvalue the Hessian of a spectral function
    # L(eigenvalues) is a Q + b tr(Q) I on the p x p block Q = V^H dA V (a = d2L/dl_i^2 -
    # d2L/dl_i dl_j), a map of rank p(p+1)/2 on the block; the eigenvalue op's VJP sees the
    # downstream's second derivative only as one p-vector, the cotangent H q, so whatever
    # basis its rules pick, its image on the block has dimension p at most (and PyTorch's
    # rounding-level gaps are off too). Only a rule that sees the function of the
    # eigenvalues (as det's cofactor op sees its own) can be exact there.
    "eigh_eigenvalues/repeated-symmetric-function/*": Bug(
        "eigh's second derivative at repeated eigenvalues misses the a (Q - diag Q) part inside the "
        "degenerate eigenspace (the 1/gap limit f''(lambda)), so the Hessian of trace(S^3) = "
        "sum(eigenvalues^3) is wrong",
        f"{_T}(np.diag([1., 1., 2.]), requires_grad=True); g, = {_G}(xp.sum(xp.linalg.eigh(t)[0] ** 3), t, "
        "create_graph=True); the Hessian along v is not 3 sym(v S + S v)"),
    "eigvalsh/repeated-symmetric-function/*": Bug(
        "eigvalsh's second derivative at repeated eigenvalues misses the f''(lambda) part inside the "
        "degenerate eigenspace",
        f"{_T}(2 * np.eye(3), requires_grad=True); the Hessian of xp.sum(xp.linalg.eigvalsh(t) ** 3) along v "
        "is not 3 sym(v S + S v)"),
    "svd_s/repeated-symmetric-function/*": Bug(
        "svd's second derivative at repeated singular values misses the f''(sigma) part inside the "
        "degenerate singular subspace",
        f"{_T}(q, requires_grad=True) (q orthogonal); the Hessian of xp.sum(xp.linalg.svd(t)[1] ** 3) along v "
        "is not 4.5 v + 1.5 q v^T q"),
    "svdvals/repeated-symmetric-function/*": Bug(
        "svdvals' second derivative at repeated singular values misses the f''(sigma) part inside the "
        "degenerate singular subspace",
        f"{_T}(q, requires_grad=True) (q orthogonal); the Hessian of xp.sum(xp.linalg.svdvals(t) ** 3) along v "
        "is not 4.5 v + 1.5 q v^T q"),
})
