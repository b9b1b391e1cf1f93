# The Rasa image for Kubernetes: docker/bot.Dockerfile's image with the trained model inside, at the path its
# CMD serves (/models/current.tar.gz). The model comes from the image, not a volume: the custom NLU components
# it was trained with (nlu/) are in the same image, a rollout (and `kubectl rollout undo`) changes code and
# model together, every replica the HPA adds on any node gets the same model without ReadOnlyMany storage, and
# the image tag says which model serves. Built on the pushed bot image (BOT_IMAGE), so the action server and
# Rasa run the same code; the same layers as docker/bot.Dockerfile's target `rasa`, which docker-compose.yml
# builds. From the repository root, after `make image-models` (var/models/ holds links into the model cache,
# outside the build context; it stages real files in var/image-models/):
#   docker build -f docker/bot.Dockerfile --target bot -t supportdesk-bot:TAG .
#   docker build -f docker/kubernetes/rasa.Dockerfile --build-arg BOT_IMAGE=supportdesk-bot:TAG \
#     -t supportdesk-rasa:TAG .
ARG BOT_IMAGE=supportdesk-bot:latest
FROM ${BOT_IMAGE}
COPY var/image-models/rasa/current.tar.gz /models/current.tar.gz
