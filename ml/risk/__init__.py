"""Offline side of the risk models: the simulator, training, and the commands that train and register.

    python -m ml.risk.bootstrap           first production models (idempotent; `make run` runs it)
    python -m ml.risk.train_churn ...     a churn model from a CSV export or the CRM
    python -m ml.risk.train_escalation    an escalation model from the CRM or the simulator

Serving (features, the saved-model class, fast scoring, the registry, drift, rules) is backend/risk; this
package imports it, never the other way round (tests/risk/test_serving_apart.py).
"""
