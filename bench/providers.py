"""The providers hook: each provider's hot paths, measured against a bare route (mock / bare
requests per second in one run), one entry each in ``HOT_PATHS``.

A later provider joins the table with one entry, e.g. for PICPIK's task query::

    HotPath("PICPIK query (GET, finished task)", fixed(get(PICPIK_QUERY, PICPIK_HEADERS)),
            expect=json_field("code", 0))

``requests`` builds the requests against the started mock (its port), so a path that needs
set-up (an upload, a fresh timestamp) does it there; the first request's answer is captured
and served byte for byte by the bare route. ``expect`` checks that answer (None when it is
the one meant, else what is wrong), so a row never measures an error page by mistake.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench import procs
from bench.load import HttpRequest, get
from bench.procs import HOST

Requests = Callable[[int], tuple[HttpRequest, ...]]
Expect = Callable[[int, Any], str | None]    # (HTTP status, parsed JSON) -> problem or None


@dataclass(frozen=True)
class HotPath:
    name: str                                 # the table's row label
    requests: Requests                        # built against the started mock's port
    expect: Expect
    target: float = 0.7                       # mock / bare throughput, at least
    serve_args: tuple[str, ...] = ()          # beyond `bgmock serve --port P` (defaults)
    config: dict[str, Any] | None = None      # a --config file, when the row needs one
    history: bool = False                     # also measure a later window: cost vs history
    stored: Callable[[int], int] | None = None  # how many tasks the mock holds (history rows)
    note: str = ""
    key: str = field(default="")              # short name for the JSON and --help

    @property
    def slug(self) -> str:
        return self.key or self.name.split(" (")[0].lower().replace(" ", "_")


def fixed(*requests: HttpRequest) -> Requests:
    return lambda _port: requests


def json_field(name: str, value: Any, status: int = 200) -> Expect:
    def expect(code: int, answer: Any) -> str | None:
        found = answer.get(name) if isinstance(answer, dict) else None
        if code != status or found != value:
            return f"HTTP {code}, {name}={found!r} (expected HTTP {status}, {name}={value!r})"
        return None
    return expect


# --- Topview --------------------------------------------------------------------------------

TOPVIEW_HEADERS = {"Topview-Uid": "NsDAaOPF4jLuAie4ewyg",
                   "Authorization": "Bearer sk-vEsneECh1J5eKHUw4vxHI61e7FvXPnPE1625PmSt3HB"}
DOCS_TASK = "56eac11a862143989e9cc63f8b213a2d"   # finished on a fresh mock (the docs' task)
TOPVIEW_QUERY = f"/topview/v1/common_task/remove_background/query?taskId={DOCS_TASK}"
TOPVIEW_SUBMIT = "/topview/v1/common_task/remove_background/submit"
TOPVIEW_CREDENTIAL = "/topview/v1/upload/credential?format=png"
TOPVIEW_COST = 0.5                              # credits reserved per submit

# The submit row creates a task per request and the virtual clock never ends one, so the
# concurrency limit (at most 10,000 unfinished tasks per account) would refuse the run after
# 10,000 submits: the requests rotate over SUBMIT_ACCOUNTS accounts from a --config file,
# each with its own uploaded image (D141). 64 x 10,000 = 640,000 submits: 30 s at 20k req/s.
SUBMIT_ACCOUNTS = 64
SUBMIT_CONFIG = {"accounts": {"topview": [
    {"uid": f"bench-{i:02d}", "api_key": f"sk-bench-{i:02d}", "credits": 1e12,
     "concurrency": 10_000} for i in range(SUBMIT_ACCOUNTS)]}}


def _topview_headers(account: dict[str, Any]) -> dict[str, str]:
    return {"Topview-Uid": account["uid"], "Authorization": f"Bearer {account['api_key']}"}


def topview_query_ok(status: int, answer: Any) -> str | None:
    problem = json_field("code", "200")(status, answer)
    if problem is None and answer["result"].get("status") != "success":
        return f"task status {answer['result'].get('status')!r}, expected 'success'"
    return problem


# Submit starts the task's image work at once (the task store runs it as soon as the task is
# created, whatever the clock), so the row cannot avoid imaging; the tiniest image keeps it
# to the fixed costs (a worker hop, decode, segment, two PNG encodes: ~0.2-0.5 ms of CPU).
SUBMIT_IMAGE_SIDE = 8


def small_png(side: int = SUBMIT_IMAGE_SIDE) -> bytes:
    from bgmock.server.core import imaging

    return imaging.encode(imaging.synthetic_product("bench", side, side), "png")


def topview_submits(port: int) -> tuple[HttpRequest, ...]:
    """Uploads one image per bench account (credential, then the presigned PUT), and returns
    one submit per account, with its own headers and file."""
    png, requests = small_png(), []
    with httpx.Client(base_url=f"http://{HOST}:{port}", timeout=30) as http:
        for account in SUBMIT_CONFIG["accounts"]["topview"]:
            headers = _topview_headers(account)
            credential = http.get(TOPVIEW_CREDENTIAL, headers=headers).json()["result"]
            http.put(credential["uploadUrl"], content=png).raise_for_status()
            body = json.dumps({"productImageFileId": credential["fileId"]}).encode()
            requests.append(HttpRequest(
                "POST", TOPVIEW_SUBMIT,
                (*headers.items(), ("Content-Type", "application/json")), body))
    return tuple(requests)


def topview_unfinished(port: int) -> int:
    """Unfinished Topview tasks on the mock, from the credits the accounts have reserved."""
    status, body = procs.get(port, "/__admin/accounts/topview")
    if status != 200:
        raise RuntimeError(f"GET /__admin/accounts/topview: HTTP {status}")
    return round(sum(a["reserved"] for a in json.loads(body)) / TOPVIEW_COST)


# --- Aidge ----------------------------------------------------------------------------------

AIDGE_KEY, AIDGE_SECRET = "512345", "S4etzZ73nF08vOXVhk3wZjIaLSHw0123"   # the demo account
AIDGE_CUT_OUT = "/aidge/rest/ai/image/cut/out"


def aidge_bad_signature(port: int) -> tuple[HttpRequest, ...]:
    """A v2-signed cut-out with a current timestamp and a wrong ``sign``: the gateway looks the
    account up, checks the timestamp, computes the signature and refuses (IncompleteSignature).
    Built at start so the timestamp is inside the gateway's window."""
    timestamp = str(int(time.time() * 1000))
    right = hmac.new(AIDGE_SECRET.encode(), (AIDGE_SECRET + timestamp).encode(),
                     hashlib.sha256).hexdigest().upper()
    wrong = ("0" if right[0] != "0" else "1") + right[1:]
    path = (f"{AIDGE_CUT_OUT}?partner_id=aidge&sign_method=sha256&sign_ver=v2"
            f"&app_key={AIDGE_KEY}&timestamp={timestamp}&sign={wrong}")
    body = json.dumps({"imageUrl": "https://example.com/a.png",
                       "backGroundType": "TRANSPARENT"}).encode()
    return (HttpRequest("POST", path, (("Content-Type", "application/json"),), body),)


def aidge_refused(status: int, answer: Any) -> str | None:
    code = answer.get("code") if isinstance(answer, dict) else None
    return None if code == "IncompleteSignature" else f"HTTP {status}, code {code!r}"


# --- Runware --------------------------------------------------------------------------------

RUNWARE_KEY = "runware-demo-key"                 # R27: preconfigured on a fresh mock
RUNWARE_REST = "/runware/v1"
RUNWARE_HEADERS = (("Authorization", f"Bearer {RUNWARE_KEY}"),
                   ("Content-Type", "application/json"))


def runware_get_response(port: int) -> tuple[HttpRequest, ...]:
    """One sync removal of a tiny image (it is finished when its answer comes), then the
    ``getResponse`` of that task: Runware's hottest read path (R19)."""
    task_uuid = str(uuid.uuid4())
    image = "data:image/png;base64," + base64.b64encode(small_png()).decode("ascii")
    removal = [{"taskType": "removeBackground", "taskUUID": task_uuid, "inputImage": image}]
    with httpx.Client(base_url=f"http://{HOST}:{port}", timeout=30) as http:
        http.post(RUNWARE_REST, json=removal, headers=dict(RUNWARE_HEADERS)).raise_for_status()
    body = json.dumps([{"taskType": "getResponse", "taskUUID": task_uuid}]).encode()
    return (HttpRequest("POST", RUNWARE_REST, RUNWARE_HEADERS, body),)


def runware_finished(status: int, answer: Any) -> str | None:
    data = answer.get("data") if isinstance(answer, dict) else None
    item = data[0] if isinstance(data, list) and data and isinstance(data[0], dict) else {}
    if status != 200 or item.get("status") != "success":
        return f"HTTP {status}, status {item.get('status')!r} (expected HTTP 200, 'success')"
    return None


# --- the table's ratio rows, in order -------------------------------------------------------

HOT_PATHS: tuple[HotPath, ...] = (
    HotPath("Topview query (GET, finished task, two signed URLs)",
            fixed(get(TOPVIEW_QUERY, TOPVIEW_HEADERS)), topview_query_ok, 0.7,
            key="topview_query"),
    HotPath("Topview remove-background submit (POST, validated, creates a task)",
            topview_submits, json_field("code", "200"), 0.5,
            serve_args=("--clock", "virtual"), config=SUBMIT_CONFIG, history=True,
            stored=topview_unfinished,
            note=f"virtual clock (tasks never end; each account's "
                 f"{SUBMIT_IMAGE_SIDE}x{SUBMIT_IMAGE_SIDE} upload is cut out once, D164); "
                 f"{SUBMIT_ACCOUNTS} config "
                 "accounts with 10^12 credits and concurrency 10,000 each, rotated",
            key="topview_submit"),
    HotPath("Aidge gateway: signature check failing (IncompleteSignature answer)",
            aidge_bad_signature, aidge_refused, 0.6, key="aidge_bad_signature"),
    HotPath("Runware getResponse (POST, finished task)", runware_get_response,
            runware_finished, 0.7, key="runware_get_response"),
)


# --- PICPIK ---------------------------------------------------------------------------------

PICPIK_DOCS_KEY = "ALLak9M4cNdHXKOJAJJ4k8Hh1hZS2EgJF1D0FlPwfl"   # the docs' key (K16)
PICPIK_DOCS_TASK = "ckti5nf2h4keq8mr9n00"   # finished on a fresh mock (the docs' task)
PICPIK_QUERY = json.dumps({
    "Action": "ListTasksDetails", "PublicKey": PICPIK_DOCS_KEY,
    "Signature": "8c862d16a4a5b4a23e0bb0f0e6bd1e2ee3a52f4d", "TaskUIDList": [PICPIK_DOCS_TASK],
    "request_uuid": "ebe3bd1a-2fb6-4a85-a1bd-a5d556bf0f50"}).encode()


def picpik_query_ok(status: int, answer: Any) -> str | None:
    problem = json_field("RetCode", 0)(status, answer)
    if problem is None:
        found = [t.get("Status") for t in answer.get("TaskDetailList") or []]
        if found != ["Finished"]:
            return f"task statuses {found!r}, expected ['Finished']"
    return problem


PICPIK_HOT_PATH = HotPath(
    "PICPIK ListTasksDetails (POST, one finished task, its ImgList URL)",
    fixed(HttpRequest("POST", "/picpik/", (("Content-Type", "application/json"),),
                      PICPIK_QUERY)),
    picpik_query_ok, 0.7, key="picpik_query",
    note="the docs' key and task (K16: signature checking off for that key)")
HOT_PATHS = (*HOT_PATHS, PICPIK_HOT_PATH)
