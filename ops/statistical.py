"""Statistical functions: reductions (sum, mean, prod, max, min, var, std) over any
axes, with or without kept dimensions, and the cumulative sum and product.

Conventions the finite differences cannot see:

- ``max``/``min``: where several elements tie for the extremum, the gradient is split
  evenly among them (PyTorch's ``amax``): ``max([1, 3, 3])`` gives ``[0, .5, .5]``. The
  tangent of forward mode is likewise the mean of the tied elements' tangents.
- ``prod`` and ``cumulative_prod``: the gradients never divide by ``x`` where ``x`` may
  hold zeros, so they are exact there, to every order. ``prod`` uses the products of
  the elements before and after each one (exclusive cumulative products from both
  ends); ``cumulative_prod`` divides only when the input holds no zero and otherwise
  forms, per slice along the axis, the ``n x n`` products leaving one element out.
  Both are holomorphic: for complex input the VJP is ``g`` times the conjugate of the
  partial products (PyTorch's convention, ``dL/dx + i dL/dy``), the JVP ``t`` times
  them.
- ``std`` where the variance is exactly zero: the gradient is 0 (a subgradient; every
  ``x - mean`` is then exactly 0), not the NaN of ``0 / 0`` that PyTorch returns; it is
  held there, so the second derivative is 0 too (PyTorch's).
- ``var``/``std`` with ``correction`` >= the number of elements: NaN gradients, as the
  value itself is not finite (and warns with xpgrad's RuntimeWarning, on every
  backend). Over an empty slice the tangent of ``var`` is 0 (a sum of no terms,
  PyTorch's) and that of ``std`` NaN, as its value.
- complex input: ``var`` and ``std`` are real; the JVP of ``var`` is
  ``2 Re(sum(conj(x - mean) dx)) / (N - correction)``, that of ``std`` it over ``2 std``.
"""
import math
import warnings

from xpgrad.plugins import Op, hookimpl
from xpgrad.plugins.arrays import conj, count, device_of, is_complex, normalize_axes, restore_reduced


def _sum_vjp(xp, g, x_shape, axis, keepdims):
    return xp.broadcast_to(restore_reduced(xp, g, x_shape, axis, keepdims), x_shape)


def _mean_vjp(xp, g, x_shape, axis, keepdims):
    g = restore_reduced(xp, g, x_shape, axis, keepdims) / count(x_shape, axis)
    return xp.broadcast_to(g, x_shape)


# ---------------------------------------------------------------------- max, min


def _ties(xp, x, out, axis, keepdims, dtype):
    """Where ``x`` attains its reduced extremum ``out``, as weights summing to 1 per slice."""
    hit = xp.astype(x == restore_reduced(xp, out, tuple(x.shape), axis, keepdims), dtype)
    return hit / xp.sum(hit, axis=axis, keepdims=True)


def _extremum_vjp(xp, g, x, out, axis, keepdims):
    return restore_reduced(xp, g, tuple(x.shape), axis, keepdims) * _ties(xp, x, out, axis, keepdims, g.dtype)


def _extremum_jvp(xp, t, x, out, axis, keepdims):
    return xp.sum(t * _ties(xp, x, out, axis, keepdims, t.dtype), axis=axis, keepdims=keepdims)


# ---------------------------------------------------------------------- prod


def _flatten_reduced(xp, x, axis):
    """``x`` with the reduced axes moved last and merged into one; and the way back."""
    shape = tuple(x.shape)
    axes = normalize_axes(axis, len(shape))
    keep = tuple(i for i in range(len(shape)) if i not in axes)
    perm = keep + axes
    n = count(shape, axis)
    moved = tuple(shape[i] for i in perm)
    flat = xp.reshape(xp.permute_dims(x, perm), tuple(shape[i] for i in keep) + (n,))
    back = tuple(sorted(range(len(shape)), key=perm.__getitem__))

    def unflatten(y):
        return xp.permute_dims(xp.reshape(y, moved), back)

    return flat, unflatten


def _reverse_last(xp, x):
    return xp.flip(x, axis=-1)


def _exclusive_cumprod(xp, x):
    """Along the last axis: the product of the elements before each one (1 for the first)."""
    return xp.cumulative_prod(x, axis=-1, include_initial=True)[..., :-1]


def _prod_partials(xp, x, axis):
    """d prod(x, axis) / d x, elementwise: the product of all the other elements of the
    slice, as (product before) * (product after). Exact with zeros; no division."""
    flat, unflatten = _flatten_reduced(xp, x, axis)
    before = _exclusive_cumprod(xp, flat)
    after = _reverse_last(xp, _exclusive_cumprod(xp, _reverse_last(xp, flat)))
    return unflatten(before * after)


def _prod_vjp(xp, g, x, axis, keepdims):
    # holomorphic: g * conj(d prod / d x)
    return restore_reduced(xp, g, tuple(x.shape), axis, keepdims) * conj(xp, _prod_partials(xp, x, axis))


def _prod_jvp(xp, t, x, axis, keepdims, dtype):
    return xp.sum(t * _prod_partials(xp, x, axis), axis=axis, keepdims=keepdims, dtype=dtype)


# ---------------------------------------------------------------------- var, std


def _dof(x_shape, axis, correction):
    """The divisor of the variance, or None where it is not positive."""
    d = count(x_shape, axis) - correction
    return d if d > 0 else None


def _spread(name):
    """The forward of ``var`` or ``std``. Where no degrees of freedom are left (an empty
    slice, ``correction`` >= the count) the value is NaN or inf on every backend, and
    xpgrad warns with one RuntimeWarning of its own: the libraries' warnings differ
    (NumPy's are RuntimeWarnings, PyTorch's a UserWarning), and a program that filters
    warnings by category would see a different one on each."""
    def forward(xp, x, *, axis=None, correction=0.0, keepdims=False):
        reduce = getattr(xp, name)
        n = count(tuple(x.shape), axis)
        if not n - correction <= 0:  # (not <=: a dask array's unknown length, NaN, goes here)
            return reduce(x, axis=axis, correction=correction, keepdims=keepdims)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = reduce(x, axis=axis, correction=correction, keepdims=keepdims)
        warnings.warn(f"{name}: degrees of freedom <= 0 for slice ({n} elements, correction={correction}); "
                      "the result is NaN or inf", RuntimeWarning, stacklevel=2)
        return out

    return forward


def _centered(xp, x, axis):
    return x - xp.mean(x, axis=axis, keepdims=True)


def _var_vjp(xp, g, x, axis, correction, keepdims):
    d = _dof(tuple(x.shape), axis, correction)
    scale = 2 / d if d else math.nan
    return restore_reduced(xp, g, tuple(x.shape), axis, keepdims) * _centered(xp, x, axis) * scale


def _var_jvp(xp, t, x, axis, correction, keepdims):
    # d var = 2 Re(sum(conj(x - mean) dx)) / d: real, also for complex x
    if count(tuple(x.shape), axis) == 0:
        # a sum of no terms: 0, as PyTorch's (the mean of nothing is not computed)
        return xp.sum(xp.real(t) if is_complex(t) else t, axis=axis, keepdims=keepdims)
    d = _dof(tuple(x.shape), axis, correction)
    scale = 2 / d if d else math.nan
    c = _centered(xp, x, axis)
    prods = xp.real(conj(xp, c) * t) if is_complex(c) or is_complex(t) else c * t
    return xp.sum(prods, axis=axis, keepdims=keepdims) * scale


def _std_partials(xp, x, out, axis, correction, keepdims):
    """d std / d x = (x - mean) / (d * std); 0 where std is 0, held there (a subgradient:
    x - mean is 0 too, but its derivative is not, and 0 / std is no derivative of it)."""
    d = _dof(tuple(x.shape), axis, correction) or math.nan
    s = restore_reduced(xp, out, tuple(x.shape), axis, keepdims)
    zero = s == 0
    safe = xp.where(zero, xp.ones_like(s), s)
    return xp.where(zero, 0.0, _centered(xp, x, axis) / (safe * d))


def _std_vjp(xp, g, x, out, axis, correction, keepdims):
    return restore_reduced(xp, g, tuple(x.shape), axis, keepdims) * _std_partials(
        xp, x, out, axis, correction, keepdims)


def _std_jvp(xp, t, x, out, axis, correction, keepdims):
    # d std = d var / (2 std): real, also for complex x; 0 where std is 0 (the subgradient
    # of the VJP), NaN where std is (an empty slice, correction >= the count)
    dv = _var_jvp(xp, t, x, axis, correction, keepdims)
    zero = out == 0
    return xp.where(zero, xp.zeros_like(dv), dv / (2 * xp.where(zero, xp.ones_like(out), out)))


# ---------------------------------------------------------------------- cumulative sum


def _along(x, axis, index):
    """The key selecting ``index`` (a slice) along ``axis`` of ``x``."""
    axis %= x.ndim
    return (slice(None),) * axis + (index, Ellipsis)


def _cumsum_vjp(xp, g, x, axis, include_initial):
    # The adjoint of a cumulative sum is the cumulative sum from the other end, written
    # without reversing: sum_{j >= i} g_j = total - cumsum(g)_i + g_i.
    total = xp.sum(g, axis=axis, keepdims=True)
    if include_initial:  # out_j sums x_k for k < j: x_i reaches g_j for j > i
        n = x.shape[axis]
        return total - xp.cumulative_sum(g, axis=axis)[_along(g, axis, slice(0, n))]
    return total - xp.cumulative_sum(g, axis=axis) + g


def _cumsum_jvp(xp, t, axis, include_initial, dtype):
    return xp.cumulative_sum(t, axis=axis, include_initial=include_initial, dtype=dtype)


# ---------------------------------------------------------------------- cumulative product


def _has_zero(xp, x):
    return bool(xp.any(x == 0))


def _leave_one_out(xp, x, include_initial):
    """For ``x`` with ``axis`` moved last (length n): ``z[..., i, j]``, the cumulative
    product up to output ``j`` with element ``i`` left out, and the mask of the ``(i, j)``
    where element ``i`` enters output ``j``. O(n^2) per slice; used only with zeros."""
    n = x.shape[-1]
    dev = device_of(x)
    rows = xp.broadcast_to(xp.expand_dims(x, axis=-2), tuple(x.shape[:-1]) + (n, n))
    i = xp.reshape(xp.arange(n, device=dev), (n, 1))
    j = xp.reshape(xp.arange(n + include_initial, device=dev), (1, n + include_initial))
    eye = i == xp.reshape(xp.arange(n, device=dev), (1, n))
    z = xp.cumulative_prod(xp.where(eye, xp.ones_like(rows), rows), axis=-1, include_initial=include_initial)
    enters = i < j if include_initial else i <= j
    return z, xp.astype(enters, x.dtype)


def _move_last(xp, x, axis):
    axis %= x.ndim
    perm = tuple(i for i in range(x.ndim) if i != axis) + (axis,)
    return xp.permute_dims(x, perm), tuple(sorted(range(x.ndim), key=perm.__getitem__))


def _cumprod_vjp(xp, g, x, out, axis, include_initial):
    if not _has_zero(xp, x):
        # sum over the outputs x_i enters of g_j * conj(out_j), divided by conj(x_i) (x
        # has no zero): g times the conjugate of d out_j / d x_i = out_j / x_i
        h = g * conj(xp, out)
        total = xp.sum(h, axis=axis, keepdims=True)
        if include_initial:
            reach = total - xp.cumulative_sum(h, axis=axis)[_along(h, axis, slice(0, x.shape[axis]))]
        else:
            reach = total - xp.cumulative_sum(h, axis=axis) + h
        return reach / conj(xp, x)
    xl, back = _move_last(xp, x, axis)
    gl, _ = _move_last(xp, g, axis)
    z, enters = _leave_one_out(xp, xl, include_initial)
    return xp.permute_dims(xp.sum(conj(xp, z) * enters * xp.expand_dims(gl, axis=-2), axis=-1), back)


def _cumprod_jvp(xp, t, x, out, axis, include_initial):
    if not _has_zero(xp, x):
        return out * xp.cumulative_sum(t / x, axis=axis, include_initial=include_initial)
    xl, back = _move_last(xp, x, axis)
    tl, _ = _move_last(xp, t, axis)
    z, enters = _leave_one_out(xp, xl, include_initial)
    return xp.permute_dims(xp.sum(z * enters * xp.expand_dims(tl, axis=-1), axis=-2), back)


def _cumulative(name):
    def forward(xp, x, *, axis=None, dtype=None, include_initial=False):
        if axis is None:  # the standard allows None for one-dimensional x only
            if x.ndim != 1:
                raise ValueError(f"{name} needs axis= for an array of {x.ndim} dimension(s); "
                                 "axis may be left out for one-dimensional arrays only")
            axis = 0
        return getattr(xp, name)(x, axis=axis, dtype=dtype, include_initial=include_initial)

    return forward


def _axis_param(rule):
    """A cumulative rule with ``axis=None`` (one-dimensional x) read as axis 0."""
    def wrapped(xp, g, x, out, axis, include_initial):
        return rule(xp, g, x, out, 0 if axis is None else axis, include_initial)

    return wrapped


@hookimpl
def xpgrad_ops():
    return [
        # The node names are the ones the PyTorch tutorials print for a full reduction.
        Op("sum", lambda xp, x, *, axis=None, keepdims=False, dtype=None:
           xp.sum(x, axis=axis, keepdims=keepdims, dtype=dtype),
           vjp={"x": _sum_vjp}, jvp="linear", node_name="SumBackward0",
           doc="Sum over ``axis`` (all axes if None); an int or a tuple of ints, negatives allowed."),
        Op("mean", lambda xp, x, *, axis=None, keepdims=False: xp.mean(x, axis=axis, keepdims=keepdims),
           vjp={"x": _mean_vjp}, jvp="linear", node_name="MeanBackward1",
           doc="Arithmetic mean over ``axis`` (all axes if None)."),
        Op("prod", lambda xp, x, *, axis=None, keepdims=False, dtype=None:
           xp.prod(x, axis=axis, keepdims=keepdims, dtype=dtype),
           vjp={"x": _prod_vjp}, jvp={"x": _prod_jvp}, node_name="ProdBackward0",
           doc=("Product over ``axis``. The gradient of each element is the product of the others, computed without "
                "dividing by ``x``: exact where ``x`` holds zeros.")),
        Op("max", lambda xp, x, *, axis=None, keepdims=False: xp.max(x, axis=axis, keepdims=keepdims),
           vjp={"x": _extremum_vjp}, jvp={"x": _extremum_jvp}, node_name="AmaxBackward0",
           doc="Maximum over ``axis``; elements tying for it share its gradient evenly."),
        Op("min", lambda xp, x, *, axis=None, keepdims=False: xp.min(x, axis=axis, keepdims=keepdims),
           vjp={"x": _extremum_vjp}, jvp={"x": _extremum_jvp}, node_name="AminBackward0",
           doc="Minimum over ``axis``; elements tying for it share its gradient evenly."),
        Op("var", _spread("var"),
           vjp={"x": _var_vjp}, jvp={"x": _var_jvp}, node_name="VarBackward0",
           doc="Variance over ``axis``: the sum of squared deviations divided by ``N - correction``."),
        Op("std", _spread("std"),
           vjp={"x": _std_vjp}, jvp={"x": _std_jvp}, node_name="StdBackward0",
           doc="Standard deviation over ``axis``; its gradient is 0 (a subgradient) where it is 0."),
        Op("cumulative_sum", _cumulative("cumulative_sum"),
           vjp={"x": lambda xp, g, x, axis, include_initial:
                _cumsum_vjp(xp, g, x, 0 if axis is None else axis, include_initial)},
           jvp={"x": lambda xp, t, axis, include_initial, dtype:
                _cumsum_jvp(xp, t, 0 if axis is None else axis, include_initial, dtype)},
           node_name="CumsumBackward0",
           doc=("Running sum along ``axis`` (optional for one-dimensional ``x`` only); with ``include_initial`` the "
                "result starts with 0 and is one longer along ``axis``.")),
        Op("cumulative_prod", _cumulative("cumulative_prod"),
           vjp={"x": _axis_param(_cumprod_vjp)}, jvp={"x": _axis_param(_cumprod_jvp)},
           node_name="CumprodBackward0",
           doc=("Running product along ``axis``; with ``include_initial`` the result starts with 1. The gradient is "
                "exact where ``x`` holds zeros (it costs O(n^2) per slice there).")),
    ]
