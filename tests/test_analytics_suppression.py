"""Small-cell suppression (CMS rule) as pure functions: no count 1-10 shown or derivable."""

from __future__ import annotations

import itertools

import pytest

from analytics.suppression import (
    COMPLEMENTARY,
    PRIMARY,
    hidden_cell_derivable,
    is_small,
    leftover_is_safe,
    suppress_counts,
    suppress_table,
)


def labels(values):
    cells, total, withheld = suppress_counts(values)
    return [c.label for c in cells], total.label, withheld


@pytest.mark.parametrize(("count", "small"), [(0, False), (1, True), (10, True), (11, False)])
def test_only_counts_one_to_ten_are_small(count, small):
    assert is_small(count) is small


def test_counts_of_eleven_and_more_and_zero_are_shown():
    assert labels([0, 11, 250]) == (["0", "11", "250"], "261", False)


def test_single_hidden_cell_that_the_total_would_reveal_gets_a_complement():
    # 5 alone hidden: 55 - 20 - 30 = 5. The next smallest non-zero cell (20) is hidden too.
    shown, total, withheld = labels([5, 20, 30])
    assert shown == ["<11", "*", "30"]
    assert total == "55"
    assert not withheld


def test_complement_skips_zero_cells():
    cells, _total, _w = suppress_counts([3, 0, 40, 12])
    assert [c.suppressed for c in cells] == [PRIMARY, "", "", COMPLEMENTARY]


def test_two_small_cells_whose_sum_is_small_get_a_complement():
    # 3 + 4 = 7 would tell the reader "these two together are 7".
    shown, _total, _w = labels([3, 4, 50, 60])
    assert shown == ["<11", "<11", "*", "60"]


def test_two_ones_with_a_known_total_are_protected():
    shown, _total, _w = labels([1, 1, 40, 45])
    assert shown.count("<11") == 2
    assert "*" in shown


def test_hidden_cell_next_to_a_complement_of_eleven_is_not_pinned_down():
    # 1 and 11 hidden: sum 12, the "*" is at least 11, so "<11" would have to be 1.
    assert hidden_cell_derivable([1, 11, 30], [PRIMARY, COMPLEMENTARY, ""], 42)
    shown, _total, _w = labels([1, 11, 30, 40])
    assert shown == ["<11", "*", "*", "40"]


def test_table_that_cannot_be_protected_is_withheld():
    table = suppress_table([("a", "A", 1), ("b", "B", 11)])
    assert table.withheld
    assert table.rows == []


def test_small_total_hides_every_nonzero_cell_and_the_total():
    shown, total, withheld = labels([2, 0, 5])
    assert shown == ["<11", "0", "<11"]
    assert total == "<11"
    assert not withheld


def test_all_zero_table_is_shown():
    assert labels([0, 0]) == (["0", "0"], "0", False)


def test_no_small_count_is_ever_derivable_by_brute_force():
    """For every small table, enumerate every table consistent with what is shown: each
    hidden small cell must admit more than one value, and no shown label is 1-10."""
    for values in itertools.product([0, 1, 2, 5, 10, 11, 12, 15, 30], repeat=3):
        cells, total, withheld = suppress_counts(list(values))
        if withheld:
            continue
        for cell in cells:
            assert cell.shown is None or not is_small(cell.shown)
        if total.suppressed:
            continue
        shown_nonzero = [c.value for c in cells if not c.suppressed and c.value > 0]
        ceiling = min(shown_nonzero, default=60)
        ranges = [
            [c.value]
            if not c.suppressed
            else range(1, 11)
            if c.suppressed == PRIMARY
            else range(11, ceiling + 1)
            for c in cells
        ]
        consistent = [combo for combo in itertools.product(*ranges) if sum(combo) == total.value]
        for position, cell in enumerate(cells):
            if cell.suppressed == PRIMARY:
                assert len({combo[position] for combo in consistent}) > 1, values


def test_rows_keep_keys_and_labels():
    table = suppress_table(
        [("2026-01", "Jan 2026", 40), ("2026-02", "Feb 2026", 3), ("2026-03", "Mar 2026", 0)]
    )
    assert [r.key for r in table.rows] == ["2026-01", "2026-02", "2026-03"]
    assert [r.cell.label for r in table.rows] == ["*", "<11", "0"]
    assert table.has_suppression


def test_leftover_of_a_group_must_not_be_small():
    assert leftover_is_safe(26, [26])
    assert not leftover_is_safe(26, [25])
    assert leftover_is_safe(40, [25])
