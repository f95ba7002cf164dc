"""The staff's user pool (Cognito): create a person, give and take their roles (groups), list who holds which."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from propfee.aws.clients import client
from propfee.console.permissions import Role
from propfee.console.sign_in import NEW_PASSWORD_REQUIRED, REFUSED, SignInResult


@dataclass(frozen=True)
class StaffUser:
    sub: str
    email: str
    enabled: bool
    status: str  # FORCE_CHANGE_PASSWORD until the first sign-in, then CONFIRMED
    roles: frozenset[Role]


def _attribute(user: dict[str, Any], name: str) -> str:
    return next((a["Value"] for a in user.get("Attributes", user.get("UserAttributes", [])) if a["Name"] == name), "")


class StaffDirectory:
    """One user pool (the template's StaffUserPool; its id is the stack output StaffUserPoolId)."""

    def __init__(self, user_pool_id: str, idp: Any | None = None) -> None:
        self.pool_id = user_pool_id
        self._idp = idp

    @property
    def idp(self) -> Any:
        return self._idp if self._idp is not None else client("cognito-idp")

    def create_user(self, email: str, name: str = "", password: str | None = None) -> str:
        """The new user's sub. Without `password`, Cognito emails the person a temporary one (it must be changed at
        the first sign-in); with one (the sandbox, where no mail leaves), no message and the password is set."""
        attributes = [{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}]
        if name:
            attributes.append({"Name": "name", "Value": name})
        request: dict[str, Any] = {"UserPoolId": self.pool_id, "Username": email, "UserAttributes": attributes}
        if password is None:
            request["DesiredDeliveryMediums"] = ["EMAIL"]
        else:
            request["MessageAction"] = "SUPPRESS"
        user = self.idp.admin_create_user(**request)["User"]
        if password is not None:
            self.idp.admin_set_user_password(UserPoolId=self.pool_id, Username=email, Password=password, Permanent=True)
        return _attribute(user, "sub")

    def user(self, email_or_sub: str) -> StaffUser | None:
        username = self._username(email_or_sub)
        if username is None:
            return None
        found = self.idp.admin_get_user(UserPoolId=self.pool_id, Username=username)
        groups = self.idp.admin_list_groups_for_user(UserPoolId=self.pool_id, Username=username)["Groups"]
        return StaffUser(
            sub=_attribute(found, "sub"),
            email=_attribute(found, "email"),
            enabled=bool(found.get("Enabled", True)),
            status=str(found.get("UserStatus", "")),
            roles=frozenset(Role(g["GroupName"]) for g in groups if g["GroupName"] in Role.__members__.values()),
        )

    def set_roles(self, email_or_sub: str, roles: Iterable[Role]) -> None:
        """Exactly these roles: groups missing are added, the console's other groups removed."""
        username = self._username(email_or_sub)
        if username is None:
            raise LookupError("no such user in the staff pool")
        wanted = set(roles)
        held = {
            Role(g["GroupName"])
            for g in self.idp.admin_list_groups_for_user(UserPoolId=self.pool_id, Username=username)["Groups"]
            if g["GroupName"] in Role.__members__.values()
        }
        for role in sorted(wanted - held):
            self.idp.admin_add_user_to_group(UserPoolId=self.pool_id, Username=username, GroupName=role.value)
        for role in sorted(held - wanted):
            self.idp.admin_remove_user_from_group(UserPoolId=self.pool_id, Username=username, GroupName=role.value)

    def users(self) -> list[StaffUser]:
        """Everyone in the pool with their console roles: one listing per group, one of the pool (a few pages)."""
        roles: dict[str, set[Role]] = {}
        for role in Role:
            for page in self.idp.get_paginator("list_users_in_group").paginate(
                UserPoolId=self.pool_id, GroupName=role.value
            ):
                for user in page["Users"]:
                    roles.setdefault(_attribute(user, "sub"), set()).add(role)
        listed = []
        for page in self.idp.get_paginator("list_users").paginate(UserPoolId=self.pool_id):
            for user in page["Users"]:
                sub = _attribute(user, "sub")
                listed.append(
                    StaffUser(sub, _attribute(user, "email"), bool(user.get("Enabled", True)),
                              str(user.get("UserStatus", "")), frozenset(roles.get(sub, ())))
                )  # fmt: skip
        return listed

    def _username(self, email_or_sub: str) -> str | None:
        """The pool signs in by email (UsernameAttributes): an email is a username; a sub is found by filter."""
        if "@" in email_or_sub:
            return email_or_sub
        if not email_or_sub or '"' in email_or_sub or "\\" in email_or_sub:
            return None
        found = self.idp.list_users(UserPoolId=self.pool_id, Filter=f'sub = "{email_or_sub}"', Limit=1)["Users"]
        return str(found[0]["Username"]) if found else None


class CognitoSignIn:
    """InitiateAuth with USER_PASSWORD_AUTH on the console's app client (its ExplicitAuthFlows allow it; the client
    has no secret). The password goes to Cognito over TLS and is kept nowhere; a wrong email and a wrong password
    get the same refusal (the client's PreventUserExistenceErrors)."""

    def __init__(self, client_id: str, idp: Any | None = None) -> None:
        self.client_id = client_id
        self._idp = idp

    @property
    def idp(self) -> Any:
        return self._idp if self._idp is not None else client("cognito-idp")

    def sign_in(self, email: str, password: str) -> SignInResult:
        errors = self.idp.exceptions
        try:
            answer = self.idp.initiate_auth(
                ClientId=self.client_id,
                AuthFlow="USER_PASSWORD_AUTH",
                AuthParameters={"USERNAME": email, "PASSWORD": password},
            )
        except (errors.NotAuthorizedException, errors.UserNotFoundException):
            return REFUSED
        except errors.PasswordResetRequiredException:
            return SignInResult(challenge="PASSWORD_RESET_REQUIRED")
        except errors.UserNotConfirmedException:
            return SignInResult(challenge="USER_NOT_CONFIRMED")
        return _result(answer)

    def new_password(self, email: str, session: str, password: str) -> SignInResult:
        errors = self.idp.exceptions
        try:
            answer = self.idp.respond_to_auth_challenge(
                ClientId=self.client_id,
                ChallengeName=NEW_PASSWORD_REQUIRED,
                Session=session,
                ChallengeResponses={"USERNAME": email, "NEW_PASSWORD": password},
            )
        except errors.InvalidPasswordException:
            return SignInResult(challenge=NEW_PASSWORD_REQUIRED, session=session, weak_password=True)
        except (errors.NotAuthorizedException, errors.CodeMismatchException, errors.UserNotFoundException):
            return REFUSED  # the session expired (minutes), or was answered already: sign in again
        return _result(answer)

    def refresh(self, refresh_token: str) -> SignInResult:
        errors = self.idp.exceptions
        try:
            answer = self.idp.initiate_auth(
                ClientId=self.client_id,
                AuthFlow="REFRESH_TOKEN_AUTH",
                AuthParameters={"REFRESH_TOKEN": refresh_token},
            )
        except (errors.NotAuthorizedException, errors.UserNotFoundException):
            return REFUSED  # expired, revoked, or the user disabled: sign in again
        return _result(answer)

    def sign_out(self, refresh_token: str) -> bool:
        """RevokeToken with the app client's id (no secret: the client has none; its EnableTokenRevocation is on):
        the refresh token and the ID and access tokens it issued stop working. Cognito's other errors (throttling,
        its own faults) are raised: the sign-out did not happen and the person may try again."""
        errors = self.idp.exceptions
        try:
            self.idp.revoke_token(Token=refresh_token, ClientId=self.client_id)
        except (errors.UnauthorizedException, errors.UnsupportedTokenTypeException, errors.InvalidParameterException):
            return False  # not a refresh token of this client: nothing of ours to end
        return True


def _result(answer: dict[str, Any]) -> SignInResult:
    if answer.get("ChallengeName"):
        return SignInResult(challenge=str(answer["ChallengeName"]), session=str(answer.get("Session") or ""))
    tokens = answer.get("AuthenticationResult") or {}
    return SignInResult(
        id_token=str(tokens.get("IdToken", "")),
        access_token=str(tokens.get("AccessToken", "")),
        expires_in=int(tokens.get("ExpiresIn", 0)),
        refresh_token=str(tokens.get("RefreshToken", "")),  # none on a refresh: the old one stays valid
    )
