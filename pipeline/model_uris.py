"""``models:/`` URIs: check that one resolves in the MLflow model registry, with errors that list what the
registry holds. The engine needs this to key a stage by the model version a reference points at; the
registering side (versions, tags, aliases, the ``models`` command) lives in ``models/mlflow_registry.py``.
"""
from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlparse

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from pipeline import paths

MODELS_URI = re.compile(r"^models:/(?P<name>[^/@]+)(?:@(?P<alias>[^/]+)|/(?P<version>[^/]+))(?P<rest>/.*)?$")


class ModelNotFound(LookupError):
    """A models:/ URI names a model, version or alias the registry does not have."""


def registry_client(tracking_uri: str | None = None) -> MlflowClient:
    """A client whose registry is the tracking store (the project keeps them together)."""
    uri = tracking_uri or paths.default_tracking_uri()
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def is_not_found(exc: MlflowException) -> bool:
    """Whether an MLflow error means the model, version or alias does not exist."""
    # A missing alias is INVALID_PARAMETER_VALUE over REST but says "not found" in both stores.
    return exc.error_code == "RESOURCE_DOES_NOT_EXIST" or "not found" in str(exc)


def describe_registry(client: MlflowClient) -> str:
    """One line per registered model with its aliases: what an error about a missing model lists."""
    models = list(client.search_registered_models())
    if not models:
        return f"the registry at {client.tracking_uri} holds no models"
    lines = [f"registered models at {client.tracking_uri}:"]
    for model in sorted(models, key=lambda m: m.name):
        aliases = ", ".join(f"@{a}=v{v}" for a, v in sorted(model.aliases.items())) or "no aliases"
        lines.append(f"  {model.name} ({aliases})")
    return "\n".join(lines)


def registered_model(client: MlflowClient, name: str, where: str = "") -> Any:
    """The registered model ``name``; ``ModelNotFound`` listing the registry (after ``where``) when there is none."""
    try:
        return client.get_registered_model(name)
    except MlflowException as exc:
        if is_not_found(exc):
            raise ModelNotFound(f"{where}no registered model named {name!r}\n{describe_registry(client)}") from None
        raise


def model_version(client: MlflowClient, name: str, version: str) -> Any:
    """The ModelVersion ``version`` of ``name``; ``ModelNotFound`` listing the registry when there is none."""
    try:
        return client.get_model_version(name, version)
    except MlflowException as exc:
        if is_not_found(exc):
            raise ModelNotFound(f"model {name!r} has no version {version!r}\n{describe_registry(client)}") from None
        raise


def get_alias_version(client: MlflowClient, name: str, alias: str) -> Any:
    """The ModelVersion an alias points at, or None when the alias is not set."""
    try:
        return client.get_model_version_by_alias(name, alias)
    except MlflowException as exc:
        if is_not_found(exc):
            return None
        raise


def check_model_uri(uri: str, client: MlflowClient) -> None:
    """Raise ``ModelNotFound`` listing the registered names and aliases when a models:/ URI does not resolve."""
    if urlparse(uri).scheme != "models":
        return
    match = MODELS_URI.match(uri)
    if match is None:
        raise ModelNotFound(f"{uri!r} is not models:/NAME@ALIAS or models:/NAME/VERSION")
    name = match["name"]
    registered_model(client, name, f"{uri}: ")
    if match["alias"] and get_alias_version(client, name, match["alias"]) is None:
        raise ModelNotFound(f"{uri}: model {name!r} has no alias {match['alias']!r}\n{describe_registry(client)}")
    if match["version"] and match["version"] != "latest":
        model_version(client, name, match["version"])
