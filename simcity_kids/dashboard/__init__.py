"""The cabinet's dashboard: a Solara app over the model and its experiments (``simcity-kids dashboard``)."""
