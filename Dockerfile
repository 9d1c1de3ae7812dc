FROM python:3.12-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY govflow ./govflow
COPY plugins ./plugins
COPY migrations ./migrations
COPY workflows.d ./workflows.d
RUN pip install --no-cache-dir ".[otel]" && useradd --system govflow \
    && install -d -o govflow -g govflow /var/lib/govflow/audit
USER govflow
EXPOSE 8000
CMD ["govflow", "api"]
