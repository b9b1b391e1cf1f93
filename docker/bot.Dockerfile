# The Rasa image (Python 3.10): serves the trained model (rasa run) or the action server (python -m rasa_sdk).
FROM python:3.10-slim
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
# The HTTP API is served with RASA_TOKEN (`--auth-token`), and not at all without one: an empty token would be
# matched by any `?token=`. The hub channel's webhook wants the same RASA_TOKEN as a bearer header.
CMD ["sh", "-c", "exec rasa run --enable-api --auth-token \"${RASA_TOKEN:?set RASA_TOKEN: the HTTP API token}\" --model /models/current.tar.gz --credentials credentials.yml --endpoints endpoints.scaled.yml"]
