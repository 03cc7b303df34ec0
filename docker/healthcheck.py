"""Container health check: GET /health on this container's port, as a request from an allowed host would be.

Used by the image's HEALTHCHECK (the slim image has no curl). The Host header is the first entry of
DJANGO_ALLOWED_HOSTS, so Django's host validation accepts the probe; X-Forwarded-Proto says https, as the
TLS-terminating proxy would. Exit status 0 = healthy.
"""

import http.client
import os
import sys


def probe_host() -> str:
    hosts = [host.strip() for host in os.environ.get("DJANGO_ALLOWED_HOSTS", "").split(",") if host.strip()]
    host = hosts[0] if hosts else "localhost"
    if host == "*":
        return "localhost"
    return host.lstrip(".") or "localhost"


def main() -> int:
    port = int(os.environ.get("PORT", "8000"))
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=4)
    try:
        connection.request("GET", "/health", headers={"Host": probe_host(), "X-Forwarded-Proto": "https"})
        response = connection.getresponse()
        healthy = response.status == 200
    except OSError as error:
        print(f"health check failed: {error}", file=sys.stderr)
        return 1
    finally:
        connection.close()
    if not healthy:
        print(f"health check failed: HTTP {response.status}", file=sys.stderr)
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
