"""Settings of the benchmark server: the app's own settings, unchanged, plus the URL of the
baseline view (bench/benchurls.py). Collected static files go under bench/.work/."""

from crm.settings import *  # noqa: F403
from crm.settings import BASE_DIR

ROOT_URLCONF = "bench.benchurls"
STATIC_ROOT = BASE_DIR / "bench" / ".work" / "staticfiles"
