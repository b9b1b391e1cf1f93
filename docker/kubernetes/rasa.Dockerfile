# The Rasa image for Kubernetes: docker/bot.Dockerfile's image with the trained model inside, at the path its
# CMD serves (/models/current.tar.gz). The model comes from the image, not a volume: the custom NLU components
# it was trained with (nlu/) are in the same image, a rollout (and `kubectl rollout undo`) changes code and
# model together, every replica the HPA adds on any node gets the same model without ReadOnlyMany storage, and
# the image tag says which model serves. Build from the repository root after `make model`:
#   docker build -f docker/bot.Dockerfile -t supportdesk-bot:TAG .
#   docker build -f docker/kubernetes/rasa.Dockerfile --build-arg BOT_IMAGE=supportdesk-bot:TAG \
#     -t supportdesk-rasa:TAG .
ARG BOT_IMAGE=supportdesk-bot:latest
FROM ${BOT_IMAGE}
# var/models/current.tar.gz is a link into the model cache; `docker build` copies what it points to only if
# it is dereferenced first: `cp -L var/models/current.tar.gz var/models/k8s-model.tar.gz` before building.
COPY var/models/k8s-model.tar.gz /models/current.tar.gz
