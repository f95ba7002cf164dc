"""report_links (Function URL, AWS_IAM auth): the day's report files the signing manager may read, each with a
short-lived presigned link, or a redirect to one file's link; a community's manager gets only theirs."""

from typing import Any

from aws_lambda_powertools.event_handler import LambdaFunctionUrlResolver, Response
from aws_lambda_powertools.event_handler.exceptions import BadRequestError, ForbiddenError, NotFoundError
from aws_lambda_powertools.utilities.typing import LambdaContext

from propfee.domain import clock
from propfee.events import function_url_refusal
from propfee.observability import lambda_entry, logger
from propfee.reports import delivery as delivery
from propfee.reports.access import principal_key, report_key
from propfee.wiring import LazyServices

app = LambdaFunctionUrlResolver()
services = LazyServices()
HTTP_ERRORS = {delivery.BadReportRequest: BadRequestError, delivery.ReportAccessDenied: ForbiddenError}
HTTP_ERRORS[delivery.ReportNotFound] = NotFoundError


def _caller() -> str:
    return app.current_event.request_context.authorizer.iam.user_arn  # the IAM identity that signed the request


@app.exception_handler(list(HTTP_ERRORS))
def _refused(error: Exception) -> Response:
    # the role, not the session: a session's name is often a person's login
    logger.info("report request refused", extra={"principal": principal_key(_caller()), "why": type(error).__name__})
    raise HTTP_ERRORS[type(error)](str(error))


@app.get("/reports")  # ?date=YYYY-MM-DD
def list_reports() -> dict[str, Any]:
    svc, day = services(), delivery.report_day(app.current_event.get_query_string_value("date"))
    expiry = svc.settings.report_link_expiry_seconds
    links = delivery.list_links(svc.rules.report_access, svc.reports, _caller(), day, clock.now(), expiry)
    return {"date": day.isoformat(), "files": [link.as_dict() for link in links]}


@app.get("/reports/<day>/<file>")
@app.get("/reports/<day>/communities/<community>/<file>")
def follow_link(day: str, file: str, community: str | None = None) -> Response:
    svc, key = services(), report_key(delivery.report_day(day), file, community)
    expiry = svc.settings.report_link_expiry_seconds
    link = delivery.link_to(svc.rules.report_access, svc.reports, _caller(), key, clock.now(), expiry)
    return Response(status_code=302, headers={"Location": link.url, "Cache-Control": "no-store"})


@lambda_entry
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # a malformed request (400) or one not signed with an IAM identity (403) gets the reason
    return function_url_refusal(event) or app.resolve(event, context)
