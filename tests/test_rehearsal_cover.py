"""The rehearsal stage's choice of cells (tests/rehearsal_cover.py), checked in the
suite itself (the stage, `make rehearse`, trains them): every entry of conf/ is covered,
for less than the greedy cover alone costs, and each cell runs what its balancer needs."""
from rehearsal_cover import (choices_of, cover, entries, features, iterations, stage_cost,
                             table_cells, wanted)


def test_the_chosen_cells_use_every_entry_and_each_is_needed():
    chosen, unused = cover()
    picked = [(t, c, choices_of(t, c)) for t, cells in chosen.items() for c in cells]
    got = set().union(*(features(ch) for _, _, ch in picked))
    assert got | unused == wanted()
    assert unused == {("detector", "fcos_atss_r50"), ("balancer", "uncertainty")}
    assert {ch["detector"] for *_, ch in picked} == entries("detector") - {"fcos_atss_r50"}
    for i in range(len(picked)):  # no cell is redundant
        rest = picked[:i] + picked[i + 1:]
        assert not (wanted() - unused) <= set().union(*(features(ch) for *_, ch in rest))


def test_the_cover_is_cheaper_than_one_cell_per_table_and_entry():
    chosen, _ = cover()
    picked = [(t, c, choices_of(t, c)) for t, cells in chosen.items() for c in cells]
    # the unweighted greedy cover took 24 cells in 8 launches (Table 1 + Table 2 apart)
    assert len(chosen) <= 7 and len(picked) <= 21
    assert stage_cost(picked) < stage_cost(table_cells()) / 9


def test_a_static_cell_runs_one_iteration_a_balancer_cell_the_rehearse_groups():
    assert iterations({"balancer": "static"}) == 1
    assert iterations({"balancer": "alwa2"}) == iterations({"balancer": "dwa"}) == 3
