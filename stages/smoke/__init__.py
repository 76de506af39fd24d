"""The smoke stage: a tiny stage for checking a cluster and exercising the engine (``stage.py``;
``params.py`` its config)."""
