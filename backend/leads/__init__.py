"""Sales leads: capture from the bot's sales intent, a calibrated conversion score with reasons, routing."""
