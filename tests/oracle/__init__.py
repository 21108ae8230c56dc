"""A differential test against PyTorch: every differentiable op of the registry runs the
same array API program on ``xpgrad.xp`` and on ``array_api_compat.torch``, and the
forward values, reverse-mode gradients, second derivatives and forward-mode JVPs are
compared (``docs/oracle.md``)."""
