#!/usr/bin/env python3
"""An independent fieldlog sync client, written from docs/sync-protocol.md and docs/commit-format.md
with the `http-message-signatures` package (PyPI) for RFC 9421 and `cryptography` for Ed25519.

It shares no code with fieldlog. Run against a live hub it:
  1. enrolls a fresh Ed25519 key with a one-time code (POST /v1/enroll, signed by the new key);
  2. asks for a summary, then the heads of every readable scope, then pulls every commit;
  3. verifies the hub's signature on every response (label `hub`, covering the request with ;req)
     and the author's Ed25519 signature on every commit it receives;
  4. computes the heads digest of what it now holds, as docs/sync-protocol.md defines it, and
     expects the next summary to say it is up to date;
  5. checks that an answer is bound to its request's signature: the answer to one summary does
     not verify as the answer to a second request with the same body;
  6. sends one request with a body changed after signing, and expects the hub to refuse it
     (400 digest_mismatch), in a response that is itself signed;
  7. with --export FILE, verifies FILE against FILE.sig as docs/exports.md describes the signed
     message, and checks that a copy with one byte changed fails.

Usage: fieldlog_client.py --hub http://127.0.0.1:PORT --code ABCD-EFGH-JKMN [--hub-key HEX] [--export FILE]
Prints one JSON line with what it saw; exits 0 only if every check passed.
"""

import argparse
import base64
import datetime
import hashlib
import json
import os
import struct
import sys

import requests
from cryptography.exceptions import InvalidSignature as CryptoInvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from http_message_signatures import HTTPMessageSigner, HTTPMessageVerifier, algorithms
from http_message_signatures.resolvers import HTTPSignatureKeyResolver

REQUEST_COMPONENTS = ("@method", "@target-uri", "content-type", "content-digest")
RESPONSE_COMPONENTS = (
    "@status", "content-type", "content-digest", '"@method";req', '"@target-uri";req', '"content-digest";req',
    '"signature";req;key="device"',
)


class Failure(Exception):
    pass


class Keys(HTTPSignatureKeyResolver):
    """The device's private key, and the hub's public key once known."""

    def __init__(self, device: Ed25519PrivateKey):
        self.device = device
        self.device_hex = device.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()
        self.hub: dict[str, Ed25519PublicKey] = {}

    def resolve_private_key(self, key_id):
        if key_id != self.device_hex:
            raise Failure(f"no private key {key_id}")
        return self.device

    def resolve_public_key(self, key_id):
        return self.hub.get(key_id)


class Client:
    def __init__(self, hub: str, keys: Keys):
        self.hub = hub.rstrip("/")
        self.keys = keys
        self.session = requests.Session()
        self.signer = HTTPMessageSigner(signature_algorithm=algorithms.ED25519, key_resolver=keys)
        self.verifier = HTTPMessageVerifier(signature_algorithm=algorithms.ED25519, key_resolver=keys)

    def post(self, path: str, body: bytes, content_type: str = "application/json", tamper: bool = False, verify: bool = True):
        request = requests.Request("POST", self.hub + path, headers={"Content-Type": content_type}, data=body).prepare()
        self.sign(request, body)
        if tamper:
            request.body = body[:-1] + bytes([body[-1] ^ 1])
        response = self.session.send(request, timeout=30)
        if verify:
            self.verify(response)
        return response

    def sign(self, request: requests.PreparedRequest, body: bytes, components=REQUEST_COMPONENTS):
        """Signs `request` as the device (label `device`, tag `fieldlog-sync`, a fresh nonce, 300 s)."""
        now = datetime.datetime.now(datetime.timezone.utc)
        self.signer.sign(
            request, key_id=self.keys.device_hex, created=now, expires=now + datetime.timedelta(seconds=300),
            nonce=base64.b64encode(os.urandom(16)).decode(), label="device", tag="fieldlog-sync",
            covered_component_ids=components, body=body,
        )

    def verify(self, response: requests.Response, components=RESPONSE_COMPONENTS):
        """The hub's signature over the response and the request it answers, and the body's digest."""
        try:
            results = self.verifier.verify(
                response, expect_tag="fieldlog-sync", expect_label="hub", require_components=components,
                body=response.content,
            )
        except Exception as error:  # the package raises its own InvalidSignature
            raise Failure(f"the response to {response.request.path_url} is not signed by the hub: {error}") from error
        if not results:
            raise Failure("no hub signature")


def heads_digest(heads: list[dict]) -> str:
    """docs/sync-protocol.md: BLAKE2b-256 over the length-prefixed text `fieldlog heads v1`, then per
    head sorted by (scope, author): the length-prefixed scope, the length-prefixed author hex, and
    the head as 8 bytes big-endian. A length prefix is 4 bytes big-endian."""
    def field(data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + data

    digest = hashlib.blake2b(digest_size=32)
    digest.update(field(b"fieldlog heads v1"))
    for head in sorted(heads, key=lambda h: (h["scope"], h["author"])):
        digest.update(field(head["scope"].encode()) + field(head["author"].encode()) + struct.pack(">Q", head["head"]))
    return digest.hexdigest()


def verify_export(path: str) -> None:
    """docs/exports.md: FILE.sig holds the BLAKE2b-256 and size of FILE, the feed heads and their
    digest, and an Ed25519 signature over six lines, each ending in LF."""
    with open(path, "rb") as handle:
        data = handle.read()
    with open(path + ".sig", encoding="utf-8") as handle:
        sig = json.load(handle)
    if sig["format"] != "fieldlog-export-signature-v1":
        raise Failure("not a fieldlog export signature")
    if len(data) != sig["size"] or hashlib.blake2b(data, digest_size=32).hexdigest() != sig["blake2b256"]:
        raise Failure("ALTERED: the file does not match its signature")
    lines = sorted(f'{h["author"]} {h["scope"]} {h["head"]}\n' for h in sig["heads"])
    if hashlib.blake2b("".join(lines).encode(), digest_size=32).hexdigest() != sig["headsDigest"]:
        raise Failure("ALTERED: the heads do not match their digest")
    message = (
        "fieldlog export v1\n"
        f'file-blake2b256: {sig["blake2b256"]}\n'
        f'size: {sig["size"]}\n'
        f'signed-at: {sig["signedAt"]}\n'
        f'signer: {sig["signer"]}\n'
        f'heads-blake2b256: {sig["headsDigest"]}\n'
    )
    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(sig["signer"])).verify(bytes.fromhex(sig["signature"]), message.encode())
    except CryptoInvalidSignature as error:
        raise Failure("FORGED: the export signature does not verify") from error


def hub_key_from(response: requests.Response) -> str:
    """The keyid of the hub's signature (learned at enrollment, then checked by the signature)."""
    value = response.headers.get("Signature-Input", "")
    marker = 'keyid="'
    start = value.find(marker)
    if start < 0:
        raise Failure("the enrollment answer carries no keyid")
    return value[start + len(marker):value.index('"', start + len(marker))]


def read_batch(data: bytes) -> tuple[list[bytes], bool]:
    """A FLBATCH1 batch: magic, a `more` byte, then 4-byte-length records."""
    if data[:8] != b"FLBATCH1" or len(data) < 9:
        raise Failure("not a batch")
    more = data[8] == 1
    records, offset = [], 9
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset:offset + 4])
        records.append(data[offset + 4:offset + 4 + length])
        offset += 4 + length
    if offset != len(data):
        raise Failure("a batch record runs past the end")
    return records, more


def check_commit(record: bytes) -> dict:
    """A wire record: length, body, signature; the author's Ed25519 over 'fieldlog commit v1' 0x00 id."""
    (length,) = struct.unpack(">I", record[:4])
    body, signature = record[4:4 + length], record[4 + length:]
    if len(signature) != 64 or body[:4] != b"FLC\x01":
        raise Failure("not a commit")
    author = body[4:36]
    (scope_length,) = struct.unpack(">H", body[36:38])
    scope = body[38:38 + scope_length].decode("utf-8")
    (sequence,) = struct.unpack(">Q", body[38 + scope_length:46 + scope_length])
    commit_id = hashlib.blake2b(body, digest_size=32).digest()
    try:
        Ed25519PublicKey.from_public_bytes(author).verify(signature, b"fieldlog commit v1\x00" + commit_id)
    except CryptoInvalidSignature as error:
        raise Failure(f"commit {sequence} of {author.hex()[:12]} in {scope}: bad signature") from error
    return {"author": author.hex(), "scope": scope, "head": sequence}


def enroll(client: Client, code: str, label: str, hub_key: str | None) -> list[bytes]:
    """Redeems a one-time code for the client's key; learns the hub's key from the answer's keyid
    (checked against `hub_key` if given), verifies the answer with it, and returns its records."""
    body = json.dumps({"code": code, "label": label}, sort_keys=True).encode()
    response = client.post("/v1/enroll", body, verify=False)
    if response.status_code != 200:
        raise Failure(f"enrollment refused: {response.status_code} {response.text}")
    hub_hex = hub_key_from(response)
    if hub_key and hub_key != hub_hex:
        raise Failure("the enrollment answer is signed by another key than the one expected")
    client.keys.hub[hub_hex] = Ed25519PublicKey.from_public_bytes(bytes.fromhex(hub_hex))
    client.verify(response)
    registry, _ = read_batch(response.content)
    return registry


def pull_everything(client: Client) -> tuple[list[str], list[bytes]]:
    """Summary, heads, then pulls until every feed of every readable scope is complete; checks
    each commit's signature and that each feed arrives in order. Returns the scopes and the records."""
    def post(path: str, value) -> requests.Response:
        response = client.post(path, json.dumps(value, sort_keys=True).encode())
        if response.status_code != 200:
            raise Failure(f"{path} refused: {response.status_code} {response.text}")
        return response

    scopes = sorted(post("/v1/sync/summary", {"digest": "", "version": 1}).json().get("scopeDigests", {}))
    heads = post("/v1/sync/heads", {"heads": [], "scopes": scopes}).json()["heads"]
    wanted = [dict(head, head=0) for head in heads]
    expected = {(head["scope"], head["author"]): head["head"] for head in heads}
    received: dict[tuple[str, str], int] = {}
    everything: list[bytes] = []
    more = True
    while more and wanted:
        pull = post("/v1/sync/pull", {"after": wanted, "maxBytes": 1 << 20, "maxCommits": 500})
        records, more = read_batch(pull.content)
        for record in records:
            commit = check_commit(record)
            key = (commit["scope"], commit["author"])
            if commit["head"] != received.get(key, 0) + 1:
                raise Failure(f"feed {key} arrived out of order")
            received[key] = commit["head"]
        everything += records
        wanted = [dict(head, head=received.get((head["scope"], head["author"]), 0)) for head in wanted
                  if received.get((head["scope"], head["author"]), 0) < expected[(head["scope"], head["author"])]]
        if not records:
            break
    if received != expected:
        raise Failure(f"pulled {len(received)} feeds, expected {len(expected)}")
    held = [{"scope": scope, "author": author, "head": head} for (scope, author), head in received.items()]
    return scopes, everything, held


def run(arguments) -> dict:
    keys = Keys(Ed25519PrivateKey.generate())
    client = Client(arguments.hub, keys)
    seen = {"device": keys.device_hex}

    # 1. Enrollment: the answer is a batch of registry commits, signed by the county root key.
    registry = enroll(client, arguments.code, "python interop client", arguments.hub_key)
    seen["registryCommits"] = len([check_commit(record) for record in registry])

    # 2. Summary, heads, pull.
    scopes, records, held = pull_everything(client)
    seen["readableScopes"] = len(scopes)
    seen["commitsPulled"] = len(records)

    # 3. The heads digest of what is held now, computed from the documentation alone: up to date.
    body = json.dumps({"digest": heads_digest(held), "version": 1}, sort_keys=True).encode()
    first = client.post("/v1/sync/summary", body)
    if first.status_code != 200 or first.json() != {"upToDate": True}:
        raise Failure(f"the documented heads digest is not the hub's: {first.status_code} {first.text}")
    seen["upToDateByDigest"] = True

    # 4. The same body again: its answer verifies, and the first answer does not verify as its
    # answer (it covers the first request's signature).
    second = client.post("/v1/sync/summary", body)
    first.request = second.request
    try:
        client.verify(first)
    except Failure:
        seen["answerBoundToItsRequest"] = True
    else:
        raise Failure("the answer to one request verifies as the answer to another with the same body")

    # 5. A body changed after signing is refused, and the refusal is signed too.
    tampered = client.post("/v1/sync/summary", json.dumps({"digest": "", "version": 1}, sort_keys=True).encode(), tamper=True)
    code = tampered.json().get("error", {}).get("code")
    if tampered.status_code != 400 or code != "digest_mismatch":
        raise Failure(f"a tampered body was answered {tampered.status_code} {code}")
    seen["tamperedRefusal"] = code

    # 6. A signed export, verified from docs/exports.md; one byte changed and it fails.
    if arguments.export:
        verify_export(arguments.export)
        seen["exportVerified"] = True
        changed = arguments.export + ".changed"
        with open(arguments.export, "rb") as source, open(changed, "wb") as target:
            data = bytearray(source.read())
            data[len(data) // 2] ^= 1
            target.write(data)
        with open(arguments.export + ".sig", "rb") as source, open(changed + ".sig", "wb") as target:
            target.write(source.read())
        try:
            verify_export(changed)
        except Failure:
            seen["changedExportRefused"] = True
        finally:
            os.remove(changed)
            os.remove(changed + ".sig")
    return seen


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hub", required=True)
    parser.add_argument("--code", required=True)
    parser.add_argument("--hub-key", help="the county root key (hex) the hub must sign with")
    parser.add_argument("--export", help="a file exported with --sign, to verify against FILE.sig")
    arguments = parser.parse_args()
    try:
        print(json.dumps(run(arguments), sort_keys=True))
    except (Failure, requests.RequestException) as error:
        print(f"interop client: {error}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
