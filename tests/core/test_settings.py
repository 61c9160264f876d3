"""Settings: defaults under instance/, generated keys with mode 0600, one-sentence errors."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from core.settings import ConfigError, load_settings


def test_defaults_create_keys_with_private_mode(tmp_path):
    s = load_settings({"ASYSTENT_INSTANCE": str(tmp_path)})
    assert s.database_url == f"sqlite:///{tmp_path / 'asystent.sqlite3'}"
    assert s.embedded_redis
    for name in ("secret_key", "data_key"):
        assert oct((tmp_path / name).stat().st_mode & 0o777) == "0o600"
    again = load_settings({"ASYSTENT_INSTANCE": str(tmp_path)})
    assert again.secret_key == s.secret_key and again.data_key == s.data_key


def test_postgres_url_uses_psycopg(tmp_path):
    s = load_settings({"ASYSTENT_INSTANCE": str(tmp_path), "DATABASE_URL": "postgresql://u@h/db"})
    assert s.database_url == "postgresql+psycopg://u@h/db"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL must start with"),
        ({"REDIS_URL": "http://x"}, "REDIS_URL must start with"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY must be at least 32"),
        ({"DATA_KEY": "not-a-key"}, "DATA_KEY must be 32 bytes"),
        ({"MAIL_BACKEND": "smtp"}, "MAIL_BACKEND=smtp needs SMTP_HOST"),
        ({"SMTP_HOST": "h", "SMTP_PORT": "abc"}, "SMTP_PORT must be a number"),
        ({"SECURE_COOKIES": "maybe"}, "SECURE_COOKIES must be true or false"),
    ],
)
def test_wrong_settings_are_one_sentence(tmp_path, env, message):
    with pytest.raises(ConfigError, match=message):
        load_settings({"ASYSTENT_INSTANCE": str(tmp_path), **env})


def test_cli_prints_one_sentence_not_a_traceback(tmp_path):
    env = {**os.environ, "ASYSTENT_INSTANCE": str(tmp_path), "DATABASE_URL": "mysql://nope"}
    proc = subprocess.run(
        [sys.executable, "-m", "core.cli", "db", "upgrade"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("Configuration error: DATABASE_URL must start with")
    assert "Traceback" not in proc.stderr


def test_public_url_is_checked_and_normalised(tmp_path):
    base = {"ASYSTENT_INSTANCE": str(tmp_path)}
    assert load_settings(base).public_url is None
    s = load_settings({**base, "PUBLIC_URL": "https://asystent.example/"})
    assert s.public_url == "https://asystent.example"
    for bad in ("asystent.example", "ftp://asystent.example", "https://a.example/?x=1"):
        with pytest.raises(ConfigError, match="PUBLIC_URL must be an http"):
            load_settings({**base, "PUBLIC_URL": bad})


def test_operator_party_defaults_and_environment(tmp_path):
    default = load_settings({"ASYSTENT_INSTANCE": str(tmp_path)}).operator_party
    assert (default.name, default.city, default.nip, default.iban) == (
        "Asystent Mobile sp. z o.o.",
        "Warszawa",
        "5260250995",
        "PL61109010140000071219812874",
    )
    party = load_settings(
        {
            "ASYSTENT_INSTANCE": str(tmp_path),
            "OPERATOR_NAME": "Sieć Komórkowa S.A.",
            "OPERATOR_STREET": "ul. Sienna 39",
            "OPERATOR_POSTAL_CODE": "00-121",
            "OPERATOR_CITY": "Warszawa",
            "OPERATOR_NIP": "526-025-02-74",
            "OPERATOR_REGON": "012345675",
            "OPERATOR_KRS": "0000012345",
            "OPERATOR_IBAN": "pl27 1140 2004 0000 3002 0135 5387",
            "OPERATOR_EMAIL": "faktury@siec.example",
        }
    ).operator_party
    assert (party.iban, party.email) == ("PL27114020040000300201355387", "faktury@siec.example")
    assert party.name == "Sieć Komórkowa S.A." and party.street == "ul. Sienna 39"
    assert (party.nip, party.regon, party.krs) == ("5260250274", "012345675", "0000012345")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"OPERATOR_NIP": "1234567890"}, "OPERATOR_NIP is not a valid NIP"),
        ({"OPERATOR_REGON": "123"}, "OPERATOR_REGON is not a valid REGON"),
        ({"OPERATOR_KRS": "12ab"}, "OPERATOR_KRS is not a valid KRS"),
        ({"OPERATOR_POSTAL_CODE": "00121"}, "OPERATOR_POSTAL_CODE must look like"),
        ({"OPERATOR_NAME": "x" * 201}, "OPERATOR_NAME may have at most 200"),
        ({"OPERATOR_IBAN": "PL27114020040000300201355388"}, "OPERATOR_IBAN is not a valid IBAN"),
        ({"OPERATOR_IBAN": "12 3456"}, "OPERATOR_IBAN is not a valid IBAN"),
        ({"OPERATOR_EMAIL": "faktury"}, "OPERATOR_EMAIL is not an e-mail address"),
    ],
)
def test_wrong_operator_party_is_one_sentence(tmp_path, env, message):
    with pytest.raises(ConfigError, match=message):
        load_settings({"ASYSTENT_INSTANCE": str(tmp_path), **env})
