"""The hand-off decision: whether a person should take over after a customer turn."""
