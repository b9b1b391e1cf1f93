"""bot/rasa_run.py hands Rasa its token in a form Rasa's own parser reads whatever the token's characters."""

import pytest
from rasa.__main__ import create_argument_parser
from rasa_run import rasa_argv


@pytest.mark.parametrize("token", ["plain-token_1", "-starts-with-a-dash", "--looks-like-an-option"])
def test_rasas_parser_reads_the_token_it_is_given(token: str) -> None:
    argv = rasa_argv(["--enable-api", "--port", "5005"], token)
    args = create_argument_parser().parse_args(argv[1:])
    assert args.auth_token == token and args.enable_api and args.port == 5005
