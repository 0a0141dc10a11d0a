"""Study keys for the audit log: an identifier that tells studies apart but names no patient.

What is hashed (the ``method`` stored beside each key):

* ``"dicom-uid"`` — the StudyInstanceUID, for studies read from DICOM. The same study gives
  the same key on every reading, whatever the file names or the folder.
* ``"file-content"`` — for plain images (PNG/JPEG/TIFF), which carry no UID: the SHA-256 of
  each file's bytes, sorted and concatenated, then hashed again. Renaming or moving the files
  keeps the key; re-encoding them changes it.

Both are **keyed** (HMAC-SHA-256) with a random per-installation salt kept in the user data
folder (``audit.salt``, 32 bytes). A plain SHA-256 of a UID could be confirmed by anyone
holding a list of UIDs (UIDs are structured and partly guessable: an organisation root, a
date); the salt makes the audit database alone useless for that, while the same
installation can still find the rows of a study it has open (:func:`study_key` with the same
salt). Paths are never stored, hashed or not.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from wristviewer.paths import user_data_dir

SALT_FILE = "audit.salt"
SALT_BYTES = 32
METHOD_DICOM = "dicom-uid"
METHOD_CONTENT = "file-content"
_CHUNK = 1 << 20


@dataclass(frozen=True)
class StudyKey:
    """``key``: 64 hex digits; ``method``: :data:`METHOD_DICOM` or :data:`METHOD_CONTENT`."""

    key: str
    method: str


def load_salt(folder: Path | None = None) -> bytes:
    """The installation's salt, created (0600) on first use in ``folder`` (the user data folder).

    Raises OSError when the folder cannot be created or the file cannot be written.
    """
    folder = folder if folder is not None else user_data_dir()
    path = folder / SALT_FILE
    try:
        salt = path.read_bytes()
        if len(salt) == SALT_BYTES:
            return salt
    except FileNotFoundError:
        pass
    folder.mkdir(parents=True, exist_ok=True)
    salt = secrets.token_bytes(SALT_BYTES)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(salt)
        fh.flush()
        os.fsync(fh.fileno())
    return salt


def file_sha256(path: str | Path) -> str:
    """SHA-256 (hex) of a file's bytes, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def study_key(study_uid: str | None, files: Iterable[str | Path], salt: bytes) -> StudyKey:
    """The key of one study: HMAC-SHA-256 of its StudyInstanceUID when it has one, else of its
    files' contents (see the module docstring). ``files`` are read only in the second case."""
    if study_uid:
        message, method = f"uid:{study_uid.strip()}".encode("ascii", "replace"), METHOD_DICOM
    else:
        digests = sorted(file_sha256(p) for p in files)
        if not digests:
            raise ValueError("a study without a UID needs at least one file to be keyed")
        message, method = ("files:" + ",".join(digests)).encode("ascii"), METHOD_CONTENT
    return StudyKey(hmac.new(salt, message, hashlib.sha256).hexdigest(), method)


def key_for_study(study: object, salt: bytes) -> StudyKey:
    """:func:`study_key` for an :class:`~wristviewer.imaging.Study` (its views' UID / files)."""
    views = list(getattr(study, "views", []))
    uids = {v.study_uid for v in views if getattr(v, "study_uid", None)}
    uid = next(iter(uids)) if len(uids) == 1 else None
    return study_key(uid, [v.path for v in views], salt)
