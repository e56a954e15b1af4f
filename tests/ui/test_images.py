"""images/: every SVG has a current PNG; pictograms are white on transparent."""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import io
import json
from pathlib import Path

import pytest

Image = pytest.importorskip("PIL.Image", reason="Pillow comes with cairosvg (dev dependency)")
from PIL import ImageChops  # noqa: E402
pytest.importorskip("cairosvg", reason="cairosvg is a dev dependency (tools/setup installs it)")

ROOT = Path(__file__).resolve().parents[2]
IMAGES = ROOT / "images"
PNG_DIR = IMAGES / "png"
PICTOGRAMS = ("qr", "keypad", "door", "card", "help", "accessibility", "language", "speaker",
              "contrast", "text-size", "reach", "warning", "check", "clock", "back", "back-rtl", "camera",
              "person")
COLOURED = ("logo", "box-schematic")


def load_tool():
    """tools/render-images, imported as a module (it has no .py suffix)."""
    path = ROOT / "tools" / "render-images"
    loader = importlib.machinery.SourceFileLoader("render_images", str(path))
    spec = importlib.util.spec_from_loader("render_images", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


tool = load_tool()


def pixels(image: "Image.Image") -> list[bytes]:
    data = image.tobytes()
    return [data[i:i + 4] for i in range(0, len(data), 4)]


def rgba(data: bytes) -> "Image.Image":
    image = Image.open(io.BytesIO(data))
    assert image.mode == "RGBA", f"PNG without alpha ({image.mode})"
    return image


def test_the_expected_images_exist() -> None:
    names = {p.stem for p in IMAGES.glob("*.svg")}
    assert names == set(PICTOGRAMS) | set(COLOURED)
    assert {p.stem for p in PNG_DIR.glob("*.png")} == names, "a PNG without its SVG, or missing"


def test_the_schematic_is_generated_from_the_demo_box() -> None:
    expected = tool.schematic_svg(tool.load_box(tool.DEMO_BOX))
    assert (IMAGES / "box-schematic.svg").read_text() == expected, \
        "images/box-schematic.svg is stale: run tools/render-images"
    for number in range(1, 21):
        assert f'id="compartment-{number}"' in expected


def test_the_manifest_matches_every_svg_and_png() -> None:
    manifest = json.loads((PNG_DIR / "manifest.json").read_text())
    for svg in IMAGES.glob("*.svg"):
        entry = manifest[svg.stem]
        assert entry["svg_sha256"] == hashlib.sha256(svg.read_bytes()).hexdigest(), \
            f"{svg.name} changed since its PNG was made: run tools/render-images"
        png = PNG_DIR / f"{svg.stem}.png"
        assert entry["png_sha256"] == hashlib.sha256(png.read_bytes()).hexdigest(), \
            f"{png.name} was not made by tools/render-images"


@pytest.mark.parametrize("name", PICTOGRAMS + COLOURED)
def test_rendering_again_gives_the_committed_pixels(name: str) -> None:
    # Not byte equality: another cairo or zlib may encode or anti-alias a
    # little differently. A changed drawing moves far more than that.
    committed = rgba((PNG_DIR / f"{name}.png").read_bytes())
    fresh = rgba(tool.render_png(IMAGES / f"{name}.svg"))
    assert fresh.size == committed.size
    histogram = ImageChops.difference(fresh, committed).histogram()  # 4 bands x 256
    changed = sum(n for i, n in enumerate(histogram) if i % 256 > 16) / sum(histogram)
    assert changed < 0.002, f"{name}.png differs from its SVG in {changed:.1%} of samples"


@pytest.mark.parametrize("name", PICTOGRAMS)
def test_pictograms_are_white_on_transparent(name: str) -> None:
    image = rgba((PNG_DIR / f"{name}.png").read_bytes())
    assert image.size == (256, 256)
    every = pixels(image)
    drawn = [p for p in every if p[3] > 0]
    assert all(min(p[:3]) >= 250 for p in drawn), "a pictogram pixel that is not white"
    assert 0.03 < len(drawn) / len(every) < 0.6, "pictogram empty, or not on transparent"
    assert every[0][3] == 0, "the corner must be transparent"


def test_the_logo_has_colour() -> None:
    image = rgba((PNG_DIR / "logo.png").read_bytes())
    assert image.size == (256, 256)
    assert any(max(p[:3]) - min(p[:3]) > 80 for p in pixels(image) if p[3] == 255)
