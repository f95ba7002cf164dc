"""Binding an owner's WeChat from the bill page: the state is bound to the link, the code exchanged once."""

from propfee.domain.ports import ProviderRejected
from propfee.payments.wechat_bind import WechatBinder
from tests.support import at, unit

SECRET = b"k" * 32
NOW = at("2026-11-11 10:00")


class OAuth:
    def __init__(self):
        self.codes = {"good": "oOwnerOpenid0000000000000001"}
        self.redirects: list[str] = []

    def authorize_url(self, redirect_uri, state):
        self.redirects.append(redirect_uri)
        return f"https://wechat.example/authorize?state={state}"

    def openid_for_code(self, code):
        if code not in self.codes:
            raise ProviderRejected("wechat oauth 40029: invalid code")
        return self.codes.pop(code)


class Store:
    def __init__(self):
        self.bound: list[tuple[str, str]] = []

    def bind_wechat(self, unit_id, openid, at):
        self.bound.append((unit_id, openid))
        return True


def state_from(url):
    return url.split("state=", 1)[1]


def test_the_state_of_one_link_binds_that_links_unit_once():
    oauth, store = OAuth(), Store()
    binder = WechatBinder(oauth, store, "https://pay.example.cn/")
    state = state_from(binder.authorize_url("TOKEN1", SECRET, NOW))
    assert oauth.redirects == ["https://pay.example.cn/b/TOKEN1/wechat/done"]
    assert binder.finish(unit(), "TOKEN2", "good", state, SECRET, NOW).reason == "state"  # another link's page
    assert store.bound == []
    assert binder.finish(unit(), "TOKEN1", "good", state, SECRET, NOW).bound
    assert store.bound == [("C01-B01-0101", "oOwnerOpenid0000000000000001")]
    again = binder.finish(unit(), "TOKEN1", "good", state, SECRET, NOW)
    assert not again.bound and "40029" in again.reason and len(store.bound) == 1


def test_a_declined_authorization_binds_nothing():
    store = Store()
    binder = WechatBinder(OAuth(), store, "https://pay.example.cn")
    state = state_from(binder.authorize_url("T", SECRET, NOW))
    assert binder.finish(unit(), "T", "", state, SECRET, NOW).reason.startswith("no code")
    assert store.bound == []
