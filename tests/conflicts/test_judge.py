"""judge: the same pair gives the same finding and id in either order."""

from __future__ import annotations

import datetime

from companion.conflicts.claims import claims
from companion.conflicts.judge import judge

PAGE = "wiki/entities/Harbour Yard.md"


def _one(text: str) -> list:  # type: ignore[type-arg]
    return claims(text, PAGE, "Harbour Yard")


def test_a_row_against_a_clause_has_one_id_in_either_order() -> None:
    row = _one("- Site: North Hall; Hypervisor: vSphere 7.0 ([[wiki/sources/a]]).")
    prose = _one("- North Hall runs vSphere 8.0 on every host ([[wiki/sources/b]]).")
    found = [f for a in row for b in prose for f in (judge(a, b), judge(b, a)) if f is not None]
    assert len(found) == 2 and found[0].id == found[1].id


def test_a_newer_change_supersedes_and_an_older_one_does_not() -> None:
    old = _one("- Harbour Yard runs YardOS 4.2 ([[wiki/sources/a]]).")[0]
    new = _one("- Harbour Yard was upgraded from YardOS 4.2 to YardOS 5.0 ([[wiki/sources/b]]).")[0]
    jan, jun = datetime.date(2025, 1, 10), datetime.date(2025, 6, 2)
    found = judge(old, new, jan, jun)
    assert found is not None and found.verdict == "supersedes" and found.replaced == "old"
    assert judge(old, new, jun, jan) is None  # the change is older: nothing to say
