"""qemu-img, run safely: explicit input format, CPU and memory limits, no shell.

qemu-img probes formats when ``-f`` is missing (a "raw" upload whose bytes are a qcow2
header would be opened as qcow2, backing file included), so the format is always given.
It runs under ``prlimit`` (CPU seconds, address space) when available, since even a
well-formed image can make it work hard.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

from glimpse.core.config import TaskSettings
from glimpse.core.errors import InvalidInput, ServiceUnavailable

RESIZABLE = ("raw", "qcow2")


def binary(settings: TaskSettings) -> str:
    """Path of qemu-img, or a clear 503 saying it is missing."""
    path = shutil.which(settings.qemu_img)
    if path is None:
        raise ServiceUnavailable(
            f"qemu-img ({settings.qemu_img}) is not installed on this server; resizing needs "
            "it (Debian/Ubuntu: apt-get install qemu-utils)"
        )
    return path


def _limited(settings: TaskSettings, argv: list[str]) -> list[str]:
    prlimit = shutil.which("prlimit")
    if prlimit is None:
        return argv
    return [
        prlimit,
        f"--cpu={settings.qemu_cpu_seconds}",
        f"--as={settings.qemu_memory_bytes}",
        "--",
        *argv,
    ]


async def _run(settings: TaskSettings, *args: str) -> str:
    argv = _limited(settings, [binary(settings), *args])
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await proc.communicate()
    if proc.returncode != 0:
        # stderr names server paths: logged (see resolvers.redact), never shown.
        raise InvalidInput(
            f"qemu-img {args[0]} failed (exit status {proc.returncode}): the image could not "
            "be processed",
            internal=err.decode(errors="replace").strip()[:4000],
        )
    return out.decode(errors="replace")


async def resize(settings: TaskSettings, path: Path, fmt: str, size: int, shrink: bool) -> None:
    """Resize the disk image at ``path`` (format ``fmt``) to ``size`` bytes in place."""
    if fmt not in RESIZABLE:
        raise InvalidInput(f"Only {', '.join(RESIZABLE)} images can be resized, not {fmt}")
    args = ["resize", "-f", fmt]
    if shrink:
        args.append("--shrink")
    await _run(settings, *args, str(path), str(size))


async def info(settings: TaskSettings, path: Path, fmt: str) -> dict[str, Any]:
    """``qemu-img info --output=json`` with an explicit format."""
    out = await _run(settings, "info", "-f", fmt, "--output=json", str(path))
    data: dict[str, Any] = json.loads(out)
    return data


# Disk format names as Glance writes them -> qemu-img's driver names.
QEMU_FORMATS = {
    "raw": "raw",
    "qcow2": "qcow2",
    "vmdk": "vmdk",
    "vhd": "vpc",
    "vhdx": "vhdx",
    "vdi": "vdi",
}
# Drivers that could follow a backing file: opened with it switched off.
_BACKED = frozenset({"qcow2", "vmdk"})


async def convert(settings: TaskSettings, src: Path, fmt: str, dst: Path, target: str) -> None:
    """Convert ``src`` (format ``fmt``) into a new ``dst`` of format ``target``.

    The input must already have passed format inspection (no backing or data file); the
    backing file is switched off once more so qemu-img can never read a host file."""
    driver, out = QEMU_FORMATS[fmt], QEMU_FORMATS[target]
    if driver in _BACKED:
        spec = {"driver": driver, "file": {"driver": "file", "filename": str(src)}}
        source = "json:" + json.dumps({**spec, "backing": None})
        await _run(settings, "convert", "-O", out, source, str(dst))
    else:
        await _run(settings, "convert", "-f", driver, "-O", out, str(src), str(dst))
