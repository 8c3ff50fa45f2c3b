"""The console's language catalogues: the same keys in every language, and every key a
template or page names is in them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from api.console import web

CONSOLE = Path(web.__file__).parent
# Keys built at run time from a fixed set of values: the prefix, then every value.
DYNAMIC = {
    "role.": ["read", "write", "admin"],
    "kind.": ["number", "prefix"], "mode.": ["standard", "strict", "off"],
    "language.": ["en", "nl"], "outcome.": ["added", "rejected"],
    "window.": ["hour", "day", "30d"], "status.": ["open", "upheld", "rejected"],
    "direction.": ["inbound", "outbound", "inbound_short", "outbound_short"],
    "count.": ["read", "accepted", "rejected", "added", "removed", "changed", "unchanged",
               "skipped_expired"],
}


def named_keys() -> set[str]:
    """Every literal catalogue key in the templates and the page modules."""
    found: set[str] = set()
    for template in (CONSOLE / "templates").glob("*.html"):
        found |= set(re.findall(r"""\bt\(["']([a-z_]+\.[a-z_.]+)["']""", template.read_text()))
        found |= {f"nav.{m}" for m in re.findall(r'"nav\.([a-z_]+)"', template.read_text())}
    for module in CONSOLE.glob("*.py"):
        text = module.read_text()
        found |= set(re.findall(r'"((?:error|done)\.[a-z_]+)"', text))
        found |= {f"done.{k}" for k in re.findall(r'after_change\([^,]+,\s*"([a-z_]+)"', text)}
    found |= {"done.dispute_uphold", "done.dispute_reject"}  # after_change(f"dispute_{...}")
    for prefix, values in DYNAMIC.items():
        found |= {prefix + v for v in values}
    return found


def test_every_language_has_the_same_keys() -> None:
    """Dutch and English name exactly the same strings."""
    assert set(web.catalog("nl")) == set(web.catalog("en"))


@pytest.mark.parametrize("language", web.LANGUAGES)
def test_every_named_key_is_in_the_catalogue(language: str) -> None:
    """No template or page names a string the catalogue lacks."""
    assert named_keys() - set(web.catalog(language)) == set()


@pytest.mark.parametrize("language", web.LANGUAGES)
def test_placeholders_are_the_same_in_every_language(language: str) -> None:
    """A translation fills the same {placeholders} as the English text."""
    english = web.catalog("en")
    for key, text in web.catalog(language).items():
        assert set(re.findall(r"\{(\w+)\}", text)) == set(re.findall(r"\{(\w+)\}",
                                                                     english[key])), key
