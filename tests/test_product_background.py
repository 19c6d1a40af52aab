"""Topview product background (AnyShoot v2, sheet endpoints 6-7): field rules, real composites
on the virtual clock, credits, faults, the docs' fixtures, the client, and fuzzing."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from bgmock.client.topview import AsyncTopviewClient, TopviewClient, TopviewTaskFailed
from bgmock.server.core import compose, imaging
from bgmock.server.providers.topview import product_background
from bgmock.server.providers.topview.product_background_docs import DOCS_TASKS
from bgmock.server.settings import Settings
from bgmock.server.testing import InProcessMock
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from bgmock import contracts
from tests.topview_calls import DEMO, DEMO_KEY, DEMO_UID, TopviewApi

SUBMIT = "product_background_submit"
QUERY = "product_background_query"
DOCS_CUTOUT = "e5ea811a6fb646ba9e0354232e8b97a4"       # the docs' cut-out (fixture)
DOCS_TEMPLATE = "d10d0baf132b43c18893d252dc9a9fe1"
BOX = [[0.25, 0.25], [0.75, 0.25], [0.75, 0.75], [0.25, 0.75]]


def png_bytes(img: Image.Image) -> bytes:
    return imaging.encode(img, "png")


def open_png(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    assert img.format == "PNG"
    return img.convert("RGB")


def body(**changes: Any) -> dict[str, Any]:
    base = {"mode": "prompt", "productImageWithoutBackgroundFileId": DOCS_CUTOUT,
            "templateId": "", "templateImageFileId": "", "prompt": "a wooden table",
            "aspectRatio": "1:1", "location": BOX, "productSimilarity": "natural",
            "noticeUrl": ""}
    return {k: v for k, v in {**base, **changes}.items() if v is not None}


def submit(api: TopviewApi, payload: dict[str, Any], fault: str | None = None
           ) -> dict[str, Any]:
    headers = {**DEMO, **({"X-Mock-Fault": fault} if fault else {})}
    return api.call(SUBMIT, json=payload, headers=headers)


def finish(api: TopviewApi, task_id: str, cloudfront: bool = False) -> dict[str, Any]:
    """Advance the virtual clock until the task ends; its query result."""
    for _ in range(10):
        result = api.call(QUERY, params={"taskId": task_id,
                                         "needCloudFrontUrl": str(cloudfront).lower()})["result"]
        if result["status"] in ("success", "fail"):
            return result
        api.controls.advance(2)
    raise AssertionError(f"task {task_id} did not finish: {result}")


def composite(api: TopviewApi, payload: dict[str, Any]) -> Image.Image:
    answer = submit(api, payload)
    assert answer["code"] == "200", answer
    result = finish(api, answer["result"]["taskId"])
    assert result["status"] == "success", result
    assert len(result["anyfitImages"]) == 1
    download = api.http.get(result["anyfitImages"][0]["url"])
    assert download.status_code == 200
    return open_png(download.content)


# --- the composite -------------------------------------------------------------------------

def test_image_mode_places_the_cut_out_on_the_uploaded_template(api: TopviewApi) -> None:
    template = Image.new("RGB", (600, 400), (20, 60, 200))        # plain blue scene
    product = Image.new("RGBA", (100, 100), (0, 0, 0, 0))          # a red square, transparent
    product.paste((230, 20, 20, 255), (10, 10, 90, 90))
    template_id, cutout_id = api.upload(png_bytes(template)), api.upload(png_bytes(product))
    out = composite(api, body(mode="image", productImageWithoutBackgroundFileId=cutout_id,
                              templateImageFileId=template_id, prompt="", aspectRatio="4:3"))
    assert out.size == (1024, 768)
    assert out.getpixel((512, 384))[0] > 200 and out.getpixel((512, 384))[2] < 60   # product
    assert out.getpixel((60, 60)) == (20, 60, 200)                                 # template
    assert out.getpixel((300, 384)) == (20, 60, 200)   # the cut-out's transparent margin


def test_prompt_mode_is_deterministic_and_follows_the_prompt(api: TopviewApi) -> None:
    first = composite(api, body(prompt="a beach at dawn"))
    again = composite(api, body(prompt="a beach at dawn"))
    other = composite(api, body(prompt="a marble kitchen"))
    assert first.tobytes() == again.tobytes()
    assert first.getpixel((20, 20)) != other.getpixel((20, 20))
    assert first.getpixel((512, 512)) == other.getpixel((512, 512))  # same product, same spot


@pytest.mark.parametrize(("ratio", "size"), [("9:16", (576, 1024)), ("16:9", (1024, 576)),
                                             ("3:4", (768, 1024)), ("", (1024, 1024))])
def test_the_aspect_ratio_sets_the_size(mock: InProcessMock, ratio: str, size: tuple[int, int]
                                        ) -> None:
    with mock.client() as http:
        target = TopviewApi("inprocess", http, mock, mock.engine)
        assert composite(target, body(aspectRatio=ratio)).size == size


def test_a_location_partly_outside_is_clipped(mock: InProcessMock) -> None:
    with mock.client() as http:
        target = TopviewApi("inprocess", http, mock, mock.engine)
        out = composite(target, body(location=[[-0.5, 0.6], [0.3, 0.6], [0.3, 1.4],
                                               [-0.5, 1.4]]))
    assert out.size == (1024, 1024)


def test_template_mode_uses_a_fixture_template(mock: InProcessMock) -> None:
    with mock.client() as http:
        target = TopviewApi("inprocess", http, mock, mock.engine)
        out = composite(target, body(mode="template", prompt="",
                                     templateId=product_background.TEMPLATE_IDS[0]))
    assert out.size == (1024, 1024)


def test_without_location_or_ratio_the_defaults_apply(mock: InProcessMock) -> None:
    with mock.client() as http:
        target = TopviewApi("inprocess", http, mock, mock.engine)
        out = composite(target, {"mode": "prompt", "prompt": "studio",
                                 "productImageWithoutBackgroundFileId": DOCS_CUTOUT})
    assert out.size == (1024, 1024)   # T33, D121


# --- field rules -----------------------------------------------------------------------------

@pytest.mark.parametrize(("changes", "code"), [
    ({"mode": None}, "4003"),
    ({"mode": "video"}, "4000"),
    ({"mode": 3}, "4001"),
    ({"productImageWithoutBackgroundFileId": ""}, "4003"),
    ({"productImageWithoutBackgroundFileId": "0" * 32}, "4004"),
    ({"mode": "image", "templateImageFileId": ""}, "4003"),
    ({"mode": "image", "templateImageFileId": "f" * 32}, "4004"),
    ({"prompt": ""}, "4003"),
    ({"prompt": "x" * 5001}, "4000"),
    ({"mode": "template", "templateId": ""}, "4003"),
    ({"mode": "template", "templateId": "nope"}, "4004"),
    ({"aspectRatio": "2:1"}, "4000"),
    ({"location": [[0, 0], [1, 0], [1, 1]]}, "4000"),                     # three points
    ({"location": [[0, 0], [1, 0], [1, 1], [0, 1, 2]]}, "4000"),          # three numbers
    ({"location": [[0.6, 0.2], [0.4, 0.2], [0.4, 0.8], [0.6, 0.8]]}, "200"),    # mirrored
    ({"location": [[1.0, 0.2], [1.5, 0.2], [1.5, 0.8], [1.0, 0.8]]}, "4000"),   # right of it
    ({"location": [[0.2, -0.5], [0.8, -0.5], [0.8, 0.0], [0.2, 0.0]]}, "4000"),  # above it
    ({"location": [[1.2, 1.2], [1.8, 1.2], [1.8, 1.8], [1.2, 1.8]]}, "4000"),   # all outside
    ({"location": [[-11, 0], [1, 0], [1, 1], [-11, 1]]}, "4000"),         # out of range
    ({"location": [["a", 0], [1, 0], [1, 1], [0, 1]]}, "4001"),
    ({"noticeUrl": "ftp://x"}, "4000"),
])
def test_each_field_rule_answers_topviews_code(api: TopviewApi, changes: dict[str, Any],
                                               code: str) -> None:
    payload = body(**{k: v for k, v in changes.items() if v is not None})
    for name in (k for k, v in changes.items() if v is None):
        payload.pop(name)
    assert submit(api, payload)["code"] == code


def test_a_non_image_file_is_refused(api: TopviewApi) -> None:
    audio = api.upload(b"ID3" + bytes(200), "mp3")
    assert submit(api, body(productImageWithoutBackgroundFileId=audio))["code"] == "4000"


def test_another_accounts_task_is_not_found(api: TopviewApi) -> None:
    api.controls.set_account("topview", "other-uid", secret="sk-other", credits=10)
    task_id = submit(api, body())["result"]["taskId"]
    other = {"Topview-Uid": "other-uid", "Authorization": "Bearer sk-other"}
    answer = api.call(QUERY, params={"taskId": task_id}, headers=other)
    assert answer["code"] == "4004"


# --- credits, faults, lifecycle ------------------------------------------------------------

def test_one_credit_charged_on_success_none_on_failure(api: TopviewApi) -> None:
    before = api.controls.account("topview", DEMO_UID)["credits"]
    ok = finish(api, submit(api, body())["result"]["taskId"])
    assert ok["costCredit"] == 1
    assert api.controls.account("topview", DEMO_UID)["credits"] == before - 1
    failed = finish(api, submit(api, body(), fault="fail=model busy")["result"]["taskId"])
    assert failed["status"] == "fail" and failed["errorMsg"] == "model busy"
    assert failed["anyfitImages"] == []
    assert api.controls.account("topview", DEMO_UID)["credits"] == before - 1


def test_short_of_credits_is_4100(api: TopviewApi) -> None:
    api.controls.set_account("topview", DEMO_UID, credits=0.5)
    assert submit(api, body())["code"] == "4100"


@pytest.mark.parametrize("operation", [SUBMIT, QUERY])
def test_x_mock_fault_error_applies_to_each_operation(api: TopviewApi, operation: str) -> None:
    headers = {**DEMO, "X-Mock-Fault": "error=5003"}
    if operation == SUBMIT:
        answer = api.call(SUBMIT, json=body(), headers=headers)
    else:
        answer = api.call(QUERY, params={"taskId": DOCS_TASKS[0][0]}, headers=headers)
    assert answer == {"code": "5003", "message": "Server is busy, please try again later!",
                      "result": None}


def test_an_admin_rule_can_target_product_background(api: TopviewApi) -> None:
    api.controls.fault("topview", "error=6001", operation=SUBMIT)
    assert submit(api, body())["code"] == "6001"
    assert api.call("voice_query")["code"] == "200"


def test_while_running_every_key_is_there_and_empty(api: TopviewApi) -> None:
    task_id = submit(api, body(), fault="stuck")["result"]["taskId"]
    result = api.call(QUERY, params={"taskId": task_id})["result"]
    assert result == {"taskId": task_id, "status": "init", "anyfitImages": [],
                      "costCredit": None, "errorMsg": None}


def test_the_query_handler_uses_query_result(mock: InProcessMock) -> None:
    """query_result(engine, base_url, task) is what the callback will carry (T28)."""
    task = mock.engine.tasks.get(DOCS_TASKS[0][0])
    built = product_background.query_result(mock.engine, "http://bgmock.test", task)
    with mock.client() as http:
        answered = http.get("/topview" + contracts.operations("topview")["operations"][QUERY]
                            ["path"], params={"taskId": task.id}, headers=DEMO).json()["result"]
    assert set(built) == set(answered)
    assert {k: v for k, v in built.items() if k != "anyfitImages"} == \
           {k: v for k, v in answered.items() if k != "anyfitImages"}
    assert built["anyfitImages"][0]["url"].split("?")[0] == \
           answered["anyfitImages"][0]["url"].split("?")[0]


def test_cloudfront_urls_on_request(api: TopviewApi) -> None:
    result = finish(api, submit(api, body())["result"]["taskId"], cloudfront=True)
    url = result["anyfitImages"][0]["url"]
    assert "Key-Pair-Id=" in url
    assert api.http.get(url).status_code == 200


# --- the docs' fixtures ----------------------------------------------------------------------

def test_the_docs_tasks_exist_after_a_reset(api: TopviewApi) -> None:
    api.controls.reset()
    for task_id, directory, _ in DOCS_TASKS:
        result = api.call(QUERY, params={"taskId": task_id, "needCloudFrontUrl": ""})["result"]
        assert result["status"] == "success" and result["costCredit"] == 1
        url = result["anyfitImages"][0]["url"]
        assert f"/object_replace_llm/{directory}/0_resized.png?" in url
        assert open_png(api.http.get(url).content).size == (1024, 1024)


def test_the_docs_image_mode_submit_composites_the_docs_files(mock: InProcessMock) -> None:
    with mock.client() as http:
        target = TopviewApi("inprocess", http, mock, mock.engine)
        example = next(e for e in contracts.load("topview", f"{SUBMIT}.request")["examples"]
                       if e["mode"] == "image")
        assert example["templateImageFileId"] == DOCS_TEMPLATE
        out = composite(target, example)
        docs = target.call(QUERY, params={"taskId": DOCS_TASKS[0][0]})["result"]
        fixture = open_png(http.get(docs["anyfitImages"][0]["url"]).content)
    assert out.size == fixture.size == (1024, 1024)
    assert out.tobytes() == fixture.tobytes()   # the docs' inputs give the docs task's image


# --- core/compose.py -----------------------------------------------------------------------

def test_place_maps_the_corners_onto_the_points() -> None:
    canvas = Image.new("RGB", (200, 100), (0, 0, 255))
    cutout = Image.new("RGBA", (10, 10), (255, 0, 0, 255))
    out = compose.place(canvas, cutout, ((0.25, 0.2), (0.75, 0.2), (0.75, 0.8), (0.25, 0.8)))
    assert out.size == (200, 100) and out.mode == "RGBA"
    assert out.getpixel((100, 50))[:3] == (255, 0, 0)
    assert out.getpixel((40, 50))[:3] == (0, 0, 255) and out.getpixel((160, 50))[:3] == \
        (0, 0, 255)
    assert out.getpixel((100, 10))[:3] == (0, 0, 255)
    assert canvas.getpixel((100, 50)) == (0, 0, 255)  # the input is unchanged


def test_place_mirrors_swapped_corners_and_skips_flat_shapes() -> None:
    canvas = Image.new("RGB", (100, 100), (0, 0, 0))
    half = Image.new("RGBA", (10, 10), (0, 255, 0, 255))
    half.paste((255, 0, 0, 255), (0, 0, 5, 10))                     # red left, green right
    out = compose.place(canvas, half, ((0.9, 0.1), (0.1, 0.1), (0.1, 0.9), (0.9, 0.9)))
    assert out.getpixel((20, 50))[:3] == (0, 255, 0) and out.getpixel((80, 50))[:3] == \
        (255, 0, 0)
    flat = compose.place(canvas, half, ((0.5, 0.1), (0.5, 0.1), (0.5, 0.9), (0.5, 0.9)))
    assert flat.convert("RGB").tobytes() == canvas.tobytes()


def test_place_clips_and_skips_what_is_outside() -> None:
    canvas = Image.new("RGB", (50, 50), (0, 0, 0))
    red = Image.new("RGBA", (4, 4), (255, 0, 0, 255))
    out = compose.place(canvas, red, ((-1, -1), (0.5, -1), (0.5, 0.5), (-1, 0.5)))
    assert out.getpixel((5, 5))[:3] == (255, 0, 0) and out.getpixel((40, 40))[:3] == (0, 0, 0)
    gone = compose.place(canvas, red, ((2, 2), (3, 2), (3, 3), (2, 3)))
    assert gone.convert("RGB").tobytes() == canvas.tobytes()


@pytest.mark.parametrize(("quad", "ok"), [
    (((0.2, 0.2), (0.8, 0.2), (0.8, 0.8), (0.2, 0.8)), True),
    (((-0.5, -0.5), (0.1, -0.5), (0.1, 0.1), (-0.5, 0.1)), True),
    (((0.1, 0.2), (0.9, 0.1), (0.8, 0.9), (0.2, 0.8)), True),          # a tilted quad
    (((0.8, 0.2), (0.2, 0.2), (0.2, 0.8), (0.8, 0.8)), True),          # mirrored
    (((1.0, 0.2), (1.5, 0.2), (1.5, 0.8), (1.0, 0.8)), False),
    (((0.2, -0.8), (0.8, -0.8), (0.8, -0.1), (0.2, -0.1)), False),
    (((0.2, 0.2), (float("nan"), 0.2), (0.8, 0.8), (0.2, 0.8)), False),
])
def test_quad_problem(quad: compose.Quad, ok: bool) -> None:
    assert (compose.quad_problem(quad) is None) is ok


def test_canvas_sizes_and_scene_determinism() -> None:
    assert {r: compose.canvas_size(r) for r in compose.RATIOS} == {
        "1:1": (1024, 1024), "9:16": (576, 1024), "3:4": (768, 1024), "4:3": (1024, 768),
        "16:9": (1024, 576)}
    assert compose.scene("x", 64, 32).tobytes() == compose.scene("x", 64, 32).tobytes()
    assert compose.scene("x", 64, 32).tobytes() != compose.scene("y", 64, 32).tobytes()


def test_render_cuts_out_an_opaque_photo() -> None:
    photo = png_bytes(imaging.synthetic_product("opaque", 200, 200))
    limits = imaging.Limits(1 << 24, 1 << 24)
    out = open_png(product_background.render(photo, None, "s", (128, 128), BOX, limits))
    plain = compose.scene("s", 128, 128)
    assert out.getpixel((2, 2)) == plain.getpixel((2, 2))
    assert out.getpixel((64, 64)) != plain.getpixel((64, 64))
    # the photo's own light backdrop was cut away: a corner of the box shows the scene
    assert out.getpixel((33, 33)) == plain.getpixel((33, 33))


# --- client ----------------------------------------------------------------------------------

def test_client_chain_remove_background_then_product_background(mock: InProcessMock) -> None:
    photo = png_bytes(imaging.synthetic_product("client", 300, 300))
    with TopviewClient(DEMO_UID, DEMO_KEY, base_url=mock.url("topview"),
                       transport=mock.transport) as tv:
        sleep = mock.advance  # virtual time
        cut = tv.wait(tv.remove_background(tv.upload(photo)), interval=1, sleep=sleep)
        task_id = tv.product_background(cut["bgRemovedImageFileId"], mode="prompt",
                                        prompt="a garden", aspect_ratio="16:9",
                                        location=((0.3, 0.2), (0.7, 0.2), (0.7, 0.9),
                                                  (0.3, 0.9)))
        assert tv.query_product_background(task_id)["status"] == "init"
        done = tv.wait(task_id, interval=1, sleep=sleep, kind="product_background")
        assert open_png(tv.download(done["anyfitImages"][0]["url"])).size == (1024, 576)
        failing = tv.product_background(cut["bgRemovedImageFileId"], mode="template",
                                        template_id=product_background.TEMPLATE_IDS[1])
        assert tv.wait(failing, interval=1, sleep=sleep,
                       kind="product_background")["status"] == "success"
        with pytest.raises(ValueError, match="unknown Topview task kind"):
            tv.wait(task_id, kind="nope")


def test_async_client_product_background_and_lookups() -> None:
    mock = InProcessMock()  # its app only ever sees this test's event loop

    async def run() -> None:
        admin = mock.async_client()

        async def sleep(seconds: float) -> None:  # moves the clock from this loop
            (await admin.post("/__admin/clock/advance", json={"seconds": seconds})
             ).raise_for_status()

        async with AsyncTopviewClient(DEMO_UID, DEMO_KEY, base_url=mock.url("topview"),
                                      transport=mock.async_transport) as tv:
            task_id = await tv.product_background(DOCS_CUTOUT, mode="image",
                                                  template_image_file_id=DOCS_TEMPLATE)
            done = await tv.wait(task_id, interval=1, sleep=sleep, kind="product_background")
            assert done["costCredit"] == 1
            page = await tv.voices(language="en", pageSize=2)
            assert page["total"] >= 3 and len(page["data"]) == 2
            assert (await tv.captions())[0]["captionId"] == "3cfcb29df99746d4b438e169dda47647"
            (await admin.post("/__admin/faults", json={
                "provider": "topview", "operation": SUBMIT, "fault": "fail", "count": 1})
             ).raise_for_status()
            failed = await tv.product_background(DOCS_CUTOUT, mode="prompt", prompt="p")
            with pytest.raises(TopviewTaskFailed):
                await tv.wait(failed, interval=1, sleep=sleep, kind="product_background")
            assert (await tv.query_product_background(task_id))["status"] == "success"
        await admin.aclose()

    try:
        asyncio.run(run())
    finally:
        mock.close()


# --- OpenAPI ---------------------------------------------------------------------------------

def test_every_submit_links_to_its_query() -> None:
    document = contracts.openapi("topview")
    operations = contracts.operations("topview")["operations"]
    submits = [name for name in operations if name.endswith("_submit")]
    assert "product_background_submit" in submits
    for name in submits:
        op = operations[name]
        answer = document["paths"][op["path"]][op["method"].lower()]["responses"]["200"]
        targets = {link["operationId"] for link in answer["links"].values()}
        assert f"{name.removesuffix('_submit')}_query" in targets, name


# --- fuzzing ---------------------------------------------------------------------------------

FUZZ = settings(max_examples=80, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])
NUMBER = (st.floats(allow_nan=False, allow_infinity=False, width=32)
          | st.integers(-10**20, 10**20) | st.text(max_size=3) | st.none())
POINT = st.lists(NUMBER, min_size=0, max_size=3)
FIELD_VALUES = {
    "mode": st.sampled_from(["image", "prompt", "template", "", "IMAGE"]) | st.integers(),
    "productImageWithoutBackgroundFileId": st.sampled_from([DOCS_CUTOUT, DOCS_TEMPLATE, "",
                                                            "0" * 32]) | st.text(max_size=70),
    "templateImageFileId": st.sampled_from([DOCS_TEMPLATE, DOCS_CUTOUT, ""]) | st.none(),
    "templateId": st.sampled_from([*product_background.TEMPLATE_IDS, ""]) | st.text(max_size=5),
    "prompt": st.text(max_size=30) | st.none(),
    "aspectRatio": st.sampled_from([*compose.RATIOS, "", "0:0", "1:0"]),
    "location": st.lists(POINT, min_size=0, max_size=5) | st.just(BOX) | NUMBER,
    "productSimilarity": st.text(max_size=10),
    "noticeUrl": st.sampled_from(["", "http://127.0.0.1:9/x", "nope"]),
}
BODIES = st.fixed_dictionaries({}, optional=FIELD_VALUES)


@pytest.fixture(scope="module")
def fuzz_mock() -> Iterator[InProcessMock]:
    mock = InProcessMock(Settings(clock="virtual", instant=True))
    mock.engine.accounts.get("topview", DEMO_UID).concurrency = 10**6
    yield mock
    mock.close()


def _is_topview(operation: str, response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    answer = response.json()
    contracts.validate("topview", f"{operation}.response" if answer["code"] == "200"
                       else "error.response", answer)
    return dict(answer)


@given(payload=BODIES)
@FUZZ
def test_fuzz_product_background_submit_and_query(fuzz_mock: InProcessMock,
                                                  payload: dict[str, Any]) -> None:
    fuzz_mock.engine.accounts.get("topview", DEMO_UID).credits = 10**6
    with fuzz_mock.client() as http:
        answer = _is_topview(SUBMIT, http.post(
            "/topview/v2/product_anyShoot/product_background/task/submit", json=payload,
            headers=DEMO))
        if answer["code"] == "200":
            queried = _is_topview(QUERY, http.get(
                "/topview/v2/product_anyShoot/product_background/task/query",
                params={"taskId": answer["result"]["taskId"]}, headers=DEMO))
            assert queried["result"]["status"] in ("success", "fail")


@given(params=st.dictionaries(
    st.sampled_from(["pageNo", "pageSize", "language", "gender", "age", "style", "accent",
                     "isCustom", "voiceName"]),
    st.text(max_size=12) | st.integers(-5, 200).map(str), max_size=6))
@FUZZ
def test_fuzz_voice_query(fuzz_mock: InProcessMock, params: dict[str, str]) -> None:
    with fuzz_mock.client() as http:
        answer = _is_topview("voice_query", http.get("/topview/v1/voice/query", params=params,
                                                     headers=DEMO))
    if answer["code"] == "200":
        assert len(answer["result"]["data"]) <= int(params.get("pageSize") or 20)


def test_a_running_task_keeps_its_template_past_the_file_lifetime(mock: InProcessMock) -> None:
    """Uploads go after 7 days, not while an unfinished task of their owner names them in any
    of its file-id fields (here ``templateImageFileId``)."""
    with mock.client() as http:
        target = TopviewApi("inprocess", http, mock, mock.engine)
        kept = target.upload(png_bytes(Image.new("RGB", (64, 64), (9, 9, 9))))
        dropped = target.upload(png_bytes(Image.new("RGB", (64, 64), (9, 9, 9))))
        answer = submit(target, body(mode="image", templateImageFileId=kept, prompt=""),
                        fault="stuck")
        assert answer["code"] == "200"
        mock.advance(9 * 86400)
        check = target.call("upload_check", params={"fileId": kept})
        assert check == {"code": "200", "message": "Success", "result": True}
        assert target.call("upload_check", params={"fileId": dropped})["code"] == "4004"


def test_the_docs_prompt_mode_submit_gives_the_docs_tasks_image(mock: InProcessMock) -> None:
    """The fixture result is the composite the docs' own request makes (same inputs, same
    pixels): replaying the docs' prompt-mode body reproduces it."""
    example = next(e for e in contracts.load("topview", "product_background_submit.request")
                   ["examples"] if e["mode"] == "prompt")
    with mock.client() as http:
        target = TopviewApi("inprocess", http, mock, mock.engine)
        fresh = composite(target, example)
        docs = target.call(QUERY, params={"taskId": DOCS_TASKS[1][0]})["result"]
        fixture = open_png(http.get(docs["anyfitImages"][0]["url"]).content)
    assert fresh.tobytes() == fixture.tobytes()
