# bgmock: the offline provider mock as a container image.
#
#   docker build -t bgmock .
#   docker run --rm -p 8080:8080 bgmock          # then http://127.0.0.1:8080/__admin/health
#
# Every `bgmock serve` setting is an environment variable (BGMOCK_PORT, BGMOCK_CLOCK,
# BGMOCK_SPEED, BGMOCK_ADMIN_TOKEN, ...). Two stages from the same base: the venv built in the
# first one links to the base's own python3, so it runs unchanged in the second.

FROM python:3.12-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PATH=/opt/venv/bin:$PATH

# Dependencies first, read from pyproject.toml alone: a code change reuses this layer.
COPY pyproject.toml /src/
RUN python3 -m venv /opt/venv \
 && python3 -c "import tomllib; print('\n'.join(tomllib.load(open('/src/pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
 && pip install --no-cache-dir -r /tmp/requirements.txt

# Then the project itself, non-editable and byte-compiled (the venv is read-only at run time).
# The installers are dropped afterwards: the runtime image needs neither pip nor setuptools.
COPY README.md /src/
COPY contracts/ /src/contracts/
COPY bgmock/ /src/bgmock/
COPY client/ /src/client/
COPY check/ /src/check/
COPY mock_server/ /src/mock_server/
RUN pip install --no-cache-dir --no-deps /src \
 && pip check \
 && bgmock contracts >/dev/null \
 && pip uninstall --yes pip setuptools


FROM python:3.12-slim
LABEL org.opencontainers.image.title="bgmock" \
      org.opencontainers.image.description="Offline, faithful fakes of image-AI provider APIs" \
      org.opencontainers.image.licenses="MIT"

# Numeric uid/gid so `runAsNonRoot` checks can verify it without reading /etc/passwd.
RUN groupadd --gid 10001 bgmock \
 && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin --no-log-init bgmock

COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    BGMOCK_HOST=0.0.0.0 \
    BGMOCK_PORT=8080 \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1

USER 10001:10001
EXPOSE 8080

# No curl in slim images: python3 asks /__admin/health (bypassing any HTTP proxy, sending the
# admin token when one is set); any error or non-2xx answer exits 1 = unhealthy.
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 \
    CMD ["python3", "-c", "import os, urllib.request as u; r = u.Request('http://127.0.0.1:%s/__admin/health' % os.environ.get('BGMOCK_PORT', '8080')); t = os.environ.get('BGMOCK_ADMIN_TOKEN'); t and r.add_header('Authorization', 'Bearer ' + t); u.build_opener(u.ProxyHandler({})).open(r, timeout=4)"]

# uvicorn runs as PID 1 and handles SIGTERM itself: `docker stop` drains and exits 0.
CMD ["bgmock", "serve"]
