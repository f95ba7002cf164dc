"""The mainland SMS emulators set up as the approved templates file says the providers approved them."""

from __future__ import annotations

from typing import Any

from propfee.aws.secrets import put_secret
from propfee.collection.approved_sms import ApprovedSms, load_approved
from propfee.local.emulators.aliyun_sms import AliyunSmsEmulator
from propfee.local.emulators.tencent_sms import TencentSmsEmulator
from propfee.rules import CollectionRules

# the keys the emulators accept: made up for the sandbox, they open nothing anywhere else
SANDBOX_ALIYUN_KEY = {"access_key_id": "LTAI5tSandboxKey", "access_key_secret": "sandbox-aliyun-secret"}  # nosec B105
SANDBOX_TENCENT_KEY = {"secret_id": "AKIDSandboxSecretId", "secret_key": "sandbox-tencent-secret"}  # nosec B105
SANDBOX_TENCENT_APP = "1400000001"


def _approved(provider: str, data: ApprovedSms) -> dict[str, str]:
    return {
        by_provider[provider].code: by_provider[provider].text  # type: ignore[index]
        for languages in data.templates.values()
        for by_provider in languages.values()
        if provider in by_provider
    }


def aliyun_emulator(data: ApprovedSms | None = None) -> AliyunSmsEmulator:
    data = data or load_approved()
    rules = data.providers["aliyun"]
    return AliyunSmsEmulator(
        access_keys={SANDBOX_ALIYUN_KEY["access_key_id"]: SANDBOX_ALIYUN_KEY["access_key_secret"]},
        signatures=set(rules.signatures),
        templates=_approved("aliyun", data),
        variable_max_chars=rules.variable_max_chars,
    )


def tencent_emulator(data: ApprovedSms | None = None) -> TencentSmsEmulator:
    data = data or load_approved()
    rules = data.providers["tencent"]
    return TencentSmsEmulator(
        secrets={SANDBOX_TENCENT_KEY["secret_id"]: SANDBOX_TENCENT_KEY["secret_key"]},
        sdk_app_id=SANDBOX_TENCENT_APP,
        signatures=set(rules.signatures),
        templates=_approved("tencent", data),
        variable_max_chars=rules.variable_max_chars,
    )


def store_sms_keys(rules: CollectionRules, secretsmanager: Any) -> None:
    """The emulators' keys in Secrets Manager under the names the rules give (the stack's own secrets when the rules
    name them, <stack>-aliyun-sms and <stack>-tencent-sms, which the functions' roles may read)."""
    routing = rules.sms
    for name in routing.mainland():
        account = routing.aliyun if name == "aliyun" else routing.tencent
        assert account is not None
        put_secret(account.secret, SANDBOX_ALIYUN_KEY if name == "aliyun" else SANDBOX_TENCENT_KEY, secretsmanager)


def start_sms_emulators(
    rules: CollectionRules,
) -> tuple[dict[str, AliyunSmsEmulator | TencentSmsEmulator], dict[str, str]]:
    """The emulators of the mainland providers the rules choose, started; and their endpoints (for
    PROPFEE_SMS_ENDPOINTS)."""
    routing = rules.sms
    data = load_approved(rules.approved_sms_file(None))
    started: dict[str, AliyunSmsEmulator | TencentSmsEmulator] = {}
    endpoints: dict[str, str] = {}
    for name in routing.mainland():
        emulator = aliyun_emulator(data) if name == "aliyun" else tencent_emulator(data)
        if isinstance(emulator, TencentSmsEmulator) and routing.tencent is not None:
            emulator.sdk_app_id = routing.tencent.sms_sdk_app_id
        endpoints[name] = emulator.start()
        started[name] = emulator
    return started, endpoints


def sent_by_emulators(emulators: dict[str, AliyunSmsEmulator | TencentSmsEmulator]) -> list[tuple[str, str, str]]:
    """(message id as the evidence records it, E.164 number, text) of what the emulators sent, provider by provider."""
    sent: list[tuple[str, str, str]] = []
    for emulator in emulators.values():
        if isinstance(emulator, AliyunSmsEmulator):
            sent += [(f"aliyun:{s.biz_id}", f"+86{s.phone}", s.text) for s in emulator.sent]
        else:
            sent += [(f"tencent:{s.serial_no}", s.phone, s.text) for s in emulator.sent]
    return sent
