"""The embedded AWS: a moto server on loopback, provisioned from infra/template.yaml, with the
template's event sources (schedules, SQS mappings, SNS subscriptions) driven by a simulated clock.

Only for local runs, tests and the demo; it is not imported by any Lambda function.
"""

from propfee.local.sandbox.sandbox import Sandbox, default_template_path

__all__ = ["Sandbox", "default_template_path"]
