"""Building cells and reading one claim's verdict, for the claim tests."""
import pandas as pd

from repro.report.claims import evaluate, parse_claims


def cells(values, sd=0.1, n=3):
    """{(row, col): mean | 'nan' | (mean, sd, n)} -> a cell_table-shaped frame."""
    out = []
    for (row, col), v in values.items():
        if isinstance(v, str):
            out.append({"row": row, "column": col, "state": v, "reproduced": None,
                        "std": None, "n": 0})
            continue
        mean, s, k = v if isinstance(v, tuple) else (v, sd, n)
        out.append({"row": row, "column": col, "state": "done", "reproduced": mean,
                    "std": s, "n": k})
    return pd.DataFrame(out, columns=["row", "column", "state", "reproduced", "std", "n"])


def verdict(spec, claim, values, **kw):
    (claim,) = parse_claims(spec, [{"id": "c", "text": "t", **claim}])
    row = evaluate(spec, [claim], cells(values, **kw)).iloc[0]
    return row.reproduced, row.numbers


def grid(cols, **rows):
    return {(r, c): v for r, v in rows.items() for c in cols}
