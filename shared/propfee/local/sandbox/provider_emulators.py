"""The providers that are not AWS, as local emulators beside the sandbox: the rules' mainland SMS providers and,
when the sandbox serves bill links, WeChat Pay and Alipay notifying its HTTP API."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from propfee.local.sandbox.sandbox import Sandbox


def start_sms(sandbox: Sandbox) -> None:
    """The rules' mainland SMS providers; the functions reach them through PROPFEE_SMS_ENDPOINTS, with the
    sandbox's keys in Secrets Manager."""
    from propfee.local.emulators.sms import start_sms_emulators
    from propfee.rules import load_rules

    rules_file = os.environ.get("PROPFEE_RULES_FILE")
    rules = load_rules(Path(rules_file) if rules_file else None)
    if rules.wechat is not None:  # the official account's API: PROPFEE_WECHAT_BASE_URL points the adapter at it
        from propfee.local.emulators.wechat_setup import wechat_emulator

        sandbox.wechat_emulator = wechat_emulator(rules.wechat, sandbox.clock.now)
        os.environ["PROPFEE_WECHAT_BASE_URL"] = sandbox.wechat_emulator.start()
    if not rules.sms.mainland():
        return
    sandbox.sms_emulators, endpoints = start_sms_emulators(rules)
    os.environ["PROPFEE_SMS_ENDPOINTS"] = json.dumps(endpoints)


def connect_sms(sandbox: Sandbox) -> None:
    """Once the stack is up: the emulators' keys in its secrets, and their pushes to the HTTP API's callback routes
    with the stack's callback token (as an operator registers them in each provider's console)."""
    from propfee.local.emulators.sms import store_sms_keys
    from propfee.rules import load_rules

    rules_file = os.environ.get("PROPFEE_RULES_FILE")
    secretsmanager = sandbox.client("secretsmanager")
    wechat = sandbox.wechat_emulator
    if wechat is not None:  # its keys in the rules' secret; its server URL the HTTP API's (服务器配置)
        from propfee.local.emulators.wechat_setup import store_wechat_keys

        account = load_rules(Path(rules_file) if rules_file else None).wechat
        assert account is not None
        store_wechat_keys(account, secretsmanager)
        if sandbox.http_api is not None:
            wechat.connect(f"{sandbox.http_api.url}/wechat/callback")
    if not sandbox.sms_emulators:
        return
    store_sms_keys(load_rules(Path(rules_file) if rules_file else None), secretsmanager)
    if sandbox.http_api is None:
        return
    token = secretsmanager.get_secret_value(SecretId=sandbox.resources["SmsCallbackTokenSecret"])["SecretString"]
    for name, emulator in sandbox.sms_emulators.items():
        emulator.connect_callbacks(f"{sandbox.http_api.url}/sms/{name}/{token}", sandbox.clock.now)


def deliver_sms_pushes(sandbox: Sandbox) -> int:
    """The mainland providers' receipts and replies due on the simulated clock, pushed to the HTTP API."""
    wechat = sandbox.wechat_emulator.deliver_due() if sandbox.wechat_emulator is not None else 0
    return wechat + sum(e.pushes.deliver_due() for e in sandbox.sms_emulators.values() if e.pushes is not None)


def start_payments(sandbox: Sandbox) -> None:
    """The payment providers: their merchant keys in the stack's secrets (moto's Secrets Manager), their
    notifications to the HTTP API's /notify/<provider>, the functions that name a merchant secret pointed at their
    gateways."""
    from propfee.local.emulators.payments import start_payment_emulators

    assert sandbox.http_api is not None
    sandbox.payment_emulators = start_payment_emulators(
        sandbox.clock.now,
        sandbox.http_api.url,
        secretsmanager=sandbox.client("secretsmanager"),
        wechat_pay_secret_id=sandbox.resources["WeChatPayMerchantSecret"],
        alipay_secret_id=sandbox.resources["AlipayMerchantSecret"],
    )
    settings = sandbox.payment_emulators.environment
    for function in sandbox.functions.values():
        if "PROPFEE_WECHAT_PAY_SECRET" in function.environment or "PROPFEE_ALIPAY_SECRET" in function.environment:
            # the stack's own settings (the secrets' ARNs, the notify base) stay; the gateways are the sandbox's
            function.environment.update({k: v for k, v in settings.items() if k.endswith("_GATEWAY")})


def stop_all(sandbox: Sandbox) -> None:
    if sandbox.payment_emulators is not None:
        sandbox.payment_emulators.stop()
        sandbox.payment_emulators = None
    if sandbox.wechat_emulator is not None:
        sandbox.wechat_emulator.stop()
        sandbox.wechat_emulator = None
        os.environ.pop("PROPFEE_WECHAT_BASE_URL", None)
    for emulator in sandbox.sms_emulators.values():
        emulator.stop()
    if sandbox.sms_emulators:
        sandbox.sms_emulators = {}
        os.environ.pop("PROPFEE_SMS_ENDPOINTS", None)
