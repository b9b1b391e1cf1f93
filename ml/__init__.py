"""Offline machine learning: labelled in-domain sets, training and evaluation commands.

The web app never imports it."""
