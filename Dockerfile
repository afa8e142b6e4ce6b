FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DJANGO_DEBUG=false
WORKDIR /app

COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

COPY . .
RUN DJANGO_SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput \
 && useradd --system --uid 10001 --home /app crm \
 && chown -R crm /app
USER crm

EXPOSE 8000
CMD ["sh", "-c", "python manage.py migrate --noinput && python manage.py check --deploy --database default --fail-level ERROR && exec gunicorn crm.wsgi --bind 0.0.0.0:8000 --workers ${GUNICORN_WORKERS:-4} --access-logfile -"]
