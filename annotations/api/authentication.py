"""Token authentication with the token's lookup compiled once per connection (prepared.py).

DRF's TokenAuthentication builds and compiles `Token.objects.select_related("user").get(key=...)`
on every request that carries a token: the same query, prepared, with DRF's answers unchanged
("Invalid token.", "User inactive or deleted.")."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token

from annotations.prepared import PreparedQuery

_TOKEN = PreparedQuery(lambda key: Token.objects.select_related("user").filter(key=key), "\x00prepared-token-key")


class TokenAuthentication(authentication.TokenAuthentication):
    def authenticate_credentials(self, key):
        found = _TOKEN.instances(str(key), using=Token.objects.db)
        if not found:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        token = found[0]
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        return token.user, token
