"""Ops by family. Importing this package registers every op as a Tensor method."""

from gradlite.ops import (  # noqa: F401
    activation,
    arithmetic,
    comparison,
    convert,
    decomposition,
    indexing,
    inplace,
    join,
    linalg,
    more,
    pointwise,
    random,
    reduction,
    rounding,
    scatter_reduce,
    shape,
    solve,
    sorting,
)
