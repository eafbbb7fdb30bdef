#!/usr/bin/env python3
"""Chaos run for the procedures service: citizens submit dossiers with request ids at
concurrency through the gateway while this SIGKILLs egov-procedures and restarts its
PostgreSQL (immediate shutdown) at random. Afterwards it checks, in the database itself:
every acknowledged submission exists exactly once, each agency's daily dossier numbers run
1..N without a gap, every dossier has exactly one `submitted` outbox event, and the service
answers again. Prints the figures; exits 1 on any violation.

Started by scripts/chaos (which builds, starts PostgreSQL, identity, procedures and the
gateway); see there for the options.
"""
import argparse
import glob
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid

import grpc
from grpc_tools import protoc

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROTO = os.path.join(ROOT, "proto")
RETRYABLE = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED,
             grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL}


def compile_protos(out):
    files = [os.path.relpath(p, PROTO) for p in glob.glob(os.path.join(PROTO, "**", "*.proto"), recursive=True)]
    include = os.path.join(os.path.dirname(protoc.__file__), "_proto")
    if protoc.main(["protoc", f"-I{PROTO}", f"-I{include}", f"--python_out={out}", f"--grpc_python_out={out}"] + files):
        sys.exit("protoc failed")
    sys.path.insert(0, out)


class Figures:
    def __init__(self):
        self.lock = threading.Lock()
        self.acknowledged = {}  # request id -> dossier code
        self.attempts = 0
        self.retried = 0
        self.errors = {}

    def error(self, code):
        with self.lock:
            self.errors[code] = self.errors.get(code, 0) + 1


def psql(url, sql):
    url = url.replace("tlsmode=", "sslmode=")  # libpq names it sslmode
    out = subprocess.run(["psql", url, "-At", "-F", "|", "-c", sql], capture_output=True, text=True, check=True)
    return [line.split("|") for line in out.stdout.splitlines() if line]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--ca", required=True)
    parser.add_argument("--gateway", default="127.0.0.1:7443")
    parser.add_argument("--database", required=True, help="postgres:// URL of procedures' database")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--kill", required=True, help="command that SIGKILLs and restarts egov-procedures")
    parser.add_argument("--restart-postgres", required=True, help="command that restarts PostgreSQL immediately")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    random.seed(args.seed)

    work = tempfile.mkdtemp(prefix="egov-chaos-")
    compile_protos(work)
    from egov.identity.v1 import identity_service_pb2 as idp, identity_service_pb2_grpc as idg
    from egov.identity.v1 import person_pb2
    from egov.procedures.v1 import procedures_service_pb2 as pp, procedures_service_pb2_grpc as pg
    from egov.procedures.v1 import dossier_pb2

    with open(args.ca, "rb") as f:
        credentials = grpc.ssl_channel_credentials(root_certificates=f.read())
    channel = grpc.secure_channel(args.gateway, credentials)
    identity = idg.IdentityServiceStub(channel)
    procedures = pg.ProceduresServiceStub(channel)

    # Citizens with valid citizen ids (province code 008, century digit, year, serial).
    citizens = []
    for n in range(args.workers):
        cid = "0082030%05d" % (10000 + n + args.seed * 100)
        person = person_pb2.Person(kind=person_pb2.Person.KIND_CITIZEN, display_name=f"Công dân {n}", citizen_id=cid,
                                   birth_date="2003-01-01")
        try:
            identity.RegisterPerson(idp.RegisterPersonRequest(person=person, password="mật khẩu thử hỗn loạn 2026"), timeout=30)
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.ALREADY_EXISTS:
                raise
        citizens.append(cid)
    catalogue = procedures.ListProcedures(pp.ListProceduresRequest(page_size=100), timeout=30).procedures
    online = [p for p in catalogue if p.mode == 1 or "FULL_ONLINE" in str(p.mode)]
    procedure = (online or catalogue)[0].name

    figures = Figures()
    stop = threading.Event()

    def worker(cid):
        # Signing in hashes the password (slow by design): once, then refresh the session.
        tokens = identity.Login(idp.LoginRequest(login=cid, password="mật khẩu thử hỗn loạn 2026"), timeout=300)
        session = (tokens.access_token, time.time() + 240, tokens.refresh_token)
        while not stop.is_set():
            if time.time() > session[1]:
                try:
                    tokens = identity.RefreshSession(idp.RefreshSessionRequest(refresh_token=session[2]), timeout=30)
                    session = (tokens.access_token, time.time() + 240, tokens.refresh_token)
                except grpc.RpcError as error:
                    figures.error("refresh " + error.code().name)
                    time.sleep(0.2)
                    continue
            request_id = str(uuid.uuid4())
            request = pp.SubmitDossierRequest(parent=procedure, request_id=request_id,
                                              dossier=dossier_pb2.Dossier(channel=dossier_pb2.CHANNEL_ONLINE))
            # Retry the same request id until it is acknowledged: at most once, at least once.
            first = True
            give_up = time.time() + 120
            while time.time() < give_up:
                with figures.lock:
                    figures.attempts += 1
                    if not first:
                        figures.retried += 1
                first = False
                try:
                    dossier = procedures.SubmitDossier(request, metadata=[("authorization", "Bearer " + session[0])], timeout=10)
                    with figures.lock:
                        figures.acknowledged[request_id] = dossier.code
                    break
                except grpc.RpcError as error:
                    figures.error(error.code().name)
                    if error.code() not in RETRYABLE:
                        print(f"refused: {error.code().name} {error.details()}", file=sys.stderr)
                        break
                    time.sleep(0.2)
            else:
                figures.error("gave up after 120 s")

    def guarded(cid):
        try:
            worker(cid)
        except Exception as error:  # a crash of the driver itself, not of the platform
            figures.error(f"driver: {type(error).__name__}: {error}")

    threads = [threading.Thread(target=guarded, args=(cid,), daemon=True) for cid in citizens]
    for thread in threads:
        thread.start()
    kills = restarts = 0
    end = time.time() + args.seconds
    while time.time() < end:
        time.sleep(random.uniform(2, 6))
        if time.time() >= end:
            break
        if random.random() < 0.5:
            subprocess.run(args.kill, shell=True, check=True)
            kills += 1
        else:
            subprocess.run(args.restart_postgres, shell=True, check=True)
            restarts += 1
    stop.set()
    for thread in threads:
        thread.join(timeout=180)

    # The service answers again.
    answered = False
    for _ in range(120):
        try:
            procedures.ListProcedures(pp.ListProceduresRequest(page_size=1), timeout=5)
            answered = True
            break
        except grpc.RpcError:
            time.sleep(0.5)

    problems = []
    codes = {row[0] for row in psql(args.database, "SELECT code FROM dossiers")}
    acknowledged = figures.acknowledged
    missing = [c for c in acknowledged.values() if c not in codes]
    if missing:
        problems.append(f"{len(missing)} acknowledged dossiers are missing, e.g. {missing[:3]}")
    if len(set(acknowledged.values())) != len(acknowledged):
        problems.append("two request ids were acknowledged with the same dossier code")
    kept = psql(args.database, "SELECT request_id FROM idempotency_keys WHERE scope LIKE '%SubmitDossier%'")
    if len(kept) < len(acknowledged):
        problems.append(f"{len(acknowledged) - len(kept)} acknowledged request ids have no idempotency record")
    gaps = 0
    for agency, day, count, low, high in psql(args.database, """
            SELECT split_part(code, '-', 1), split_part(code, '-', 2), COUNT(*),
                   MIN(CAST(split_part(code, '-', 3) AS INT)), MAX(CAST(split_part(code, '-', 3) AS INT))
            FROM dossiers GROUP BY 1, 2"""):
        if int(low) != 1 or int(high) != int(count):
            gaps += 1
            problems.append(f"{agency} {day}: {count} dossiers numbered {low}..{high}")
    events = psql(args.database, """
            SELECT d.code, COUNT(o.id) FROM dossiers d LEFT JOIN outbox o
            ON o.topic = 'procedures.dossier.submitted' AND o.message_key LIKE '%/dossiers/' || d.code GROUP BY d.code""")
    wrong = [code for code, n in events if int(n) != 1]
    if wrong:
        problems.append(f"{len(wrong)} dossiers without exactly one submitted event, e.g. {wrong[:3]}")
    if not answered:
        problems.append("procedures did not answer after the run")
    if not acknowledged:
        problems.append("no submission was acknowledged at all")

    print(f"chaos: {args.seconds:.0f} s, {args.workers} citizens submitting, {kills} SIGKILLs of egov-procedures, "
          f"{restarts} immediate PostgreSQL restarts")
    print(f"chaos: {len(acknowledged)} submissions acknowledged ({figures.attempts} attempts, {figures.retried} retries "
          f"with the same request id); {len(codes)} dossiers stored; numbering gaps: {gaps}; "
          f"errors seen by clients: {dict(sorted(figures.errors.items()))}")
    if problems:
        for problem in problems:
            print("chaos: VIOLATION " + problem)
        sys.exit(1)
    print("chaos: every acknowledged submission exists exactly once, numbers have no gaps, events match, "
          "and the service answers")


if __name__ == "__main__":
    main()
