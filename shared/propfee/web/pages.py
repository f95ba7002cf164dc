"""The pages' Jinja2 environment (HTML, autoescaped), their language (zh-CN or en) and the static files."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from propfee.domain.money import yuan

LANGUAGES = ("zh-CN", "en")
DEFAULT_LANGUAGE = "zh-CN"
STATIC_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("propfee", "templates/web"),
        autoescape=select_autoescape(["html", "j2"], default=True),  # owners' and staff's text is data
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["yuan"] = yuan
    return env


def render_page(name: str, language: str, context: dict[str, Any]) -> str:
    texts = TEXTS[language]
    return environment().get_template(name).render({**context, "lang": language, "t": texts})


def choose_language(accept_language: str | None, chosen: str | None = None) -> str:
    """The language the visitor switched to (?lang=), else the first of Accept-Language we speak."""
    if chosen in LANGUAGES:
        return chosen
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return "zh-CN"
        if tag.startswith("en"):
            return "en"
    return DEFAULT_LANGUAGE


def static_file(name: str) -> tuple[bytes, str] | None:
    """A file of web/static by its bare name (no path: nothing outside the folder), with its content type."""
    suffix = name[name.rfind(".") :] if "." in name else ""
    if "/" in name or "\\" in name or name.startswith(".") or suffix not in STATIC_TYPES:
        return None
    path = resources.files("propfee.web").joinpath("static", name)
    if not path.is_file():
        return None
    return path.read_bytes(), STATIC_TYPES[suffix]


TEXTS: dict[str, dict[str, str]] = {
    "zh-CN": {
        "bill_title": "物业费账单",
        "switch_language": "English",
        "owner": "业主",
        "total_due": "应缴合计",
        "open_bills": "未缴账单",
        "period": "账期",
        "due_date": "缴费截止",
        "outstanding": "未缴金额",
        "nothing_due": "当前没有未缴费用，谢谢！",
        "pay_wechat": "微信支付",
        "pay_alipay": "支付宝支付",
        "history": "缴费记录",
        "paid_at": "缴费时间",
        "amount": "金额",
        "method": "方式",
        "receipt": "收据",
        "no_history": "暂无缴费记录",
        "answers": "您反映问题的答复",
        "ticket": "工单",
        "wrong_title": "账单有问题？",
        "wrong_hint": "请告诉我们哪里不对（如面积、金额、已缴未记），我们会尽快核实；核实期间暂停催缴。",
        "wrong_label": "问题说明",
        "send": "提交",
        "thanks_ticket": "已收到您的反馈，工单号",
        "thanks": "已收到您的反馈，我们会尽快处理。",
        "wechat_bind": "绑定微信，在公众号接收缴费提醒",
        "wechat_bound": "微信已绑定：此后缴费提醒将推送到您的微信，回复“退订”可随时停止。",
        "wechat_failed": "微信绑定未成功，请在微信中重新打开本页再试，或致电",
        "feedback_refused": "提交失败，请刷新页面后重试，或致电",
        "pay_unavailable": "在线支付暂不可用，请稍后再试或致电",
        "jsapi_unavailable": "在微信内暂不能使用微信支付：请点右上角“···”选择“在浏览器打开”，在手机浏览器中用微信支付"
        "或支付宝缴费。",
        "jsapi_failed": "未能取得微信支付所需的授权，请返回账单重新点击“微信支付”，或致电",
        "jsapi_title": "微信支付",
        "jsapi_opening": "正在打开微信支付…",
        "jsapi_no_bridge": "请在微信中打开本页完成支付。",
        "jsapi_cancelled": "支付已取消，可重新支付或返回账单。",
        "jsapi_pay_failed": "支付未成功，可重新支付或返回账单。",
        "jsapi_paid": "支付完成，正在返回账单…",
        "jsapi_retry": "重新支付",
        "jsapi_back": "返回账单",
        "payment_checking": "正在确认您的付款，稍后刷新本页即可看到缴费记录。",
        "hotline": "客服电话",
        "yuan": "元",
        "receipt_title": "电子收据",
        "receipt_verified": "此收据由本物业开具，以下信息与缴费记录一致。",
        "receipt_number": "收据编号",
        "receipt_company": "收款单位",
        "receipt_unit": "房屋",
        "receipt_method": "支付方式",
        "receipt_transaction": "交易单号",
        "receipt_total": "合计",
        "receipt_download": "下载收据（PDF）",
    },
    "en": {
        "bill_title": "Property fee bill",
        "switch_language": "中文",
        "owner": "Owner",
        "total_due": "Total due",
        "open_bills": "Open bills",
        "period": "Period",
        "due_date": "Due",
        "outstanding": "Outstanding",
        "nothing_due": "Nothing is due. Thank you!",
        "pay_wechat": "Pay with WeChat Pay",
        "pay_alipay": "Pay with Alipay",
        "history": "Payments",
        "paid_at": "Paid on",
        "amount": "Amount",
        "method": "Method",
        "receipt": "Receipt",
        "no_history": "No payments yet",
        "answers": "Answers to what you told us",
        "ticket": "Ticket",
        "wrong_title": "Something wrong with your bill?",
        "wrong_hint": "Tell us what is wrong (area, amount, a payment not recorded); we will check it and pause "
        "reminders meanwhile.",
        "wrong_label": "What is wrong",
        "send": "Send",
        "thanks_ticket": "Thank you, we have your message. Ticket",
        "thanks": "Thank you, we have your message and will look into it.",
        "wechat_bind": "Get fee reminders in WeChat",
        "wechat_bound": "WeChat is bound: fee reminders will come to your WeChat; reply STOP there at any time.",
        "wechat_failed": "Binding WeChat did not work; open this page in WeChat and try again, or call",
        "feedback_refused": "That did not go through; reload the page and try again, or call",
        "pay_unavailable": "Online payment is not available right now; try later or call",
        "jsapi_unavailable": "WeChat Pay cannot be used inside WeChat here: tap “···” at the top right, choose "
        "“Open in browser”, then pay with WeChat Pay or Alipay in your phone's browser.",
        "jsapi_failed": "WeChat did not give the authorisation WeChat Pay needs; go back to the bill and tap WeChat "
        "Pay again, or call",
        "jsapi_title": "WeChat Pay",
        "jsapi_opening": "Opening WeChat Pay…",
        "jsapi_no_bridge": "Open this page in WeChat to pay.",
        "jsapi_cancelled": "The payment was cancelled; pay again or go back to the bill.",
        "jsapi_pay_failed": "The payment did not go through; pay again or go back to the bill.",
        "jsapi_paid": "Paid; back to the bill…",
        "jsapi_retry": "Pay again",
        "jsapi_back": "Back to the bill",
        "payment_checking": "We are confirming your payment; reload this page in a moment to see it.",
        "hotline": "Hotline",
        "yuan": "CNY",
        "receipt_title": "E-receipt",
        "receipt_verified": "This receipt was issued by the property company; the facts below match its records.",
        "receipt_number": "Receipt no.",
        "receipt_company": "Received by",
        "receipt_unit": "Unit",
        "receipt_method": "Paid with",
        "receipt_transaction": "Transaction",
        "receipt_total": "Total",
        "receipt_download": "Download the receipt (PDF)",
    },
}


@dataclass(frozen=True)
class WebResponse:
    """What a route answers, before the HTTP API's payload shape (the handler turns it into one)."""

    status: int
    body: str | bytes
    content_type: str = "text/html; charset=utf-8"
    headers: Mapping[str, str] = field(default_factory=dict)
    # (name, value, path, max-age seconds): each set Secure, HttpOnly, SameSite=Strict; max-age 0 clears it
    cookies: tuple[tuple[str, str, str, int], ...] = ()
