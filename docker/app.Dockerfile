# The backend image (Python 3.11): FastAPI app, migrations, knowledge index, risk models.
FROM python:3.11-slim
WORKDIR /app
ENV PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 PIP_NO_CACHE_DIR=1
# A CPU-only torch build keeps the image small: point PIP_EXTRA_INDEX_URL at a CPU wheel index when building.
ARG PIP_EXTRA_INDEX_URL=""
RUN pip install "torch==2.13.0"
COPY requirements/app.txt requirements/app.txt
RUN pip install -r requirements/app.txt
COPY alembic.ini pyproject.toml ./
COPY backend backend
COPY contract contract
COPY knowledge knowledge
COPY nlu nlu
COPY scripts scripts
EXPOSE 8000
CMD ["sh", "-c", "python -m alembic upgrade head && python -m backend.seed && exec python -m uvicorn backend.main:create_app --factory --host 0.0.0.0 --port 8000 --workers ${BACKEND_WORKERS:-4}"]
