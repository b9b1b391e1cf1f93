"""Rasa input channels of this project (registered in bot/credentials.yml)."""
