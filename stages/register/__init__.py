"""The register stage: the pipeline's final model into the MLflow model registry (aliases ``candidate`` /
``champion``). ``params.py`` its config, ``stage.py`` the stage."""
