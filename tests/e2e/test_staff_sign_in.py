"""In the sandbox as `propfee sandbox up` runs it: a seeded collector signs in against the stack's user pool, the
token passes the sandbox's JWT authorizer and names their tasks' scope; an hour later on the simulated clock it
does not."""

from datetime import timedelta

from propfee.aws.dynamo import PropfeeTable
from propfee.console.auth import principal_from_event, staff_member
from propfee.console.permissions import Role, task_policy
from propfee.domain.models import Channel, Task
from propfee.local.sandbox.jwt_authorizer import UNAUTHORIZED, JwtAuthorizer
from propfee.local.sandbox.staff import seed_staff
from tests.support import SHANGHAI


def test_a_seeded_collector_signs_in_and_their_token_expires_on_the_simulated_clock(sandbox):
    table = PropfeeTable(sandbox.resources["PropfeeTable"], SHANGHAI)
    seeded = {s.role: s for s in seed_staff(sandbox, table, ["C01", "C02"], "C01-K1")}
    collector = seeded[Role.COLLECTOR]
    tokens = sandbox.client("cognito-idp").initiate_auth(
        ClientId=sandbox.outputs["StaffUserPoolClientId"],
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": collector.email, "PASSWORD": collector.password},
    )["AuthenticationResult"]
    assert tokens["ExpiresIn"] == 3600  # the template's 60 minutes (moto issues an hour whatever the client says)
    request = {"version": "2.0", "headers": {"Authorization": f"Bearer {tokens['IdToken']}"}, "requestContext": {}}
    authorizer = JwtAuthorizer.for_sandbox(sandbox)

    event = authorizer.authorize(request)
    member = staff_member(principal := principal_from_event(event), table.staff(principal.sub))
    own = Task(
        task_id="C01-B01-0101.call.1", unit_id="C01-B01-0101", community_id="C01", kind=Channel.CALL, step="call",
        collector_id="C01-K1", created_at=sandbox.clock.now(), due_by=sandbox.clock.now() + timedelta(days=2),
        unit_label="1-0101", balance_fen=21044,
    )  # fmt: skip
    assert task_policy(member, own, "act").allowed
    assert not task_policy(member, own.model_copy(update={"collector_id": "C01-K2"}), "view").allowed

    sandbox.clock.set(sandbox.clock.now() + timedelta(hours=1))
    assert authorizer.authorize(request) == UNAUTHORIZED
