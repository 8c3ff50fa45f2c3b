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
