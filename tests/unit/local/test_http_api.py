"""The sandbox's HTTP API: routes read from the template SAM translates, requests made into payload-2.0 events."""

from propfee.local.sandbox import default_template_path
from propfee.local.sandbox.http_api import HttpRoute, http_api_event, lambda_answer, routes_of
from propfee.local.sandbox.template import load_template, local_code_dirs, translate, with_code_in_s3


def test_the_routes_are_the_templates_each_to_its_function():
    sam = load_template(default_template_path())
    code = {lid: f"{lid}.zip" for lid in local_code_dirs(sam, default_template_path())}
    routes = routes_of(translate(with_code_in_s3(sam, "artifacts", code), {}, "ap-northeast-1"))
    keys = {(r.route_key, r.function_logical_id, r.api_logical_id) for r in routes}
    assert {
        ("GET /b/{token}", "BillPageFunction", "PropfeeHttpApi"),
        ("POST /b/{token}/feedback", "BillPageFunction", "PropfeeHttpApi"),
        ("POST /b/{token}/pay/{provider}", "BillPageFunction", "PropfeeHttpApi"),
        ("GET /static/{file}", "BillPageFunction", "PropfeeHttpApi"),
    } <= keys


def test_only_the_console_s_staff_routes_go_through_the_jwt_authorizer():
    # the sandbox checks a token exactly where API Gateway would: the routes the template gives StaffJwt
    sam = load_template(default_template_path())
    code = {lid: f"{lid}.zip" for lid in local_code_dirs(sam, default_template_path())}
    routes = routes_of(translate(with_code_in_s3(sam, "artifacts", code), {}, "ap-northeast-1"))
    guarded = {r.route_key for r in routes if r.authorizer == "StaffJwt"}
    # everything a member of staff does under /console; only the sign-in page and its redirect are open, with a first
    # sign-in's new password and the refresh of an expired ID token (neither has an ID token to show)
    console = {r.route_key for r in routes if r.route_key.split(" ")[1].startswith("/console")}
    assert guarded == console - {"GET /console", "GET /console/sign-in", "POST /console/sign-in",
                                 "POST /console/sign-in/new-password", "POST /console/session/refresh",
                                 "POST /console/session/sign-out"}  # fmt: skip
    assert {"GET /console/tasks", "POST /console/tickets/{ticket_id}/resolve", "GET /console/today"} <= guarded
    public = {r.route_key for r in routes if r.authorizer is None}
    assert {"GET /b/{token}", "POST /notify/alipay", "GET /console/sign-in", "POST /console/sign-in"} <= public
    assert {r.authorizer for r in routes} == {"StaffJwt", None}


def test_a_path_matches_its_route_with_its_parameters():
    pay = HttpRoute("Api", "POST", "/b/{token}/pay/{provider}", "Fn")
    assert pay.match("POST", "/b/abc/pay/alipay") == {"token": "abc", "provider": "alipay"}
    assert pay.match("GET", "/b/abc/pay/alipay") is None and pay.match("POST", "/b/abc/pay") is None
    assert HttpRoute("Api", "ANY", "/console/{proxy+}", "Fn").match("GET", "/console/a/b") == {"proxy": "a/b"}


def test_a_request_becomes_the_event_api_gateway_sends_and_the_answer_http():
    route = HttpRoute("Api", "POST", "/b/{token}/feedback", "Fn")
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": "a=1; b=2", "User-Agent": "UA"}
    event = http_api_event(route, {"token": "t"}, "POST", "/b/t/feedback?lang=en&x=1&x=2", headers, b"text=hi",
                           "127.0.0.1", "api1", "127.0.0.1:8080")  # fmt: skip
    assert event["version"] == "2.0" and event["routeKey"] == "POST /b/{token}/feedback"
    assert event["rawPath"] == "/b/t/feedback" and event["queryStringParameters"] == {"lang": "en", "x": "1,2"}
    assert event["cookies"] == ["a=1", "b=2"] and "cookie" not in event["headers"]
    assert event["body"] == "text=hi" and event["isBase64Encoded"] is False
    assert event["requestContext"]["http"] == {"method": "POST", "path": "/b/t/feedback", "protocol": "HTTP/1.1",
                                               "sourceIp": "127.0.0.1", "userAgent": "UA"}  # fmt: skip
    status, answered, cookies, body = lambda_answer(
        {"statusCode": 303, "headers": {"Location": "https://x"}, "cookies": ["s=1"], "body": ""}
    )
    assert (status, answered, cookies, body) == (303, {"location": "https://x"}, ["s=1"], b"")
