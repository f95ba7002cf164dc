"""The company's identity: placeholders are known, and a community's own fields replace the company's."""

from propfee.domain.identity import CommunityIdentity, CompanyIdentity


def test_an_unconfigured_company_is_all_placeholders_and_a_configured_one_none():
    assert set(CompanyIdentity().placeholders()) == {
        "name", "name_en", "sms_signature", "hotline", "pay_instructions.zh-CN", "pay_instructions.en", "address",
        "address_en",
    }  # fmt: skip
    configured = CompanyIdentity(
        name="锦绣物业服务有限公司",
        name_en="Jinxiu Property Services Co., Ltd.",
        sms_signature="锦绣物业",
        hotline="0571-8888 6666",
        pay_instructions={"zh-CN": "锦绣物业App或小区物业服务中心", "en": "the Jinxiu app or the estate office"},
        address="杭州市西湖区文三路100号",
        address_en="100 Wensan Road, Xihu District, Hangzhou",
    )
    assert configured.placeholders() == []


def test_a_community_overrides_only_what_it_sets():
    company = CompanyIdentity(name="锦绣物业服务有限公司", hotline="0571-8888 6666")
    office = "杭州市西湖区锦绣花园1栋底商"
    local = company.merged(CommunityIdentity(hotline="0571-8888 7777", address=office))
    assert (local.name, local.hotline, local.address) == ("锦绣物业服务有限公司", "0571-8888 7777", office)
    assert company.merged(None) is company


def test_a_way_to_pay_given_in_one_language_leaves_the_other_a_placeholder_that_is_named():
    company = CompanyIdentity(pay_instructions={"zh-CN": "锦绣物业App"})
    assert company.pay_instructions["en"]  # every language has a text to render
    assert "pay_instructions.en" in company.placeholders() and "pay_instructions.zh-CN" not in company.placeholders()


def test_a_community_replaces_the_way_to_pay_in_the_languages_it_names_only():
    company = CompanyIdentity(pay_instructions={"zh-CN": "锦绣物业App", "en": "the Jinxiu app"})
    local = company.merged(CommunityIdentity(pay_instructions={"zh-CN": "二期物业服务中心"}))
    assert local.pay_instructions == {"zh-CN": "二期物业服务中心", "en": "the Jinxiu app"}
