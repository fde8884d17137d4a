"""Getting cells onto machines: claims on run folders, SLURM submission, distributed jobs.

- `claims`: one claim per run folder, so two launches never train the same cell twice.
- `slurm`: `hydra/launcher=slurm`, hydra-submitit-launcher's SLURM launcher submitting a
  table's cells as job arrays without waiting for them.
- `distributed`: a multi-task SLURM job's rank, world and rendezvous port.
"""
