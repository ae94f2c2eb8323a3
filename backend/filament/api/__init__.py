"""The REST API: thin routes (authorize, call the domain, answer) over the domain packages;
domain errors become responses in one handler (`app.py`)."""
