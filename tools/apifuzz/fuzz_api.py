#!/usr/bin/env python3
"""Schema-driven fuzzing of a live fieldlog hub with schemathesis (PyPI), driven by docs/openapi.yaml.

For every operation in the description, schemathesis generates requests from its schemas, both
conforming ones (positive) and ones that break them (negative). Each request is sent in one of
four ways, drawn with it:
  - device:    signed correctly (RFC 9421, Ed25519) by a device this script enrolled with a one-time
               code, so the fuzzing reaches past authentication into the decoders and the replica;
  - stranger:  signed correctly by a key the hub has never seen (401 unknown_key expected);
  - generated: with the Signature, Signature-Input and Content-Digest headers schemathesis made up,
               which hits the signature parsers themselves;
  - replay:    signed by the device and sent twice; the second must be refused (401 replayed_nonce).
Every response is checked: no 5xx, a status and content type the description lists, a body that
conforms to its schema, and (for every POST) the hub's own signature over the response and the
request it answers.

Usage: fuzz_api.py --hub http://127.0.0.1:PORT --code ABCD-EFGH-JKMN [--examples 60] [--seed N]
Prints the seed first, one line per operation with the statuses seen, and exits 0 only if no
check failed. The signing code is the independent interop client's (tools/interop/fieldlog_client.py).
"""

import argparse
import collections
import os
import random
import struct
import sys

import http_sf
import requests
import schemathesis
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.checks import not_a_server_error

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "interop"))
from fieldlog_client import REQUEST_COMPONENTS, RESPONSE_COMPONENTS, Client, Failure, Keys, enroll, pull_everything  # noqa: E402

SPEC = os.path.join(HERE, "..", "..", "docs", "openapi.yaml")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
SIGNATURE_HEADERS = ("Signature", "Signature-Input", "Content-Digest")
MODES = ("device", "stranger", "generated", "replay")

# The batch media type is bytes on the wire, like application/octet-stream.
schemathesis.serializer.alias("application/vnd.fieldlog.batch", "application/octet-stream")


class Sign(requests.auth.AuthBase):
    """Signs the prepared request, with its final body, as the device does (label `device`)."""

    def __init__(self, client: Client):
        self.client = client

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        for name in SIGNATURE_HEADERS:
            request.headers.pop(name, None)
        covered = [c for c in REQUEST_COMPONENTS if not (c == "content-type" and "Content-Type" not in request.headers)]
        self.client.sign(request, body, covered)
        return request


def batches(commits: list[bytes]):
    """FLBATCH1 bodies of real commits (the hub has them: skipped), commits with one byte changed
    (refused, or not decodable), and random records, so that pushes reach the replica's judgement."""
    def flip(record: bytes, at: int, value: int) -> bytes:
        at %= len(record)
        return record[:at] + bytes([value]) + record[at + 1:]
    real = st.sampled_from(commits)
    record = st.one_of(real, st.builds(flip, real, st.integers(0, 1 << 16), st.integers(0, 255)), st.binary(max_size=300))
    def frame(more: int, records: list[bytes]) -> bytes:
        return b"FLBATCH1" + bytes([more]) + b"".join(struct.pack(">I", len(r)) + r for r in records)
    return st.builds(frame, st.sampled_from([0, 1, 7]), st.lists(record, max_size=6))


class Run:
    def __init__(self, hub: str, device: Client, stranger: Client):
        self.hub = hub.rstrip("/")
        self.device = device
        self.stranger = stranger
        self.session = requests.Session()
        self.statuses: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
        self.examples = collections.Counter()

    def send(self, case, mode: str) -> None:
        label = f"{case.method.upper()} {case.path}"
        kwargs = case.as_transport_kwargs(base_url=self.hub)
        kwargs.pop("auth", None)
        signed = case.method.upper() == "POST"
        if signed and mode in ("device", "replay"):
            kwargs["auth"] = Sign(self.device)
        elif signed and mode == "stranger":
            kwargs["auth"] = Sign(self.stranger)
        response = self.session.request(**kwargs, timeout=30)
        self.check(case, response, label, mode, signed)
        if signed and mode == "replay":
            again = self.session.send(response.request, timeout=30)
            self.check(case, again, label, "replay", signed)
            code = (again.json().get("error") or {}).get("code") if again.headers.get("Content-Type", "").startswith("application/json") else None
            if again.status_code != 401 or code != "replayed_nonce":
                raise AssertionError(f"{label}: the same signed request a second time was answered {again.status_code} {code}")

    def check(self, case, response: requests.Response, label: str, mode: str, signed: bool) -> None:
        self.statuses[label][f"{mode}:{response.status_code}"] += 1
        self.examples[label] += 1
        if response.status_code >= 500:
            raise AssertionError(f"{label} ({mode}) was answered {response.status_code}: {response.text[:300]}")
        case.validate_response(response, checks=CHECKS)
        if signed:
            # Every answer to a signed route, refusals included, carries the hub's signature. A
            # request without a Content-Digest, or without a signature labelled `device`, can only
            # be bound by what it did carry.
            components = RESPONSE_COMPONENTS
            if "Content-Digest" not in response.request.headers:
                components = tuple(c for c in components if c != '"content-digest";req')
            if not has_device_signature(response.request):
                components = tuple(c for c in components if c != '"signature";req;key="device"')
            self.device.verify(response, components)


def has_device_signature(request: requests.PreparedRequest) -> bool:
    """Whether the request's Signature field is a structured dictionary with a `device` member."""
    value = request.headers.get("Signature")
    if value is None:
        return False
    try:
        return "device" in http_sf.parse(value.encode(), tltype="dictionary")
    except Exception:  # not a structured dictionary at all
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hub", required=True)
    parser.add_argument("--code", required=True, help="a one-time enrollment code for the fuzzing device")
    parser.add_argument("--hub-key", help="the county root key (hex) the hub must sign with")
    parser.add_argument("--examples", type=int, default=60, help="examples per operation and generation mode")
    parser.add_argument("--seed", type=int, default=None)
    arguments = parser.parse_args()
    chosen = arguments.seed if arguments.seed is not None else random.SystemRandom().randrange(1 << 31)
    print(f"schemathesis {schemathesis.__version__} against {arguments.hub}, seed {chosen} (rerun with --seed {chosen})", flush=True)

    try:
        device = Client(arguments.hub, Keys(Ed25519PrivateKey.generate()))
        enroll(device, arguments.code, "schemathesis", arguments.hub_key)
    except (Failure, requests.RequestException) as error:
        sys.exit(f"api fuzz: {error}")
    stranger = Client(arguments.hub, Keys(Ed25519PrivateKey.generate()))
    stranger.keys.hub = device.keys.hub
    run = Run(arguments.hub, device, stranger)
    try:
        pushes = batches(pull_everything(device)[1])
    except (Failure, requests.RequestException) as error:
        sys.exit(f"api fuzz: {error}")
    schema = schemathesis.openapi.from_path(SPEC)

    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()
        label = f"{operation.method.upper()} {operation.path}"
        # The GET routes take no input at all, so there is nothing to break in them.
        modes = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE) if operation.method.upper() == "POST" else (GenerationMode.POSITIVE,)
        for mode in modes:
            strategy = operation.as_strategy(generation_mode=mode)

            @seed(chosen)
            @settings(
                max_examples=arguments.examples, deadline=None, database=None, derandomize=False,
                suppress_health_check=list(HealthCheck), print_blob=False,
            )
            @given(case=strategy, how=st.sampled_from(MODES), batch=st.one_of(st.none(), pushes))
            def test(case, how, batch):
                # Half the positive pushes carry a framed batch instead of schemathesis's random bytes.
                if batch is not None and operation.path == "/v1/sync/push" and mode is GenerationMode.POSITIVE:
                    case.body = batch
                run.send(case, how)

            try:
                test()
            except Exception as error:  # hypothesis re-raises the shrunk failing example
                failures.append(f"{label} [{mode.value}]: {type(error).__name__}: {error}")
        seen = ", ".join(f"{key} ×{count}" for key, count in sorted(run.statuses[label].items()))
        print(f"{label}: {run.examples[label]} requests; {seen}", flush=True)

    total = sum(run.examples.values())
    if failures:
        print(f"FAILED: {len(failures)} of {len(run.examples)} operations broke a check (seed {chosen}):", file=sys.stderr)
        for failure in failures:
            print("  " + failure[:2000], file=sys.stderr)
        sys.exit(1)
    print(f"ok: {total} requests, no 5xx, every response as described and signed (seed {chosen})")


if __name__ == "__main__":
    main()
