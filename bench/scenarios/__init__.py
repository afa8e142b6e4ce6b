"""One module per scenario of the issue; each ``run(bench)`` adds its rows to the report."""
