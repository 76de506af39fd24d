"""Register the pipeline's final detector in the MLflow model registry (aliases ``candidate`` / ``champion``)."""
from stages.register.stage import STAGE, RegisterParams

__all__ = ["STAGE", "RegisterParams"]
