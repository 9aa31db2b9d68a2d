# syntax=docker/dockerfile:1
# Build stage: a wheel-installed virtualenv, so the runtime image carries no compilers.
FROM python:3.11-slim AS build
WORKDIR /src
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY storage ./storage
COPY schedules ./schedules
COPY cards ./cards
RUN pip install --no-cache-dir --upgrade pip && pip install --no-cache-dir .

# Runtime stage: non-root, data in /data (SQLite by default; set DATABASE_URL for PostgreSQL).
# The image listens on every interface, so the web console is off: to use it, run with
# -e CONSOLE_ENABLED=true -e CONSOLE_TOKEN=<a long random secret> and sign in with that token.
FROM python:3.11-slim
# A CJK font, so the digest's chart draws its Chinese labels (matplotlib finds it through fontconfig's folders).
RUN apt-get update && apt-get install -y --no-install-recommends fonts-wqy-microhei && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --uid 10001 ticketbot && mkdir /data && chown ticketbot /data
COPY --from=build /opt/venv /opt/venv
COPY ticketbot.example.yaml /etc/ticketbot/ticketbot.yaml
ENV PATH=/opt/venv/bin:$PATH \
    TICKETBOT_CONFIG=/etc/ticketbot/ticketbot.yaml \
    HOST=0.0.0.0 \
    PORT=8080 \
    CONSOLE_ENABLED=false \
    PYTHONUNBUFFERED=1
USER ticketbot
WORKDIR /data
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/healthz').status == 200 else 1)"
CMD ["ticketbot", "serve"]
