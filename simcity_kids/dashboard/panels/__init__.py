"""The dashboard's panels, one file each; every panel takes the session's state (``state.Session``)."""
