"""The dashboard's web application (FastAPI): pages, a JSON API over the store, and one action (stop).

Safety rules, each enforced here once:

- **Who may look.** With an access token (given, or generated when the server binds an address other than
  loopback) every request needs it: ``?token=...`` once (it becomes an HttpOnly, SameSite=Strict cookie and the
  page reloads without it), the cookie, or ``Authorization: Bearer ...``. Without one (127.0.0.1, the default)
  anyone who can reach the loopback address may look.
- **Who may act.** A POST needs the action token (a random one per server, in every page's ``<meta>``; pages
  are only served to those who may look) in the ``X-Hyperjob-Token`` header, and an ``Origin`` (when the browser
  sends one) equal to the server's own: a page of another site can neither read the token nor send the header
  without a CORS preflight, which is never answered.
- **DNS rebinding.** On loopback, the ``Host`` header must name a loopback address.
- **No paths from requests.** Names in URLs are only ever passed to the store as values; static files are a
  fixed table of the package's own files.
"""

from __future__ import annotations

import hmac
import secrets
import threading
from importlib import resources
from pathlib import Path
from typing import Any, Callable

from hyperjob.errors import HyperjobError, SpecError, StoreError
from hyperjob.store.base import Store

try:  # at module level: FastAPI reads the endpoints' (string) annotations from this module's names
    from starlette.requests import Request
except ImportError:  # pragma: no cover - the dashboard extra is missing (serve() says how to install it)
    Request = Any  # type: ignore[misc,assignment]

LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")
COOKIE = "hyperjob_token"
ACTION_HEADER = "x-hyperjob-token"


def _plotly_js() -> Path:
    """plotly.js as the plotly package ships it (served by the dashboard itself: no CDN, no internet)."""
    import plotly

    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    if not path.is_file():
        raise SpecError(f"plotly.js is missing from the plotly package ({path}). Reinstall it: "
                        "pip install --force-reinstall plotly")
    return path


def _package_file(name: str) -> bytes:
    return resources.files("hyperjob.dashboard").joinpath("static", name).read_bytes()


#: the only files the dashboard serves: URL name -> (reader, media type)
STATIC: dict[str, tuple[Callable[[], bytes], str]] = {
    "plotly.min.js": (lambda: _plotly_js().read_bytes(), "text/javascript"),
    "dashboard.js": (lambda: _package_file("dashboard.js"), "text/javascript"),
    "dashboard.css": (lambda: _package_file("dashboard.css"), "text/css"),
}


_GZIPPED: dict[str, bytes] = {}
_GZIP_LOCK = threading.Lock()


def static_gzip(file: str) -> bytes:
    """A static file gzipped once per process (plotly.js: 4.8 MB, about 1.4 MB gzipped), kept in memory."""
    with _GZIP_LOCK:
        if file not in _GZIPPED:
            import gzip

            _GZIPPED[file] = gzip.compress(STATIC[file][0](), compresslevel=6, mtime=0)
        return _GZIPPED[file]


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address to bind, or a Host header's name) is the loopback interface only: an IP
    literal of 127.0.0.0/8 or ::1, or ``localhost`` (never a DNS name that merely starts with ``127.``)."""
    import ipaddress

    if host in LOOPBACK:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def host_name(header: str) -> str:
    """The name in a ``Host`` header, without its port: ``127.0.0.1:8000`` -> ``127.0.0.1``, ``[::1]:80`` -> ``[::1]``."""
    if header.startswith("["):
        return header.split("]", 1)[0] + "]"
    return header.rsplit(":", 1)[0] if ":" in header else header


class Stops:
    """Stop requests running in worker threads (a stop waits for the tuner, or runs one: seconds)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.lock = threading.Lock()
        self.running: dict[str, threading.Thread] = {}
        self.results: dict[str, str] = {}

    def start(self, name: str) -> bool:
        """Ask the tuning job to stop now (it becomes Stopping), and see it through in a thread; False if it had
        already ended. Raises StoreError for an unknown tuning job."""
        from hyperjob.tuner.stop import FROM_DASHBOARD, request_stop, stop_tuning_job

        with self.lock:
            if name in self.running and self.running[name].is_alive():
                return True
            if not request_stop(self.store, name, origin=FROM_DASHBOARD):
                return False

            def run() -> None:
                try:
                    self.results[name] = stop_tuning_job(self.store, name, wait_s=60.0, origin=FROM_DASHBOARD)
                except Exception as exc:  # noqa: BLE001 - a thread's last word, shown on the page
                    self.results[name] = f"the stop failed: {exc}"

            thread = threading.Thread(target=run, name=f"stop-{name}", daemon=True)
            self.running[name] = thread
            thread.start()
            return True


def create_app(store: Store, *, token: str | None = None, host: str = "127.0.0.1", live_poll_s: float = 1.0) -> Any:
    """The dashboard as an ASGI application over ``store``.

    Args:
        store: where the tuning jobs are (the caller closes it).
        token: the access token every request needs; ``None``: none (only for a loopback ``host``).
        host: the address the server binds; a non-loopback one needs a ``token``.
        live_poll_s: how often a running tuning job's event stream looks for changes (seconds).

    Raises:
        SpecError: a non-loopback host without a token, or an empty token.
    """
    from fastapi import FastAPI, Query
    from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response

    if token is not None and not token.strip():
        raise SpecError("the dashboard's token is empty. Give a token of at least 16 characters, or none on "
                        "127.0.0.1.", path="--token")
    if token is not None and len(token) < 16:
        raise SpecError(f"the dashboard's token has {len(token)} characters; use at least 16 (e.g. the one "
                        "`hyperjob dashboard --host ...` generates).", path="--token")
    if token is None and not is_loopback(host):
        raise SpecError(f"binding {host!r} makes the dashboard reachable from other machines, so it needs a "
                        "token. Give --token (16+ characters) or let `hyperjob dashboard` generate one.",
                        path="--host")
    action_token = secrets.token_urlsafe(24)
    app = FastAPI(title="hyperjob dashboard", docs_url=None, redoc_url=None, openapi_url=None)
    from starlette.middleware.gzip import GZipMiddleware

    # JSON answers gzipped (the 10,000-job page's 1.5 MB become 0.4 MB in about 10 ms at level 1); the event stream
    # is never (Starlette leaves text/event-stream alone), static files are gzipped once (static_gzip)
    app.add_middleware(GZipMiddleware, minimum_size=2048, compresslevel=1)
    stops = Stops(store)
    importance_cache: dict[tuple[str, int, float], dict[str, Any]] = {}
    app.state.action_token = action_token
    app.state.stops = stops

    def allowed(request: Request) -> bool:
        if token is None:
            return True
        given = request.cookies.get(COOKIE) or ""
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            given = auth[7:].strip()
        return hmac.compare_digest(given.encode(), token.encode())

    @app.middleware("http")
    async def guard(request: Request, call_next: Any) -> Any:
        if is_loopback(host):
            if not is_loopback(host_name(request.headers.get("host") or "")):
                return PlainTextResponse(f"refused: Host {request.headers.get('host')!r} is not this loopback "
                                         "server (a DNS-rebinding guard). Open http://127.0.0.1:PORT/.",
                                         status_code=421)
        if token is not None:
            given = request.query_params.get("token")
            if given is not None and request.method == "GET":
                if not hmac.compare_digest(given.encode(), token.encode()):
                    return PlainTextResponse("wrong token: open the URL `hyperjob dashboard` printed.",
                                             status_code=401)
                rest = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
                from urllib.parse import urlencode

                target = request.url.path + (f"?{urlencode(rest)}" if rest else "")
                response = RedirectResponse(target, status_code=303)
                response.set_cookie(COOKIE, token, httponly=True, samesite="strict")
                return response
            if not allowed(request):
                return PlainTextResponse("this dashboard needs its token: open the URL `hyperjob dashboard` "
                                         "printed (.../?token=...), or send Authorization: Bearer TOKEN.",
                                         status_code=401)
        if request.method not in ("GET", "HEAD"):
            sent = request.headers.get(ACTION_HEADER, "")
            if not hmac.compare_digest(sent.encode(), action_token.encode()):
                return JSONResponse({"error": "refused: this action needs the page's token (X-Hyperjob-Token); "
                                     "reload the page and try again."}, status_code=403)
            origin = request.headers.get("origin")
            own = f"{request.url.scheme}://{request.headers.get('host', '')}"
            if origin is not None and origin != own:
                return JSONResponse({"error": f"refused: a request from {origin!r}, not from this dashboard "
                                     f"({own})."}, status_code=403)
            if request.headers.get("sec-fetch-site") not in (None, "same-origin"):
                return JSONResponse({"error": "refused: a cross-site request."}, status_code=403)
        response = await call_next(request)
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'")
        response.headers["Referrer-Policy"] = "no-referrer"
        return response

    def page(kind: str, title: str) -> HTMLResponse:
        html = _package_file("page.html").decode()
        html = html.replace("{{PAGE}}", kind).replace("{{TITLE}}", title).replace("{{ACTION_TOKEN}}", action_token)
        return HTMLResponse(html)

    def not_found(exc: HyperjobError) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=404 if isinstance(exc, StoreError) else 400)

    def api(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return JSONResponse(fn(*args, **kwargs))
        except StoreError as exc:
            return not_found(exc)
        except SpecError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)

    from hyperjob.dashboard import views

    @app.get("/", response_class=HTMLResponse)
    def list_page() -> Any:
        return page("list", "tuning jobs")

    @app.get("/jobs/{name}", response_class=HTMLResponse)
    def job_page(name: str) -> Any:
        try:
            store.get_tuning_job(name)
        except StoreError as exc:
            return HTMLResponse(f"<!doctype html><title>not found</title><p>{_escape(str(exc))}</p>"
                                '<p><a href="/">all tuning jobs</a></p>', status_code=404)
        return page("job", "tuning job")

    @app.get("/compare", response_class=HTMLResponse)
    def compare_page() -> Any:
        return page("compare", "compare tuning jobs")

    @app.get("/favicon.ico")
    def favicon() -> Any:
        return Response(status_code=204)

    @app.get("/static/{file}")
    def static(file: str, request: Request) -> Any:
        entry = STATIC.get(file)
        if entry is None:
            return PlainTextResponse("not found", status_code=404)
        reader, media = entry
        headers = {"Cache-Control": "max-age=3600", "Vary": "Accept-Encoding"}
        if "gzip" in request.headers.get("accept-encoding", ""):
            return Response(static_gzip(file), media_type=media, headers={**headers, "Content-Encoding": "gzip"})
        return Response(reader(), media_type=media, headers=headers)

    @app.get("/api/tuning-jobs")
    def api_list() -> Any:
        return api(views.list_rows, store)

    @app.get("/api/tuning-jobs/{name}")
    def api_job(name: str) -> Any:
        return api(views.job_view, store, name)

    page_cache: dict[str, tuple[tuple[Any, ...], Any]] = {}

    @app.get("/api/tuning-jobs/{name}/page")
    def api_page(name: str) -> Any:
        """The job page's data; an ended tuning job's is kept until anything about it changes (its status, its
        training jobs' counts, the number of tuning jobs with training jobs: a new child, once it has started),
        so that opening it again is quick."""
        try:
            tuning = store.get_tuning_job(name)
            key = None
            if tuning.status.terminal:
                tally = store.tally_training_jobs()
                counts = tally.get(name, {})
                key = (tuning.status, tuning.status_reason, tuning.ended_at, len(tally),
                       tuple(sorted((s.value, c) for s, c in counts.items())))
                if name in page_cache and page_cache[name][0] == key:  # (a new Response: middlewares edit headers)
                    return Response(page_cache[name][1], media_type="application/json")
            response = JSONResponse(views.page_view(store, name))
        except StoreError as exc:
            return not_found(exc)
        except SpecError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        if key is not None:
            if len(page_cache) > 32:
                page_cache.clear()
            page_cache[name] = (key, bytes(response.body))
        return response

    @app.get("/api/tuning-jobs/{name}/status")
    def api_status(name: str) -> Any:
        def status() -> dict[str, Any]:
            out = views.status_view(store, name)
            out["stop"] = stops.results.get(name)
            return out

        return api(status)

    @app.get("/api/tuning-jobs/{name}/events")
    async def api_events(name: str, request: Request) -> Any:
        """Server-sent events of a tuning job's changes (hyperjob.dashboard.live): what a running job's page
        watches; the page falls back to polling ``/status`` without them."""
        from fastapi.concurrency import run_in_threadpool
        from fastapi.responses import StreamingResponse

        from hyperjob.dashboard import live

        try:
            await run_in_threadpool(store.get_tuning_job, name)
        except StoreError as exc:
            return not_found(exc)
        stream = live.events(store, name, stop_message=lambda: stops.results.get(name),
                             disconnected=request.is_disconnected, poll_s=live_poll_s)
        return StreamingResponse(stream, media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    @app.get("/api/tuning-jobs/{name}/training-jobs")
    def api_training_jobs(name: str) -> Any:
        return api(views.training_jobs_view, store, name)

    @app.get("/api/tuning-jobs/{name}/curves")
    def api_curves(name: str, ids: str = "", metric: str | None = None) -> Any:
        wanted = [i for i in ids.split(",") if i]
        return api(views.curves_view, store, name, wanted, metric)

    @app.get("/api/tuning-jobs/{name}/importance")
    def api_importance(name: str) -> Any:
        def cached() -> dict[str, Any]:
            records = store.list_training_jobs(name)
            key = (name, sum(1 for r in records if r.status.terminal),
                   max((r.ended_at or 0.0) for r in records) if records else 0.0)
            if key not in importance_cache:
                if len(importance_cache) > 64:
                    importance_cache.clear()
                importance_cache[key] = views.importance_view(store, name)
            return importance_cache[key]

        return api(cached)

    @app.get("/api/tuning-jobs/{name}/export.csv")
    def api_export(name: str) -> Any:
        import io

        from hyperjob.results import write_csv  # the one writer of `hyperjob export`'s CSV

        try:
            tuning = store.get_tuning_job(name)
            records = store.list_training_jobs(name)
            metrics = store.get_all_metrics(name)
        except StoreError as exc:
            return not_found(exc)
        buffer = io.StringIO()
        write_csv(buffer, tuning, records, metrics)
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
        return Response(buffer.getvalue(), media_type="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="{safe}.csv"'})

    @app.get("/api/compare")
    def api_compare(names: list[str] = Query(default=[])) -> Any:
        flat = [n for item in names for n in item.split(",") if n]
        if len(flat) < 2:
            return JSONResponse({"error": "compare needs two or more tuning jobs: /compare?names=a,b"},
                                status_code=400)
        return api(views.compare_view, store, flat)

    @app.post("/api/tuning-jobs/{name}/stop")
    def api_stop(name: str) -> Any:
        try:
            started = stops.start(name)
        except StoreError as exc:
            return not_found(exc)
        if not started:
            status = store.get_tuning_job(name).status.value
            return JSONResponse({"stopping": False, "message": f"tuning job {name} is already {status}."})
        return JSONResponse({"stopping": True, "message": f"tuning job {name} is stopping."}, status_code=202)

    return app


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _warm_up() -> None:
    """Before the server answers: the modules a tuning job page imports (about 0.3 s, else paid by its first
    visitor), and plotly.js gzipped."""
    import hyperjob.dashboard.views  # noqa: F401
    import hyperjob.formats.spec  # noqa: F401
    import hyperjob.tuner.describe  # noqa: F401
    import hyperjob.tuner.warm_start  # noqa: F401

    static_gzip("plotly.min.js")


def serve(store_url: str | None, *, host: str = "127.0.0.1", port: int = 8000, token: str | None = None,
          retry_s: float | None = None, on_ready: Callable[[str], None] | None = None) -> None:
    """Run the dashboard until interrupted (``hyperjob dashboard``).

    Args:
        store_url: the store (as ``--store``).
        token: the access token; ``None`` on a non-loopback host generates one (printed through ``on_ready``).
        on_ready: told the URL to open (with the token in it when there is one), before the server starts.
    """
    try:
        import uvicorn
    except ImportError as exc:  # pragma: no cover - the extra is missing
        raise SpecError("the dashboard needs FastAPI, uvicorn and plotly: pip install 'hyperjob[dashboard]'",
                        path="dashboard") from exc
    from hyperjob.store import open_store

    if token is None and not is_loopback(host):
        token = secrets.token_urlsafe(24)
    store = open_store(store_url, retry_s=retry_s)
    try:
        app = create_app(store, token=token, host=host)
        _warm_up()
        shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
        url = f"http://{shown}:{port}/" + (f"?token={token}" if token else "")
        if on_ready is not None:
            on_ready(url)
        # (an open event stream would hold a graceful shutdown forever: Ctrl-C waits 2 s for them at most)
        uvicorn.run(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=2)
    finally:
        store.close()


__all__ = ["create_app", "serve", "is_loopback", "STATIC"]
