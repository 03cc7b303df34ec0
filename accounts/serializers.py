"""Input and output shapes of the accounts API (API.md "Auth" and "Users"). Inputs have explicit fields: anything
else a client sends (``is_staff``, ``email_verified``, ``role`` …) is never read; text fields take text only."""

from rest_framework import serializers

from accunode.api.serializers import TextInputSerializer

# --- Inputs -----------------------------------------------------------------------------------------------------------


class RegisterInputSerializer(TextInputSerializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(max_length=128, trim_whitespace=False, style={"input_type": "password"})
    full_name = serializers.CharField(max_length=255)
    organization_name = serializers.CharField(max_length=255, required=False, allow_null=True, allow_blank=True)
    invitation_token = serializers.CharField(max_length=255, required=False, allow_null=True, allow_blank=True)


class VerifyEmailInputSerializer(TextInputSerializer):
    token = serializers.CharField(max_length=1024)


class AcceptInvitationInputSerializer(TextInputSerializer):
    invitation_token = serializers.CharField(max_length=1024)


class LoginInputSerializer(TextInputSerializer):
    email = serializers.CharField(max_length=254)
    password = serializers.CharField(max_length=128, trim_whitespace=False, style={"input_type": "password"})


class RefreshTokenInputSerializer(TextInputSerializer):
    refresh = serializers.CharField(max_length=4096)


class LogoutInputSerializer(TextInputSerializer):
    refresh = serializers.CharField(max_length=4096)


class ChangePasswordInputSerializer(TextInputSerializer):
    current_password = serializers.CharField(max_length=128, trim_whitespace=False, style={"input_type": "password"})
    new_password = serializers.CharField(max_length=128, trim_whitespace=False, style={"input_type": "password"})


class ProfileUpdateInputSerializer(TextInputSerializer):
    """Only ``full_name`` is writable; every other field of the profile is read-only and ignored when sent."""

    full_name = serializers.CharField(max_length=255)


# --- Outputs ----------------------------------------------------------------------------------------------------------


class MembershipOrganizationOutputSerializer(serializers.Serializer):
    """An organization as the user sees it: with their role in it. Serializes a ``Membership``."""

    id = serializers.UUIDField(source="organization.id", read_only=True)
    name = serializers.CharField(source="organization.name", read_only=True)
    slug = serializers.SlugField(source="organization.slug", read_only=True)
    role = serializers.CharField(read_only=True)


class ProfileOutputSerializer(serializers.Serializer):
    """Serializes ``accounts.selectors.Profile``."""

    id = serializers.UUIDField(source="user.id", read_only=True)
    email = serializers.EmailField(source="user.email", read_only=True)
    full_name = serializers.CharField(source="user.full_name", read_only=True)
    email_verified = serializers.BooleanField(source="user.email_verified", read_only=True)
    date_joined = serializers.DateTimeField(source="user.date_joined", read_only=True)
    organizations = MembershipOrganizationOutputSerializer(source="memberships", many=True, read_only=True)
    active_organization = MembershipOrganizationOutputSerializer(
        source="active_membership", read_only=True, allow_null=True
    )


class RegisterOutputSerializer(serializers.Serializer):
    user = ProfileOutputSerializer(read_only=True)


class VerifyEmailOutputSerializer(serializers.Serializer):
    email_verified = serializers.BooleanField(read_only=True)


class LoginOutputSerializer(serializers.Serializer):
    access = serializers.CharField(read_only=True)
    refresh = serializers.CharField(read_only=True)
    token_type = serializers.CharField(read_only=True, default="Bearer")
    expires_in = serializers.IntegerField(read_only=True, help_text="Seconds until the access token expires.")
    user = ProfileOutputSerializer(read_only=True)


class TokenPairOutputSerializer(serializers.Serializer):
    access = serializers.CharField(read_only=True)
    refresh = serializers.CharField(read_only=True)
