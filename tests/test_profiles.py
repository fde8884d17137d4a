"""The profiles that derive from another (conf/profile/smoke-3x.yaml) change only what
they say they change, so a regime's measurements (docs/benchmarks.md) stay its own."""
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from repro.core.paths import CONF_DIR


def _profile(name: str) -> dict:
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose("config", overrides=[f"profile={name}"])
    return OmegaConf.to_container(cfg.profile, resolve=True)


def test_smoke_3x_is_smoke_at_three_times_the_iterations():
    smoke, long = _profile("smoke"), _profile("smoke-3x")
    assert (long["name"], long["iters"], long["tables_as"]) == ("smoke-3x", 660, "smoke")
    assert long["iters"] == 3 * smoke["iters"]
    differ = {k for k in smoke.keys() | long.keys() if smoke.get(k) != long.get(k)}
    assert differ == {"name", "iters", "tables_as"}
