"""gunicorn's settings for this app (gunicorn reads ./gunicorn.conf.py by itself).

gunicorn answers an oversized request line or header itself, in plain text outside the API's
error shape (it cannot be made to answer JSON there), so its limits are raised well past what
any client of this API sends: the request line to gunicorn's maximum, one header line to twice
its default (a long JWT), the number of headers to twice its default. Bodies are Django's to
refuse (413 in the error shape)."""

# The production command is `gunicorn crm.asgi:application -k uvicorn_worker.UvicornWorker`
# (ASGI: event streams are coroutines, not workers). The three limits below are gunicorn's
# own parser's and apply to its sync workers (crm.wsgi); uvicorn's parser has its own.

# The client's address is decided in one place, crm/http/clients.py (TRUSTED_PROXIES): neither
# gunicorn nor uvicorn may rewrite it (or the scheme) from X-Forwarded-* headers first.
forwarded_allow_ips = ""

limit_request_line = 8190  # gunicorn's maximum (default 4094)
limit_request_field_size = 16380  # bytes of one header line (default 8190; no maximum)
limit_request_fields = 200  # number of headers (default 100)
