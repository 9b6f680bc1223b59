# One image for every role: api, worker, scheduler and the one-shot migrate step.
FROM python:3.11-slim
WORKDIR /app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
COPY pyproject.toml README.md alembic.ini ./
COPY service ./service
COPY workers ./workers
COPY models ./models
COPY routing_rules ./routing_rules
RUN pip install --no-cache-dir .
EXPOSE 8000
CMD ["hotline", "api", "--host", "0.0.0.0"]
