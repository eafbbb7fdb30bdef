#!/usr/bin/env python3
"""Calls the egov gateway from Python with a stock gRPC client, over TLS with the dev CA.

    python3 scripts/examples/list_agencies.py --ca data/pki/ca.pem [--target 127.0.0.1:7443]

It compiles the platform's .proto files with grpc_tools (pip install grpcio grpcio-tools
grpcio-reflection) into a temporary folder, lists the first agencies, reads one procedure of
the catalogue, shows the structured error a bad request gets, and asks the server itself
(server reflection, no .proto files) what the procedures service offers. Last, it reads the
catalogue again as plain HTTP/JSON, as a browser would.
"""
import argparse
import glob
import importlib
import json
import os
import ssl
import sys
import tempfile
import urllib.request

import grpc
from google.protobuf import descriptor_pool
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase
from grpc_tools import protoc

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROTO = os.path.join(ROOT, "proto")


def compile_protos(out):
    files = [os.path.relpath(p, PROTO) for p in glob.glob(os.path.join(PROTO, "**", "*.proto"), recursive=True)]
    include = os.path.join(os.path.dirname(protoc.__file__), "_proto")
    code = protoc.main(["protoc", f"-I{PROTO}", f"-I{include}", f"--python_out={out}", f"--grpc_python_out={out}"] + files)
    if code != 0:
        sys.exit("protoc failed")
    sys.path.insert(0, out)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--ca", required=True, help="CA certificate that signed the gateway's certificate")
    parser.add_argument("--target", default="127.0.0.1:7443")
    parser.add_argument("--http", default="https://127.0.0.1:8443", help="the gateway's HTTP/JSON address")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as out:
        compile_protos(out)
        identity = importlib.import_module("egov.identity.v1.identity_service_pb2")
        identity_grpc = importlib.import_module("egov.identity.v1.identity_service_pb2_grpc")
        procedures = importlib.import_module("egov.procedures.v1.procedures_service_pb2")
        procedures_grpc = importlib.import_module("egov.procedures.v1.procedures_service_pb2_grpc")
        status_pb2 = importlib.import_module("google.rpc.status_pb2")
        details_pb2 = importlib.import_module("google.rpc.error_details_pb2")

        with open(args.ca, "rb") as f:
            credentials = grpc.ssl_channel_credentials(root_certificates=f.read())
        with grpc.secure_channel(args.target, credentials) as channel:
            agencies = identity_grpc.IdentityServiceStub(channel)
            page = agencies.ListAgencies(identity.ListAgenciesRequest(page_size=5), timeout=5)
            for agency in page.agencies:
                print(f"{agency.code}  {agency.abbreviation:8} {agency.display_name}")
            print(f"next page token: {page.next_page_token or '(last page)'}")

            catalogue = procedures_grpc.ProceduresServiceStub(channel)
            first = catalogue.ListProcedures(procedures.ListProceduresRequest(page_size=1), timeout=5).procedures[0]
            print(f"procedure {first.code}: {first.display_name}, {first.processing_days} working days")

            try:
                agencies.GetAgency(identity.GetAgencyRequest(name="agencies/not-a-code"), timeout=5)
            except grpc.RpcError as error:
                print(f"bad request -> {error.code().name}: {error.details()}")
                for key, value in error.trailing_metadata() or ():
                    if key == "grpc-status-details-bin":
                        status = status_pb2.Status.FromString(value)
                        for detail in status.details:
                            if detail.Is(details_pb2.ErrorInfo.DESCRIPTOR):
                                info = details_pb2.ErrorInfo()
                                detail.Unpack(info)
                                print(f"   reason {info.reason} ({info.domain}), field {info.metadata.get('field')}")

            # A generic client needs no .proto files: the server describes itself.
            database = ProtoReflectionDescriptorDatabase(channel)
            services = sorted(database.get_services())
            print(f"reflection: {len(services)} services, e.g. {', '.join(s for s in services if s.startswith('egov.'))}")
            pool = descriptor_pool.DescriptorPool(database)
            described = pool.FindServiceByName("egov.procedures.v1.ProceduresService")
            print(f"egov.procedures.v1.ProceduresService: {len(described.methods)} methods, "
                  f"SubmitDossier takes {described.methods_by_name['SubmitDossier'].input_type.full_name}")

        # The same API as HTTP/JSON, with nothing but the standard library.
        context = ssl.create_default_context(cafile=args.ca)
        with urllib.request.urlopen(f"{args.http}/v1/procedures?page_size=1", context=context, timeout=5) as reply:
            procedure = json.load(reply)["procedures"][0]
        print(f"HTTP/JSON: GET /v1/procedures -> {procedure['code']} {procedure['displayName']}")


if __name__ == "__main__":
    main()
