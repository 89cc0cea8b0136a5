"""Per-cue three-way merging (pipeline/review/merging.py), against literal cue lists; hypothesis for the rule that
a merge never loses a change only one side made."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pipeline.models import Cue
from pipeline.review import merging
from pipeline.review.merging import Change, Conflict

BASE = [Cue(0, 2000, "Hi, I'm Priya", "a"), Cue(2000, 4000, "from Milton Keynes", "b"),
        Cue(4000, 6000, "call I'll line", "c")]


def test_ids_of_older_revisions_are_their_positions_and_stay_the_same() -> None:
    plain = [Cue(0, 1000, "One"), Cue(1000, 2000, "Two")]
    assert [c.id for c in merging.ensure_ids(plain)] == ["n1", "n2"]
    assert [c.id for c in merging.ensure_ids(merging.ensure_ids(plain))] == ["n1", "n2"]


def test_cue_equality_ignores_the_id() -> None:
    assert Cue(0, 1, "x", "a") == Cue(0, 1, "x", "b")


def test_different_cues_changed_on_each_side_merge_without_conflict() -> None:
    mine = [BASE[0], BASE[1], Cue(4000, 6000, "call Childline", "c")]
    theirs = [Cue(0, 2000, "Hi, I'm Priya.", "a"), BASE[1], BASE[2]]
    merged, conflicts = merging.merge(BASE, mine, theirs)
    assert conflicts == []
    assert [c.text for c in merged] == ["Hi, I'm Priya.", "from Milton Keynes", "call Childline"]
    assert [c.id for c in merged] == ["a", "b", "c"]


def test_the_same_cue_changed_differently_is_a_conflict_and_theirs_stays_until_decided() -> None:
    mine = [BASE[0], BASE[1], Cue(4000, 6000, "call Childline", "c")]
    theirs = [BASE[0], BASE[1], Cue(4000, 6000, "call ChildLine.", "c")]
    merged, conflicts = merging.merge(BASE, mine, theirs)
    assert conflicts == [Conflict("c", BASE[2], mine[2], theirs[2])]
    assert merged[2].text == "call ChildLine."


def test_the_same_change_on_both_sides_is_no_conflict() -> None:
    same = [BASE[0], BASE[1], Cue(4000, 6000, "call Childline", "c")]
    assert merging.merge(BASE, same, same) == (same, [])


def test_deleting_a_cue_the_other_side_edited_is_a_conflict_and_a_merge_of_two_cues_keeps_the_first_id() -> None:
    mine = [Cue(0, 4000, "Hi, I'm Priya from Milton Keynes", "a"), BASE[2]]  # a and b merged: b deleted
    theirs = [BASE[0], Cue(2000, 4000, "from Milton Keynes.", "b"), BASE[2]]
    merged, conflicts = merging.merge(BASE, mine, theirs)
    assert [(c.id, c.mine, c.theirs) for c in conflicts] == [("b", None, theirs[1])]
    assert [c.id for c in merged] == ["a", "b", "c"]


def test_added_cues_on_both_sides_are_both_kept_in_time_order() -> None:
    mine = [*BASE, Cue(7000, 8000, "Mine", "m1")]
    theirs = [Cue(6500, 6900, "Theirs", "t1"), *BASE]
    merged, conflicts = merging.merge(BASE, mine, theirs)
    assert conflicts == [] and [c.id for c in merged] == ["a", "b", "c", "t1", "m1"]


def test_apply_and_changes_between_are_inverse() -> None:
    new = [Cue(0, 1900, "Hi, I'm Priya", "a"), BASE[2], Cue(6000, 7000, "New", "x")]
    changes = merging.changes_between(BASE, new)
    assert changes == [Change("a", new[0]), Change("x", new[2]), Change("b", None)]
    assert merging.apply(BASE, changes) == new


def test_identify_matches_a_file_without_ids_by_text_and_position() -> None:
    edited = [Cue(0, 2000, "Hi, I'm Priya"), Cue(2000, 4000, "from Milton Keynes!"), Cue(4000, 6000, "call I'll line"),
              Cue(6000, 7000, "Added")]
    ids = [c.id for c in merging.identify(BASE, edited)]
    assert ids[:3] == ["a", "b", "c"] and ids[3].startswith("f") and len(set(ids)) == 4
    assert [c.id for c in merging.identify(BASE, edited)] == ids  # the same file read again: the same ids


def test_compare_names_each_kind_of_change_in_the_newer_order() -> None:
    new = [Cue(0, 2000, "Hi, I'm Priya.", "a"), Cue(4100, 6000, "call Childline", "c"), Cue(6000, 7000, "New", "x")]
    found = [(d.id, d.position, d.kind) for d in merging.compare(BASE, new)]
    assert found == [("a", 1, "text"), ("b", 2, "removed"), ("c", 2, "text and timing"), ("x", 3, "added")]


def test_last_changes_names_who_changed_added_or_removed_each_cue() -> None:
    r2 = [Cue(0, 2000, "Hi, I'm Priya.", "a"), BASE[1], BASE[2]]
    r3 = [r2[0], BASE[2]]
    blame = merging.last_changes([(1, "automatic", BASE), (2, "Ann", r2), (3, "Bob", r3)])
    assert blame == {"a": (2, "Ann"), "b": (3, "Bob"), "c": (1, "automatic")}


cue_texts = st.lists(st.sampled_from(["one", "two", "three", None]), min_size=3, max_size=3)


@given(cue_texts, cue_texts)
def test_a_change_only_one_side_made_is_always_in_the_merge(mine_edits: list[str | None],
                                                             their_edits: list[str | None]) -> None:
    def edited(edits: list[str | None]) -> list[Cue]:
        return [Cue(c.start_ms, c.end_ms, e, c.id) if e else c for c, e in zip(BASE, edits, strict=True)]

    mine, theirs = edited(mine_edits), edited(their_edits)
    merged, conflicts = merging.merge(BASE, mine, theirs)
    by_id = {c.id: c for c in merged}
    clashing = {c.id for c in conflicts}
    for base_cue, m, t in zip(BASE, mine, theirs, strict=True):
        if m != base_cue and t == base_cue:
            assert by_id[m.id] == m
        if t != base_cue:
            assert by_id[t.id] == t  # theirs is never replaced by the merge itself
        if m != base_cue and t != base_cue and m != t:
            assert m.id in clashing
