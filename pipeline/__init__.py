"""The engine: config, DAG, artifact store and cache, MLflow tracking, Ray execution, CLI."""
