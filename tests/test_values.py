"""The call path's frozen value classes (blocklist.values)."""

from __future__ import annotations

import pickle

import pytest

from blocklist.values import FrozenInstanceError, replace, value


@value
class Point:
    x: int
    y: int = 0
    label: str = ""

    def __post_init__(self) -> None:
        if self.x < 0:
            raise ValueError(f"x {self.x} is negative")


def test_init_defaults_repr_eq_hash() -> None:
    """Fields come from annotations, with defaults; equal values are equal and hash alike."""
    p = Point(1, label="a")
    assert (p.x, p.y, p.label) == (1, 0, "a")
    assert p == Point(1, 0, "a") and p != Point(2)
    assert hash(p) == hash(Point(1, 0, "a"))
    assert repr(p) == "Point(x=1, y=0, label='a')"
    assert Point.__slots__ == ("x", "y", "label")


def test_frozen() -> None:
    """Fields can't be assigned or deleted."""
    p = Point(1)
    with pytest.raises(FrozenInstanceError):
        p.x = 2  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        del p.y


def test_post_init_runs() -> None:
    """__post_init__ validates."""
    with pytest.raises(ValueError, match="-1"):
        Point(-1)


def test_replace_and_pickle() -> None:
    """replace() copies with changes; values pickle (worker processes receive them)."""
    p = Point(1, 2)
    assert replace(p, y=5) == Point(1, 5)
    assert pickle.loads(pickle.dumps(p)) == p


def test_match_args() -> None:
    """Positional pattern matching works as with dataclasses."""
    match Point(3, 4):
        case Point(x, y):
            assert (x, y) == (3, 4)
