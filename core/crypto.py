"""Encryption of secrets at rest (PIN/PUK codes, TOTP secrets) with the installation's DATA_KEY.

``EncryptedText`` is a column type: Python sees plain text, the database only Fernet tokens.
The key is set once per process by ``configure()`` when the runtime is created.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import Text
from sqlalchemy.types import TypeDecorator

_fernet: Fernet | None = None


def configure(data_key: bytes) -> None:
    global _fernet
    _fernet = Fernet(data_key)


def _require() -> Fernet:
    if _fernet is None:
        raise RuntimeError("core.crypto.configure() was not called")
    return _fernet


def encrypt(value: str) -> str:
    return _require().encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _require().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ValueError("a value could not be decrypted with this DATA_KEY") from exc


class EncryptedText(TypeDecorator):
    impl = Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else encrypt(value)

    def process_result_value(self, value, dialect):
        return None if value is None else decrypt(value)
