"""A config group's entries (conf/<group>/*.yaml), and Hydra's composition errors as one
line naming the bad choice and the ones there are."""
from __future__ import annotations

from repro.core.errors import ReproError
from repro.core.paths import CONF_DIR


def choices(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml"))


def check_choice(group: str, name: str) -> None:
    """`detector=fastr_rcnn` -> "unknown detector 'fastr_rcnn'; detectors: ..." """
    if (CONF_DIR / group).is_dir() and group not in ("hydra", "table") and \
            not (CONF_DIR / group / f"{name}.yaml").is_file():
        raise ReproError(f"unknown {group} {name!r}; {group} entries (conf/{group}/): "
                         f"{', '.join(choices(group))}")


def explain_compose_error(error: Exception) -> str:
    """Hydra's multi-line "Could not find 'group/name'" as one line listing the choices."""
    text = str(error)
    if "Could not find '" in text:
        group, _, name = text.split("Could not find '", 1)[1].split("'", 1)[0].rpartition("/")
        try:
            check_choice(group, name)
        except ReproError as e:
            return str(e)
    return " ".join(text.split("Config search path:")[0].split())
