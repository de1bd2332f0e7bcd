# syntax=docker/dockerfile:1
# The image of every Python gRPC service with a database (auth-svc, billing-svc, email-svc),
# parameterised by build args. Build from the repository root (the context needs the lock and
# the workspace libs); the args per service are in deploy/docker-compose.yml and the CI matrix:
#   docker build -f deploy/docker/service.Dockerfile -t tollgate/auth-svc \
#     --build-arg SERVICE=auth-svc --build-arg PACKAGE=auth_svc --build-arg ENV_PREFIX=AUTH \
#     --build-arg GRPC_PORT=50051 --build-arg HTTP_PORT=9101 \
#     --build-arg KEYS_DIR=/var/lib/tollgate/keys .

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---- build: a virtualenv with the pinned, hash-checked dependencies and our packages ----
FROM ${PYTHON_IMAGE} AS build
ARG UV_VERSION=0.13.9
# The service folder (auth-svc) and its import package (auth_svc); no defaults, so a build
# that forgets them fails here instead of quietly building another service.
ARG SERVICE
ARG PACKAGE
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    VIRTUAL_ENV=/opt/venv
RUN test -n "${SERVICE}" && test -n "${PACKAGE}" \
 && pip install --no-cache-dir "uv==${UV_VERSION}"
WORKDIR /src
# The service's own runtime lock, in its own layer: rebuilt only when the lock changes. No dev
# or test tool is in it (scripts/lock.sh), so nothing has to be removed afterwards.
COPY deploy/docker/build-venv.sh deploy/docker/build.lock deploy/docker/
COPY ${SERVICE}/requirements.lock ${SERVICE}/
RUN --mount=type=cache,target=/root/.cache/uv \
    sh deploy/docker/build-venv.sh deps /opt/venv "${SERVICE}"
COPY libs/proto/ libs/proto/
COPY libs/kit/ libs/kit/
COPY ${SERVICE}/pyproject.toml ${SERVICE}/
COPY ${SERVICE}/src/ ${SERVICE}/src/
# The wheel carries them as <package>/migrations (force-include in the service's pyproject),
# where `python -m <package> migrate` finds them (tollgate_kit.db.migrations_dir).
COPY ${SERVICE}/migrations/ ${SERVICE}/migrations/
# Our packages as real wheels (not editable) without dependencies, built by the hash-checked
# build backend; `uv pip check` then checks the lock held what they need (extras aside:
# tests/deploy/test_image_envs.py follows the kit extras too, on this same script).
RUN --mount=type=cache,target=/root/.cache/uv \
    sh deploy/docker/build-venv.sh packages /opt/venv "${SERVICE}" \
 && test -f "/opt/venv/lib/python3.11/site-packages/${PACKAGE}/migrations/env.py"

# ---- runtime: the virtualenv (with the migrations), a non-root user ----
FROM ${PYTHON_IMAGE} AS runtime
ARG PACKAGE
# The service's settings prefix (AUTH reads AUTH_*), and its ports.
ARG ENV_PREFIX
ARG GRPC_PORT
ARG HTTP_PORT
# A directory the service keeps files in, owned by the service user (auth-svc's signing
# keys; a volume mounted there takes this ownership). Empty for services that keep none.
ARG KEYS_DIR=""
RUN test -n "${PACKAGE}" && test -n "${ENV_PREFIX}" && test -n "${GRPC_PORT}" \
 && test -n "${HTTP_PORT}" \
 && groupadd --system --gid 10001 tollgate \
 && useradd --system --uid 10001 --gid tollgate --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin tollgate \
 && if [ -n "${KEYS_DIR}" ]; then install -d -o tollgate -g tollgate -m 0700 "${KEYS_DIR}"; fi
# ENV keys are expanded too: for auth-svc these are AUTH_GRPC_PORT, AUTH_HTTP_PORT and
# AUTH_KEYS_DIR (the other services have no keys_dir setting; their empty one is ignored).
# Kept after the last RUN: hadolint hands earlier ENVs to shellcheck, which misreads the keys.
ENV PATH=/opt/venv/bin:$PATH \
    VIRTUAL_ENV=/opt/venv \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    SERVICE_MODULE=${PACKAGE} \
    SERVICE_ENV_PREFIX=${ENV_PREFIX} \
    ${ENV_PREFIX}_GRPC_PORT=${GRPC_PORT} \
    ${ENV_PREFIX}_HTTP_PORT=${HTTP_PORT} \
    ${ENV_PREFIX}_KEYS_DIR=${KEYS_DIR}
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
USER 10001:10001
EXPOSE ${GRPC_PORT} ${HTTP_PORT}
STOPSIGNAL SIGTERM
# Reads the port the service itself reads (<PREFIX>_HTTP_PORT), so an override moves both.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; port = os.environ[os.environ['SERVICE_ENV_PREFIX'] + '_HTTP_PORT']; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % port, timeout=2)"]
# Exec form cannot expand build args, so the shell picks the module from the environment and
# `exec`s it: Python is PID 1 and gets SIGTERM; arguments pass through (`<image> migrate`).
ENTRYPOINT ["sh", "-c", "exec python -m \"$SERVICE_MODULE\" \"$@\"", "--"]
