"""Django's error handlers: the API.md envelope under ``/api/``, plain pages elsewhere."""

from django.views import defaults

from .exceptions import envelope_response


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def bad_request(request, exception=None):
    if _is_api(request):
        return envelope_response(request, 400, "validation_error", "Bad request.")
    return defaults.bad_request(request, exception)


def permission_denied(request, exception=None):
    from django_ratelimit.exceptions import Ratelimited

    if isinstance(exception, Ratelimited):
        response = envelope_response(request, 429, "rate_limited", "Too many requests. Try again later.")
        response["Retry-After"] = "60"
        return response
    if _is_api(request):
        return envelope_response(request, 403, "permission_denied", "You do not have permission to do this.")
    return defaults.permission_denied(request, exception)


def page_not_found(request, exception=None):
    if _is_api(request):
        return envelope_response(request, 404, "not_found", "Not found.")
    return defaults.page_not_found(request, exception)


def server_error(request):
    if _is_api(request):
        request_id = getattr(request, "request_id", "-")
        return envelope_response(
            request, 500, "server_error", f"Internal server error. Quote request id {request_id} when reporting it."
        )
    return defaults.server_error(request)
