"""The reply model (propfee.feedback.intent_model): trained deterministically, shipped small, read without numpy,
and used beside the rules so that doubt resolves to stopping and a person decides what the model cannot."""

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from propfee.feedback.intent_model import FORMAT, MODEL_FILE, IntentModel
from propfee.feedback.intent_training import TRAINING_CORPORA, labelled, train
from propfee.feedback.intents import Department, Intent, classify

SHIPPED = Path(__file__).resolve().parents[3] / "shared" / "propfee" / "feedback" / MODEL_FILE
TODAY = date(2026, 12, 2)


def uniform_model(**leaning: int) -> IntentModel:
    """A model that sees nothing and guesses by its biases alone (thousandths), for the decision logic."""
    classes = sorted(i.value for i in Intent)
    intent = {"classes": classes, "bias": [leaning.get(c, 0) for c in classes], "weights": {}}
    category = {"classes": ["leak", "other"], "bias": [0, 0], "weights": {}}
    return IntentModel.parse(json.dumps({"format": FORMAT, "intent": intent, "category": category}))


def test_training_from_the_corpora_gives_the_shipped_file_byte_for_byte():
    # if this fails after changing a corpus or intents.yaml: python -m propfee.feedback.intent_training train
    assert train(labelled(TRAINING_CORPORA)) == SHIPPED.read_text(encoding="utf-8")


def test_the_shipped_model_is_small():
    assert SHIPPED.stat().st_size < 600_000


def test_each_training_message_knows_the_file_it_was_written_in():
    # grouped cross-validation (bench/replies.py) holds out a file at a time: a phrasing family stays on one side
    messages = labelled(TRAINING_CORPORA)
    train_src = [m for m in messages if m["source"].endswith(".txt")]
    assert {m["source"] for m in messages} - {m["source"] for m in train_src} == {"replies_corpus.yaml"}
    assert all(m["source"].endswith(".txt") for m in messages if m.get("voice"))  # only train_src names voices
    assert len({m["source"] for m in train_src}) > 5


def test_the_model_reads_a_message_no_rule_matched():
    # learnt also as if no rule had matched: on text written apart the rules miss more often than on the corpora
    assert classify("外强掉砖了，砸到车了", TODAY).intent is Intent.COMPLAINT  # typos no rule foresaw
    assert classify("前天用云闪付弄好了", TODAY).intent is Intent.PAID_CLAIM


def test_the_model_is_read_and_used_without_numpy_or_scikit_learn():
    script = (
        "import sys; sys.modules['numpy'] = None; sys.modules['sklearn'] = None; sys.modules['scipy'] = None\n"
        "from datetime import date\n"
        "from propfee.feedback.intents import classify\n"
        "print(classify('一下雨屋顶就往下滴水', date(2026, 12, 2)).decided_by)\n"
    )
    shared = str(Path(__file__).resolve().parents[3] / "shared")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env={"PYTHONPATH": shared})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() in ("rules", "model")


@pytest.mark.parametrize(
    "text",
    [
        "T",
        "TD",
        "N",
        "R",
        "0000",
        "拒收",
        "R拒收",
        "退订",
        "取消",
        "STOP",
        "UNSUBSCRIBE",
        "Stop texting me",
        "Don't text me again",
        "stop sending",
        "Please remove my number from your list",
        "不要再傳訊息給我",  # traditional
        "別再發簡訊了",
        "唔好再send嘢俾我",  # Cantonese
        "以後唔好再發短訊",
        "bu yao zai fa le",  # pinyin
        "tui ding",
        "qing tingzhi fasong",
        "請取消我的簡訊通知",
        "已经交了，别再发了",
    ],
)
def test_every_common_way_of_refusing_messages_is_an_opt_out(text):
    assert classify(text, TODAY).intent is Intent.OPT_OUT


@pytest.mark.parametrize("text", ["不要退订", "我没说要退订，麻烦恢复短信提醒", "唔好幫我退訂", "don't unsubscribe me"])
def test_a_sentence_that_names_an_opt_out_to_refuse_it_keeps_the_messages(text):
    result = classify(text, TODAY)
    assert result.intent is not Intent.OPT_OUT and not result.possible_opt_out


def test_an_opt_out_the_rules_found_stands_whatever_the_model_says():
    keen = uniform_model(thanks=9000)  # a model certain of the wrong thing
    assert classify("退订", TODAY, model=keen).intent is Intent.OPT_OUT


@pytest.mark.parametrize(
    "text",
    [
        "不是退订，只是问问怎么交",
        "not unsubscribing, just asking how much I owe",
        "不要退订",
        "之前退订了，现在想重新接收短信",  # opt-in
    ],
)
def test_a_model_sure_of_a_refusal_cannot_stop_sms_where_the_rules_read_the_opposite(text):
    keen = uniform_model(opt_out=9000)  # learnt from words, it may take "退订" for a refusal wherever it stands
    result = classify(text, TODAY, model=keen)
    assert result.intent is not Intent.OPT_OUT and not result.possible_opt_out


def test_a_negation_the_rules_found_is_not_undone_by_the_model():
    keen = uniform_model(complaint=9000)
    assert classify("没有漏水", TODAY, model=keen).intent is not Intent.COMPLAINT


def test_low_confidence_goes_to_a_person_with_the_two_best_guesses():
    unsure = uniform_model(bill_dispute=300, complaint=200)

    result = classify("这个我真的搞不太明白", TODAY, model=unsure)

    assert (result.intent, result.department, result.decided_by) == (
        Intent.UNKNOWN,
        Department.CUSTOMER_SERVICE,
        "person",
    )
    assert result.guesses == (Intent.BILL_DISPUTE, Intent.COMPLAINT)


def test_a_possible_opt_out_is_flagged_when_the_model_leans_that_way():
    leaning = uniform_model(opt_out=2000, thanks=2100)  # opt-out 31%

    result = classify("好的吧", TODAY, model=leaning)

    assert result.possible_opt_out and result.intent is not Intent.OPT_OUT


def test_a_complaint_joined_to_a_refusal_to_pay_says_both():
    result = classify("楼上漏水三个月没人管，修好之前物业费一分都不交", TODAY)

    assert (result.intent, result.category, result.department) == (Intent.COMPLAINT, "leak", Department.ENGINEERING)
    assert result.refuses_to_pay


def test_a_promise_inside_a_complaint_keeps_its_date():
    result = classify("电梯坏了请尽快修，物业费我10号交", TODAY)

    assert (result.intent, result.category) == (Intent.COMPLAINT, "lift")
    assert Intent.PAYMENT_PLAN in result.also_detected and result.promise_date == date(2026, 12, 10)


@pytest.mark.parametrize(
    ("text", "category", "department", "urgent"),
    [
        ("一下雨屋顶就往下滴水", "leak", Department.ENGINEERING, False),
        ("电梯又卡在半路了", "lift", Department.ENGINEERING, True),
        ("整栋楼断电了", "power", Department.ENGINEERING, True),
        ("家里没有热水好几天了", "water", Department.ENGINEERING, True),
        ("暖气片是凉的", "heating", Department.ENGINEERING, True),
        ("楼道里一股煤气味", "gas", Department.ENGINEERING, True),
        ("外墙瓷砖掉下来了", "facade", Department.ENGINEERING, False),
        ("半夜有人放烟花", "noise", Department.SECURITY, False),
        ("好多人遛狗不牵绳", "pets", Department.SECURITY, False),
        ("有人把车停在我车位上", "parking", Department.SECURITY, False),
        ("昨晚家里被偷了", "security", Department.SECURITY, True),
        ("楼梯间堆满了杂物", "cleaning", Department.ENVIRONMENT, False),
    ],
)
def test_the_category_described_decides_the_department_and_the_urgent_ones_are_flagged(
    text, category, department, urgent
):
    from propfee.rules import load_rules

    result = classify(text, TODAY)

    assert (result.intent, result.category, result.department) == (Intent.COMPLAINT, category, department)
    assert (result.category in load_rules().feedback.deadlines.urgent_categories) is urgent
