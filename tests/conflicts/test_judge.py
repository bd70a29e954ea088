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


def test_a_past_run_on_one_host_is_superseded_by_a_later_state_on_another() -> None:
    event = _one(
        "- A month-end audit report was run directly against replica `yard-db-2` ([[wiki/sources/a]])."
    )[0]
    state = _one("- Analytics traffic is fully on yard-db-analytics ([[wiki/sources/b]]).")[0]
    aug, oct_ = datetime.date(2025, 8, 2), datetime.date(2025, 10, 8)
    found = judge(event, state, aug, oct_)
    assert found is not None and found.verdict == "supersedes" and found.replaced == "old"
    again = judge(state, event, oct_, aug)  # the newer source read first
    assert again is not None and again.verdict == "supersedes" and again.replaced == "new"
    assert again.id == found.id


def test_a_later_run_against_another_host_disputes_an_older_state() -> None:
    state = _one("- Analytics traffic is fully on yard-db-analytics ([[wiki/sources/a]]).")[0]
    event = _one(
        "- A month-end audit report was run directly against replica `yard-db-2` ([[wiki/sources/b]])."
    )[0]
    found = judge(state, event, datetime.date(2025, 8, 2), datetime.date(2025, 10, 8))
    assert found is not None and found.verdict == "conflict"


def test_hosts_on_one_workload_without_a_cue_of_the_only_one_do_not_meet() -> None:
    a = _one("- Analytics queries run on yard-db-3 ([[wiki/sources/a]]).")[0]
    b = _one("- Analytics queries run on yard-db-4 ([[wiki/sources/b]]).")[0]
    assert judge(a, b) is None  # a workload may span two hosts
    only = _one("- Analytics queries run only on yard-db-4 ([[wiki/sources/b]]).")[0]
    found = judge(a, only)
    assert found is not None and found.verdict == "conflict"


def test_a_hyphenated_word_is_no_host() -> None:
    from companion.conflicts.categories import labels

    assert labels("The desk is on-call and the view is read-only") == []
    assert [x.option for x in labels("reads go to `yard-db-2` now")] == ["yard-db-2"]


def test_a_newer_stated_change_of_a_yes_or_no_supersedes_it_and_an_older_one_does_not() -> None:
    old = _one("- Harbour Yard cranes do not wait for the wind reading ([[wiki/sources/a]]).")[0]
    new = _one(
        "- Harbour Yard cranes will be gated on a calm wind reading from May 2025 "
        "([[wiki/sources/b]])."
    )[0]
    assert "gat" in old.attribute and "wait" not in old.attribute  # to wait for is to be gated on
    jan, jun = datetime.date(2025, 1, 10), datetime.date(2025, 6, 2)
    found = judge(old, new, jan, jun)
    assert found is not None and (found.verdict, found.replaced) == ("supersedes", "old")
    back = judge(new, old, jun, jan)  # read the other way round: the same mark
    assert back is not None and (back.id, back.replaced) == (found.id, "new")
    assert judge(old, new, jun, jan) is None  # the change is the older: nothing to say
    plain = _one("- Harbour Yard cranes are gated on the wind reading ([[wiki/sources/b]]).")[0]
    conflict = judge(old, plain, jan, jun)  # no change stated: the two cannot both hold
    assert conflict is not None and conflict.verdict == "conflict"


def test_a_yes_or_no_told_of_the_past_agrees_and_supersedes_nothing() -> None:
    old = _one("- Harbour Yard cranes do not wait for the wind reading ([[wiki/sources/a]]).")[0]
    past = _one("- Harbour Yard cranes used to wait for the wind reading ([[wiki/sources/b]]).")[0]
    jan, jun = datetime.date(2025, 1, 10), datetime.date(2025, 6, 2)
    assert judge(old, past, jan, jun) is None


def test_a_change_that_names_the_past_state_and_the_new_one_still_supersedes() -> None:
    old = _one("- Harbour Yard cranes do not wait for the wind reading ([[wiki/sources/a]]).")[0]
    new = _one(
        "- Harbour Yard cranes, previously ungated, will be gated on the wind reading "
        "from May 2025 ([[wiki/sources/b]])."
    )[0]
    found = judge(old, new, datetime.date(2025, 1, 10), datetime.date(2025, 6, 2))
    assert found is not None and found.verdict == "supersedes"
