"""Frozen, slotted value classes for the call path, without importing `dataclasses`.

Why: the per-call AGI script has a 30 ms budget for a whole Python process, and importing
`dataclasses` (which imports `inspect`, `ast`, `tokenize`, ...) measured as the largest single
cost of its start-up. `@value` gives what the call path's `@dataclass(frozen=True,
slots=True)` classes used: an `__init__` from the annotations with plain defaults, optional
`__post_init__`, `__repr__`, `__eq__`, `__hash__`, `__match_args__`, and immutability. Type
checkers see it as a dataclass (PEP 681). The admin side uses `dataclasses` as usual.

Not supported, on purpose: `field(...)`, default factories, inheritance of fields. Defaults
must be immutable values.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing itself costs the per-call script a few milliseconds
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeVar, dataclass_transform

    T = TypeVar("T")
else:

    def dataclass_transform(**_kwargs: object) -> object:
        return lambda function: function


class FrozenInstanceError(AttributeError):
    """Assigning to a field of a value."""


def _frozen_setattr(self: object, name: str, _value: object) -> None:
    raise FrozenInstanceError(f"cannot assign to field {name!r} of {type(self).__name__}")


def _frozen_delattr(self: object, name: str) -> None:
    raise FrozenInstanceError(f"cannot delete field {name!r} of {type(self).__name__}")


@dataclass_transform(frozen_default=True, eq_default=True)
def value(cls: type[T]) -> type[T]:
    """Turn an annotated class into a frozen, slotted value class."""
    names = list(cls.__dict__.get("__annotations__", {}))  # noqa: RUF063 - no inspect here
    defaults = {n: cls.__dict__[n] for n in names if n in cls.__dict__}
    params = ", ".join(f"{n}=_default_{n}" if n in defaults else n for n in names)
    body = [f"    _set(self, {n!r}, {n})" for n in names]
    if "__post_init__" in cls.__dict__:
        body.append("    self.__post_init__()")
    scope: dict[str, Any] = {"_set": object.__setattr__}
    scope.update({f"_default_{n}": v for n, v in defaults.items()})
    exec(f"def __init__(self, {params}):\n" + "\n".join(body or ["    pass"]), scope)  # noqa: S102

    namespace = {
        k: v for k, v in cls.__dict__.items()
        if k not in defaults and k not in ("__dict__", "__weakref__")
    }
    fields = tuple(names)

    def __repr__(self: object) -> str:
        inner = ", ".join(f"{n}={getattr(self, n)!r}" for n in fields)
        return f"{type(self).__qualname__}({inner})"

    def _astuple(self: object) -> tuple[object, ...]:
        return tuple(getattr(self, n) for n in fields)

    def __eq__(self: object, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return _astuple(self) == _astuple(other)

    def __hash__(self: object) -> int:
        return hash(_astuple(self))

    def __reduce__(self: object) -> tuple[object, tuple[object, ...]]:
        return type(self), _astuple(self)  # pickling (worker processes get Settings)

    namespace.update(
        __slots__=fields, __init__=scope["__init__"], __repr__=__repr__, __eq__=__eq__,
        __hash__=__hash__, __reduce__=__reduce__,
        __setattr__=_frozen_setattr, __delattr__=_frozen_delattr,
        __match_args__=fields, __value_fields__=fields,
    )
    made: Any = type(cls.__name__, cls.__bases__, namespace)
    made.__qualname__ = cls.__qualname__
    result: type[T] = made
    return result


def replace(obj: T, **changes: object) -> T:
    """A copy of a value with some fields changed."""
    fields: tuple[str, ...] = getattr(obj, "__value_fields__")  # noqa: B009
    current = {n: getattr(obj, n) for n in fields}
    current.update(changes)
    factory: Callable[..., T] = type(obj)
    return factory(**current)
