"""How a cell's config is composed: the one way the plan, the sweep's pre-flight and the
jobs share.

A job's config is Hydra's composition of conf/config.yaml with the command line's
overrides (the `context`), then the cell's own (its job overrides). Hydra composes by
reading and merging the whole defaults tree again, 0.1-0.2 s a cell: too slow for the
plan (a table's cost in well under 1.5 s) and for a 120-cell submission. A table's cells
differ mostly in values (a loss weight), not in their config-group choices (six sets in
Table 1's 120 cells). So `Composer` has Hydra compose each distinct set of group choices
once (the caller's `compose`: the launcher's own `load_sweep_config` in a sweep, Hydra's
compose API in the plan), and sets a cell's value overrides (`key=value`, `+key=value`
for a new key, `++key=value`) with OmegaConf, as Hydra sets them after merging the
groups. Anything else (`~key`, a new nested branch, a key the config lacks or already
has) is composed in full by Hydra, so it fails with Hydra's own message. The composed group sets are also kept on disk
(`cache_dir()`, keyed by the content of conf/, the context and the group choices, written
atomically), so a plan or a launch after the first composes nothing with Hydra.

`hydra.*` is left out of what a Composer returns: the plan and the checks read the job's
keys. tests/test_compose.py composes every cell of every table both ways and compares.
"""
from __future__ import annotations

import copy
import functools
import hashlib
import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, Sequence, TypeVar

from omegaconf import DictConfig, OmegaConf, open_dict

from repro.core.paths import CONF_DIR
from repro.sweep.expand import override_key

T = TypeVar("T")


def is_group_override(override: str) -> bool:
    key = override_key(override)
    return "=" in override and ("/" in key or (CONF_DIR / key).is_dir())


def cache_dir() -> Path:
    """Where composed group sets are kept: $REPRO_CACHE_DIR, else ~/.cache/repro/compose."""
    root = os.environ.get("REPRO_CACHE_DIR") or Path(
        os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "repro"
    return Path(root) / "compose"


@functools.lru_cache(maxsize=1)
def _conf_digest() -> str:
    """The content of every file under conf/ (a changed entry composes again)."""
    h = hashlib.sha256()
    for path in sorted(CONF_DIR.rglob("*")):
        if path.is_file():
            h.update(str(path.relative_to(CONF_DIR)).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


@functools.lru_cache(maxsize=None)
def _value(override: str) -> tuple[str, object, bool, bool] | None:
    """`key=value`, `+key=value`, `++key=value` as (key, value, new, existing): whether the
    key may be new, and may exist already; None for what only a full composition does
    (`~key`, sweeps, a group's package)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    o = OverridesParser.create().parse_overrides([override])[0]
    if o.is_delete() or o.is_sweep_override() or o.package is not None:
        return None
    return o.key_or_group, o.value(), o.is_add() or o.is_force_add(), not o.is_add()


def _is_hydra(override: str) -> bool:
    return override.lstrip("+~").startswith("hydra.")


class Composer:
    def __init__(self, compose: Callable[[list[str]], DictConfig],
                 context: Sequence[str] = (), cache: Path | None = None) -> None:
        self._compose = compose
        self._context = tuple(context)  # the overrides `compose` adds itself (command line)
        self._cache = cache_dir() if cache is None else cache
        self._bases: dict[tuple[str, ...], DictConfig | None] = {}

    def __call__(self, overrides: Sequence[str]) -> DictConfig:
        """The cell's config, the caller's to keep."""
        return self.read(overrides, copy.deepcopy)

    def read(self, overrides: Sequence[str], fn: Callable[[DictConfig], T]) -> T:
        """`fn` of the cell's config, without copying it: its value overrides are set on
        the composed group set in place and undone after `fn` returns (the plan reads a
        few keys of every cell; a copy of a whole config costs more than its pricing)."""
        overrides = list(overrides)
        groups = tuple(o for o in overrides if is_group_override(o))
        base = self._base(groups)
        if base is None:
            return fn(self._full(overrides))
        undo: list = []
        try:
            if self._set(base, [o for o in overrides if o not in groups], undo):
                return fn(base)
        finally:
            for parent, key, node in reversed(undo):
                with open_dict(parent):
                    if node is None:
                        del parent[key]
                    else:
                        parent[key] = node
        return fn(self._full(overrides))

    @staticmethod
    def _set(cfg: DictConfig, values: list[str], undo: list) -> bool:
        """Set each `key=value` / `++key=value` on cfg, noting in `undo` how to take it
        back; False where only Hydra's full composition can (then cfg is undone)."""
        for o in values:
            if _is_hydra(o):
                continue
            parsed = _value(o)
            if parsed is None:
                return False
            key, value, new, existing = parsed
            head, _, last = key.rpartition(".")
            parent = OmegaConf.select(cfg, head) if head else cfg
            if not isinstance(parent, DictConfig) or not (new if last not in parent
                                                          else existing):
                return False  # a new branch, a list index, or what Hydra would refuse
            node = parent._get_node(last) if last in parent else None
            undo.append((parent, last, copy.deepcopy(node)))
            try:
                OmegaConf.update(cfg, key, value, merge=True, force_add=new)
            except Exception:  # noqa: BLE001 - Hydra's composition says what is wrong
                return False
        return True

    def _full(self, overrides: list[str]) -> DictConfig:
        return _without_hydra(self._compose(overrides))

    def _base(self, groups: tuple[str, ...]) -> DictConfig | None:
        if groups not in self._bases:
            self._bases[groups] = self._stored(groups)
        return self._bases[groups]

    def _stored(self, groups: tuple[str, ...]) -> DictConfig | None:
        key = hashlib.sha256("\n".join((_conf_digest(), *self._context, "--", *groups))
                             .encode()).hexdigest()[:32]
        path = self._cache / f"{key}.json"
        try:
            cfg = OmegaConf.create(json.loads(path.read_text()))
            OmegaConf.set_struct(cfg, True)  # as Hydra's: a key it lacks is refused
            return cfg
        except Exception:  # noqa: BLE001 - not kept yet, or unreadable: compose it again
            pass
        try:
            cfg = self._full(list(groups))
        except Exception:  # noqa: BLE001 - the full composition says what is wrong
            return None
        _write(path, json.dumps(OmegaConf.to_container(cfg)))  # unresolved: ${...} kept
        return cfg


def _without_hydra(cfg: DictConfig) -> DictConfig:
    OmegaConf.set_readonly(cfg, False)
    with open_dict(cfg):
        cfg.pop("hydra", None)
    return cfg


def _write(path: Path, text: str) -> None:
    """Atomically, and never failing the caller (a read-only home just composes again)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except OSError:
        pass


@contextmanager
def hydra_composer(context: Sequence[str]) -> Iterator[Composer]:
    """A Composer where no Hydra app runs (the plan): Hydra's compose API on conf/, with
    `context` as the command line's overrides, initialised only if a group set is not on
    disk yet."""
    state: dict = {}

    def compose(overrides: list[str]) -> DictConfig:
        if "hydra" not in state:
            from hydra import compose as hydra_compose
            from hydra import initialize_config_dir

            state["init"] = initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3")
            state["init"].__enter__()
            state["hydra"] = hydra_compose
        return state["hydra"]("config", overrides=[*context, *overrides])

    try:
        yield Composer(compose, context)
    finally:
        if "init" in state:
            state["init"].__exit__(None, None, None)
