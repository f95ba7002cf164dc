"""Adapters for the providers that are not AWS (WeChat Pay, Alipay, Aliyun and Tencent SMS, WeChat): the only
code that imports their SDKs, each pointing the SDK at its base URL in one place."""
