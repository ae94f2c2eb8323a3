"""/score and /score/files apply the ingest checks (formats, pixels before decoding, text
length) and cap their inputs, saying which limit was hit. No model is needed: inputs are
checked before one is loaded."""

import base64
import io

from PIL import Image

from tests.api.test_uploads import png, project


def _encoded(image: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


def test_pixel_limit_is_the_ingest_setting_and_checked_before_decoding(client, owner, monkeypatch):
    from filament.core.settings import get_settings

    pid = project(client, owner)
    # 9000 x 9000 = 81 Mpx: over the 50 Mpx ingest setting, under Pillow's own bomb limit
    large = _encoded(Image.new("1", (9000, 9000)), "PNG")
    # cut after the header (decoding would fail differently): refused from the header alone,
    # also past Pillow's own bomb limit (30000 x 30000)
    huge = _encoded(Image.new("1", (30000, 30000)), "PNG")
    headers_only = [data[: data.index(b"IDAT") + 20] for data in (large, huge)]
    for data in (large, *headers_only):
        refused = client.post(
            f"/api/v1/projects/{pid}/score",
            headers=owner,
            json={"type": "images", "data": [base64.b64encode(data).decode()]},
        )
        assert refused.status_code == 422, refused.text
        assert "FILAMENT_MAX_IMAGE_PIXELS" in refused.json()["detail"]
    assert Image.MAX_IMAGE_PIXELS == 89_478_485  # Pillow's default, not raised
    monkeypatch.setenv("FILAMENT_MAX_IMAGE_PIXELS", "100")
    get_settings.cache_clear()
    small = client.post(
        f"/api/v1/projects/{pid}/score/files",
        headers=owner,
        files=[("files", ("a.png", png((1, 2, 3), size=16)))],
    )
    assert small.status_code == 422 and "16x16 pixels is over the limit of 100" in small.text


def test_only_ingest_formats_are_scored(client, owner):
    pid = project(client, owner)
    image = Image.new("RGB", (8, 8))
    for fmt in ("TIFF", "ICO", "PPM"):  # Pillow reads these; ingest does not take them
        refused = client.post(
            f"/api/v1/projects/{pid}/score/files",
            headers=owner,
            files=[("files", (f"x.{fmt.lower()}", _encoded(image, fmt)))],
        )
        assert refused.status_code == 422, (fmt, refused.text)
        assert "not an image" in refused.json()["detail"]


def test_input_counts_and_text_length_are_capped(client, owner):
    pid = project(client, owner)
    many = [("files", (f"{n}.png", png((n % 255, 0, 0), size=4))) for n in range(257)]
    refused = client.post(f"/api/v1/projects/{pid}/score/files", headers=owner, files=many)
    assert refused.status_code == 422 and "At most 256 images" in refused.json()["detail"]
    text_pid = project(client, owner, task="text_classification", labels=("neg", "pos"))
    too_long = client.post(
        f"/api/v1/projects/{text_pid}/score",
        headers=owner,
        json={"type": "text", "texts": ["fine", "x" * 100_001]},
    )
    assert too_long.status_code == 422
    assert too_long.json()["detail"].startswith("texts[1]: text longer than 100,000 characters")
    too_many = client.post(
        f"/api/v1/projects/{text_pid}/score",
        headers=owner,
        json={"type": "text", "texts": ["a"] * 1001},
    )
    assert too_many.status_code == 422 and "texts" in str(too_many.json()["detail"])
    # within the limits, the answer is the usual one: no model yet
    ok = client.post(
        f"/api/v1/projects/{text_pid}/score", headers=owner, json={"type": "text", "texts": ["a"]}
    )
    assert ok.status_code == 409
