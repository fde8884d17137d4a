"""A run's number for its table: the evaluator's metric as the record keeps it."""
from __future__ import annotations


def headline(results: dict, key: str) -> tuple[float | None, dict]:
    """The table's number from the evaluator's results: 100 x results[key], rounded as
    the record keeps it (None: the evaluator scored something else), and a note."""
    if key not in results and not any(k.startswith(key.split("/")[0] + "/") for k in results):
        # MMDetection's CocoMetric returns nothing when no box scored above the test
        # threshold ("The testing results of the whole dataset is empty"): that is AP 0,
        # a result (an untrained smoke detector), not a failure of the run.
        return 0.0, {"note": "no detections above the test score threshold"}
    if key not in results:
        return None, {}
    return round(100.0 * float(results[key]), 4), {}
