# syntax=docker/dockerfile:1
#
# The mailer image: one image for the web app (gunicorn, the default command), the Celery
# worker and beat, and the one-shot migration step. docker-compose.yml wires them together.
#
#   docker build -t mailer .
#   docker run --rm -p 8000:8000 -e MAILER_SECRET_KEY=... mailer

ARG PYTHON_IMAGE=python:3.11-slim

# ---------------------------------------------------------------------------------------------
# Build stage: install the project (non-editable) and its dependencies into a virtualenv.
# ---------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src
COPY pyproject.toml setup.py MANIFEST.in README.md ./
COPY mailer ./mailer
COPY worker ./worker
COPY templates ./templates
RUN pip install .

# ---------------------------------------------------------------------------------------------
# Runtime stage: the virtualenv only, run as an unprivileged user.
# ---------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE}

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    MAILER_INSTANCE=/var/lib/mailer

RUN groupadd --system --gid 10001 mailer \
    && useradd --system --uid 10001 --gid mailer --home-dir /var/lib/mailer \
        --no-create-home --shell /usr/sbin/nologin mailer \
    && install -d -o mailer -g mailer -m 0750 /var/lib/mailer

COPY --from=build /opt/venv /opt/venv

USER mailer
WORKDIR /var/lib/mailer
# The instance folder: SQLite file and generated secret key when no server is configured,
# and Celery beat's schedule file.
VOLUME ["/var/lib/mailer"]

EXPOSE 8000

CMD ["gunicorn", "--bind", "0.0.0.0:8000", "--workers", "4", "--worker-class", "gthread", "--threads", "4", "--timeout", "60", "--graceful-timeout", "30", "--worker-tmp-dir", "/dev/shm", "--access-logfile", "-", "--error-logfile", "-", "mailer:create_app()"]
