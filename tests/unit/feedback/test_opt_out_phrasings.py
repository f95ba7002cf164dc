"""Refusals of messages by family of phrasing, and the look-alikes that are not (docs/replies-labels.md section 3)."""

from datetime import date

import pytest
from pydantic import ValidationError

from propfee.feedback.intents import Intent, classify, normalize, parse_intent_rules

TODAY = date(2026, 12, 2)


def by_rules(text: str) -> Intent:
    return classify(text, TODAY, model=False).intent


@pytest.mark.parametrize(
    ("text", "fact"),
    [
        ("T 已经交过了", Intent.PAID_CLAIM),
        ("TD，昨天交了", Intent.PAID_CLAIM),
        ("上个月就交了 T", Intent.PAID_CLAIM),
        ("房子去年卖掉了 TD", Intent.WRONG_NUMBER),
        ("T 我不是业主", Intent.WRONG_NUMBER),
        ("STOP I already paid at the office", Intent.PAID_CLAIM),
        ("td we sold the flat", Intent.WRONG_NUMBER),
    ],
)
def test_a_carrier_code_at_either_end_with_a_fact_beside_it_is_an_opt_out_with_the_fact_in_also(text, fact):
    result = classify(text, TODAY, model=False)
    assert result.intent is Intent.OPT_OUT
    assert fact in result.also_detected


@pytest.mark.parametrize(
    "text",
    ["T恤洗好了吗", "N次了还没人来修", "T3航站楼刚落地", "R区的路灯坏了", "TD银行的卡能交吗", "td bank transfer sent"],
)
def test_a_letter_that_starts_a_word_or_a_name_is_no_carrier_code(text):
    assert by_rules(text) is not Intent.OPT_OUT


@pytest.mark.parametrize(
    "text",
    [
        "请问回复TD是什么意思？",
        "短信后面那个T是干嘛的",
        "回覆T係咩意思",
        "退订的话会有什么影响",
        "如果我退订了，还能收到停水通知吗",
        "退订之后去哪里查账单",
        "回复TD要收费吗",
        "What happens if I unsubscribe?",
        "If I unsubscribe will I still get the bill?",
        "what does TD mean",
        "td shi shenme yisi",
    ],
)
def test_a_question_about_unsubscribing_is_help_and_stops_nothing(text):
    result = classify(text, TODAY)
    assert result.intent is Intent.HELP
    assert not result.possible_opt_out


@pytest.mark.parametrize(
    "text",
    [
        "怎么退订？",  # a request phrased as a question
        "how do I unsubscribe? I don't want these",
        "退订。如果还发我就投诉",  # the hypothetical is about sending again, the refusal stands
        "退订的话会怎么样？算了，退订",  # a second occurrence, not asked about, still counts
    ],
)
def test_a_refusal_asked_as_a_question_or_beside_one_is_still_an_opt_out(text):
    assert by_rules(text) is Intent.OPT_OUT


@pytest.mark.parametrize(
    "text",
    [
        "千万不要停我的短信",
        "别把我的通知关了",
        "别给我退订啊，我要看的",
        "不要取消我的短信提醒，谢谢",
        "唔好停我嘅短訊",
        "不要停我的簡訊",
        "please don't cancel my reminders",
        "I still want to receive the texts",
    ],
)
def test_asking_to_keep_the_messages_is_an_opt_in_and_no_doubt(text):
    result = classify(text, TODAY)
    assert result.intent is Intent.OPT_IN
    assert not result.possible_opt_out


@pytest.mark.parametrize(
    "text",
    ["别停了，快发吧", "不要停车在消防通道"],  # negation before another verb: not about the messages
)
def test_a_negated_stop_about_something_else_is_no_opt_in(text):
    assert by_rules(text) is not Intent.OPT_IN


@pytest.mark.parametrize(
    "text",
    ["别给我发了，退订", "退订，别给我发了"],
)
def test_a_refusal_beside_a_negated_keyword_still_counts(text):
    assert by_rules(text) is Intent.OPT_OUT


@pytest.mark.parametrize(
    "text",
    ["退D", "推定了", "腿订谢谢", "据受", "巨收！", "屏闭", "平蔽这个号", "取肖", "取消定阅", "别再法了", "憋发了"],
)
def test_the_ime_and_the_ears_slips_of_a_refusal_are_opt_outs(text):
    assert by_rules(text) is Intent.OPT_OUT


@pytest.mark.parametrize("text", ["评比结果出来了吗", "聚首一堂", "据守岗位的保安辛苦了", "取消预约", "我要退房"])
def test_words_that_sound_like_a_refusal_but_are_words_of_their_own_stop_nothing(text):
    assert by_rules(text) is not Intent.OPT_OUT


@pytest.mark.parametrize(
    "text", ["tuiding", "tuì dìng", "TUI DING", "bié zài fā le", "biezaifale", "bu yao zai fa le", "jù shōu"]
)
def test_pinyin_with_or_without_tones_and_spaces_is_an_opt_out(text):
    assert by_rules(text) is Intent.OPT_OUT


def test_pinyin_tone_marks_are_dropped_by_normalising():
    assert normalize("Tuì Dìng") == "tui ding"
    assert normalize("lǜ") == "lu"


@pytest.mark.parametrize("text", ["ＴＤ", "Ｔ Ｄ", "T D", "t.d", "S T O P", "ＳＴＯＰ"])
def test_full_width_and_spaced_carrier_codes_are_opt_outs(text):
    assert by_rules(text) is Intent.OPT_OUT


@pytest.mark.parametrize(
    "text",
    ["唔該停", "唔好再send", "咪再send啦", "唔該唔好再send嘢俾我", "退訂", "別再傳了", "請勿再傳簡訊", "停啦唔該"],
)
def test_cantonese_and_traditional_refusals_are_opt_outs(text):
    assert by_rules(text) is Intent.OPT_OUT


@pytest.mark.parametrize(
    "text", ["pls stop texting", "remove me", "opt me out", "no more sms", "unsubscirbe", "Stop texting me please!"]
)
def test_english_refusals_are_opt_outs(text):
    assert by_rules(text) is Intent.OPT_OUT


@pytest.mark.parametrize(
    "text",
    ["TD Bank", "停电了", "停水两天了", "退房手续怎么办", "我取消了明天的预约", "银行说转账被拒收了，我改用微信"],
)
def test_look_alikes_are_no_opt_outs(text):
    assert by_rules(text) is not Intent.OPT_OUT


# ---------------------------------------------------------------------------------------------- the mechanism

_MINIMAL = """
precedence: [opt_out, wrong_number, bill_dispute, complaint, paid_claim, payment_plan, help, opt_in, thanks]
departments: {opt_out: null, opt_in: null, thanks: null, wrong_number: customer_service, bill_dispute: finance,
  paid_claim: finance, payment_plan: finance, help: customer_service, complaint: customer_service,
  unknown: customer_service}
negation: {zh: [不要]}
homophones: {HOMOPHONES}
rules:
  - id: opt_out.heard
    intent: opt_out
    sounds_like: [退订, ^停$]
    set_aside_before: [如果]
"""


def _rules(homophones: str = "{退: 腿, 订: 定}"):
    return parse_intent_rules(_MINIMAL.replace("{HOMOPHONES}", homophones))


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("腿定", Intent.OPT_OUT),
        ("退订", Intent.OPT_OUT),
        ("推订", Intent.UNKNOWN),  # not in this table
        ("停", Intent.OPT_OUT),
        ("停电", Intent.UNKNOWN),  # anchored: only alone
        ("不要退订", Intent.UNKNOWN),  # negated like any pattern
        ("如果退订", Intent.UNKNOWN),  # set aside by the words before it
    ],
)
def test_sounds_like_keywords_match_through_the_homophone_table(text, intent):
    assert classify(text, TODAY, rules=_rules(), model=False).intent is intent


@pytest.mark.parametrize("table", ["{退订: 腿}", "{退: 退腿}", "{退: ''}"])
def test_a_homophone_table_that_is_not_one_character_to_others_is_refused(table):
    with pytest.raises(ValidationError):
        _rules(table)


# ---------------------------------------------------------------------------------------------- issue 20, round 8


@pytest.mark.parametrize(
    "text",
    [
        "Report to the Privacy Commissioner next if you keep texting me. Stop now.",
        "我每天上班累得要死，回家还要看你们的短信，小区的事我一件都不想管了，别再给我发任何短信",
        "你们倒是继续发啊，发一条我投诉一条，现在就给我停",
    ],
)
def test_a_refusal_said_after_words_of_keeping_the_messages_is_an_opt_out(text):
    assert by_rules(text) is Intent.OPT_OUT


@pytest.mark.parametrize(
    "text",
    [
        "刚才手滑回了TD，请继续给我发",
        "麻烦恢复短信通知，我之前误点了退订",
        "Don't take me off the list, my husband unsubscribed by accident.",
        "别把我的短信关了，我靠这个记得交费",
    ],
)
def test_a_wish_to_keep_the_messages_said_last_or_about_a_past_refusal_is_an_opt_in(text):
    assert by_rules(text) is Intent.OPT_IN


@pytest.mark.parametrize(
    "text",
    [
        "不需要！不需要！不需要！别再发了",
        "不是我，别发",
        "房子上个月卖了，新业主不是我，别再给我发短信",
        "不用不用，别再给我发了",
    ],
)
def test_a_negation_before_a_refusal_worded_with_its_own_undoes_nothing(text):
    assert by_rules(text) is Intent.OPT_OUT


@pytest.mark.parametrize(
    "text",
    [
        "電梯壞了一個月都沒修，還天天傳簡訊催錢，不要再傳了",
        "电梯坏了你们不修，天天发短信催钱，退订！",
        "已经退订三次了还发，工信部见",
    ],
)
def test_a_complaint_that_ends_in_a_refusal_is_an_opt_out(text):
    result = classify(text, TODAY, model=False)
    assert result.intent is Intent.OPT_OUT


@pytest.mark.parametrize(
    "text",
    [
        "钱被银行拒收了",
        "转账拒收",
        "退订之后还能查账单吗",
        "我不是要取消訂閱，只是想問怎麼繳費",
    ],
)
def test_the_narrowed_set_asides_still_set_aside_what_they_were_for(text):
    assert by_rules(text) is not Intent.OPT_OUT


@pytest.mark.parametrize(
    "text",
    [
        "0000 谢谢",
        "回0000",
        "🔕",
        "🚫📱",
        "Block",
        "拉hei",
        "la hei le",
        "不yao再fa了",
        "m4 hou2 zoi3 faat3 laa3",
        "托订",
        "取小",
        "别法",
        "不许在法信息",
        "bu xu yao zhe zhong duan xin",
        "qing ba wo yichu mingdan",
        "唔該剔走我個電話",
        "我已經講咗唔要，點解仲send？",
        "短信OFF，谢谢",
        "dont txt me agian",
        "Wrong person, I bought this SIM. Remove the number.",
        "我只是住这儿的，你们的短信我一条都不想看到",
        "Texts wake me up at night, please only email me from now on.",
    ],
)
def test_new_surface_forms_of_refusals_are_opt_outs(text):
    assert by_rules(text) is Intent.OPT_OUT


@pytest.mark.parametrize(
    "text",
    [
        "please don't stop the texts, they help me remember",
        "My son replied STOP on my behalf but I do want the reminders, please turn them back on",
    ],
)
def test_a_wish_to_keep_the_messages_is_not_read_as_a_request_for_help(text):
    assert by_rules(text) is Intent.OPT_IN
