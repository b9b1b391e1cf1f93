# The Rasa side's images (Python 3.10). Build from the repository root; docker-compose.yml builds both targets.
#   target `bot`:  the action server (python -m rasa_sdk), and the base of the Rasa images
#   target `rasa`: `bot` plus the trained model at /models/current.tar.gz, which its CMD serves
#                  (`make image-models` first: it stages the model as a real file in var/image-models/)
FROM python:3.10-slim AS bot
WORKDIR /app
ENV PYTHONUNBUFFERED=1 PYTHONPATH=/app:/app/bot TF_CPP_MIN_LOG_LEVEL=2 PIP_NO_CACHE_DIR=1
COPY requirements/bot.txt requirements/bot.txt
RUN pip install -r requirements/bot.txt
COPY nlu nlu
COPY actions actions
COPY contract contract
COPY bot bot
WORKDIR /app/bot
EXPOSE 5005 5055
# `rasa run` through bot/rasa_run.py: the HTTP API is served with RASA_TOKEN from the environment, never on the
# command line (which `ps` shows), and not at all without one (an empty token would be matched by any
# `?token=`; the launcher exits instead). The hub channel's webhook wants the same RASA_TOKEN as a bearer header.
CMD ["python", "-m", "rasa_run", "--enable-api", "--model", "/models/current.tar.gz", "--credentials", "credentials.yml", "--endpoints", "endpoints.scaled.yml"]

FROM bot AS rasa
# The model as a file, not the var/models link into the host's cache (which does not exist in a container).
COPY var/image-models/rasa/current.tar.gz /models/current.tar.gz
