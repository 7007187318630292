"""Format inspection of upload streams, on real images made by qemu-img."""

from __future__ import annotations

import json
import os
import struct
import subprocess
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from glimpse.core.errors import UnsupportedMediaType
from glimpse.stores.inspect import FormatInspection
from glimpse.stores.streaming import HashingStream
from tests.stores.drivers import MiB

VSIZE = "64M"


class Images:
    """Builds images once per module in a temp dir, keyed by a short name."""

    def __init__(self, qemu_img: str, root: Path) -> None:
        self.qemu_img = qemu_img
        self.root = root

    def run(self, *args: str) -> None:
        subprocess.run([self.qemu_img, *args], check=True, cwd=self.root, capture_output=True)

    def create(self, name: str, fmt: str, *options: str) -> Path:
        path = self.root / name
        if not path.exists():
            self.run("create", "-q", "-f", fmt, *options, name, VSIZE)
        return path

    def info_virtual_size(self, path: Path, fmt: str) -> int:
        out = subprocess.run(
            [self.qemu_img, "info", "-f", fmt, "--output=json", str(path)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        return int(json.loads(out)["virtual-size"])


@pytest.fixture(scope="module")
def images(qemu_img: str, tmp_path_factory: pytest.TempPathFactory) -> Images:
    return Images(qemu_img, tmp_path_factory.mktemp("images"))


async def file_chunks(path: Path, size: int) -> AsyncIterator[bytes]:
    with path.open("rb") as fh:
        while chunk := fh.read(size):
            yield chunk


async def inspect(path: Path, chunk: int = 64 * 1024, coalesce: int = MiB) -> FormatInspection:
    """Stream the file through HashingStream with an inspection observer."""
    inspection = FormatInspection()
    stream = HashingStream(
        file_chunks(path, chunk), observers=[inspection], coalesce_bytes=coalesce
    )
    async for _ in stream:
        pass
    return inspection


def random_raw(images: Images) -> Path:
    path = images.root / "random.raw"
    if not path.exists():
        path.write_bytes(os.urandom(3 * MiB + 512))
    return path


def iso_gpt_hybrid(images: Images) -> Path:
    """A minimal hybrid ISO: ISO 9660 primary volume descriptor plus an MBR signature."""
    blocks = 1024
    data = bytearray(blocks * 2048)
    data[510:512] = b"\x55\xaa"
    data[446 + 4] = 0xEE  # one protective-GPT partition entry
    pvd = 32 * 1024
    data[pvd] = 1
    data[pvd + 1 : pvd + 6] = b"CD001"
    data[pvd + 80 : pvd + 88] = struct.pack("<L", blocks) + struct.pack(">L", blocks)
    data[pvd + 128 : pvd + 132] = struct.pack("<H", 2048) + struct.pack(">H", 2048)
    path = images.root / "hybrid.iso"
    path.write_bytes(bytes(data))
    return path


ACCEPTED: dict[str, tuple[Callable[[Images], Path], str, str]] = {
    # case: (builder, claimed disk_format, qemu-img format name for the expected size)
    "qcow2": (lambda i: i.create("a.qcow2", "qcow2"), "qcow2", "qcow2"),
    "qcow2-v2": (lambda i: i.create("v2.qcow2", "qcow2", "-o", "compat=0.10"), "qcow2", "qcow2"),
    "vmdk-sparse": (
        lambda i: i.create("sparse.vmdk", "vmdk", "-o", "subformat=monolithicSparse"),
        "vmdk",
        "vmdk",
    ),
    "vmdk-stream": (
        lambda i: i.create("stream.vmdk", "vmdk", "-o", "subformat=streamOptimized"),
        "vmdk",
        "vmdk",
    ),
    "vhdx": (lambda i: i.create("a.vhdx", "vhdx"), "vhdx", "vhdx"),
    "vdi": (lambda i: i.create("a.vdi", "vdi"), "vdi", "vdi"),
    "vpc": (lambda i: i.create("a.vhd", "vpc"), "vhd", "vpc"),
}


@pytest.mark.parametrize("chunk", [4096, 64 * 1024])
@pytest.mark.parametrize("case", sorted(ACCEPTED))
async def test_matching_formats_are_accepted(images: Images, case: str, chunk: int) -> None:
    build, disk_format, qemu_format = ACCEPTED[case]
    path = build(images)
    inspection = await inspect(path, chunk=chunk, coalesce=chunk)
    assert inspection.detected_format == disk_format
    expected = images.info_virtual_size(path, qemu_format)
    assert inspection.verdict(disk_format) == expected
    assert inspection.virtual_size == expected


async def test_raw_data_claimed_raw(images: Images) -> None:
    path = random_raw(images)
    inspection = await inspect(path)
    assert inspection.detected_format == "raw"
    assert inspection.verdict("raw") == path.stat().st_size
    assert inspection.virtual_size == path.stat().st_size


@pytest.mark.parametrize("case", ["qcow2", "vmdk-sparse", "vhdx", "vdi", "vpc"])
async def test_claiming_raw_for_a_container_format_is_refused(images: Images, case: str) -> None:
    """Glance only warns here; a raw-declared qcow2 is how probing attacks start."""
    inspection = await inspect(ACCEPTED[case][0](images))
    with pytest.raises(UnsupportedMediaType, match="does not match disk_format raw"):
        inspection.verdict("raw")


async def test_claiming_raw_for_raw_layouts_uses_byte_count(images: Images) -> None:
    """An ISO or a partitioned disk is a raw block device to its consumers."""
    path = iso_gpt_hybrid(images)
    inspection = await inspect(path)
    assert inspection.verdict("raw") == path.stat().st_size


async def test_other_containers_get_safety_checks_only(images: Images) -> None:
    safe = await inspect(images.create("a.qcow2", "qcow2"))
    assert safe.verdict("raw", "ovf") is None
    assert safe.verdict("vmdk", "ova") is None
    unsafe = await inspect(backing(images))
    for container in ("ovf", "ova", "docker", "compressed", "bare"):
        with pytest.raises(UnsupportedMediaType, match="backing_file"):
            unsafe.verdict("raw", container)
    with pytest.raises(UnsupportedMediaType, match="backing_file"):
        unsafe.verdict(None)  # staged before the formats were set


@pytest.mark.parametrize(
    ("case", "claimed"), [("qcow2", "vmdk"), ("vdi", "qcow2"), ("raw", "qcow2")]
)
async def test_mismatch_is_rejected(images: Images, case: str, claimed: str) -> None:
    path = random_raw(images) if case == "raw" else ACCEPTED[case][0](images)
    inspection = await inspect(path)
    with pytest.raises(UnsupportedMediaType, match=f"does not match disk_format {claimed}"):
        inspection.verdict(claimed)


async def test_not_inspected_disk_formats_must_not_be_a_known_one(images: Images) -> None:
    assert (await inspect(random_raw(images))).verdict("ami") is None
    inspection = await inspect(images.create("a.qcow2", "qcow2"))
    with pytest.raises(UnsupportedMediaType, match="does not match disk_format ami"):
        inspection.verdict("ami")


def backing(images: Images) -> Path:
    images.create("base.raw", "raw")
    return images.create("backed.qcow2", "qcow2", "-b", "base.raw", "-F", "raw")


def data_file(images: Images) -> Path:
    return images.create("external.qcow2", "qcow2", "-o", "data_file=external.raw,data_file_raw=on")


def flat_vmdk(images: Images) -> Path:
    return images.create("flat.vmdk", "vmdk", "-o", "subformat=monolithicFlat")


def qed(images: Images) -> Path:
    return images.create("a.qed", "qed")


@pytest.mark.parametrize(
    ("build", "claimed", "reason"),
    [
        (backing, "qcow2", "backing_file"),
        (data_file, "qcow2", "data_file"),
        (flat_vmdk, "vmdk", "descriptor"),
        (qed, "qed", "banned"),
    ],
)
async def test_unsafe_images_are_rejected(
    images: Images, build: Callable[[Images], Path], claimed: str, reason: str
) -> None:
    inspection = await inspect(build(images), chunk=4096, coalesce=4096)
    assert inspection.detected_format == claimed
    with pytest.raises(UnsupportedMediaType, match=reason) as caught:
        inspection.verdict(claimed)
    assert reason in caught.value.details["failures"]


async def test_iso_gpt_hybrid_counts_as_iso(images: Images) -> None:
    inspection = await inspect(iso_gpt_hybrid(images))
    assert inspection.formats == ["gpt", "iso"]
    assert inspection.detected_format == "iso"
    assert inspection.verdict("iso") == 1024 * 2048


async def test_inspectors_stop_after_the_headers(images: Images) -> None:
    """Cost stays small: past the header region no inspector reads the chunks any more."""
    inspection = FormatInspection()
    async for chunk in file_chunks(random_raw(images), 64 * 1024):
        inspection(chunk)
    assert inspection.active_inspectors == 0
    full = images.root / "full.qcow2"
    images.run("convert", "-f", "raw", "-O", "qcow2", str(random_raw(images)), str(full))
    qcow = FormatInspection()
    async for chunk in file_chunks(full, 64 * 1024):
        qcow(chunk)
    assert qcow.active_inspectors == 0
    assert qcow.verdict("qcow2") == random_raw(images).stat().st_size
