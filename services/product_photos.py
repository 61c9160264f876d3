"""Product photos: accepted only when the bytes are a whole JPEG, PNG or WebP picture of at
most 2 MB; stored in the file store under products/ with a random name; the previous file is
deleted once the change commits. Re-exported by services.catalog.
"""

from __future__ import annotations

import io
import warnings

from sqlalchemy.orm import Session

from core import aftercommit
from core.files import FileStore
from core.i18n import _l
from models import Product
from services import ServiceError, audit
from services.audit import Actor

MAX_PHOTO_BYTES = 2 * 1024 * 1024
MAX_PHOTO_PIXELS = 40_000_000
PHOTO_TYPES = {"jpeg": ".jpg", "png": ".png", "webp": ".webp"}
PHOTO_MIMETYPES = {".jpg": "image/jpeg", ".png": "image/png", ".webp": "image/webp"}
PHOTO_FOLDER = "products"


def sniff_image(data: bytes) -> str | None:
    """The picture type by its first bytes: "jpeg", "png", "webp" or None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def _complete(data: bytes, kind: str) -> bool:
    """The file ends where its format says it ends. Checked here because Pillow's own check
    of truncation is a process-wide switch that WeasyPrint turns off when it is imported."""
    if kind == "png":
        return data.endswith(b"\x00\x00\x00\x00IEND\xaeB`\x82")
    if kind == "jpeg":
        return data.rstrip(b"\x00").endswith(b"\xff\xd9")
    riff_size = int.from_bytes(data[4:8], "little")
    return len(data) in (riff_size + 8, riff_size + 9)


def _decodes_as(data: bytes, kind: str) -> bool:
    """The whole picture decodes as ``kind`` (a truncated or disguised file does not)."""
    from PIL import Image

    if not _complete(data, kind):
        return False

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                if (img.format or "").lower() != kind:
                    return False
                width, height = img.size
                if width * height > MAX_PHOTO_PIXELS:
                    return False
                img.load()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError, Warning):
        return False
    return True


def photo_mimetype(photo_path: str) -> str:
    suffix = photo_path[photo_path.rfind(".") :].lower()
    return PHOTO_MIMETYPES.get(suffix, "application/octet-stream")


def set_product_photo(
    session: Session, actor: Actor, files: FileStore, product: Product, data: bytes
) -> str:
    """Store ``data`` as the product's photo; the previous file goes once this commits."""
    if not data:
        raise ServiceError(_l("Choose a picture file."), field="photo")
    if len(data) > MAX_PHOTO_BYTES:
        raise ServiceError(_l("The picture is larger than 2 MB."), field="photo")
    kind = sniff_image(data)
    if kind is None or not _decodes_as(data, kind):
        raise ServiceError(
            _l("This file is not a JPEG, PNG or WebP picture (or it is damaged)."),
            field="photo",
        )
    relative = files.new_name(PHOTO_FOLDER, PHOTO_TYPES[kind])
    files.save_bytes(relative, data)
    old = product.photo_path
    product.photo_path = relative
    session.flush()
    if old:
        aftercommit.add(session, files.delete, old)
    audit.record(
        session,
        actor,
        "catalog.product_photo_set",
        obj=product,
        before={"photo": old},
        after={"photo": relative, "bytes": len(data)},
    )
    return relative


def remove_product_photo(
    session: Session, actor: Actor, files: FileStore, product: Product
) -> None:
    old = product.photo_path
    if not old:
        return
    product.photo_path = None
    session.flush()
    aftercommit.add(session, files.delete, old)
    audit.record(
        session, actor, "catalog.product_photo_removed", obj=product, before={"photo": old}
    )
