/* WeChat Pay JSAPI inside WeChat's own browser: the page carries the order's parameters (appId, timeStamp,
   nonceStr, package, signType, paySign, signed by the server with the merchant's key) as JSON; this hands them to
   WeixinJSBridge.invoke("getBrandWCPayRequest"), waiting for WeixinJSBridgeReady when the bridge is not there yet.
   Paid: back to the bill (which shows the payment once WeChat Pay's notification lands). Cancelled or failed: a
   message and a button to pay again with the same parameters (the same order). No bridge (not in WeChat): a
   message to open the page in WeChat. No inline script: the page's CSP allows only /static files. */
(function () {
  "use strict";
  var NO_BRIDGE_AFTER = 3000;  // ms inside WeChat before saying the bridge did not come
  var status = document.getElementById("jsapi-status");
  var retry = document.getElementById("jsapi-retry");
  var source = document.getElementById("jsapi-params");
  if (!status || !retry || !source) { return; }
  var params;
  try { params = JSON.parse(source.textContent || "{}"); } catch (e) { params = null; }

  function say(text) { status.textContent = text; }

  function answered(result) {
    var message = String((result && result.err_msg) || "");
    if (message === "get_brand_wcpay_request:ok") {
      say(status.getAttribute("data-paid"));
      retry.hidden = true;
      window.location.replace(status.getAttribute("data-paid-url"));
      return;
    }
    say(status.getAttribute(message === "get_brand_wcpay_request:cancel" ? "data-cancelled" : "data-failed"));
    retry.hidden = false;
    retry.focus();
  }

  function pay() {
    if (!params || typeof window.WeixinJSBridge === "undefined") {
      say(status.getAttribute("data-no-bridge"));
      retry.hidden = true;
      return;
    }
    retry.hidden = true;
    window.WeixinJSBridge.invoke("getBrandWCPayRequest", params, answered);
  }

  retry.addEventListener("click", pay);
  if (typeof window.WeixinJSBridge !== "undefined") {
    pay();
    return;
  }
  document.addEventListener("WeixinJSBridgeReady", pay, false);
  var inWechat = /MicroMessenger/i.test(navigator.userAgent || "");
  if (!inWechat) {
    say(status.getAttribute("data-no-bridge"));
    return;
  }
  window.setTimeout(function () {
    if (typeof window.WeixinJSBridge === "undefined") { say(status.getAttribute("data-no-bridge")); }
  }, NO_BRIDGE_AFTER);
}());
