"""Tests only (on PYTHONPATH by tests/test_lost.py): every process of a sweep, its
workers included, adds tests/interrupt_hook.py's InterruptAtHook to the cells it trains,
with the arguments in env INTERRUPT (JSON). Nothing happens without INTERRUPT."""
import json
import os
import sys

_ARGS = os.environ.get("INTERRUPT")
if _ARGS:
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import repro.job.mmdet_config as _mc

    _build = _mc.build_mmdet_config

    def _with_hook(cfg, rd):
        import interrupt_hook  # noqa: F401 - registers InterruptAtHook

        mm = _build(cfg, rd)
        mm.custom_hooks.append(dict(type="InterruptAtHook", record=str(rd / "scalars.jsonl"),
                                    **json.loads(_ARGS)))
        return mm
    _mc.build_mmdet_config = _with_hook
