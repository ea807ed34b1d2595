# smokegate in a container: `smokegate watch` by default (health every 30 s, smoke every 5 min,
# safe security and synthetic every 15 min), or any pytest run of the suite.
#
#   docker build -t smokegate .
#   docker run --rm -p 9464:9464 -e SMOKEGATE_LOCATION=eu-west -e SMOKEGATE_HISTORY=postgresql://... \
#     -e ALERT_WEBHOOK_URL=... smokegate --target production
#
# Debian bookworm with Python 3.11 and Debian's Chromium (the synthetic suite finds /usr/bin/chromium;
# nothing is downloaded at run time).
FROM python:3.11-slim-bookworm

# tini is PID 1: it hands SIGTERM to the watcher (which lets runs in flight finish) and reaps
# whatever a crashed browser leaves behind.
RUN apt-get update \
 && apt-get install -y --no-install-recommends chromium fonts-liberation tini ca-certificates \
 && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 10001 smokegate
WORKDIR /app
COPY pyproject.toml ./
COPY src ./src
RUN pip install --no-cache-dir . && rm -rf src
# The suite itself and the target config (mount your own smokegate.toml over this one).
COPY tests ./tests
COPY smokegate.toml ./
RUN mkdir -p reports && chown -R smokegate:smokegate /app

USER smokegate
# Never PYTHONDONTWRITEBYTECODE here: pytest caches the modules it rewrites under __pycache__,
# which keeps each forked run cheap.
ENV PYTHONUNBUFFERED=1
EXPOSE 9464
# The history: a SQLite file under /app/reports by default (mount a volume to keep it), or a
# shared PostgreSQL database through SMOKEGATE_HISTORY (a secret: never bake it into the image).
ENTRYPOINT ["tini", "--", "python", "-m", "smokegate", "watch", "--metrics-port", "9464"]
CMD ["--target", "production"]
