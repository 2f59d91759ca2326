"""``gradlite.utils``: data loading (``gradlite.utils.data``)."""

from gradlite.utils import data  # noqa: F401
