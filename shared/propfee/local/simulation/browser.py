"""A simulated owner's phone browser: opens the bill link of a reminder and pays on the emulated provider's
cashier, over plain HTTP to the sandbox's loopback servers, as the owner's taps would."""

from __future__ import annotations

import html
import re
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime

from propfee.local.simulation.world import stable_rng
from propfee.payments.receipt_messages import SUBJECTS

PHONE_BROWSER = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1"
BILL_LINK = re.compile(r"http://127\.0\.0\.1:\d+/b/[0-9A-Za-z]{22}")
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
_FORM = re.compile(r'<form method="post" action="([^"]*)"')
MAX_REDIRECTS = 5
# of the owners a reminder moves to pay in full, the share who tap its bill link and pay there, and of those
# the share who choose WeChat Pay (the rest Alipay); the others pay at the office or in the billing system's app,
# which the billing system's export brings in
PAYS_ONLINE = 0.55
CHOOSES_WECHAT_PAY = 0.6
# an owner's e-receipt email is not a reminder: it moves nobody to pay
RECEIPT_SUBJECTS = tuple(subject.split("{", 1)[0] for subject in SUBJECTS.values())


def online_provider(seed: int, unit_id: str, at: datetime) -> str | None:
    """The provider this owner pays with from the link, or None when they pay another way."""
    rng = stable_rng("online", seed, unit_id, at)
    if rng.random() >= PAYS_ONLINE:
        return None
    return "wechat_pay" if rng.random() < CHOOSES_WECHAT_PAY else "alipay"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *_args: object, **_kwargs: object) -> None:
        return None  # followed by hand: a POST answered 303 becomes a GET, and only loopback hosts are visited


_opener = urllib.request.build_opener(_NoRedirect)


def _fetch(url: str, form: dict[str, str] | None = None) -> tuple[int, str, str]:
    """(status, Location, body) of one request; only the sandbox's own loopback servers are ever asked."""
    if not url.startswith("http://127.0.0.1:"):
        raise ValueError(f"the simulated browser only visits the sandbox: {url}")
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    request = urllib.request.Request(url, data=data, headers={"User-Agent": PHONE_BROWSER})  # noqa: S310
    try:
        with _opener.open(request, timeout=30) as response:  # nosec B310 - loopback only, checked above
            return response.status, response.headers.get("Location", ""), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Location", ""), error.read().decode()


def _follow(url: str, form: dict[str, str] | None = None) -> tuple[int, str, str]:
    """A request and the redirects after it: (status, final URL, body)."""
    status, location, body = _fetch(url, form)
    for _ in range(MAX_REDIRECTS):
        if status not in (301, 302, 303) or not location:
            break
        url = urllib.parse.urljoin(url, location)
        status, location, body = _fetch(url)
    return status, url, body


def pay_online(link: str, provider: str) -> bool:
    """Open the bill link, press the provider's button, press pay on its cashier page. True when the cashier
    took the payment (the provider's notification then reaches the stack on its own schedule); False when the
    page offered nothing to pay or something refused, as a real owner would give up and pay another way."""
    status, _, page = _fetch(link)
    csrf = _CSRF.search(page)
    if status != 200 or csrf is None or f"/pay/{provider}" not in page:
        return False
    status, cashier, page = _follow(f"{link}/pay/{provider}", {"csrf": csrf.group(1)})
    action = _FORM.search(page)
    if status != 200 or action is None:
        return False
    status, _, _ = _fetch(urllib.parse.urljoin(cashier, html.unescape(action.group(1))), {})
    return status in (200, 302, 303)
