"""Benchmark of the photo pipeline (hpsmart.services.photos.store_photo); run on demand.

    python bench/bench_photos.py [--photos 3] [--repeat 5] [--heic] [--workdir DIR]

Generates typical phone photos (4032x3024 = 12.2 MP JPEGs of 3-4 MB, with camera
EXIF, GPS and Orientation=6; blurred noise so they do not compress small), then
runs each scenario in a fresh Python process so that its peak resident memory
(``ru_maxrss``) is its own:

- ``baseline``: plain Pillow on one photo: open, full decode, re-encode as JPEG
  quality 85 at full size;
- ``pipeline``: ``store_photo`` on every photo, one after the other (what one
  request with that many photos costs in one worker);
- ``inspect-then-store``: ``inspect_photo`` on every photo (form validation), then
  ``store_photo`` on every photo, as the intake service does;
- ``pipeline-2-threads``: ``pipeline`` with two threads (Pillow releases the GIL while
  decoding, resizing and encoding);
- ``pipeline-heic`` (with ``--heic``): ``store_photo`` on the same pictures as HEIC,
  as an iPhone sends them (HEVC decoding has no reduced-size mode, so it costs more).

For each it prints wall time (seconds); the peak resident set during the scenario
(MB, Linux ``VmHWM`` after resetting it through /proc/self/clear_refs) and how
much the scenario added to the process with the photo bytes already read; the
process's ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` (MB); and the peak of
Python-level allocations (MB, ``tracemalloc``; Pillow's pixel buffers are
allocated in C and do not show there, so RSS is the figure that matters).
Times are wall-clock on this machine; nothing here is asserted.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PHONE_SIZE = (4032, 3024)  # px, a 12-MP phone camera
MB = 1024 * 1024


def make_phone_photo(seed: int) -> bytes:
    """A 12-MP JPEG of 3-4 MB with EXIF (make, model, serial, GPS, Orientation=6)."""
    from PIL import Image, ImageFilter

    rng = random.Random(seed)
    width, height = PHONE_SIZE
    noise = Image.frombytes("RGB", PHONE_SIZE, rng.randbytes(width * height * 3))
    noise = noise.filter(ImageFilter.GaussianBlur(0.6))
    base = Image.linear_gradient("L").resize(PHONE_SIZE).convert("RGB")
    tint = Image.new("RGB", PHONE_SIZE, (rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    picture = Image.blend(Image.blend(base, tint, 0.4), noise, 0.35)
    exif = Image.Exif()
    exif[0x010F] = "Apple"  # Make
    exif[0x0110] = "iPhone 13"  # Model
    exif[0x0112] = 6  # Orientation: rotate 90 CW to view
    exif[0xA431] = "SERIAL123456789"  # BodySerialNumber
    exif[0x8825] = {1: "N", 2: (20.0, 51.0, 36.0), 3: "E", 4: (106.0, 41.0, 1.0)}  # GPS: Hai Phong
    out = io.BytesIO()
    picture.save(out, format="JPEG", quality=86, exif=exif.tobytes())
    return out.getvalue()


def make_phone_heic(jpeg: bytes) -> bytes:
    """The same picture as an iPhone-style HEIC (12 MP, x265 "ultrafast" so generating is bearable)."""
    import pillow_heif
    from PIL import Image

    with Image.open(io.BytesIO(jpeg)) as img:
        img.load()
        heif = pillow_heif.from_pillow(img)
    out = io.BytesIO()
    heif.save(out, quality=50, enc_params={"preset": "ultrafast"})
    return out.getvalue()


def _maxrss_mb() -> float:
    """Peak resident set of this process so far, MB (Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _status_mb(field: str) -> float | None:
    """``VmRSS`` / ``VmHWM`` of this process from /proc, MB (None where /proc is missing)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _reset_peak() -> bool:
    """Reset the kernel's resident high-water mark (VmHWM) to the current RSS (Linux >= 4.0)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def child(scenario: str, workdir: Path, count: int, repeat: int) -> dict:
    """Run one scenario ``repeat`` times in this process; returns its figures (the best and
    the median time: other work on the machine only ever makes a run slower)."""
    from PIL import Image

    from hpsmart.services.photos import inspect_photo, store_photo

    pattern = "phone-*.heic" if scenario == "pipeline-heic" else "phone-*.jpg"
    files = sorted(workdir.glob(pattern))[:count]
    blobs = [path.read_bytes() for path in files]
    upload_root = Path(tempfile.mkdtemp(prefix="uploads-", dir=workdir))
    rss_before = _status_mb("VmRSS") or _maxrss_mb()
    peak_reset = _reset_peak()
    tracemalloc.start()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        if scenario == "baseline":
            with Image.open(io.BytesIO(blobs[0])) as img:
                img.load()
                out = io.BytesIO()
                img.save(out, format="JPEG", quality=85)
            processed = 1
        elif scenario in ("pipeline", "pipeline-heic"):
            for blob in blobs:
                store_photo(blob, upload_root)
            processed = len(blobs)
        elif scenario == "inspect-then-store":
            for blob in blobs:
                inspect_photo(blob)
            for blob in blobs:
                store_photo(blob, upload_root)
            processed = len(blobs)
        elif scenario == "pipeline-2-threads":
            with ThreadPoolExecutor(max_workers=2) as pool:
                list(pool.map(lambda blob: store_photo(blob, upload_root), blobs))
            processed = len(blobs)
        else:
            raise SystemExit(f"unknown scenario {scenario}")
        times.append(time.perf_counter() - started)
    _, py_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    shutil.rmtree(upload_root)
    peak = (_status_mb("VmHWM") if peak_reset else None) or _maxrss_mb()
    return {"scenario": scenario, "photos": processed, "seconds": round(min(times), 3),
            "median_seconds": round(statistics.median(times), 3),
            "rss_peak_mb": round(peak, 1), "rss_added_mb": round(peak - rss_before, 1),
            "maxrss_mb": round(_maxrss_mb(), 1),
            "python_peak_mb": round(py_peak / MB, 1),
            "input_mb": [round(len(b) / MB, 2) for b in blobs[:processed]]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=int, default=3, help="photos per request (default 3)")
    parser.add_argument("--workdir", type=Path, default=None, help="where to put generated photos")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each scenario (default 5)")
    parser.add_argument("--heic", action="store_true",
                        help="also the same photos as HEIC (slow to generate the first time)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.gettempdir()) / "hpsmart-bench-photos"
    workdir.mkdir(parents=True, exist_ok=True)
    if args.child in ("generate", "generate-heic"):
        for index in range(args.photos):
            path = workdir / f"phone-{index}.jpg"
            if not path.exists():
                path.write_bytes(make_phone_photo(index))
            heic = path.with_suffix(".heic")
            if args.child == "generate-heic" and not heic.exists():
                heic.write_bytes(make_phone_heic(path.read_bytes()))
        return
    if args.child:
        print(json.dumps(child(args.child, workdir, args.photos, args.repeat)))
        return
    # Every step runs in its own process: generating the photos would otherwise raise
    # the parent's peak, which its children's ru_maxrss would inherit.
    _run_child("generate-heic" if args.heic else "generate", workdir, args.photos, args.repeat)
    from PIL import features

    print(f"python {sys.version.split()[0]}, Pillow {features.version('pil')}, "
          f"libjpeg-turbo {features.version('libjpeg_turbo')}, {os.cpu_count()} CPUs")
    print(f"{'scenario':<20} {'photos':>6} {'best s':>7} {'median s':>8} {'RSS peak MB':>12} {'added MB':>9} "
          f"{'ru_maxrss MB':>13} {'py peak MB':>11}  input MB")
    scenarios = ["baseline", "pipeline", "inspect-then-store", "pipeline-2-threads"]
    scenarios += ["pipeline-heic"] if args.heic else []
    for scenario in scenarios:
        row = json.loads(_run_child(scenario, workdir, args.photos, args.repeat).strip().splitlines()[-1])
        print(f"{row['scenario']:<20} {row['photos']:>6} {row['seconds']:>7.3f} "
              f"{row['median_seconds']:>8.3f} {row['rss_peak_mb']:>12.1f} {row['rss_added_mb']:>9.1f} "
              f"{row['maxrss_mb']:>13.1f} {row['python_peak_mb']:>11.1f}  {row['input_mb']}")
    print("RSS peak: the process's high-water mark during the scenario (VmHWM after a reset);\n"
          "added: over the process with Python, Pillow, hpsmart and the photo bytes loaded.\n"
          "Uploads written under the work directory are removed after each scenario.")


def _run_child(step: str, workdir: Path, photos: int, repeat: int) -> str:
    """Run ``step`` in a fresh interpreter and return what it printed."""
    result = subprocess.run([sys.executable, __file__, "--child", step, "--workdir", str(workdir),
                             "--photos", str(photos), "--repeat", str(repeat)],
                            check=True, capture_output=True, text=True)
    return result.stdout


if __name__ == "__main__":
    main()
