"""The server process's guards, over real sockets against ``bgmock serve`` (D50-D56)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from bgmock.server import server
from bgmock.server.settings import Settings
from bgmock.server.testing import free_port

from tests.conftest import CREDIT, DEMO

HEALTH = b"GET /__admin/health HTTP/1.1\r\nHost: mock\r\n"


@dataclass
class Served:
    process: subprocess.Popen[bytes]
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def connect(self) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        sock.settimeout(5)
        return sock


def _open_files(limit: int) -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))


@contextlib.contextmanager
def serving(open_files: int | None = None, **settings: object) -> Iterator[Served]:
    """``bgmock serve`` on a free port with ``BGMOCK_<NAME>`` settings (and, if given, that
    ``ulimit -n``), stopped afterwards."""
    port = free_port()
    env = {**os.environ, "BGMOCK_PORT": str(port), "BGMOCK_CLOCK": "virtual",
           "BGMOCK_LOG_LEVEL": "warning",
           **{f"BGMOCK_{k.upper()}": str(v) for k, v in settings.items()}}
    process = subprocess.Popen([sys.executable, "-m", "bgmock.server", "serve"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               preexec_fn=(lambda: _open_files(open_files)) if open_files
                               else None)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/__admin/health", timeout=1)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stderr.read() if process.stderr else ""
                assert time.monotonic() < deadline, "bgmock serve did not start"
                time.sleep(0.05)
        yield Served(process, port)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        if process.stderr:
            process.stderr.close()


def read_response(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (bounded by the timeout)."""
    chunks = []
    with contextlib.suppress(ConnectionResetError):
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def closed_within(sock: socket.socket, seconds: float) -> bool:
    """True when the server closes ``sock`` (EOF or reset) within ``seconds``."""
    sock.settimeout(seconds)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


@pytest.fixture(scope="module")
def limited() -> Iterator[Served]:
    with serving() as served:
        yield served


# -- the request head: bytes and header count ------------------------------------------------

def test_a_huge_header_is_refused_with_431_before_it_is_read(limited: Served) -> None:
    started = time.monotonic()
    with limited.connect() as sock:
        sending = threading.Thread(target=_send_quietly, args=(
            sock, HEALTH + b"X-Big: " + b"a" * (32 * 1024 * 1024) + b"\r\n\r\n"))
        sending.start()
        answer = read_response(sock)
        sending.join(timeout=10)
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    assert b"connection: close" in answer.lower() and b"bgmockError" in answer
    assert time.monotonic() - started < 5
    assert httpx.get(f"{limited.url}/__admin/health").status_code == 200


def _send_quietly(sock: socket.socket, data: bytes) -> None:
    with contextlib.suppress(OSError):
        sock.sendall(data)


@pytest.mark.parametrize(("size", "status"), [(60 * 1024, b"200"), (70 * 1024, b"431")])
def test_the_head_limit_is_64_kib(limited: Served, size: int, status: bytes) -> None:
    head = HEALTH + b"X-Pad: " + b"p" * (size - len(HEALTH) - 11) + b"\r\nConnection: close\r\n\r\n"
    with limited.connect() as sock:
        sock.sendall(head)
        assert read_response(sock).split(b" ", 2)[1] == status


@pytest.mark.parametrize(("count", "status"), [(100, b"200"), (101, b"431")])
def test_at_most_100_header_fields(limited: Served, count: int, status: bytes) -> None:
    # Host and Connection count too
    extra = b"".join(b"X-H%d: v\r\n" % i for i in range(count - 2))
    with limited.connect() as sock:
        sock.sendall(HEALTH + extra + b"Connection: close\r\n\r\n")
        assert read_response(sock).split(b" ", 2)[1] == status


def test_many_headers_in_small_packets_are_still_counted(limited: Served) -> None:
    with limited.connect() as sock:
        sock.sendall(HEALTH)
        for i in range(150):
            with contextlib.suppress(OSError):
                sock.sendall(b"X-H%d: v\r\n" % i)
        with contextlib.suppress(OSError):
            sock.sendall(b"\r\n")
        assert read_response(sock).startswith(b"HTTP/1.1 431 ")


def test_the_second_request_on_a_connection_is_limited_too(limited: Served) -> None:
    with limited.connect() as sock:
        sock.sendall(HEALTH + b"\r\n")
        _send_quietly(sock, HEALTH + b"X-Big: " + b"a" * (4 * 1024 * 1024) + b"\r\n\r\n")
        answers = read_response(sock).split(b"HTTP/1.1 ")
    assert [answer[:4] for answer in answers[1:]] == [b"200 ", b"431 "]


def test_bodies_and_pipelined_requests_are_not_counted_as_head(limited: Served) -> None:
    body = b"{" + b" " * (200 * 1024) + b"}"
    one = (b"POST /topview/user/credit/detail HTTP/1.1\r\nHost: mock\r\n"
           b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    with limited.connect() as sock:
        sock.sendall(one * 3 + HEALTH + b"Connection: close\r\n\r\n")
        answer = read_response(sock)
    assert answer.count(b"HTTP/1.1 ") == 4 and b" 431 " not in answer


# -- connections that never send a request; the connection cap -------------------------------

def test_a_silent_connection_is_closed_after_the_header_timeout() -> None:
    with serving(header_timeout=0.5) as served, served.connect() as silent, \
            served.connect() as partial:
        partial.sendall(b"GET /__admin/health HTTP/1.1\r\nHost: mo")  # and never the rest
        assert closed_within(silent, 5)
        assert closed_within(partial, 5)
        # a keep-alive connection between requests is the keep-alive timer's (65 s)
        with httpx.Client(base_url=served.url) as http:
            assert http.get("/__admin/health").status_code == 200
            time.sleep(0.8)
            assert http.get("/__admin/health").status_code == 200


def test_beyond_max_connections_the_answer_is_503_then_service_resumes() -> None:
    with serving(max_connections=3, header_timeout=1) as served:
        silent = [served.connect() for _ in range(3)]
        try:
            time.sleep(0.3)  # let the server take them on
            refused = httpx.get(f"{served.url}/__admin/health")
            assert refused.status_code == 503
            assert refused.headers["connection"] == "close"
            assert "max_connections" in refused.json()["bgmockError"]
            assert all(closed_within(sock, 5) for sock in silent)
        finally:
            for sock in silent:
                sock.close()
        assert httpx.get(f"{served.url}/__admin/health").status_code == 200


def test_silent_connections_past_the_open_file_limit_do_not_lock_others_out() -> None:
    # ulimit -n 128: the cap drops to what the file limit allows; 200 silent connections
    # time out, and requests are served again
    with serving(open_files=128, header_timeout=1) as served:
        silent = [served.connect() for _ in range(200)]
        try:
            time.sleep(0.3)
            statuses = set()
            deadline = time.monotonic() + 8
            while 200 not in statuses:
                assert time.monotonic() < deadline, statuses
                with contextlib.suppress(httpx.TransportError):
                    statuses.add(httpx.get(f"{served.url}/__admin/health",
                                           timeout=2).status_code)
                time.sleep(0.1)
        finally:
            for sock in silent:
                sock.close()


# -- keep-alive ---------------------------------------------------------------------------------

def test_keep_alive_outlives_common_client_pools() -> None:
    uvicorn_config = server.config(object(), Settings())
    assert uvicorn_config.timeout_keep_alive == 65 > 15   # httpx/node 5 s, aiohttp 15 s


def test_keep_alive_timeout_is_a_setting() -> None:
    with serving(keep_alive_timeout=0.3, header_timeout=30) as served, \
            served.connect() as sock:
        sock.sendall(HEALTH + b"\r\n")
        started = time.monotonic()
        assert read_response(sock).startswith(b"HTTP/1.1 200 ")   # then closed by the server
        assert time.monotonic() - started < 3


# -- shutdown and start-up ------------------------------------------------------------------------

def test_shutdown_wakes_an_injected_delay_and_answers_in_the_provider_shape() -> None:
    with serving() as served:
        answers: list[httpx.Response] = []
        request = threading.Thread(target=lambda: answers.append(httpx.get(
            f"{served.url}{CREDIT}", headers={**DEMO, "X-Mock-Fault": "delay=30"},
            timeout=20)))
        request.start()
        time.sleep(2.0)  # the request is in its delay (generous: CI machines may be loaded)
        started = time.monotonic()
        served.process.send_signal(signal.SIGTERM)
        assert served.process.wait(timeout=10) == 0
        request.join(timeout=10)
        assert time.monotonic() - started < 3
        assert answers and answers[0].status_code == 200
        assert answers[0].json()["code"] == "200"   # Topview's envelope, the real answer


def test_a_busy_port_is_one_line_and_a_failure_status() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "bgmock.server", "serve", "--port",
                               str(port), "--log-level", "critical"],
                              capture_output=True, text=True, timeout=30)
    assert done.returncode != 0
    assert done.stderr.splitlines() == [
        f"bgmock: cannot listen on 127.0.0.1:{port}: Address already in use"]
