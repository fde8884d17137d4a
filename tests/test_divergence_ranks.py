"""A NaN seen by one rank of a multi-task job stops every rank as `nan` (hooks.py)."""
import torch.distributed as dist
import torch.multiprocessing as mp


def _rank(rank: int, world: int, init: str, out) -> None:
    dist.init_process_group("gloo", init_method=init, rank=rank, world_size=world)
    from repro.job.hooks import _any_rank

    out.put((rank, _any_rank(rank == 1), _any_rank(False)))
    dist.destroy_process_group()


def test_one_ranks_nan_is_every_ranks(tmp_path):
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    init = f"file://{tmp_path / 'rendezvous'}"
    procs = [ctx.Process(target=_rank, args=(r, 2, init, out)) for r in range(2)]
    for p in procs:
        p.start()
    got = sorted(out.get(timeout=120) for _ in procs)
    for p in procs:
        p.join(timeout=60)
    assert got == [(0, True, False), (1, True, False)]
