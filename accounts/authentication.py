"""JWT authentication for the API: simplejwt's, with the user read through the principal cache."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.utils import get_md5_hash_password

from organizations.principals import principal_load


class CachedJWTAuthentication(JWTAuthentication):
    """``JWTAuthentication`` whose user (with memberships) comes from one cache read; the checks are simplejwt's."""

    def get_user(self, validated_token):
        try:
            user_id = validated_token[api_settings.USER_ID_CLAIM]
        except KeyError as error:
            raise InvalidToken(_("Token contained no recognizable user identification")) from error
        try:
            user = principal_load(user_id)
        except (TypeError, ValueError, ValidationError):  # a signed token with a user id of another shape
            user = None
        if user is None:
            raise AuthenticationFailed(_("User not found"), code="user_not_found")
        if api_settings.CHECK_USER_IS_ACTIVE and not user.is_active:
            raise AuthenticationFailed(_("User is inactive"), code="user_inactive")
        if api_settings.CHECK_REVOKE_TOKEN and validated_token.get(
            api_settings.REVOKE_TOKEN_CLAIM
        ) != get_md5_hash_password(user.password):
            raise AuthenticationFailed(_("The user's password has been changed."), code="password_changed")
        return user


class CachedJWTAuthenticationScheme(SimpleJWTScheme):
    """The OpenAPI description of ``CachedJWTAuthentication``: simplejwt's bearer scheme."""

    target_class = CachedJWTAuthentication
