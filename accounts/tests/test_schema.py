"""Every accounts endpoint is in the OpenAPI schema with its request and response shapes and error envelope."""

import pytest
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator

PUBLIC = {
    ("/api/v1/auth/register/", "post"): ("RegisterInputRequest", "201", "RegisterOutput"),
    ("/api/v1/auth/verify-email/", "post"): ("VerifyEmailInputRequest", "200", "VerifyEmailOutput"),
    ("/api/v1/auth/login/", "post"): ("LoginInputRequest", "200", "LoginOutput"),
    ("/api/v1/auth/refresh-token/", "post"): ("RefreshTokenInputRequest", "200", "TokenPairOutput"),
    ("/api/v1/auth/logout/", "post"): ("LogoutInputRequest", "204", None),
}
AUTHENTICATED = {
    ("/api/v1/auth/change-password/", "post"): ("ChangePasswordInputRequest", "204", None),
    ("/api/v1/users/profile/", "get"): (None, "200", "ProfileOutput"),
    ("/api/v1/users/profile/", "put"): ("ProfileUpdateInputRequest", "200", "ProfileOutput"),
    ("/api/v1/users/profile/", "patch"): ("PatchedProfileUpdateInputRequest", "200", "ProfileOutput"),
    ("/api/v1/users/organizations/", "get"): (None, "200", "PaginatedMembershipOrganizationOutputList"),
}


@pytest.fixture(scope="module")
def schema_and_warnings():
    GENERATOR_STATS.reset()
    with GENERATOR_STATS.silence():
        schema = SchemaGenerator().get_schema(request=None, public=True)
    problems = [*GENERATOR_STATS._warn_cache, *GENERATOR_STATS._error_cache]
    warnings = [message for message in problems if "accounts" in message]
    return schema, warnings


def ref(name: str) -> str:
    return f"#/components/schemas/{name}"


@pytest.mark.parametrize(("path", "method"), [*PUBLIC, *AUTHENTICATED])
def test_endpoint_is_documented(schema_and_warnings, path, method):
    schema, _ = schema_and_warnings
    request_name, success, response_name = {**PUBLIC, **AUTHENTICATED}[(path, method)]
    operation = schema["paths"][path][method]
    if request_name:
        assert operation["requestBody"]["content"]["application/json"]["schema"]["$ref"] == ref(request_name)
    assert success in operation["responses"]
    if response_name:
        assert operation["responses"][success]["content"]["application/json"]["schema"]["$ref"] == ref(response_name)
    else:
        assert "content" not in operation["responses"][success]
    errors = [code for code in operation["responses"] if code.startswith(("4", "5"))]
    assert errors
    for code in errors:
        assert operation["responses"][code]["content"]["application/json"]["schema"]["$ref"] == ref("ErrorEnvelope")
    if (path, method) in PUBLIC:
        assert not operation.get("security"), "public endpoints must not ask for a token"
    else:
        assert {"jwtAuth": []} in operation["security"]
        assert "401" in operation["responses"]


def test_shapes_of_the_shared_components(schema_and_warnings):
    schema, _ = schema_and_warnings
    components = schema["components"]["schemas"]
    assert set(components["ErrorEnvelope"]["properties"]) == {"error"}
    assert set(components["Error"]["properties"]) == {"code", "message", "details"}
    assert set(components["ProfileOutput"]["properties"]) == {
        "id",
        "email",
        "full_name",
        "email_verified",
        "date_joined",
        "organizations",
        "active_organization",
    }
    assert components["ProfileOutput"]["properties"]["active_organization"].get("nullable") or any(
        option.get("nullable")
        for option in components["ProfileOutput"]["properties"]["active_organization"].get("allOf", [])
    )
    assert set(components["MembershipOrganizationOutput"]["properties"]) == {"id", "name", "slug", "role"}
    assert set(components["ProfileUpdateInputRequest"]["properties"]) == {"full_name"}
    assert set(components["LoginOutput"]["properties"]) == {"access", "refresh", "token_type", "expires_in", "user"}


def test_accounts_views_generate_without_warnings_or_errors(schema_and_warnings):
    _, warnings = schema_and_warnings
    assert warnings == []
