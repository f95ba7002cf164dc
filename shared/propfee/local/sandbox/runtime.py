"""Lambda handlers called in-process with real-shaped events, each with its own module and environment."""

from __future__ import annotations

import contextlib
import contextvars
import importlib.util
import io
import json
import os
import time
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any, TextIO

from propfee import observability
from propfee.domain import clock

# which function of the stack is running, so that the sandbox can tell whose AWS calls it sees
current_function: contextvars.ContextVar[str | None] = contextvars.ContextVar("current_function", default=None)


@dataclass
class LambdaContext:
    """The attributes of the real Lambda context object that handlers and Powertools read."""

    function_name: str
    memory_limit_in_mb: int
    invoked_function_arn: str
    timeout_seconds: int
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return f"sandbox/{self.aws_request_id}"

    def get_remaining_time_in_millis(self) -> int:
        # simulated time does not run out inside an invocation
        return self.timeout_seconds * 1000


def load_module(path: Path, module_name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextlib.contextmanager
def patched_environ(values: dict[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


@dataclass
class LambdaFunction:
    """One function of the stack: where its code is, its resolved environment, how to call it."""

    logical_id: str
    name: str
    arn: str
    code_dir: Path
    handler: str
    environment: dict[str, str]
    timeout: int
    memory: int
    log: TextIO = field(default_factory=io.StringIO)
    invocations: int = 0
    seconds: float = 0.0  # time spent in the handler, the sandbox's stand-in for billed duration
    # (simulated hour, metric) for each custom metric the function published (EMF lines) and the hour it did:
    # CloudWatch bills a custom metric by the hours in which it receives data
    metric_hours: set[tuple[datetime, str]] = field(default_factory=set)
    _handler: Any = None

    def _load(self) -> Any:
        if self._handler is None:
            module_file, function_name = self.handler.rsplit(".", 1)
            unique = f"sandbox_{self.logical_id}_{uuid.uuid4().hex[:8]}_{module_file}"
            with patched_environ(self.environment), contextlib.redirect_stdout(self.log):
                module = load_module(self.code_dir / f"{module_file}.py", unique)
            self._handler = getattr(module, function_name)
        return self._handler

    def invoke(self, event: dict[str, Any]) -> Any:
        handler = self._load()
        token = current_function.set(self.logical_id)
        started = time.perf_counter()
        try:
            return self._invoke(handler, event)
        finally:
            self.seconds += time.perf_counter() - started
            current_function.reset(token)

    def _invoke(self, handler: Any, event: dict[str, Any]) -> Any:
        context = LambdaContext(self.name, self.memory, self.arn, self.timeout)
        self.invocations += 1
        # in Lambda each function has its own process and so its own Logger; here they share one
        service = self.environment.get("POWERTOOLS_SERVICE_NAME", self.logical_id)
        observability.logger.append_keys(service=service)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Dimension 'service' has already been added")
            observability.metrics.set_default_dimensions(service=service)
        observability.metrics.namespace = self.environment.get("POWERTOOLS_METRICS_NAMESPACE", "propfee")
        written = self.log.tell()
        try:
            with patched_environ(self.environment), contextlib.redirect_stdout(self.log):
                return handler(event, context)
        finally:
            self.log.seek(written)
            hour = clock.now().replace(minute=0, second=0, microsecond=0)
            self.metric_hours.update((hour, metric) for metric in emf_metrics(self.log.read()))  # back at the end


def emf_metrics(log: str) -> set[str]:
    """The custom metrics that log lines in CloudWatch's embedded metric format define: namespace/name[dimensions]."""
    found: set[str] = set()
    for line in log.splitlines():
        if '"_aws"' not in line:
            continue
        try:
            record = json.loads(line)
        except ValueError:
            continue
        for directive in record.get("_aws", {}).get("CloudWatchMetrics", []):
            for metric in directive.get("Metrics", []):
                for dimensions in directive.get("Dimensions", [[]]):
                    values = ",".join(f"{d}={record.get(d)}" for d in dimensions)
                    found.add(f"{directive.get('Namespace')}/{metric['Name']}[{values}]")
    return found


def lambda_environment(function_env: dict[str, str], name: str, memory: int, region: str) -> dict[str, str]:
    """The variables the Lambda service itself sets, plus the function's own."""
    return {
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_REGION": region,
        "POWERTOOLS_TRACE_DISABLED": "true",
        # Lambda's variables are strings; moto keeps a Number parameter's Ref as an int
        **{name: str(value) for name, value in function_env.items()},
    }


__all__ = ["LambdaContext", "LambdaFunction", "emf_metrics", "lambda_environment", "load_module", "patched_environ"]
