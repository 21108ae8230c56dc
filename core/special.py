"""``xpgrad.special``: PyTorch's ``torch.special`` functions, differentiable on every backend.

Each function is an op of ``xpgrad.ops.special`` (see it for which are computed by the
array library's own special functions, SciPy's on NumPy, dask and array-api-strict, and
which by the standard's functions on any backend), with first and second derivatives and
forward mode. Values and gradients follow ``torch.special``, at the edges too
(``erfinv(1) = inf``, ``xlogy(0, 0) = 0``, ``entr(0) = 0``).

On NumPy, dask and array-api-strict the functions ``erf``, ``erfc``, ``erfinv``,
``gammaln``, ``digamma``, ``polygamma``, ``ndtr``, ``log_ndtr``, ``ndtri``, ``i0``,
``i0e``, ``i1`` and ``i1e`` need SciPy (``pip install "xpgrad[special]"``).
"""
import operator

from .dispatch import apply

__all__ = ["erf", "erfc", "erfinv", "gammaln", "digamma", "polygamma", "expit", "logit", "xlogy", "xlog1py",
           "ndtr", "log_ndtr", "ndtri", "i0", "i0e", "i1", "i1e", "sinc", "entr"]


def erf(input):
    """The error function, ``2/sqrt(pi)`` times the integral of ``exp(-t**2)`` from 0 to ``x``.

    Parameters
    ----------
    input : Tensor

    Returns
    -------
    Tensor
        Of ``input``'s shape and dtype. Its derivative is ``2/sqrt(pi) * exp(-x**2)``.

    Examples
    --------
    >>> import xpgrad
    >>> x = xpgrad.tensor([0.0, 0.5], requires_grad=True)
    >>> y = xpgrad.special.erf(x)
    >>> y
    tensor([0.0000, 0.5205], grad_fn=<ErfBackward0>)
    >>> y.sum().backward()
    >>> x.grad
    tensor([1.1284, 0.8788])
    """
    return apply("erf", (input,))


def _unary(name, summary, derivative, node, shown, grad):
    """A one-argument function dispatching the op ``name``, with its docstring."""

    def fn(input):
        return apply(name, (input,))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"""{summary}

    Parameters
    ----------
    input : Tensor

    Returns
    -------
    Tensor
        Of ``input``'s shape and dtype. Its derivative is {derivative}.

    Examples
    --------
    >>> import xpgrad
    >>> x = xpgrad.tensor([0.25, 0.5], requires_grad=True)
    >>> y = xpgrad.special.{name}(x)
    >>> y
    tensor({shown}, grad_fn=<{node}>)
    >>> y.sum().backward()
    >>> x.grad
    tensor({grad})
    """
    return fn


erfc = _unary("erfc", "The complementary error function ``1 - erf(x)``, accurate where erf is close to 1.",
              "``-2/sqrt(pi) * exp(-x**2)``", "ErfcBackward0", "[0.7237, 0.4795]", "[-1.0600, -0.8788]")
erfinv = _unary("erfinv", "The inverse error function: ``erfinv(erf(x)) == x``; ``±inf`` at ``±1``, nan outside.",
                "``sqrt(pi)/2 * exp(erfinv(x)**2)``, inf at ``±1``", "ErfinvBackward0", "[0.2253, 0.4769]",
                "[0.9324, 1.1126]")
gammaln = _unary("gammaln", "``log|Gamma(x)|``, inf at the poles 0, -1, -2, ...", "``digamma(x)``",
                 "LgammaBackward0", "[1.2880, 0.5724]", "[-4.2275, -1.9635]")
digamma = _unary("digamma", "The digamma function ``Gamma'(x) / Gamma(x)``; ``-inf`` at ``+0``, nan at the "
                 "negative integers.", "``polygamma(1, x)``", "DigammaBackward0", "[-4.2275, -1.9635]",
                 "[17.1973,  4.9348]")
ndtr = _unary("ndtr", "The standard normal distribution function, the area under the density left of ``x``.",
              "the normal density ``exp(-x**2/2)/sqrt(2 pi)``", "SpecialNdtrBackward0", "[0.5987, 0.6915]",
              "[0.3867, 0.3521]")
log_ndtr = _unary("log_ndtr", "``log(ndtr(x))``, accurate far into the left tail (``log_ndtr(-40)`` is "
                  "about -804.6).", "``density(x) / ndtr(x)``, computed without overflow",
                  "SpecialLogNdtrBackward0", "[-0.5130, -0.3689]", "[0.6458, 0.5092]")
ndtri = _unary("ndtri", "The inverse of ``ndtr``: the standard normal quantile; ``-inf`` at 0, inf at 1, nan "
               "outside ``[0, 1]``.", "``sqrt(2 pi) * exp(ndtri(x)**2 / 2)``", "SpecialNdtriBackward0",
               "[-0.6745,  0.0000]", "[3.1469, 2.5066]")
i0 = _unary("i0", "The modified Bessel function of the first kind of order 0.", "``i1(x)``", "I0Backward0",
            "[1.0157, 1.0635]", "[0.1260, 0.2579]")
i0e = _unary("i0e", "The exponentially scaled ``i0``: ``exp(-|x|) * i0(x)``, which does not overflow.",
             "``i1e(x) - sign(x) * i0e(x)``", "SpecialI0EBackward0", "[0.7910, 0.6450]", "[-0.6929, -0.4886]")
i1 = _unary("i1", "The modified Bessel function of the first kind of order 1.",
            "``i0(x) - i1(x) / x``, 1/2 at 0", "SpecialI1Backward0", "[0.1260, 0.2579]", "[0.5118, 0.5477]")
i1e = _unary("i1e", "The exponentially scaled ``i1``: ``exp(-|x|) * i1(x)``, which does not overflow.",
             "``i0e(x) - i1e(x) * (sign(x) + 1/x)``, 1/2 at 0", "SpecialI1EBackward0", "[0.0981, 0.1564]",
             "[0.3005, 0.1758]")
sinc = _unary("sinc", "The normalized sinc ``sin(pi x) / (pi x)``, 1 at 0.",
              "``(pi x cos(pi x) - sin(pi x)) / (pi x**2)``, 0 at 0", "SincBackward0", "[0.9003, 0.6366]",
              "[-0.7728, -1.2732]")
entr = _unary("entr", "The elementwise entropy ``-x * log(x)``; 0 at 0 and ``-inf`` below 0.",
              "``-(1 + log(x))``, inf at 0", "SpecialEntrBackward0", "[0.3466, 0.3466]", "[ 0.3863, -0.3069]")


def polygamma(n, input):
    """The ``n``-th derivative of the digamma function.

    Parameters
    ----------
    n : int
        The order, at least 0 (``polygamma(0, x)`` is ``digamma(x)``); not differentiated.
    input : Tensor

    Returns
    -------
    Tensor
        Of ``input``'s shape and dtype. Its derivative is ``polygamma(n + 1, x)``. At the
        poles 0, -1, -2, ... the value is the backend library's (SciPy gives inf where
        PyTorch gives a large finite number).

    Raises
    ------
    TypeError
        If ``n`` is not an int.
    ValueError
        If ``n`` is negative.

    Examples
    --------
    >>> import xpgrad
    >>> x = xpgrad.tensor([1.0, 2.0], requires_grad=True)
    >>> y = xpgrad.special.polygamma(1, x)
    >>> y
    tensor([1.6449, 0.6449], grad_fn=<PolygammaBackward0>)
    >>> y.sum().backward()
    >>> x.grad
    tensor([-2.4041, -0.4041])
    """
    if not isinstance(n, int) or isinstance(n, bool):
        try:
            if isinstance(n, bool):
                raise TypeError
            n = operator.index(n)  # numpy's integers
        except TypeError:
            raise TypeError(f"polygamma: n must be an int, got {type(n).__name__} {n!r}") from None
    if n < 0:
        raise ValueError(f"polygamma: n must be a non-negative int, got {n}")
    return apply("polygamma", (input,), {"n": n})


def expit(input):
    """The logistic sigmoid ``1 / (1 + exp(-x))``, computed without overflow (``xpgrad.sigmoid``).

    Parameters
    ----------
    input : Tensor

    Returns
    -------
    Tensor
        Of ``input``'s shape and dtype. Its derivative is ``expit(x) * (1 - expit(x))``.

    Examples
    --------
    >>> import xpgrad
    >>> x = xpgrad.tensor([0.0, 2.0], requires_grad=True)
    >>> y = xpgrad.special.expit(x)
    >>> y
    tensor([0.5000, 0.8808], grad_fn=<SigmoidBackward0>)
    >>> y.sum().backward()
    >>> x.grad
    tensor([0.2500, 0.1050])
    """
    return apply("sigmoid", (input,))


def logit(input, eps=None):
    """The log-odds ``log(x / (1 - x))``, the inverse of ``expit``.

    Parameters
    ----------
    input : Tensor
    eps : float, optional
        If given, ``input`` is first clamped to ``[eps, 1 - eps]``, and the derivative is
        0 outside that interval. Without it the value is ``-inf`` at 0, inf at 1 and nan
        outside ``[0, 1]``.

    Returns
    -------
    Tensor
        Of ``input``'s shape and dtype. Its derivative is ``1 / (x (1 - x))``.

    Examples
    --------
    >>> import xpgrad
    >>> x = xpgrad.tensor([0.25, 0.5], requires_grad=True)
    >>> y = xpgrad.special.logit(x)
    >>> y
    tensor([-1.0986,  0.0000], grad_fn=<LogitBackward0>)
    >>> y.sum().backward()
    >>> x.grad
    tensor([5.3333, 4.0000])
    """
    if eps is None:
        return apply("logit", (input,))
    return apply("logit", (input,), {"eps": float(eps)})


def xlogy(input, other):
    """``x * log(y)``, 0 where ``x == 0`` unless ``y`` is nan (so ``xlogy(0, 0) == 0``).

    Parameters
    ----------
    input, other : Tensor or Python scalar
        ``x`` and ``y``; they broadcast. At least one is a Tensor.

    Returns
    -------
    Tensor
        Its derivatives are ``log(y)`` (0 where ``x == 0`` and ``y <= 0``, as in
        PyTorch) and ``x / y``.

    Examples
    --------
    >>> import xpgrad
    >>> x = xpgrad.tensor([0.0, 2.0], requires_grad=True)
    >>> z = xpgrad.special.xlogy(x, xpgrad.tensor([0.0, 3.0]))
    >>> z
    tensor([0.0000, 2.1972], grad_fn=<XlogyBackward0>)
    >>> z.sum().backward()
    >>> x.grad
    tensor([0.0000, 1.0986])
    """
    return apply("xlogy", (input, other))


def xlog1py(input, other):
    """``x * log1p(y)``, 0 where ``x == 0`` unless ``y`` is nan.

    Parameters
    ----------
    input, other : Tensor or Python scalar
        ``x`` and ``y``; they broadcast. At least one is a Tensor.

    Returns
    -------
    Tensor
        Its derivatives are ``log1p(y)`` (0 where ``x == 0`` and ``y <= -1``, as in
        PyTorch) and ``x / (1 + y)``.

    Examples
    --------
    >>> import xpgrad
    >>> x = xpgrad.tensor([0.0, 2.0], requires_grad=True)
    >>> z = xpgrad.special.xlog1py(x, 2.0)
    >>> z
    tensor([0.0000, 2.1972], grad_fn=<SpecialXlog1PyBackward0>)
    >>> z.sum().backward()
    >>> x.grad
    tensor([1.0986, 1.0986])
    """
    return apply("xlog1py", (input, other))
