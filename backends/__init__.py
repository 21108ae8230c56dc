"""Array backends: the only part of xpgrad that knows array libraries by name.

Each module here is a plugin answering ``xpgrad_backends``; it is registered exactly as a
third-party backend would be.
"""
