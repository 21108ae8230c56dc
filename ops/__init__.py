"""The built-in ops, grouped as the array API standard groups its functions.

Each module here is a plugin: it answers the ``xpgrad_ops`` hook exactly as a
third-party package does, and is registered by the plugin manager like any other. The
code is written against the standard namespace ``xp`` only, so one definition runs on
every backend, and the same VJP rules run on Tensors (with ``xpgrad.xp``) when a
backward pass is itself differentiated.
"""
