"""Staff sign-in: the user pool's answer to an email and a password, as the console's sign-in form needs it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class SignInResult:
    """Tokens (signed in), a challenge the pool asks for next (a new password, a TOTP code), or refused."""

    id_token: str = ""
    access_token: str = ""
    expires_in: int = 0
    challenge: str = ""  # NEW_PASSWORD_REQUIRED, SOFTWARE_TOKEN_MFA, ...

    def __repr__(self) -> str:  # a result printed by accident shows no token
        return f"SignInResult(signed_in={self.signed_in}, challenge={self.challenge!r})"

    @property
    def signed_in(self) -> bool:
        return bool(self.id_token)


REFUSED = SignInResult()


class StaffSignIn(Protocol):
    """The pool's USER_PASSWORD_AUTH flow on the console's app client (aws.cognito.CognitoSignIn)."""

    def sign_in(self, email: str, password: str) -> SignInResult: ...
