# maildesk's image: the runtime only (no test tools), run as an unprivileged user.
#   docker build -t maildesk .
#   docker run -p 8080:8080 -v maildesk-data:/var/lib/maildesk maildesk
# deploy/docker/compose.yaml runs it on PostgreSQL, one container per part.
# tests/deploy/test_docker.py runs this file's install and start commands outside docker.

# Stage 1: build maildesk's wheel (setuptools and the source stay in this stage).
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY maildesk ./maildesk
COPY templates ./templates
COPY web ./web
RUN python -m pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

# Stage 2: the wheel and its dependencies in a venv, nothing else.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/maildesk/.venv/bin:$PATH
RUN useradd --system --user-group --home-dir /var/lib/maildesk --no-create-home \
        --shell /usr/sbin/nologin maildesk \
    && install -d -o maildesk -g maildesk -m 0700 /var/lib/maildesk
COPY --from=build /wheels /tmp/wheels
RUN python -m venv /opt/maildesk/.venv && /opt/maildesk/.venv/bin/python -m pip install --no-cache-dir /tmp/wheels/maildesk-*.whl && rm -rf /tmp/wheels

# With no config file maildesk starts on its embedded defaults; every key can be set as
# MAILDESK_<SECTION>_<KEY>, or mount a file and point MAILDESK_CONFIG at it. The state
# (SQLite by default, attachments, outbox, secret.key) lives in the volume.
# (The environment wins over a file: set MAILDESK_DESK_DATABASE and _DATA_DIR to change them.)
ENV MAILDESK_CONFIG=/etc/maildesk/maildesk.toml \
    MAILDESK_DESK_DATABASE=sqlite:////var/lib/maildesk/maildesk.db \
    MAILDESK_DESK_DATA_DIR=/var/lib/maildesk \
    MAILDESK_WEB_LISTEN=0.0.0.0:8080
USER maildesk
WORKDIR /var/lib/maildesk
VOLUME /var/lib/maildesk
# 8080: the pages; 2525: the SMTP/LMTP listener, when [listener] is configured.
EXPOSE 8080 2525
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"]
STOPSIGNAL SIGTERM
CMD ["maildesk", "run"]
