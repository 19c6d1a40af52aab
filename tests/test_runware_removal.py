"""Runware background removal (both task types) on decoded output: every documented field has
an effect (rgba, returnOnlyMask, alpha matting, postProcessMask, outputFormat/Quality,
outputType), includeCost and credits, models and settings (R10-R15, R22, R26; D193, D198)."""

from __future__ import annotations

import base64
import io
from typing import Any

import pytest
from PIL import Image

from tests.runware_calls import DEMO_KEY, DOCS_IMAGE, RunwareApi, data_uri, new_uuid, photo

SETTINGS = {"rgba": [255, 255, 255, 0], "postProcessMask": True, "returnOnlyMask": False,
            "alphaMatting": True, "alphaMattingForegroundThreshold": 240,
            "alphaMattingBackgroundThreshold": 10, "alphaMattingErodeSize": 10}


def current(**fields: Any) -> dict[str, Any]:
    return {"taskType": "removeBackground", "taskUUID": new_uuid(), "inputImage": DOCS_IMAGE,
            **fields}


def legacy(**fields: Any) -> dict[str, Any]:
    return {"taskType": "imageBackgroundRemoval", "taskUUID": new_uuid(),
            "inputImage": DOCS_IMAGE, **fields}


def image_of(runware: RunwareApi, item: dict[str, Any]) -> Image.Image:
    """The result image, whichever way it came."""
    if "imageURL" in item:
        served = runware.download(item["imageURL"])
        assert served.status_code == 200
        raw = served.content
    elif "imageBase64Data" in item:
        raw = base64.b64decode(item["imageBase64Data"])
    else:
        header, _, encoded = item["imageDataURI"].partition(",")
        assert header.startswith("data:image/") and header.endswith(";base64")
        raw = base64.b64decode(encoded)
    image = Image.open(io.BytesIO(raw))
    image.load()
    return image


def removed(runware: RunwareApi, task: dict[str, Any]) -> tuple[dict[str, Any], Image.Image]:
    [item] = runware.run(task)["data"]
    assert (item["taskType"], item["taskUUID"]) == (task["taskType"], task["taskUUID"])
    return item, image_of(runware, item)


CORNER, CENTRE = (2, 2), (384, 256)  # the docs' image: 768x512, subject in the middle


@pytest.mark.parametrize("make", [current, legacy])
def test_default_is_a_transparent_png_cut_out(runware: RunwareApi, make: Any) -> None:
    item, image = removed(runware, make())
    assert image.format == "PNG" and image.mode == "RGBA" and image.size == (768, 512)
    assert image.getpixel(CORNER)[3] == 0 and image.getpixel(CENTRE)[3] == 255
    assert item["inputImageUUID"] == DOCS_IMAGE and item["imageUUID"] != item["taskUUID"]
    assert "cost" not in item
    assert item["imageURL"].split("?")[0].endswith(f"/image/ii/{item['imageUUID']}.png")


def test_rgba_fills_the_background(runware: RunwareApi) -> None:
    _, image = removed(runware, current(settings={"rgba": [255, 0, 0, 1]}))
    assert image.getpixel(CORNER) == (255, 0, 0, 255)
    _, image = removed(runware, legacy(rgba=[0, 0, 255, 0.5]))  # flattened on the legacy task
    assert image.getpixel(CORNER)[2] == 255 and 120 <= image.getpixel(CORNER)[3] <= 135
    _, image = removed(runware, current(settings={"rgba": [255, 0, 0, 0]}))  # alpha 0: none
    assert image.getpixel(CORNER)[3] == 0


def test_return_only_mask_gives_the_mask(runware: RunwareApi) -> None:
    _, image = removed(runware, current(settings={"returnOnlyMask": True}))
    grey = image.convert("L")
    assert grey.getpixel(CORNER) == 0 and grey.getpixel(CENTRE) == 255


def _opaque(image: Image.Image) -> int:
    return image.getchannel("A").histogram()[255]


def test_alpha_matting_erodes_and_post_process_refines_the_edge(runware: RunwareApi) -> None:
    _, plain = removed(runware, current())
    _, matted = removed(runware, current(settings={"alphaMatting": True,
                                                   "alphaMattingErodeSize": 10}))
    assert _opaque(matted) < _opaque(plain)  # the opaque core shrank by the erosion
    _, thin = removed(runware, current(settings={"alphaMatting": True,
                                                 "alphaMattingErodeSize": 2}))
    assert _opaque(matted) < _opaque(thin) < _opaque(plain)
    _, refined = removed(runware, current(settings={"postProcessMask": True}))
    assert refined.getchannel("A").tobytes() != plain.getchannel("A").tobytes()
    _, docs = removed(runware, current(settings=SETTINGS))  # the docs' settings, all at once
    assert docs.getpixel(CORNER)[3] == 0 and docs.getpixel(CENTRE)[3] == 255


def test_output_format_and_quality(runware: RunwareApi) -> None:
    item, jpg = removed(runware, current(outputFormat="JPG"))
    assert jpg.format == "JPEG" and jpg.mode == "RGB"
    assert min(jpg.getpixel(CORNER)) > 240  # transparency removed: flattened on white (R13)
    assert item["imageURL"].split("?")[0].endswith(".jpg")
    _, webp = removed(runware, current(outputFormat="webp"))
    assert webp.format == "WEBP" and webp.mode == "RGBA" and webp.getpixel(CORNER)[3] == 0
    low = runware.run(current(outputFormat="JPG", outputQuality=20))["data"][0]
    high = runware.run(current(outputFormat="JPG", outputQuality=99))["data"][0]
    assert len(runware.download(low["imageURL"]).content) \
        < len(runware.download(high["imageURL"]).content)


def test_output_types_carry_the_same_image(runware: RunwareApi) -> None:
    images = []
    for output, field in (("URL", "imageURL"), ("base64Data", "imageBase64Data"),
                          ("dataURI", "imageDataURI")):
        item, image = removed(runware, current(outputType=output))
        assert field in item and not {"imageURL", "imageBase64Data", "imageDataURI"} - {field} \
            & set(item)
        images.append(image.tobytes())
    assert images[0] == images[1] == images[2]


def test_a_result_uuid_is_a_valid_input(runware: RunwareApi) -> None:
    first, _ = removed(runware, current())
    item, image = removed(runware, legacy(inputImage=first["imageUUID"]))
    assert item["inputImageUUID"] == first["imageUUID"] and image.mode == "RGBA"
    again, _ = removed(runware, legacy(inputImage=first["imageURL"]))  # its URL resolves too
    assert again["imageUUID"]


def test_inputs_as_data_uri_base64_and_url(runware: RunwareApi) -> None:
    png = photo("input", 200, 160)
    for value in (data_uri(png), base64.b64encode(png).decode(), "https://example.com/p.png"):
        item, image = removed(runware, current(inputImage=value))
        assert image.getpixel((1, 1))[3] == 0
        assert item["inputImageUUID"] != item["imageUUID"]


def test_include_cost_and_credits(runware: RunwareApi) -> None:
    before = runware.controls.account("runware", DEMO_KEY)["credits"]
    assert before == 10.0  # R26
    item, _ = removed(runware, current(includeCost=True))
    assert item["cost"] == 0.0006  # R15
    removed(runware, legacy())
    after = runware.controls.account("runware", DEMO_KEY)["credits"]
    assert after == pytest.approx(before - 0.0012)
    runware.controls.set_account("runware", DEMO_KEY, credits=0.0005)
    [error] = runware.run(current(), status=402)["errors"]
    assert error["code"] == "insufficientCredits"
    assert error["message"].startswith("Insufficient credits")


def test_a_failed_removal_costs_nothing(runware: RunwareApi) -> None:
    before = runware.controls.account("runware", DEMO_KEY)["credits"]
    runware.run(current(inputImage=data_uri(b"no image")), status=400)
    assert runware.controls.account("runware", DEMO_KEY)["credits"] == before


def test_models_and_settings(runware: RunwareApi) -> None:
    for model in ("runware:110@1", "runware:112@9"):
        removed(runware, current(model=model))
    [error] = runware.run(current(model="runware:999@1"), status=400)["errors"]
    assert (error["code"], error["parameter"]) == ("unsupportedModel", "model")
    [error] = runware.run(current(model="runware:110@1", settings={"returnOnlyMask": True}),
                          status=400)["errors"]
    assert (error["code"], error["parameter"]) == ("unsupportedParameter", "settings")  # R22
    # the legacy task ignores flattened settings for another model (R22)
    _, image = removed(runware, legacy(model="runware:110@1", rgba=[255, 0, 0, 1]))
    assert image.getpixel(CORNER)[3] == 0


def test_the_sdk_frame_is_accepted(runware: RunwareApi) -> None:
    """What runware 0.5.x sends for imageBackgroundRemoval (sheet, SDK frame)."""
    task = legacy(outputType="URL", outputFormat="PNG", includeCost=True, model="runware:109@1",
                  outputQuality=95, returnOnlyMask=False, alphaMatting=False,
                  postProcessMask=False, alphaMattingForegroundThreshold=240,
                  rgba=[255, 255, 255, 0], providerSettings={}, safety={})
    item, image = removed(runware, task)
    assert item["cost"] == 0.0006 and image.mode == "RGBA"


@pytest.mark.parametrize(("fields", "code", "parameter"), [
    ({"settings": {"alphaMattingErodeSize": 256}}, "valueTooLarge",
     "settings.alphaMattingErodeSize"),
    ({"settings": {"alphaMattingForegroundThreshold": 0}}, "valueTooSmall",
     "settings.alphaMattingForegroundThreshold"),
    ({"outputQuality": 100}, "valueTooLarge", "outputQuality"),
    ({"outputQuality": 19}, "valueTooSmall", "outputQuality"),
    ({"ttl": 59}, "valueTooSmall", "ttl"),
    ({"settings": {"rgba": [255, 255, 255, 2]}}, "valueTooLarge", "settings.rgba"),
    ({"outputType": "PDF"}, "invalidOutputType", "outputType"),
    ({"includeCost": "yes"}, "invalidIncludeCost", "includeCost"),
    ({"settings": {"blur": True}}, "unknownParameter", "settings.blur"),
    ({"colour": "red"}, "unknownParameter", "colour"),
    ({"inputImage": ""}, "missingInputImage", "inputImage"),
    ({"ttl": 120, "outputType": "base64Data"}, "unsupportedParameter", "ttl"),
    ({"webhookURL": "ftp://x"}, "invalidWebhookURL", "webhookURL"),
])
def test_bad_fields_get_their_codes(runware: RunwareApi, fields: dict[str, Any], code: str,
                                    parameter: str) -> None:
    task = current(**fields)
    [error] = runware.run(task, status=400)["errors"]
    assert (error["code"], error["parameter"]) == (code, parameter), error
    assert (error["taskType"], error["taskUUID"]) == ("removeBackground", task["taskUUID"])
    assert error["documentation"].startswith("https://runware.ai/docs/")


def test_missing_fields_are_missing_codes(runware: RunwareApi) -> None:
    task = current()
    del task["inputImage"]
    [error] = runware.run(task, status=400)["errors"]
    assert (error["code"], error["parameter"]) == ("missingInputImage", "inputImage")  # R24
    [error] = runware.run({"taskType": "removeBackground", "inputImage": DOCS_IMAGE},
                          status=400)["errors"]
    assert error["code"] == "missingTaskUUID"
    [error] = runware.run({"taskType": "imageUpload", "taskUUID": new_uuid()},
                          status=400)["errors"]
    assert error["code"] == "missingImage"


def test_ttl_sets_the_result_urls_lifetime(runware: RunwareApi) -> None:
    item, _ = removed(runware, current(ttl=60))
    runware.controls.advance(61)
    assert runware.download(item["imageURL"]).status_code == 403
    item, _ = removed(runware, current())
    runware.controls.advance(3600)
    assert runware.download(item["imageURL"]).status_code == 200


def test_image_urls_mock_expired_and_foreign(runware: RunwareApi) -> None:
    item, _ = removed(runware, current(ttl=60))
    runware.controls.advance(61)
    [error] = runware.run(current(inputImage=item["imageURL"]), status=400)["errors"]
    assert error["code"] == "invalidInputImage"  # the mock's own URL, expired
    foreign = "https://im.runware.ai/image/ii/aa418b0f-2c4e-4a8c-b5d8-7b4c0f1e9a22.jpg"
    item, image = removed(runware, current(inputImage=foreign))  # offline: a synthetic photo
    assert image.mode == "RGBA"
