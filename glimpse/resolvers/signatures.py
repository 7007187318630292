"""Image signature verification: Glance's ``img_signature*`` properties.

An image that carries ``img_signature`` (base64), ``img_signature_hash_method`` (``SHA-224``,
``SHA-256``, ``SHA-384``, ``SHA-512``), ``img_signature_key_type`` (``RSA-PSS``, ``DSA`` or an
``ECC_*`` curve) and ``img_signature_certificate_uuid`` has its data checked while it is
uploaded or imported: the bytes are hashed as they stream (an observer of the hashing
stream), and once the last byte arrived the signature is verified over that digest with the
public key of the named certificate - the same scheme as Glance's cursive library (RSA-PSS
with MGF1 and the maximal salt length, ECDSA, DSA). A bad signature refuses the data: the
upload fails with a 400 and the image stays ``queued`` without it.

Certificates come from a directory of PEM files named ``<certificate uuid>.pem``
(``signatures.certificate_dir``); one outside its validity period is refused. Glance checks
only when all four properties are present; we refuse a partial set instead of storing data
its owner meant to have verified without verifying it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from sqlmodel import col, select

from glimpse.core.errors import InvalidInput
from glimpse.models.tables import ImageProperty
from glimpse.resolvers.deps import Deps

SIGNATURE, HASH_METHOD, KEY_TYPE, CERT_UUID = (
    "img_signature",
    "img_signature_hash_method",
    "img_signature_key_type",
    "img_signature_certificate_uuid",
)
PROPERTIES: Final = (SIGNATURE, HASH_METHOD, KEY_TYPE, CERT_UUID)
HASH_METHODS: Final[dict[str, tuple[str, type[hashes.HashAlgorithm]]]] = {
    "SHA-224": ("sha224", hashes.SHA224),
    "SHA-256": ("sha256", hashes.SHA256),
    "SHA-384": ("sha384", hashes.SHA384),
    "SHA-512": ("sha512", hashes.SHA512),
}
# cursive also names the binary curves SECT409/571 (K1, R1); current cryptography releases no
# longer implement them, so images signed that way are refused as unsupported.
CURVES: Final[dict[str, type[ec.EllipticCurve]]] = {
    "ECC_SECP384R1": ec.SECP384R1,
    "ECC_SECP521R1": ec.SECP521R1,
}
KEY_TYPES: Final = ("RSA-PSS", "DSA", *CURVES)
MAX_SIGNATURE_BYTES: Final = 64 * 1024


class SignatureCheck:
    """Hashes what streams past (call it with each block), then :meth:`verify`."""

    def __init__(self, signature: bytes, hash_method: str, key_type: str, key: Any) -> None:
        self.signature, self.key_type, self.key = signature, key_type, key
        name, self._algorithm = HASH_METHODS[hash_method]
        self._hasher = hashlib.new(name)

    def __call__(self, block: bytes) -> None:
        self._hasher.update(block)

    def verify(self) -> None:
        """Raise :class:`InvalidInput` unless the signature matches the data seen."""
        algorithm = self._algorithm()
        digest, pre = self._hasher.digest(), Prehashed(algorithm)
        try:
            if self.key_type == "RSA-PSS":
                pss = padding.PSS(mgf=padding.MGF1(algorithm), salt_length=padding.PSS.MAX_LENGTH)
                self.key.verify(self.signature, digest, pss, pre)
            elif self.key_type == "DSA":
                self.key.verify(self.signature, digest, pre)
            else:
                self.key.verify(self.signature, digest, ec.ECDSA(pre))
        except InvalidSignature as exc:
            raise InvalidInput("Signature verification failed: the data does not match") from exc


@dataclass(frozen=True)
class SignatureProps:
    signature: str
    hash_method: str
    key_type: str
    certificate_uuid: str


def parse(props: dict[str, str]) -> SignatureProps | None:
    """The signature properties of an image, ``None`` when it has none of them."""
    present = [p for p in PROPERTIES if props.get(p)]
    if not present:
        return None
    missing = [p for p in PROPERTIES if not props.get(p)]
    if missing:
        raise InvalidInput(f"Image signature verification needs {', '.join(missing)} as well")
    found = SignatureProps(*(props[p] for p in PROPERTIES))
    if found.hash_method not in HASH_METHODS:
        raise InvalidInput(f"Unsupported {HASH_METHOD} {found.hash_method!r}")
    if found.key_type not in KEY_TYPES:
        raise InvalidInput(f"Unsupported {KEY_TYPE} {found.key_type!r}")
    return found


def build(
    found: SignatureProps, certificate_dir: str, now: datetime | None = None
) -> SignatureCheck:
    """A check for ``found``: decodes the signature and loads the certificate's key."""
    try:
        signature = base64.b64decode(found.signature, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidInput(f"{SIGNATURE} is not valid base64") from exc
    if not signature or len(signature) > MAX_SIGNATURE_BYTES:
        raise InvalidInput(f"{SIGNATURE} has an impossible length")
    key = _public_key(certificate_dir, found.certificate_uuid, now or datetime.now(UTC))
    _check_key_type(found.key_type, key)
    return SignatureCheck(signature, found.hash_method, found.key_type, key)


def _public_key(certificate_dir: str, cert_uuid: str, now: datetime) -> Any:
    if not certificate_dir:
        raise InvalidInput("Image signatures cannot be verified: no certificate store is set")
    try:
        name = str(uuid.UUID(cert_uuid))  # also keeps the name inside the directory
    except ValueError as exc:
        raise InvalidInput(f"{CERT_UUID} must be a UUID") from exc
    path = Path(certificate_dir) / f"{name}.pem"
    try:
        cert = x509.load_pem_x509_certificate(path.read_bytes())
    except FileNotFoundError as exc:
        raise InvalidInput(f"Certificate {name} is not known") from exc
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"Certificate {name} cannot be read") from exc
    if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
        raise InvalidInput(f"Certificate {name} is not valid at this time")
    return cert.public_key()


def _check_key_type(key_type: str, key: Any) -> None:
    if key_type == "RSA-PSS":
        ok = isinstance(key, rsa.RSAPublicKey)
    elif key_type == "DSA":
        ok = isinstance(key, dsa.DSAPublicKey)
    else:
        ok = isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, CURVES[key_type])
    if not ok:
        raise InvalidInput(f"The certificate's key is not of type {key_type}")


async def check_for(deps: Deps, image_id: str) -> SignatureCheck | None:
    """The signature check an upload or import of ``image_id`` must pass (``None``: the
    image is not signed)."""
    async with deps.db.read() as s:
        rows = await s.exec(
            select(ImageProperty.name, ImageProperty.value).where(
                ImageProperty.image_id == image_id, col(ImageProperty.name).in_(PROPERTIES)
            )
        )
        props = {str(name): str(value) for name, value in rows}
    found = parse(props)
    return None if found is None else build(found, deps.settings.signatures.certificate_dir)
