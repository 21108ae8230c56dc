"""``xpgrad.testing``: the pytest plugin :mod:`xpgrad.plugins.testing` under a shorter name.

``pytest -p xpgrad.testing`` loads it: the ``backend`` and ``make`` fixtures, run across
every backend device, and :func:`check_grads` (see :mod:`xpgrad.plugins.testing` for
usage). Everything, the pytest hooks and fixtures included, is re-exported, so either
name works as a plugin; loading it under both names is harmless (PYTEST_DONT_REWRITE:
nothing here needs pytest's assertion rewriting).
"""
from xpgrad.plugins.testing import *  # noqa: F401,F403
from xpgrad.plugins.testing import __all__  # noqa: F401
