"""gradlite's dtypes and PyTorch's type-promotion rules."""

from __future__ import annotations


class dtype:
    """A tensor element type: ``gradlite.float32``, ``gradlite.int64``, ``gradlite.bool``, ..."""

    __slots__ = ("name", "itemsize", "category", "is_floating_point", "is_signed")

    def __init__(self, name: str, itemsize: int, category: int):
        self.name, self.itemsize, self.category = name, itemsize, category
        self.is_floating_point = category == FLOAT
        self.is_signed = category != BOOL

    def __repr__(self) -> str:
        return f"gradlite.{self.name}"

    def __reduce__(self):
        return (_by_name, (self.name,))


BOOL, INT, FLOAT = 0, 1, 2

bool_ = dtype("bool", 1, BOOL)
uint8 = dtype("uint8", 1, INT)
int8 = dtype("int8", 1, INT)
int16 = dtype("int16", 2, INT)
int32 = dtype("int32", 4, INT)
int64 = dtype("int64", 8, INT)
float16 = dtype("float16", 2, FLOAT)
float32 = dtype("float32", 4, FLOAT)
float64 = dtype("float64", 8, FLOAT)

ALL = (bool_, uint8, int8, int16, int32, int64, float16, float32, float64)
BY_NAME = {d.name: d for d in ALL}
# PyTorch's aliases
BY_NAME.update(half=float16, float=float32, double=float64, short=int16, int=int32, long=int64)
# PyTorch's scalar-type names, as its error messages spell them ("not implemented for 'Long'")
TORCH_NAMES = {
    "bool": "Bool",
    "uint8": "Byte",
    "int8": "Char",
    "int16": "Short",
    "int32": "Int",
    "int64": "Long",
    "float16": "Half",
    "float32": "Float",
    "float64": "Double",
}

_default_float = float32


def _by_name(name: str) -> dtype:
    return BY_NAME[name]


def get_default_dtype() -> dtype:
    return _default_float


def set_default_dtype(d: dtype) -> None:
    """Set the dtype of python floats turned into tensors (float32 unless changed)."""
    global _default_float
    if not isinstance(d, dtype) or not d.is_floating_point:
        raise TypeError(f"only floating-point types are supported as the default type, got {d}")
    _default_float = d


def as_dtype(d) -> dtype:
    """Accept gradlite dtypes, their names, python types (float, int, bool) and NumPy dtypes."""
    if isinstance(d, dtype):
        return d
    if d is float:
        return _default_float
    if d is int:
        return int64
    if d is bool:
        return bool_
    name = d if isinstance(d, str) else getattr(d, "name", None) or getattr(d, "__name__", None)
    if name in BY_NAME:
        return BY_NAME[name]
    raise TypeError(f"unsupported dtype {d!r}; expected one of {', '.join(x.name for x in ALL)}")


# Operand priority in promotion, as PyTorch: dimensioned tensors > 0-d tensors > python scalars.
DIM, ZERO_DIM, SCALAR = 2, 1, 0

_promote_cache: dict = {}


def promote(a: dtype, a_tier: int, b: dtype, b_tier: int) -> dtype:
    """PyTorch's result type of a binary op between two operands of the given dtypes and tiers.

    The higher category (bool < int < float) wins; within it, the operands of the highest tier decide,
    taking the larger type. A python scalar of a higher category gives that category's default dtype.
    """
    key = (a, a_tier, b, b_tier)
    r = _promote_cache.get(key)
    if r is None:
        r = _promote_cache[key] = _promote(a, a_tier, b, b_tier)
    return r


def _promote(a, a_tier, b, b_tier):
    cat = max(a.category, b.category)
    ops = [(t, d) for d, t in ((a, a_tier), (b, b_tier)) if d.category == cat]
    top = max(t for t, _ in ops)
    if top == SCALAR:
        return {BOOL: bool_, INT: int64, FLOAT: _default_float}[cat]
    best = [d for t, d in ops if t == top]
    return max(best, key=lambda d: d.itemsize) if cat != INT else _promote_int(best)


def _promote_int(ds):
    if len(ds) == 2 and {ds[0].name, ds[1].name} == {"uint8", "int8"}:
        return int16
    return max(ds, key=lambda d: d.itemsize)


def scalar_dtype(v) -> dtype:
    """The dtype category representative of a python scalar."""
    if isinstance(v, bool):
        return bool_
    if isinstance(v, int):
        return int64
    return _default_float
