"""Model metrics and features as plain JSON, for the registry, the scores and the audits alike."""

import math
from typing import Any

import numpy as np


def json_safe(value: Any) -> Any:
    """Numpy scalars to Python, NaN to null (PostgreSQL's JSON refuses NaN)."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
