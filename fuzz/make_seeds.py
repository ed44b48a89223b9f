#!/usr/bin/env python3
"""Writes the seed corpora of fuzz/corpus/ from a bundle file that `fieldlog bundle export` wrote
(a small demo county): real commits, a real bundle and damaged copies of it, real signature
headers (made with the independent http-message-signatures package), and real sync requests.

Usage: fuzz/make_seeds.py BUNDLE   (run from the repository; the seeds are checked in)
"""
import base64
import datetime
import hashlib
import json
import os
import struct
import sys

import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from http_message_signatures import HTTPMessageSigner, algorithms
from http_message_signatures.resolvers import HTTPSignatureKeyResolver

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def write(target, name, data):
    folder = os.path.join(root, target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as out:
        out.write(data)


bundle = open(sys.argv[1], "rb").read()
assert bundle[:8] == b"FLBUNDL1"
records, offset, end = [], 8, len(bundle) - 44
while offset < end:
    (length,) = struct.unpack(">I", bundle[offset:offset + 4])
    records.append(bundle[offset + 4:offset + 4 + length])
    offset += 4 + length

# Commits: whole wire records, and bodies alone, of different sizes (registry, visit, demand).
chosen = sorted(records, key=len)
picks = [chosen[0], chosen[len(chosen) // 2], chosen[-1]] + records[:3]
for index, record in enumerate(picks):
    write("commit", f"wire-{index}", record)
    (length,) = struct.unpack(">I", record[:4])
    write("commit", f"body-{index}", record[4:4 + length])

# Bundles: a small whole one, a truncated one, one with a wrong hash, an empty one.
def make_bundle(recs):
    body = b"FLBUNDL1" + b"".join(struct.pack(">I", len(r)) + r for r in recs)
    body += b"\0\0\0\0" + struct.pack(">Q", len(recs))
    return body + hashlib.blake2b(body, digest_size=32).digest()

small = make_bundle(records[:4])
write("bundle", "four-commits", small)
write("bundle", "empty", make_bundle([]))
write("bundle", "truncated", small[:-7])
write("bundle", "wrong-hash", small[:-1] + bytes([small[-1] ^ 1]))


# Signature headers: made by the independent package, as a client would send them.
class Keys(HTTPSignatureKeyResolver):
    def __init__(self, key):
        self.key = key

    def resolve_private_key(self, key_id):
        return self.key


key = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
signer = HTTPMessageSigner(signature_algorithm=algorithms.ED25519, key_resolver=Keys(key))
body = b'{"digest":"","version":1}'
request = requests.Request("POST", "http://127.0.0.1:8080/v1/sync/summary", headers={"Content-Type": "application/json"}, data=body).prepare()
created = datetime.datetime(2026, 11, 29, 8, 0, tzinfo=datetime.timezone.utc)
signer.sign(
    request, key_id="ab" * 32, created=created, expires=created + datetime.timedelta(seconds=300),
    nonce=base64.b64encode(bytes(16)).decode(), label="device", tag="fieldlog-sync",
    covered_component_ids=("@method", "@target-uri", "content-type", "content-digest"), body=body,
)
write("signature", "request", (request.headers["Signature-Input"] + "\n" + request.headers["Signature"]).encode())
write("signature", "response", (
    'hub=("@status" "content-type" "content-digest" "@method";req "@target-uri";req "content-digest";req)'
    ';created=1795900000;expires=1795900300;nonce="AAAAAAAAAAAAAAAAAAAAAA==";keyid="' + "cd" * 32 + '";alg="ed25519";tag="fieldlog-sync"'
    "\nhub=:" + base64.b64encode(bytes(64)).decode() + ":"
).encode())
write("signature", "two-labels", (
    'a=("@method");created=1, b=("@target-uri" "x-y";bs);keyid="k"\na=:AAAA:, b=:AAAA:'
).encode())
write("signature", "odd", b'sig1=("@method" "@path" "@query-param";name="a");created=-1;x=?1;y=1.5;z=%"caf%c3%a9"\nsig1=:YWJj:')

# Sync requests: the first byte picks the path (summary, heads, pull, push, digests).
head = {"author": "ab" * 32, "head": 3, "scope": "ent:01937b2c-0000-7000-8000-000000000001"}
write("sync-request", "summary", b"\x00" + json.dumps({"digest": "00" * 32, "version": 1}, sort_keys=True).encode())
write("sync-request", "heads", b"\x01" + json.dumps({"heads": [head], "scopes": ["registry", head["scope"]]}, sort_keys=True).encode())
write("sync-request", "pull", b"\x02" + json.dumps({"after": [head], "maxBytes": 4194304, "maxCommits": 2000}, sort_keys=True).encode())
write("sync-request", "push", b"\x03" + b"FLBATCH1\x00" + b"".join(struct.pack(">I", len(r)) + r for r in records[:3]))
write("sync-request", "digests", b"\x04" + json.dumps(["registry", head["scope"]]).encode())
