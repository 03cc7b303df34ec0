# syntax=docker/dockerfile:1
# AccuNode production image: ASGI Django on gunicorn + uvicorn workers (web), or a Celery worker (worker).
#   docker build -t accunode .
#   docker run --env-file .env -p 8000:8000 accunode          # web: migrates, then serves on $PORT
#   docker run --env-file .env accunode worker                # Celery worker
# Required environment: README "Production configuration".

ARG PYTHON_VERSION=3.11

# --- builder: wheels for every pinned requirement, installed into a virtualenv that the runtime copies ------------
FROM python:${PYTHON_VERSION}-slim-bookworm AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_COLOR=1 \
    PYTHONDONTWRITEBYTECODE=1

# A compiler only for the rare requirement without a wheel for this platform; it never reaches the runtime image.
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /build
COPY requirements.txt .
RUN --mount=type=cache,target=/root/.cache/pip \
    pip wheel --wheel-dir /wheels -r requirements.txt \
    && python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-index --find-links /wheels -r requirements.txt

# --- runtime: slim, non-root, only what running needs ----------------------------------------------------------------
FROM python:${PYTHON_VERSION}-slim-bookworm AS runtime

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    DJANGO_SETTINGS_MODULE=accunode.settings.production \
    ACCUNODE_MEDIA_ROOT=/app/media \
    PORT=8000

# libgomp1: LightGBM's OpenMP runtime.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgomp1 \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 accunode \
    && useradd --system --uid 10001 --gid accunode --home-dir /app --no-create-home --shell /usr/sbin/nologin accunode

COPY --from=builder /opt/venv /opt/venv

WORKDIR /app
# The code stays owned by root and read-only to the app user; only media (bulk uploads) is writable.
COPY . .

# Static files are collected at build time (WhiteNoise serves them). The local settings need no secret from the
# environment and touch no database here; the key below exists only for this step.
RUN DJANGO_SETTINGS_MODULE=accunode.settings.local \
    DJANGO_SECRET_KEY=collectstatic-build-step-only \
    DJANGO_DEBUG=false \
    python manage.py collectstatic --no-input --verbosity 0 \
    && python -m compileall -q . \
    && chmod 0755 docker/entrypoint.sh \
    && mkdir -p /app/media \
    && chown accunode:accunode /app/media

USER accunode:accunode
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=90s --retries=3 \
    CMD ["python", "/app/docker/healthcheck.py"]

ENTRYPOINT ["/app/docker/entrypoint.sh"]
CMD ["web"]
