"""Which provider answers refuse a message for good, which may be retried, and when the next provider is tried."""

import pytest

from propfee.domain.ports import ProviderOutcomeUnknown, ProviderRejected, ProviderUnavailable
from propfee.providers import aliyun_sms, tencent_sms
from propfee.providers.sms_errors import never_reached
from propfee.providers.sms_failover import FailoverSms


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("isv.SMS_TEMPLATE_ILLEGAL", ProviderRejected),
        ("isv.SMS_SIGNATURE_ILLEGAL", ProviderRejected),
        ("isv.MOBILE_NUMBER_ILLEGAL", ProviderRejected),
        ("isv.PARAM_LENGTH_LIMIT", ProviderRejected),
        ("SignatureDoesNotMatch", ProviderRejected),
        ("isv.BUSINESS_LIMIT_CONTROL", ProviderUnavailable),
        ("isv.AMOUNT_NOT_ENOUGH", ProviderUnavailable),
        ("isp.SYSTEM_ERROR", ProviderUnavailable),
        ("Throttling.User", ProviderUnavailable),
    ],
)
def test_aliyun_codes(code, kind):
    assert type(aliyun_sms.outcome(code)) is kind


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("FailedOperation.TemplateIncorrectOrUnapproved", ProviderRejected),
        ("FailedOperation.SignatureIncorrectOrUnapproved", ProviderRejected),
        ("InvalidParameterValue.ProhibitedUseUrlInTemplateParameter", ProviderRejected),
        ("InvalidParameterValue.IncorrectPhoneNumber", ProviderRejected),
        ("AuthFailure.SignatureFailure", ProviderRejected),
        ("FailedOperation.InsufficientBalanceInSmsPackage", ProviderUnavailable),
        ("RequestLimitExceeded", ProviderUnavailable),
        ("InternalError.Timeout", ProviderUnavailable),
    ],
)
def test_tencent_codes(code, kind):
    assert type(tencent_sms.outcome(code)) is kind


class ReadTimeoutError(Exception):
    pass


class NewConnectionError(Exception):
    pass


def wrapped(inner):
    try:
        try:
            raise inner
        except Exception as error:
            raise RuntimeError(str(error)) from None  # the SDKs keep only the text, the chain keeps the cause
    except RuntimeError as outer:
        outer.__context__ = inner
        return outer


def test_a_connection_never_made_is_told_from_a_timeout_after_sending():
    assert never_reached(wrapped(NewConnectionError("refused")))
    assert never_reached(wrapped(ConnectionRefusedError()))
    assert not never_reached(wrapped(ReadTimeoutError("read timed out")))
    assert not never_reached(RuntimeError("anything else"))


class Provider:
    def __init__(self, fails=None):
        self.fails, self.sent = fails, []

    def send_sms(self, phone, body, context=None, template=None):
        if self.fails:
            raise self.fails
        self.sent.append(phone)
        return f"id-{len(self.sent)}"


@pytest.mark.parametrize("failure", [ProviderRejected("isv.SMS_TEMPLATE_ILLEGAL"), ProviderUnavailable("down")])
def test_the_next_provider_sends_when_the_first_refused_or_was_not_reached(failure):
    first, second = Provider(failure), Provider()
    assert FailoverSms([("aliyun", first), ("tencent", second)]).send_sms("+8613812345678", "x") == "id-1"
    assert second.sent == ["+8613812345678"]


def test_an_unknown_outcome_is_never_sent_again_elsewhere():
    first, second = Provider(ProviderOutcomeUnknown("read timeout")), Provider()
    with pytest.raises(ProviderOutcomeUnknown):
        FailoverSms([("aliyun", first), ("tencent", second)]).send_sms("+8613812345678", "x")
    assert second.sent == []


def test_all_refused_is_a_refusal_naming_each_and_one_down_keeps_it_retryable():
    both_refuse = FailoverSms(
        [("aliyun", Provider(ProviderRejected("a"))), ("tencent", Provider(ProviderRejected("b")))]
    )
    with pytest.raises(ProviderRejected, match="aliyun: a; tencent: b"):
        both_refuse.send_sms("+8613812345678", "x")
    one_down = FailoverSms(
        [("aliyun", Provider(ProviderUnavailable("a"))), ("tencent", Provider(ProviderRejected("b")))]
    )
    with pytest.raises(ProviderUnavailable):
        one_down.send_sms("+8613812345678", "x")
