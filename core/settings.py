"""Settings, read from the environment when an app or a command starts.

Nothing here runs at import. ``load_settings()`` reads the environment once, fills the
defaults of the embedded mode (SQLite and keys under ``instance/``) and raises
``ConfigError`` with one plain sentence when something is wrong.
"""

from __future__ import annotations

import base64
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(Exception):
    """A setting is missing or wrong; the message is one sentence for the operator."""


@dataclass(frozen=True)
class OperatorParty:
    """The operator as a party to contracts and the seller on invoices: printed on the
    contract documents, snapshotted on every invoice when it is issued. The defaults describe
    the demo operator; a real one sets OPERATOR_* (NIP and IBAN at least)."""

    name: str = "Asystent Mobile sp. z o.o."
    street: str | None = "ul. Operatorska 1"
    postal_code: str | None = "00-001"
    city: str | None = "Warszawa"
    nip: str | None = "5260250995"
    regon: str | None = None
    krs: str | None = None
    email: str | None = "faktury@asystent.example"
    # The account customers pay invoices to: an IBAN, compact (PL + 26 digits for a Polish one).
    iban: str | None = "PL61109010140000071219812874"


@dataclass(frozen=True)
class Settings:
    instance_path: Path
    database_url: str
    redis_url: str | None  # None: the embedded Redis server under instance/
    secret_key: str
    data_key: bytes
    mail_backend: str  # "smtp" or "outbox"
    mail_sender: str
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    secure_cookies: bool = False
    files_path: Path = field(default_factory=Path)
    default_locale: str = "pl"
    timezone: str = "Europe/Warsaw"
    warehouse_api_token: str | None = None
    # Where users reach the portal from outside (the console is under /admin/), e.g.
    # https://asystent.operator.pl. Links in e-mails are built from it; None: from the request.
    public_url: str | None = None
    operator_party: OperatorParty = field(default_factory=OperatorParty)
    # Report exports: up to this many rows download at once, larger ones become a task whose
    # file stays in My files for this many days.
    report_inline_rows: int = 2000
    report_keep_days: int = 7
    # An invoice's billing detail (XLSX, PDF) of up to this many invoice lines downloads at
    # once; a larger one is made by a worker and waits in My files.
    invoice_detail_inline_lines: int = 2000

    @property
    def embedded_redis(self) -> bool:
        return self.redis_url is None

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def _read_or_create_secret(path: Path, make) -> str:
    """Return the secret stored in ``path``, creating it (mode 0600) the first time."""
    if path.exists():
        value = path.read_text().strip()
        if value:
            return value
    value = make()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value + "\n")
    os.chmod(path, 0o600)
    return value


def _normalise_database_url(url: str) -> str:
    scheme = urlsplit(url).scheme
    if scheme in ("postgres", "postgresql"):
        return "postgresql+psycopg" + url[len(scheme) :]
    if scheme in ("postgresql+psycopg", "sqlite", "sqlite+pysqlite"):
        return url
    raise ConfigError(
        f"DATABASE_URL must start with postgresql:// or sqlite:///, not {scheme or url!r}."
    )


def _bool(env: dict, name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    low = raw.strip().lower()
    if low in ("1", "true", "yes", "on"):
        return True
    if low in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, not {raw!r}.")


def _decode_data_key(raw: str, origin: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(raw.encode())
    except (ValueError, TypeError):
        key = b""
    if len(key) != 32:
        raise ConfigError(
            f"{origin} must be 32 bytes in URL-safe base64 "
            "(make one with: python -c 'import secrets,base64;"
            "print(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())')."
        )
    return raw.encode()


def _token(env: dict, name: str) -> str | None:
    value = env.get(name) or None
    if value is not None and len(value) < 24:
        raise ConfigError(f"{name} must be at least 24 characters long.")
    return value


def _public_url(env: dict) -> str | None:
    raw = (env.get("PUBLIC_URL") or "").strip()
    if not raw:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ConfigError(
            f"PUBLIC_URL must be an http:// or https:// address like https://asystent.example, "
            f"not {raw!r}."
        )
    return raw.rstrip("/")


def _operator_party(env: dict) -> OperatorParty:
    """OPERATOR_NAME, OPERATOR_STREET, OPERATOR_POSTAL_CODE, OPERATOR_CITY, OPERATOR_NIP,
    OPERATOR_REGON, OPERATOR_KRS, OPERATOR_EMAIL, OPERATOR_IBAN; the identifiers are checked
    (digits, check digits, the IBAN's checksum)."""
    from stdnum.pl import nip as stdnip
    from stdnum.pl import regon as stdregon

    default = OperatorParty()

    def text(name: str, fallback, limit: int = 200):
        value = (env.get(name) or "").strip() or fallback
        if value is not None and len(value) > limit:
            raise ConfigError(f"{name} may have at most {limit} characters.")
        return value

    def number(name: str, valid, what: str) -> str | None:
        raw = (env.get(name) or "").strip()
        if not raw:
            return None
        compact = raw.replace("-", "").replace(" ", "")
        if not valid(compact):
            raise ConfigError(f"{name} is not a valid {what}: {raw!r}.")
        return compact

    postal_code = text("OPERATOR_POSTAL_CODE", default.postal_code, 6)
    if postal_code is not None and not (
        len(postal_code) == 6
        and postal_code[2] == "-"
        and (postal_code[:2] + postal_code[3:]).isdigit()
    ):
        raise ConfigError(f"OPERATOR_POSTAL_CODE must look like 00-950, not {postal_code!r}.")
    email = text("OPERATOR_EMAIL", default.email, 254)
    if email is not None and (email.count("@") != 1 or " " in email or "." not in email[1:]):
        raise ConfigError(f"OPERATOR_EMAIL is not an e-mail address: {email!r}.")
    iban = (env.get("OPERATOR_IBAN") or "").strip()
    if iban:
        from stdnum import iban as stdiban

        compact = stdiban.compact(iban)
        if not stdiban.is_valid(compact):
            raise ConfigError(f"OPERATOR_IBAN is not a valid IBAN: {iban!r}.")
        iban = compact
    return OperatorParty(
        email=email,
        iban=iban or default.iban,
        name=text("OPERATOR_NAME", default.name),
        street=text("OPERATOR_STREET", default.street),
        postal_code=postal_code,
        city=text("OPERATOR_CITY", default.city, 100),
        nip=number("OPERATOR_NIP", stdnip.is_valid, "NIP") or default.nip,
        regon=number("OPERATOR_REGON", stdregon.is_valid, "REGON"),
        krs=number(
            "OPERATOR_KRS", lambda v: len(v) == 10 and v.isdigit(), "KRS number (10 digits)"
        ),
    )


def load_settings(env: dict | None = None) -> Settings:
    env = dict(os.environ if env is None else env)
    instance = Path(env.get("ASYSTENT_INSTANCE") or PROJECT_ROOT / "instance").resolve()
    try:
        instance.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"Cannot create the instance folder {instance}: {exc.strerror}.") from exc

    database_url = _normalise_database_url(
        env.get("DATABASE_URL") or f"sqlite:///{instance / 'asystent.sqlite3'}"
    )

    redis_url = env.get("REDIS_URL") or None
    if redis_url and urlsplit(redis_url).scheme not in ("redis", "rediss", "unix"):
        raise ConfigError("REDIS_URL must start with redis://, rediss:// or unix://.")

    secret_key = env.get("SECRET_KEY") or _read_or_create_secret(
        instance / "secret_key", lambda: secrets.token_urlsafe(48)
    )
    if len(secret_key) < 32:
        raise ConfigError("SECRET_KEY must be at least 32 characters long.")

    if env.get("DATA_KEY"):
        data_key = _decode_data_key(env["DATA_KEY"], "DATA_KEY")
    else:
        data_key = _decode_data_key(
            _read_or_create_secret(
                instance / "data_key",
                lambda: base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
            ),
            f"The key in {instance / 'data_key'}",
        )

    smtp_host = env.get("SMTP_HOST") or None
    mail_backend = env.get("MAIL_BACKEND") or ("smtp" if smtp_host else "outbox")
    if mail_backend not in ("smtp", "outbox"):
        raise ConfigError(f"MAIL_BACKEND must be smtp or outbox, not {mail_backend!r}.")
    if mail_backend == "smtp" and not smtp_host:
        raise ConfigError("MAIL_BACKEND=smtp needs SMTP_HOST.")
    try:
        smtp_port = int(env.get("SMTP_PORT") or 25)
    except ValueError as exc:
        raise ConfigError(f"SMTP_PORT must be a number, not {env.get('SMTP_PORT')!r}.") from exc
    try:
        report_inline_rows = int(env.get("REPORT_INLINE_ROWS") or 2000)
        report_keep_days = int(env.get("REPORT_KEEP_DAYS") or 7)
    except ValueError as exc:
        raise ConfigError("REPORT_INLINE_ROWS and REPORT_KEEP_DAYS must be whole numbers.") from exc
    try:
        invoice_detail_inline_lines = int(env.get("INVOICE_DETAIL_INLINE_LINES") or 2000)
    except ValueError as exc:
        raise ConfigError("INVOICE_DETAIL_INLINE_LINES must be a whole number.") from exc

    files_path = Path(env.get("FILES_PATH") or instance / "files").resolve()

    locale = env.get("DEFAULT_LOCALE") or "pl"
    if locale not in ("pl", "en"):
        raise ConfigError(f"DEFAULT_LOCALE must be pl or en, not {locale!r}.")

    return Settings(
        instance_path=instance,
        database_url=database_url,
        redis_url=redis_url,
        secret_key=secret_key,
        data_key=data_key,
        mail_backend=mail_backend,
        mail_sender=env.get("MAIL_SENDER") or "Asystent <asystent@operator.example>",
        smtp_host=smtp_host,
        smtp_port=smtp_port,
        smtp_user=env.get("SMTP_USER") or None,
        smtp_password=env.get("SMTP_PASSWORD") or None,
        smtp_starttls=_bool(env, "SMTP_STARTTLS", False),
        secure_cookies=_bool(env, "SECURE_COOKIES", not database_url.startswith("sqlite")),
        files_path=files_path,
        default_locale=locale,
        report_inline_rows=report_inline_rows,
        report_keep_days=report_keep_days,
        invoice_detail_inline_lines=invoice_detail_inline_lines,
        warehouse_api_token=_token(env, "WAREHOUSE_API_TOKEN"),
        public_url=_public_url(env),
        operator_party=_operator_party(env),
    )
