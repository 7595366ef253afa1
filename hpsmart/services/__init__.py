"""The workflow and its rules. Services change state and flush; the request commits."""
