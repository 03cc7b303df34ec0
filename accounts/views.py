"""API views of accounts (API.md "Auth" and "Users"): parse input, apply rate limits, call a service, shape output."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accunode.api.ratelimit import client_ip, enforce_rate_limit
from accunode.api.schema import COMMON_ERROR_RESPONSES, NO_CONTENT_RESPONSE, error_responses
from organizations.scoping import ORGANIZATION_HEADER

from . import serializers
from .selectors import Profile, profile_get, user_memberships
from .services import (
    profile_update,
    user_accept_invitation,
    user_change_password,
    user_login,
    user_logout,
    user_register,
    user_token_refresh,
    user_verify_email,
)


class PublicAPIView(APIView):
    """An endpoint for callers without a token; a stale ``Authorization`` header is ignored, not a 401."""

    authentication_classes = []
    permission_classes = [AllowAny]


def _profile(request: Request, user) -> Profile:
    """The profile with the active organization this request names (``X-Organization``) or the default one."""
    return profile_get(user=user, organization_id=request.headers.get(ORGANIZATION_HEADER))


class RegisterView(PublicAPIView):
    @extend_schema(
        tags=["auth"],
        summary="Create an account",
        description=(
            "Exactly one of `organization_name` (creates the organization; the user becomes its admin and must verify "
            "the e-mail before logging in) or `invitation_token` (joins with the invited role; the e-mail counts as "
            "verified). Rate limit: 5/min per client address."
        ),
        auth=[],
        request=serializers.RegisterInputSerializer,
        responses={201: serializers.RegisterOutputSerializer, **error_responses(400, 409, 429)},
    )
    def post(self, request: Request) -> Response:
        enforce_rate_limit(request, limit_name="register_ip", value=client_ip(request))
        serializer = serializers.RegisterInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = user_register(**serializer.validated_data)
        data = serializers.RegisterOutputSerializer({"user": profile_get(user=user)}).data
        return Response(data, status=status.HTTP_201_CREATED)


class VerifyEmailView(PublicAPIView):
    @extend_schema(
        tags=["auth"],
        summary="Verify the e-mail address",
        description="The `token` comes from the link of the verification e-mail.",
        auth=[],
        request=serializers.VerifyEmailInputSerializer,
        responses={200: serializers.VerifyEmailOutputSerializer, **error_responses(400)},
    )
    def post(self, request: Request) -> Response:
        serializer = serializers.VerifyEmailInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = user_verify_email(token=serializer.validated_data["token"])
        return Response(serializers.VerifyEmailOutputSerializer({"email_verified": user.email_verified}).data)


class LoginView(PublicAPIView):
    @extend_schema(
        tags=["auth"],
        summary="Log in",
        description=(
            "Wrong credentials or an inactive account → 401 `authentication_failed`; a right password on an "
            "unverified e-mail → 403 `email_not_verified`. Rate limits: 10/min per client address, 5/min per e-mail."
        ),
        auth=[],
        request=serializers.LoginInputSerializer,
        responses={200: serializers.LoginOutputSerializer, **error_responses(400, 401, 403, 429)},
    )
    def post(self, request: Request) -> Response:
        enforce_rate_limit(request, limit_name="login_ip", value=client_ip(request))
        serializer = serializers.LoginInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        email = serializer.validated_data["email"]
        enforce_rate_limit(request, limit_name="login_email", value=email)
        user, tokens = user_login(email=email, password=serializer.validated_data["password"], request=request._request)
        data = {
            "access": tokens.access,
            "refresh": tokens.refresh,
            "token_type": "Bearer",
            "expires_in": tokens.expires_in,
            "user": _profile(request, user),
        }
        return Response(serializers.LoginOutputSerializer(data).data)


class RefreshTokenView(PublicAPIView):
    @extend_schema(
        tags=["auth"],
        summary="Exchange a refresh token",
        description=(
            "Refresh tokens rotate: the answer carries a new one and the one sent is revoked (using it again → 401 "
            "`token_not_valid`). Rate limit: 30/min per client address."
        ),
        auth=[],
        request=serializers.RefreshTokenInputSerializer,
        responses={200: serializers.TokenPairOutputSerializer, **error_responses(400, 401, 429)},
    )
    def post(self, request: Request) -> Response:
        enforce_rate_limit(request, limit_name="refresh_ip", value=client_ip(request))
        serializer = serializers.RefreshTokenInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        tokens = user_token_refresh(refresh=serializer.validated_data["refresh"])
        return Response(serializers.TokenPairOutputSerializer(tokens).data)


class LogoutView(PublicAPIView):
    @extend_schema(
        tags=["auth"],
        summary="Log out",
        description="Revokes the refresh token sent. The refresh token itself is the credential.",
        auth=[],
        request=serializers.LogoutInputSerializer,
        responses={**NO_CONTENT_RESPONSE, **error_responses(400, 401)},
    )
    def post(self, request: Request) -> Response:
        serializer = serializers.LogoutInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user_logout(refresh=serializer.validated_data["refresh"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class ChangePasswordView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=["auth"],
        summary="Change the password",
        description="Revokes every refresh token of the user; access tokens issued before stop working too.",
        request=serializers.ChangePasswordInputSerializer,
        responses={**NO_CONTENT_RESPONSE, **error_responses(400), **COMMON_ERROR_RESPONSES},
    )
    def post(self, request: Request) -> Response:
        serializer = serializers.ChangePasswordInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user_change_password(user=request.user, **serializer.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ProfileView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=["users"],
        summary="The caller's profile",
        description=(
            "`active_organization` is the one named by `X-Organization`, else the default organization; null for a "
            "user who belongs to none."
        ),
        responses={200: serializers.ProfileOutputSerializer, **COMMON_ERROR_RESPONSES},
    )
    def get(self, request: Request) -> Response:
        return Response(serializers.ProfileOutputSerializer(_profile(request, request.user)).data)

    @extend_schema(
        tags=["users"],
        summary="Replace the caller's editable profile fields",
        description="Only `full_name` is writable; other fields sent are ignored.",
        request=serializers.ProfileUpdateInputSerializer,
        responses={200: serializers.ProfileOutputSerializer, **error_responses(400), **COMMON_ERROR_RESPONSES},
    )
    def put(self, request: Request) -> Response:
        return self._update(request, partial=False)

    @extend_schema(
        tags=["users"],
        summary="Update the caller's editable profile fields",
        description="Only `full_name` is writable; other fields sent are ignored.",
        request=serializers.ProfileUpdateInputSerializer,
        responses={200: serializers.ProfileOutputSerializer, **error_responses(400), **COMMON_ERROR_RESPONSES},
    )
    def patch(self, request: Request) -> Response:
        return self._update(request, partial=True)

    def _update(self, request: Request, *, partial: bool) -> Response:
        # Resolve the active organization first: a bad X-Organization is a 403 that changes nothing.
        _profile(request, request.user)
        serializer = serializers.ProfileUpdateInputSerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        profile_update(user=request.user, **serializer.validated_data)
        return Response(serializers.ProfileOutputSerializer(_profile(request, request.user)).data)


class UserOrganizationsView(generics.ListAPIView):
    """The organizations the caller belongs to, with their role in each (paginated, by name)."""

    permission_classes = [IsAuthenticated]
    serializer_class = serializers.MembershipOrganizationOutputSerializer
    filter_backends = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return user_memberships(user=None).none()
        return user_memberships(user=self.request.user)

    @extend_schema(
        tags=["users"],
        summary="The caller's organizations",
        responses={200: serializers.MembershipOrganizationOutputSerializer, **COMMON_ERROR_RESPONSES},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class AcceptInvitationView(APIView):
    """An existing user joins the organization that invited their e-mail address (new users use ``register``)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=["users"],
        summary="Accept an invitation with the token of its e-mail",
        description=(
            "The invitation must be pending and sent to the caller's e-mail address. Someone who is already a member "
            "keeps their role. Answers the organization with the caller's role in it."
        ),
        request=serializers.AcceptInvitationInputSerializer,
        responses={
            200: serializers.MembershipOrganizationOutputSerializer,
            **error_responses(400),
            **COMMON_ERROR_RESPONSES,
        },
    )
    def post(self, request: Request) -> Response:
        serializer = serializers.AcceptInvitationInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership = user_accept_invitation(user=request.user, token=serializer.validated_data["invitation_token"])
        return Response(serializers.MembershipOrganizationOutputSerializer(membership).data)
