"""Sizes and repetition counts of the two modes."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    name: str
    base_contacts: int  # scenarios 1-4 run at this size
    base_calls: int
    reads_contacts: int  # scenario 6 runs at this size
    reads_calls: int
    delta_contacts: int  # scenario 3's big size
    reps: int  # repetitions of each timed figure (the median is reported)
    upload_batches: int  # batches of 1,000 calls per repetition (scenario 4)
    single_calls: int  # calls sent one per request per repetition (scenario 4)
    import_rows: int  # CSV rows for manage.py import_contacts (scenario 5)
    import_reps: int
    admin_import_rows: int  # rows for the admin import (scenario 5)
    read_seconds: float  # length of one closed-loop measurement (scenario 6)
    read_rounds: int
    deep_reps: int
    login_reps: int
    radicale: bool
    radicale_reps: int
    dnc_entries: int  # numbers on the do-not-call list (scenario 9)
    export_reps: int  # repetitions of each full export (scenario 10)


QUICK = Profile(
    name="quick",
    base_contacts=20_000,
    base_calls=100_000,
    reads_contacts=20_000,
    reads_calls=100_000,
    delta_contacts=200_000,
    reps=3,
    upload_batches=5,
    single_calls=50,
    import_rows=5_000,
    import_reps=1,
    admin_import_rows=2_000,
    # The 20k reads measured as the full mode measures the 1M ones: 3 rounds, medians.
    read_seconds=3.0,
    read_rounds=3,
    deep_reps=3,
    login_reps=5,
    radicale=False,
    radicale_reps=1,
    dnc_entries=200_000,
    export_reps=3,
)

FULL = Profile(
    name="full",
    base_contacts=20_000,
    base_calls=100_000,
    reads_contacts=1_000_000,
    reads_calls=5_000_000,
    delta_contacts=1_000_000,
    reps=5,
    upload_batches=20,
    single_calls=500,
    import_rows=100_000,
    import_reps=1,
    # The admin hands files of more than ADMIN_IMPORT_JOB_ROWS (5,000) rows to an import job
    # (jobs/admin.py): 5,000 is the largest file its instant preview + confirm takes.
    admin_import_rows=5_000,
    read_seconds=10.0,
    read_rounds=3,
    deep_reps=3,
    login_reps=15,
    radicale=True,
    radicale_reps=3,
    dnc_entries=10_000_000,
    export_reps=3,
)
