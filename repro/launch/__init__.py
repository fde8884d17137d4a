"""Getting cells onto machines: claims on run folders, SLURM submission, distributed jobs.

- `launcher`: the sweep's launcher protocol (shape, check, launch) and what it returns;
  `local`: Hydra's joblib workers on this machine behind it.
- `claims`: one claim per run folder, so two launches never train the same cell twice.
- `slurm`: `hydra/launcher=slurm`, hydra-submitit-launcher's SLURM launcher submitting a
  table's cells as job arrays without waiting for them.
- `distributed`: a multi-task SLURM job's rank, world and rendezvous port.
"""
