from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from accounts.models import Role, User
from crm.http.fields import StrictBooleanField, StrictCharField


class UserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email", "name", "role", "is_active", "created_at", "last_login"]
        read_only_fields = fields


class UserBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email", "name", "role"]
        read_only_fields = fields


def _check_password(password: str, user: User | None = None) -> str:
    try:
        password_validation.validate_password(password, user)
    except DjangoValidationError as exc:
        raise serializers.ValidationError(list(exc.messages)) from None
    return password


class UserCreateSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")
    password = serializers.CharField(write_only=True, max_length=128, trim_whitespace=False)
    role = serializers.ChoiceField(choices=Role.choices, default=Role.AGENT)

    def validate_email(self, value: str) -> str:
        value = value.strip().lower()
        if User.objects.filter(email__iexact=value).exists():
            raise serializers.ValidationError("A user with this email already exists.")
        return value

    def validate(self, attrs):
        candidate = User(email=attrs["email"], name=attrs.get("name", ""))
        try:
            _check_password(attrs["password"], candidate)
        except serializers.ValidationError as exc:
            raise serializers.ValidationError({"password": exc.detail}) from None
        return attrs


class UserUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    role = serializers.ChoiceField(choices=Role.choices, required=False)
    is_active = StrictBooleanField(required=False)
    password = serializers.CharField(
        write_only=True, required=False, max_length=128, trim_whitespace=False
    )

    def validate_password(self, value: str) -> str:
        return _check_password(value, self.instance)


class LoginSerializer(serializers.Serializer):
    email = serializers.CharField(max_length=254)
    password = serializers.CharField(max_length=128, trim_whitespace=False)
    device_id = serializers.CharField(
        max_length=128,
        required=False,
        help_text="The phone's own identifier (as in POST /sync's device.id): the tokens of "
        "this login belong to that device, which can then be signed out on its own "
        "(DELETE /devices/{id}). Its device row is created if the phone never synced.",
    )


class LoginResponseSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()
    user = UserBriefSerializer()


class RefreshSerializer(serializers.Serializer):
    refresh = serializers.CharField()


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()


class AppPasswordSerializer(serializers.Serializer):
    """An app password as listed: never its secret."""

    id = serializers.UUIDField(read_only=True)
    label = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    last_used_at = serializers.DateTimeField(read_only=True, allow_null=True)


class AppPasswordCreateSerializer(serializers.Serializer):
    label = StrictCharField(max_length=100, trim_whitespace=True)


class AppPasswordCreatedSerializer(serializers.Serializer):
    """The answer to a create: the secret, this once."""

    id = serializers.UUIDField(read_only=True)
    label = serializers.CharField(read_only=True)
    password = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
