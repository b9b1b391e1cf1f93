"""Plumbing shared by the backend's domains (background loops: background.py)."""
