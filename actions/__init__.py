"""Rasa SDK actions of the Northwind Goods assistant (`python -m rasa_sdk --actions actions`).

rasa_sdk imports every module of this package and registers each Action subclass it finds:

- orders.py      validate_order_status_form, action_ask_order_id (a signed-in shopper's latest orders as
                 buttons), action_lookup_order
- handoff.py     action_handoff, action_offer_person, action_apologize_complaint, action_security_concern
                 (offers of a person that give way when the backend's hand-off policy takes the turn over)
- leads.py       action_capture_lead, action_note_upgrade_interest (a plan upgrade noted as a lead, silently)
- knowledge.py   action_answer_from_knowledge
- retention.py   action_retention_offer
- billing.py     action_answer_billing (a person offered when the customer reports a wrong charge)
- fallback.py    action_try_knowledge (the knowledge base before the fallback), action_out_of_scope,
                 action_default_fallback, action_default_ask_affirmation (overrides of Rasa's defaults)
- bare_answers.py action_answer_yes, action_answer_no (a bare yes / no, answered as the question on screen:
                 a typed answer to the fallback's topic question counts as its button)

The actions reach customer data only through the backend's HTTP service API (backend_client.py); the texts
they send are in messages.py, the order-number rules in order_ids.py, and what the bot said before the
latest message, read from the stored events, in conversation_events.py.
"""
