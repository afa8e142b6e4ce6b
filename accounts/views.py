from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_logged_in
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.tokens import RefreshToken

from accounts import apppasswords, selectors, services
from accounts.lockout import lockout_seconds
from accounts.permissions import IsAdminRole
from accounts.serializers import (
    AppPasswordCreatedSerializer,
    AppPasswordCreateSerializer,
    AppPasswordSerializer,
    LoginResponseSerializer,
    LoginSerializer,
    RefreshSerializer,
    TokenPairSerializer,
    UserBriefSerializer,
    UserCreateSerializer,
    UserSerializer,
    UserUpdateSerializer,
)
from accounts.throttles import LoginAddressThrottle, LoginEmailCeiling, LoginEmailThrottle
from crm.http.errors import ApiError
from crm.http.routers import UuidLookupMixin

BAD_CREDENTIALS = "Invalid email or password."


class _PublicView(APIView):
    """No authentication needed; a 401 still says how to authenticate."""

    permission_classes = [AllowAny]
    authentication_classes = []

    def get_authenticate_header(self, request):
        return 'Bearer realm="api"'


class LoginView(_PublicView):
    throttle_classes = [LoginAddressThrottle, LoginEmailThrottle, LoginEmailCeiling]

    @extend_schema(request=LoginSerializer, responses={200: LoginResponseSerializer})
    def post(self, request):
        serializer = LoginSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = authenticate(
            request._request,  # django-axes reads the address and records failures on it
            email=serializer.validated_data["email"].strip(),
            password=serializer.validated_data["password"],
        )
        if getattr(request._request, "axes_locked_out", False):
            raise ApiError(
                code="locked_out",
                message="Too many failed sign-ins for this account from this address; "
                "try again later.",
                status_code=429,
                details={"retry_after_seconds": lockout_seconds()},
            )
        if user is None:
            for throttle in self.get_throttles():
                throttle.record_failure(request, self)
            # Same message for an unknown email and a wrong password.
            raise AuthenticationFailed(BAD_CREDENTIALS)
        refresh = services.session_start(
            user=user, device_id=serializer.validated_data.get("device_id")
        )
        # Django's own signal: updates last_login and tells django-axes to reset the failures.
        # A token login has no session: without this, django-axes would create one (for the
        # hash in its access log), store it and send every phone a useless session cookie.
        request._request.__dict__.pop("session", None)
        user_logged_in.send(sender=type(user), request=request._request, user=user)
        return Response(
            {
                "access": str(refresh.access_token),
                "refresh": str(refresh),
                "user": UserBriefSerializer(user).data,
            }
        )


class RefreshView(_PublicView):
    @extend_schema(request=RefreshSerializer, responses={200: TokenPairSerializer})
    def post(self, request):
        serializer = RefreshSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response(services.session_refresh(raw=serializer.validated_data["refresh"]))


class LogoutView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=RefreshSerializer, responses={204: None})
    def post(self, request):
        serializer = RefreshSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            token = RefreshToken(serializer.validated_data["refresh"])
        except TokenError as exc:
            raise InvalidToken(exc.args[0]) from exc
        if str(token.get("user_id")) != str(request.user.pk):
            raise ApiError(
                code="token_not_yours",
                message="This refresh token belongs to another user.",
                status_code=status.HTTP_403_FORBIDDEN,
            )
        token.blacklist()
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    @extend_schema(responses={200: UserSerializer})
    def get(self, request):
        return Response(UserSerializer(request.user).data)


class UserViewSet(
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Admin-only user management. There is no signup anywhere else."""

    permission_classes = [IsAdminRole]
    serializer_class = UserSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return selectors.user_list()

    def get_serializer_class(self):
        if self.action == "create":
            return UserCreateSerializer
        if self.action == "partial_update":
            return UserUpdateSerializer
        return UserSerializer

    @extend_schema(request=UserCreateSerializer, responses={201: UserSerializer})
    def create(self, request, *args, **kwargs):
        serializer = UserCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = services.user_create(actor=request.user, **serializer.validated_data)
        return Response(UserSerializer(user).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=UserUpdateSerializer, responses={200: UserSerializer})
    def partial_update(self, request, *args, **kwargs):
        user = self.get_object()
        serializer = UserUpdateSerializer(user, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        user = services.user_update(actor=request.user, user=user, **serializer.validated_data)
        return Response(UserSerializer(user).data)

    def perform_destroy(self, instance):
        services.user_deactivate(actor=self.request.user, user=instance)


class AppPasswordViewSet(
    UuidLookupMixin,
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """The caller's own app passwords for CardDAV (every role: viewers get a read-only book).
    Another user's is a 404, like one that does not exist."""

    serializer_class = AppPasswordSerializer
    http_method_names = ["get", "post", "delete", "head", "options"]

    def get_queryset(self):
        return apppasswords.app_password_list(user=self.request.user)

    @extend_schema(
        request=AppPasswordCreateSerializer, responses={201: AppPasswordCreatedSerializer}
    )
    def create(self, request, *args, **kwargs):
        serializer = AppPasswordCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        app_password, secret = apppasswords.app_password_create(
            user=request.user, label=serializer.validated_data["label"]
        )
        body = {
            "id": app_password.id,
            "label": app_password.label,
            "password": secret,
            "created_at": app_password.created_at,
        }
        return Response(AppPasswordCreatedSerializer(body).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        apppasswords.app_password_revoke(actor=self.request.user, app_password=instance)
