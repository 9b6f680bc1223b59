"""The service's own secrets: explicit in production; generated and kept under data_dir for `hotline up`, or
for an explicit development mode that says so loudly."""
from __future__ import annotations

import json
import logging
import os
import secrets
from pathlib import Path

from service.config import Settings, get_settings

log = logging.getLogger(__name__)

FIELDS = ("secret_key", "bangqiyun_secret", "webhook_secret")
# Defaults this repository once shipped: anyone can read them, so they never count as a secret.
PUBLISHED = frozenset({"change-me-in-production-this-is-only-for-local-use", "bangqiyun-demo-secret",
                       "webhook-demo-secret"})
# HS256 keys shorter than the hash output are weaker than the hash (RFC 7518 §3.2).
MIN_SECRET_KEY_BYTES = 32
FILE_NAME = "secrets.json"


class MissingSecrets(RuntimeError):
    """The service was asked to run without secrets fit to sign and check with."""


def env_name(field: str) -> str:
    return f"HOTLINE_{field.upper()}"


def problems(settings: Settings) -> dict[str, str]:
    """What is wrong with each configured secret (empty when all are fit for production)."""
    found = {}
    for field in FIELDS:
        value = getattr(settings, field)
        if not value:
            found[field] = f"{env_name(field)} is not set"
        elif value in PUBLISHED:
            found[field] = f"{env_name(field)} is a value published in the repository"
    key = settings.secret_key
    if "secret_key" not in found and len(key.encode()) < MIN_SECRET_KEY_BYTES:
        found["secret_key"] = f"HOTLINE_SECRET_KEY is shorter than {MIN_SECRET_KEY_BYTES} bytes"
    return found


def secrets_file(data_dir: Path) -> Path:
    return data_dir / FILE_NAME


def load_or_create(data_dir: Path) -> dict[str, str]:
    """The secrets kept in data_dir/secrets.json, readable by its owner only; generated on first use."""
    path = secrets_file(data_dir)
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{FILE_NAME}.{os.getpid()}.{secrets.token_hex(4)}")
        # Created 0600 from the start (never readable by others, not even for a moment), then linked into place:
        # when two processes start at once, the first link wins and both read the same secrets.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump({field: secrets.token_urlsafe(48) for field in FIELDS}, f)
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    if path.stat().st_mode & 0o077:
        log.warning("%s was readable by others; made it readable by its owner only", path)
        path.chmod(0o600)
    try:
        stored = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise MissingSecrets(f"{path} cannot be read ({exc}); delete it to generate new secrets") from None
    if not isinstance(stored, dict) or not all(isinstance(stored.get(f), str) and stored[f] for f in FIELDS):
        raise MissingSecrets(f"{path} does not hold {', '.join(FIELDS)}; delete it to generate new secrets")
    return {field: stored[field] for field in FIELDS}


def pin(values: dict[str, str]) -> None:
    """Set secrets in this process's environment (its children inherit them) and re-read the settings."""
    for field, value in values.items():
        os.environ[env_name(field)] = value
    get_settings.cache_clear()


def use_embedded_secrets(settings: Settings) -> Path:
    """`hotline up`: each secret not set explicitly comes from data_dir's secrets file (made on the first run)."""
    missing = [field for field in FIELDS if not getattr(settings, field)]
    path = secrets_file(settings.data_dir)
    if missing:
        stored = load_or_create(settings.data_dir)
        pin({field: stored[field] for field in missing})
    return path.resolve()


def require_secrets(settings: Settings) -> None:
    """Refuse to serve without secrets fit for production, unless dev_mode says otherwise (then warn, and take
    the missing ones from data_dir's secrets file, as `hotline up` does)."""
    found = problems(settings)
    if not found:
        return
    if not settings.dev_mode:
        raise MissingSecrets(
            "refusing to start: " + "; ".join(found.values()) + ". Set each to a long random value (e.g. "
            "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`), run `hotline up`, which keeps "
            "generated ones under HOTLINE_DATA_DIR, or set HOTLINE_DEV_MODE=true on a development machine.")
    missing = [field for field in FIELDS if not getattr(settings, field)]
    if missing:
        stored = load_or_create(settings.data_dir)
        pin({field: stored[field] for field in missing})
    log.warning("HOTLINE_DEV_MODE is on: %s%s. Never run like this in production.", "; ".join(found.values()),
                f"; using secrets from {secrets_file(settings.data_dir).resolve()}" if missing else "")
