"""Signed images (img_signature*): verified on upload and import against PEM certificates; a
bad signature refuses the data and leaves the image queued, without a stored blob."""

from __future__ import annotations

import asyncio
import base64
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, padding, rsa
from cryptography.x509.oid import NameOID

from glimpse.core.config import Settings, SignatureSettings
from glimpse.core.errors import InvalidInput
from glimpse.resolvers import signatures
from tests.conftest import make_settings
from tests.rest.conftest import Api

DATA = b"signed image bytes " * 5000
HASHES = {"SHA-256": hashes.SHA256(), "SHA-384": hashes.SHA384(), "SHA-512": hashes.SHA512()}


@dataclass
class Signer:
    key: Any
    key_type: str
    cert_uuid: str

    def sign(self, data: bytes, hash_method: str = "SHA-256") -> str:
        algorithm = HASHES[hash_method]
        if self.key_type == "RSA-PSS":
            pss = padding.PSS(mgf=padding.MGF1(algorithm), salt_length=padding.PSS.MAX_LENGTH)
            raw = self.key.sign(data, pss, algorithm)
        elif self.key_type == "DSA":
            raw = self.key.sign(data, algorithm)
        else:
            raw = self.key.sign(data, ec.ECDSA(algorithm))
        return base64.b64encode(raw).decode()


def _certificate(key: Any, cert_dir: Path, *, valid_days: int = 30, start_days: int = -1) -> str:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "image signer")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + timedelta(days=start_days))
        .not_valid_after(now + timedelta(days=start_days + valid_days))
        .sign(key, hashes.SHA256())
    )
    cert_uuid = str(uuid.uuid4())
    (cert_dir / f"{cert_uuid}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert_uuid


@pytest.fixture(scope="module")
def cert_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("certs")


@pytest.fixture(scope="module")
def signers(cert_dir: Path) -> dict[str, Signer]:
    keys = {
        "RSA-PSS": rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "ECC_SECP384R1": ec.generate_private_key(ec.SECP384R1()),
        "DSA": dsa.generate_private_key(key_size=2048),
    }
    out = {kt: Signer(k, kt, _certificate(k, cert_dir)) for kt, k in keys.items()}
    expired = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    out["expired"] = Signer(expired, "RSA-PSS", _certificate(expired, cert_dir, start_days=-60))
    return out


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


@pytest.fixture
def settings(tmp_path: Path, database_url: str, cert_dir: Path) -> Settings:
    return make_settings(
        tmp_path / "data",
        database_url,
        signatures=SignatureSettings(certificate_dir=str(cert_dir)),
    )


def props(signer: Signer, signature: str, hash_method: str = "SHA-256") -> dict[str, str]:
    return {
        "img_signature": signature,
        "img_signature_hash_method": hash_method,
        "img_signature_key_type": signer.key_type,
        "img_signature_certificate_uuid": signer.cert_uuid,
    }


async def _signed_image(api: Api, **properties: str) -> str:
    body = {"name": "signed", "disk_format": "raw", "container_format": "bare", **properties}
    image_id: str = (await api.create(**body))["id"]
    return image_id


def _blobs(settings: Settings) -> list[Path]:
    root = settings.data_dir / "images"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.mark.parametrize(
    ("key_type", "hash_method"),
    [
        ("RSA-PSS", "SHA-256"),
        ("ECC_SECP384R1", "SHA-384"),
        ("DSA", "SHA-256"),
        ("RSA-PSS", "SHA-512"),
    ],
)
async def test_good_signature_is_accepted(
    api: Api, signers: dict[str, Signer], key_type: str, hash_method: str
) -> None:
    signer = signers[key_type]
    image_id = await _signed_image(
        api, **props(signer, signer.sign(DATA, hash_method), hash_method)
    )
    assert (await api.upload(image_id, DATA)).status_code == 204
    assert (await api.get(f"/v2/images/{image_id}")).json()["status"] == "active"


@pytest.mark.parametrize(
    ("case", "fragment"),
    [
        ("other data", "verification failed"),
        ("expired certificate", "not valid at this time"),
        ("unknown certificate", "not known"),
        ("key type mismatch", "not of type"),
        ("bad base64", "base64"),
        ("partial", "needs"),
        ("bad hash method", "Unsupported"),
        ("path in uuid", "must be a UUID"),
    ],
)
async def test_refused_signature_loses_nothing(
    api: Api, settings: Settings, signers: dict[str, Signer], case: str, fragment: str
) -> None:
    rsa_signer = signers["RSA-PSS"]
    p = props(rsa_signer, rsa_signer.sign(DATA))
    if case == "other data":
        p["img_signature"] = rsa_signer.sign(DATA + b"!")
    elif case == "expired certificate":
        p = props(signers["expired"], signers["expired"].sign(DATA))
    elif case == "unknown certificate":
        p["img_signature_certificate_uuid"] = str(uuid.uuid4())
    elif case == "key type mismatch":
        p["img_signature_key_type"] = "DSA"
    elif case == "bad base64":
        p["img_signature"] = "not base64!"
    elif case == "partial":
        del p["img_signature_key_type"]
    elif case == "bad hash method":
        p["img_signature_hash_method"] = "MD5"
    elif case == "path in uuid":
        p["img_signature_certificate_uuid"] = "../../etc/passwd"
    image_id = await _signed_image(api, **p)
    r = await api.upload(image_id, DATA)
    assert r.status_code == 400, r.text
    assert fragment in r.text
    image = (await api.get(f"/v2/images/{image_id}")).json()
    assert (image["status"], image["checksum"], image["size"]) == ("queued", None, None)
    assert _blobs(settings) == []


async def _import_outcome(api: Api, image_id: str) -> dict[str, Any]:
    staged = await api.request(
        "PUT",
        f"/v2/images/{image_id}/stage",
        content=DATA,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert staged.status_code == 204, staged.text
    r = await api.request(
        "POST", f"/v2/images/{image_id}/import", json={"method": {"name": "glance-direct"}}
    )
    assert r.status_code == 202, r.text
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        tasks = (await api.get(f"/v2/images/{image_id}/tasks")).json()["tasks"]
        if tasks and tasks[0]["status"] in ("success", "failure"):
            image: dict[str, Any] = (await api.get(f"/v2/images/{image_id}")).json()
            return {"task": tasks[0], "image": image}
        await asyncio.sleep(0.05)
    raise AssertionError("the import did not finish in 30 s")


async def test_import_checks_the_signature(api: Api, signers: dict[str, Signer]) -> None:
    signer = signers["ECC_SECP384R1"]
    good = await _signed_image(api, **props(signer, signer.sign(DATA, "SHA-384"), "SHA-384"))
    done = await _import_outcome(api, good)
    assert (done["task"]["status"], done["image"]["status"]) == ("success", "active")

    bad = await _signed_image(api, **props(signer, signer.sign(b"other", "SHA-384"), "SHA-384"))
    done = await _import_outcome(api, bad)
    assert done["task"]["status"] == "failure"
    assert "verification failed" in done["task"]["message"]
    assert (done["image"]["status"], done["image"]["checksum"]) == ("queued", None)


def test_without_a_certificate_store_signed_data_is_refused(signers: dict[str, Signer]) -> None:
    signer = signers["RSA-PSS"]
    found = signatures.parse(props(signer, signer.sign(DATA)))
    assert found is not None
    with pytest.raises(InvalidInput, match="no certificate store"):
        signatures.build(found, "")
