"""``xpgrad.nn.functional``: activations and losses as in ``torch.nn.functional``.

They have ``torch.nn.functional``'s names, signatures, defaults, reductions and errors.

>>> import xpgrad
>>> import xpgrad.nn.functional as F
>>> x = xpgrad.tensor([-1.0, 0.0, 2.0], dtype=xpgrad.float64, requires_grad=True)
>>> F.softplus(x)
tensor([0.3133, 0.6931, 2.1269], dtype=xpgrad.float64, grad_fn=<WhereBackward>)

Every function is a composition of xpgrad's differentiable functions (``xpgrad.xp`` and
the PyTorch-face functions), so it runs on every backend and differentiates to any
order. Each is written so that neither its value nor its gradient overflows at logits
of 1e4: a ``where`` whose unused branch would overflow gets a finite stand-in for that
branch's input, since the gradient of ``where`` multiplies by the unused branch too.

Differences from PyTorch: ``inplace=True`` is refused (xpgrad writes only into memory
it allocated); the class indices of ``nll_loss`` / ``cross_entropy`` / ``one_hot`` may
be of any integer dtype (PyTorch takes int64 and uint8 only); the gradient of
``binary_cross_entropy`` is the derivative of its clamped formula, which differs from
PyTorch's only where ``input`` is within about 1e-12 of 0 or 1 (PyTorch divides by
``max(x (1 - x), 1e-12)`` there).
"""
import math
import warnings

from xpgrad.dtypes import is_kind as _is_kind

from .. import functions as _f
from .. import xp as _xp
from ..creation import rand_like
from ..dispatch import batched
from ..tensor import Tensor

__all__ = [
    "linear", "relu", "leaky_relu", "elu", "gelu", "silu", "softplus", "sigmoid", "tanh", "softmax",
    "log_softmax", "one_hot", "dropout", "normalize", "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss",
    "nll_loss", "cross_entropy", "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div",
]

# ---------------------------------------------------------------------- checks


def _tensor(x, fn, what="input"):
    if not isinstance(x, Tensor) and not batched(x):
        raise TypeError(f"{fn}(): {what} must be an xpgrad Tensor, got {type(x).__name__}; "
                        "wrap data with xpgrad.tensor(...)")
    return x


def _no_inplace(inplace, fn):
    if inplace:
        raise ValueError(f"{fn}(): inplace=True is not supported (xpgrad writes only into memory it "
                         "allocated); use the result of inplace=False, the default")


def _is_integer(t):
    return _is_kind(t.dtype, "integral")


def _any(mask):
    return bool(_xp.any(mask))


_REDUCTIONS = ("none", "mean", "sum")


def _reduction(reduction, size_average=None, reduce=None, allowed=_REDUCTIONS, stacklevel=3):
    """The reduction to apply: ``reduction``, or the one the deprecated ``size_average`` /
    ``reduce`` pair names (with PyTorch's warning)."""
    if size_average is not None or reduce is not None:
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        reduction = "none" if not reduce else "mean" if size_average else "sum"
        warnings.warn(f"size_average and reduce args will be deprecated, please use reduction='{reduction}' "
                      "instead.", UserWarning, stacklevel=stacklevel)
    if reduction not in allowed:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return reduction


def _reduce(loss, reduction):
    if reduction == "mean":
        return _xp.mean(loss)
    if reduction == "sum":
        return _xp.sum(loss)
    return loss


def _same_size(input, target):
    """PyTorch's warning for a target of another shape than the input's (which then
    broadcast against each other)."""
    if tuple(target.shape) != tuple(input.shape):
        warnings.warn(f"Using a target size ({tuple(target.shape)}) that is different to the input size "
                      f"({tuple(input.shape)}). This will likely lead to incorrect results due to broadcasting. "
                      "Please ensure they have the same size.", UserWarning, stacklevel=4)


# ---------------------------------------------------------------------- linear


def linear(input, weight, bias=None):
    """``input @ weight.T + bias``: the affine map of ``torch.nn.functional.linear``.

    Parameters
    ----------
    input : Tensor
        Shape ``(*, in_features)``.
    weight : Tensor
        Shape ``(out_features, in_features)``, or ``(in_features,)`` (without a bias)
        for one output without its dimension.
    bias : Tensor or None
        Shape ``(out_features,)`` (or broadcasting to the result).

    Returns
    -------
    Tensor
        Shape ``(*, out_features)``.

    Examples
    --------
    >>> w = xpgrad.tensor([[1.0, 2.0], [0.0, -1.0], [3.0, 1.0]])
    >>> F.linear(xpgrad.tensor([[1.0, 1.0]]), w, xpgrad.tensor([0.5, 0.5, 0.5]))
    tensor([[ 3.5000, -0.5000,  4.5000]])
    """
    x, w = _tensor(input, "linear"), _tensor(weight, "linear", "weight")
    if w.ndim == 2:
        if x.ndim == 0 or x.shape[-1] != w.shape[1]:
            rows = math.prod(x.shape[:-1]) if x.ndim else 1
            cols = x.shape[-1] if x.ndim else 1
            raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({rows}x{cols} and "
                               f"{w.shape[1]}x{w.shape[0]})")
        out = _xp.matmul(x, _xp.matrix_transpose(w))
    elif w.ndim == 1:
        if bias is not None:  # PyTorch's addmm takes no vector weight
            raise RuntimeError("mat2 must be a matrix, got 1-D tensor")
        out = _xp.matmul(x, w)
    else:
        raise RuntimeError(f"linear(): weight must be 1-D or 2-D, got shape {tuple(w.shape)}")
    return out if bias is None else out + bias


# ---------------------------------------------------------------------- activations


def relu(input, inplace=False):
    """``max(input, 0)`` elementwise; its gradient is 0 at 0, as PyTorch's.

    Examples
    --------
    >>> F.relu(xpgrad.tensor([-1.0, 0.0, 2.0]))
    tensor([0., 0., 2.])
    """
    _no_inplace(inplace, "relu")
    return _f.relu(_tensor(input, "relu"))


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """``input`` where positive, ``negative_slope * input`` elsewhere, as PyTorch's ``leaky_relu``.

    The gradient at 0 is ``negative_slope``, as PyTorch's.

    Examples
    --------
    >>> F.leaky_relu(xpgrad.tensor([-2.0, 3.0]), 0.1)
    tensor([-0.2000,  3.0000])
    """
    _no_inplace(inplace, "leaky_relu")
    x = _tensor(input, "leaky_relu")
    return _xp.where(x > 0, x, x * negative_slope)


def elu(input, alpha=1.0, inplace=False):
    """``input`` where positive, ``alpha * (exp(input) - 1)`` elsewhere, as PyTorch's ``elu``.

    The gradient at 0 is ``alpha``, as PyTorch's. The exponential is taken of
    ``min(input, 0)`` only, so a large positive input overflows neither the value nor
    the gradient.

    Examples
    --------
    >>> F.elu(xpgrad.tensor([-1.0, 2.0]))
    tensor([-0.6321,  2.0000])
    """
    _no_inplace(inplace, "elu")
    x = _tensor(input, "elu")
    positive = x > 0
    return _xp.where(positive, x, alpha * _xp.expm1(_xp.where(positive, 0.0, x)))


def gelu(input, approximate="none"):
    """The Gaussian error linear unit ``x * Phi(x)``, ``Phi`` the standard normal CDF.

    Parameters
    ----------
    input : Tensor
    approximate : {"none", "tanh"}
        ``"none"``: ``0.5 x (1 + erf(x / sqrt(2)))`` (with :func:`xpgrad.special.erf`);
        ``"tanh"``: ``0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))``.

    Examples
    --------
    >>> F.gelu(xpgrad.tensor([-1.0, 1.0]), approximate="tanh")
    tensor([-0.1588,  0.8412])
    """
    x = _tensor(input, "gelu")
    if approximate == "tanh":
        inner = math.sqrt(2.0 / math.pi) * (x + 0.044715 * x * x * x)
        return 0.5 * x * (1.0 + _xp.tanh(inner))
    if approximate == "none":
        from .. import special

        return 0.5 * x * (1.0 + special.erf(x * (1.0 / math.sqrt(2.0))))
    raise RuntimeError("approximate argument must be either none or tanh.")


def silu(input, inplace=False):
    """``input * sigmoid(input)`` (the swish), without overflow.

    Examples
    --------
    >>> F.silu(xpgrad.tensor([0.0, 1.0]))
    tensor([0.0000, 0.7311])
    """
    _no_inplace(inplace, "silu")
    x = _tensor(input, "silu")
    return x * _f.sigmoid(x)


def softplus(input, beta=1.0, threshold=20.0):
    """``log(1 + exp(beta * input)) / beta``, as PyTorch's ``softplus``.

    ``input`` itself where ``beta * input > threshold``, as PyTorch's. The logarithm is
    ``logaddexp(0, beta * input)``, finite for any input, with the gradient
    ``sigmoid(beta * input)``.

    Examples
    --------
    >>> F.softplus(xpgrad.tensor([0.0, 30.0]))
    tensor([ 0.6931, 30.0000])
    """
    x = _tensor(input, "softplus")
    bx = x * beta
    return _xp.where(bx > threshold, x, _xp.logaddexp(0.0, bx) / beta)


def sigmoid(input):
    """The logistic function ``1 / (1 + exp(-input))``, elementwise, without overflow.

    Examples
    --------
    >>> F.sigmoid(xpgrad.tensor([0.0]))
    tensor([0.5000])
    """
    return _f.sigmoid(_tensor(input, "sigmoid"))


def tanh(input):
    """The hyperbolic tangent, elementwise.

    Examples
    --------
    >>> F.tanh(xpgrad.tensor([0.0]))
    tensor([0.])
    """
    return _f.tanh(_tensor(input, "tanh"))


def _softmax_dim(name, ndim, dim):
    if dim is not None:
        return dim
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call to include "
                  "dim=X as an argument.", UserWarning, stacklevel=3)
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    """``exp(input) / sum(exp(input), dim)``, stable for logits of any size.

    ``dim=None`` picks PyTorch's deprecated implicit dimension (0 for 0-, 1- and 3-D
    input, else 1) with its warning; ``dtype`` casts first.

    Examples
    --------
    >>> F.softmax(xpgrad.tensor([[1e4, 0.0]]), dim=1)
    tensor([[1., 0.]])
    """
    x = _tensor(input, "softmax")
    return _f.softmax(x, _softmax_dim("softmax", x.ndim, dim), dtype)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    """``input - logsumexp(input, dim)``: log-probabilities along ``dim``, stable.

    ``dim=None`` picks the implicit dimension as :func:`softmax` does.

    Examples
    --------
    >>> F.log_softmax(xpgrad.tensor([[0.0, 0.0]]), dim=1)
    tensor([[-0.6931, -0.6931]])
    """
    x = _tensor(input, "log_softmax")
    return _f.log_softmax(x, _softmax_dim("log_softmax", x.ndim, dim), dtype)


# ---------------------------------------------------------------------- data


def one_hot(tensor, num_classes=-1):
    """The class indices ``tensor`` as one-hot rows, as PyTorch's ``one_hot``.

    A ``tensor`` of shape ``(*)`` gives int64 of shape ``(*, num_classes)``;
    ``num_classes=-1`` takes one more than the largest index.

    Raises
    ------
    RuntimeError
        For a non-integer ``tensor``, a negative class, a class not smaller than
        ``num_classes``, or ``num_classes=-1`` with an empty ``tensor``.

    Examples
    --------
    >>> F.one_hot(xpgrad.tensor([0, 2]))
    tensor([[1, 0, 0],
            [0, 0, 1]])
    """
    t = _tensor(tensor, "one_hot", "tensor")
    if not _is_integer(t):
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    if num_classes == -1:
        if t.size == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(_xp.max(t)) + 1
    if t.size:
        if _any(t < 0):
            raise RuntimeError("Class values must be non-negative.")
        if _any(t >= num_classes):
            raise RuntimeError("Class values must be smaller than num_classes.")
    classes = _xp.arange(num_classes, dtype=t.dtype, device=t.device)
    return _xp.astype(_xp.expand_dims(t, axis=-1) == classes, "int64")


def dropout(input, p=0.5, training=True, inplace=False):
    """Each element zeroed with probability ``p``, the others scaled by ``1 / (1 - p)``.

    The mean stays; ``input`` itself when ``training`` is False or ``p`` is 0. The mask
    comes from :func:`xpgrad.rand_like`, so :func:`xpgrad.manual_seed` makes it
    reproducible. The gradient is the same mask, scaled.

    Examples
    --------
    >>> sorted(set(F.dropout(xpgrad.ones(1000), p=0.5).tolist()))
    [0.0, 2.0]
    """
    _no_inplace(inplace, "dropout")
    x = _tensor(input, "dropout")
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0 or x.size == 0:
        return x
    if p == 1:
        return x * 0.0
    keep = rand_like(x) < 1.0 - p
    return _xp.where(keep, x * (1.0 / (1.0 - p)), 0.0)


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    """``input / max(||input||_p, eps)``, the norm taken along ``dim``.

    Examples
    --------
    >>> F.normalize(xpgrad.tensor([[3.0, 4.0]]))
    tensor([[0.6000, 0.8000]])
    """
    if out is not None:
        raise ValueError("normalize(): out= is not supported; use the returned Tensor")
    x = _tensor(input, "normalize")
    return x / _f.clamp(x.norm(p, dim, keepdim=True), min=eps)


# ---------------------------------------------------------------------- regression losses


def _pointwise_loss(fn, input, target, size_average, reduce, reduction, weight, weighted_mean):
    """The elementwise loss ``fn(input - target)`` (broadcast, with PyTorch's warning for
    differing shapes), weighted and reduced. ``weighted_mean``: a weighted mean divides
    by the sum of the weights (``mse_loss``, ``l1_loss``), else by the count."""
    x, t = _tensor(input, fn.__name__), _tensor(target, fn.__name__, "target")
    _same_size(x, t)
    reduction = _reduction(reduction, size_average, reduce, stacklevel=4)
    loss = fn(x - t)
    if weight is None:
        return _reduce(loss, reduction)
    if tuple(weight.shape) != tuple(x.shape):
        raise ValueError("Weights and input must have the same size.")
    loss = loss * weight
    if reduction == "mean" and weighted_mean:
        return _xp.sum(loss) / _xp.sum(weight)
    return _reduce(loss, reduction)


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """The squared error ``(input - target)^2``, reduced.

    Parameters
    ----------
    input, target : Tensor
        Of one shape (others broadcast, with PyTorch's warning).
    size_average, reduce : bool or None
        PyTorch's deprecated spelling of ``reduction``.
    reduction : {"mean", "sum", "none"}
    weight : Tensor or None
        Per element, of ``input``'s shape; the mean is then ``sum(weight * error) /
        sum(weight)``.

    Examples
    --------
    >>> F.mse_loss(xpgrad.tensor([1.0, 2.0]), xpgrad.tensor([0.0, 0.0]))
    tensor(2.5000)
    """
    def squared(d):
        return d * d

    squared.__name__ = "mse_loss"
    return _pointwise_loss(squared, input, target, size_average, reduce, reduction, weight, True)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """The absolute error ``|input - target|``, reduced (gradient 0 where they are equal).

    Parameters as :func:`mse_loss`.

    Examples
    --------
    >>> F.l1_loss(xpgrad.tensor([1.0, -2.0]), xpgrad.tensor([0.0, 0.0]), reduction="sum")
    tensor(3.)
    """
    def absolute(d):
        return _xp.abs(d)

    absolute.__name__ = "l1_loss"
    return _pointwise_loss(absolute, input, target, size_average, reduce, reduction, weight, True)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    """``0.5 d^2 / beta`` where ``|d| < beta``, ``|d| - 0.5 beta`` elsewhere, reduced.

    ``d`` is ``input - target``; ``beta=0`` is :func:`l1_loss`.

    Examples
    --------
    >>> F.smooth_l1_loss(xpgrad.tensor([0.5, 3.0]), xpgrad.tensor([0.0, 0.0]), reduction="none")
    tensor([0.1250, 2.5000])
    """
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")

    def smooth(d):
        a = _xp.abs(d)
        if beta == 0:
            return a
        return _xp.where(a < beta, 0.5 * d * d / beta, a - 0.5 * beta)

    smooth.__name__ = "smooth_l1_loss"
    return _pointwise_loss(smooth, input, target, size_average, reduce, reduction, None, False)


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """``0.5 d^2`` where ``|d| < delta``, ``delta (|d| - 0.5 delta)`` elsewhere, reduced.

    ``d`` is ``input - target``. With ``weight`` (of ``input``'s shape) the mean is the
    plain mean of the weighted losses, as PyTorch's.

    Examples
    --------
    >>> F.huber_loss(xpgrad.tensor([0.5, 3.0]), xpgrad.tensor([0.0, 0.0]), reduction="none", delta=2.0)
    tensor([0.1250, 4.0000])
    """
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")

    def huber(d):
        a = _xp.abs(d)
        return _xp.where(a < delta, 0.5 * d * d, delta * (a - 0.5 * delta))

    huber.__name__ = "huber_loss"
    return _pointwise_loss(huber, input, target, None, None, reduction, weight, False)


# ---------------------------------------------------------------------- classification losses


def _class_targets(x, t, weight, ignore_index, fn):
    """Checks ``input`` (``(C,)``, ``(N, C)`` or ``(N, C, d1, ...)``) against its class
    indices ``target`` and the class weights; returns ``(x, t, squeeze)`` with a batch
    dimension added to a 1-D input (``squeeze``: take it off the result)."""
    if not _is_integer(t):
        raise RuntimeError(f"{fn}(): target must hold integer class indices (an int64 Tensor), got {t.dtype}")
    if x.ndim == 0:
        raise ValueError(f"{fn}(): input must have a class dimension, got a 0-d Tensor")
    squeeze = x.ndim == 1
    if squeeze:
        if t.ndim != 0:
            raise RuntimeError(f"{fn}(): a 1-D input (one sample's classes) takes a 0-d target, got shape "
                               f"{tuple(t.shape)}")
        x, t = _xp.expand_dims(x, axis=0), _xp.expand_dims(t, axis=0)
    if t.ndim == 0 or x.shape[0] != t.shape[0]:
        got = t.shape[0] if t.ndim else 1
        raise ValueError(f"Expected input batch_size ({x.shape[0]}) to match target batch_size ({got}).")
    expected = (x.shape[0],) + tuple(x.shape[2:])
    if tuple(t.shape) != expected:
        raise RuntimeError(f"Expected target size {list(expected)}, got {list(t.shape)}")
    n_classes = x.shape[1]
    if weight is not None and (weight.ndim != 1 or weight.shape[0] != n_classes):
        raise RuntimeError(f"weight tensor should be defined either for all {n_classes} classes or no classes "
                           f"but got weight tensor of shape: {list(weight.shape)}")
    bad = (t != ignore_index) & ((t < 0) | (t >= n_classes))
    if t.size and _any(bad):
        for value, wrong in zip(_xp.reshape(t, (-1,)).tolist(), _xp.reshape(bad, (-1,)).tolist()):
            if wrong:
                raise IndexError(f"Target {value} is out of bounds.")
    return x, t, squeeze


def _picked_and_weights(x, t, weight, ignore_index):
    """``x[i, t_i, ...]`` and each target's weight (0 where ignored), in ``t``'s shape."""
    kept = t != ignore_index
    safe = _xp.where(kept, t, 0)
    picked = _xp.squeeze(_xp.take_along_axis(x, _xp.expand_dims(safe, axis=1), axis=1), axis=1)
    if weight is None:
        w = _xp.astype(kept, x.dtype)
    else:
        w = _xp.reshape(_xp.take(weight, _xp.reshape(safe, (-1,)), axis=0), tuple(t.shape))
        w = _xp.where(kept, w, 0.0)
    return picked, w


def _weighted_mean(total, weight_sum):
    """``total / weight_sum``; NaN (as PyTorch's) without a warning when no target
    counts, with a zero gradient."""
    counts = weight_sum != 0
    return _xp.where(counts, total / _xp.where(counts, weight_sum, 1.0), math.nan)


def _nll(x, t, weight, ignore_index, reduction):
    picked, w = _picked_and_weights(x, t, weight, ignore_index)
    loss = -(picked * w)
    if reduction == "mean":
        return _weighted_mean(_xp.sum(loss), _xp.sum(w))
    return _reduce(loss, reduction)


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"):
    """The negative log-likelihood ``-weight[t] * input[n, t]`` of the class indices ``target``.

    ``input`` holds log-probabilities.

    Parameters
    ----------
    input : Tensor
        Log-probabilities, shape ``(C,)``, ``(N, C)`` or ``(N, C, d1, ...)``.
    target : Tensor
        Integer class indices in ``[0, C)``, shape ``()``, ``(N,)`` or ``(N, d1, ...)``.
    weight : Tensor or None
        One weight per class, shape ``(C,)``.
    size_average, reduce : bool or None
        PyTorch's deprecated spelling of ``reduction``.
    ignore_index : int
        A target of this value adds nothing, and does not count in the mean.
    reduction : {"mean", "sum", "none"}
        ``"mean"`` divides by the sum of the weights of the targets not ignored (NaN when
        every target is ignored, as PyTorch's).

    Raises
    ------
    IndexError
        For a target outside ``[0, C)`` other than ``ignore_index``.
    ValueError, RuntimeError
        For shapes that do not match, PyTorch's.

    Examples
    --------
    >>> logp = xpgrad.log_softmax(xpgrad.tensor([[1.0, 2.0], [0.5, 0.5]]), dim=1)
    >>> F.nll_loss(logp, xpgrad.tensor([1, 0]))
    tensor(0.5032)
    """
    x, t = _tensor(input, "nll_loss"), _tensor(target, "nll_loss", "target")
    reduction = _reduction(reduction, size_average, reduce)
    x, t, squeeze = _class_targets(x, t, weight, ignore_index, "nll_loss")
    loss = _nll(x, t, weight, ignore_index, reduction)
    return _xp.squeeze(loss, axis=0) if squeeze and reduction == "none" else loss


def _class_weights_shape(weight, ndim):
    return _xp.reshape(weight, (1, weight.shape[0]) + (1,) * (ndim - 2))


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
                  reduction="mean", label_smoothing=0.0):
    """The cross-entropy of the logits ``input`` against class indices or class probabilities.

    For class indices it is ``nll_loss(log_softmax(input, 1), target)``.

    Parameters
    ----------
    input : Tensor
        Unnormalized logits, shape ``(C,)``, ``(N, C)`` or ``(N, C, d1, ...)``.
    target : Tensor
        Integer class indices (shaped as for :func:`nll_loss`), or floating-point class
        probabilities of ``input``'s shape.
    weight : Tensor or None
        One weight per class, shape ``(C,)``.
    ignore_index : int
        For class indices: a target of this value adds nothing and does not count in
        the mean (not taken with probabilities).
    reduction : {"mean", "sum", "none"}
        For indices, the mean divides by the sum of the weights of the targets not
        ignored; for probabilities, by the number of samples (``input.numel() / C``).
    label_smoothing : float
        In ``[0, 1]``: the target is mixed with the uniform distribution, ``(1 - s) *
        target + s / C``, with PyTorch's formula (for indices, the smoothing term is
        weighted and normalized like the loss).

    Examples
    --------
    >>> logits = xpgrad.tensor([[2.0, 0.5, -1.0], [0.0, 1.0, 0.0]])
    >>> F.cross_entropy(logits, xpgrad.tensor([0, 1]))
    tensor(0.3964)
    >>> F.cross_entropy(logits, xpgrad.tensor([0, 1]), label_smoothing=0.1)
    tensor(0.5047)
    """
    x, t = _tensor(input, "cross_entropy"), _tensor(target, "cross_entropy", "target")
    reduction = _reduction(reduction, size_average, reduce)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    if not _is_integer(t):
        return _cross_entropy_probabilities(x, t, weight, ignore_index, reduction, label_smoothing)
    x, t, squeeze = _class_targets(x, t, weight, ignore_index, "cross_entropy")
    logp = _f.log_softmax(x, 1)
    loss = _nll(logp, t, weight, ignore_index, reduction)
    if label_smoothing > 0:
        n_classes = x.shape[1]
        kept = t != ignore_index
        per_class = logp if weight is None else logp * _class_weights_shape(weight, x.ndim)
        smooth = _xp.where(kept, -_xp.sum(per_class, axis=1), 0.0)
        if reduction == "mean":
            _, w = _picked_and_weights(x, t, weight, ignore_index)
            smooth = _weighted_mean(_xp.sum(smooth), _xp.sum(w))
        else:
            smooth = _reduce(smooth, reduction)
        loss = (1.0 - label_smoothing) * loss + smooth * (label_smoothing / n_classes)
    return _xp.squeeze(loss, axis=0) if squeeze and reduction == "none" else loss


def _cross_entropy_probabilities(x, t, weight, ignore_index, reduction, label_smoothing):
    if not _is_kind(t.dtype, "real floating"):
        raise RuntimeError(f"cross_entropy(): target must be integer class indices or floating-point class "
                           f"probabilities, got {t.dtype}")
    if tuple(t.shape) != tuple(x.shape):
        raise RuntimeError(f"cross_entropy(): class probabilities must have the input's shape "
                           f"{tuple(x.shape)}, got {tuple(t.shape)} (class indices are an integer Tensor)")
    if ignore_index != -100:
        raise RuntimeError("ignore_index is not supported for floating point target")
    if x.ndim == 0:
        raise ValueError("cross_entropy(): input must have a class dimension, got a 0-d Tensor")
    class_dim = 0 if x.ndim == 1 else 1
    n_classes = x.shape[class_dim]
    if weight is not None and (weight.ndim != 1 or weight.shape[0] != n_classes):
        raise RuntimeError(f"weight tensor should be defined either for all {n_classes} classes or no classes "
                           f"but got weight tensor of shape: {list(weight.shape)}")
    logp = _f.log_softmax(x, class_dim)
    if label_smoothing > 0:
        t = t * (1.0 - label_smoothing) + label_smoothing / n_classes
    terms = logp * t
    if weight is not None:
        terms = terms * (weight if x.ndim == 1 else _class_weights_shape(weight, x.ndim))
    if reduction == "none":
        return -_xp.sum(terms, axis=class_dim)
    total = -_xp.sum(terms)
    return total / (x.size // n_classes) if reduction == "mean" else total


def _log_clamped(x):
    """``max(log(x), -100)`` for ``x`` in ``[0, 1]``, with no log of 0 taken."""
    positive = x > 0
    return _xp.where(positive, _f.clamp(_xp.log(_xp.where(positive, x, 1.0)), min=-100.0), -100.0)


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    """``-weight * (target log(input) + (1 - target) log(1 - input))`` for probabilities ``input``.

    Each log is clamped at -100, as PyTorch's, so 0 and 1 give finite losses.

    Parameters
    ----------
    input : Tensor
        Probabilities in ``[0, 1]``.
    target : Tensor
        Of ``input``'s shape.
    weight : Tensor or None
        Broadcasting to ``input``'s shape.
    reduction : {"mean", "sum", "none"}

    Raises
    ------
    ValueError
        For a target of another shape.
    RuntimeError
        For an input outside ``[0, 1]``.

    Examples
    --------
    >>> F.binary_cross_entropy(xpgrad.tensor([0.8, 0.1]), xpgrad.tensor([1.0, 0.0]))
    tensor(0.1643)
    """
    x, t = _tensor(input, "binary_cross_entropy"), _tensor(target, "binary_cross_entropy", "target")
    reduction = _reduction(reduction, size_average, reduce)
    if tuple(t.shape) != tuple(x.shape):
        raise ValueError(f"Using a target size ({tuple(t.shape)}) that is different to the input size "
                         f"({tuple(x.shape)}) is deprecated. Please ensure they have the same size.")
    if x.size and _any((x < 0) | (x > 1)):
        raise RuntimeError("all elements of input should be between 0 and 1")
    loss = -(t * _log_clamped(x) + (1.0 - t) * _log_clamped(1.0 - x))
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction="mean", pos_weight=None):
    """:func:`binary_cross_entropy` of ``sigmoid(input)``, computed from the logits without overflow.

    That is ``(1 - target) * input + (1 + (pos_weight - 1) * target) *
    softplus(-input)``, times ``weight``.

    ``softplus(-x)`` is ``logaddexp(0, -x)`` (that is ``-log(sigmoid(x))``), finite with a
    finite gradient at logits of any size.

    Parameters
    ----------
    input : Tensor
        Logits.
    target : Tensor
        Of ``input``'s shape, in ``[0, 1]``.
    weight : Tensor or None
        Broadcasting to ``input``'s shape.
    reduction : {"mean", "sum", "none"}
    pos_weight : Tensor or None
        The weight of the positive term, broadcasting along the last dimension (one per
        class).

    Examples
    --------
    >>> F.binary_cross_entropy_with_logits(xpgrad.tensor([1e4, -1e4]), xpgrad.tensor([1.0, 0.0]))
    tensor(0.)
    """
    x = _tensor(input, "binary_cross_entropy_with_logits")
    t = _tensor(target, "binary_cross_entropy_with_logits", "target")
    reduction = _reduction(reduction, size_average, reduce)
    if tuple(t.shape) != tuple(x.shape):
        raise ValueError(f"Target size ({tuple(t.shape)}) must be the same as input size ({tuple(x.shape)})")
    neg_log_sigmoid = _xp.logaddexp(0.0, -x)
    if pos_weight is None:
        loss = (1.0 - t) * x + neg_log_sigmoid
    else:
        loss = (1.0 - t) * x + ((pos_weight - 1.0) * t + 1.0) * neg_log_sigmoid
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    """The pointwise Kullback-Leibler divergence ``target * (log(target) - input)``, reduced.

    ``input`` holds log-probabilities; the divergence is 0 where ``target`` is 0.

    Parameters
    ----------
    input : Tensor
        Log-probabilities.
    target : Tensor
        Probabilities, or log-probabilities with ``log_target=True`` (then the loss is
        ``exp(target) * (target - input)``). Where a probability is 0, its gradient
        leaves out ``log(target)`` (there ``-inf``; PyTorch's gradient is NaN there).
    reduction : {"mean", "batchmean", "sum", "none"}
        ``"batchmean"`` divides the sum by the batch size ``input.shape[0]``, the
        mathematical KL divergence per sample; ``"mean"`` divides by the number of
        elements and warns, as PyTorch does.

    Examples
    --------
    >>> logq = xpgrad.log(xpgrad.tensor([[0.5, 0.5]]))
    >>> F.kl_div(logq, xpgrad.tensor([[0.9, 0.1]]), reduction="batchmean")
    tensor(0.3681)
    """
    x, t = _tensor(input, "kl_div"), _tensor(target, "kl_div", "target")
    if size_average is not None or reduce is not None:
        reduction = _reduction(None, size_average, reduce)
    else:
        if reduction == "mean":
            warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the support size."
                          "'batchmean' divides only by the batch size, and aligns with the KL div math "
                          "definition.'mean' will be changed to behave the same as 'batchmean' in the next "
                          "major release.", UserWarning, stacklevel=2)
        reduction = _reduction(reduction, allowed=_REDUCTIONS + ("batchmean",))
    if log_target:
        loss = _xp.exp(t) * (t - x)
    else:
        positive = t > 0
        loss = _xp.where(positive, t * _xp.log(_xp.where(positive, t, 1.0)), 0.0) - t * x
    if reduction == "batchmean":
        total = _xp.sum(loss)
        return total / x.shape[0] if x.ndim else total
    return _reduce(loss, reduction)
