"""A balancer is one rule file plus one config entry (issue 15, point 2): the glue and the
report know a rule only by its declarations, never by its name."""
import ast
import functools
import inspect
import io
import tokenize
from pathlib import Path

import pytest
import yaml

from repro.balancers import RULES
from repro.balancers.entry import check_entry
from repro.core.errors import ReproError
from repro.core.paths import CONF_DIR, PROJECT_ROOT
from repro.report.curves import CURVES, declared_curves

PACKAGE = PROJECT_ROOT / "repro"
ENTRIES = sorted((CONF_DIR / "balancer").glob("*.yaml"))


def _docstring_lines(source: str) -> set[int]:
    lines = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            doc = node.body[0] if node.body else None
            if isinstance(doc, ast.Expr) and isinstance(doc.value, ast.Constant) \
                    and isinstance(doc.value.value, str):
                lines.update(range(doc.lineno, doc.end_lineno + 1))
    return lines


def mentions(path: Path, rule: type, entries: tuple[str, ...] = ()) -> list[str]:
    """Where a file's code names the rule: its config name as a word of a string literal
    (`== "alwa"`, f"balancer=dtp ..."), its class as an identifier, or one of its config
    entries (`alwa1`) as a word of a string that is not a docstring (docstrings show the
    table files' syntax). Comments are prose (the papers' names), not code."""
    tokens, docs = _tokens(path)
    found = []
    for kind, text, line, words in tokens:
        if kind == tokenize.STRING and (rule.name in words or (
                words & set(entries) and line not in docs)):
            found.append(f"{path.name}:{line}: {text}")
        elif kind == tokenize.NAME and text == rule.__name__:
            found.append(f"{path.name}:{line}: {text}")
    return found


@functools.lru_cache(maxsize=None)
def _tokens(path: Path) -> tuple[list, set[int]]:
    """A file's string and name tokens (kind, text, line, words), and its docstring lines."""
    source = path.read_text()
    tokens = [(tok.type, tok.string, tok.start[0],
               set(tok.string.replace("=", " ").replace("'", " ").replace('"', " ").split()))
              for tok in tokenize.generate_tokens(io.StringIO(source).readline)
              if tok.type in (tokenize.STRING, tokenize.NAME)]
    return tokens, _docstring_lines(source)


def entries_of(rule: type) -> tuple[str, ...]:
    return tuple(p.stem for p in ENTRIES if yaml.safe_load(p.read_text())["name"] == rule.name)


@pytest.mark.parametrize("name", sorted(RULES))
def test_no_balancer_name_outside_its_rule_file(name):
    rule = RULES[name]
    own = Path(inspect.getfile(rule)).resolve()
    offenders = [m for path in sorted(PACKAGE.rglob("*.py")) if path.resolve() != own
                 for m in mentions(path, rule, entries_of(rule))]
    assert not offenders, f"{name} is named outside {own.name}: {offenders}"
    assert mentions(own, rule), "the check must see the rule's own file name it"


def test_the_name_check_finds_a_planted_occurrence(tmp_path):
    planted = tmp_path / "glue.py"
    planted.write_text('from repro.balancers import ALWA, DTP\n\n\n'
                       'def f(cfg):\n'
                       '    # alwa in a comment is prose\n'
                       '    if cfg.balancer.name == "alwa":\n'
                       '        return ALWA\n'
                       '    raise ValueError(f"balancer=dtp on {cfg.detector.name}")\n'
                       '\n\n'
                       'def g(cfg):\n'
                       '    """Docstrings may show a table file: {balancer: [alwa1, alwa2]}."""\n'
                       '    return cfg.balancer == "alwa2"\n')
    assert [m.split(": ", 1)[0] for m in mentions(planted, RULES["alwa"])] == [
        "glue.py:1", "glue.py:6", "glue.py:7"]
    assert [m.split(": ", 1)[0] for m in mentions(planted, RULES["dtp"])] == [
        "glue.py:1", "glue.py:8"]
    assert mentions(planted, RULES["dwa"]) == []
    assert [m.split(": ", 1)[0] for m in mentions(planted, RULES["alwa"], ("alwa1", "alwa2"))
            ] == ["glue.py:1", "glue.py:6", "glue.py:7", "glue.py:13"]



@pytest.mark.parametrize("path", ENTRIES, ids=[p.stem for p in ENTRIES])
def test_every_config_entry_is_a_registered_rule_that_accepts_it(path):
    entry = yaml.safe_load(path.read_text())
    rule, settings = check_entry(entry, where=path.name)
    assert rule is RULES[entry["name"]]
    assert set(settings) <= set(inspect.signature(rule.__init__).parameters)
    assert set(declared_curves(entry["name"])) == set(CURVES)


def test_every_rule_has_a_config_entry():
    named = {yaml.safe_load(p.read_text())["name"] for p in ENTRIES}
    assert named == set(RULES)


@pytest.mark.parametrize("change, needle", [
    ({"interval": 12.5}, "where: balancer.interval=12.5 must be a whole number"),
    ({"lambda0": 0}, "where: balancer.lambda0=0 must be a positive number"),
    ({"variant": 3}, "where: balancer.variant=3 must be 1 (mean+std) or 2 (std)"),
    ({"roi_factor": 2.0}, "where: balancer.roi_factor is not a setting of balancer=alwa"),
    ({"name": "alwa3"}, "where: unknown balancer 'alwa3'; known: "),
])
def test_an_entry_is_checked_once_by_its_rule(change, needle):
    entry = {**yaml.safe_load((CONF_DIR / "balancer" / "alwa2.yaml").read_text()), **change}
    with pytest.raises(ReproError) as e:
        check_entry(entry, where="where")
    assert str(e.value).startswith(needle), str(e.value)
