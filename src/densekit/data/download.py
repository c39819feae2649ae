"""Downloads of named datasets: SHA-256 verified, resumable, placed atomically in the cache.

A file is fetched to NAME.part (resumed with an HTTP Range request when a previous attempt
was cut off), checked against its published SHA-256, and only then renamed to NAME. A file
whose checksum does not match is moved to a quarantine/ folder and never used.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from tqdm import tqdm

from densekit.errors import DensekitError

CHUNK = 1 << 16
TIMEOUT_S = 30


@dataclass(frozen=True)
class RemoteFile:
    name: str                    # the file's name in the dataset's folder
    url: str
    sha256: str
    size: Optional[int] = None   # bytes, for the progress bar and `densekit datasets`


def fetch_all(files: list[RemoteFile], folder: Path, quiet: bool = False) -> None:
    """Make sure every file is in `folder`, downloading the missing ones."""
    for remote in files:
        if not (folder / remote.name).exists():
            download(remote, folder, files, quiet)


def download(remote: RemoteFile, folder: Path, all_files: list[RemoteFile], quiet: bool) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f"{remote.name}.part"
    try:
        receive(remote, partial, quiet)
    except (urllib.error.URLError, OSError, http.client.HTTPException) as err:
        raise offline_error(remote, folder, all_files, err) from None
    digest = sha256_of(partial)
    if digest != remote.sha256:
        quarantined = quarantine(partial, folder, remote.name)
        raise DensekitError(
            f"The download of {remote.name} from {remote.url} does not match its published "
            f"checksum (SHA-256 {digest}, expected {remote.sha256}). It was moved to "
            f"{quarantined} and will not be used. Try again later, or place a verified copy in "
            f"{folder}.")
    final = folder / remote.name
    os.replace(partial, final)  # atomic: the cache never holds a half-written file by this name
    return final


def receive(remote: RemoteFile, partial: Path, quiet: bool) -> None:
    """Stream the file into `partial`, continuing where an interrupted attempt stopped."""
    have = partial.stat().st_size if partial.exists() else 0
    request = urllib.request.Request(remote.url, headers={"Range": f"bytes={have}-"} if have else {})
    with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
        if have and response.status != 206:
            have = 0  # the server ignored the range: start again
        expected = int(response.headers.get("Content-Length", -1))
        total = remote.size or (have + expected if expected >= 0 else None)
        received = 0
        with open(partial, "ab" if have else "wb") as out, progress_bar(remote.name, total, have, quiet) as bar:
            while chunk := response.read(CHUNK):
                out.write(chunk)
                received += len(chunk)
                bar.update(len(chunk))
            out.flush()
            os.fsync(out.fileno())
    if 0 <= received < expected:
        # read(n) returns b"" when the server hangs up early; only the count tells.
        raise ConnectionError(f"the connection closed after {received:,} of {expected:,} bytes")


def progress_bar(name: str, total: Optional[int], done: int, quiet: bool) -> tqdm:
    return tqdm(total=total, initial=done, unit="B", unit_scale=True, desc=name, leave=False,
                disable=quiet or not sys.stderr.isatty())


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def quarantine(partial: Path, folder: Path, name: str) -> Path:
    target = folder / "quarantine" / name
    target.parent.mkdir(exist_ok=True)
    os.replace(partial, target)
    return target


def offline_error(remote: RemoteFile, folder: Path, files: list[RemoteFile], err: Exception) -> DensekitError:
    listing = "; ".join(f"{f.name} (SHA-256 {f.sha256}) from {f.url}" for f in files)
    reason = getattr(err, "reason", None) or err
    return DensekitError(
        f"Could not download {remote.name} from {remote.url} ({reason}). If this machine is "
        f"offline, fetch the files elsewhere and put them in {folder}: {listing}. A partial "
        "download is kept and resumed next time.")
