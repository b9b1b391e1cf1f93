"""Privacy: PII redaction of transcripts for analytics and training, customer export and erasure (GDPR),
and transcript retention.

- redaction.py: [EMAIL] [PHONE] [CARD] [IBAN] by checked patterns, [NAME] by spaCy NER plus the names the
  CRM knows; its seeded test set is ml/pii_eval.py (`python -m scripts.eval_pii`), outside the app.
- service.py: the stored redacted copy of every message (and why it is stored), the export and erasure of
  one customer (what happens per table), the redacted training export.
- tracker.py: Rasa's own copy of each transcript, deleted from its SQL tracker store, or owed.
- purge.py: the retention purge (`python -m backend.privacy.purge`); worker.py: the loop that redacts new
  messages, retries owed tracker erasures and runs the purge, off the customer's turn.
- views.py: /api/v1/privacy, admins only, every call audited.
Staff in the inbox still read the original words (they need them to help); what leaves for analytics or
training is the redacted copy.
"""
