"""The conversation lifecycle: every change of a conversation's or its case's state, in one place.

Entry points decide *when* (the hub after a turn, the inbox's routes, the service API's hand-off, the routing
loop, the analytics sweep's pace, the privacy worker); the functions here decide *what*: they store the
change, publish its events (analytics publisher, live notifier) and are where decision-log rows will be
written. Nothing else writes these columns; tests/lifecycle/test_lifecycle_boundaries.py checks it.

    conversations.py  opened, customer turn (reopens an ended one), bot turn, ended idle, erased
    handoff.py        handed over (a queued case opens), the hand-off's risk and priority
    cases.py          offered, accepted, agent replied, resolved, handed back, transferred, re-queued,
                      SLA breached, rated

Dependencies point one way: entry points -> lifecycle -> the domains' models, schemas and notifier. This
package imports no view, hub, dispatcher or loop.
"""
