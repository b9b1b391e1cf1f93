"""Sales leads: capture, scoring, routing, the API and the evaluation's split."""
