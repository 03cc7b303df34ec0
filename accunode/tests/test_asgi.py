"""The ASGI application: one synchronous middleware chain, run in a single thread hop, serving real requests."""

from __future__ import annotations

import asyncio
import inspect
import threading
import time

import pytest
from asgiref.testing import ApplicationCommunicator

from accunode.asgi import SyncStackASGIHandler, application


def asgi_request(
    method: str, path: str, headers: list[tuple[bytes, bytes]] | None = None, body: bytes = b""
) -> tuple[int, dict[bytes, bytes], bytes]:
    status, response_headers, parts = asgi_request_parts(method, path, headers, body)
    return status, response_headers, b"".join(parts)


def asgi_request_parts(
    method: str, path: str, headers: list[tuple[bytes, bytes]] | None = None, body: bytes = b""
) -> tuple[int, dict[bytes, bytes], list[bytes]]:
    return asyncio.run(asgi_exchange(application, method, path, headers, body))


async def asgi_exchange(
    app, method: str, path: str, headers: list[tuple[bytes, bytes]] | None = None, body: bytes = b""
) -> tuple[int, dict[bytes, bytes], list[bytes]]:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"host", b"localhost"), (b"content-length", str(len(body)).encode()), *(headers or [])],
        "client": ("127.0.0.1", 50000),
        "server": ("localhost", 80),
    }

    communicator = ApplicationCommunicator(app, scope)
    await communicator.send_input({"type": "http.request", "body": body, "more_body": False})
    start = await communicator.receive_output(timeout=10)
    parts = []
    while True:
        message = await communicator.receive_output(timeout=10)
        if message.get("body"):
            parts.append(message["body"])
        if not message.get("more_body"):
            break
    await communicator.wait(timeout=10)
    return start["status"], {name.lower(): value for name, value in start["headers"]}, parts


@pytest.fixture(autouse=True)
def request_connections_closed():
    """Request threads keep their database connections; close them so the test database can be dropped."""
    yield
    application.close_database_connections()


def test_the_middleware_chain_is_one_synchronous_callable():
    assert isinstance(application, SyncStackASGIHandler)
    assert not inspect.iscoroutinefunction(application._middleware_chain)


def recording_handler(request_threads: int) -> tuple[SyncStackASGIHandler, list[tuple[str, str, int]]]:
    """A handler that records (request id, "start" or "end", thread) around each request's synchronous work."""
    handler = SyncStackASGIHandler(request_threads=request_threads)
    events: list[tuple[str, str, int]] = []
    get_response = handler.get_response

    def recorded(request):
        events.append((request.headers["X-Request-Id"], "start", threading.get_ident()))
        time.sleep(0.02)  # long enough for the other requests of a burst to arrive meanwhile
        try:
            return get_response(request)
        finally:
            events.append((request.headers["X-Request-Id"], "end", threading.get_ident()))

    handler.get_response = recorded
    return handler, events


def burst(handler: SyncStackASGIHandler, request_ids: list[str]) -> list[int]:
    async def all_at_once():
        return await asyncio.gather(
            *(asgi_exchange(handler, "GET", "/api/v1/health", [(b"x-request-id", rid.encode())]) for rid in request_ids)
        )

    return [status for status, _, _ in asyncio.run(all_at_once())]


@pytest.mark.django_db(transaction=True)
def test_requests_in_flight_together_run_one_at_a_time_first_come_first_served():
    handler, events = recording_handler(request_threads=1)

    assert burst(handler, ["r0", "r1", "r2", "r3"]) == [200] * 4
    assert burst(handler, ["r4"]) == [200]

    assert [(rid, phase) for rid, phase, _ in events] == [
        (f"r{n}", phase) for n in range(5) for phase in ("start", "end")
    ]
    assert len({thread for _, _, thread in events}) == 1  # one request thread, kept between requests
    handler.close_database_connections()


@pytest.mark.django_db(transaction=True)
def test_with_two_request_threads_two_requests_run_at_once():
    handler, events = recording_handler(request_threads=2)

    assert burst(handler, ["r0", "r1", "r2", "r3"]) == [200] * 4

    running, most_at_once = 0, 0
    for _, phase, _ in events:
        running += 1 if phase == "start" else -1
        most_at_once = max(most_at_once, running)
    assert most_at_once == 2
    assert len({thread for _, _, thread in events}) == 2
    handler.close_database_connections()


@pytest.mark.django_db(transaction=True)
def test_a_request_runs_through_every_middleware_and_the_view():
    status, headers, body = asgi_request("GET", "/api/v1/health", [(b"x-request-id", b"asgi-test-1")])
    assert status == 200, body
    assert headers[b"x-request-id"] == b"asgi-test-1"  # RequestIdMiddleware ran
    assert headers[b"x-frame-options"] == b"DENY"  # Django's clickjacking middleware ran
    assert b'"status"' in body


@pytest.mark.django_db(transaction=True)
def test_an_unknown_api_path_is_the_error_envelope():
    status, headers, body = asgi_request("GET", "/api/v1/no-such-endpoint/")
    assert status == 404
    assert headers[b"content-type"].startswith(b"application/json")
    assert b'"not_found"' in body


@pytest.mark.django_db(transaction=True)
def test_a_post_body_reaches_the_view_and_a_refusal_is_the_envelope():
    status, _, body = asgi_request(
        "POST",
        "/api/v1/auth/login/",
        [(b"content-type", b"application/json")],
        b'{"email": "nobody@example.com", "password": "wrong-password-123"}',
    )
    assert status == 401
    assert b'"error"' in body


@pytest.mark.django_db(transaction=True)
def test_a_bulk_results_file_is_streamed_part_by_part(tmp_path, settings, recwarn):
    """Under ASGI a synchronous iterator would be read whole into memory before the first byte is sent."""
    from rest_framework_simplejwt.tokens import RefreshToken

    from accunode.api.testing import make_member
    from organizations.choices import Role
    from organizations.tests.factories import OrganizationFactory
    from predictions import bulk
    from predictions.tests.bulk_files import create_bulk_job, csv_bytes, statement_row

    settings.MEDIA_ROOT = tmp_path
    organization = OrganizationFactory()
    analyst = make_member(organization, Role.ANALYST)
    rows = [statement_row(f"S{index}", 2020) for index in range(5)]
    job = bulk.bulk_job_run(create_bulk_job(organization, analyst, csv_bytes(rows), chunk_size=2).pk)
    token = str(RefreshToken.for_user(analyst).access_token)

    status, headers, parts = asgi_request_parts(
        "GET", f"/api/v1/jobs/{job.pk}/results/", [(b"authorization", f"Bearer {token}".encode())]
    )

    assert status == 200
    assert headers[b"content-type"].startswith(b"text/csv")
    assert len(parts) == 3  # chunks of 2, 2 and 1 rows
    assert b"".join(parts).decode() == "".join(bulk.iter_results_csv(job))
    assert not [w for w in recwarn if "synchronous iterators" in str(w.message)]  # Django did not buffer it whole
