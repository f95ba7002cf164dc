"""The company's collection rules (ladder and contact policy, per community) and the compliance checks on the
reminder texts: no utility cut-off threats, no public shaming, no third parties, and SMS that fit."""

from datetime import date, time
from importlib import resources

import pytest
from jinja2 import ChoiceLoader, DictLoader, Environment
from pydantic import ValidationError

from propfee.collection import messages
from propfee.collection.ladder import DEFAULT_LADDER, Ladder, Repeat
from propfee.collection.letters import compose_letter
from propfee.collection.messages import (
    LANGUAGES,
    TemplateRefused,
    check_sms_lengths,
    check_templates,
    lint,
    render,
    sample_bill_url,
    sms_segments,
)
from propfee.collection.policy import ContactPolicy, FrequencyCap, TimeRange
from propfee.domain.models import Channel, OpenBill, SendJob
from propfee.feedback.responses import REPLY_TEMPLATES
from propfee.rules import CollectionRules, load_rules, parse_rules
from tests.support import COMPANY as IDENTITY
from tests.support import letter_job, unit

TEMPLATES = ("reminder_due_soon", "reminder_friendly", "reminder_notice", "reminder_firm")
LETTERS = ("demand_letter",)
COMPANY = """
ladder:
  steps:
    - {step_id: sms_d3, days_overdue: 3, channel: sms, template: reminder_friendly}
    - {step_id: sms_d20, days_overdue: 20, channel: sms, template: reminder_firm, min_amount_fen: 10000}
contact_policy:
  window: {start: "08:00", end: "21:00"}
  quiet_hours: {start: "12:00", end: "14:00"}
  extra_holidays: [2026-12-31]
communities:
  C02:
    contact_policy:
      window: {start: "09:00", end: "20:00"}
      contact_on_weekends: false
      frequency_caps: [{messages: 1, days: 7}]
  C03:
    ladder:
      steps:
        - {step_id: email_d10, days_overdue: 10, channel: email, template: reminder_notice}
"""


# ---------------------------------------------------------------- the packaged rules


def test_the_packaged_rules_load():
    rules = load_rules()

    assert isinstance(rules, CollectionRules)
    assert rules.ladder == DEFAULT_LADDER
    steps = {step.step_id: step for step in rules.ladder.steps}
    assert list(steps) == ["due_soon_sms", "sms_d1", "notice_d7", "call_d15", "sms_d30", "letter_d45", "review_d90"]
    due_soon, notice, sms_d30 = steps["due_soon_sms"], steps["notice_d7"], steps["sms_d30"]
    assert (due_soon.days_overdue, due_soon.channels, due_soon.template) == (-3, (Channel.SMS,), "reminder_due_soon")
    assert (notice.channels, notice.template) == ((Channel.EMAIL, Channel.SMS), "reminder_notice")
    assert (sms_d30.repeat, sms_d30.last_day) == (Repeat(every_days=7, times=1), 37)
    letter, review = steps["letter_d45"], steps["review_d90"]
    assert (letter.days_overdue, letter.channel, letter.template) == (45, Channel.LETTER, "demand_letter")
    assert (review.days_overdue, review.channel, review.template) == (90, Channel.LEGAL_REVIEW, "")
    policy = rules.contact_policy
    assert policy.window == TimeRange(start=time(8, 0), end=time(21, 0))
    assert policy.quiet_hours == TimeRange(start=time(12, 0), end=time(14, 0))
    assert (policy.contact_on_weekends, policy.contact_on_statutory_holidays) == (True, False)
    assert policy.extra_holidays == ()
    assert policy.frequency_caps == (FrequencyCap(messages=1, days=3), FrequencyCap(messages=4, days=30))
    assert rules.communities == {}


def test_the_packaged_rules_are_read_once():
    assert load_rules() is load_rules()


def test_every_community_gets_the_company_rules_without_an_override():
    rules = load_rules()

    assert rules.ladder_for("C01") == rules.ladder
    assert rules.policy_for("C01") == rules.contact_policy


def test_the_packaged_rules_file_can_be_read_from_a_path(tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text(resources.files("propfee").joinpath("rules.yaml").read_text(encoding="utf-8"), encoding="utf-8")

    assert load_rules(path) == load_rules()


# ---------------------------------------------------------------- per-community overrides


def test_a_community_can_override_the_contact_policy():
    rules = parse_rules(COMPANY)

    c02 = rules.policy_for("C02")
    assert c02.window == TimeRange(start=time(9, 0), end=time(20, 0))
    assert c02.contact_on_weekends is False
    assert c02.frequency_caps == (FrequencyCap(messages=1, days=7),)
    # its ladder is still the company's
    assert rules.ladder_for("C02") == rules.ladder


def test_a_community_can_override_the_ladder():
    rules = parse_rules(COMPANY)

    assert [step.step_id for step in rules.ladder_for("C03").steps] == ["email_d10"]
    assert rules.ladder_for("C03").steps[0].channel is Channel.EMAIL
    # its contact policy is still the company's
    assert rules.policy_for("C03") == rules.contact_policy


def test_other_communities_keep_the_company_rules():
    rules = parse_rules(COMPANY)

    assert [step.step_id for step in rules.ladder_for("C01").steps] == ["sms_d3", "sms_d20"]
    assert rules.ladder_for("C01").steps[1].min_amount_fen == 10000
    assert rules.policy_for("C01").quiet_hours == TimeRange(start=time(12, 0), end=time(14, 0))
    assert rules.policy_for("C01").extra_holidays == (date(2026, 12, 31),)
    assert rules.policy_for("C01").frequency_caps == ContactPolicy().frequency_caps


def test_a_community_override_keeps_the_company_settings_it_does_not_mention():
    rules = parse_rules(COMPANY)

    c02 = rules.policy_for("C02")
    assert c02.quiet_hours == TimeRange(start=time(12, 0), end=time(14, 0))
    assert c02.extra_holidays == (date(2026, 12, 31),)


def test_empty_rules_are_the_defaults():
    rules = parse_rules("")

    assert rules.ladder == DEFAULT_LADDER
    assert rules.contact_policy == ContactPolicy()
    assert rules.communities == {}


def test_rules_must_be_a_mapping():
    with pytest.raises(ValueError, match="mapping"):
        parse_rules("- sms_d1\n- email_d7\n")


# ---------------------------------------------------------------- refused rules


@pytest.mark.parametrize(
    "text",
    [
        "ladders: {}\n",  # a typo at the top
        "contact_policy: {quiet_hour: {start: '12:00', end: '14:00'}}\n",
        "contact_policy: {min_days_between_messages: 3}\n",  # the old setting, replaced by frequency_caps
        "communities: {C02: {policy: {contact_on_weekends: false}}}\n",
        "ladder: {min_days_between_messages: 3, steps: [{step_id: a, days_overdue: 1, channel: sms, "
        "template: reminder_friendly}]}\n",
        "ladder: {steps: [{step_id: a, days_overdue: 1, channel: sms, template: reminder_friendly, amount: 1}]}\n",
    ],
    ids=["top", "policy", "old policy setting", "community", "old ladder setting", "step"],
)
def test_an_unknown_key_is_refused(text):
    with pytest.raises(ValidationError, match=r"[Ee]xtra inputs are not permitted"):
        parse_rules(text)


def test_a_ladder_naming_a_missing_template_is_refused():
    text = "ladder: {steps: [{step_id: sms_d1, days_overdue: 1, channel: sms, template: reminder_gentle}]}\n"

    with pytest.raises(ValidationError, match=r"reminder_gentle\.zh-CN\.sms\.j2: missing"):
        parse_rules(text)


def test_a_community_ladder_naming_a_missing_template_is_refused():
    text = "communities: {C02: {ladder: {steps: [{step_id: x, days_overdue: 1, channel: sms, template: demand}]}}}\n"

    with pytest.raises(ValidationError, match=r"demand\.en\.email\.j2: missing"):
        parse_rules(text)


def test_a_letter_step_naming_a_message_template_is_refused():
    # reminder_firm is an SMS and email template: there is no letter of that name
    text = "ladder: {steps: [{step_id: letter_d45, days_overdue: 45, channel: letter, template: reminder_firm}]}\n"

    with pytest.raises(ValidationError, match=r"reminder_firm\.zh-CN\.letter\.j2: missing") as refused:
        parse_rules(text)

    assert "reminder_firm.en.letter.j2: missing" in str(refused.value)
    assert "reminder_firm.zh-CN.sms.j2" not in str(refused.value)  # its message files are not what is missing


def test_a_message_step_naming_the_letter_template_is_refused():
    text = "ladder: {steps: [{step_id: sms_d45, days_overdue: 45, channel: sms, template: demand_letter}]}\n"

    with pytest.raises(ValidationError, match=r"demand_letter\.zh-CN\.sms\.j2: missing"):
        parse_rules(text)


def test_a_community_ladder_naming_a_missing_letter_template_is_refused():
    text = (
        "communities: {C02: {ladder: {steps: [{step_id: letter_d60, days_overdue: 60, channel: letter,"
        " template: final_demand}]}}}\n"
    )

    with pytest.raises(ValidationError, match=r"final_demand\.en\.letter\.j2: missing"):
        parse_rules(text)


def test_a_community_ladder_with_the_demand_letter_loads():
    text = (
        "communities: {C02: {ladder: {steps: [{step_id: sms_d3, days_overdue: 3, channel: sms,"
        " template: reminder_friendly}, {step_id: letter_d60, days_overdue: 60, channel: letter,"
        " template: demand_letter, min_amount_fen: 50000}]}}}\n"
    )

    rules = parse_rules(text)

    letter = rules.ladder_for("C02").steps[-1]
    assert (letter.step_id, letter.channel, letter.template, letter.min_amount_fen) == (
        "letter_d60",
        Channel.LETTER,
        "demand_letter",
        50000,
    )
    assert rules.ladder_for("C01") == DEFAULT_LADDER


def test_a_letter_step_without_a_template_is_refused():
    with pytest.raises(ValidationError, match="template"):
        parse_rules("ladder: {steps: [{step_id: letter_d45, days_overdue: 45, channel: letter}]}\n")


@pytest.mark.parametrize(
    "text",
    [
        "contact_policy: {window: {start: '21:00', end: '08:00'}}\n",
        "contact_policy: {frequency_caps: [{messages: 0, days: 3}]}\n",
        "ladder: {steps: []}\n",
        "ladder: {steps: [{step_id: b, days_overdue: 7, channel: sms, template: reminder_notice},"
        " {step_id: a, days_overdue: 1, channel: sms, template: reminder_friendly}]}\n",
        "ladder: {steps: [{step_id: a, days_overdue: 1, channel: fax, template: reminder_friendly}]}\n",
    ],
    ids=["window backwards", "zero-message cap", "no steps", "unordered steps", "unknown channel"],
)
def test_inconsistent_rules_are_refused(text):
    with pytest.raises(ValidationError):
        parse_rules(text)


def test_an_unquoted_clock_time_is_read_as_that_time_or_refused():
    text = "contact_policy: {window: {start: 9:00, end: 20:00}, quiet_hours: {start: 12:00, end: 14:00}}\n"

    try:
        policy = parse_rules(text).contact_policy
    except ValidationError:
        return  # refusing it at load is as good as reading it right
    assert policy.window == TimeRange(start=time(9, 0), end=time(20, 0))
    assert policy.quiet_hours == TimeRange(start=time(12, 0), end=time(14, 0))


# ---------------------------------------------------------------- the ladder's step forms in YAML

FORMS = """
ladder:
  steps:
    - {step_id: due_soon, days_overdue: -5, channels: [sms, email], template: reminder_due_soon}
    - {step_id: sms_d1, days_overdue: 1, channel: sms, template: reminder_friendly,
       repeat: {every_days: 3, times: 2}}
    - {step_id: notice_d8, days_overdue: 8, channels: [email], template: reminder_notice}
    - {step_id: review_d60, days_overdue: 60, channel: legal_review}
"""


def test_the_step_forms_load_from_yaml():
    due_soon, sms_d1, notice, review = parse_rules(FORMS).ladder.steps

    assert (due_soon.days_overdue, due_soon.channels) == (-5, (Channel.SMS, Channel.EMAIL))
    assert (sms_d1.channels, sms_d1.repeat, sms_d1.last_day) == ((Channel.SMS,), Repeat(every_days=3, times=2), 7)
    assert notice.channels == (Channel.EMAIL,)  # a list of one is one channel, with its fallback
    assert (review.channel, review.template) == (Channel.LEGAL_REVIEW, "")
    assert parse_rules(FORMS).ladder.due_before(date(2026, 3, 10)) == date(2026, 3, 16)


def test_a_community_ladder_can_use_the_step_forms():
    text = "communities:\n  C02:\n" + "\n".join("    " + line for line in FORMS.strip().splitlines()) + "\n"

    rules = parse_rules(text)

    assert rules.ladder_for("C02") == parse_rules(FORMS).ladder
    assert rules.ladder_for("C01") == DEFAULT_LADDER


def _step_yaml(**fields):
    return "ladder: {steps: [{" + ", ".join(f"{k}: {v}" for k, v in fields.items()) + "}]}\n"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            _step_yaml(step_id="a", days_overdue=7, channel="sms", channels="[email]", template="reminder_notice"),
            "give either channel or channels, not both",
        ),
        (
            _step_yaml(step_id="a", days_overdue=7, channels="[sms, call]", template="reminder_notice"),
            "step a: only sms and email can be sent together in one step",
        ),
        (
            _step_yaml(step_id="a", days_overdue=7, channels="[email, letter]", template="demand_letter"),
            "step a: only sms and email can be sent together in one step",
        ),
        (
            _step_yaml(step_id="a", days_overdue=7, channels="[sms, sms]", template="reminder_notice"),
            "step a names a channel twice",
        ),
        (_step_yaml(step_id="a", days_overdue=7, channels="[]", template="reminder_notice"), "at least 1 item"),
        (
            _step_yaml(step_id="a", days_overdue=-2, channel="letter", template="demand_letter"),
            "step a: up to the due date only a friendly sms or email is sent",
        ),
        (
            _step_yaml(step_id="a", days_overdue=-2, channel="call"),
            "step a: up to the due date only a friendly sms or email is sent",
        ),
        (
            _step_yaml(step_id="a", days_overdue=-1, channel="legal_review"),
            "step a: up to the due date only a friendly sms or email is sent",
        ),
        (
            _step_yaml(step_id="a", days_overdue=-31, channel="sms", template="reminder_due_soon"),
            "greater than or equal to -30",
        ),
        (
            _step_yaml(
                step_id="a",
                days_overdue=1,
                channel="sms",
                template="reminder_friendly",
                repeat="{every_days: 0, times: 1}",
            ),
            "greater than or equal to 1",
        ),
        (
            _step_yaml(
                step_id="a", days_overdue=1, channel="sms", template="reminder_friendly", repeat="{every: 7, times: 1}"
            ),
            "Extra inputs are not permitted",
        ),
        (
            "ladder: {steps: [{step_id: sms_d30, days_overdue: 30, channel: sms, template: reminder_firm,"
            " repeat: {every_days: 7, times: 2}}, {step_id: letter_d44, days_overdue: 44, channel: letter,"
            " template: demand_letter}]}\n",
            r"step sms_d30 repeats until day 44, when step letter_d44 \(day 44\) has taken over",
        ),
        (
            "ladder: {steps: [{step_id: a-b, days_overdue: 1, channel: sms, template: reminder_friendly}]}\n",
            "should match pattern",  # "-" separates a claim's parts: never in a step id
        ),
    ],
    ids=[
        "channel and channels",
        "sms with a call",
        "email with a letter",
        "a channel twice",
        "no channel",
        "letter before due",
        "call before due",
        "review before due",
        "more than 30 days before due",
        "repeat every 0 days",
        "repeat unknown key",
        "repetition reaching the next step",
        "dash in step id",
    ],
)
def test_an_incoherent_step_is_refused_with_the_reason(text, problem):
    with pytest.raises(ValidationError, match=problem):
        parse_rules(text)


def test_a_courtesy_note_naming_a_missing_template_is_refused():
    text = _step_yaml(step_id="soon", days_overdue=-3, channels="[sms, email]", template="reminder_soon")

    with pytest.raises(ValidationError, match=r"reminder_soon\.zh-CN\.sms\.j2: missing"):
        parse_rules(text)


# ---------------------------------------------------------------- the compliance lint

UTILITY = "threatens a utility cut-off"
SHAMING = "shames the owner publicly"
THIRD_PARTY = "names a third party"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("逾期不缴将停水", UTILITY),
        ("逾期不缴将停电", UTILITY),
        ("物业将对您家断水处理", UTILITY),
        ("届时将断电", UTILITY),
        ("冬季将停暖", UTILITY),
        ("将予以停气", UTILITY),
        ("we will cut off your water", UTILITY),
        ("We Will Cut Off Your Water", UTILITY),
        ("your power will be disconnected", UTILITY),
        ("the water will be cut off on Monday", UTILITY),
        ("我们将在小区公告栏曝光欠费业主", SHAMING),
        ("欠费名单将张榜公布", SHAMING),
        ("we will publicly list owners in arrears", SHAMING),
        ("我们将通知您的家人", THIRD_PARTY),
        ("我们将联系您的单位", THIRD_PARTY),
        ("we will contact your employer", THIRD_PARTY),
        ("we will tell your family", THIRD_PARTY),
    ],
)
def test_the_lint_flags_forbidden_texts(text, problem):
    assert lint(text) == [problem]


def test_the_lint_reports_every_problem_of_a_text():
    text = "再不缴费就停水，并通知您的家人，在大堂曝光"

    assert sorted(lint(text)) == sorted([UTILITY, SHAMING, THIRD_PARTY])


@pytest.mark.parametrize(
    "text",
    [
        "we are switching off the electricity",
        "we will be turning off your heating",
        "the heating will be turned off",
        "Water cut-off notice for unit 3-1502",
        "we will suspend your water supply",
    ],
)
def test_the_lint_flags_other_forms_of_a_cut_off_threat(text):
    assert lint(text) == [UTILITY]


@pytest.mark.parametrize(
    "text",
    [
        "【物业服务中心】尊敬的3-1502业主，您的物业费2,104.40元尚未缴纳。回复TD退订",
        "Dear owner of 3-1502, your property fee of CNY 2,104.40 is unpaid. Reply STOP to opt out",
        "If you dispute the bill, call 400-820-8820 or reply to this email.",
        "Water and power meters will be read on Monday.",
    ],
)
def test_the_lint_passes_ordinary_reminders(text):
    assert lint(text) == []


@pytest.mark.parametrize("name", TEMPLATES)
@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", ["sms", "email", "subject"])
def test_the_packaged_template_sources_pass_the_lint(name, language, kind):
    source = resources.files("propfee").joinpath("templates", f"{name}.{language}.{kind}.j2").read_text("utf-8")

    assert source.strip()
    assert lint(source) == []


@pytest.mark.parametrize("name", LETTERS)
@pytest.mark.parametrize("language", LANGUAGES)
def test_the_packaged_letter_template_sources_pass_the_lint(name, language):
    source = resources.files("propfee").joinpath("templates", f"{name}.{language}.letter.j2").read_text("utf-8")

    assert source.strip()
    assert lint(source) == []


@pytest.mark.parametrize("name", TEMPLATES)
@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("channel", [Channel.SMS, Channel.EMAIL])  # wechat: the approved template (test_wechat_*)
def test_the_rendered_packaged_templates_pass_the_lint_and_fit_two_sms(name, language, channel):
    job = SendJob(
        unit_id="C01-B03-1502",
        community_id="C01",
        step="sms_d1",
        channel=channel,
        destination="+8613812345678" if channel is Channel.SMS else "wang.fang@example.net",
        language=language,
        template=name,
        unit_label="B03-1502",
        balance_fen=9_999_999,
        overdue_since=date(2026, 2, 15),
        planned_for=date(2026, 3, 10),
        unit_version=1,
        community_name="锦绣花园",
        building_name="1栋",
        room="1502",
        owner_surname="欧阳",
    )

    message = render(job, date(2026, 3, 10), IDENTITY)
    linked = render(job, date(2026, 3, 10), IDENTITY, bill_url=sample_bill_url())

    assert lint(message.body) == []
    assert lint(message.subject or "") == []
    assert sample_bill_url() in linked.body and sample_bill_url() not in message.body
    if channel is Channel.SMS:
        assert 1 <= sms_segments(linked.body) <= 2


@pytest.mark.parametrize("name", LETTERS)
@pytest.mark.parametrize("language", LANGUAGES)
def test_the_rendered_packaged_letters_pass_the_lint(name, language):
    job = letter_job(
        language,
        template=name,
        balance_fen=99_999_999,
        overdue_since=date(2026, 1, 15),
        planned_for=date(2026, 3, 10),
        unit_version=1,
        periods=("2026-01", "2026-02"),
    )
    open_bills = {
        "2026-01": OpenBill(due=date(2026, 1, 15), outstanding_fen=49_999_999),
        "2026-02": OpenBill(due=date(2026, 2, 15), outstanding_fen=50_000_000),
    }
    owner = unit("C01-B03-1502", open_bills=open_bills, language=language)

    letter = compose_letter(job, owner, IDENTITY).message()

    assert letter.subject is None
    # no community or building names known: the codes
    assert "B03-1502" in letter.body
    assert "999,999.99" in letter.body
    assert ("2026年1月" if language == "zh-CN" else "January 2026") in letter.body
    assert ("2026年2月" if language == "zh-CN" else "February 2026") in letter.body
    assert lint(letter.body) == []


# ---------------------------------------------------------------- SMS length


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("", 1),
        ("a" * 160, 1),  # GSM-7: 160 in one message
        ("a" * 161, 2),  # then 153 per part
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("a" * 459, 3),
        ("a" * 460, 4),
        ("€" * 80, 1),  # an extended character takes two septets
        ("€" * 81, 2),
        ("a" * 159 + "€", 2),
        ("a" * 158 + "[]", 2),
        ("Ä" * 160, 1),  # in the basic table
        ("物" * 70, 1),  # UCS-2: 70 in one message
        ("物" * 71, 2),  # then 67 per part
        ("物" * 134, 2),
        ("物" * 135, 3),
        ("a" * 69 + "物", 1),  # one character outside GSM-7 makes the whole text UCS-2
        ("a" * 70 + "物", 2),
        ("a" * 133 + "`", 2),  # the backtick is not GSM-7
        ("😀" * 35, 1),  # outside the BMP: a surrogate pair, two UCS-2 units
        ("😀" * 36, 2),
    ],
    ids=lambda value: value if isinstance(value, int) else f"{value[:1]!r}x{len(value)}",
)
def test_sms_segments(text, segments):
    assert sms_segments(text) == segments


# ---------------------------------------------------------------- the template check at start-up


def test_the_packaged_templates_pass_the_check():
    check_templates(set(TEMPLATES))  # raises on any problem
    check_templates(set(TEMPLATES), max_sms_segments=2)
    check_templates(set(TEMPLATES), letters=frozenset(LETTERS))
    check_templates(set(), letters=frozenset(LETTERS))


def test_templates_longer_than_one_sms_are_refused_when_one_is_the_limit():
    with pytest.raises(TemplateRefused, match=r"reminder_friendly\.zh-CN\.sms\.j2: \d+ characters, UCS-2, 2 segm"):
        check_templates({"reminder_friendly"}, max_sms_segments=1)


def test_the_check_shows_each_sms_length_at_its_longest_with_the_bill_link_reserved():
    lengths = {length.template: length for length in check_templates(set(TEMPLATES), replies=REPLY_TEMPLATES)}

    assert set(lengths) == {f"{n}.{lang}.sms.j2" for n in {*TEMPLATES, *REPLY_TEMPLATES} for lang in LANGUAGES}
    friendly = lengths["reminder_friendly.zh-CN.sms.j2"]
    # the longest sample: a 6-character signature, an 8-character community, a compound surname, 99,999.99 yuan
    assert 95 <= friendly.characters <= 134 and friendly.encoding == "UCS-2"
    assert (friendly.segments, friendly.segments_with_link) == (2, 2)
    assert friendly.link_chars == len("https://jxwy.cn/b/") + 22
    assert "characters, UCS-2, 2 segment(s), 2 with a 40-character bill link" in str(friendly)
    assert all(length.counted_segments <= 2 for length in lengths.values())
    assert not lengths["reply_ticket.en.sms.j2"].carries_link  # an answer to the owner carries no bill link


def test_a_reminder_that_leaves_no_room_for_the_bill_link_is_refused():
    # the HTTP API's own URL is too long for a reminder: the function would not start until a short domain is set
    api_url = "https://a1b2c3d4e5.execute-api.cn-north-1.amazonaws.com.cn"
    with pytest.raises(TemplateRefused, match=r"reminder_due_soon\.zh-CN\.sms\.j2: \d+ characters.*3 with a 83-char"):
        check_sms_lengths({"reminder_due_soon"}, frozenset(), IDENTITY, bill_base_url=api_url)
    check_sms_lengths({"reminder_due_soon"}, frozenset(), IDENTITY, bill_base_url="https://jxwy.cn")


def test_a_long_way_to_pay_counts_where_no_bill_link_replaces_it():
    long_pay = IDENTITY.model_copy(update={"pay_instructions": {"zh-CN": "锦" * 50, "en": "x"}})
    with pytest.raises(TemplateRefused, match=r"reminder_due_soon\.zh-CN\.sms\.j2: \d+ characters, UCS-2, 3 segm"):
        check_sms_lengths({"reminder_due_soon"}, frozenset(), long_pay)


def test_a_missing_template_is_refused_for_every_language_and_kind():
    with pytest.raises(TemplateRefused) as refused:
        check_templates({"reminder_final"})

    message = str(refused.value)
    for language in LANGUAGES:
        for kind in ("sms", "email", "subject"):
            assert f"reminder_final.{language}.{kind}.j2: missing" in message


def test_a_missing_letter_template_is_refused_for_every_language():
    with pytest.raises(TemplateRefused) as refused:
        check_templates(set(), letters=frozenset({"final_demand"}))

    message = str(refused.value)
    for language in LANGUAGES:
        assert f"final_demand.{language}.letter.j2: missing" in message
    assert ".sms.j2" not in message  # a letter needs no SMS, email or subject file
    assert ".email.j2" not in message
    assert ".subject.j2" not in message


def test_message_templates_are_not_letters_and_the_letter_is_not_a_message():
    with pytest.raises(TemplateRefused, match=r"reminder_firm\.zh-CN\.letter\.j2: missing"):
        check_templates(set(), letters=frozenset({"reminder_firm"}))
    with pytest.raises(TemplateRefused, match=r"demand_letter\.zh-CN\.sms\.j2: missing"):
        check_templates({"demand_letter"})


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("催缴函\n逾期不缴的，本公司将对您的房屋停水停电。", "threatens a utility cut-off"),
        ("Demand\nYour name will be published on the notice board to name and shame you.", "shames the owner publicly"),
        ("Demand\nWe will inform your employer of this debt.", "names a third party"),
    ],
    ids=["cut-off", "shaming", "third party"],
)
def test_a_letter_template_that_fails_the_lint_is_refused(monkeypatch, text, problem):
    packaged = messages._environment()
    bad = {f"bad_letter.{language}.letter.j2": text for language in LANGUAGES}
    environment = Environment(loader=ChoiceLoader([DictLoader(bad), packaged.loader]))
    monkeypatch.setattr(messages, "_environment", lambda: environment)

    check_templates(set(TEMPLATES), letters=frozenset(LETTERS))  # the packaged ones still pass through this loader
    with pytest.raises(TemplateRefused, match=rf"bad_letter\.zh-CN\.letter\.j2: {problem}") as refused:
        check_templates(set(), letters=frozenset({"bad_letter"}))
    assert f"bad_letter.en.letter.j2: {problem}" in str(refused.value)


def test_the_default_ladder_names_only_packaged_templates():
    # every message template, the courtesy note's included; the call and the legal review are tasks, with none
    message_templates = {step.template for step in DEFAULT_LADDER.steps if step.channel.is_message}
    letter_templates = {step.template for step in DEFAULT_LADDER.steps if step.channel is Channel.LETTER}

    assert message_templates == set(TEMPLATES)
    assert letter_templates == set(LETTERS)
    assert all(not step.template for step in DEFAULT_LADDER.steps if step.channel.is_task)  # a call step has none
    check_templates(message_templates, letters=frozenset(letter_templates))
    assert isinstance(DEFAULT_LADDER, Ladder)
