"""Table 1 as data: every cell of the paper, each value as printed, nothing twice."""
import pytest

from repro.core.errors import ReproError
from repro.table.spec import TableError, TableSpec, available_tables, load_table


@pytest.fixture(scope="module")
def table1():
    return load_table("1")


def test_table1_has_the_papers_120_cells(table1):
    assert len(table1.rows) == 20 and len(table1.columns) == 6
    cells = table1.cells()
    assert len(cells) == 120
    assert len({c.id for c in cells}) == 120
    assert all(isinstance(c.paper_value, float) for c in cells)


def test_table1_rows_are_the_weight_pairs_of_the_paper(table1):
    labels = [r.label for r in table1.rows]
    assert labels[0] == "(1.00,1.00)" and labels[-1] == "(2.00,2.00)"
    assert "(0.10,0.50)" in labels and "(1.25,1.50)" in labels
    pairs = [(r.set["balancer.cls_weight"], r.set["balancer.reg_weight"]) for r in table1.rows]
    assert len(set(pairs)) == 20


def test_table1_paper_values_as_printed(table1):
    # Baseline row absolute; the others are the paper's deltas.
    assert table1.baseline_row.label == "(1.00,1.00)"
    assert table1.baseline_row.paper == (74.34, 74.50, 74.80, 72.38, 36.6, 38.3)
    row = next(r for r in table1.rows if r.label == "(0.25,0.50)")
    assert row.paper == (1.13, 0.85, 0.55, 0.07, 0.1, 0.1)
    assert table1.cell("w2.00-2.00__coco_sgd_l1").paper_value == -1.3
    assert table1.paper_values == "deltas"


def test_table1_columns_are_the_six_settings(table1):
    settings = [(c.set["dataset"], c.set["optimizer"], c.set["reg_loss"]) for c in table1.columns]
    assert settings == [("voc", "sgd", "l1"), ("voc", "sgd", "smooth_l1"), ("voc", "sgd", "ciou"),
                        ("voc", "adamw", "l1"), ("coco", "sgd", "l1"), ("coco", "adamw", "l1")]


def test_cell_overrides_turn_the_config_into_the_cell(table1):
    cell = table1.cell("w0.10-0.50__voc_sgd_ciou")
    assert cell.overrides == ["detector=faster_rcnn_r50", "balancer=static", "dataset=voc",
                              "optimizer=sgd", "reg_loss=ciou", "balancer.cls_weight=0.1",
                              "balancer.reg_weight=0.5"]


def test_every_table_file_parses():
    for name in available_tables():
        spec = load_table(name)
        assert spec.cells()


def test_unknown_table_lists_the_tables():
    with pytest.raises(ReproError, match=r"unknown table '99'. Tables: 1"):
        load_table("99")


@pytest.mark.parametrize("bad, message", [
    ({"paper": [1.0]}, "1 paper values for 2 columns"),
    ({"paper": [1.0, "7O.1"]}, "neither a number"),
])
def test_table_file_errors_name_the_row(bad, message):
    d = {"id": "t", "row_id": "r{x}", "columns": [{"id": "a"}, {"id": "b"}],
         "rows": [{"set": {"x": 1}, **bad}]}
    with pytest.raises(TableError, match=message):
        TableSpec.from_mapping("t", d)


def test_named_outcomes_are_paper_values():
    d = {"id": "t", "row_id": "r{x}", "columns": [{"id": "a"}, {"id": "b"}],
         "rows": [{"set": {"x": 1}, "paper": ["nan", "overflow"]}]}
    assert TableSpec.from_mapping("t", d).rows[0].paper == ("nan", "overflow")


def test_a_row_may_set_a_group_and_its_parameters_in_any_order():
    from repro.table.spec import TableSpec

    for row in ({"cls_loss": "hcrac", "cls_loss.loss.bins": 25},
                {"cls_loss.loss.bins": 25, "cls_loss": "hcrac"}):
        spec = TableSpec.from_mapping("t", {
            "id": "t", "row_id": "{cls_loss._choice}-m{cls_loss.loss.bins}",
            "columns": [{"id": "c"}], "rows": [{"set": row, "paper": [1.0]}]})
        assert spec.rows[0].id == "hcrac-m25"
        assert "cls_loss=hcrac" in spec.cells()[0].overrides
