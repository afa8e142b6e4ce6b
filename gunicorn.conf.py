"""gunicorn's settings for this app (gunicorn reads ./gunicorn.conf.py by itself).

Request-line and header limits are raised to gunicorn's maximum: a long signed cursor or a big
JWT must not meet gunicorn's own 414 / 431 answers, which are plain text outside the API's
error shape (gunicorn cannot be made to answer JSON there). Bodies are Django's to refuse
(413 in the error shape)."""

limit_request_line = 8190  # gunicorn's maximum (its default is 4094)
limit_request_field_size = 16380  # one header line (default 8190)
limit_request_fields = 100  # number of headers (default 100)
