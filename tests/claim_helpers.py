"""Building cells and reading one claim's verdict, for the claim tests."""
import math

import pandas as pd

from repro.report.claims import evaluate, parse_claims

COLUMNS = ["row", "column", "state", "reproduced", "std", "n", "noise_sigma", "noise_dof"]


def cells(values, sd=0.1, n=3):
    """{(row, col): mean | 'nan' | (mean, sd, n)} -> a cell_table-shaped frame whose noise
    (noise_sigma, noise_dof) is the pooled seed std of the cells with n > 1, as
    repro/report/noise.py measures it (one domain: the whole frame)."""
    out = []
    for (row, col), v in values.items():
        if isinstance(v, str):
            out.append({"row": row, "column": col, "state": v, "reproduced": None,
                        "std": None, "n": 0})
            continue
        mean, s, k = v if isinstance(v, tuple) else (v, sd, n)
        out.append({"row": row, "column": col, "state": "done", "reproduced": mean,
                    "std": s, "n": k})
    several = [(e["std"], e["n"]) for e in out if e["state"] == "done" and e["n"] > 1]
    dof = sum(k - 1 for _, k in several)
    sigma = math.sqrt(sum((k - 1) * s * s for s, k in several) / dof) if dof else None
    for e in out:
        e.update(noise_sigma=sigma, noise_dof=dof)
    return pd.DataFrame(out, columns=COLUMNS)


def verdict(spec, claim, values, **kw):
    (claim,) = parse_claims(spec, [{"id": "c", "text": "t", **claim}])
    row = evaluate(spec, [claim], cells(values, **kw)).iloc[0]
    return row.reproduced, row.numbers


def grid(cols, **rows):
    return {(r, c): v for r, v in rows.items() for c in cols}
