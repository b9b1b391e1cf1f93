"""Agent assist: the hand-off brief, suggested replies, similar past cases, macros and knowledge gaps.

Everything here reads what other domains stored (messages with their parse, decisions, cases, articles) and
writes only its own tables, decision-log rows of kind `suggestion` and, through the normal paths, macro
effects (backend/lifecycle/) and draft articles (backend/kb/).
"""
