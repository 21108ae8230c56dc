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
    # ----- complex products: the gradient lacks a conjugate
    "prod/[!0]*/complex128": Bug(
        "prod's gradient of complex input is not conjugated (PyTorch: g * conj(prod of the others))",
        f"{_T}([1+1j, 2-1j], requires_grad=True); {_G}(xp.real(xp.prod(t)), t) != (2+1j, 1-1j)"),
    "cumulative_prod/*/complex128": Bug(
        "cumulative_prod's gradient of complex input is not conjugated",
        f"{_T}([1+1j, 2-1j], requires_grad=True); {_G}(xp.real(xp.sum(xp.cumulative_prod(t))), t) != (3+1j, 1-1j)"),
    # ----- determinants, decompositions at singular and repeated points
    "det/repeated-singular-values/float64": Bug(
        "det's second derivative is wrong where singular values repeat (an orthogonal matrix)",
        f"{_T}(q, requires_grad=True) (q orthogonal 3x3); the Hessian of det along v differs from PyTorch's"),
    "det/identity/float64": Bug(
        "det's second derivative at the identity (all singular values 1) is wrong",
        f"{_T}(np.eye(3), requires_grad=True); g, = {_G}(xp.linalg.det(t), t, create_graph=True); "
        f"{_G}(g[0, 1], t) gives 0 at [1, 0], not -1"),
    "slogdet_logabsdet/singular/float64": Bug(
        "slogdet's logabsdet gradient and JVP at an exactly singular matrix raise LinAlgError "
        "(PyTorch: +-inf, NaN)",
        f"{_T}([[1., 2.], [2., 4.]], requires_grad=True); {_G}(xp.linalg.slogdet(t)[1], t) raises LinAlgError"),
    "qr_q/rank-deficient/float64": Bug(
        "qr's gradient at a matrix with a zero column raises LinAlgError",
        f"{_T}([[1., 0, 0], [0, 0, 1], [1, 0, 1]], requires_grad=True); {_G}(xp.sum(xp.linalg.qr(t)[0]), t) "
        "raises LinAlgError"),
    "qr_r/rank-deficient/float64": Bug(
        "qr's gradient at a matrix with a zero column raises LinAlgError",
        f"{_T}([[1., 0, 0], [0, 0, 1], [1, 0, 1]], requires_grad=True); {_G}(xp.sum(xp.linalg.qr(t)[1]), t) "
        "raises LinAlgError"),
    "eigh_eigenvalues/repeated-symmetric-function/*": Bug(
        "eigh's second derivative at repeated eigenvalues drops the f''(lambda) terms (the 1/gap "
        "limit), so the Hessian of trace(S^3) = sum(eigenvalues^3) is wrong",
        f"{_T}(np.diag([1., 1., 2.]), requires_grad=True); g, = {_G}(xp.sum(xp.linalg.eigh(t)[0] ** 3), t, "
        "create_graph=True); the Hessian along v is not 3 sym(v S + S v)"),
    "eigvalsh/repeated-symmetric-function/*": Bug(
        "eigvalsh's second derivative at repeated eigenvalues drops the f''(lambda) terms",
        f"{_T}(2 * np.eye(3), requires_grad=True); the Hessian of xp.sum(xp.linalg.eigvalsh(t) ** 3) along v "
        "is not 3 sym(v S + S v)"),
    "svd_s/repeated-symmetric-function/*": Bug(
        "svd's second derivative at repeated singular values drops the 1/gap limit terms",
        f"{_T}(q, requires_grad=True) (q orthogonal); the Hessian of xp.sum(xp.linalg.svd(t)[1] ** 3) along v "
        "is not 4.5 v + 1.5 q v^T q"),
    "svdvals/repeated-symmetric-function/*": Bug(
        "svdvals' second derivative at repeated singular values drops the 1/gap limit terms",
        f"{_T}(q, requires_grad=True) (q orthogonal); the Hessian of xp.sum(xp.linalg.svdvals(t) ** 3) along v "
        "is not 4.5 v + 1.5 q v^T q"),
    # ----- elementwise overflow and underflow in the rules
    "logaddexp/large-ties/float64": Bug(
        "logaddexp's gradient at equal large arguments is 1 each, not 1/2 (exp(x - out) with out rounded to x)",
        f"{_T}([1e17], requires_grad=True); {_G}(xp.logaddexp(t, t * 1), t) gives 2, not 1"),
    "logaddexp/inf/float64": Bug(
        "logaddexp's gradient at (inf, 0) is NaN, not (1, 0) (exp(inf - inf))",
        f"a = xpgrad.tensor([inf], requires_grad=True); {_G}(xp.logaddexp(a, xpgrad.tensor([0.])), a) is nan"),
    "logaddexp/special/*": Bug(
        "logaddexp's gradient and JVP with an infinite argument are NaN (exp(inf - inf))",
        f"a = xpgrad.tensor([inf], requires_grad=True); {_G}(xp.logaddexp(a, xpgrad.tensor([0.])), a) is nan"),
    "divide/tiny-divisor/float64": Bug(
        "divide's divisor gradient -x1 / (x2 * x2) underflows: x2 * x2 is 0 for |x2| < 1e-162",
        f"{_T}([1e-170], requires_grad=True); {_G}(1e-170 / t, t) is -inf, not -1e170"),
    "divide/special/*": Bug(
        "divide's divisor gradient -x1 / (x2 * x2) is NaN where x2 * x2 underflows to 0 or overflows "
        "to inf (x1 = 0 over a subnormal, inf over 1e300)",
        f"{_T}([5e-324], requires_grad=True); {_G}(0.0 / t, t) is nan, not -0"),
    "pow/zero-base/float64": Bug(
        "pow's base gradient at x1 == 0 with an array exponent 0 is NaN (0 * 0 ** -1), not 0",
        f"{_T}([0.], requires_grad=True); {_G}(xp.sum(t ** xpgrad.tensor([0.])), t) is nan, not 0"),
    "pow/special/*": Bug(
        "pow at base 0: the base gradient for exponent 0 is NaN, not 0 (and, for complex, the "
        "exponent gradient at base 0 is finite where the value is not)",
        f"{_T}([0.], requires_grad=True); {_G}(xp.sum(t ** xpgrad.tensor([0.])), t) is nan, not 0"),
    "vector_norm/ord=0.5-zeros/float64": Bug(
        "vector_norm(ord=0.5) has a NaN gradient at a vector with a zero entry",
        f"{_T}([0., 1.5, -2.], requires_grad=True); {_G}(xp.linalg.vector_norm(t, ord=0.5), t)[0] is nan"),
    "vector_norm/ord=-1-zeros/float64": Bug(
        "vector_norm(ord=-1) has a NaN gradient at a vector with a zero entry (PyTorch: 0)",
        f"{_T}([0., 1.5, -2.], requires_grad=True); {_G}(xp.linalg.vector_norm(t, ord=-1), t)[0] is nan"),
    "vector_norm/tiny/float64": Bug(
        "vector_norm's second derivative at x ~ 1e-300 is 0: x * x underflows (the Hessian is ~1e300)",
        f"{_T}([1e-300, 3e-300], requires_grad=True); g, = {_G}(xp.linalg.vector_norm(t), t, create_graph=True); "
        f"{_G}(g[0], t) is (0, 0)"),
    "atan/special/complex128": Bug(
        "atan's second derivative of complex input at |z| ~ 1e150 is NaN (1 + z * z overflows); PyTorch: 0",
        f"{_T}([1e150+1e150j], requires_grad=True); the second derivative of xp.real(xp.atan(t)) is nan"),
    "atanh/special/complex128": Bug(
        "atanh's second derivative of complex input at |z| ~ 1e150 is NaN (1 - z * z overflows); PyTorch: 0",
        f"{_T}([1e150+1e150j], requires_grad=True); the second derivative of xp.real(xp.atanh(t)) is nan"),
    "abs/complex-zero/complex128": Bug(
        "abs's second derivative of complex input at |z| = 1e-300 is NaN (|z|^2 underflows); PyTorch: finite",
        f"{_T}([1e-300+0j], requires_grad=True); the second derivative of xp.abs(t) is nan"),
    # ----- statistics
    "var/[!0]*/complex128": Bug(
        "var's JVP of complex input is wrong (its VJP agrees with PyTorch): d var = 2 Re(conj(x - mean) dx) / N",
        "xpgrad.func.jvp(xp.var, (z,), (dz,)) for complex z differs from 2 * mean(real(conj(z - mean(z)) * dz))"),
    "std/[!0]*/complex128": Bug(
        "std's JVP of complex input is wrong (its VJP agrees with PyTorch)",
        "xpgrad.func.jvp(xp.std, (z,), (dz,)) for complex z differs from mean(real(conj(z - mean(z)) * dz)) / std"),
    "var/empty/float64": Bug(
        "var's JVP over an empty array is NaN, PyTorch's 0 (the VJP agrees)",
        "xpgrad.func.jvp(xp.var, (xpgrad.zeros(0),), (xpgrad.zeros(0),)) gives nan"),
    "std/empty/float64": Bug(
        "std's JVP over an empty array is 0 where the value is NaN (PyTorch: NaN)",
        "xpgrad.func.jvp(xp.std, (xpgrad.zeros(0),), (xpgrad.zeros(0),)) gives 0"),
    "std/constant/float64": Bug(
        "std's second derivative over a constant slice is nonzero: the subgradient 0 the first derivative "
        "takes there is not held constant (PyTorch: 0)",
        f"{_T}([2., 2., 2.], requires_grad=True); g, = {_G}(xp.std(t), t, create_graph=True); "
        f"{_G}(xp.sum(g * v), t) is not 0"),
    # ----- indexing and manipulation
    "scatter_add/diff-n0-prepend/float64": Bug(
        "diff(n=0) with prepend returns x joined with prepend; NumPy and PyTorch return x",
        f"xp.diff({_T}([1., 2.]), n=0, prepend=xpgrad.tensor([0.])).shape == (3,), not (2,)"),
    "setitem/integer-array-repeated/*": Bug(
        "assignment through an integer array with a repeated index averages the values; NumPy and "
        "PyTorch keep the last",
        "y = xpgrad.zeros(3); v = xpgrad.tensor([1., 2.], requires_grad=True); y[xpgrad.tensor([1, 1])] = v; "
        "y[1] == 1.5, not 2"),
    # ----- differentiability
    "sign/random/complex128": Bug(
        "sign of complex input (z / |z|) is declared not differentiable; PyTorch differentiates it "
        "(sgn), and it is smooth away from 0",
        f"{_T}([1+1j], requires_grad=True); xp.sign(t).requires_grad is False"),
})
