"""The ASGI application: one synchronous middleware chain, run in a single thread hop, serving real requests."""

from __future__ import annotations

import asyncio
import inspect

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
def request_threads_closed():
    """Idle request threads keep their database connections; close them so the test database can be dropped."""
    yield
    application.close_idle_request_threads()


def test_the_middleware_chain_is_one_synchronous_callable():
    assert isinstance(application, SyncStackASGIHandler)
    assert not inspect.iscoroutinefunction(application._middleware_chain)


@pytest.mark.django_db(transaction=True)
def test_the_next_request_reuses_the_idle_request_thread():
    handler = SyncStackASGIHandler()

    assert asyncio.run(asgi_exchange(handler, "GET", "/api/v1/health"))[0] == 200
    (executor,) = handler._idle_executors
    (thread,) = executor._threads
    assert asyncio.run(asgi_exchange(handler, "GET", "/api/v1/health"))[0] == 200

    assert handler._idle_executors == [executor]
    assert executor._threads == {thread} and thread.is_alive()

    handler.close_idle_request_threads()
    thread.join(timeout=5)
    assert handler._idle_executors == [] and not thread.is_alive()


@pytest.mark.django_db(transaction=True)
def test_requests_in_flight_together_run_on_different_threads_and_the_idle_ones_are_capped():
    handler = SyncStackASGIHandler()
    handler.max_idle_request_threads = 2

    async def burst():
        return await asyncio.gather(*(asgi_exchange(handler, "GET", "/api/v1/health") for _ in range(4)))

    assert [status for status, _, _ in asyncio.run(burst())] == [200] * 4
    assert len(handler._idle_executors) == 2
    assert len({thread for executor in handler._idle_executors for thread in executor._threads}) == 2
    handler.close_idle_request_threads()


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
