# smokegate in a container: `smokegate watch` by default (health every 30 s, smoke every 5 min,
# safe security and synthetic every 15 min), or any pytest run of the suite.
#
#   docker build -t smokegate .
#   docker run --rm -p 9464:9464 -e SMOKEGATE_LOCATION=eu-west -e SMOKEGATE_HISTORY=postgresql://... \
#     -e ALERT_WEBHOOK_URL=... smokegate --target production
#
# Debian bookworm with Python 3.11 and Debian's Chromium (the synthetic suite runs its headless shell,
# /usr/bin/chromium-headless-shell, else /usr/bin/chromium; nothing is downloaded at run time).
# Chromium runs without its own sandbox: Playwright launches it with --no-sandbox unless asked for the
# sandbox (its chromiumSandbox launch option, off by default), and smokegate keeps that default, since
# the sandbox needs user namespaces most container runtimes' seccomp profiles refuse.  The boundary is
# the container: the unprivileged user below, no added capabilities, and a browser that loads only the
# deployment's pages and the sign-in providers they send it to.  Never run the image as root.
# Not yet tried: no Docker daemon where this was written.
FROM python:3.11-slim-bookworm

# tini is PID 1: it hands SIGTERM to the watcher (which lets runs in flight finish) and reaps
# whatever a crashed browser leaves behind.
RUN apt-get update \
 && apt-get install -y --no-install-recommends chromium chromium-headless-shell fonts-liberation tini \
    ca-certificates \
 && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 10001 smokegate \
 && python -m venv /opt/smokegate && chown -R smokegate:smokegate /opt/smokegate \
 && mkdir -p /app/reports && chown -R smokegate:smokegate /app
USER smokegate
ENV PATH=/opt/smokegate/bin:$PATH PYTHONUNBUFFERED=1
WORKDIR /app
# Installed by the user that runs it: pytest caches the modules it rewrites (smokegate's, the
# pytest plugins') next to them, which keeps each forked run cheap.  For the same reason, never
# set PYTHONDONTWRITEBYTECODE in this image.
COPY --chown=smokegate:smokegate pyproject.toml ./
COPY --chown=smokegate:smokegate src ./src
RUN pip install --no-cache-dir . && rm -rf src build
# The suite itself and the target config (mount your own smokegate.toml over this one).
COPY --chown=smokegate:smokegate tests ./tests
COPY --chown=smokegate:smokegate smokegate.toml ./

EXPOSE 9464
# The history: a SQLite file under /app/reports by default (mount a volume to keep it), or a
# shared PostgreSQL database through SMOKEGATE_HISTORY (a secret: never bake it into the image).
ENTRYPOINT ["tini", "--", "python", "-m", "smokegate", "watch", "--metrics-port", "9464"]
CMD ["--target", "production"]
