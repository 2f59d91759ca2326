"""A CPU stand-in for CuPy (``cupy`` and ``cupyx`` in this folder), for tests only; see cupy/__init__.py."""
