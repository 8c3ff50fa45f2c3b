"""asterisk-conf/: the shipped dialplan and sample configuration agree with the service."""

from __future__ import annotations

import re
from pathlib import Path

from blocklist.settings import Settings

CONF = Path(__file__).resolve().parent.parent / "asterisk-conf"
README = CONF.parent / "README.md"
DIALPLAN_DOC = CONF.parent / "docs" / "dialplan.md"


def test_default_language_is_the_same_everywhere() -> None:
    """The service, the dialplan's fallback, the samples and the docs all default to en."""
    service = Settings.from_env({}).default_language
    dialplan = re.findall(r'\$\{IF\(\$\["\$\{lang\}" = ""\]\?([a-z_]+):\$\{lang\}\)\}',
                          (CONF / "callscreen.conf").read_text())
    env = re.findall(r"^CALLSCREEN_DEFAULT_LANGUAGE=(\S+)$",
                     (CONF / "sample" / "callscreen.env").read_text(), re.M)
    extensions = re.findall(r"^CALLSCREEN_DEFAULT_LANGUAGE\s*=\s*(\S+)$",
                            (CONF / "sample" / "extensions.conf").read_text(), re.M)
    documented = re.findall(r"^\| `CALLSCREEN_DEFAULT_LANGUAGE` \| `([a-z_]+)` \|",
                            README.read_text(), re.M)
    contract = re.findall(r"^\| `CALLSCREEN_DEFAULT_LANGUAGE` \| `([a-z_]+)` \|",
                          DIALPLAN_DOC.read_text(), re.M)
    header = re.findall(r";\s+usable prompt; default ([a-z_]+)",
                        (CONF / "callscreen.conf").read_text())
    assert service == "en"
    assert dialplan == env == extensions == header == contract == [service]
    assert documented == [service, service]  # the service's table and the dialplan's


def _context(text: str, name: str) -> str:
    """The lines of one [context] of a dialplan file."""
    found = re.search(rf"^\[{re.escape(name)}\]\n(.*?)(?=^\[|\Z)", text, re.M | re.S)
    assert found, f"no [{name}]"
    return found.group(1)


def _code(context: str) -> list[str]:
    """A context's dialplan lines, comments dropped."""
    return [line for line in context.splitlines()
            if line.strip() and not line.lstrip().startswith(";")]


def test_a_withheld_number_is_kept_only_in_its_own_variable() -> None:
    """callscreen-inbound clears CALLSCREEN_WITHHELD_NUMBER on every call, and on withhold
    sets it before the channel's number becomes `anonymous`; README and the callscreen.conf
    header document it."""
    inbound = _code(_context((CONF / "callscreen.conf").read_text(), "callscreen-inbound"))
    assert inbound[1].strip() == "same => n,Set(CALLSCREEN_WITHHELD_NUMBER=)"
    kept = next(i for i, line in enumerate(inbound) if "Set(CALLSCREEN_WITHHELD_NUMBER=$" in line)
    hidden = next(i for i, line in enumerate(inbound) if "Set(CALLERID(num)=anonymous)" in line)
    assert "(withhold)" in inbound[kept - 1] and kept < hidden
    assert "CALLERID(pres)=prohib" in "\n".join(inbound[hidden:])
    header = (CONF / "callscreen.conf").read_text().split("\n[", 1)[0]
    assert "CALLSCREEN_WITHHELD_NUMBER" in header
    assert "`CALLSCREEN_WITHHELD_NUMBER`" in README.read_text()
    assert "`CALLSCREEN_WITHHELD_NUMBER`" in DIALPLAN_DOC.read_text()
