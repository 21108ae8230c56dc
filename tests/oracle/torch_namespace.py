"""The PyTorch side's namespace: ``array_api_compat.torch``, adapted in this one place
where it does not run the standard's program as the standard says, or warns where the
test suite turns warnings into errors."""
import types

__all__ = ["namespace"]

_NS = None


def namespace():
    """``array_api_compat.torch`` with the adaptations below (made once)."""
    global _NS
    if _NS is None:
        import array_api_compat.torch as txp
        import torch

        def asarray(obj, /, *, dtype=None, device=None, copy=None, **kwargs):
            # torch.asarray of a Tensor warns that requires_grad now follows the input;
            # the standard's asarray(x, copy=True) of an array is a copy, recorded.
            if isinstance(obj, torch.Tensor):
                out = obj.clone() if copy else obj
                if dtype is not None and out.dtype != dtype:
                    out = out.to(dtype)
                return out
            return txp.asarray(obj, dtype=dtype, device=device, copy=copy, **kwargs)

        def unique_values(x, /):
            # PyTorch's unique has no derivative. xpgrad's convention, written in torch:
            # every element receives the gradient of its value (the value is the sum of
            # its copies less all but one copy held constant).
            values, inverse = torch.unique(x.detach().reshape(-1), sorted=True, return_inverse=True)
            flat = x.reshape(-1)
            sums = torch.zeros(values.shape, dtype=x.dtype).index_add(0, inverse, flat)
            counts = torch.zeros(values.shape, dtype=x.dtype).index_add(0, inverse, torch.ones_like(flat))
            return sums - (counts - 1) * values

        def sign(x, /):
            # array_api_compat's complex sign is x / |x| with the zeros overwritten in
            # place afterwards, whose gradient at 0 is nan (0 / 0 in the division's
            # backward); PyTorch's own complex sign is torch.sgn, with gradient 0 there.
            return torch.sgn(x) if x.dtype.is_complex else txp.sign(x)

        ns = types.ModuleType("oracle_torch_namespace")
        ns.__dict__.update({k: v for k, v in vars(txp).items() if not k.startswith("__")})
        ns.asarray = asarray
        ns.unique_values = unique_values
        ns.sign = sign
        _NS = ns
    return _NS
