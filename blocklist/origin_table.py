"""The decisions table of docs/origin.md: what every origin preset does, printed from the code.

Each row is one call (a caller ID, the trunk it came on, what is known about it); each column
is one preset of `blocklist.origin.PRESETS`; each cell is what `decide_origin` answers. The
table is made here, never by hand: tests/test_docs.py fails when docs/origin.md's copy differs,
and `tools/origin-table --write` puts a fresh copy there. Pure: no I/O.
"""

from __future__ import annotations

from blocklist.numbers import NumberPlan
from blocklist.origin import (
    PRESETS,
    Attestation,
    Origin,
    OriginDecision,
    OriginFacts,
    Roaming,
    decide_origin,
)
from blocklist.values import value

# The Dutch numbers the table uses; every preset reads them as home numbers (CALLSCREEN_HOME_
# COUNTRIES=NL): a preset's actions depend on a number's type, not on its country.
HOME_NL = ("31",)
FIXED = "+31 20 123 4567"  # Amsterdam
MOBILE = "+31 6 1234 5678"
NONGEO = "+31 85 123 4567"  # location independent
PROTECTED = "112"
# The one country-specific rule: DE cuts off premium numbers (0900) from abroad.
HOME_DE = ("49",)
PREMIUM_DE = "+49 900 123 4567"

ABROAD = Origin.INTERNATIONAL
NATIONAL = Origin.NATIONAL


@value
class Case:
    """One row: a caller ID on a trunk, with what the screening knows about it."""

    label: str
    number: str
    facts: OriginFacts
    home: tuple[str, ...] = HOME_NL
    region: str = "NL"


CASES: tuple[Case, ...] = (
    Case("fixed from abroad", FIXED, OriginFacts(ABROAD)),
    Case("mobile from abroad, roaming verified", MOBILE,
         OriginFacts(ABROAD, roaming=Roaming.VERIFIED)),
    Case("mobile from abroad, not roaming", MOBILE,
         OriginFacts(ABROAD, roaming=Roaming.NOT_ROAMING)),
    Case("mobile from abroad, roaming unverified", MOBILE, OriginFacts(ABROAD)),
    Case("nongeo (085) from abroad", NONGEO, OriginFacts(ABROAD)),
    Case("112 from abroad", PROTECTED, OriginFacts(ABROAD)),
    Case("DE premium (0900) from abroad, home DE", PREMIUM_DE, OriginFacts(ABROAD), HOME_DE,
         "DE"),
    Case("fixed from abroad, registered", FIXED, OriginFacts(ABROAD, registered=True)),
    Case("fixed from abroad, attestation `A`", FIXED, OriginFacts(ABROAD, Attestation.A)),
    Case("fixed on the national trunk, attestation failed", FIXED,
         OriginFacts(NATIONAL, Attestation.FAILED)),
    Case("fixed on the national trunk", FIXED, OriginFacts(NATIONAL)),
)


def cell(decision: OriginDecision | None) -> str:
    """One answer as the table shows it: the action and the reason, or that nothing is said."""
    if decision is None:
        return "-"
    return f"{decision.action.value} `{decision.reason.value}`"


def decisions(case: Case) -> list[OriginDecision | None]:
    """What every preset answers for one case, in the order of PRESETS."""
    reading = NumberPlan(case.region).read(case.number)
    return [decide_origin(reading, case.facts, case.home, policy)
            for policy in PRESETS.values()]


def markdown_table() -> str:
    """The decisions table, one Markdown row per case and one column per preset."""
    header = ["call", *(f"`{name}`" for name in PRESETS)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for case in CASES:
        cells = [case.label, *(cell(answer) for answer in decisions(case))]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


# The lines around the table in docs/origin.md.
BEGIN = "<!-- decisions table: printed by tools/origin-table, do not edit by hand -->"
END = "<!-- end of the decisions table -->"


def table_in(page: str) -> str:
    """The table between BEGIN and END in `page`. Raises ValueError naming a missing marker."""
    _, sep, rest = page.partition(BEGIN + "\n")
    if not sep:
        raise ValueError(f"no line {BEGIN!r} before the decisions table")
    table, sep, _ = rest.partition(END)
    if not sep:
        raise ValueError(f"no line {END!r} after the decisions table")
    return table.strip("\n") + "\n"


def replace_table(page: str, table: str) -> str:
    """`page` with the table between BEGIN and END replaced by `table`."""
    table_in(page)  # raises when a marker is missing
    head, _, rest = page.partition(BEGIN + "\n")
    _, _, tail = rest.partition(END)
    return f"{head}{BEGIN}\n{table}{END}{tail}"
