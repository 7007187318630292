"""Format inspection of an upload stream (oslo.utils ``format_inspector``).

A :class:`FormatInspection` is a :class:`~glimpse.stores.streaming.HashingStream`
observer. It feeds each chunk to the library's per-format inspectors and drops an
inspector as soon as the library says it has seen everything it needs (``complete``) or
that the data is not its format, so after the header region of an image almost no work
is done per chunk. (``InspectWrapper`` applies the same decision rules but keeps feeding
every inspector to the end of the stream; its cost was 0.36 s per GiB.) Only inspectors
that capture the end of the file (streamOptimized VMDK footer) keep eating until EOF.

After the stream, :meth:`FormatInspection.verdict` decides, whatever container and disk
format were declared (every upload, stage, import and copy is inspected):

1. Data matching several formats is refused (ISO+GPT hybrids count as ISO).
2. The safety checks of the detected format always run: a qcow2 with a backing or data
   file, a VMDK with external extents, a QED... is refused even when declared ``raw`` or
   packed as ``ovf``/``ova``, because whoever later probes the bytes (qemu-img, a
   hypervisor) would follow those references into the host.
3. For ``container_format=bare`` (and ``ami``/``aki``/``ari``, whose "container" is the
   disk itself) the detected format must be the declared ``disk_format``.
   Declaring ``raw`` is accepted for content that *is* a raw block device to its consumers:
   ISO 9660, a GPT/MBR partitioned disk and a LUKS volume (Glance accepts these too). A
   raw-declared qcow2/VMDK/VHD(X)/VDI/QED is refused - Glance only warns about it - because
   it makes a consumer that trusts ``raw`` expose the container's internals to the guest and
   a consumer that probes the format open it as something else. Declared formats the
   inspector does not know (ami, aki, ari, ploop) must not turn out to be a known one.
4. Other containers (ovf, ova, docker, compressed) wrap the disk in a package whose
   format cannot be compared with ``disk_format``: only the safety checks apply.
"""

from __future__ import annotations

from oslo_utils.imageutils import format_inspector as fi

from glimpse.core.errors import UnsupportedMediaType

#: Disk formats the inspector understands; other claimed formats (ami, aki, ari,
#: ploop, ...) are not inspected, as in Glance.
INSPECTABLE_FORMATS = frozenset(fi.ALL_FORMATS)
#: Detected formats a ``raw`` declaration may carry: to their consumers they are raw
#: block devices (an ISO, a partitioned disk, a LUKS volume), not containers.
RAW_LAYOUTS = frozenset({"iso", "gpt", "luks"})
#: Containers that are no package around the disk: the bytes are the disk itself.
UNWRAPPED_CONTAINERS = frozenset({"bare", "ami", "aki", "ari"})


class FormatInspection:
    """Watches the chunks of one upload; call :meth:`verdict` once the stream ended."""

    def __init__(self) -> None:
        self._live: list[fi.FileInspector] = [
            cls() for name, cls in fi.ALL_FORMATS.items() if name != "raw"
        ]
        self._matched: list[fi.FileInspector] = []
        self._size = 0
        self._finished = False

    def __call__(self, chunk: bytes) -> None:
        """Observe the next chunk of the stream."""
        self._size += len(chunk)
        if self._live:
            self._live = [i for i in self._live if self._feed(i, chunk)]

    def _feed(self, inspector: fi.FileInspector, chunk: bytes) -> bool:
        """Feed one inspector; True while it still wants data."""
        try:
            inspector.eat_chunk(chunk)
        except Exception:  # the library's way of saying "not my format"
            return False
        if not inspector.complete:
            return True
        if inspector.format_match:
            self._matched.append(inspector)
        return False

    def finish(self) -> None:
        """Mark end of stream (idempotent; the properties call it)."""
        if self._finished:
            return
        self._finished = True
        for inspector in self._live:
            inspector.finish()
            if inspector.complete and inspector.format_match:
                self._matched.append(inspector)
        self._live = []

    @property
    def active_inspectors(self) -> int:
        """How many inspectors still read each chunk (0 once the headers are understood)."""
        return len(self._live)

    @property
    def size(self) -> int:
        """Bytes observed."""
        return self._size

    @property
    def formats(self) -> list[str]:
        """Every specific format that matched (empty means raw)."""
        self.finish()
        return sorted(str(i) for i in self._matched)

    @property
    def detected_format(self) -> str:
        """The format of the data: ``raw`` when nothing specific matched, ``a+b`` if ambiguous."""
        names = self.formats
        if names == ["gpt", "iso"]:  # bootable hybrid ISOs carry a protective MBR
            return "iso"
        return "+".join(names) or "raw"

    def _inspector(self) -> fi.FileInspector | None:
        detected = self.detected_format
        return next((i for i in self._matched if str(i) == detected), None)

    @property
    def virtual_size(self) -> int | None:
        """Virtual disk size from the header; the byte count for raw; None if unknown."""
        inspector = self._inspector()
        if inspector is None:
            return self._size if self.detected_format == "raw" else None
        return inspector.virtual_size or None

    def verdict(self, disk_format: str | None, container_format: str | None = "bare") -> int | None:
        """Check the data against what was declared; return the virtual size to record.

        ``disk_format=None`` (staging before the formats are set) runs the safety checks
        only.

        Raises:
            UnsupportedMediaType: ambiguous data, a failed safety check, or (``bare``
                containers) data of another format than ``disk_format``.
        """
        detected = self.detected_format
        if "+" in detected:
            raise UnsupportedMediaType(
                f"image data matches several formats ({detected}): refusing it",
                detected_format=detected,
            )
        self._safety_check(detected)
        if disk_format is None or container_format not in UNWRAPPED_CONTAINERS:
            return None
        if detected == disk_format:
            return self.virtual_size
        if disk_format == "raw" and detected in RAW_LAYOUTS:
            return self._size
        if detected == "raw" and disk_format not in INSPECTABLE_FORMATS:
            return None
        raise UnsupportedMediaType(
            f"image data is {detected}, which does not match disk_format {disk_format}",
            detected_format=detected,
            disk_format=disk_format,
        )

    def _safety_check(self, detected: str) -> None:
        if detected == "raw":
            return  # nothing specific matched: no header, no references to follow
        inspector = self._inspector()
        if inspector is None:
            raise UnsupportedMediaType(f"could not inspect the {detected} image")
        try:
            inspector.safety_check()
        except fi.SafetyCheckFailed as exc:
            reasons = sorted(exc.failures)
            raise UnsupportedMediaType(
                f"{detected} image failed safety checks: {', '.join(reasons)}",
                failures=reasons,
                detected_format=detected,
            ) from None
        except fi.ImageFormatError as exc:
            raise UnsupportedMediaType(f"{detected} image is malformed: {exc}") from None
