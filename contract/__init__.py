"""The bot↔backend contract: what the action server sends and receives, and the words both sides share.

A top-level package of its own because two interpreters import it: the backend (Python 3.11, pydantic 2)
and the action server (Python 3.10, Rasa's pinned pydantic 1). So it uses the standard library only.
"""
