"""The Docker image: builds, starts, serves the Topview flow over HTTP and the official Runware
SDK's flow over its WebSocket, and stops cleanly.

Needs a container engine (``docker``, or ``podman`` when there is no ``docker``). Without one
the module is skipped, except under CI (``CI`` set), where a missing engine is a failure: CI
installs one first. Run with ``pytest -m container tests/container``.
"""

from __future__ import annotations

import io
import json
import os
import shlex
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from bgmock import contracts
from tests import runware_sdk_flow, topview_chain

pytestmark = pytest.mark.container

ROOT = Path(__file__).resolve().parents[2]
IMAGE = "bgmock-test:pytest"
BUILD_TIMEOUT = 1200      # first build downloads fastapi, uvicorn, numpy, pillow, ...
COMMAND_TIMEOUT = 120
READY_TIMEOUT = 60
STOP_GRACE = 10

DEMO = {"Topview-Uid": "NsDAaOPF4jLuAie4ewyg",
        "Authorization": "Bearer sk-vEsneECh1J5eKHUw4vxHI61e7FvXPnPE1625PmSt3HB"}
TV = "/topview/v1"


# --- the engine ----------------------------------------------------------------------------

def _ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _find_engine() -> tuple[str | None, str]:
    """The first of docker / podman whose ``info`` answers, and why none did otherwise."""
    problems = []
    for name in ("docker", "podman"):
        exe = shutil.which(name)
        if exe is None:
            problems.append(f"no {name!r} on PATH")
            continue
        try:
            info = subprocess.run([exe, "info"], capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as exc:
            problems.append(f"`{name} info` failed: {exc}")
            continue
        if info.returncode == 0:
            return exe, ""
        problems.append(f"`{name} info` exited {info.returncode}: {_tail(info.stderr, 3)}")
    return None, "; ".join(problems)


def _tail(text: str, lines: int = 30) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


@pytest.fixture(scope="module")
def engine() -> str:
    exe, why = _find_engine()
    if exe is None:
        if _ci():
            pytest.fail(f"CI is set but no container engine works ({why}); the CI job must "
                        "provide one (e.g. run /work/shared/container/setup.sh first)")
        pytest.skip(f"no container engine ({why})")
    return exe


def _run(engine: str, *args: str, timeout: float = COMMAND_TIMEOUT, check: bool = True,
         env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    cmd = [engine, *args]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    if check and result.returncode != 0:
        pytest.fail(f"`{shlex.join(cmd)}` exited {result.returncode}:\n"
                    f"{_tail(result.stdout)}\n{_tail(result.stderr)}")
    return result


def _inspect(engine: str, target: str, *, kind: str = "container") -> dict[str, Any]:
    out = _run(engine, kind, "inspect", target).stdout
    return json.loads(out)[0]


# --- image and container -------------------------------------------------------------------

@pytest.fixture(scope="module")
def image(engine: str) -> str:
    started = time.monotonic()
    # podman's own CLI (also behind podman-docker's `docker` script) writes OCI images, which
    # drop HEALTHCHECK; BUILDAH_FORMAT asks it for Docker's format. Docker ignores it.
    _run(engine, "build", "-t", IMAGE, str(ROOT), timeout=BUILD_TIMEOUT,
         env={**os.environ, "BUILDAH_FORMAT": "docker"})
    print(f"\nbuilt {IMAGE} in {time.monotonic() - started:.1f}s")
    return IMAGE


def _free_port() -> int:
    # The container may share the host's network namespace (podman here), so the port must be
    # free on the host; `-p port:port` covers engines that use a bridge network instead.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("", 0))
        return sock.getsockname()[1]


@dataclass
class Container:
    engine: str
    name: str
    port: int

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def logs(self) -> str:
        result = _run(self.engine, "logs", self.name, check=False)
        return result.stdout + result.stderr

    def state(self) -> dict[str, Any]:
        return _inspect(self.engine, self.name)["State"]

    def exec(self, *args: str) -> subprocess.CompletedProcess[str]:
        return _run(self.engine, "exec", self.name, *args, check=False)


def _wait_ready(container: Container) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    last = "no answer yet"
    with httpx.Client(timeout=2, trust_env=False) as http:
        while time.monotonic() < deadline:
            try:
                answer = http.get(f"{container.base_url}/__admin/health")
                if answer.status_code == 200 and answer.json().get("status") == "ok":
                    return
                last = f"HTTP {answer.status_code}: {answer.text[:200]}"
            except httpx.HTTPError as exc:
                last = repr(exc)
            if not container.state().get("Running", False):
                pytest.fail(f"container exited before it was ready:\n{_tail(container.logs())}")
            time.sleep(0.25)
    pytest.fail(f"/__admin/health not ready after {READY_TIMEOUT}s ({last}):\n"
                f"{_tail(container.logs())}")


@contextmanager
def running(engine: str, image: str, *extra: str) -> Iterator[Container]:
    """A fresh detached container on a free port; stopped and removed afterwards, always.
    ``extra``: more ``run`` options (a volume, an environment variable)."""
    port = _free_port()
    container = Container(engine, f"bgmock-test-{uuid.uuid4().hex[:12]}", port)
    try:
        # --stop-timeout: containers made through podman's Docker API otherwise get 0 (SIGKILL
        # at once on `docker stop`); 10 is Docker's own default.
        _run(engine, "run", "-d", "--name", container.name, "-e", f"BGMOCK_PORT={port}",
             "-p", f"{port}:{port}", "--stop-timeout", str(STOP_GRACE), *extra, image)
        _wait_ready(container)
        yield container
    finally:
        _run(engine, "rm", "-f", container.name, check=False)


@pytest.fixture(scope="module")
def container(engine: str, image: str) -> Iterator[Container]:
    with running(engine, image) as c:
        yield c


@pytest.fixture
def http(container: Container) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=container.base_url, timeout=30, trust_env=False) as client:
        yield client


# --- checks ----------------------------------------------------------------------------------

def _topview(operation: str, response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body.get("code") == "200", body
    contracts.validate("topview", f"{operation}.response", body)
    return body["result"]


def test_image_declares_port_env_user_and_healthcheck(engine: str, container: Container) -> None:
    config = _inspect(engine, container.name)["Config"]
    env = dict(item.split("=", 1) for item in config.get("Env") or [])
    assert env.get("BGMOCK_HOST") == "0.0.0.0", env
    assert env.get("BGMOCK_PORT") == str(container.port)      # -e overrides the image's 8080
    assert env.get("PYTHONUNBUFFERED") == "1"
    image_config = _inspect(engine, IMAGE, kind="image")["Config"]
    image_env = dict(item.split("=", 1) for item in image_config.get("Env") or [])
    assert image_env.get("BGMOCK_PORT") == "8080"
    assert "8080/tcp" in (image_config.get("ExposedPorts") or {})
    assert config.get("User") not in (None, "", "0", "root", "0:0"), config.get("User")
    # The container's config carries the image's HEALTHCHECK (podman's Docker API leaves it
    # out of `image inspect`, so read it here).
    health = config.get("Healthcheck") or {}
    assert health.get("Test"), f"no HEALTHCHECK in the image: {config}"
    assert "/__admin/health" in " ".join(health["Test"])


def test_runs_as_non_root(container: Container) -> None:
    uid = container.exec("id", "-u")
    assert uid.returncode == 0, uid.stderr
    assert uid.stdout.strip() != "0"


def test_healthcheck_command_passes(engine: str, container: Container) -> None:
    test = (_inspect(engine, container.name)["Config"].get("Healthcheck") or {}).get("Test")
    assert test, "no HEALTHCHECK in the image"
    kind, args = test[0], test[1:]
    assert kind in ("CMD", "CMD-SHELL"), test
    argv = args if kind == "CMD" else ["/bin/sh", "-c", *args]
    result = container.exec(*argv)
    assert result.returncode == 0, f"healthcheck failed: {result.stdout}{result.stderr}"


def test_binds_all_interfaces(container: Container) -> None:
    assert f"Uvicorn running on http://0.0.0.0:{container.port}" in container.logs()


def test_topview_remove_background_flow(http: httpx.Client) -> None:
    credential = _topview("upload_credential",
                          http.get(f"{TV}/upload/credential", params={"format": "png"},
                                   headers=DEMO))
    file_id = credential["fileId"]
    put = http.put(credential["uploadUrl"], content=topview_chain.product_png())
    assert put.status_code == 200, put.text
    assert _topview("upload_check", http.get(f"{TV}/upload/check", params={"fileId": file_id},
                                              headers=DEMO)) is True

    submitted = _topview("remove_background_submit",
                         http.post(f"{TV}/common_task/remove_background/submit",
                                   json={"productImageFileId": file_id},
                                   headers={**DEMO, "X-Mock-Fault": "polls=2"}))
    task_id = submitted["taskId"]

    statuses = []
    for _ in range(20):
        result = _topview("remove_background_query",
                          http.get(f"{TV}/common_task/remove_background/query",
                                   params={"taskId": task_id}, headers=DEMO))
        statuses.append(result["status"])
        if result["status"] in ("success", "fail"):
            break
        time.sleep(0.1)
    assert statuses[-1] == "success", (statuses, result)
    assert len(statuses) == 2, statuses                    # polls=2: done on the second poll

    download = http.get(result["bgRemovedImagePath"])
    assert download.status_code == 200, download.text[:300]
    with Image.open(io.BytesIO(download.content)) as cutout:
        assert cutout.format == "PNG"
        assert "A" in cutout.getbands(), cutout.mode
        assert cutout.size == (result["bgRemovedImageWidth"], result["bgRemovedImageHeight"])
        low, high = cutout.getchannel("A").getextrema()
        assert low == 0 and high == 255, (low, high)      # transparent corners, opaque subject


def test_topview_docs_chain_with_real_bytes_and_a_playable_mp4(http: httpx.Client) -> None:
    # remove background -> product background -> replace -> image2Video, image work in the
    # container's worker processes (D150)
    topview_chain.check(topview_chain.run(http))


def test_runware_official_sdk_flow(container: Container, tmp_path: Path) -> None:
    # the official `runware` SDK, unchanged: upload a local file, remove its background
    url = f"ws://127.0.0.1:{container.port}/runware/v1"
    photo = runware_sdk_flow.product_photo(tmp_path / "product.jpg")
    [image] = runware_sdk_flow.remove(url, photo, outputType="URL", includeCost=True)
    assert image.imageUUID and image.cost
    with httpx.Client(timeout=30, trust_env=False) as http:
        runware_sdk_flow.transparent_png(http.get(image.imageURL).raise_for_status().content)


def test_stop_is_graceful(engine: str, image: str) -> None:
    with running(engine, image) as container:
        started = time.monotonic()
        _run(engine, "stop", "-t", str(STOP_GRACE), container.name, timeout=STOP_GRACE + 60)
        took = time.monotonic() - started
        state = container.state()
        logs = container.logs()
    assert state.get("ExitCode") == 0, (state, _tail(logs))
    assert took < STOP_GRACE - 2, f"stop took {took:.1f}s: SIGTERM was not handled"
    assert "Finished server process" in logs, _tail(logs)


def test_contract_checks_pass_against_the_container(container: Container, tmp_path: Path) -> None:
    """Issue 12: `bgmock check --target <the container>` - every named check of every provider
    through the reference clients, no failure and no drift (exit status 0)."""
    from bgmock.check.cli import main

    out = tmp_path / "drift.json"
    status = main(["--target", container.base_url, "--report", str(out)])
    data = json.loads(out.read_text())
    assert status == 0, [r for r in data["results"] if r["status"] == "fail"] + data["drift"]
    assert data["summary"]["fail"] == 0 and data["summary"]["drift"] == 0
    assert data["summary"]["skip"] == 0  # over the wire: every check runs, sockets included


def test_the_container_replays_a_recording(engine: str, image: str, tmp_path: Path) -> None:
    """Issue 12 part 4 in the container: a run recorded in-process (`bgmock check --record`),
    mounted read-only and served with BGMOCK_REPLAY; the same checks pass over the wire and
    the answers are the recorded ones."""
    from bgmock.check.cli import main

    folder = tmp_path / "recorded"
    assert main(["--provider", "topview", "--record", str(folder)]) == 0
    with running(engine, image, "-v", f"{folder}:/replay:ro",
                 "-e", "BGMOCK_REPLAY=/replay") as container:
        out = tmp_path / "report.json"
        status = main(["--target", container.base_url, "--provider", "topview",
                       "--report", str(out)])
        data = json.loads(out.read_text())
        assert status == 0, [r for r in data["results"] if r["status"] == "fail"] + data["drift"]
        with httpx.Client(base_url=container.base_url, timeout=30, trust_env=False) as http:
            answer = http.get(f"{TV.removesuffix('/v1')}/user/credit/detail", headers=DEMO)
        assert answer.headers.get("x-bgmock-replayed") == "1", answer.headers
        _topview("credit_detail", answer)
