# evplan service image: the API and map page on port 8000, shipped Shanwei data included.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    EVPLAN_DATA_DIR=/var/lib/evplan \
    EVPLAN_SHIPPED_DATA=/opt/evplan/data \
    EVPLAN_CACHE_DIR=/var/lib/evplan/cache

WORKDIR /opt/evplan
COPY pyproject.toml README.md ./
COPY planner ./planner
COPY app ./app
COPY cli ./cli
COPY data ./data
RUN pip install --no-cache-dir . \
    && useradd --system --create-home --uid 10001 evplan \
    && mkdir -p /var/lib/evplan \
    && chown evplan /var/lib/evplan

USER 10001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4).status == 200 else 1)"]
CMD ["evplan", "serve", "--host", "0.0.0.0", "--port", "8000"]
