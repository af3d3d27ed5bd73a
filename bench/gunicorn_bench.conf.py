"""gunicorn settings of the benchmarks: gunicorn's own defaults (no access log, no worker
recycling), passed explicitly so that the production `gunicorn.conf.py` at the top level,
which gunicorn would load from the working directory, does not apply. PrepBase and the
bare hello world run on exactly these settings plus the command line's."""
