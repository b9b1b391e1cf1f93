"""A small synthetic churn export with the usual mess: blanks, numbers stored as text, an id column."""

from pathlib import Path

import numpy as np
import pandas as pd


def churn_csv(path: Path, rows: int = 400, seed: int = 3) -> Path:
    rng = np.random.default_rng(seed)
    contract = rng.choice(["Month-to-month", "One year", "Two year"], size=rows, p=[0.5, 0.3, 0.2])
    tenure = rng.integers(0, 72, size=rows)
    charges = rng.uniform(20, 110, size=rows).round(2)
    logit = -0.5 + 1.6 * (contract == "Month-to-month") - 0.04 * tenure + 0.01 * (charges - 60)
    churned = rng.random(rows) < 1 / (1 + np.exp(-logit))
    frame = pd.DataFrame(
        {
            "customer_id": [f"C{i:05d}" for i in range(rows)],
            "contract": contract,
            "tenure": tenure.astype(str),
            "monthly": charges,
            "total": [" " if t == 0 else f"{t * c:.2f}" for t, c in zip(tenure, charges, strict=True)],
            "region": rng.choice(["north", "south", ""], size=rows),
            "constant": "x",
            "churned": np.where(churned, "Yes", "No"),
        }
    )
    frame.to_csv(path, index=False)
    return path
