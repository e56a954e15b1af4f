"""protos/ compiles for other languages without errors or warnings.

An office's or vendor's developer generates code from registry.proto with the
plain `protoc` of their language, not with our Python build. protoc's built-in
generators (Debian's protobuf-compiler, tools/setup --tests) are cheap to run
and choke on what those languages cannot take (name clashes with generated
accessors, reserved words, missing or conflicting file options); no compiler
for those languages is needed. TypeScript users get types from
@grpc/proto-loader's generator, checked here too.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import grpc_tools
import pytest

from pickupbox.registry.v1 import registry_pb2 as pb

ROOT = Path(__file__).resolve().parents[2]
PROTO = "pickupbox/registry/v1/registry.proto"
# Debian's protoc comes without google/protobuf/*.proto (libprotobuf-dev has
# them); grpcio-tools ships the same well-known types.
WELL_KNOWN = Path(grpc_tools.__file__).parent / "_proto"
PROTOC = shutil.which("protoc")
NODE = shutil.which("node")
GEN_TYPES = (ROOT / ".venv" / "node" / "node-client" / "node_modules" / "@grpc" / "proto-loader"
             / "build" / "bin" / "proto-loader-gen-types.js")

pytestmark = pytest.mark.interop


@pytest.fixture
def protoc() -> str:
    if PROTOC is None:
        message = "no protoc: run tools/setup --tests (installs Debian's protobuf-compiler)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return PROTOC


def generate(protoc: str, language: str, out: Path) -> Path:
    out.mkdir()
    result = subprocess.run(
        [protoc, f"-I{ROOT / 'protos'}", f"-I{WELL_KNOWN}", "--fatal_warnings",
         f"--{language}_out={out}", PROTO],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
    )
    assert (result.returncode, result.stderr) == (0, ""), f"protoc --{language}_out"
    return out


@pytest.mark.parametrize("language", ["cpp", "csharp", "kotlin", "objc", "php", "ruby"])
def test_protoc_generates_the_api_without_warnings(protoc, language, tmp_path):
    out = generate(protoc, language, tmp_path / language)
    assert any(p.is_file() and p.stat().st_size > 0 for p in out.rglob("*"))


def test_java_gets_one_class_per_message_in_its_package(protoc, tmp_path):
    out = generate(protoc, "java", tmp_path / "java") / "pickupbox" / "registry" / "v1"
    for name in ("RegistryProto", "CreatePickupOrderRequest", "PickupOrder", "OrderStatus",
                 "RemoteCommand"):
        assert (out / f"{name}.java").is_file(), name
    assert "package pickupbox.registry.v1;" in (out / "PickupOrder.java").read_text()


def test_csharp_code_is_in_its_namespace(protoc, tmp_path):
    code = (generate(protoc, "csharp", tmp_path / "csharp") / "Registry.cs").read_text()
    assert "namespace Pickupbox.Registry.V1 {" in code


def test_the_file_options_name_each_language_s_package():
    options = pb.DESCRIPTOR.GetOptions()
    assert options.java_package == "pickupbox.registry.v1" and options.java_multiple_files
    assert options.java_outer_classname == "RegistryProto"
    assert options.csharp_namespace == "Pickupbox.Registry.V1"
    # "import path;package name": Go code imports it as registryv1 (Buf's style).
    assert options.go_package.endswith("/registry/v1;registryv1")


@pytest.mark.skipif(NODE is None, reason="needs Node.js (`node`): run tools/setup --tests")
def test_typescript_types_are_generated_for_both_services(tmp_path):
    if not GEN_TYPES.is_file():
        pytest.fail(f"no {GEN_TYPES}: run tools/setup --tests")
    result = subprocess.run(
        [NODE, str(GEN_TYPES), PROTO, "--keepCase", "--longs=String", "--enums=String",
         "--defaults", "--oneofs", "--grpcLib=@grpc/grpc-js", f"--outDir={tmp_path}",
         "-I", str(ROOT / "protos")],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    office = (tmp_path / "pickupbox" / "registry" / "v1" / "OfficeService.ts").read_text()
    kiosk = (tmp_path / "pickupbox" / "registry" / "v1" / "KioskService.ts").read_text()
    assert "CreatePickupOrder(" in office and "StreamCommands(" in kiosk
