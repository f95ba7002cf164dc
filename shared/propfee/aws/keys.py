"""DynamoDB keys of the single propfee table. docs/data-model.md explains each access pattern."""

from __future__ import annotations

from datetime import date

from propfee.domain.models import room_key

COMMUNITIES = "COMMUNITIES"


def community_item(community_id: str) -> dict[str, str]:
    return {"pk": COMMUNITIES, "sk": f"COMMUNITY#{community_id}"}


def building_item(community_id: str, building_id: str) -> dict[str, str]:
    return {"pk": f"COMMUNITY#{community_id}", "sk": f"BUILDING#{building_id}"}


def community_unit_item(community_id: str, unit_id: str) -> dict[str, str]:
    """A community's directory of its units, for the monthly billing run."""
    return {"pk": f"COMMUNITY#{community_id}", "sk": f"UNIT#{unit_id}"}


def period_total(community_id: str, period: str) -> dict[str, str]:
    return {"pk": f"COMMUNITY#{community_id}", "sk": f"PERIOD#{period}"}


def unit_item(unit_id: str) -> dict[str, str]:
    return {"pk": f"UNIT#{unit_id}", "sk": "UNIT"}


def bill_item(unit_id: str, period: str) -> dict[str, str]:
    return {"pk": f"UNIT#{unit_id}", "sk": f"BILL#{period}"}


def payment_item(unit_id: str, reference: str) -> dict[str, str]:
    return {"pk": f"UNIT#{unit_id}", "sk": f"PAYMENT#{reference}"}


def evidence_pk(unit_id: str) -> str:
    """A unit's reminders (claims and legal evidence) live apart from its ledger: IAM's dynamodb:LeadingKeys sees only
    the partition key, so this partition lets only the send function put evidence while imports and billing write
    the unit's bills and payments (infra/template.yaml)."""
    return f"EVIDENCE#{unit_id}"


def reminder_item(unit_id: str, claim_key: str) -> dict[str, str]:
    return {"pk": evidence_pk(unit_id), "sk": claim_key}


def skip_item(unit_id: str, day: date, step: str) -> dict[str, str]:
    return {"pk": f"UNIT#{unit_id}", "sk": f"SKIP#{day.isoformat()}#{step}"}


def payment_reference_item(reference: str) -> dict[str, str]:
    """Claims a payment reference company-wide: a bank serial is applied once, whichever unit a file names."""
    return {"pk": f"PAYREF#{reference}", "sk": "PAYREF"}


def room_item(building_id: str, room: str) -> dict[str, str]:
    """Finds a unit from its building and room as an import file names them."""
    return {"pk": f"ROOM#{building_id}#{room_key(room)}", "sk": "ROOM"}


def phone_item(phone_e164: str, unit_id: str) -> dict[str, str]:
    return {"pk": f"PHONE#{phone_e164}", "sk": f"UNIT#{unit_id}"}


def wechat_item(openid: str, unit_id: str) -> dict[str, str]:
    """Finds the units an owner's WeChat (openid) is bound to: their messages to the account."""
    return {"pk": f"WECHAT#{openid}", "sk": f"UNIT#{unit_id}"}


def email_item(address: str, unit_id: str) -> dict[str, str]:
    return {"pk": f"EMAIL#{address.lower()}", "sk": f"UNIT#{unit_id}"}


def arrears_pk(community_id: str) -> str:
    return f"ARREARS#{community_id}"


def arrears_sk(oldest_due: date, unit_id: str) -> str:
    return f"{oldest_due.isoformat()}#{unit_id}"


def activity_pk(community_id: str, day: date) -> str:
    return f"ACTIVITY#{community_id}#{day.isoformat()}"


COLLECTORS = "COLLECTORS"


def collector_item(collector_id: str) -> dict[str, str]:
    return {"pk": COLLECTORS, "sk": f"COLLECTOR#{collector_id}"}


def task_item(task_id: str) -> dict[str, str]:
    return {"pk": f"TASK#{task_id}", "sk": "TASK"}


def task_inbox_pk(collector_id: str, status: str) -> str:
    return f"COLLECTOR#{collector_id}#STATUS#{status}"


def message_item(provider_message_id: str) -> dict[str, str]:
    """Finds the reminder an owner's reply answers (End User Messaging's previousPublishedMessageId)."""
    return {"pk": f"MSG#{provider_message_id}", "sk": "MSG"}


def inbound_item(source_id: str) -> dict[str, str]:
    return {"pk": f"INBOUND#{source_id}", "sk": "INBOUND"}


def unit_inbound_item(unit_id: str, received_at: str, source_id: str) -> dict[str, str]:
    return {"pk": f"UNIT#{unit_id}", "sk": f"INBOUND#{received_at}#{source_id}"}


def sender_count_item(sender: str, bucket: str) -> dict[str, str]:
    return {"pk": f"SENDER#{sender}", "sk": f"COUNT#{bucket}"}


def sender_ack_item(sender: str) -> dict[str, str]:
    return {"pk": f"SENDER#{sender}", "sk": "ACK"}


def ticket_ack_item(sender: str, ticket_id: str) -> dict[str, str]:
    return {"pk": f"SENDER#{sender}", "sk": f"ACK#TICKET#{ticket_id}"}


def ticket_item(ticket_id: str) -> dict[str, str]:
    return {"pk": f"TICKET#{ticket_id}", "sk": "TICKET"}


def ticket_inbox_pk(department: str, status: str) -> str:
    return f"TICKETS#{department}#{status}"


PENDING_ACKS = "ACKS#pending"
# the tickets holding a clerk's answer that waits for the contact window: a marker item per ticket, in the inbox
# index only while an answer waits (sparse), so the hourly run reads them without reading every open ticket
QUEUED_REPLIES = "TICKETS#queued-replies"


def opt_outs_pk(community_id: str) -> str:
    """The inbox index's partition of a community's opt-outs: the unit's copy of each message that switched an
    owner's SMS or email off carries it (sparse), so the console lists them without reading every unit."""
    return f"OPTOUTS#{community_id}"


def ticket_queue_item(ticket_id: str) -> dict[str, str]:
    return {"pk": f"TICKET#{ticket_id}", "sk": "QUEUED"}


def report_snapshot_item(community_id: str, day: date) -> dict[str, str]:
    """What a daily report kept of a community's day (trend, effectiveness, targets read it back)."""
    return {"pk": report_snapshots_pk(community_id), "sk": f"DAY#{day.isoformat()}"}


def report_snapshots_pk(community_id: str) -> str:
    return f"REPORT#{community_id}"


def digest_item(day: date, collector_id: str) -> dict[str, str]:
    """Claims a collector's morning digest of new tasks for a day: it goes out once, whatever retries happen."""
    return {"pk": f"DIGEST#{day.isoformat()}", "sk": f"COLLECTOR#{collector_id}"}


STAFF = "STAFF"


def staff_item(sub: str) -> dict[str, str]:
    """A console user's assignments (communities, departments, collector), by their Cognito `sub`."""
    return {"pk": STAFF, "sk": f"STAFF#{sub}"}


def audit_pk(unit_id: str) -> str:
    """Staff actions about a unit (or COMPANY): a partition of their own, so that the console's role may only put
    there (IAM dynamodb:LeadingKeys), never update or delete, as with the evidence partition."""
    return f"AUDIT#{unit_id}"


def audit_item(unit_id: str, at: str, action_id: str) -> dict[str, str]:
    return {"pk": audit_pk(unit_id), "sk": f"ACTION#{at}#{action_id}"}


def audit_day_pk(day: date) -> str:
    """The company's staff actions of one local day, in the activity index (the daily report's one Query)."""
    return f"AUDITDAY#{day.isoformat()}"


def payment_order_item(out_trade_no: str) -> dict[str, str]:
    """An online payment order (payments/orders.py): its number is derived from unit, bills and attempt."""
    return {"pk": f"PAYORDER#{out_trade_no}", "sk": "PAYORDER"}


def payment_notice_item(provider: str, replay_key: str) -> dict[str, str]:
    """A provider's signed notification seen once (replays are refused); expires with `expires_at`."""
    return {"pk": f"PAYNOTICE#{provider}#{replay_key}", "sk": "PAYNOTICE"}


def bill_link_item(token: str) -> dict[str, str]:
    """A bill link by its token: the bill page's one read by key (a token is base62, never holds '#')."""
    return {"pk": f"BILLLINK#{token}", "sk": "LINK"}


def link_opening_item(token: str, day: date) -> dict[str, str]:
    """A bill link opened on a local day: kept once per link and day, beside the link (the report's openings)."""
    return {"pk": f"BILLLINK#{token}", "sk": f"OPENED#{day.isoformat()}"}


def rate_count_item(subject: str, window: str) -> dict[str, str]:
    """Requests of a subject (a token's or a source IP's digest) in a window of time: web rate limits."""
    return {"pk": f"RATE#{subject}", "sk": f"COUNT#{window}"}


def receipt_item(token: str) -> dict[str, str]:
    """An e-receipt by its verification token (/r/<token>): the receipt page's one read by key."""
    return {"pk": f"RECEIPT#{token}", "sk": "RECEIPT"}


def receipt_transaction_item(provider: str, transaction_id: str) -> dict[str, str]:
    """The e-receipt of a provider's transaction: issued once however often the notification comes."""
    return {"pk": f"RECEIPT#TX#{provider}#{transaction_id}", "sk": "RECEIPT"}


def receipt_message_item(number: str) -> dict[str, str]:
    """The message that told the owner of a receipt: claimed once, then what became of it (evidence)."""
    return {"pk": f"RECEIPT#MSG#{number}", "sk": "MESSAGE"}


# receipt messages not yet sent (waiting for the contact window, or for a retry): their items carry this inbox key,
# removed once sent, so the hourly run reads only these (the inbox index is sparse)
RECEIPT_MESSAGES_DUE = "RECEIPT#MSG#DUE"


def reconciliation_item(day: date, provider: str) -> dict[str, str]:
    """What the nightly reconciliation found in a provider's bill of a day (payments/reconciliation.py)."""
    return {"pk": reconciliations_pk(day), "sk": f"PROVIDER#{provider}"}


def reconciliations_pk(day: date) -> str:
    return f"RECONCILIATION#{day.isoformat()}"
