from rest_framework.routers import SimpleRouter

UUID_PATTERN = "[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"


class OptionalSlashRouter(SimpleRouter):
    """Routes answer with and without a trailing slash, so no redirect ever drops a POST body."""

    def __init__(self):
        super().__init__()
        self.trailing_slash = "/?"
