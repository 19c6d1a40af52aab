"""Where CPU-heavy image work runs: worker processes for ``bgmock serve``, threads in process.

``bgmock serve`` runs it in a few worker processes (:class:`ProcessPool`, decision D150): a
cut-out then never holds the server's GIL or stalls its event loop, and requests that do no
imaging keep their latency. Workers are forked from a ``forkserver`` (a fresh interpreter that
imported the imaging code once: nothing of uvicorn's threads or event loop is inherited), start
on the first job (start-up does not wait for them), run at a lower priority than the server,
hand freed memory back after each job and are replaced after :data:`MAX_JOBS` jobs or when
their RSS passes :data:`MAX_RSS`. One dispatcher thread per worker takes jobs from one queue,
so at most ``processes`` jobs run at once and waiting jobs hold only their encoded input (D30).
A worker that dies fails only its own job (:class:`WorkerLost`) and is replaced on the next.

In process (the pytest plugin, ``InProcessMock``, a ``TestClient``) the work runs in a pool of
threads (:class:`ThreadPool`, D30) unless :func:`configure` chose processes.

Jobs are ``fn(*args)`` with a module-level ``fn`` and picklable arguments and results in both
modes, so code tested in process runs unchanged under ``bgmock serve``.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import queue
import signal
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

MAX_JOBS = 500                  # jobs per worker process before it is replaced
MAX_RSS = 512 * 1024 * 1024     # a worker above this after a job (and a trim) is replaced
NICE = 5                        # workers yield the CPU to the server's event loop
STOP_TIMEOUT = 2.0              # s a worker gets to exit before it is killed


class WorkerLost(Exception):
    """The worker process running the job died (killed, out of memory) before answering."""


class Pool(Protocol):
    def submit(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> Future[Any]: ...

    def close(self) -> None: ...


def cores() -> int:
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


class ThreadPool:
    """At most ``threads`` jobs at once in threads of this process (D30)."""

    def __init__(self, threads: int) -> None:
        self.size = threads
        self._executor = ThreadPoolExecutor(threads, thread_name_prefix="bgmock-imaging")

    def submit(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> Future[Any]:
        return self._executor.submit(_trimmed, fn, args)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


@dataclass
class _Job:
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    future: Future[Any]


class _Worker:
    """One worker process and the parent's end of its pipe."""

    def __init__(self, context: Any, setup: Callable[[], None] | None) -> None:
        self.conn, child = context.Pipe(duplex=True)
        self.process = context.Process(target=_serve, args=(child, setup), daemon=True,
                                       name="bgmock-imaging")
        try:
            self.process.start()
        except Exception:
            self.conn.close()
            raise
        finally:
            child.close()
        self.jobs = 0

    def call(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> tuple[bool, Any, int]:
        """(ok, result or exception, RSS after the job); ``EOFError``/``OSError`` if it died."""
        self.conn.send((fn, args))  # pickled whole before a byte is written
        self.jobs += 1
        answer: tuple[bool, Any, int] = self.conn.recv()
        return answer

    def stop(self) -> None:
        self.conn.close()  # the worker reads EOF and exits
        self.process.join(STOP_TIMEOUT)
        if self.process.exitcode is None:
            self.process.kill()
            self.process.join(STOP_TIMEOUT)


class ProcessPool:
    """``processes`` worker processes fed from one queue by as many dispatcher threads."""

    def __init__(self, processes: int, preload: tuple[str, ...] = (),
                 setup: Callable[[], None] | None = None) -> None:
        import multiprocessing  # here: the server starts without it when imaging uses threads

        self.size = processes
        self._setup = setup  # run once in each worker as it starts (module-level)
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(list(preload))
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._workers: set[_Worker] = set()
        self._lock = threading.Lock()
        self._closed = False

    def submit(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> Future[Any]:
        future: Future[Any] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("the imaging pool is closed")
            if not self._threads:  # lazily: start-up does not wait for workers
                self._threads = [threading.Thread(target=self._dispatch, daemon=True,
                                                  name=f"bgmock-imaging-{i}")
                                 for i in range(self.size)]
                for thread in self._threads:
                    thread.start()
            self._jobs.put(_Job(fn, args, future))
        return future

    def pids(self) -> list[int]:
        """The live workers' process ids (tests, benchmarks)."""
        with self._lock:
            return [w.process.pid for w in self._workers if w.process.pid is not None]

    def _dispatch(self) -> None:
        worker: _Worker | None = None
        while (job := self._jobs.get()) is not None:
            if not job.future.set_running_or_notify_cancel():
                continue  # cancelled while waiting (its request gone, or a reset): never runs
            if worker is not None and not worker.process.is_alive():  # died while idle
                self._retire(worker)
                worker = None
            try:
                if worker is None:
                    worker = self._start()
                ok, value, rss = worker.call(job.fn, job.args)
            except (EOFError, OSError, WorkerLost) as exc:  # it died, or could not start
                job.future.set_exception(WorkerLost(f"the imaging worker was lost: {exc!r}"))
                self._retire(worker)
                worker = None
                continue
            except Exception as exc:  # fn or args not picklable: nothing was sent
                job.future.set_exception(exc)
                continue
            if ok:
                job.future.set_result(value)
            else:
                job.future.set_exception(value)
            if worker.jobs >= MAX_JOBS or rss > MAX_RSS:
                self._retire(worker)
                worker = None
        self._retire(worker)

    def _start(self) -> _Worker:
        try:
            worker = _Worker(self._context, self._setup)
        except Exception as exc:  # e.g. no processes left: the job fails, the pool goes on
            raise WorkerLost(f"no imaging worker could start: {exc!r}") from exc
        with self._lock:
            self._workers.add(worker)
        return worker

    def _retire(self, worker: _Worker | None) -> None:
        if worker is not None:
            with self._lock:
                self._workers.discard(worker)
            worker.stop()

    def close(self) -> None:
        """Cancel waiting jobs, let running ones end, stop every worker."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                break
            if job is not None:
                job.future.cancel()
        for _ in self._threads:
            self._jobs.put(None)
        deadline = time.monotonic() + STOP_TIMEOUT  # running jobs get this long, together
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        with self._lock:
            left = list(self._workers)
        for worker in left:  # still working: its job fails (WorkerLost), its thread ends
            worker.process.kill()
        for thread in self._threads:
            thread.join(STOP_TIMEOUT)


# -- the worker process -------------------------------------------------------------------------

def _serve(conn: Connection, setup: Callable[[], None] | None = None) -> None:
    """A worker's life: run jobs until the server closes the pipe (or dies)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the server's to handle
    with contextlib.suppress(OSError):
        os.nice(NICE)
    if setup is not None:
        setup()
    while True:
        try:
            fn, args = conn.recv()
        except (EOFError, OSError):
            return
        try:
            answer: tuple[bool, Any] = (True, _trimmed(fn, args))
        except Exception as exc:
            exc.add_note("in the imaging worker:\n" + "".join(traceback.format_exception(exc)))
            answer = (False, _portable(exc))
        try:
            conn.send((*answer, _rss()))
        except (EOFError, OSError):
            return
        except Exception as exc:  # the result or exception itself cannot be pickled
            conn.send((False, RuntimeError(f"unpicklable imaging result: {exc!r}"), _rss()))


def _portable(exc: Exception) -> Exception:
    """``exc`` if the server can rebuild it from its pickle, else a RuntimeError saying so."""
    import pickle

    try:
        pickle.loads(pickle.dumps(exc))
    except Exception as problem:
        return RuntimeError(f"unpicklable imaging result: {exc!r} ({problem})")
    return exc


def _rss() -> int:
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _trimmed(fn: Callable[..., Any], args: tuple[Any, ...]) -> Any:
    """``fn(*args)``, then hand the freed pages of a large image back to the system: glibc keeps
    them in the arena otherwise, and RSS would stay at its peak for good."""
    try:
        return fn(*args)
    finally:
        trim = _libc_trim()
        if trim is not None:
            trim(0)


@functools.cache
def _libc_trim() -> Callable[[int], int] | None:
    try:
        import ctypes

        return ctypes.CDLL("libc.so.6").malloc_trim  # type: ignore[no-any-return]
    except (OSError, AttributeError):  # not glibc: nothing to do
        return None


# -- the pool this process uses -----------------------------------------------------------------

THREADS = max(1, min(4, cores()))
_pool: Pool | None = None
_pool_lock = threading.Lock()


def configure(processes: int, preload: tuple[str, ...] = (),
              setup: Callable[[], None] | None = None) -> Pool:
    """Use ``processes`` worker processes from now on (0: threads, D30); the old pool closes.
    ``setup`` (module-level) runs once in each worker as it starts."""
    global _pool
    new: Pool = ProcessPool(processes, preload, setup) if processes > 0 \
        else ThreadPool(THREADS)
    with _pool_lock:
        old, _pool = _pool, new
    if old is not None:
        old.close()
    return new


def pool() -> Pool:
    """The pool in use (threads unless :func:`configure` said otherwise)."""
    global _pool
    if _pool is None:
        with _pool_lock:
            if _pool is None:
                _pool = ThreadPool(THREADS)
    return _pool


@atexit.register
def shutdown() -> None:
    """Stop the workers (``bgmock serve`` on exit; also at interpreter exit)."""
    global _pool
    with _pool_lock:
        old, _pool = _pool, None
    if old is not None:
        old.close()
