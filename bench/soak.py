"""``python -m bench.soak``: throw the nasty inputs of the hardening review at a running server.

Starts ``bgmock serve`` with its defaults on a free port, records its RSS, then sends each class
of input that once broke the server or pinned its memory (unbounded numbers, un-encodable text,
failed admin writes, typos, huge wrong-typed fields, oversized chunked bodies, huge headers,
unauthenticated unique bodies, silent connections, a reset with work in flight). Afterwards it
checks that the server still answers (health, a whole Topview flow, an Aidge call) and that its
RSS is back within ``--budget-mb`` (default 50) of where it started.

Prints one JSON report; exits 1 when the server broke or kept the memory. Every loop is bounded
in count and time, and every request goes to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import hmac
import io
import json
import socket
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

from bench import procs

DEMO = {"Topview-Uid": "NsDAaOPF4jLuAie4ewyg",
        "Authorization": "Bearer sk-vEsneECh1J5eKHUw4vxHI61e7FvXPnPE1625PmSt3HB"}
AIDGE_KEY, AIDGE_SECRET = "512345", "S4etzZ73nF08vOXVhk3wZjIaLSHw0123"
SUBMIT = "/topview/v1/common_task/remove_background/submit"
QUERY = "/topview/v1/common_task/remove_background/query"
CUT_OUT = "/aidge/rest/ai/image/cut/out"
DOCS_FILE = "5a85c359bff14c95889e4652f1ec467e"
MiB = 1024 * 1024


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def aidge_query(now_s: float) -> dict[str, str]:
    ts = str(int(now_s * 1000))
    sign = hmac.new(AIDGE_SECRET.encode(), (AIDGE_SECRET + ts).encode(),
                    hashlib.sha256).hexdigest().upper()
    return {"sign_ver": "v2", "sign_method": "sha256", "app_key": AIDGE_KEY, "timestamp": ts,
            "sign": sign}


def chunks(size: int, piece: int = 1 * MiB) -> Iterator[bytes]:
    block = b" " * piece
    yield b"{"
    for _ in range(size // piece):
        yield block
    yield b"}"


def raw_request(port: int, head: bytes, timeout: float = 30.0) -> bytes:
    """Send ``head`` (request line + headers) on a fresh connection; the first bytes back."""
    with socket.create_connection((procs.HOST, port), timeout=timeout) as sock:
        with contextlib.suppress(OSError):  # it may close while we send: what did it say?
            sock.sendall(head)
        try:
            return sock.recv(256)
        except OSError as exc:
            return f"<{type(exc).__name__}>".encode()


class Soak:
    def __init__(self, http: httpx.Client, port: int, pid: int) -> None:
        self.http, self.port, self.pid = http, port, pid
        self.steps: list[dict[str, Any]] = []

    def step(self, name: str, action: Callable[[], Any]) -> None:
        started = time.perf_counter()
        try:
            seen = action()
            error = None
        except Exception as exc:  # a step that fails is reported, the soak goes on
            seen, error = None, f"{type(exc).__name__}: {str(exc)[:200]}"
        self.steps.append({"step": name, "seconds": round(time.perf_counter() - started, 2),
                           "rssMb": round(rss_mb(self.pid), 1), "seen": seen, "error": error})

    def statuses(self, requests: list[tuple[str, str, dict[str, Any]]]) -> list[int]:
        return [self.http.request(method, path, **kw).status_code for method, path, kw in requests]

    def numbers(self) -> list[int]:
        as_json = {"content-type": "application/json"}
        admin = [("POST", "/__admin/clock/advance",
                  {"content": f'{{"seconds": {v}}}'.encode(), "headers": as_json})
                 for v in ("1e308", "Infinity", "NaN", "2.6e11", "false", "-1")]
        faults = [("POST", SUBMIT, {"json": {"productImageFileId": DOCS_FILE},
                                    "headers": {**DEMO, "X-Mock-Fault": f}})
                  for f in ("delay=inf", "delay=nan", "delay=1e9", "duration=inf",
                            f"polls={10**100}")]
        return self.statuses(admin + faults)

    def surrogates(self) -> list[int]:
        lone = '"\\ud800"'
        json_headers = {"content-type": "application/json"}
        return self.statuses([
            ("POST", SUBMIT, {"content": f'{{"productImageFileId": "{DOCS_FILE}", '
                                         f'"noticeUrl": {lone}}}'.encode(),
                              "headers": {**DEMO, **json_headers}}),
            ("PUT", "/__admin/accounts/topview/soak",
             {"content": f'{{"secret": {lone}}}'.encode(), "headers": json_headers}),
            ("POST", CUT_OUT, {"params": aidge_query(self.now()), "headers": json_headers,
                               "content": f'{{"imageUrl": {lone}, "backGroundType": '
                                          f'"TRANSPARENT"}}'.encode()}),
        ])

    def admin_mistakes(self) -> list[int]:
        return self.statuses([
            ("PUT", "/__admin/accounts/topview/soak2",
             {"json": {"secret": "s", "credits": "lots"}}),
            ("PUT", "/__admin/accounts/aidge/512345", {"json": {"extra": {"qps": "ten"}}}),
            ("POST", "/__admin/faults", {"json": {"provider": "aidge", "operation": "cutout",
                                                  "fault": "error=501"}}),
            ("POST", "/__admin/faults", {"json": {"provider": "topview",
                                                  "fault": "x" * (100 * MiB)}}),
        ])

    def huge_field(self) -> list[int]:
        field = "x" * (40 * MiB)
        return [self.http.post(SUBMIT, json={"productImageFileId": [field]},
                               headers=DEMO).status_code for _ in range(3)]

    def oversized_bodies(self) -> list[int]:
        return [self.http.post(SUBMIT, content=chunks(100 * MiB),
                               headers={**DEMO, "content-type": "application/json"}).status_code
                for _ in range(6)]

    def huge_header(self) -> str:
        head = (f"GET /__admin/health HTTP/1.1\r\nHost: {procs.HOST}\r\n"
                f"X-Big: {'h' * (100 * MiB)}\r\n\r\n").encode()
        return raw_request(self.port, head)[:40].decode(errors="replace")

    def unauthenticated(self) -> dict[str, int]:
        seen: dict[str, int] = {}
        for n in range(1000):
            body = f"imageUrl={n}-{'a' * 100_000}&backGroundType=TRANSPARENT"
            code = self.http.post(CUT_OUT, content=body, headers={
                "content-type": "application/x-www-form-urlencoded"}).json().get("code", "?")
            seen[code] = seen.get(code, 0) + 1
        for n in range(200):
            form = f"imageUrl={n}-{'b' * MiB}"
            code = self.http.post(CUT_OUT, content=form, headers={
                "content-type": "application/x-www-form-urlencoded"}).json().get("code", "?")
            seen[code] = seen.get(code, 0) + 1
        return seen

    def silent_connections(self) -> int:
        opened = []
        try:
            for _ in range(200):
                opened.append(socket.create_connection((procs.HOST, self.port), timeout=5))
            return self.http.get("/__admin/health").status_code
        finally:
            for sock in opened:
                sock.close()

    def reset_in_flight(self) -> list[str]:
        upload = self.upload(png())
        task = self.http.post(SUBMIT, json={"productImageFileId": upload},
                              headers=DEMO).json()["result"]["taskId"]
        self.http.post("/__admin/reset")
        time.sleep(0.5)
        return [t["id"] for t in self.http.get("/__admin/tasks").json() if t["id"] == task]

    def now(self) -> float:
        return float(self.http.get("/__admin/clock").json()["now"])

    def upload(self, data: bytes) -> str:
        credential = self.http.get("/topview/v1/upload/credential", params={"format": "png"},
                                   headers=DEMO).json()["result"]
        self.http.put(credential["uploadUrl"], content=data).raise_for_status()
        return str(credential["fileId"])

    def healthy(self) -> dict[str, Any]:
        """Health, a whole Topview flow (upload, submit, wait, download) and an Aidge call."""
        health = self.http.get("/__admin/health").status_code
        task = self.http.post(SUBMIT, json={"productImageFileId": self.upload(png())},
                              headers={**DEMO, "X-Mock-Fault": "duration=0.5"}).json()
        status = "?"
        for _ in range(50):
            answer = self.http.get(QUERY, params={"taskId": task["result"]["taskId"]},
                                   headers=DEMO).json()["result"]
            status = answer["status"]
            if status in ("success", "fail"):
                break
            time.sleep(0.1)
        download = self.http.get(answer["bgRemovedImagePath"]).status_code \
            if status == "success" else None
        aidge = self.http.post(CUT_OUT, params=aidge_query(self.now()), json={
            "imageUrl": "https://example.com/p.jpg", "backGroundType": "TRANSPARENT"}).json()
        return {"health": health, "topviewTask": status, "download": download,
                "aidge": aidge.get("resCode")}


def png() -> bytes:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (400, 400), (240, 240, 240))
    ImageDraw.Draw(img).rectangle((100, 80, 300, 340), fill=(40, 90, 160))
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--budget-mb", type=float, default=50.0,
                        help="how far RSS may stay above its start afterwards (default 50)")
    args = parser.parse_args(argv)
    port = procs.free_port()
    argv_serve = procs.mock_command(port)  # `bgmock serve --port N`, every default
    with procs.server(argv_serve, port, None) as proc, \
            httpx.Client(base_url=f"http://{procs.HOST}:{port}", timeout=120) as http:
        soak = Soak(http, port, proc.pid)
        soak.step("warm-up", soak.healthy)
        start = rss_mb(proc.pid)
        for name in ("numbers", "surrogates", "admin_mistakes", "huge_field", "oversized_bodies",
                     "huge_header", "unauthenticated", "silent_connections", "reset_in_flight"):
            soak.step(name, getattr(soak, name))
        soak.step("still healthy", soak.healthy)
        end = rss_mb(proc.pid)
        after = soak.steps[-1]["seen"] or {}
        broken = [s["step"] for s in soak.steps if s["error"]]
        healthy = (after.get("health") == 200 and after.get("topviewTask") == "success"
                   and after.get("download") == 200 and after.get("aidge") == 200)
        report = {"rssStartMb": round(start, 1), "rssEndMb": round(end, 1),
                  "rssPeakSeenMb": max(s["rssMb"] for s in soak.steps),
                  "budgetMb": args.budget_mb, "healthy": healthy, "stepsWithErrors": broken,
                  "steps": soak.steps}
    json.dump(report, sys.stdout, indent=1)
    print()
    ok = healthy and end - start <= args.budget_mb
    print(f"soak: RSS {start:.0f} -> {end:.0f} MB (budget +{args.budget_mb:.0f}), "
          f"{'healthy' if healthy else 'NOT healthy'}: {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
