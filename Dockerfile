# esimhub: the API, the worker and the admin CLI in one image (docs/deploy.md).
#   docker build -t esimhub .
#   docker run -e ESIMHUB_SECRET_KEY=... -e ESIMHUB_DATABASE_URL=... -p 8000:8000 esimhub

# -- build: a virtual environment with esimhub and its pinned dependencies --------------------
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/esimhub
WORKDIR /src
COPY requirements/dev.lock requirements/dev.lock
COPY pyproject.toml README.md LICENSE ./
COPY src ./src
RUN /opt/esimhub/bin/pip install -c requirements/dev.lock '.[server]'

# -- run: the environment alone, as an unprivileged user ---------------------------------------
FROM python:3.11-slim
RUN useradd --system --uid 10001 --home-dir /var/lib/esimhub --create-home esimhub
COPY --from=build /opt/esimhub /opt/esimhub
ENV PATH=/opt/esimhub/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    ESIMHUB_ENV=production \
    ESIMHUB_LOG_FORMAT=json
USER esimhub
WORKDIR /var/lib/esimhub
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/livez', timeout=2).status != 200)"]
CMD ["esimhub", "serve", "--host", "0.0.0.0", "--port", "8000"]
