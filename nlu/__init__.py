"""Custom Rasa NLU components of Supportdesk: an ONNX sentence encoder, its featurizer, an intent classifier
over the sentence features and a trained sentiment analyzer, on one base (component_base.StoredComponent).

Importing this package must stay cheap and free of Rasa and torch: the app venv (no Rasa) imports
`nlu.encoder_export`, `nlu.sentence_encoder` and `nlu.settings` (the Rasa side's environment variables,
standard library only); the Rasa components live in their own modules.
"""
