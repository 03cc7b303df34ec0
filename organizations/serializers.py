"""Input and output serializers of the organizations API (input serializers take explicit fields only)."""

from rest_framework import serializers

from accunode.api.serializers import StrictInputSerializer

from .choices import Role


class OrganizationOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    slug = serializers.SlugField()
    created_at = serializers.DateTimeField()
    member_count = serializers.IntegerField()


class MemberUserOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    email = serializers.EmailField()
    full_name = serializers.CharField()


class MembershipOutputSerializer(serializers.Serializer):
    user = MemberUserOutputSerializer()
    role = serializers.ChoiceField(choices=Role.choices)
    joined_at = serializers.DateTimeField()


class MembershipRoleInputSerializer(StrictInputSerializer):
    role = serializers.ChoiceField(choices=Role.choices)


class InvitationCreateInputSerializer(StrictInputSerializer):
    email = serializers.EmailField(max_length=254)
    role = serializers.ChoiceField(choices=Role.choices)


class InvitationOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    email = serializers.EmailField()
    role = serializers.ChoiceField(choices=Role.choices)
    expires_at = serializers.DateTimeField()
    created_at = serializers.DateTimeField()
