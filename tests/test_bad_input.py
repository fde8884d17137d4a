"""Bad input: one clear message with the fix, exit 2, no traceback, nothing written."""
import shutil

import pytest


def _assert_clean_refusal(result, tmp_path, *needles):
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in result.stderr, result.stderr
    assert not (tmp_path / "sweeps").exists()
    assert not (tmp_path / "results").exists()


def test_unknown_table_lists_the_tables(repro):
    r = repro("table=99", "-m")
    _assert_clean_refusal(r, repro.tmp_path, "unknown table '99'", "Tables: 1")


def test_no_table(repro):
    _assert_clean_refusal(repro("-m"), repro.tmp_path, "no table selected", "table=1")


def test_table_without_multirun_says_add_m(repro):
    _assert_clean_refusal(repro("table=1"), repro.tmp_path, "add -m")


def test_paper_profile_names_the_missing_dataset(repro, tmp_path):
    r = repro("table=1", "-m", "profile=paper", f"profile.data_root={tmp_path}/nowhere")
    _assert_clean_refusal(r, tmp_path, f"{tmp_path}/nowhere/VOCdevkit", "REPRO_DATA_ROOT",
                          "paper profile needs VOC")


def test_paper_profile_names_the_missing_weights(repro, tmp_path):
    voc = tmp_path / "d" / "VOCdevkit"
    for sub, listing in (("VOC2012", "trainval"), ("VOC2007", "test")):
        (voc / sub / "ImageSets/Main").mkdir(parents=True)
        (voc / sub / "ImageSets/Main" / f"{listing}.txt").write_text("x\n")
    r = repro("table=1", "-m", "profile=paper", f"profile.data_root={tmp_path}/d",
              "cells=[*__voc_*]", f"profile.pretrained.resnet50={tmp_path}/w/r50.pth")
    _assert_clean_refusal(r, tmp_path, f"{tmp_path}/w/r50.pth", "pretrained resnet50 weights")


@pytest.mark.parametrize("override, needle", [
    ("optimizer.lr=-0.1", "optimizer.lr=-0.1 must be a positive number"),
    ("seeds=0", "seeds=0"),
    ("cells=[nothing*]", "matches no cell"),
    ("dataset=coco", "table 1 sets dataset itself"),
])
def test_bad_values_are_refused_before_anything_runs(repro, override, needle):
    _assert_clean_refusal(repro("table=1", "-m", override), repro.tmp_path, needle)


def test_unknown_group_entry_lists_what_exists(repro):
    r = repro("table=1", "-m", "cls_loss=nope")
    _assert_clean_refusal(r, repro.tmp_path, "unknown cls_loss 'nope'", "default, ")


@pytest.fixture
def bad_table(tmp_path):
    """A table file with mistakes a table author can make, in a copy of the config tree
    (REPRO_CONF_DIR), never in the checkout's conf/."""
    from repro.core.paths import CONF_DIR

    conf = tmp_path / "conf"
    shutil.copytree(CONF_DIR, conf)
    path = conf / "table" / "zz_bad_input_test.yaml"

    def write(rows: str):
        path.write_text("id: zz_bad\nfixed: {detector: faster_rcnn_r50}\n"
                        "columns: [{id: c, set: {balancer: alwa2}}]\nrows:\n" + rows)
        return path.stem
    write.env = {"REPRO_CONF_DIR": str(conf)}
    return write


@pytest.mark.parametrize("row, needle", [
    ("{id: r, set: {balancer.lambda0: 0}, paper: [1.0]}",
     "table zz_bad_input_test, cell r__c: balancer.lambda0=0 must be a positive number"),
    ("{id: r, set: {balancer.interval: -20}, paper: [1.0]}",
     "cell r__c: balancer.interval=-20 must be a positive number"),
    ("{id: r, set: {balancer.interval: 12.5}, paper: [1.0]}",
     "cell r__c: balancer.interval=12.5 must be a whole number"),
    ("{id: r, set: {optimizer: sgdd}, paper: [1.0]}",
     "cell r__c: unknown optimizer 'sgdd'; optimizer entries (conf/optimizer/): adamw, sgd"),
    ("{id: r, set: {reg_loss: l3}, paper: [1.0]}", "cell r__c: unknown reg_loss 'l3'"),
])
def test_a_bad_table_cell_is_named_before_anything_runs(repro, bad_table, row, needle):
    name = bad_table(f"  - {row}\n  - {{id: ok, paper: [1.0]}}\n")
    _assert_clean_refusal(repro(f"table={name}", "-m", env=bad_table.env), repro.tmp_path,
                          needle)


@pytest.mark.parametrize("extra, needle", [
    ("claims: [{id: c1, text: t, kind: beats_everything}]\n", "beats_everything"),
    ("figures: [{kind: pie}]\n", "figure 1"),
])
def test_a_bad_claim_or_figure_fails_before_any_training(repro, bad_table, extra, needle):
    name = bad_table("  - {id: ok, paper: [1.0]}\n" + extra)
    _assert_clean_refusal(repro(f"table={name}", "-m", env=bad_table.env), repro.tmp_path,
                          needle)


@pytest.mark.parametrize("overrides, needle", [
    (["++balancer.groups=[rpn]"], "balancer.groups=['rpn']: name one or both of ['anchor', 'roi']"),
    (["++balancer.cls_kpi=recall"], "balancer.cls_kpi='recall': choose one of"),
    (["++balancer.groups=[anchor,roi]"], "balancer=dtp reads its KPIs from the anchor head only"),
])
def test_a_bad_balancer_setting_is_refused_before_anything_runs(repro, overrides, needle):
    r = repro("table=4", "-m", "cells=[dtp__*]", *overrides)
    _assert_clean_refusal(r, repro.tmp_path, "table 4, cell dtp__retinanet", needle)


def test_a_key_the_default_balancer_lacks_says_to_use_plus_plus(repro):
    r = repro("table=4", "-m", "balancer.cls_kpi=recall")
    _assert_clean_refusal(r, repro.tmp_path, "balancer.cls_kpi is not a setting of "
                          "balancer=static", "++balancer.cls_kpi=recall")
