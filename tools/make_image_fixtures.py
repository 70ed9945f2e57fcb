#!/usr/bin/env python3
"""Image-decoding fixtures: small JPEG and PNG files covering every layout the decoder handles, each
with Pillow's decoded pixels (`Image.open(f).convert("RGB")`, as torchvision's ImageFolder loader does)
as a (height, width, 3) uint8 .npy next to it; the two scikit-learn photos; and hostile files.

    /work/venv/bin/python tools/make_image_fixtures.py

Writes fixtures/images/decode/ (small cases, `NAME.png|jpg` + `NAME.npy`, and `NAME.apply.npy` where the
file has an EXIF orientation: Pillow's `ImageOps.exif_transpose`), fixtures/images/photos/ (china.jpg,
flower.jpg as scikit-learn ships them + .npy), fixtures/images/hostile/ (files Pillow refuses, listed
with Pillow's error in hostile.json), fixtures/images/divergent/ (files Pillow decodes and this decoder
refuses, with the reason in divergent.json), the FuzzImage seeds in fixtures/fuzz/FuzzImage/ and fixtures/images/versions.json (Pillow's and its libjpeg-turbo's
versions: decoded JPEG pixels depend on the IDCT/upsampling code of the library that decodes them).

PNGs are written by a small encoder here (not Pillow's) so that every colour type, bit depth, filter
type and Adam7 interlacing appears; JPEGs by Pillow, except YCCK (which Pillow cannot write) through
the system libjpeg-turbo's TurboJPEG API via ctypes. Deterministic: fixed seeds.
"""
import ctypes
import ctypes.util
import io
import json
import re
import shutil
import struct
import zlib
from pathlib import Path

import numpy as np
import PIL
import sklearn.datasets
from PIL import Image, ImageOps, features

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "fixtures" / "images"
DECODE = OUT / "decode"
PHOTOS = OUT / "photos"
HOSTILE = OUT / "hostile"
DIVERGENT = OUT / "divergent"
rng = np.random.default_rng(14)


# ---- PNG writer -------------------------------------------------------------------------------

def chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else (b if pb <= pc else c)


def filter_rows(rows, bpp):
    """Each row filtered with type (row index % 5), so the decoder's five unfilters all run."""
    out = bytearray()
    previous = bytes(len(rows[0])) if rows else b""
    for index, row in enumerate(rows):
        kind = index % 5
        line = bytearray()
        for i, x in enumerate(row):
            a = row[i - bpp] if i >= bpp else 0
            b = previous[i]
            c = previous[i - bpp] if i >= bpp else 0
            predictor = [0, a, b, (a + b) // 2, paeth(a, b, c)][kind]
            line.append((x - predictor) & 0xFF)
        out += bytes([kind]) + line
        previous = row
    return bytes(out)


def pack_row(samples, depth):
    """One row of samples (a flat list of ints) as PNG stores it: big-endian 16-bit, MSB-first sub-byte."""
    if depth == 16:
        return b"".join(struct.pack(">H", int(s)) for s in samples)
    if depth == 8:
        return bytes(int(s) for s in samples)
    out, bits, acc = bytearray(), 0, 0
    for s in samples:
        acc = acc << depth | int(s)
        bits += depth
        if bits == 8:
            out.append(acc)
            bits, acc = 0, 0
    if bits:
        out.append(acc << (8 - bits))
    return bytes(out)


ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def png(samples, colour_type, depth, palette=None, trns=None, interlace=False, exif=None):
    """samples: (h, w, channels) integer array in the file's sample range."""
    h, w, channels = samples.shape
    bpp = max(1, channels * depth // 8)
    if interlace:
        data = b""
        for x0, y0, dx, dy in ADAM7:
            sub = samples[y0::dy, x0::dx]
            if sub.shape[0] and sub.shape[1]:
                data += filter_rows([pack_row(r.reshape(-1), depth) for r in sub], bpp)
    else:
        data = filter_rows([pack_row(r.reshape(-1), depth) for r in samples], bpp)
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, colour_type, 0, 0, int(interlace)))
    if palette is not None:
        out += chunk(b"PLTE", bytes(np.asarray(palette, dtype=np.uint8).reshape(-1)))
    if trns is not None:
        out += chunk(b"tRNS", trns)
    if exif is not None:
        out += chunk(b"eXIf", exif)
    compressed = zlib.compress(data, 9)
    half = len(compressed) // 2   # two IDAT chunks: the decoder must join them
    return out + chunk(b"IDAT", compressed[:half]) + chunk(b"IDAT", compressed[half:]) + chunk(b"IEND", b"")


def tiff_orientation(value, little=True):
    """A TIFF-structured EXIF block whose IFD0 holds only Orientation (SHORT)."""
    e = "<" if little else ">"
    return (b"II*\x00" if little else b"MM\x00*") + struct.pack(e + "I", 8) + struct.pack(e + "H", 1) + \
        struct.pack(e + "HHIHH", 0x0112, 3, 1, value, 0) + struct.pack(e + "I", 0)


# ---- reference ---------------------------------------------------------------------------------

def pillow_rgb(data):
    with Image.open(io.BytesIO(data)) as im:
        return np.ascontiguousarray(np.asarray(im.convert("RGB")))


def pillow_rgb_upright(data):
    with Image.open(io.BytesIO(data)) as im:
        return np.ascontiguousarray(np.asarray(ImageOps.exif_transpose(im).convert("RGB")))


def pillow_mode(data):
    with Image.open(io.BytesIO(data)) as im:
        return im.mode


manifest = {}


def write_case(name, data, folder=DECODE, orientation=False):
    path = folder / name
    stem = path.name.rsplit(".", 1)[0]
    assert not (folder / f"{stem}.npy").exists(), f"two cases named {stem}"
    path.write_bytes(data)
    np.save(folder / f"{stem}.npy", pillow_rgb(data))
    if orientation:
        np.save(folder / f"{stem}.apply.npy", pillow_rgb_upright(data))
    manifest[name] = pillow_mode(data)


def noise(h, w, c, high):
    return rng.integers(0, high, size=(h, w, c), endpoint=True)


def gradient16(h, w, c):
    """16-bit samples covering 0–65535, including the values where Pillow's reductions differ
    (0–255, 256, 32767, 65535)."""
    base = noise(h, w, c, 65535)
    flat = base.reshape(-1)
    special = [0, 1, 127, 128, 255, 256, 257, 1000, 32767, 32768, 65280, 65534, 65535]
    flat[:len(special)] = special
    flat[len(special):2 * len(special)] = rng.integers(0, 256, size=len(special))
    return base


def make_png_cases():
    h, w = 7, 13   # odd sizes: sub-byte rows end mid-byte, Adam7 passes are uneven
    for depth in (1, 2, 4, 8):
        write_case(f"grey{depth}.png", png(noise(h, w, 1, 2 ** depth - 1), 0, depth))
    write_case("grey16.png", png(gradient16(h, w, 1), 0, 16))
    write_case("grey16-trns.png", png(gradient16(h, w, 1), 0, 16, trns=struct.pack(">H", 300)))
    write_case("grey8-trns.png", png(noise(h, w, 1, 255), 0, 8, trns=struct.pack(">H", 7)))
    write_case("grey2-interlaced.png", png(noise(h + 4, w + 4, 1, 3), 0, 2, interlace=True))
    write_case("greyalpha8.png", png(noise(h, w, 2, 255), 4, 8))
    write_case("greyalpha16.png", png(gradient16(h, w, 2), 4, 16))
    write_case("rgb8.png", png(noise(h, w, 3, 255), 2, 8))
    write_case("rgb16.png", png(gradient16(h, w, 3), 2, 16))
    write_case("rgb8-trns.png", png(noise(h, w, 3, 255), 2, 8, trns=struct.pack(">HHH", 1, 2, 3)))
    write_case("rgb8-interlaced.png", png(noise(h + 4, w + 4, 3, 255), 2, 8, interlace=True))
    write_case("rgb16-interlaced.png", png(gradient16(h + 4, w + 4, 3), 2, 16, interlace=True))
    write_case("rgba8.png", png(noise(h, w, 4, 255), 6, 8))
    write_case("rgba16.png", png(gradient16(h, w, 4), 6, 16))
    for depth in (1, 2, 4, 8):
        entries = 2 ** depth
        palette = noise(entries, 1, 3, 255).reshape(entries, 3)
        write_case(f"palette{depth}.png", png(noise(h, w, 1, entries - 1), 3, depth, palette=palette))
    palette = noise(16, 1, 3, 255).reshape(16, 3)
    write_case("palette8-trns.png", png(noise(h, w, 1, 15), 3, 8, palette=palette,
                                        trns=bytes(rng.integers(0, 256, size=16, dtype=np.uint8))))
    write_case("palette4-interlaced.png", png(noise(h + 4, w + 4, 1, 15), 3, 4, palette=palette, interlace=True))
    # Indices past a short palette: what Pillow shows for them (it does not refuse the file).
    write_case("palette8-short.png", png(noise(h, w, 1, 40), 3, 8, palette=palette))
    write_case("exif6-png.png", png(noise(h, w, 3, 255), 2, 8, exif=tiff_orientation(6, little=False)), orientation=True)
    # Decided by content: a PNG named .jpg decodes as the PNG it is.
    write_case("png-named.jpg", (DECODE / "rgb8.png").read_bytes())


def smooth_photo(h, w):
    """Something JPEG-like to compress: gradients and a few edges (noise would make every block a
    worst case and say nothing about upsampling)."""
    y, x = np.mgrid[0:h, 0:w]
    r = (128 + 100 * np.sin(x / 5.0) * np.cos(y / 7.0))
    g = (x * 255.0 / max(w - 1, 1))
    b = ((x // 6 + y // 6) % 2) * 200 + 30
    return np.clip(np.stack([r, g, b], axis=-1) + rng.normal(0, 6, size=(h, w, 3)), 0, 255).astype(np.uint8)


def jpeg(array, mode="RGB", **options):
    buffer = io.BytesIO()
    Image.fromarray(array).convert(mode).save(buffer, "JPEG", **options)
    return buffer.getvalue()


TJPF_RGB, TJPF_CMYK = 0, 11
TJSAMP_420, TJSAMP_440, TJSAMP_411 = 2, 4, 5


def turbojpeg(pixels, pixel_format, subsampling):
    """A JPEG through the system libjpeg-turbo's TurboJPEG API, for what Pillow cannot write: YCCK
    (TurboJPEG compresses CMYK input as YCCK, as Photoshop does) and 4:4:0 / 4:1:1 subsampling."""
    lib = ctypes.CDLL(ctypes.util.find_library("turbojpeg") or "libturbojpeg.so.0")
    lib.tjInitCompress.restype = ctypes.c_void_p
    lib.tjCompress2.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                                ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_ulong), ctypes.c_int,
                                ctypes.c_int, ctypes.c_int]
    lib.tjFree.argtypes = [ctypes.c_void_p]
    lib.tjDestroy.argtypes = [ctypes.c_void_p]
    handle = lib.tjInitCompress()
    h, w, _ = pixels.shape
    out, size = ctypes.c_void_p(), ctypes.c_ulong(0)
    status = lib.tjCompress2(handle, np.ascontiguousarray(pixels).tobytes(), w, 0, h, pixel_format, ctypes.byref(out),
                             ctypes.byref(size), subsampling, 90, 0)
    assert status == 0, "tjCompress2 failed"
    data = ctypes.string_at(out, size.value)
    lib.tjFree(out)
    lib.tjDestroy(handle)
    return data


def exif_with_orientation(value):
    exif = Image.Exif()
    exif[0x0112] = value
    return exif.tobytes()


def make_jpeg_cases():
    picture = smooth_photo(37, 53)   # not multiples of 8 or 16: partial MCUs, edge upsampling
    write_case("baseline-420.jpg", jpeg(picture, quality=90))
    write_case("baseline-422.jpg", jpeg(picture, quality=90, subsampling="4:2:2"))
    write_case("baseline-444.jpg", jpeg(picture, quality=95, subsampling="4:4:4"))
    write_case("baseline-q30-optimized.jpg", jpeg(picture, quality=30, optimize=True))
    write_case("progressive-420.jpg", jpeg(picture, quality=85, progressive=True))
    write_case("progressive-444.jpg", jpeg(picture, quality=85, progressive=True, subsampling="4:4:4"))
    write_case("grey.jpg", jpeg(picture, mode="L", quality=90))
    write_case("grey-progressive.jpg", jpeg(picture, mode="L", quality=90, progressive=True))
    cmyk = np.asarray(Image.fromarray(picture).convert("CMYK")).copy()
    cmyk[..., 3] = (np.arange(cmyk.shape[1]) * 4 % 256)[None, :]   # some black, so K matters
    buffer = io.BytesIO()
    Image.fromarray(cmyk, "CMYK").save(buffer, "JPEG", quality=90)
    write_case("cmyk.jpg", buffer.getvalue())
    write_case("ycck.jpg", turbojpeg(cmyk, TJPF_CMYK, TJSAMP_420))
    write_case("baseline-440.jpg", turbojpeg(picture, TJPF_RGB, TJSAMP_440))
    write_case("baseline-411.jpg", turbojpeg(picture, TJPF_RGB, TJSAMP_411))
    write_case("restart-markers.jpg", jpeg(picture, quality=90, restart_marker_blocks=2))
    # A flipped bit inside the entropy-coded data of a complete file: libjpeg warns and decodes on,
    # and so does Pillow; the garbage it decodes is part of the comparison.
    data = bytearray((DECODE / "baseline-420.jpg").read_bytes())
    scan = data.index(b"\xff\xda")
    target = scan + 40 + next(i for i in range(100) if data[scan + 40 + i] not in (0xFF, 0xFE, 0x00))
    data[target] ^= 0x10
    write_case("corrupt-entropy.jpg", bytes(data))
    # Junk bytes between header segments (libjpeg warns "extraneous bytes before marker"; Pillow's
    # marker parser skips them), before the EXIF segment so its orientation must still be found.
    data = jpeg(picture[:, :29], quality=90, exif=exif_with_orientation(8))
    first_end = 4 + struct.unpack(">H", data[4:6])[0]   # after SOI and the first segment (APP0)
    write_case("junk-before-marker.jpg", data[:first_end] + b"\x00\x13\x37" + data[first_end:], orientation=True)
    for value in range(1, 9):
        write_case(f"exif{value}.jpg", jpeg(picture[:, :29], quality=90, exif=exif_with_orientation(value)),
                   orientation=True)


def make_photos():
    source = Path(sklearn.datasets.__file__).parent / "images"
    for name in ("china.jpg", "flower.jpg"):
        data = (source / name).read_bytes()
        write_case(name, data, folder=PHOTOS)
    shutil.copy(source / "README.txt", PHOTOS / "README.txt")   # licence and attribution


divergent = {}


def write_divergent(name, data, refusal, reason):
    """A file Pillow decodes and this decoder knowingly refuses: Pillow's pixels are kept next to it,
    divergent.json records the refusal the test expects and why."""
    write_case(name, data, folder=DIVERGENT)
    divergent[name] = {"refusal": refusal, "reason": reason}
    (DIVERGENT / "divergent.json").write_text(json.dumps(divergent, indent=1, sort_keys=True) + "\n")


def png_chunks(data):
    """A PNG's chunks as whole byte strings (length, type, body, CRC)."""
    pos, chunks = 8, []
    while pos < len(data):
        length = struct.unpack(">I", data[pos:pos + 4])[0]
        chunks.append(data[pos:pos + 12 + length])
        pos += 12 + length
    return chunks


def bad_crc(whole_chunk):
    return whole_chunk[:-1] + bytes([whole_chunk[-1] ^ 1])


def make_damaged_pngs():
    """Damage Pillow decodes through: it checks no CRC from the first IDAT on and needs no IEND."""
    data = (DECODE / "rgb8.png").read_bytes()
    chunks = png_chunks(data)   # IHDR, IDAT, IDAT, IEND
    text = chunk(b"tEXt", b"Comment\x00made by make_image_fixtures.py")
    write_divergent("idat-bad-crc.png", data[:8] + chunks[0] + bad_crc(chunks[1]) + b"".join(chunks[2:]),
                    "invalid chunk checksum",
                    "libspng checks the CRC of every critical chunk (IDAT included) and has no per-chunk switch; "
                    "turning critical CRCs off would also turn off the zlib Adler-32 check, which Pillow does apply")
    write_case("text-bad-crc-after-idat.png", data[:8] + b"".join(chunks[:-1]) + bad_crc(text) + chunks[-1])
    write_case("no-iend.png", data[:8] + b"".join(chunks[:-1]))
    # Colour information Pillow reads into .info and never applies to the pixels (nor does libspng
    # unless asked): gamma 1/2.2, sRGB primaries, 5 significant bits per channel.
    colour = chunk(b"gAMA", struct.pack(">I", 45455)) + \
        chunk(b"cHRM", struct.pack(">8I", 31270, 32900, 64000, 33000, 30000, 60000, 15000, 6000)) + \
        chunk(b"sBIT", bytes([5, 5, 5]))
    write_case("rgb8-gamma-sbit.png", data[:8] + chunks[0] + colour + b"".join(chunks[1:]))


def make_odd_sampling_jpeg():
    """Chroma sampled 2×1 under a 1×1 luma (the baseline 4:4:4 file's Cb factors patched): legal
    JPEG, decoded by Pillow (with garbage pixels, the data was written for 1×1)."""
    data = bytearray((DECODE / "baseline-444.jpg").read_bytes())
    sof = data.index(b"\xff\xc0")
    data[sof + 10 + 3 + 1] = 0x21
    write_divergent("odd-sampling.jpg", bytes(data), "Could not determine subsampling type",
                    "the TurboJPEG API of libjpeg-turbo 2.1 (Debian 12) refuses sampling factors outside 4:4:4, "
                    "4:2:2, 4:2:0, 4:4:0, 4:1:1 and grey; TurboJPEG 3 (TJSAMP_UNKNOWN) would decode it")


def make_hostile():
    """Files to refuse. Each is checked here to be refused by Pillow as well (hostile.json records
    Pillow's error); the Swift tests check the decoder refuses each with one line naming it."""
    refused = {}
    rgb = (DECODE / "rgb8.png").read_bytes()
    baseline = (DECODE / "baseline-420.jpg").read_bytes()
    progressive = (DECODE / "progressive-420.jpg").read_bytes()
    cases = {
        "truncated-half.png": rgb[: len(rgb) // 2],
        "truncated-header.png": rgb[:20],
        "truncated-half.jpg": baseline[: len(baseline) // 2],
        "truncated-progressive.jpg": progressive[: len(progressive) * 2 // 3],
        "truncated-header.jpg": baseline[:30],
        # A flipped byte inside IDAT: the chunk's CRC no longer matches.
        "bad-crc.png": rgb[:60] + bytes([rgb[60] ^ 0xFF]) + rgb[61:],
        "signature-only.png": rgb[:8],
        # Pillow checks the CRC of every chunk before the first IDAT.
        "text-bad-crc-before-idat.png": rgb[:33] + bad_crc(chunk(b"tEXt", b"Comment\x00hello")) + rgb[33:],
        "soi-only.jpg": b"\xff\xd8\xff",
        "empty.png": b"",
        "text.png": b"this is not an image\n",
    }
    for name, data in cases.items():
        try:
            pillow_rgb(data)
        except Exception as error:  # noqa: BLE001 - any refusal is what we want recorded
            refused[name] = re.sub(r" <[^>]*>", "", f"{type(error).__name__}: {error}")
        else:
            raise SystemExit(f"Pillow decodes {name}: not a hostile case")
        (HOSTILE / name).write_bytes(data)
    (HOSTILE / "hostile.json").write_text(json.dumps(refused, indent=1, sort_keys=True) + "\n")


def make_fuzz_seeds():
    """Seeds for fuzz/Sources/FuzzImage: every small case and hostile file (the photos are too large
    to mutate quickly). Regression seeds (crash-*, regression-* …) in that folder are kept."""
    folder = ROOT / "fixtures" / "fuzz" / "FuzzImage"
    folder.mkdir(parents=True, exist_ok=True)
    for path in folder.iterdir():
        if not path.name.startswith(("crash-", "regression-", "leak-", "timeout-", "oom-")):
            path.unlink()
    for source in sorted(DECODE.iterdir()) + sorted(HOSTILE.iterdir()) + sorted(DIVERGENT.iterdir()):
        if source.suffix in (".png", ".jpg") and source.stat().st_size:
            shutil.copy(source, folder / f"{source.parent.name}-{source.name}")


def main():
    for folder in (DECODE, PHOTOS, HOSTILE, DIVERGENT):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    make_png_cases()
    make_jpeg_cases()
    make_damaged_pngs()
    make_odd_sampling_jpeg()
    make_photos()
    make_hostile()
    make_fuzz_seeds()
    versions = {"Pillow": PIL.__version__, "libjpeg_turbo": features.version("libjpeg_turbo"),
                "zlib": features.version("zlib"), "modes": manifest}
    (OUT / "versions.json").write_text(json.dumps(versions, indent=1, sort_keys=True) + "\n")
    print(json.dumps(versions, indent=1))


if __name__ == "__main__":
    main()
