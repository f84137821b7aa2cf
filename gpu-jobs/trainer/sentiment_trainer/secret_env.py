"""Secret Manager values a job reads at start: MLflow's credentials never travel in a custom job's plain environment.

Vertex AI custom jobs (v1) take only plain environment values, so the job spec carries SP_SECRET_ENV, a JSON object
from variable name to secret version (`projects/P/secrets/S/versions/latest`), and the job reads each version as its
own service account (roles/secretmanager.secretAccessor on that secret) before MLflow's client looks for them.
Values are never logged; only the variable names are.
"""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import Callable, MutableMapping

SECRET_ENV_VAR = "SP_SECRET_ENV"
VERSION_NAME = re.compile(r"^projects/[^/]+/secrets/[A-Za-z0-9_-]+/versions/[A-Za-z0-9_-]+$")
VARIABLE = re.compile(r"^[A-Z_][A-Z0-9_]*$")


class SecretEnvError(Exception):
    """SP_SECRET_ENV is malformed, or a secret version could not be read."""


def access_secret_version(name: str) -> str:
    """The payload of a secret version, read through Secret Manager's REST API with the job's own credentials."""
    import google.auth
    from google.auth.transport.requests import AuthorizedSession

    credentials, _ = google.auth.default(scopes=["https://www.googleapis.com/auth/cloud-platform"])
    response = AuthorizedSession(credentials).get(f"https://secretmanager.googleapis.com/v1/{name}:access", timeout=30)
    if response.status_code != 200:
        raise SecretEnvError(f"reading {name}: HTTP {response.status_code}: {response.text[:200]}")
    return base64.b64decode(response.json()["payload"]["data"]).decode("utf-8")


def load_secret_env(
    environ: MutableMapping[str, str] | None = None,
    access: Callable[[str], str] = access_secret_version,
) -> list[str]:
    """Sets each variable SP_SECRET_ENV names from its secret version; returns the names set (never the values)."""
    env = os.environ if environ is None else environ
    raw = env.get(SECRET_ENV_VAR)
    if not raw:
        return []
    try:
        refs = json.loads(raw)
    except json.JSONDecodeError as err:
        raise SecretEnvError(f"{SECRET_ENV_VAR} is not JSON: {err}") from err
    if not isinstance(refs, dict):
        raise SecretEnvError(f"{SECRET_ENV_VAR} must be an object from variable name to secret version")
    loaded: list[str] = []
    for name, ref in sorted(refs.items()):
        if not isinstance(name, str) or not VARIABLE.match(name):
            raise SecretEnvError(f"{SECRET_ENV_VAR}: {name!r} is not a variable name")
        if not isinstance(ref, str) or not VERSION_NAME.match(ref):
            raise SecretEnvError(f"{SECRET_ENV_VAR}.{name}: {ref!r} is not projects/P/secrets/S/versions/V")
        env[name] = access(ref)
        loaded.append(name)
    return loaded
