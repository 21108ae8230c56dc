"""dask's linear algebra: the ops its array API namespace lacks, blockwise.

dask's namespace lacks det, slogdet, eig, eigh, eigvalsh, pinv and matrix_rank, inverts and
solves only with SciPy (by LU), and computes svd only for one 2-D block (without
full_matrices). Each matrix's result depends on that matrix alone, so these run NumPy's
function inside each block, the last two axes made one chunk (batch axes keep their
chunks): still lazy, and the rules are the generic ops' rules.
"""
import numpy as np

from xpgrad.ops.linalg import as_matrix, as_vector, conj_T, inv
from xpgrad.plugins.arrays import expect_matrices, is_complex, svd_sizes

__all__ = ["dask_variants"]


def _dask_blockwise(x, fn, tail, dtype=None):
    """``fn`` (a NumPy function of a stack of matrices) per block of ``x``; ``tail`` is
    the shape its result has in place of the last two axes."""
    nd = x.ndim
    x = x.rechunk({nd - 2: -1, nd - 1: -1})
    chunks = tuple(x.chunks[:-2]) + tuple((s,) for s in tail)
    drop = [nd - 2, nd - 1][len(tail):]
    return x.map_blocks(fn, chunks=chunks, drop_axis=drop, dtype=x.dtype if dtype is None else dtype)


def _real_dtype(x):
    """The real dtype of ``x``'s precision: what log|det|, eigenvalues of Hermitian
    matrices and singular values of complex matrices have."""
    return np.finfo(x.dtype).dtype


def _dask_ops():
    def square(name):
        def check(x):
            expect_matrices(name, x, square=True)
            return x.shape[-1]
        return check

    def inverse(xp, x):
        n = square("inv")(x)
        return _dask_blockwise(x, np.linalg.inv, (n, n))  # a singular matrix raises when computed

    def det(xp, x):
        square("det")(x)
        return _dask_blockwise(x, np.linalg.det, ())

    def slogdet(index):
        def forward(xp, x):
            square("slogdet")(x)
            return _dask_blockwise(x, lambda b: np.linalg.slogdet(b)[index], (),
                                   dtype=_real_dtype(x) if index == 1 else None)
        return forward

    def eigh(index):
        def forward(xp, x):
            n = square("eigh")(x)
            return _dask_blockwise(x, lambda b: np.linalg.eigh(b)[index], (n,) if index == 0 else (n, n),
                                   dtype=_real_dtype(x) if index == 0 else None)
        return forward

    def eig(index):
        def forward(xp, x):
            n = square("eig")(x)
            # Complex for every input, as the standard says (NumPy's is real where every
            # eigenvalue is).
            dtype = np.result_type(x.dtype, np.complex64)
            return _dask_blockwise(x, lambda b: np.linalg.eig(b)[index].astype(dtype, copy=False),
                                   (n,) if index == 0 else (n, n), dtype=dtype)
        return forward

    def eigvalsh(xp, x):
        return _dask_blockwise(x, np.linalg.eigvalsh, (square("eigvalsh")(x),), dtype=_real_dtype(x))

    def svd(index):
        def forward(xp, x, *, full_matrices=True):
            expect_matrices("svd", x)
            m, n = x.shape[-2], x.shape[-1]
            k = min(m, n)
            tail = [(m, m if full_matrices else k), (k,), (n if full_matrices else k, n)][index]
            return _dask_blockwise(x, lambda b: np.linalg.svd(b, full_matrices=full_matrices)[index], tail,
                                   dtype=_real_dtype(x) if index == 1 else None)
        return forward

    def svd_packed(xp, x, *, full_matrices=True):
        expect_matrices("svd", x)
        m, n, k, ku, kv = svd_sizes(x.shape, full_matrices)

        def packed(b):
            u, s, vh = np.linalg.svd(b, full_matrices=full_matrices)
            batch = u.shape[:-2]
            return np.concatenate([u.reshape(batch + (m * ku,)), s.astype(u.dtype),
                                   vh.reshape(batch + (kv * n,))], axis=-1)
        return _dask_blockwise(x, packed, (m * ku + k + kv * n,))

    def phase(xp, x):
        square("slogdet")(x)
        if not is_complex(x):
            raise TypeError(f"slogdet_phase takes complex matrices, got dtype {x.dtype}; the sign of a "
                            "real determinant is slogdet_sign (not differentiable)")
        return _dask_blockwise(x, lambda b: np.linalg.slogdet(b)[0], ())

    def svdvals(xp, x):
        expect_matrices("svdvals", x)
        return _dask_blockwise(x, lambda b: np.linalg.svd(b, compute_uv=False), (min(x.shape[-2:]),),
                               dtype=_real_dtype(x))

    def pinv(xp, x, *, rtol=None):
        expect_matrices("pinv", x)
        kw = {} if rtol is None else {"rtol": rtol}
        return _dask_blockwise(x, lambda b: np.linalg.pinv(b, **kw), (x.shape[-1], x.shape[-2]))

    def matrix_rank(xp, x, *, rtol=None):
        expect_matrices("matrix_rank", x)
        kw = {} if rtol is None else {"rtol": rtol}
        return _dask_blockwise(x, lambda b: np.asarray(np.linalg.matrix_rank(b, **kw), dtype=np.int64), (),
                               dtype=np.int64)

    def cholesky(xp, x, *, upper=False):
        n = square("cholesky")(x)
        lower = _dask_blockwise(x, np.linalg.cholesky, (n, n))
        return conj_T(xp, lower) if upper else lower

    def qr(index):
        def forward(xp, x, *, mode="reduced"):
            expect_matrices("qr", x)
            if mode not in ("reduced", "complete"):
                raise ValueError(f"qr: mode must be 'reduced' or 'complete', got {mode!r}")
            m, n = x.shape[-2], x.shape[-1]
            k = m if mode == "complete" else min(m, n)
            return _dask_blockwise(x, lambda b: np.linalg.qr(b, mode=mode)[index], [(m, k), (k, n)][index])
        return forward

    def solve(xp, x1, x2):
        # x1^-1 x2 through the registered inverse (dask's solve is 2-D only and needs SciPy).
        if x1.ndim < 2 or x1.shape[-1] != x1.shape[-2]:
            raise ValueError(f"solve: x1 must hold square matrices (..., M, M), got shape {tuple(x1.shape)}")
        vector = x2.ndim == 1
        return as_vector(xp, xp.matmul(inv(xp, x1), as_matrix(xp, x2, vector)), vector)

    return {"inv": inverse, "cholesky": cholesky, "qr_q": qr(0), "qr_r": qr(1), "solve": solve, "det": det,
            "slogdet_sign": slogdet(0), "slogdet_logabsdet": slogdet(1),
            "slogdet_phase": phase, "svd_packed": svd_packed,
            "eig_eigenvalues": eig(0), "eig_eigenvectors": eig(1),
            "eigh_eigenvalues": eigh(0), "eigh_eigenvectors": eigh(1), "eigvalsh": eigvalsh,
            "svd_u": svd(0), "svd_s": svd(1), "svd_vh": svd(2), "svdvals": svdvals, "pinv": pinv,
            "matrix_rank": matrix_rank}


def dask_variants(generic):
    """The dask definitions of the ops in ``generic`` that dask's namespace lacks: the
    same rules, a blockwise NumPy forward."""
    forwards = _dask_ops()
    out = []
    for op in generic:
        forward = forwards.get(op.name)
        if forward is None:
            continue
        out.append(op.replaced(forward, backends={"dask"}, doc=f"{op.doc} (dask: NumPy per block)"))
    return out
