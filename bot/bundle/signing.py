"""Ed25519 signatures of bundle manifests, and the publisher keys pinned on a box (one set per tenant).

The publisher (a tenant's build machine) signs the exact bytes of ``manifest.json`` with its private
key; the signature travels in the archive as ``manifest.sig``. A box trusts a bundle only when the
signature verifies under a key pinned for the bundle's **own** tenant in
``<var>/trust/<tenant>/<key id>.pub``: a key of tenant A cannot vouch for tenant B. Several keys per
tenant may be pinned at once, which is how a key is rotated (docs/bundles.md).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from bot.bundle.errors import BundleError

SIGNATURE = "manifest.sig"
"""Second member of the archive: ``{"key_id", "signature"}`` over the bytes of ``manifest.json``."""
MAX_SIGNATURE_BYTES = 4096
_TENANT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
_KEY_ID_RE = re.compile(r"^[0-9a-f]{16}$")


@dataclass(frozen=True)
class Signature:
    """A parsed ``manifest.sig``."""

    key_id: str
    signature: bytes


def trust_dir(var_dir: Path) -> Path:
    """Pinned publisher keys: ``trust/<tenant>/<key id>.pub`` (owned by the box's operator)."""
    return var_dir / "trust"


def key_id(public: Ed25519PublicKey) -> str:
    """First 16 hex digits of the SHA-256 of the raw public key: names the key in manifests and files."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def _pem_public(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def generate_key(out_dir: Path, tenant: str) -> tuple[Path, Path]:
    """Write ``<tenant>.key`` (private, mode 0600) and ``<tenant>.pub`` into ``out_dir``."""
    _check_tenant(tenant)
    out_dir.mkdir(parents=True, exist_ok=True)
    private = Ed25519PrivateKey.generate()
    key_path, pub_path = out_dir / f"{tenant}.key", out_dir / f"{tenant}.pub"
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    pub_path.write_bytes(_pem_public(private.public_key()))
    return key_path, pub_path


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """A PEM Ed25519 private key, or a BundleError."""
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as err:
        raise BundleError(
            "无法读取签名私钥", f"cannot read signing key {path}", code="bundle_key_invalid"
        ) from err
    if not isinstance(key, Ed25519PrivateKey):
        raise BundleError("签名私钥不是 Ed25519", "signing key is not Ed25519", code="bundle_key_invalid")
    return key


def load_public_key(data: bytes, name: str) -> Ed25519PublicKey:
    """A PEM Ed25519 public key, or a BundleError naming ``name``."""
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as err:
        raise BundleError(
            "公钥无法读取", "cannot read public key", code="bundle_key_invalid", file=name
        ) from err
    if not isinstance(key, Ed25519PublicKey):
        raise BundleError(
            "公钥不是 Ed25519", "public key is not Ed25519", code="bundle_key_invalid", file=name
        )
    return key


def sign_manifest(manifest_bytes: bytes, private: Ed25519PrivateKey) -> bytes:
    """The ``manifest.sig`` bytes for ``manifest_bytes``."""
    sig = {
        "key_id": key_id(private.public_key()),
        "signature": base64.b64encode(private.sign(manifest_bytes)).decode(),
    }
    return (json.dumps(sig, sort_keys=True) + "\n").encode()


def parse_signature(data: bytes) -> Signature:
    """``manifest.sig`` parsed, or a BundleError (``bundle_bad_signature``)."""
    try:
        raw = json.loads(data.decode("utf-8"))
        kid, sig = raw["key_id"], base64.b64decode(raw["signature"], validate=True)
        if not isinstance(kid, str) or not _KEY_ID_RE.match(kid) or len(sig) != 64:
            raise ValueError("shape")
    except (UnicodeDecodeError, ValueError, KeyError, TypeError, binascii.Error) as err:
        raise _bad_signature("签名文件格式错误", "manifest.sig is malformed") from err
    return Signature(kid, sig)


def _bad_signature(zh: str, en: str) -> BundleError:
    return BundleError(zh, en, code="bundle_bad_signature", file=SIGNATURE)


def _check_tenant(tenant: str) -> str:
    if not _TENANT_RE.match(tenant):
        raise BundleError(
            f"厂商编号不合法：{tenant!r}", f"invalid tenant id {tenant!r}", code="bundle_bad_tenant"
        )
    return tenant


def pinned_keys(var_dir: Path, tenant: str) -> dict[str, Ed25519PublicKey]:
    """The publisher keys pinned for ``tenant`` on this box, by key id."""
    folder = trust_dir(var_dir) / _check_tenant(tenant)
    keys: dict[str, Ed25519PublicKey] = {}
    for path in sorted(folder.glob("*.pub")) if folder.is_dir() else []:
        key = load_public_key(path.read_bytes(), str(path))
        keys[key_id(key)] = key
    return keys


def pin_key(var_dir: Path, tenant: str, public_pem: bytes) -> str:
    """Trust ``public_pem`` for ``tenant`` on this box; returns its key id (idempotent)."""
    key = load_public_key(public_pem, "public key")
    kid = key_id(key)
    folder = trust_dir(var_dir) / _check_tenant(tenant)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{kid}.pub").write_bytes(_pem_public(key))
    return kid


def unpin_key(var_dir: Path, tenant: str, kid: str) -> bool:
    """Stop trusting key ``kid`` for ``tenant`` (after a rotation); False when it was not pinned."""
    if not _KEY_ID_RE.match(kid):
        return False
    path = trust_dir(var_dir) / _check_tenant(tenant) / f"{kid}.pub"
    if not path.exists():
        return False
    path.unlink()
    return True


def verify_signature(
    var_dir: Path, tenant: str, manifest_bytes: bytes, sig_bytes: bytes | None, *, demo: bool
) -> str | None:
    """The key id that signed ``manifest_bytes`` for ``tenant``; None for an unsigned bundle in demo mode.

    Refuses: no signature outside demo mode; a key not pinned for this tenant (another tenant's key
    included); a signature that does not verify. A present signature is checked in demo mode too.
    """
    if sig_bytes is None:
        if demo:
            return None
        raise BundleError(
            "包没有签名（仅演示模式可安装未签名的包）",
            "bundle is unsigned (unsigned bundles install only in demo mode)",
            code="bundle_unsigned",
            file=SIGNATURE,
        )
    sig = parse_signature(sig_bytes)
    key = pinned_keys(var_dir, tenant).get(sig.key_id)
    if key is None:
        raise BundleError(
            f"签名密钥未被本机信任为厂商 {tenant} 的发布密钥",
            f"key {sig.key_id} is not pinned for tenant {tenant!r} on this box (`bot bundle trust`)",
            code="bundle_untrusted_key",
            file=SIGNATURE,
        )
    try:
        key.verify(sig.signature, manifest_bytes)
    except InvalidSignature as err:
        raise _bad_signature("签名无效：清单被改动或签名伪造", "signature does not verify") from err
    return sig.key_id
