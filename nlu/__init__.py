"""Custom Rasa NLU components of Supportdesk: an ONNX sentence encoder, its featurizer, an intent classifier
over the sentence features and a trained sentiment analyzer.

Importing this package must stay cheap and free of Rasa and torch: the app venv (no Rasa) imports
`nlu.encoder_export` and `nlu.sentence_encoder`; the Rasa components live in their own modules.
"""
