"""`python -m repro table=<id> -m` (or `repro table=<id> -m`): run a paper table's sweep
(see conf/config.yaml); `repro --help` lists what there is; `repro plan|status|report|enter
...` runs the sibling command."""
from __future__ import annotations

import importlib
import sys

import hydra
from omegaconf import DictConfig

from repro.commands.args import fail
from repro.commands.run import hydra_argv, precheck_argv
from repro.core.paths import CONF_DIR


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="config")
def main(cfg: DictConfig) -> dict:
    from repro.job.run_cell import run_cell  # mmdet is imported by jobs only

    return run_cell(cfg)


def _sibling(name: str, argv: list[str]) -> int:
    module = importlib.import_module(f"repro.commands.{name}")
    sys.argv[0] = f"python -m repro.{name}"
    return int(module.main(argv) or 0)


if __name__ == "__main__":
    from repro.commands.help import SIBLINGS

    args = sys.argv[1:]
    if args and args[0] in SIBLINGS:
        sys.exit(_sibling(args[0], args[1:]))
    if {"-h", "--help"}.intersection(args):
        from repro.commands.help import text

        print(text())
        sys.exit(0)
    try:
        precheck_argv(args)
    except Exception as e:  # noqa: BLE001 - ReproError only, see precheck_argv
        sys.exit(fail(e))
    sys.argv[1:] = hydra_argv(args)
    main()
