#!/usr/bin/env python3
"""The fault soak: a county hub and several cadre laptops, all real `fieldlog` processes on
127.0.0.1, doing random writes, hub syncs, laptop-to-laptop syncs and bundle files carried from
one laptop to another (`bundle export --for` the recipient, then `bundle import`) while this harness
  - kills clients (writes, syncs, bundle exports and imports) and servers (the hub, the laptops' `fieldlog serve`) with
    SIGKILL at random moments, and restarts the servers;
  - puts a proxy of its own in front of every server, which, per connection, passes the bytes,
    delays the answer, cuts the request mid-body, cuts the response mid-body (reset), or truncates
    the response (a clean close before its end).
Then it stops the faults and checks:
  1. no commit a client was told was accepted is missing: for every sync that exited 0, the
     writer's own commits as they stood when it began are on the hub (or the peer), read from the
     files before any further sync, after all the kills;
  2. every write that exited 0 is in its laptop's replica;
  3. after a round of syncs with no faults, every replica converges: each scope has the same state
     digest on every replica holding it, and the hub holds every scope;
  4. every successful write is on the hub, nothing is duplicated (each feed's commits are 1..head
     exactly once, demand numbers are unique) and nothing is held or excluded;
  5. `PRAGMA integrity_check` is ok on every file, after the kills and at the end (and so is
     `fieldlog check`: every row's stored state is what its log gives), and every
     command that failed said so in fieldlog's own words ("fieldlog: …", with what to do);
  6. no laptop holds a commit of an enterprise its cadre is not linked to, whichever way it came
     (hub sync, peer sync, or a bundle file exported `--for` it);
  7. no secret appears in any log line of the run (servers at trace level, clients, proxies):
     the passphrase, the enrollment codes, the Signature values the proxies saw, the text of
     every demand and visit written (request bodies).
It prints the counts (kills, faults, syncs, writes, commits, seconds) and a verdict, and exits 0
only on PASS. Stdlib only; the seed is printed first and with the verdict.

Usage: soak.py [--seconds 60] [--laptops 4] [--seed N] [--binary .build/release/fieldlog] [--keep]
"""

import argparse
import asyncio
import collections
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

PASSPHRASE = "soak passphrase 压测口令 do-not-log"
ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DEMO = os.path.join(ROOT, "tools", "demo-data")
# (laptop name, cadre, the enterprises it writes about). Two laptops of 王强 share all his
# enterprises; 李娜 shares 山东高唐纺织有限公司 with him; 陈刚 shares nothing but the registry.
LAPTOPS = [
    ("wang-1", "王强", ["山东高唐纺织有限公司", "高唐县鑫盛食品有限公司"]),
    ("li", "李娜", ["山东高唐纺织有限公司", "高唐县金源机械制造有限公司"]),
    ("wang-2", "王强", ["山东高唐纺织有限公司", "高唐县鑫盛食品有限公司"]),
    ("chen", "陈刚", ["山东泉林新材料有限公司", "高唐县华康医疗器械有限公司"]),
    ("liu", "刘洋", ["高唐蓝山新能源科技有限公司", "高唐县时风新项目（筹）"]),
]
FAULTS = ("pass", "delay", "cut_request", "cut_response", "truncate_response")
FAULT_WEIGHTS = (55, 15, 10, 10, 10)


class Counts:
    def __init__(self):
        self.lock = threading.Lock()
        self.values = collections.Counter()

    def add(self, key: str, n: int = 1):
        with self.lock:
            self.values[key] += n

    def __getitem__(self, key):
        with self.lock:
            return self.values[key]


class Proxy:
    """A TCP proxy on 127.0.0.1 in front of one server, faulting whole connections at random.
    It also notes the Signature values it sees, for the secret scan."""

    def __init__(self, name: str, rng: random.Random, counts: Counts, signatures: set):
        self.name = name
        self.rng = rng
        self.counts = counts
        self.signatures = signatures
        self.upstream: int | None = None
        self.faulty = True
        self.port = 0

    async def start(self):
        server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]

    def note_signatures(self, data: bytes):
        if len(self.signatures) < 5000:
            for match in re.finditer(rb"\r\nSignature: [^=]+=:([A-Za-z0-9+/=]+):", data, re.IGNORECASE):
                self.signatures.add(match.group(1).decode())

    async def handle(self, client_reader, client_writer):
        upstream = self.upstream
        try:
            if upstream is None:
                raise ConnectionRefusedError
            server_reader, server_writer = await asyncio.open_connection("127.0.0.1", upstream)
        except OSError:
            self.counts.add("proxy: server down")
            client_writer.transport.abort()
            return
        fault = self.rng.choices(FAULTS, FAULT_WEIGHTS)[0] if self.faulty else "pass"
        budget = self.rng.randint(1, 6000)
        delay = self.rng.uniform(0.05, 1.5)
        done = asyncio.Event()

        def close_all(reset: bool):
            for writer in (client_writer, server_writer):
                if reset:
                    writer.transport.abort()
                else:
                    writer.close()
            done.set()

        async def pump(reader, writer, upstream_side: bool):
            sent = 0
            first = True
            try:
                while not done.is_set():
                    data = await reader.read(65536)
                    if not data:
                        break
                    if upstream_side:
                        self.note_signatures(data)
                    if not upstream_side and first and fault == "delay":
                        self.counts.add("fault: delay")
                        await asyncio.sleep(delay)
                    first = False
                    cut = (fault == "cut_request" and upstream_side) or (
                        fault in ("cut_response", "truncate_response") and not upstream_side)
                    if cut and sent + len(data) > budget:
                        writer.write(data[: max(0, budget - sent)])
                        await writer.drain()
                        self.counts.add(f"fault: {fault.replace('_', ' ')}")
                        close_all(reset=fault != "truncate_response")
                        return
                    sent += len(data)
                    writer.write(data)
                    await writer.drain()
            except (OSError, asyncio.IncompleteReadError):
                pass
            if not done.is_set():
                close_all(reset=False)

        await asyncio.gather(pump(client_reader, server_writer, True), pump(server_reader, client_writer, False))


class ServerDidNotStart(Exception):
    pass


class Server:
    """A `fieldlog hub serve` or `fieldlog serve` process, restartable on a new port behind its proxy."""

    def __init__(self, harness, name: str, home: str, arguments: list[str]):
        self.harness = harness
        self.name = name
        self.home = home
        self.arguments = arguments
        self.process: subprocess.Popen | None = None
        self.lock = threading.Lock()
        self.proxy: Proxy | None = None
        self.log = open(os.path.join(harness.logs, f"{name}.server.log"), "ab", buffering=0)

    def start(self):
        with self.lock:
            # Clients reach it through the proxy too: the server must answer to the proxy's address.
            process = subprocess.Popen(
                [self.harness.binary, *self.arguments, "--port", "0", "--url", self.url], env=self.harness.env(self.home, log="trace"),
                stdout=subprocess.PIPE, stderr=self.log,
            )
            line = process.stdout.readline().decode("utf-8", "replace")
            if "listening on" not in line:
                process.kill()
                process.wait()
                raise ServerDidNotStart(f"{self.name} did not start (it printed {line!r}); see {self.log.name}")
            self.log.write(line.encode())
            threading.Thread(target=self.drain, args=(process,), daemon=True).start()
            self.process = process
            self.proxy.upstream = int(line.rsplit(":", 1)[1])

    def drain(self, process):
        for line in process.stdout:
            self.log.write(line)

    def kill(self) -> bool:
        with self.lock:
            if self.process is None or self.process.poll() is not None:
                return False
            self.proxy.upstream = None
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
            return True

    def stop(self):
        with self.lock:
            if self.process is not None and self.process.poll() is None:
                self.proxy.upstream = None
                self.process.send_signal(signal.SIGTERM)
                try:
                    self.process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    self.harness.problems.append(f"{self.name} did not stop within 30 s of SIGTERM")
                    self.process.kill()
                    self.process.wait()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.proxy.port}"


class Laptop:
    def __init__(self, harness, name: str, cadre: str, enterprises: list[str], seed: int):
        self.harness = harness
        self.name = name
        self.cadre = cadre
        self.enterprises = enterprises
        self.home = os.path.join(harness.work, name)
        self.rng = random.Random(seed)
        self.key = ""
        self.written: list[tuple[str, str]] = []  # (table, id) of writes that exited 0
        self.demands: list[str] = []  # numbers of demands this laptop registered
        self.texts: list[str] = []  # every text it wrote, for the secret scan
        self.hub_accepted: dict[str, int] = {}  # scope -> own head the hub was told to hold
        self.peer_accepted: dict[str, dict[str, int]] = collections.defaultdict(dict)  # peer -> scope -> head
        self.server: Server | None = None
        self.peers: list["Laptop"] = []
        self.log = open(os.path.join(harness.logs, f"{name}.client.log"), "ab", buffering=0)

    def own_heads(self) -> dict[str, int]:
        return {scope: head for (author, scope), head in feeds(self.home).items() if author == self.key}

    def run(self, *arguments: str, kill: bool = False) -> tuple[int | None, str]:
        """One CLI command; None as its status if the harness killed it."""
        process = subprocess.Popen(
            [self.harness.binary, *arguments], env=self.harness.env(self.home, log="trace"),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        killed = threading.Event()
        timer = None
        if kill:
            def murder():
                if process.poll() is None:
                    process.send_signal(signal.SIGKILL)
                    killed.set()
            timer = threading.Timer(self.rng.uniform(0.0, 0.5), murder)
            timer.start()
        try:
            out, err = process.communicate(timeout=180)
        except subprocess.TimeoutExpired:
            process.kill()
            out, err = process.communicate()
            self.harness.problems.append(f"{self.name}: `fieldlog {arguments[0]}` hung for 180 s")
        if timer:
            timer.cancel()
        self.log.write(out + err)
        if killed.is_set():
            self.harness.counts.add("kills: client")
            return None, ""
        if process.returncode != 0:
            # Every failure is reported as fieldlog's own message, which says what to do next; a
            # bare error from a library underneath (the argument parser prints it as "Error: …")
            # means one path was not handled.
            message = err.decode("utf-8", "replace").strip()
            self.harness.counts.add("failures reported with advice" if message.startswith("fieldlog: ") else "failures reported bare")
            if not message.startswith("fieldlog: "):
                self.harness.problems.append(f"{self.name}: `fieldlog {arguments[0]}` failed with a bare error: {message[:200]}")
        return process.returncode, out.decode("utf-8", "replace")

    def write(self, kill: bool):
        choice = self.rng.random()
        token = f"{self.name}-{self.rng.getrandbits(48):012x}"
        enterprise = self.rng.choice(self.enterprises)
        if choice < 0.35:
            text = f"走访 {token}"
            status, out = self.run("visit", "add", "--enterprise", enterprise, "--topics", text, "--json", kill=kill)
            table = "visits"
        elif choice < 0.75 or not self.demands:
            text = f"诉求内容 {token}"
            status, out = self.run(
                "demand", "add", "--enterprise", enterprise, "--title", f"诉求 {token[-6:]}", "--content", text, "--json",
                kill=kill,
            )
            table = "demands"
        else:
            text = f"备注 {token}"
            status, out = self.run("demand", "edit", self.rng.choice(self.demands), "--remarks", text, kill=kill)
            table = None
        self.texts.append(text)
        if status is None:
            return
        if status != 0:
            self.harness.problems.append(f"{self.name}: a write failed with no fault to blame: {out[:300]}")
            return
        self.harness.counts.add("writes: ok")
        if table:
            answer = json.loads(out)
            self.written.append((table, answer["id"]))
            if table == "demands":
                self.demands.append(answer["number"])

    def sync(self, target: str, kill: bool):
        peer = None
        if target == "hub":
            url = self.harness.hub.url
        else:
            peer = self.rng.choice(self.peers)
            url = peer.server.url
        before = self.own_heads()
        status, out = self.run("sync", "--hub" if peer is None else "--peer", url, "--json", kill=kill)
        kind = "hub" if peer is None else "peer"
        if status is None:
            return
        if status != 0:
            self.harness.counts.add(f"syncs: {kind} failed")
            return
        summary = json.loads(out)
        if summary.get("refusedThere") or summary.get("refusedHere"):
            self.harness.problems.append(f"{self.name}: a {kind} sync refused commits: {out[:500]}")
        self.harness.counts.add(f"syncs: {kind} ok")
        accepted = self.hub_accepted if peer is None else self.peer_accepted[peer.name]
        for scope, head in before.items():
            accepted[scope] = max(accepted.get(scope, 0), head)

    def carry(self, kill: bool):
        """A bundle made for another laptop (any, even one sharing no enterprise), carried to it as
        on a USB stick. Either command may be killed. A killed export leaves no file at its path (it
        writes `.partial` and renames); a `.partial` left behind is imported too: cut short, it must be
        refused in fieldlog's own words (`run` reports any other failure)."""
        other = self.rng.choice([laptop for laptop in self.harness.laptops if laptop is not self])
        path = os.path.join(self.harness.work, "bundles", f"{self.name}-for-{other.name}-{self.rng.getrandbits(32):08x}.bundle")
        before = self.own_heads()
        status, out = self.run("bundle", "export", "--out", path, "--for", other.key, "--json", kill=kill)
        if status is None:
            if os.path.exists(path + ".partial"):
                # Refused as truncated (or as no bundle at all, when the kill came before the
                # magic), in fieldlog's words; taken only if the kill came after its last byte.
                status, _ = other.run("bundle", "import", path + ".partial", "--json")
                self.harness.counts.add("bundles: cut by a kill, refused" if status == 1 else "bundles: cut by a kill, complete")
            if not os.path.exists(path):
                return
        elif status != 0:
            self.harness.problems.append(f"{self.name}: a bundle export failed with no fault to blame: {out[:300]}")
            return
        status, out = other.run("bundle", "import", path, "--json", kill=kill)
        if status is None:
            return
        if status != 0:
            self.harness.problems.append(f"{other.name}: a bundle import failed with no fault to blame: {out[:300]}")
            return
        report = json.loads(out)
        if report.get("refused"):
            self.harness.problems.append(f"{other.name}: a bundle from {self.name} had refused commits: {out[:500]}")
        self.harness.counts.add("bundles: carried")
        accepted = self.peer_accepted[other.name]
        for scope, head in before.items():
            accepted[scope] = max(accepted.get(scope, 0), head)

    def work(self, deadline: float, stop: threading.Event):
        while time.monotonic() < deadline and not stop.is_set():
            kill = self.rng.random() < self.harness.kill_rate
            action = self.rng.choices(("write", "hub", "peer", "bundle"), (6, 3, 2 if self.peers else 0, 1))[0]
            if action == "write":
                self.write(kill)
            elif action == "bundle":
                self.carry(kill)
            else:
                self.sync(action, kill)


# A feed's head (docs/storage.md, storage 4): head_seq, or for a feed whose head_seq is -1 (a
# laptop's own feed) the sequence of the last key of its range in _log.
HEAD = (
    "(CASE WHEN f.head_seq >= 0 THEN f.head_seq ELSE COALESCE((SELECT MAX(k) FROM _log "
    "WHERE k BETWEEN f.feed << 32 AND (f.feed << 32) | 4294967295) & 4294967295, 0) END)"
)


def feeds(home: str) -> dict[tuple[str, str], int]:
    with closing_db(home) as db:
        return {(author.hex(), scope): head for author, scope, head in db.execute(f"SELECT f.author, f.scope, {HEAD} FROM _feeds f")}


class closing_db:
    """A read-only connection to a replica file, closed on exit."""

    def __init__(self, home: str):
        self.db = sqlite3.connect(f"file:{os.path.join(home, 'replica.sqlite')}?mode=ro", uri=True, timeout=30)

    def __enter__(self):
        return self.db

    def __exit__(self, *_):
        self.db.close()


class Harness:
    def __init__(self, arguments):
        self.seconds = arguments.seconds
        self.seed = arguments.seed
        self.kill_rate = arguments.kill_rate
        self.binary = os.path.abspath(arguments.binary)
        self.work = tempfile.mkdtemp(prefix="fieldlog-soak-")
        self.logs = os.path.join(self.work, "logs")
        os.makedirs(self.logs)
        os.makedirs(os.path.join(self.work, "bundles"))
        self.counts = Counts()
        self.problems: list[str] = []
        self.failures: list[str] = []
        self.signatures: set[str] = set()
        self.codes: list[str] = []
        self.rng = random.Random(self.seed)
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        self.laptops = [Laptop(self, name, cadre, ents, self.seed * 100 + i) for i, (name, cadre, ents) in enumerate(LAPTOPS[: arguments.laptops])]
        self.hub_home = os.path.join(self.work, "hub")
        self.hub: Server | None = None

    def env(self, home: str, log: str = "warning") -> dict[str, str]:
        return {**os.environ, "FIELDLOG_HOME": home, "FIELDLOG_PASSPHRASE": PASSPHRASE, "FIELDLOG_LOG_LEVEL": log}

    def cli(self, home: str, *arguments: str) -> str:
        result = subprocess.run([self.binary, *arguments], env=self.env(home), capture_output=True)
        if result.returncode != 0:
            raise SystemExit(f"soak setup: `fieldlog {' '.join(arguments)}` failed: {result.stderr.decode()}")
        return result.stdout.decode()

    def proxy(self, name: str) -> Proxy:
        proxy = Proxy(name, random.Random(self.rng.getrandbits(64)), self.counts, self.signatures)
        asyncio.run_coroutine_threadsafe(proxy.start(), self.loop).result()
        return proxy

    def server(self, name: str, home: str, arguments: list[str]) -> Server:
        server = Server(self, name, home, arguments)
        server.proxy = self.proxy(name)
        server.start()
        return server

    def set_up(self):
        self.cli(self.hub_home, "hub", "init", "--name", "高唐县")
        for kind in ("departments", "cadres", "enterprises", "linkages"):
            self.cli(self.hub_home, "registry", "import", kind, os.path.join(DEMO, f"{kind}.csv"))
        self.hub = self.server("hub", self.hub_home, ["hub", "serve"])
        for laptop in self.laptops:
            laptop.key = json.loads(self.cli(laptop.home, "init", "--json"))["publicKey"]
            code = json.loads(self.cli(self.hub_home, "hub", "enroll-code", "--role", "cadre", "--cadre", laptop.cadre, "--json"))["code"]
            self.codes.append(code)
            # Enrollment goes straight to the hub, not through the faulty proxy.
            self.cli(laptop.home, "enroll", "--hub", f"http://127.0.0.1:{self.hub.proxy.upstream}", "--code", code)
        # One sync each, with no faults, so that every laptop knows the others' devices (a peer
        # answers with its own key, which a laptop accepts only once the registry enrolls it).
        for laptop in self.laptops:
            self.cli(laptop.home, "sync", "--hub", f"http://127.0.0.1:{self.hub.proxy.upstream}")
        for laptop in self.laptops:
            shared = set(laptop.enterprises)
            laptop.peers = [other for other in self.laptops if other is not laptop and shared & set(other.enterprises)]
            if any(laptop in other.peers for other in self.laptops) or laptop.peers:
                laptop.server = self.server(f"{laptop.name}-serve", laptop.home, ["serve"])

    def servers(self) -> list[Server]:
        return [self.hub] + [laptop.server for laptop in self.laptops if laptop.server]

    def chaos(self, stop: threading.Event):
        """Kills a server with SIGKILL every few seconds and restarts it a moment later."""
        while not stop.wait(self.rng.uniform(1.0, 4.0)):
            victim = self.rng.choice(self.servers())
            if victim.kill():
                self.counts.add("kills: hub" if victim is self.hub else "kills: laptop server")
            if not stop.wait(self.rng.uniform(0.0, 1.0)):
                try:
                    victim.start()
                    self.counts.add("restarts")
                except ServerDidNotStart as error:
                    self.problems.append(str(error))

    def soak(self):
        started = time.monotonic()
        deadline = started + self.seconds
        stop = threading.Event()
        chaos = threading.Thread(target=self.chaos, args=(stop,))
        workers = [threading.Thread(target=laptop.work, args=(deadline, stop)) for laptop in self.laptops]
        chaos.start()
        for worker in workers:
            worker.start()
        last = started
        while alive := [worker for worker in workers if worker.is_alive()]:
            alive[0].join(timeout=1.0)
            if time.monotonic() - last >= 10:
                last = time.monotonic()
                print(f"  {last - started:5.0f} s: {self.counts['writes: ok']} writes, "
                      f"{self.counts['syncs: hub ok']}+{self.counts['syncs: peer ok']} syncs ok, "
                      f"{self.counts['kills: hub'] + self.counts['kills: laptop server'] + self.counts['kills: client']} kills, "
                      f"{sum(v for k, v in self.counts.values.items() if k.startswith('fault'))} faults", flush=True)
        stop.set()
        chaos.join()
        self.counts.add("seconds of faults", round(time.monotonic() - started))

    def sabotage(self):
        """Loses the newest accepted commit of one laptop on the hub, as a hub that acknowledged a
        push before storing it would, and writes the passphrase into the hub's log."""
        for server in self.servers():
            server.kill()
        laptop = next((l for l in self.laptops if l.hub_accepted), None)
        if laptop is None:
            self.problems.append("sabotage: no sync succeeded, so there was nothing to lose")
            return
        scope = max(laptop.hub_accepted, key=laptop.hub_accepted.get)
        head = laptop.hub_accepted[scope]
        db = sqlite3.connect(os.path.join(self.hub_home, "replica.sqlite"))
        with db:
            (feed,) = db.execute("SELECT feed FROM _feeds WHERE author = ? AND scope = ?", (bytes.fromhex(laptop.key), scope)).fetchone()
            db.execute("DELETE FROM _log WHERE k BETWEEN (? << 32) | ? AND (? << 32) | 4294967295", (feed, head, feed))
            db.execute("UPDATE _feeds SET head_seq = ? WHERE author = ? AND scope = ?", (head - 1, bytes.fromhex(laptop.key), scope))
        db.close()
        self.hub.log.write(f"sabotage {PASSPHRASE}\n".encode())
        self.hub.log.flush()

    def check_after_kills(self):
        """Before any further sync: integrity, local writes, and what each sync was told."""
        for server in self.servers():
            server.kill()
        homes = {"hub": self.hub_home, **{laptop.name: laptop.home for laptop in self.laptops}}
        for name, home in homes.items():
            self.integrity(name, home)
            self.recompute(name, home)
        self.before = {name: feeds(home) for name, home in homes.items()}
        for laptop in self.laptops:
            with closing_db(laptop.home) as db:
                for table, record in laptop.written:
                    if not db.execute(f"SELECT 1 FROM {table} WHERE id = ?", (uuid_blob(record),)).fetchone():
                        self.failures.append(f"{laptop.name}: a write that exited 0 is missing from its own replica ({table} {record})")
            for scope, head in laptop.hub_accepted.items():
                held = self.before["hub"].get((laptop.key, scope), 0)
                if held < head:
                    self.failures.append(f"the hub holds {laptop.name}'s feed in {scope} to #{held}, but a sync that exited 0 sent it to #{head}")
            self.counts.add("accepted commits checked on the hub", sum(laptop.hub_accepted.values()))

    def converge(self):
        for server in self.servers():
            server.proxy.faulty = False
            server.start()
        for round_ in (1, 2):
            for laptop in self.laptops:
                status, out = laptop.run("sync", "--hub", self.hub.url, "--json")
                if status != 0:
                    self.failures.append(f"{laptop.name}: a sync with no faults failed (round {round_}): {out[:300]}")
        for server in self.servers():
            server.stop()

    def check_at_end(self):
        homes = {"hub": self.hub_home, **{laptop.name: laptop.home for laptop in self.laptops}}
        digests = {}
        for name, home in homes.items():
            self.integrity(name, home)
            self.recompute(name, home)
            digests[name] = json.loads(self.cli(home, "status", "--json"))["digests"]
        for scope in sorted(set().union(*digests.values())):
            values = {name: d[scope] for name, d in digests.items() if scope in d}
            if "hub" not in values:
                self.failures.append(f"the hub does not hold scope {scope}")
            if len(set(values.values())) != 1:
                self.failures.append(f"scope {scope} differs between {sorted(values)}")
        self.counts.add("scopes compared", len(set().union(*digests.values())))
        # What each peer was told it holds, in the scopes it may read (those it holds at the end).
        for laptop in self.laptops:
            for peer_name, heads in laptop.peer_accepted.items():
                for scope, head in heads.items():
                    if scope in digests[peer_name]:
                        self.counts.add("accepted commits checked on peers", head)
                        held = self.before[peer_name].get((laptop.key, scope), 0)
                        if held < head:
                            self.failures.append(f"{peer_name} held {laptop.name}'s feed in {scope} to #{held} after the kills, but a sync that exited 0 sent it to #{head}")
        with closing_db(self.hub_home) as db:
            for laptop in self.laptops:
                for table, record in laptop.written:
                    if not db.execute(f"SELECT 1 FROM {table} WHERE id = ?", (uuid_blob(record),)).fetchone():
                        self.failures.append(f"{table} {record}, written on {laptop.name}, is not on the hub")
            self.counts.add("commits on the hub", db.execute("SELECT COUNT(*) FROM _commits").fetchone()[0])
        for name, home in homes.items():
            with closing_db(home) as db:
                for author, scope, head, count, low in db.execute(
                    f"SELECT f.author, f.scope, {HEAD}, COUNT(l.k) + (SELECT COUNT(*) FROM _forks x WHERE x.feed = f.feed), "
                    "MIN(l.k & 4294967295) FROM _feeds f "
                    "LEFT JOIN _log l ON l.k BETWEEN f.feed << 32 AND (f.feed << 32) | 4294967295 GROUP BY f.feed"
                ):
                    if count != head or (head and low != 1):
                        self.failures.append(f"{name}: feed {author.hex()[:12]} in {scope} has {count} commits for head #{head}")
                for number, count in db.execute("SELECT number, COUNT(*) FROM demands GROUP BY number HAVING COUNT(*) > 1"):
                    self.failures.append(f"{name}: demand number {number} appears {count} times")
                for status, count in db.execute("SELECT status, COUNT(*) FROM _commits WHERE status != 0 GROUP BY status"):
                    self.failures.append(f"{name}: {count} commits with status {status} (held or excluded)")

    def check_scopes_held(self):
        """Every laptop holds commits only of the registry and its cadre's linked enterprises."""
        with closing_db(self.hub_home) as db:
            scope_of = {name: "ent:" + uuid_from_blob(blob) for blob, name in db.execute("SELECT id, name FROM enterprises")}
        for laptop in self.laptops:
            allowed = {"registry"} | {scope_of[name] for name in laptop.enterprises}
            with closing_db(laptop.home) as db:
                held = {scope for (scope,) in db.execute("SELECT DISTINCT scope FROM _commits")}
            for scope in sorted(held - allowed):
                self.failures.append(f"{laptop.name} holds commits of {scope}, an enterprise {laptop.cadre} is not linked to")
            self.counts.add("scopes held checked", len(held))

    def integrity(self, name: str, home: str):
        with closing_db(home) as db:
            result = db.execute("PRAGMA integrity_check").fetchall()
        if result != [("ok",)]:
            self.failures.append(f"{name}: integrity_check: {result[:5]}")
        self.counts.add("integrity checks ok" if result == [("ok",)] else "integrity checks failed")

    def recompute(self, name: str, home: str):
        """`fieldlog check`: every row's stored state equals a recompute from the log (after the kills
        of writes, imports and hub groups, and at the end)."""
        result = subprocess.run([self.binary, "check", "--json"], env=self.env(home), capture_output=True)
        if result.returncode == 0:
            self.counts.add("replicas recomputed from their logs, equal")
            return
        try:
            first = (json.loads(result.stdout.decode()).get("differences") or ["?"])[0]
        except ValueError:
            first = result.stderr.decode().strip()[:300]
        where = "the hub holds a state its log does not give" if name == "hub" else f"{name}: its stored state is not its log's"
        self.failures.append(f"{where} (fieldlog check: {first})")

    def scan_logs(self):
        secrets = {"the passphrase": [PASSPHRASE]}
        secrets["an enrollment code"] = self.codes
        secrets["a request signature"] = sorted(self.signatures)
        secrets["a written text (request body)"] = [text for laptop in self.laptops for text in laptop.texts]
        lines = 0
        for file in sorted(os.listdir(self.logs)):
            with open(os.path.join(self.logs, file), "rb") as handle:
                text = handle.read().decode("utf-8", "replace")
            lines += text.count("\n")
            for what, values in secrets.items():
                for value in values:
                    if value and value in text:
                        self.failures.append(f"{file} contains {what}")
                        break
        self.counts.add("log lines scanned", lines)
        self.counts.add("secrets looked for", sum(len(v) for v in secrets.values()))


def uuid_blob(text: str) -> bytes:
    return bytes.fromhex(text.replace("-", ""))


def uuid_from_blob(blob: bytes) -> str:
    hex_ = blob.hex()
    return f"{hex_[:8]}-{hex_[8:12]}-{hex_[12:16]}-{hex_[16:20]}-{hex_[20:]}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60, help="how long the faults go on")
    parser.add_argument("--laptops", type=int, default=4, choices=range(2, len(LAPTOPS) + 1))
    parser.add_argument("--kill-rate", type=float, default=0.15, help="the share of client commands killed")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build", "release", "fieldlog"))
    parser.add_argument("--sabotage", action="store_true",
                        help="after the faults, delete an accepted commit from the hub and log the passphrase; exit 0 only if the checks catch both")
    parser.add_argument("--keep", action="store_true", help="keep the replicas and logs (always kept on FAIL)")
    arguments = parser.parse_args()
    if arguments.seed is None:
        arguments.seed = random.SystemRandom().randrange(1 << 31)
    if not os.access(arguments.binary, os.X_OK):
        sys.exit(f"soak: no fieldlog binary at {arguments.binary}; build it first (swift build -c release)")
    harness = Harness(arguments)
    print(f"fault soak: seed {arguments.seed}, {arguments.seconds:.0f} s, {len(harness.laptops)} laptops, in {harness.work}", flush=True)
    began = time.monotonic()
    try:
        harness.set_up()
        print(f"  hub at {harness.hub.url} (proxied); laptop servers: "
              f"{', '.join(l.name for l in harness.laptops if l.server) or 'none'}", flush=True)
        harness.soak()
        if arguments.sabotage:
            harness.sabotage()
        print("  faults stopped; checking the files after the kills", flush=True)
        harness.check_after_kills()
        print("  syncing with no faults, then checking convergence", flush=True)
        harness.converge()
        harness.check_at_end()
        harness.check_scopes_held()
        harness.scan_logs()
    finally:
        for server in harness.servers() if harness.hub else []:
            server.stop()
    counts = harness.counts.values
    counts["seconds in all"] = round(time.monotonic() - began)
    print("counts:")
    for key in sorted(counts):
        print(f"  {key:40} {counts[key]}")
    problems = harness.failures + harness.problems
    if arguments.sabotage:
        # The checks must catch a lost accepted commit and a secret in a log, and nothing else.
        expected = [p for p in problems if p.startswith("the hub holds") or p.endswith("contains the passphrase")]
        others = [p for p in problems if p not in expected]
        print(f"sabotage: {len(expected)} expected failures found, {len(others)} others")
        for problem in problems[:20]:
            print("  " + problem)
        caught = any(p.startswith("the hub holds") for p in expected) and any(p.endswith("contains the passphrase") for p in expected)
        print("VERDICT: " + ("the checks caught the sabotage" if caught and not others else "FAIL: the checks missed the sabotage"))
        shutil.rmtree(harness.work, ignore_errors=True)
        sys.exit(0 if caught and not others else 1)
    if problems:
        print(f"VERDICT: FAIL (seed {arguments.seed}; files and logs kept in {harness.work})")
        for problem in problems[:50]:
            print("  " + problem)
        sys.exit(1)
    print(f"VERDICT: PASS (seed {arguments.seed})")
    if not arguments.keep:
        shutil.rmtree(harness.work, ignore_errors=True)


if __name__ == "__main__":
    main()
