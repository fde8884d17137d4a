"""Hydra discovers the `hydra/launcher=slurm` schema here (conf/hydra/launcher/slurm.yaml)."""
