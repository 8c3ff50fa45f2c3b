"""asterisk-conf/: the shipped dialplan and sample configuration agree with the service."""

from __future__ import annotations

import re
from pathlib import Path

from blocklist.origin import Attestation, read_attestation
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


def test_the_attestation_routine_returns_only_what_the_service_reads() -> None:
    """Every literal result of callscreen-attestation (and the letters it takes from verstat)
    is an ATTESTATION the service reads; the verstat values it compares are lower case (it
    lowers the header first), so a value written in another case could never match."""
    routine = _context((CONF / "callscreen.conf").read_text(), "callscreen-attestation")
    literals = re.findall(r"Set\(LOCAL\(result\)=([^$)]+)\)", routine)
    defaults = re.findall(r"\?\$\{letter\}:([A-Za-z]+)\)", routine)
    compared = re.findall(r'"\$\{verstat\}" = "([^"]*)"', routine)
    assert set(literals) == {"failed"} and defaults == ["failed", "B"]
    assert {read_attestation(value) for value in [*literals, *defaults]} == {
        Attestation.FAILED, Attestation.B}
    letters = {value[len("tn-validation-passed-"):] for value in compared
               if value.startswith("tn-validation-passed-")}
    assert {read_attestation(letter) for letter in letters} == {
        Attestation.A, Attestation.B, Attestation.C}
    assert "${TOUPPER(${verstat:21:1})}" in routine  # 21 = len("tn-validation-passed-")
    assert compared and all(value == value.lower() for value in compared)
    assert "${TOLOWER(${PJSIP_HEADER(read,P-Asserted-Identity)})}" in routine


def test_verstat_is_read_from_the_uri_only() -> None:
    """The display name of P-Asserted-Identity (often the caller's own From) is cut off
    first: the routine keeps what follows the last '<' up to '>', and only then looks for
    the URI parameter ';verstat=' (a bare 'verstat=' would match inside a name)."""
    lines = _code(_context((CONF / "callscreen.conf").read_text(), "callscreen-attestation"))
    code = [line.strip() for line in lines]
    uri = code.index("same => n,Set(LOCAL(pai)=${CUT(pai,<,${FIELDQTY(pai,<)})})")
    assert code[uri + 1] == "same => n,Set(LOCAL(pai)=${CUT(pai,>,1)})"
    cut = code.index(r"same => n,Set(LOCAL(pai)=${STRREPLACE(pai,\;verstat=,|)})")
    assert uri < cut
    assert [line for line in code if "verstat=" in line] == [code[cut]]


def test_the_stir_argument_skips_verstat_and_the_sample_abroad_uses_it() -> None:
    """callscreen-attestation,s,1(stir) goes from STIR/SHAKEN straight to the end (any other
    argument too, with a WARNING); the sample's international trunk uses it, with a comment
    why, its national trunk does not; README and docs/dialplan.md document the argument."""
    routine = _code(_context((CONF / "callscreen.conf").read_text(), "callscreen-attestation"))
    start = next(i for i, line in enumerate(routine) if "n(verstat)," in line)
    assert "${LEN(${ARG1})} = 0]?verstatread" in routine[start]
    assert '"${FILTER(a-z,${ARG1})}" = "stir"]?done' in routine[start + 1]
    assert routine[start + 2].strip().startswith("same => n,Log(WARNING,")
    assert routine[start + 3].strip() == "same => n,Goto(done)"
    assert "n(verstatread)," in routine[start + 4]
    assert not any("PJSIP_HEADER" in line for line in routine[:start])
    sample = (CONF / "sample" / "extensions.conf").read_text()
    abroad = _context(sample, "from-trunk-international")
    assert "Gosub(callscreen-attestation,s,1(stir))" in abroad
    assert "far end's word" in abroad
    assert "Gosub(callscreen-attestation,s,1)" in _context(sample, "from-trunk-national")
    for doc in (README, DIALPLAN_DOC):
        text = doc.read_text()
        assert "Gosub(callscreen-attestation,s,1(stir))" in text, doc.name
        assert "only from a trunk whose carrier sets it" in " ".join(text.split()), doc.name


def test_verstat_passed_counts_only_when_it_is_exactly_one_letter() -> None:
    """CALLSCREEN_VERSTAT_PASSED is validated, not filtered: the letter FILTER keeps counts only
    when the value itself is one character long (so NA or xA is B), else a WARNING."""
    routine = _context((CONF / "callscreen.conf").read_text(), "callscreen-attestation")
    passed = _code(routine[routine.index("(passed)"):])
    assert "Set(LOCAL(letter)=${FILTER(ABC,${CALLSCREEN_VERSTAT_PASSED})})" in passed[0]
    chosen = [line for line in passed if "?${letter}:B)" in line]
    assert len(chosen) == 1 and (
        "${LEN(${CALLSCREEN_VERSTAT_PASSED})} = 1 & ${LEN(${letter})} = 1]" in chosen[0])
    assert any("Log(WARNING,callscreen-attestation: CALLSCREEN_VERSTAT_PASSED" in line
               for line in passed)


def test_an_agi_without_an_answer_tries_the_backup() -> None:
    """callscreen-run skips CALLSCREEN_AGI_BACKUP only after a hangup or a SUCCESS that
    brought a SCREEN_ACTION; a SUCCESS without one (a FastAGI server killed mid-conversation)
    tries it, and docs/dialplan.md says so, and that without a backup it is invalid-action."""
    run = [line.strip() for line in
           _code(_context((CONF / "callscreen.conf").read_text(), "callscreen-run"))]
    start = run.index("same => n(agidone),Set(LOCAL(via)=main)")
    assert run[start + 1:start + 5] == [
        'same => n,GotoIf($["${AGISTATUS}" = "HANGUP"]?answer)',
        'same => n,GotoIf($["${AGISTATUS}" = "SUCCESS" & ${LEN(${SCREEN_ACTION})} > 0]?answer)',
        'same => n,GotoIf($["${CALLSCREEN_AGI_BACKUP}" = ""]?answer)',
        "same => n,Set(LOCAL(via)=backup)",
    ]
    doc = " ".join(DIALPLAN_DOC.read_text().split())
    assert "or ended in `SUCCESS` without an answer (`SCREEN_ACTION` empty" in doc
    assert ("gives allow with `invalid-action`, and so does an AGI that ended in `SUCCESS` with"
            " no answer when no backup is set") in doc


def test_the_verstat_default_is_b_everywhere() -> None:
    """A bare TN-Validation-Passed counts as B (not A, which would let a home number from
    abroad through): the routine, its header, the sample globals and both docs say so."""
    conf = (CONF / "callscreen.conf").read_text()
    routine = _context(conf, "callscreen-attestation")
    passed = routine[routine.index("(passed)"):]
    assert re.findall(r"\?\$\{letter\}:([A-Z])\)", passed) == ["B"]
    assert re.search(r";\s+level\): A, B or C; default B\.", conf)
    assert re.findall(r"^CALLSCREEN_VERSTAT_PASSED\s*=\s*(\S+)$",
                      (CONF / "sample" / "extensions.conf").read_text(), re.M) == ["B"]
    for doc in (README, DIALPLAN_DOC):
        assert re.findall(r"^\| `CALLSCREEN_VERSTAT_PASSED` \| `([A-Z])` \|", doc.read_text(),
                          re.M) == ["B"], doc.name


def test_trunk_contexts_pass_the_attestation_on() -> None:
    """The sample has a national and an international trunk context, and every extension of
    a context that gives callscreen-inbound an ORIGIN (sample and test Asterisk) first asks
    callscreen-attestation and passes what it returned."""
    sample = (CONF / "sample" / "extensions.conf").read_text()
    test = (CONF / "test" / "extensions.conf").read_text()
    origins = re.findall(r"callscreen-inbound,s,1\(\$\{EXTEN\},(national|international),",
                         sample)
    assert sorted(origins) == ["international", "national"]
    for text, names in ((sample, ["from-trunk-national", "from-trunk-international"]),
                        (test, ["from-trunk", "from-abroad"])):
        for name in names:
            extensions = _extensions(_code(_context(text, name)))
            assert extensions, name
            for lines in extensions:
                asks = [i for i, line in enumerate(lines) if re.search(
                    r"Gosub\(callscreen-attestation,s,1(\(stir\))?\)", line)]
                screens = [i for i, line in enumerate(lines)
                           if "Gosub(callscreen-inbound," in line]
                assert len(asks) == 1 and len(screens) == 1 and asks[0] < screens[0], name
                passed = re.search(
                    r"callscreen-inbound,s,1\(\$\{EXTEN(:4)?\},[a-z]*,(\$\{\w+\})\)\)",
                    lines[screens[0]])
                assert passed, name
                between = "\n".join(lines[asks[0]:screens[0] + 1])
                assert passed.group(2) == "${GOSUB_RETVAL}" or (
                    f"Set({passed.group(2)[2:-1]}=${{GOSUB_RETVAL}})" in between), name


def _extensions(lines: list[str]) -> list[list[str]]:
    """A context's code lines, one list per `exten =>` and the `same =>` lines after it."""
    found: list[list[str]] = []
    for line in lines:
        if line.startswith("exten =>"):
            found.append([])
        if found:
            found[-1].append(line)
    return found


def test_a_withheld_number_is_kept_only_in_its_own_variable() -> None:
    """callscreen-inbound clears CALLSCREEN_WITHHELD_NUMBER on every call, and on withhold
    sets it before the channel's number becomes `anonymous`; README and the callscreen.conf
    header document it."""
    inbound = _code(_context((CONF / "callscreen.conf").read_text(), "callscreen-inbound"))
    assert inbound[1].strip() == "same => n,Set(CALLSCREEN_WITHHELD_NUMBER=)"
    kept = next(i for i, line in enumerate(inbound) if "Set(CALLSCREEN_WITHHELD_NUMBER=$" in line)
    hidden = next(i for i, line in enumerate(inbound) if "Set(CALLERID(num)=anonymous)" in line)
    assert "(withhold)" in inbound[kept - 1] and kept < hidden
    # chan_pjsip fills ANI from the caller ID: it goes too
    assert inbound[hidden + 1].strip() == "same => n,Set(CALLERID(ANI-num)=anonymous)"
    assert "CALLERID(pres)=prohib" in "\n".join(inbound[hidden:])
    header = (CONF / "callscreen.conf").read_text().split("\n[", 1)[0]
    assert "CALLSCREEN_WITHHELD_NUMBER" in header
    assert "`CALLSCREEN_WITHHELD_NUMBER`" in README.read_text()
    assert "`CALLSCREEN_WITHHELD_NUMBER`" in DIALPLAN_DOC.read_text()
