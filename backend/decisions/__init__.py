"""The decision log: every automated decision with its evidence, its outcome later, and people's verdicts.

models.py    the one `decisions` table
service.py   record() (the one call every decider makes), feedback, overrides' bookkeeping, listing
review.py    the daily stratified review sample and the weekly quality figures
outcomes.py  the scheduled join that fills each decision's outcome from what happened later
views.py     /api/decisions, /api/review-queue, /api/cases/{id}/override
"""
