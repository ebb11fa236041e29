"""What a new session starts with: the comparison every new page runs at once (``state.py``), which
``simcity-kids dashboard`` runs while the server starts (``server.py``). Kept apart so that the command can read it
without importing Solara."""

DEFAULT_CITY = "salem"
DEFAULT_SCENARIO = "by_all_means"
DEFAULT_REFERENCE = "baseline"
DEFAULT_SEEDS, DEFAULT_YEARS, DEFAULT_SCALE = 5, 10, 1.0
