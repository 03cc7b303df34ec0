"""API routes of accounts, under /api/v1/ (API.md "Auth" and "Users")."""

from django.urls import path

from . import views

urlpatterns = [
    path("auth/register/", views.RegisterView.as_view(), name="auth-register"),
    path("auth/verify-email/", views.VerifyEmailView.as_view(), name="auth-verify-email"),
    path("auth/login/", views.LoginView.as_view(), name="auth-login"),
    path("auth/refresh-token/", views.RefreshTokenView.as_view(), name="auth-refresh-token"),
    path("auth/logout/", views.LogoutView.as_view(), name="auth-logout"),
    path("auth/change-password/", views.ChangePasswordView.as_view(), name="auth-change-password"),
    path("users/profile/", views.ProfileView.as_view(), name="users-profile"),
    path("users/organizations/", views.UserOrganizationsView.as_view(), name="users-organizations"),
    path("users/invitations/accept/", views.AcceptInvitationView.as_view(), name="users-accept-invitation"),
]
