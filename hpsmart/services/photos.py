"""Photos: the one pipeline every door uses (public form, assisted form, Open311 API,
answers, demo data).

A photo arrives as bytes. :func:`inspect_photo` checks them without writing
anything; :func:`store_photo` checks them the same way and then writes three files
under the upload root:

- ``original/``: the bytes exactly as received (camera metadata and GPS included),
  for staff only (served by ``/media/o/<attachment id>`` after a visibility check);
- ``public/``: a re-encoded JPEG, upright (EXIF orientation applied), at most
  :data:`PUBLIC_MAX_SIDE` px on its long side, in sRGB, with no metadata at all
  (no EXIF, GPS, ICC profile, XMP or comment);
- ``thumb/``: the same at most :data:`THUMB_MAX_SIDE` px on its long side.

Rules (issue 3, item 5): the type is decided from the bytes, never from the file
name or the Content-Type header; size and pixel limits are checked before the
pixels are decoded, so a decompression bomb is refused and never becomes a 500;
each failure is a :class:`PhotoError` with its own code and localized message.

Nothing here touches the database or Flask's request: do this CPU and disk work
before opening the transaction that records the :class:`~hpsmart.models.Attachment`
rows, and call :func:`delete_stored` if that transaction fails.
"""
from __future__ import annotations

import io
import math
import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path

from flask import current_app, has_app_context
from PIL import Image, ImageCms, ImageFile, ImageOps

from ..i18n import lazy_gettext as _l

# Defaults of the settings MAX_PHOTO_BYTES and MAX_PHOTO_PIXELS.
DEFAULT_MAX_BYTES = 15 * 1024 * 1024  # bytes, one photo as received
DEFAULT_MAX_PIXELS = 40_000_000  # width x height, read from the header before decoding
PUBLIC_MAX_SIDE = 2560  # px, long side of the public copy, at most
# px: a large photo is first scaled by 1/2, 1/4 or 1/8 (the JPEG decoder's DCT scaling,
# else Image.reduce), the most that keeps its long side at least this long, and only
# then resized to PUBLIC_MAX_SIDE if still longer. A 12-MP phone photo (4032x3024)
# thus becomes 2016x1512 with no resampling pass: ~0.1 s instead of ~0.4 s.
PUBLIC_MIN_SIDE = 1600
THUMB_MAX_SIDE = 400  # px, long side of the thumbnail
PUBLIC_QUALITY = 85  # JPEG quality of the public copy
THUMB_QUALITY = 80  # JPEG quality of the thumbnail

# Pillow's own bomb guard, process-wide: it warns above this many pixels and refuses
# above twice as many. Kept at least as high as the configured limit (see
# ``_open_checked``) so that its warning only ever fires for photos we refuse anyway.
Image.MAX_IMAGE_PIXELS = DEFAULT_MAX_PIXELS

# Accepted formats: Pillow format name -> (content type, file extension of the original).
ACCEPTED = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "WEBP": ("image/webp", "webp"),
    "HEIF": ("image/heic", "heic"),
}
# ISO BMFF brands (ISO/IEC 23008-12) of HEIF images that libheif decodes with HEVC.
_HEIC_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs"}
_HEIF_BRANDS = _HEIC_BRANDS | {b"mif1", b"msf1", b"mif2"}
_AVIF_BRANDS = {b"avif", b"avis"}


class PhotoError(ValueError):
    """A photo that is refused.

    ``code`` is the machine-readable reason, one of :data:`PhotoError.CODES`;
    ``params`` the numbers in the message; ``message`` a lazy string, so
    ``str(error)`` is the message in the current locale (English outside a request).
    Every code is a client error: answer 422 (or 400 in the API), never 500.
    """

    CODES = ("empty", "not_image", "unsupported_type", "truncated", "too_large", "too_many_pixels",
             "heif_unsupported")

    def __init__(self, code: str, **params) -> None:
        if code not in self.CODES:
            raise ValueError(f"unknown photo error code {code!r}")
        self.code = code
        self.params = params
        self.message = _message(code, params)
        super().__init__(code)

    def __str__(self) -> str:
        return str(self.message)


def _message(code: str, params: dict):
    """The lazy, localized message for ``code`` (one literal msgid per code, for extraction)."""
    if code == "empty":
        return _l("The file is empty (0 bytes). Choose the photo again; if it came from a chat app, "
                  "save it to your phone first.")
    if code == "not_image":
        return _l("This file is not a photo. Choose a picture taken with a phone or camera "
                  "(JPEG, PNG, WebP or HEIC).")
    if code == "unsupported_type":
        return _l("This kind of image (%(format)s) is not accepted. Send the photo as JPEG, PNG, WebP "
                  "or HEIC.", **params)
    if code == "truncated":
        return _l("The photo is incomplete or damaged, perhaps because it did not finish uploading. "
                  "Choose it again and send it once more.")
    if code == "too_large":
        return _l("The photo is too large (%(size)s MB; the limit is %(limit)s MB). Send a smaller "
                  "copy, for example by choosing a smaller size when you share it.", **params)
    if code == "too_many_pixels":
        return _l("The photo has too many pixels (the limit is %(limit)s megapixels). Send a smaller "
                  "copy of it, for example a screenshot.", **params)
    return _l("HEIC photos cannot be read here at the moment. Send the photo as JPEG (on an iPhone: "
              "Settings > Camera > Formats > Most Compatible) or send a screenshot of it.")


@dataclass(frozen=True)
class PhotoInfo:
    """What :func:`inspect_photo` found.

    ``format``: Pillow's name (``JPEG``, ``PNG``, ``WEBP``, ``HEIF``);
    ``content_type`` and ``extension`` of the original; ``size_bytes`` its size;
    ``width``/``height`` in pixels as the photo is meant to be seen (after EXIF
    orientation), at full resolution.
    """

    format: str
    content_type: str
    extension: str
    size_bytes: int
    width: int
    height: int


@dataclass(frozen=True)
class StoredPhoto:
    """The three files written by :func:`store_photo`.

    Paths are relative to the upload root, with ``/`` separators:
    ``original/ab/cd/<32 hex>.<ext>``, ``public/ef/01/<32 hex>.jpg``,
    ``thumb/ef/01/<same name>.jpg``. ``content_type`` and ``size_bytes`` (bytes)
    describe the original; ``width``/``height`` (px) the upright public copy.
    The field names are the :class:`~hpsmart.models.Attachment` columns:
    ``Attachment(report=..., purpose="report", **dataclasses.asdict(stored))``.
    """

    original_path: str
    public_path: str
    thumb_path: str
    content_type: str
    size_bytes: int
    width: int
    height: int


def photo_limits() -> tuple[int, int]:
    """``(max bytes, max pixels)``: the settings MAX_PHOTO_BYTES and MAX_PHOTO_PIXELS of the
    current app, or :data:`DEFAULT_MAX_BYTES` / :data:`DEFAULT_MAX_PIXELS` outside one."""
    if has_app_context():
        config = current_app.config
        return (int(config.get("MAX_PHOTO_BYTES", DEFAULT_MAX_BYTES)),
                int(config.get("MAX_PHOTO_PIXELS", DEFAULT_MAX_PIXELS)))
    return DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS


_heif_state: bool | None = None


def heif_supported() -> bool:
    """True when pillow-heif is installed, its opener registered in Pillow and libheif has an
    HEVC decoder. Registration is tried once per process."""
    global _heif_state
    if _heif_state is None:
        try:
            import pillow_heif

            pillow_heif.register_heif_opener()
            decoders = pillow_heif.libheif_info().get("decoders")
            _heif_state = bool(decoders) if decoders is not None else True
        except Exception:  # noqa: BLE001 - any failure means "no HEIF here", a 4xx not a 500
            _heif_state = False
    return _heif_state


def sniff_format(data: bytes) -> str | None:
    """The format of ``data`` from its first bytes (magic numbers), or None when unknown.

    Returns ``JPEG``, ``PNG``, ``WEBP``, ``HEIF`` (accepted), ``GIF`` or ``AVIF``
    (recognised, refused). Never looks at a file name or a Content-Type header.
    """
    if data[:3] == b"\xff\xd8\xff":
        return "JPEG"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "PNG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if data[4:8] == b"ftyp":
        box_size = int.from_bytes(data[:4], "big")
        end = min(max(box_size, 16), len(data), 4096)
        brands = {data[8:12]} | {data[i:i + 4] for i in range(16, end - 3, 4)}
        if brands & _AVIF_BRANDS and not brands & _HEIC_BRANDS:
            return "AVIF"
        if brands & _HEIF_BRANDS:
            return "HEIF"
    return None


def _other_format(data: bytes) -> str | None:
    """Pillow's name for an image format we do not accept, or None when ``data`` is no image."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            return img.format
    except Exception:  # noqa: BLE001 - unreadable by every plugin: not an image
        return None


def _megabytes(size: int) -> int:
    return math.ceil(size / (1024 * 1024))


def _open_checked(data: bytes, max_bytes: int | None, max_pixels: int | None,
                  min_long_side: int | None, decode: bool = True) -> tuple[Image.Image, PhotoInfo]:
    """Check ``data`` and decode it (unless ``decode`` is false); returns the image and
    its :class:`PhotoInfo`.

    Order: size in bytes, format from the magic number, pixel count from the header
    (Pillow reads only the header in ``Image.open``), then the full decode inside
    ``try`` (a truncated file fails there). ``min_long_side`` (px) lets the JPEG
    decoder scale down by 1/2, 1/4 or 1/8 while decoding, as long as the long side
    stays at least that long (see :func:`_prescale`).
    """
    default_bytes, default_pixels = photo_limits()
    max_bytes = default_bytes if max_bytes is None else max_bytes
    max_pixels = default_pixels if max_pixels is None else max_pixels
    if not data:
        raise PhotoError("empty")
    if len(data) > max_bytes:
        raise PhotoError("too_large", size=_megabytes(len(data)), limit=_megabytes(max_bytes))
    fmt = sniff_format(data)
    if fmt is None:
        other = _other_format(data)
        if other is None:
            raise PhotoError("not_image")
        raise PhotoError("unsupported_type", format=other)
    if fmt not in ACCEPTED:
        raise PhotoError("unsupported_type", format=fmt)
    if fmt == "HEIF" and not heif_supported():
        raise PhotoError("heif_unsupported")
    if Image.MAX_IMAGE_PIXELS is not None and max_pixels > Image.MAX_IMAGE_PIXELS:
        Image.MAX_IMAGE_PIXELS = max_pixels
    too_many = PhotoError("too_many_pixels", limit=math.floor(max_pixels / 1e6))
    try:
        img = Image.open(io.BytesIO(data), formats=[fmt])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise too_many from None
    except Exception:  # noqa: BLE001 - the magic number matched but the header is unreadable
        raise PhotoError("truncated") from None
    width, height = img.size
    if width * height > max_pixels:
        img.close()
        raise too_many
    if width <= 0 or height <= 0:
        img.close()
        raise PhotoError("truncated")
    try:
        if min_long_side is not None and fmt == "JPEG":
            factor = _prescale(img.size, min_long_side)
            if factor > 1:
                img.draft(None, (max(1, width // factor), max(1, height // factor)))
        if decode:
            # A truncated file must fail here. WeasyPrint (the PDF reports) sets Pillow's
            # process-wide LOAD_TRUNCATED_IMAGES to True when it is imported, which would make
            # load() pad a truncated photo with grey and accept it: set it back each time (our
            # PDFs embed only copies this module wrote, never truncated).
            ImageFile.LOAD_TRUNCATED_IMAGES = False
            img.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        img.close()
        raise too_many from None
    except Exception:  # noqa: BLE001 - truncated or corrupt pixel data
        img.close()
        raise PhotoError("truncated") from None
    try:  # read after load(): a PNG may keep its EXIF after the pixel data
        orientation = img.getexif().get(0x0112, 1)
    except Exception:  # noqa: BLE001 - broken EXIF: treat as upright
        orientation = 1
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    content_type, extension = ACCEPTED[fmt]
    if fmt == "HEIF" and not {data[8:12]} & _HEIC_BRANDS:
        content_type, extension = "image/heif", "heif"
    info = PhotoInfo(format=fmt, content_type=content_type, extension=extension,
                     size_bytes=len(data), width=width, height=height)
    return img, info


def inspect_photo(data: bytes, *, max_bytes: int | None = None, max_pixels: int | None = None,
                  decode: bool = True) -> PhotoInfo:
    """Check that ``data`` is a photo we accept, without writing anything.

    :param data: the file's bytes as received.
    :param max_bytes: size limit in bytes; default the setting MAX_PHOTO_BYTES (15 MB).
    :param max_pixels: width x height limit; default the setting MAX_PHOTO_PIXELS (40 MP).
    :param decode: also decode the pixels, to find a truncated or damaged file. A JPEG is
        decoded at 1/8 scale (every byte is still read: ~20 ms for 12 MP); a 12-MP HEIC
        costs a full HEVC decode (~0.5 s). ``False`` stops after the header checks, for
        a caller that calls :func:`store_photo` next anyway (it decodes and checks again).
    :returns: :class:`PhotoInfo` (with ``decode=False`` the orientation, hence
        ``width``/``height``, is read from the header's EXIF, which a PNG may lack).
    :raises PhotoError: ``empty``, ``too_large``, ``not_image``, ``unsupported_type`` (GIF,
        AVIF, BMP, TIFF, ...), ``heif_unsupported``, ``too_many_pixels`` (decided from the
        header, before decoding), ``truncated`` (the header or, with ``decode``, the pixel
        data is unreadable).
    """
    img, info = _open_checked(data, max_bytes, max_pixels, min_long_side=1 if decode else None,
                              decode=decode)
    img.close()
    return info


def _prescale(size: tuple[int, int], min_long_side: int) -> int:
    """The largest of 8, 4, 2, 1 that keeps the long side of ``size`` at least ``min_long_side``."""
    for factor in (8, 4, 2):
        if max(size) // factor >= min_long_side:
            return factor
    return 1


def _bounded(size: tuple[int, int], long_side: int) -> tuple[int, int]:
    """``size`` scaled down (never up) so that its long side is at most ``long_side``."""
    width, height = size
    scale = long_side / max(width, height)
    if scale >= 1:
        return width, height
    return max(1, round(width * scale)), max(1, round(height * scale))


_SRGB = ImageCms.createProfile("sRGB")


def _to_srgb(img: Image.Image) -> Image.Image:
    """An RGB image in sRGB: alpha flattened on white, an embedded ICC profile (Display P3,
    Adobe RGB, CMYK) converted to sRGB so colours survive dropping the profile."""
    if img.mode in ("RGBA", "LA", "PA", "RGBa") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    icc = img.info.get("icc_profile")
    if icc and img.mode in ("RGB", "CMYK"):
        try:
            converted = ImageCms.profileToProfile(img, ImageCms.ImageCmsProfile(io.BytesIO(icc)), _SRGB,
                                                  outputMode="RGB")
            if converted is not None:
                return converted
        except Exception:  # noqa: BLE001 - a broken profile: fall back to a plain conversion
            pass
    return img if img.mode == "RGB" else img.convert("RGB")


def _normalise_mode(img: Image.Image) -> Image.Image:
    """A mode Pillow resizes well: RGB, L, RGBA or CMYK (palette, 1-bit, 16-bit converted)."""
    if img.mode in ("RGB", "L", "RGBA", "CMYK"):
        return img
    if img.mode in ("LA", "PA", "RGBa") or (img.mode == "P" and "transparency" in img.info):
        return img.convert("RGBA")
    if img.mode.startswith("I;16") or img.mode in ("I", "F"):
        # 16-bit or float greyscale: scale to 8 bits instead of clipping at 255.
        top = img.getextrema()[1] or 1
        scale = 255 / top if top > 255 else 1
        return img.point(lambda v: v * scale).convert("L") if img.mode != "F" else img.convert("L")
    return img.convert("RGB")


def _render(img: Image.Image, long_side: int, min_long_side: int) -> Image.Image:
    """Upright, sRGB, RGB copy of ``img`` with its long side at most ``long_side`` px, first
    box-reduced by 2, 4 or 8 while its long side stays at least ``min_long_side`` px (a
    JPEG has usually been scaled already by the decoder)."""
    work = _normalise_mode(img)
    factor = _prescale(work.size, min_long_side)
    if factor > 1:
        work = work.reduce(factor)
    target = _bounded(work.size, long_side)
    if target != work.size:
        work = work.resize(target, Image.Resampling.LANCZOS, reducing_gap=3.0)
    elif work is img:
        work = img.copy()
    ImageOps.exif_transpose(work, in_place=True)
    return _to_srgb(work)


def _encode_jpeg(img: Image.Image, quality: int) -> bytes:
    """JPEG bytes with no metadata at all: no EXIF, ICC profile, XMP, comment or DPI."""
    img.info = {}
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=quality, exif=b"", comment=b"")
    return out.getvalue()


def _new_relative_path(kind: str, extension: str) -> str:
    """``<kind>/ab/cd/<32 random hex>.<extension>``: unguessable, fanned out over 65,536 folders."""
    token = secrets.token_hex(16)
    return f"{kind}/{token[:2]}/{token[2:4]}/{token}.{extension}"


def _write_atomic(root: Path, relative: str, data: bytes, mode: int) -> None:
    """Write ``data`` to ``root/relative`` through a temporary file, fsync and ``os.replace``,
    so a reader never sees half a file and a crash after the database commit does not
    leave an empty one; ``mode`` is the file's permission bits."""
    target = root / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def store_photo(data: bytes, upload_root: str | Path, *, max_bytes: int | None = None,
                max_pixels: int | None = None) -> StoredPhoto:
    """Check ``data`` and write the original, the public copy and the thumbnail.

    :param data: the file's bytes as received.
    :param upload_root: the upload folder (the setting UPLOAD_FOLDER); created if missing.
    :param max_bytes: size limit in bytes; default the setting MAX_PHOTO_BYTES (15 MB).
    :param max_pixels: width x height limit; default the setting MAX_PHOTO_PIXELS (40 MP).
    :returns: :class:`StoredPhoto` with paths relative to ``upload_root``.
    :raises PhotoError: as :func:`inspect_photo`; then nothing has been written.
    :raises OSError: the disk failed; whatever was written is removed first.

    Size of the copies: see :data:`PUBLIC_MIN_SIDE`; a 12-MP phone photo gives a
    2016x1512 public copy (portrait or landscape as it should be seen) and a 400x300
    thumbnail. Memory: one decoded frame at a time, and a large JPEG is decoded at
    1/2, 1/4 or 1/8 scale (``Image.draft``); figures in bench/bench_photos.py.
    """
    img, info = _open_checked(data, max_bytes, max_pixels, min_long_side=PUBLIC_MIN_SIDE)
    try:
        public = _render(img, PUBLIC_MAX_SIDE, PUBLIC_MIN_SIDE)
    finally:
        img.close()
    public_bytes = _encode_jpeg(public, PUBLIC_QUALITY)
    thumb = public.resize(_bounded(public.size, THUMB_MAX_SIDE), Image.Resampling.LANCZOS,
                          reducing_gap=2.0) if max(public.size) > THUMB_MAX_SIDE else public
    thumb_bytes = _encode_jpeg(thumb, THUMB_QUALITY)

    original_path = _new_relative_path("original", info.extension)
    public_path = _new_relative_path("public", "jpg")
    thumb_path = "thumb/" + public_path.split("/", 1)[1]
    stored = StoredPhoto(original_path=original_path, public_path=public_path, thumb_path=thumb_path,
                         content_type=info.content_type, size_bytes=info.size_bytes,
                         width=public.width, height=public.height)
    root = Path(upload_root)
    try:
        _write_atomic(root, original_path, data, 0o600)
        _write_atomic(root, public_path, public_bytes, 0o644)
        _write_atomic(root, thumb_path, thumb_bytes, 0o644)
    except BaseException:
        delete_stored(stored, root)
        raise
    return stored


def delete_stored(photo: StoredPhoto, upload_root: str | Path) -> None:
    """Remove the three files of ``photo`` (those that exist); for cleanup when the database
    transaction that was to record them fails. Never raises for a missing file."""
    root = Path(upload_root)
    for relative in (photo.original_path, photo.public_path, photo.thumb_path):
        try:
            (root / relative).unlink()
        except FileNotFoundError:
            pass


# --- after storing: documents, blurring and hiding (issue 5: answers and publication checks) ---

BLUR_RADIUS_FRACTION = 1 / 30  # Gaussian blur radius as a fraction of the copy's long side (px)
BLUR_MIN_RADIUS = 12  # px: even a small copy is blurred beyond recognition


def store_private_file(data: bytes, upload_root: str | Path, folder: str, extension: str) -> str:
    """Write ``data`` under ``upload_root/<folder>/ab/cd/<32 random hex>.<extension>``, readable
    by the server only (mode 0600), atomically.

    For files that are served through a view that checks who asks (an answer's PDF
    document). Checking the bytes is the caller's job.

    :returns: the path relative to ``upload_root``, with ``/`` separators.
    :raises OSError: the disk failed (nothing is left behind).
    """
    relative = _new_relative_path(folder, extension)
    _write_atomic(Path(upload_root), relative, data, 0o600)
    return relative


def blur_copies(public_path: str, upload_root: str | Path, radius: float | None = None) -> tuple[str, str, int, int]:
    """Blur a stored photo's public copy strongly and write it and its thumbnail under new names.

    The public copy (already upright, sRGB, no metadata) is read, blurred with
    ``ImageFilter.GaussianBlur`` (``radius`` px, default :data:`BLUR_RADIUS_FRACTION` of the
    long side, at least :data:`BLUR_MIN_RADIUS`), and written as a new public copy and a new
    thumbnail with fresh random names: the old names are served with a one-year cache
    lifetime, so they must not get other content. The old files are left alone (delete
    them with :func:`delete_files` once the database points at the new ones); the
    original (``original/``) is never touched.

    :returns: ``(public_path, thumb_path, width, height)`` of the new copies (paths relative
        to ``upload_root``; width/height in px).
    :raises OSError: the public copy cannot be read or the new files cannot be written
        (whatever was written is removed first).
    """
    from PIL import ImageFilter

    root = Path(upload_root)
    with Image.open(root / public_path) as source:
        source.load()
        work = source.convert("RGB")
    radius = radius if radius is not None else max(BLUR_MIN_RADIUS, max(work.size) * BLUR_RADIUS_FRACTION)
    blurred = work.filter(ImageFilter.GaussianBlur(radius))
    thumb = blurred.resize(_bounded(blurred.size, THUMB_MAX_SIDE), Image.Resampling.LANCZOS) \
        if max(blurred.size) > THUMB_MAX_SIDE else blurred
    new_public = _new_relative_path("public", "jpg")
    new_thumb = "thumb/" + new_public.split("/", 1)[1]
    try:
        _write_atomic(root, new_public, _encode_jpeg(blurred, PUBLIC_QUALITY), 0o644)
        _write_atomic(root, new_thumb, _encode_jpeg(thumb, THUMB_QUALITY), 0o644)
    except BaseException:
        delete_files([new_public, new_thumb], root)
        raise
    return new_public, new_thumb, blurred.width, blurred.height


def rename_copies(public_path: str, thumb_path: str, upload_root: str | Path) -> tuple[str, str]:
    """Copy a photo's public copy and thumbnail to new random names (the caller deletes the
    old names with :func:`delete_files` after its commit), so that URLs handed out before
    stop working: used when a photo is hidden from the public.

    :returns: ``(public_path, thumb_path)``, the new paths relative to ``upload_root``.
    :raises OSError: a file is missing or cannot be written (new files are removed first).
    """
    root = Path(upload_root)
    new_public = _new_relative_path("public", "jpg")
    new_thumb = "thumb/" + new_public.split("/", 1)[1]
    try:
        for old, new in ((public_path, new_public), (thumb_path, new_thumb)):
            _write_atomic(root, new, (root / old).read_bytes(), 0o644)
    except BaseException:
        delete_files([new_public, new_thumb], root)
        raise
    return new_public, new_thumb


def delete_files(paths, upload_root: str | Path) -> None:
    """Remove the files at ``paths`` (relative to ``upload_root``; None entries skipped).
    Never raises for a missing file."""
    root = Path(upload_root)
    for relative in paths:
        if not relative:
            continue
        try:
            (root / relative).unlink()
        except FileNotFoundError:
            pass
