"""Remote image URLs a test controls: ``.invalid`` hosts and the ``/__admin/remote`` registry."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from bgmock.server.core import imaging
from bgmock.server.core.urlregistry import MAX_URLS, Registered, RegistryFull, RemoteUrls
from bgmock.server.testing import InProcessMock
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.aidge_calls import DOCS_URL, AidgeApi
from tests.topview_calls import Api

PHOTO = imaging.encode(imaging.synthetic_product("remote", 300, 200), "png")
URL = "https://cdn.example.com/products/42.png"


def cut(api: Api, url: str) -> dict[str, Any]:
    return api.view(AidgeApi).cut({"imageUrl": url, "backGroundType": "TRANSPARENT"})


def admin(api_or_mock: Any, method: str, **kw: Any) -> Any:
    controls = api_or_mock.controls if isinstance(api_or_mock, Api) else api_or_mock
    return controls.http.request(method, f"{controls.base_url}/__admin/remote", **kw)


def register(api: Api, **body: Any) -> dict[str, Any]:
    response = admin(api, "PUT", json={"url": URL, **body})
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("url", ["https://images.invalid/a.jpg", "http://cdn.shop.invalid/x.png",
                                 "https://INVALID/y.jpg", "https://z.invalid./w.png"])
def test_hosts_under_invalid_are_unreachable(api: Api, url: str) -> None:
    body = cut(api, url)
    assert (body["resCode"], body["resMessage"]) == (704, "invalid image form: imageUrl")


def test_registered_bytes_are_what_the_url_gives(api: Api) -> None:
    entry = register(api, base64=base64.b64encode(PHOTO).decode(), content_type="image/png")
    assert entry == {"url": URL, "status": 200, "failure": None, "contentType": "image/png",
                     "size": len(PHOTO)}
    data = cut(api, URL)["data"]
    assert (data["width"], data["height"]) == (300, 200)  # not the 1000x1000 synthetic photo


@pytest.mark.parametrize(("body", "code"), [
    ({"status": 404}, 704), ({"status": 503}, 704), ({"status": 301}, 704),
    ({"failure": "timeout"}, 704), ({"failure": "not_image"}, 704),
    ({"failure": "too_large"}, 705),
])
def test_registered_failures(api: Api, body: dict[str, Any], code: int) -> None:
    register(api, **body)
    assert cut(api, URL)["resCode"] == code
    assert cut(api, DOCS_URL)["success"] is True  # other URLs are untouched


def test_registered_bytes_over_the_image_limit_are_705(api: Api,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from dataclasses import replace

    register(api, base64=base64.b64encode(PHOTO).decode())
    monkeypatch.setattr(api.engine, "settings",
                        replace(api.engine.settings, max_image_bytes=len(PHOTO) - 1))
    assert cut(api, URL)["resCode"] == 705


def test_list_delete_one_delete_all_and_reset(api: Api) -> None:
    register(api, status=500)
    other = "https://cdn.example.com/other.jpg"
    assert admin(api, "PUT", json={"url": other, "failure": "timeout"}).status_code == 200
    listed = admin(api, "GET").json()
    assert [e["url"] for e in listed["urls"]] == [URL, other] and listed["count"] == 2
    assert admin(api, "DELETE", params={"url": URL}).json() == {"status": "removed"}
    assert admin(api, "DELETE", params={"url": URL}).status_code == 404
    data = cut(api, URL)["data"]
    assert (data["width"], data["height"]) == (1000, 1000)  # the synthetic photo again
    assert admin(api, "DELETE").json() == {"status": "cleared"}
    assert admin(api, "GET").json()["count"] == 0
    register(api, status=500)
    api.controls.reset()
    assert admin(api, "GET").json()["urls"] == []


@pytest.mark.parametrize("body", [
    {}, {"url": URL}, {"url": "ftp://cdn.example.com/a.png", "status": 404},
    {"url": "https:///nohost.png", "status": 404}, {"url": "https://[::1/a", "status": 404},
    {"url": "https://a.example/" + "x" * 3000, "status": 404},
    {"url": URL, "status": 404, "failure": "timeout"},
    {"url": URL, "base64": "AAAA", "status": 404},
    {"url": URL, "status": 200}, {"url": URL, "status": 600}, {"url": URL, "status": 99},
    {"url": URL, "status": "x" * 5000}, {"url": URL, "base64": "not base64!"},
    {"url": URL, "status": 404, "content_type": "image/png"},
    {"url": URL, "base64": "AAAA", "content_type": "x" * 101},
    {"url": URL, "failure": "boom"}, {"url": 42, "status": 404}, [URL], "x",
])
def test_bad_registrations_get_a_short_400_and_store_nothing(api: Api, body: Any) -> None:
    response = admin(api, "PUT", json=body)
    assert response.status_code == 400, response.text
    assert len(response.json()["detail"]) <= 200 and "x" * 100 not in response.text
    assert admin(api, "GET").json()["count"] == 0


def test_a_body_that_is_not_json_gets_400(api: Api) -> None:
    response = admin(api, "PUT", content=b"{", headers={"content-type": "application/json"})
    assert response.status_code == 400


def test_the_registry_is_bounded_in_count(mock: InProcessMock) -> None:
    for i in range(MAX_URLS):
        assert admin(mock, "PUT", json={"url": f"{URL}?{i}", "status": 404}).status_code == 200
    full = admin(mock, "PUT", json={"url": f"{URL}?new", "status": 404})
    assert full.status_code == 400 and "256" in full.json()["detail"]
    # replacing a registered URL does not need room
    assert admin(mock, "PUT", json={"url": f"{URL}?0", "failure": "timeout"}).status_code == 200


def test_the_registry_is_bounded_in_bytes(mock: InProcessMock) -> None:
    mock.engine.remote = RemoteUrls(max_bytes=1000)
    chunk = base64.b64encode(b"x" * 600).decode()
    assert admin(mock, "PUT", json={"url": URL, "base64": chunk}).status_code == 200
    over = admin(mock, "PUT", json={"url": f"{URL}?2", "base64": chunk})
    assert over.status_code == 400 and "1000" in over.json()["detail"]
    assert admin(mock, "PUT", json={"url": URL, "base64": chunk}).status_code == 200  # replace
    huge = admin(mock, "PUT", json={"url": URL, "base64": "A" * 2000})
    assert huge.status_code == 400
    assert mock.engine.remote.snapshot()["bytes"] == 600


def test_registry_accounting() -> None:
    urls = RemoteUrls(max_urls=2, max_bytes=10)
    urls.put(Registered("a", data=b"12345"))
    urls.put(Registered("a", data=b"123"))
    urls.put(Registered("b", data=b"1234567"))
    with pytest.raises(RegistryFull):
        urls.put(Registered("c", status=404))
    with pytest.raises(RegistryFull):
        urls.put(Registered("a", data=b"1234"))
    assert urls.snapshot()["bytes"] == 10
    urls.remove("b")
    assert urls.snapshot()["bytes"] == 3
    urls.clear()
    assert urls.snapshot() == {"urls": [], "count": 0, "bytes": 0, "maxUrls": 2,
                               "maxBytes": 10}


JSON_VALUES = st.one_of(st.none(), st.booleans(), st.integers(),
                        st.floats(allow_nan=False, allow_infinity=False),
                        st.text(max_size=50), st.lists(st.integers(), max_size=3))


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(
    st.dictionaries(st.sampled_from(["url", "base64", "content_type", "status", "failure", "x"]),
                    JSON_VALUES, max_size=6),
    st.fixed_dictionaries({"url": st.text(max_size=80).map(lambda t: "https://h.example/" + t)},
                          optional={"status": st.integers(), "base64": st.text(max_size=40),
                                    "failure": st.text(max_size=12)}),
    JSON_VALUES))
def test_any_registration_body_gets_200_or_a_short_400(mock: InProcessMock, body: Any) -> None:
    response = admin(mock, "PUT", json=body)
    assert response.status_code in (200, 400), response.text
    if response.status_code == 400:
        assert len(response.json()["detail"]) <= 200
    admin(mock, "DELETE")


@pytest.mark.parametrize("url", ["https://[::1/a.png", "http://]x/a.png"])
def test_a_malformed_image_url_is_704_not_500(api: Api, url: str) -> None:
    assert cut(api, url)["resCode"] == 704
