"""Hide credentials before anything is written to MLflow (tags, params, artifacts, lineage).

One rule for the whole project, applied by the tracking writer and by the code that logs
configs, manifests and command lines:

- the userinfo part of a URI (``s3://KEY:SECRET@host``, ``http://user:pass@host``) becomes ``***``;
- a value whose *name* looks secret becomes ``***``: a mapping key, a dotted ``--set`` key, a URI
  query parameter or a ``--flag``. A name looks secret when it contains ``password``, ``passwd``,
  ``secret``, ``token``, ``credential`` or ``signature`` (any case), ends in ``_KEY`` (the
  environment-variable style, upper case), or ends in one of the lower-case credential key names
  (``access_key``, ``secret_key``, ``api_key``, ...). Lower-case ``*_key`` in general is *not*
  secret: the engine's own ``cache_key`` must stay readable.
"""
from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

MASK = "***"

_SECRET_WORDS = ("password", "passwd", "secret", "token", "credential", "signature")
_SECRET_KEY_NAMES = ("access_key", "secret_key", "api_key", "apikey", "private_key", "account_key", "session_key",
                     "sas_key")
# scheme://userinfo@ (userinfo has no '/', '@' or whitespace); the scheme keeps URIs in free text apart
_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/@\s'\"]+)@")
_URI = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"]+")
# name=value pairs outside URIs: `--set stages.x.api_token=abc`, `PASSWORD=abc`
_ASSIGNMENT = re.compile(r"(?P<name>[A-Za-z_][\w.-]*)=(?P<value>[^\s&'\"]+)")


def is_secret_name(name: str) -> bool:
    """True when a key, option or query-parameter name says its value is a credential.

    A dotted name (``stages.dl.api_token``) and a ``--flag-name`` are judged by their last part."""
    last = str(name).rsplit(".", 1)[-1].lstrip("-")
    if last.endswith("_KEY"):
        return True
    lowered = last.lower().replace("-", "_")
    return any(word in lowered for word in _SECRET_WORDS) or lowered.endswith(_SECRET_KEY_NAMES)


def redact_uri(uri: str) -> str:
    """A URI without its userinfo and without the values of secret-named query parameters."""
    uri = _USERINFO.sub(lambda m: f"{m['scheme']}{MASK}@", uri)
    try:
        parts = urlsplit(uri)
    except ValueError:  # not parseable as a URI (e.g. a bad IPv6 host): the userinfo rule stands alone
        return uri
    if not parts.query:
        return uri
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    if not any(is_secret_name(k) for k, _ in pairs):
        return uri
    query = "&".join(f"{quote(k, safe='')}={MASK if is_secret_name(k) else quote(v, safe='')}" for k, v in pairs)
    return urlunsplit(parts._replace(query=query))


def redact_text(text: str) -> str:
    """Free text (a command line, an error message) with URI credentials and ``secret_name=value`` masked."""
    text = _URI.sub(lambda m: redact_uri(m.group(0)), text)
    return _ASSIGNMENT.sub(lambda m: f"{m['name']}={MASK}" if is_secret_name(m["name"]) else m.group(0), text)


def redact_value(name: str, value: Any) -> Any:
    """One named value as it may be logged: masked when the name is secret, else with its strings redacted."""
    if is_secret_name(name) and value not in (None, ""):
        return MASK
    return redact(value)


def redact(data: Any) -> Any:
    """A copy of a config, manifest or params structure with every credential masked.

    Mapping values are judged by their key; strings anywhere (list items included) by their content."""
    if isinstance(data, dict):
        return {key: redact_value(str(key), value) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return type(data)(redact(item) for item in data)
    if isinstance(data, str):
        return redact_text(data)
    return data


def redact_argv(argv: list[str]) -> list[str]:
    """A command line as it may be logged: ``--secret-flag VALUE`` and ``--secret-flag=VALUE`` masked too."""
    out: list[str] = []
    mask_next = False
    for arg in argv:
        if mask_next:
            out.append(MASK)
            mask_next = False
            continue
        if arg.startswith("--") and "=" not in arg and is_secret_name(arg[2:]):
            out.append(arg)
            mask_next = True
            continue
        if arg.startswith("--") and "=" in arg:
            flag, value = arg.split("=", 1)
            out.append(f"{flag}={MASK}" if is_secret_name(flag[2:]) else f"{flag}={redact_text(value)}")
            continue
        out.append(redact_text(arg))
    return out
