"""Automation rules with guardrails (issue 16): trigger -> conditions -> actions, stored as versions.

    schemas.py    the rule language (triggers, the condition tree and its context fields, actions, calendars)
                  and the API bodies
    models.py     rules, immutable versions, the firings ledger, the exception queue, conversation tags
    evaluator.py  pure: evaluate(rules, event, context, ledger, limits) -> planned actions, run or blocked
    context.py    the context snapshot a rule reads, as of an event's time, from the stored rows
    events.py     events from the stored rows (dry-run replay, the time-based sweep), keyed alike
    ledger.py     what automation already did, from the database (live) or memory (dry-run)
    engine.py     the live engine: publisher sink, sweep, claims, decisions; actions via lifecycle/automated
    webhook.py    HMAC-SHA256-signed webhook calls, retried with back-off
    service.py    versions, enable after a dry-run, rollback, audit; the dry-run; the exception queue
    views.py      /api/automation/...

The dry-run and the engine share the evaluator, the context builder and the event keys, so what a dry-run
shows is what enabling the rule does on the same events (tests/automation/test_versions.py checks it).
"""
