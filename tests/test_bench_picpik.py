"""bench/picpik.py runs (quick, small): its signed requests verify as PICPIK's, its in-process
and served cut-out figures come out, and its query hot path is in the table's hook."""

from __future__ import annotations

import json

from bgmock.client.picpik import sign

from bench import picpik, providers


def test_submits_are_signed_and_rotate_over_the_config_keys() -> None:
    requests = picpik.submits(0)
    assert len(requests) == picpik.ACCOUNTS == len(picpik.CONFIG["accounts"]["picpik"])
    keys = {a["public_key"]: a["private_key"] for a in picpik.CONFIG["accounts"]["picpik"]}
    for request in requests[:3]:
        body = json.loads(request.body)
        assert request.method == "POST" and request.path == "/picpik/"
        assert body["Signature"] == sign(body, keys[body["PublicKey"]])
        assert body["RawImage"].startswith("data:image/png;base64,")
    assert picpik.ret_code_0(200, {"RetCode": 0, "TaskUID": "x"}) is None
    assert picpik.ret_code_0(200, {"RetCode": 171}) is not None


def test_the_query_hot_path_is_in_the_table() -> None:
    (path,) = [p for p in providers.HOT_PATHS if p.slug == "picpik_query"]
    assert path.target == 0.7
    (request,) = path.requests(0)
    assert json.loads(request.body)["Action"] == "ListTasksDetails"
    finished = {"RetCode": 0, "TaskDetailList": [{"Status": "Finished"}]}
    assert path.expect(200, finished) is None
    assert path.expect(200, {"RetCode": 0, "TaskDetailList": [{"Status": "Running"}]})


def test_cut_out_figures_in_process_and_served() -> None:
    inner = picpik.in_process(64, repeat=3, budget_s=0.5)
    assert inner["picpik_cpu_ms"] > 0 and inner["plain_cutout_cpu_ms"] > 0
    outer = picpik.served(64, tasks=4, connections=2, timeout_s=60,
                          serve_args=("--speed", "100"))
    assert outer["tasks"] == 4 and outer["cutouts_per_s"] > 0
    assert outer["server_cpu_ms_per_cutout"] > 0
    result = {"submits": {"median": {"mock": {"rps": 10.0}, "bare": {"rps": 20.0}},
                          "ratio_mock_to_bare": 0.5},
              "cutouts": {"64x64": {"in_process": inner, "served": outer}}}
    assert "mock/bare 0.50" in picpik.summary(result) and "64x64" in picpik.summary(result)
