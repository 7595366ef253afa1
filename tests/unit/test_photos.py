"""The photo pipeline (hpsmart.services.photos): types from the bytes, limits before
decoding, orientation applied, no metadata in any copy anyone but staff can see.

Every fixture is generated here with Pillow and pillow-heif; no binary file is committed.
"""
from __future__ import annotations

import dataclasses
import io
import random
import struct
import warnings
import zlib
from pathlib import Path

import pillow_heif
import pytest
from flask_babel import force_locale
from PIL import Image, ImageCms, ImageFile
from werkzeug.datastructures import FileStorage

from hpsmart.services import photos
from hpsmart.services.photos import PhotoError, StoredPhoto, delete_stored, inspect_photo, store_photo

RED, BLUE = (220, 20, 20), (20, 20, 220)
SECRETS = (b"HPSmartCamMaker", b"SecretModel 9", b"SN-98765-XYZ", b"private comment 42",
           b"ns.adobe.com/xap")


def encode(img: Image.Image, fmt: str, **params) -> bytes:
    out = io.BytesIO()
    img.save(out, format=fmt, **params)
    return out.getvalue()


def left_red_right_blue(size=(400, 300)) -> Image.Image:
    """Left half red, right half blue: shows where a rotation put each side."""
    img = Image.new("RGB", size, BLUE)
    img.paste(RED, (0, 0, size[0] // 2, size[1]))
    return img


def exif_with(orientation: int | None = None, camera: bool = False, gps: bool = False) -> bytes:
    exif = Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    if camera:
        exif[0x010F] = SECRETS[0].decode()  # Make
        exif[0x0110] = SECRETS[1].decode()  # Model
        exif[0xA431] = SECRETS[2].decode()  # BodySerialNumber
    if gps:
        exif[0x8825] = {1: "N", 2: (20.0, 51.0, 36.0), 3: "E", 4: (106.0, 41.0, 1.0)}
    return exif.tobytes()


def noise(mode: str, size=(640, 480)) -> Image.Image:
    """Pseudo-random pixels (same every run): they do not compress, so cutting a file loses some."""
    bands = len(mode)
    return Image.frombytes(mode, size, random.Random(7).randbytes(size[0] * size[1] * bands))


def noisy_jpeg(size=(640, 480)) -> bytes:
    return encode(noise("RGB", size), "JPEG", quality=90)


def files_under(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def assert_no_metadata(path: Path) -> None:
    raw = path.read_bytes()
    with Image.open(path) as img:
        assert img.format == "JPEG"
        assert dict(img.getexif()) == {}
        assert img.getexif().get_ifd(0x8825) == {}
        for key in ("exif", "icc_profile", "comment", "xmp", "XML:com.adobe.xmp", "dpi", "photoshop"):
            assert key not in img.info, key
        # Only the JFIF header: no APP1 (EXIF, XMP), APP2 (ICC), APP13 (IPTC) or COM segment.
        assert [(marker, payload[:5]) for marker, payload in img.applist] == [("APP0", b"JFIF\0")]
    for marker in (b"Exif", b"ICC_PROFILE", b"http://ns.adobe.com", *SECRETS):
        assert marker not in raw, marker


@pytest.fixture(scope="module")
def png_bomb() -> bytes:
    """A real PNG of a few hundred KB declaring 20000x20000 pixels (4-bit grey, all zero)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    compressor = zlib.compressobj(6)
    block = (b"\0" * (1 + 20000 // 2)) * 500  # 500 rows: filter byte + 10,000 bytes of pixels
    idat = b"".join([compressor.compress(block) for _ in range(40)] + [compressor.flush()])
    header = struct.pack(">IIBBBBB", 20000, 20000, 4, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@pytest.fixture()
def uploads(tmp_path) -> Path:
    return tmp_path / "uploads"


# --- orientation, copies and sizes ------------------------------------------------------

def test_exif_orientation_6_gives_portrait_copies_without_exif(uploads):
    data = encode(left_red_right_blue(), "JPEG", quality=95, exif=exif_with(orientation=6))

    info = inspect_photo(data)
    assert (info.format, info.content_type, info.width, info.height) == ("JPEG", "image/jpeg", 300, 400)

    stored = store_photo(data, uploads)
    assert (stored.width, stored.height) == (300, 400)
    for relative in (stored.public_path, stored.thumb_path):
        with Image.open(uploads / relative) as img:
            assert img.size == (300, 400)
            # Orientation 6 = turn 90 degrees clockwise to view: the left (red) side is on top.
            top, bottom = img.convert("RGB").getpixel((150, 60)), img.convert("RGB").getpixel((150, 340))
        assert top[0] > 150 and top[2] < 100, top
        assert bottom[2] > 150 and bottom[0] < 100, bottom
        assert_no_metadata(uploads / relative)
    assert (uploads / stored.original_path).read_bytes() == data  # the original, as received


@pytest.mark.parametrize("with_icc", [True, False], ids=["icc", "no-icc"])
def test_gps_camera_icc_comment_and_xmp_are_in_no_public_copy(uploads, with_icc):
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes() if with_icc else None
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://ns.adobe.com/xap/1.0/">' \
          b'SN-98765-XYZ</rdf:RDF></x:xmpmeta>'
    data = encode(left_red_right_blue((800, 600)), "JPEG",
                  exif=exif_with(camera=True, gps=True), icc_profile=icc, comment=SECRETS[3], xmp=xmp)
    with Image.open(io.BytesIO(data)) as check:  # the fixture really carries them
        assert check.getexif().get_ifd(0x8825)[1] == "N"
        assert check.getexif()[0x010F] == SECRETS[0].decode()

    stored = store_photo(data, uploads)

    assert_no_metadata(uploads / stored.public_path)
    assert_no_metadata(uploads / stored.thumb_path)
    for relative in (stored.public_path, stored.thumb_path):  # nor the names, hence the URLs
        assert not any(secret.decode().lower() in relative.lower() for secret in SECRETS)
    assert (uploads / stored.original_path).read_bytes() == data


def test_large_photo_is_scaled_down_and_thumbnailed(uploads):
    data = encode(left_red_right_blue((6000, 1000)), "JPEG", quality=80)

    stored = store_photo(data, uploads)

    with Image.open(uploads / stored.public_path) as public:
        assert public.size == (stored.width, stored.height)
        assert photos.PUBLIC_MIN_SIDE <= max(public.size) <= photos.PUBLIC_MAX_SIDE
        assert abs(public.width / public.height - 6) < 0.05
    with Image.open(uploads / stored.thumb_path) as thumb:
        assert max(thumb.size) == photos.THUMB_MAX_SIDE
    assert stored.size_bytes == len(data)


def test_phone_sized_jpeg_is_decoded_at_half_scale(uploads):
    """4032 px long side: the decoder's 1/2 scale (2016 px) is kept, no resampling pass."""
    data = encode(Image.new("RGB", (4032, 3024), (90, 120, 30)), "JPEG", quality=70)

    stored = store_photo(data, uploads)

    assert (stored.width, stored.height) == (2016, 1512)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_large_photo_scaled_before_rotation_is_still_upright(uploads, fmt):
    """3400x1700 with Orientation=6: scaled by 1/2 (decoder or Image.reduce), then turned."""
    data = encode(left_red_right_blue((3400, 1700)), fmt, exif=exif_with(orientation=6))

    stored = store_photo(data, uploads)

    assert (stored.width, stored.height) == (850, 1700)
    with Image.open(uploads / stored.public_path) as public:
        assert public.size == (850, 1700)
        assert public.getpixel((425, 200))[0] > 150 and public.getpixel((425, 1500))[2] > 150
    assert_no_metadata(uploads / stored.public_path)


@pytest.mark.parametrize("size", [(400, 5), (5, 400), (1, 1), (9000, 3)])
def test_thin_and_tiny_photos_are_accepted(uploads, size):
    data = encode(Image.new("RGB", size, RED), "JPEG")

    info = inspect_photo(data)
    stored = store_photo(data, uploads)

    assert (info.width, info.height) == size
    assert max(stored.width, stored.height) <= photos.PUBLIC_MAX_SIDE
    assert (stored.width >= stored.height) == (size[0] >= size[1])


@pytest.mark.parametrize("mode", ["RGBA", "LA", "P"])
def test_png_and_webp_with_transparency_become_rgb_on_white(uploads, mode):
    img = Image.new("RGBA", (120, 80), (0, 0, 0, 0))
    img.paste((20, 20, 220, 255), (0, 0, 60, 80))
    img = img.convert(mode) if mode != "P" else img.convert("P", palette=Image.Palette.ADAPTIVE)
    if mode == "P":
        img.info["transparency"] = img.getpixel((100, 40))
    for fmt in ("PNG", "WEBP"):
        stored = store_photo(encode(img, fmt), uploads)
        assert stored.content_type == f"image/{fmt.lower()}"
        with Image.open(uploads / stored.public_path) as public:
            assert public.mode == "RGB"
            assert min(public.getpixel((110, 40))) > 240  # the transparent part is white


def test_no_temporary_files_left_and_names_are_random(uploads):
    data = encode(left_red_right_blue(), "JPEG")

    first, second = store_photo(data, uploads), store_photo(data, uploads)

    assert len({first.public_path, second.public_path, first.original_path, second.original_path}) == 4
    assert first.original_path.split("/")[-1].split(".")[0] != first.public_path.split("/")[-1].split(".")[0]
    names = sorted(str(p.relative_to(uploads)) for p in files_under(uploads))
    assert len(names) == 6 and not any(".tmp-" in name for name in names)
    assert first.public_path.startswith("public/") and first.thumb_path.startswith("thumb/")
    assert first.original_path.startswith("original/") and first.original_path.endswith(".jpg")


def test_stored_photo_fields_are_attachment_columns():
    from hpsmart.models import Attachment

    columns = set(Attachment.__table__.columns.keys())
    assert {field.name for field in dataclasses.fields(StoredPhoto)} <= columns


def test_delete_stored_removes_the_three_files(uploads):
    stored = store_photo(encode(left_red_right_blue(), "JPEG"), uploads)

    delete_stored(stored, uploads)
    delete_stored(stored, uploads)  # twice: missing files are fine

    assert files_under(uploads) == []


def test_a_failing_write_leaves_nothing(uploads, monkeypatch):
    real_write = photos._write_atomic
    calls = []

    def failing_write(root, relative, data, mode):
        calls.append(relative)
        if len(calls) == 3:
            raise OSError("disk full")
        real_write(root, relative, data, mode)

    monkeypatch.setattr(photos, "_write_atomic", failing_write)
    with pytest.raises(OSError):
        store_photo(encode(left_red_right_blue(), "JPEG"), uploads)
    assert len(calls) == 3
    assert files_under(uploads) == []


# --- HEIC -------------------------------------------------------------------------------

def heic_bytes(img: Image.Image, **params) -> bytes:
    out = io.BytesIO()
    pillow_heif.from_pillow(img).save(out, quality=90, **params)
    return out.getvalue()


def test_heic_is_accepted_and_converted_to_jpeg(uploads):
    data = heic_bytes(left_red_right_blue())
    assert data[4:12] == b"ftypheic"

    info = inspect_photo(data)
    stored = store_photo(data, uploads)

    assert (info.format, info.content_type) == ("HEIF", "image/heic")
    assert stored.original_path.endswith(".heic") and stored.content_type == "image/heic"
    assert (stored.width, stored.height) == (400, 300)
    with Image.open(uploads / stored.public_path) as public:
        assert public.format == "JPEG" and public.size == (400, 300)
        assert public.getpixel((50, 150))[0] > 150  # red stays on the left
    assert_no_metadata(uploads / stored.public_path)


def test_heic_named_jpg_with_jpeg_content_type_is_still_heic(uploads):
    """Only the bytes decide: the name and the declared type of an upload are ignored."""
    upload = FileStorage(io.BytesIO(heic_bytes(left_red_right_blue())), filename="IMG_0001.jpg",
                         content_type="image/jpeg")

    stored = store_photo(upload.read(), uploads)

    assert stored.content_type == "image/heic" and stored.original_path.endswith(".heic")


def test_heic_orientation_is_applied(uploads):
    data = heic_bytes(left_red_right_blue(), exif=exif_with(orientation=6, gps=True, camera=True))

    stored = store_photo(data, uploads)

    assert (stored.width, stored.height) == (300, 400)
    assert_no_metadata(uploads / stored.public_path)
    assert_no_metadata(uploads / stored.thumb_path)


def test_heic_without_heif_support_is_a_clear_refusal(uploads, monkeypatch):
    monkeypatch.setattr(photos, "_heif_state", False)

    with pytest.raises(PhotoError) as caught:
        store_photo(heic_bytes(left_red_right_blue()), uploads)

    assert caught.value.code == "heif_unsupported"
    assert "HEIC" in str(caught.value)
    assert files_under(uploads) == []


# --- refusals ---------------------------------------------------------------------------

def test_png_declaring_20000_by_20000_is_refused_before_decoding(uploads, png_bomb, monkeypatch):
    assert 100_000 < len(png_bomb) < 1_000_000
    loads = []
    real_load = ImageFile.ImageFile.load

    def spy_load(self):
        loads.append(self.size)
        return real_load(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", spy_load)

    for call in (inspect_photo, lambda data: store_photo(data, uploads)):
        with pytest.raises(PhotoError) as caught:
            call(png_bomb)
        assert caught.value.code == "too_many_pixels"
    assert loads == []  # no pixel was decoded
    assert files_under(uploads) == []
    assert not uploads.exists()


def test_pixel_limit_applies_where_pillow_only_warns(uploads):
    """45 MP: over our 40 MP limit, under twice Pillow's (where it raises instead of warning);
    in production the warning is not an error, and our own check refuses."""
    header = struct.pack(">IIBBBBB", 9000, 5000, 1, 0, 0, 0, 0)

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    data = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\0" * (5000 * (1 + 9000 // 8)))) + chunk(b"IEND", b""))
    for action in ("error", "ignore"):
        with warnings.catch_warnings():
            warnings.simplefilter(action, Image.DecompressionBombWarning)
            with pytest.raises(PhotoError) as caught:
                store_photo(data, uploads)
        assert caught.value.code == "too_many_pixels"
        assert "40" in str(caught.value)
    assert files_under(uploads) == []


def test_pixel_limit_from_settings(app, uploads, monkeypatch):
    data = encode(left_red_right_blue(), "JPEG")
    monkeypatch.setitem(app.config, "MAX_PHOTO_PIXELS", 100_000)
    with app.app_context():
        with pytest.raises(PhotoError) as caught:
            store_photo(data, uploads)
    assert caught.value.code == "too_many_pixels"
    assert inspect_photo(data, max_pixels=120_000).width == 400


def test_size_limit_from_settings(app, uploads, monkeypatch):
    data = noisy_jpeg()
    monkeypatch.setitem(app.config, "MAX_PHOTO_BYTES", len(data) - 1)
    with app.app_context():
        with pytest.raises(PhotoError) as caught:
            store_photo(data, uploads)
    assert caught.value.code == "too_large"
    assert files_under(uploads) == []
    assert inspect_photo(data, max_bytes=len(data)).format == "JPEG"


def test_default_limits():
    assert photos.photo_limits() == (15 * 1024 * 1024, 40_000_000)
    with pytest.raises(PhotoError) as caught:
        inspect_photo(b"\xff\xd8\xff" + b"\0" * (15 * 1024 * 1024))
    assert caught.value.code == "too_large"
    assert "16 MB" in str(caught.value) and "15 MB" in str(caught.value)


BAD_FILES = {
    "empty": b"",
    "truncated": noisy_jpeg()[:9000],
    "truncated png": encode(noise("L", (300, 300)), "PNG")[:20000],
    "gif script": b"GIF89a<script>alert(document.cookie)</script>",  # as uploaded under "x.html"
    "html": b"<!doctype html><script>alert(1)</script>",
    "bmp": encode(Image.new("RGB", (10, 10)), "BMP"),
    "jpeg magic only": b"\xff\xd8\xff\xe0",
}
EXPECTED_CODE = {"empty": "empty", "truncated": "truncated", "truncated png": "truncated",
                 "gif script": "unsupported_type", "html": "not_image", "bmp": "unsupported_type",
                 "jpeg magic only": "truncated"}


def test_header_only_inspection_leaves_truncation_to_store_photo(uploads, png_bomb):
    truncated = noisy_jpeg()[:9000]
    assert inspect_photo(truncated, decode=False).format == "JPEG"
    with pytest.raises(PhotoError) as caught:
        store_photo(truncated, uploads)
    assert caught.value.code == "truncated"
    for data, code in [(b"", "empty"), (png_bomb, "too_many_pixels"), (BAD_FILES["gif script"],
                                                                        "unsupported_type")]:
        with pytest.raises(PhotoError) as caught:
            inspect_photo(data, decode=False)
        assert caught.value.code == code
    info = inspect_photo(encode(left_red_right_blue(), "JPEG", exif=exif_with(orientation=6)), decode=False)
    assert (info.width, info.height) == (300, 400)


@pytest.mark.parametrize("name", list(BAD_FILES))
def test_bad_files_are_refused_and_nothing_is_written(uploads, name):
    with pytest.raises(PhotoError) as inspected:
        inspect_photo(BAD_FILES[name])
    with pytest.raises(PhotoError) as caught:
        store_photo(BAD_FILES[name], uploads)

    assert inspected.value.code == caught.value.code == EXPECTED_CODE[name]
    assert isinstance(caught.value, ValueError)
    assert files_under(uploads) == []


def test_gif_is_refused_as_gif():
    with pytest.raises(PhotoError) as caught:
        inspect_photo(encode(Image.new("RGB", (10, 10)), "GIF"))
    assert caught.value.code == "unsupported_type"
    assert "GIF" in str(caught.value)


def test_every_code_has_its_own_english_message(app):
    errors = [PhotoError("empty"), PhotoError("not_image"), PhotoError("unsupported_type", format="GIF"),
              PhotoError("truncated"), PhotoError("too_large", size=16, limit=15),
              PhotoError("too_many_pixels", limit=40), PhotoError("heif_unsupported")]
    assert [e.code for e in errors] == list(PhotoError.CODES)
    with app.test_request_context(), force_locale("en"):
        messages = [str(error) for error in errors]
    assert len(set(messages)) == len(messages)
    assert messages[0].startswith("The file is empty")
    assert messages[1].startswith("This file is not a photo")
    assert "(GIF)" in messages[2]
    assert "incomplete or damaged" in messages[3]
    assert "16 MB" in messages[4] and "15 MB" in messages[4]
    assert "40 megapixels" in messages[5]
    assert "HEIC" in messages[6]
    assert all("%(" not in message for message in messages)


def test_messages_are_localized_when_shown(app):
    """The message is looked up when shown, in the locale of that moment."""
    errors = [PhotoError(code, **params) for code, params in [
        ("empty", {}), ("not_image", {}), ("unsupported_type", {"format": "GIF"}), ("truncated", {}),
        ("too_large", {"size": 16, "limit": 15}), ("too_many_pixels", {"limit": 40}),
        ("heif_unsupported", {})]]
    with app.test_request_context():
        with force_locale("en"):
            english = [str(error) for error in errors]
        with force_locale("vi"):
            vietnamese = [str(error) for error in errors]
    assert len(set(vietnamese)) == len(vietnamese)
    assert all(vi != en for vi, en in zip(vietnamese, english))
    assert vietnamese[0].startswith("Tệp rỗng")
    assert "GIF" in vietnamese[2] and "16 MB" in vietnamese[4] and "15 MB" in vietnamese[4]
    assert "40" in vietnamese[5]


def test_unknown_code_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown photo error code"):
        PhotoError("nope")
