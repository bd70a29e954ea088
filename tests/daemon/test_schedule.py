"""The daemon's timers as pure state, on a fake clock: plain floats for `now`, never a sleep."""

from __future__ import annotations

import random

from companion.config import DEFAULT_BUMP_SETTLE
from companion.daemon.schedule import Due, Schedule, Timing
from companion.sync.reconcile import SyncReport

PAGE = "wiki/concepts/Tide.md"
NOTE = "notes/Diary.md"
SETTLE = 5.0
BUMP = Timing().bump_settle  # the default window: five minutes


def managed(path: str) -> bool:
    return path.startswith("wiki/")


def schedule(**timing: float) -> Schedule:
    return Schedule(Timing(**{"settle": SETTLE, **timing}), is_managed=managed)


def changed(
    *paths: str, versions: dict[str, tuple[int | None, int | None]] | None = None
) -> SyncReport:
    """A sync's report as reconcile makes it: a changed managed page is companion's (credited)
    when its version went up, a person's edit (unversioned) otherwise."""
    report = SyncReport(changed=list(paths), versions=versions or {})
    for path in paths:
        if managed(path):
            up = report.version_went_up(path)
            (report.credited if up else report.unversioned).append(path)
    return report


def test_the_default_bump_window_is_the_settings_default() -> None:
    assert BUMP == DEFAULT_BUMP_SETTLE == 300.0


def run_until(
    sched: Schedule, start: float, stop: float, step: float = 0.25
) -> list[tuple[float, Due]]:
    """Ask what is due every `step` seconds of fake time; the non-empty answers, with their time."""
    out: list[tuple[float, Due]] = []
    steps = round((stop - start) / step)
    for i in range(steps + 1):
        now = start + i * step
        due = sched.due(now)
        if due:
            out.append((now, due))
    return out


# -- settling and embedding -----------------------------------------------------------------------


def test_a_changed_page_is_unsettled_until_it_has_been_quiet_for_settle_seconds() -> None:
    sched = schedule()
    sched.nothing_to_embed()
    sched.observe(changed(NOTE), now=100.0, wall=1.0)
    assert sched.embed_check  # the change itself may have left work
    sched.nothing_to_embed()
    assert sched.settling([NOTE])
    sched.due(104.9)
    assert sched.settling([NOTE]) and not sched.embed_check
    sched.due(105.0)
    assert not sched.settling([NOTE])
    assert sched.embed_check  # settled: the embedding thread should look again


def test_every_change_restarts_a_pages_settle_wait() -> None:
    sched = schedule()
    sched.observe(changed(NOTE), now=0.0, wall=0.0)
    sched.observe(changed(NOTE), now=4.0, wall=4.0)
    sched.due(8.0)
    assert sched.settling([NOTE])
    sched.due(9.0)
    assert not sched.settling([NOTE])


def test_an_added_page_settles_like_a_changed_one() -> None:
    sched = schedule()
    sched.observe(SyncReport(added=[NOTE]), now=0.0, wall=0.0)
    assert sched.settling([NOTE])
    sched.due(SETTLE)
    assert not sched.settling([NOTE])


def test_a_page_whose_version_went_up_is_embedded_at_once_and_not_bumped() -> None:
    sched = schedule()
    sched.nothing_to_embed()
    sched.observe(changed(PAGE, versions={PAGE: (3, 4)}), now=10.0, wall=10.0)
    assert not sched.settling([PAGE])
    assert sched.embed_check
    assert not sched.bump_pending(PAGE)
    assert run_until(sched, 10.0, 60.0 + BUMP) == [(10.5, Due(catalog=True))]


def test_a_version_that_went_up_cancels_a_pending_bump() -> None:
    sched = schedule()
    sched.observe(changed(PAGE), now=0.0, wall=0.0)
    assert sched.bump_pending(PAGE)
    sched.observe(changed(PAGE, versions={PAGE: (1, 2)}), now=2.0, wall=2.0)
    assert not sched.bump_pending(PAGE) and not sched.settling([PAGE])
    assert all(not due.bumps for _, due in run_until(sched, 2.0, 2 * BUMP))


def test_a_version_that_went_down_or_vanished_is_not_a_writers_bump() -> None:
    sched = schedule()
    sched.observe(changed(PAGE, versions={PAGE: (4, 2)}), now=0.0, wall=0.0)
    sched.observe(changed("wiki/b.md", versions={"wiki/b.md": (4, None)}), now=0.0, wall=0.0)
    assert sched.settling([PAGE]) and sched.settling(["wiki/b.md"])
    assert sched.bump_pending(PAGE) and sched.bump_pending("wiki/b.md")


def test_settling_is_true_only_when_every_page_is_unsettled() -> None:
    sched = schedule()
    sched.observe(changed("a.md", "b.md"), now=0.0, wall=0.0)
    sched.observe(changed("c.md"), now=3.0, wall=3.0)
    assert sched.settling(["a.md", "b.md", "c.md"])
    sched.due(SETTLE)  # a and b settle, c does not yet
    assert sched.settling(["c.md"])
    assert not sched.settling(["a.md", "c.md"])
    assert not sched.settling(["a.md"])
    assert not sched.settling(["never-seen.md"])


def test_nothing_to_embed_clears_embed_check_until_something_changes() -> None:
    sched = schedule()
    assert sched.embed_check  # at start something may be waiting
    sched.nothing_to_embed()
    assert not sched.embed_check
    sched.observe(SyncReport(removed=["gone.md"]), now=0.0, wall=0.0)
    assert not sched.embed_check  # a removal leaves nothing to embed
    sched.observe(SyncReport(added=["new.md"]), now=1.0, wall=1.0)
    assert sched.embed_check
    sched.nothing_to_embed()
    assert not sched.embed_check
    sched.due(1.0 + SETTLE)
    assert sched.embed_check  # new.md settled


def test_an_idle_schedule_has_nothing_due_and_raises_no_flag() -> None:
    sched = schedule()
    sched.nothing_to_embed()
    sched.observe(SyncReport(), now=0.0, wall=0.0)
    assert run_until(sched, 0.0, 3600.0, step=10.0) == []
    assert not sched.embed_check
    assert not Due()


# -- bumping a person's edits ---------------------------------------------------------------------


def test_a_managed_edit_without_a_bump_is_bumped_once_after_bump_settle() -> None:
    sched = schedule(catalog_delay=0.5)
    sched.observe(changed(PAGE), now=100.0, wall=100.0)
    assert sched.bump_pending(PAGE)
    dues = run_until(sched, 100.0, 800.0)
    assert [(at, due.bumps) for at, due in dues if due.bumps] == [(100.0 + BUMP, [PAGE])]
    assert not sched.bump_pending(PAGE)


def test_ten_minutes_of_obsidian_saves_with_pauses_to_think_get_exactly_one_bump() -> None:
    """Obsidian saves every 2-4 s while a person types; now and then they stop to think for up
    to four minutes (each pause is past `settle`: search and embedding catch up). One editing
    session, one bump: `bump_settle` after the last save, none before."""
    rng = random.Random(7)
    sched = schedule()
    now, bumps, last_save, embedded_in_pauses = 0.0, [], 0.0, 0
    while now < 600.0:
        sched.observe(changed(PAGE), now=now, wall=now)
        last_save = now
        pause = rng.uniform(30.0, 240.0) if rng.random() < 0.05 else rng.uniform(2.0, 4.0)
        next_save = now + pause
        while now < next_save:
            bumps += [(now, path) for path in sched.due(now).bumps]
            now = round(now + 0.5, 6)
        embedded_in_pauses += not sched.settling([PAGE])
        now = next_save
    assert bumps == []  # the person never stopped for five minutes
    assert embedded_in_pauses > 0  # but long pauses did settle the text for embedding
    assert sched.bump_pending(PAGE)
    quiet = [(at, due.bumps) for at, due in run_until(sched, now, now + 2 * BUMP, step=0.05)]
    bumped = [(at, b) for at, b in quiet if b]
    assert len(bumped) == 1
    at, paths = bumped[0]
    assert paths == [PAGE]
    assert last_save + BUMP <= at < last_save + BUMP + 0.1


def test_an_unmanaged_page_is_never_bumped() -> None:
    sched = schedule()
    for t in (0.0, 1.0, 30.0):
        sched.observe(changed(NOTE), now=t, wall=t)
    assert not sched.bump_pending(NOTE)
    assert all(not due.bumps for _, due in run_until(sched, 0.0, 600.0))


def test_a_start_up_scans_edits_are_quiet_already_for_embedding() -> None:
    sched = schedule()
    sched.nothing_to_embed()
    sched.observe(changed(PAGE, NOTE), now=50.0, wall=50.0, settled=True)
    assert not sched.settling([PAGE]) and not sched.settling([NOTE])
    assert sched.embed_check
    assert not sched.bump_pending(PAGE)  # bumps waiting at start-up come from `seed`


def test_bumps_waiting_at_start_up_continue_from_the_last_save() -> None:
    sched = schedule()
    sched.seed([(PAGE, BUMP + 10.0), ("wiki/b.md", 100.0)], now=50.0)
    assert sched.due(50.0).bumps == [PAGE]  # its last save is older than the window
    assert sched.due(50.0).bumps == []  # handed out once
    assert sched.due(50.0 + BUMP - 100.0 - 0.01).bumps == []
    assert sched.due(50.0 + BUMP - 100.0).bumps == ["wiki/b.md"]


def test_defer_bump_waits_for_the_page_to_settle_again() -> None:
    sched = schedule()
    sched.observe(changed(PAGE), now=0.0, wall=0.0)
    assert sched.due(BUMP).bumps == [PAGE]
    sched.defer_bump(PAGE, now=BUMP + 2.0)  # the bump found it edited again
    assert sched.bump_pending(PAGE)
    assert sched.due(2 * BUMP + 2.0 - 0.01).bumps == []
    assert sched.due(2 * BUMP + 2.0).bumps == [PAGE]
    assert not sched.bump_pending(PAGE)


def test_several_pages_are_bumped_each_when_it_settles() -> None:
    sched = schedule()
    sched.observe(changed(PAGE), now=0.0, wall=0.0)
    sched.observe(changed("wiki/b.md"), now=2.0, wall=2.0)
    dues = [(at, due.bumps) for at, due in run_until(sched, 0.0, 2 * BUMP) if due.bumps]
    assert dues == [(BUMP, [PAGE]), (BUMP + 2.0, ["wiki/b.md"])]


def test_companions_own_write_cancels_a_pending_bump() -> None:
    sched = schedule()
    sched.observe(changed(PAGE), now=0.0, wall=0.0)
    sched.observe(SyncReport(changed=[PAGE], credited=[PAGE]), now=1.0, wall=1.0)
    assert not sched.bump_pending(PAGE) and not sched.settling([PAGE])


# -- removed pages --------------------------------------------------------------------------------


def test_a_removed_page_drops_its_pending_bump_and_settle() -> None:
    sched = schedule()
    sched.observe(changed(PAGE, NOTE), now=0.0, wall=0.0)
    sched.observe(SyncReport(removed=[PAGE, NOTE]), now=1.0, wall=1.0)
    assert not sched.bump_pending(PAGE)
    assert not sched.settling([PAGE]) and not sched.settling([NOTE])
    assert all(not due.bumps for _, due in run_until(sched, 1.0, 60.0))


# -- unreadable files -----------------------------------------------------------------------------


def test_an_unreadable_file_is_retried_with_doubling_delays_up_to_the_cap() -> None:
    sched = schedule(retry_delay=1.0, max_retry_delay=10.0)
    now, delays = 0.0, []
    sched.observe(SyncReport(unreadable=[NOTE]), now=now, wall=now)
    for _ in range(7):
        start = now
        while not sched.due(now).retries:
            now = round(now + 0.5, 6)
            assert now - start <= 60.0
        delays.append(now - start)
        sched.observe(SyncReport(unreadable=[NOTE]), now=now, wall=now)  # still unreadable
    assert delays == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0, 10.0]


def test_a_retry_is_handed_out_once_and_not_before_it_is_due() -> None:
    sched = schedule(retry_delay=2.0)
    sched.observe(SyncReport(unreadable=["a.md", "b.md"]), now=10.0, wall=10.0)
    assert sched.due(11.9).retries == []
    assert sorted(sched.due(12.0).retries) == ["a.md", "b.md"]
    assert sched.due(100.0).retries == []


def test_the_back_off_starts_again_once_the_file_is_read() -> None:
    sched = schedule(retry_delay=1.0, max_retry_delay=60.0)
    for t in (0.0, 1.0, 3.0, 7.0):  # four failures: the next wait would be 8 s
        sched.observe(SyncReport(unreadable=[NOTE]), now=t, wall=t)
    assert sched.retry[NOTE] == 15.0
    sched.observe(changed(NOTE), now=8.0, wall=8.0)  # read at last
    sched.observe(SyncReport(unreadable=[NOTE]), now=20.0, wall=20.0)  # and unreadable again
    assert sched.retry[NOTE] == 21.0
    assert sched.due(21.0).retries == [NOTE]


def test_an_unreadable_file_that_was_removed_starts_its_back_off_afresh() -> None:
    sched = schedule(retry_delay=1.0)
    for t in (0.0, 1.0, 3.0):
        sched.observe(SyncReport(unreadable=[NOTE]), now=t, wall=t)
    sched.observe(SyncReport(removed=[NOTE]), now=4.0, wall=4.0)
    sched.observe(SyncReport(unreadable=[NOTE]), now=10.0, wall=10.0)
    assert sched.retry[NOTE] == 11.0


def test_retry_delays_are_counted_per_file() -> None:
    sched = schedule(retry_delay=1.0)
    for t in (0.0, 1.0, 3.0):
        sched.observe(SyncReport(unreadable=["a.md"]), now=t, wall=t)
    sched.observe(SyncReport(unreadable=["b.md"]), now=3.0, wall=3.0)
    assert (sched.retry["a.md"], sched.retry["b.md"]) == (7.0, 4.0)


# -- the catalog ----------------------------------------------------------------------------------


def test_the_catalog_is_due_catalog_delay_after_a_change_and_handed_out_once() -> None:
    sched = schedule(catalog_delay=0.5)
    sched.observe(SyncReport(added=[NOTE]), now=10.0, wall=10.0)
    assert not sched.due(10.4).catalog
    assert sched.due(10.5).catalog
    assert not sched.due(10.6).catalog
    assert not sched.due(1000.0).catalog


def test_a_later_change_moves_the_catalog_back() -> None:
    sched = schedule(catalog_delay=2.0)
    sched.observe(changed(NOTE), now=0.0, wall=0.0)
    sched.observe(SyncReport(removed=["x.md"]), now=1.5, wall=1.5)
    dues = [at for at, due in run_until(sched, 0.0, 10.0) if due.catalog]
    assert dues == [3.5]


def test_relinks_alone_re_render_the_catalog_but_nothing_else() -> None:
    sched = schedule(catalog_delay=0.5)
    sched.nothing_to_embed()
    sched.observe(SyncReport(relinked=3), now=0.0, wall=0.0)
    assert run_until(sched, 0.0, 30.0) == [(0.5, Due(catalog=True))]
    assert not sched.embed_check


def test_an_unreadable_file_alone_does_not_re_render_the_catalog() -> None:
    sched = schedule(retry_delay=1.0, catalog_delay=0.5)
    sched.observe(SyncReport(unreadable=[NOTE]), now=0.0, wall=0.0)
    assert run_until(sched, 0.0, 1.0) == [(1.0, Due(retries=[NOTE]))]


# -- events ---------------------------------------------------------------------------------------


def test_events_record_what_changed_with_the_wall_time_given() -> None:
    sched = schedule()
    sched.observe(SyncReport(added=["a.md"], changed=["b.md"]), now=1.0, wall=1_700_000_000.0)
    sched.observe(SyncReport(removed=["a.md"], unreadable=["c.md"]), now=2.0, wall=1_700_000_005.5)
    assert list(sched.events) == [
        (1_700_000_000.0, "a.md", "added"),
        (1_700_000_000.0, "b.md", "changed"),
        (1_700_000_005.5, "a.md", "removed"),
    ]


def test_events_keep_only_the_most_recent_twenty() -> None:
    sched = schedule()
    for i in range(30):
        sched.observe(SyncReport(added=[f"n{i}.md"]), now=float(i), wall=float(i))
    assert len(sched.events) == 20
    assert sched.events[0] == (10.0, "n10.md", "added")
    assert sched.events[-1] == (29.0, "n29.md", "added")
