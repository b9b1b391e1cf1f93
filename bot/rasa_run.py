"""`rasa run` with its HTTP API token taken from the environment (RASA_TOKEN), never from the command line.

    python -m rasa_run --enable-api --model MODEL --port 5005 ...   # every `rasa run` option but --auth-token

Rasa reads the API token only from `--auth-token`, and a process's command line is public on a Linux machine
(`ps`, /proc/PID/cmdline, readable by every local user and by anything that lists a container's processes).
This module runs Rasa's own command-line entry point (`rasa.__main__.main`, so parsing, logging set-up and
`rasa.run` are exactly those of `rasa run`) in this process, with `--auth-token` appended to `sys.argv`
in memory: `sys.argv` is a Python list, and changing it does not change what the kernel shows as this
process's arguments, which stay the ones above. The token comes from RASA_TOKEN, which the hub channel
(bot/channels/hub.py) reads too; a process's environment (/proc/PID/environ) is readable by its owner and
root only.

Refuses to start without a token (an `--enable-api` server without one serves its API to anyone) and with
`--auth-token` among its arguments (the very leak this avoids). Run with the bot venv's Python, with bot/ as
the working directory or on PYTHONPATH: scripts/stack.py, docker/bot.Dockerfile and the Kubernetes Rasa
image start Rasa this way.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from nlu.settings import RASA_TOKEN, bot_settings

TOKEN_FLAG = "--auth-token"


class LaunchError(Exception):
    """The launcher was asked for something it must not do; the message says what."""


def rasa_argv(options: Sequence[str], token: str) -> list[str]:
    """The `sys.argv` Rasa's CLI parses: `rasa run`, the caller's options, then the token."""
    if any(option == TOKEN_FLAG or option.startswith(TOKEN_FLAG + "=") for option in options):
        raise LaunchError(f"{TOKEN_FLAG} on a command line is visible to every local user: set {RASA_TOKEN}")
    if not token.strip():
        raise LaunchError(f"set {RASA_TOKEN}: the Rasa HTTP API token (an API without one serves anyone)")
    if options and options[0] == "run":
        options = options[1:]  # `python -m rasa_run run ...` means the same
    # One argument, `--auth-token=...`: a random token that starts with "-" (1 in 64 of token_urlsafe's)
    # would otherwise be read by Rasa's parser as an option, and the server would not start.
    return ["rasa", "run", *options, f"{TOKEN_FLAG}={token.strip()}"]


def main() -> None:
    try:
        sys.argv = rasa_argv(sys.argv[1:], bot_settings().rasa_token)
    except LaunchError as error:
        print(f"rasa_run: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
