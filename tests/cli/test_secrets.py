"""No secret written in the repository works: processes refuse to start without explicit ones, `hotline up`
generates its own and keeps them owner-only, and a development mode says so loudly."""
from __future__ import annotations

import json
import logging
import os
import stat
import subprocess
import sys

import pytest

from service.config import Settings, get_settings
from service.credentials import (FIELDS, MissingSecrets, load_or_create, problems, require_secrets, secrets_file,
                                 use_embedded_secrets)

NO_SECRETS = {"secret_key": "", "bangqiyun_secret": "", "webhook_secret": ""}
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_settings_have_no_secret_defaults():
    for field in FIELDS:
        assert Settings.model_fields[field].default is None


@pytest.mark.parametrize("command", ["api", "worker", "scheduler"])
def test_processes_refuse_to_start_without_secrets(command, tmp_path):
    env = {k: v for k, v in os.environ.items()
           if k not in ("HOTLINE_SECRET_KEY", "HOTLINE_BANGQIYUN_SECRET", "HOTLINE_WEBHOOK_SECRET", "HOTLINE_DEV_MODE")}
    env["HOTLINE_DATA_DIR"] = str(tmp_path)
    argv = [sys.executable, "-m", "service.cli", command] + (["--port", "1"] if command == "api" else [])
    # Before, each started (and served, with a published key): the timeout would fail the test.
    done = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert "refusing to start" in done.stderr and "HOTLINE_SECRET_KEY is not set" in done.stderr
    assert not secrets_file(tmp_path).exists()  # nothing generated behind the operator's back


def test_published_or_short_values_do_not_count_as_secrets(override_settings):
    from service.app import create_app

    override_settings(secret_key="change-me-in-production-this-is-only-for-local-use",
                      webhook_secret="webhook-demo-secret")
    found = problems(get_settings())
    assert set(found) == {"secret_key", "webhook_secret"} and "published" in found["secret_key"]
    with pytest.raises(MissingSecrets, match="published in the repository"):
        create_app()
    override_settings(secret_key="short", webhook_secret="x" * 40)
    assert "shorter than 32 bytes" in problems(get_settings())["secret_key"]


def test_dev_mode_starts_with_a_warning_and_generated_secrets(override_settings, tmp_path, caplog):
    override_settings(**NO_SECRETS, dev_mode="true", data_dir=tmp_path)
    with caplog.at_level(logging.WARNING, logger="service.credentials"):
        require_secrets(get_settings())
    assert "HOTLINE_DEV_MODE is on" in caplog.text and "production" in caplog.text
    stored = json.loads(secrets_file(tmp_path).read_text())
    assert get_settings().secret_key == stored["secret_key"] and not problems(get_settings())


def test_up_generates_owner_only_secrets_once_and_reuses_them(override_settings, tmp_path):
    override_settings(**NO_SECRETS, data_dir=tmp_path)
    path = use_embedded_secrets(get_settings())
    assert path == secrets_file(tmp_path).resolve()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    first = {field: getattr(get_settings(), field) for field in FIELDS}
    assert not problems(get_settings()) and len(set(first.values())) == 3
    assert os.environ["HOTLINE_SECRET_KEY"] == first["secret_key"]  # what the children inherit

    override_settings(**NO_SECRETS)  # the next run
    use_embedded_secrets(get_settings())
    assert {field: getattr(get_settings(), field) for field in FIELDS} == first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secrets.json"]  # no temporary file left


def test_an_explicit_secret_wins_over_the_file(override_settings, tmp_path):
    override_settings(**{**NO_SECRETS, "secret_key": "k" * 40}, data_dir=tmp_path)
    use_embedded_secrets(get_settings())
    assert get_settings().secret_key == "k" * 40 and get_settings().webhook_secret


def test_secrets_file_readable_by_others_is_tightened(tmp_path):
    first = load_or_create(tmp_path)
    secrets_file(tmp_path).chmod(0o644)
    assert load_or_create(tmp_path) == first
    assert stat.S_IMODE(secrets_file(tmp_path).stat().st_mode) == 0o600


def test_a_damaged_secrets_file_is_refused_not_replaced(tmp_path):
    secrets_file(tmp_path).write_text('{"secret_key": ""}')
    with pytest.raises(MissingSecrets, match="delete it"):
        load_or_create(tmp_path)
