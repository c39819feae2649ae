"""Downloads of named datasets: SHA-256 verified, resumable, placed atomically in the cache.

A file is fetched to NAME.part (resumed with an HTTP Range request when a previous attempt
was cut off), checked against its published SHA-256, and only then renamed to NAME. A file
whose checksum does not match is moved to a quarantine/ folder and never used.
Where a publisher gives only an MD5 (Kuzushiji-49) that is checked instead; where it gives no
checksum at all (the crash course's CSV files) the SHA-256 of the first download is written
next to the file and printed, so later copies can be compared with it.
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
from densekit.logs import library_log

CHUNK = 1 << 16
TIMEOUT_S = 30


@dataclass(frozen=True)
class RemoteFile:
    name: str                    # the file's name in the dataset's folder
    url: str
    sha256: Optional[str]        # None: the publisher gives none (see md5, or none at all)
    size: Optional[int] = None   # bytes, for the progress bar and `densekit datasets`
    md5: Optional[str] = None    # only when the publisher gives no SHA-256

    def checksum(self) -> str:
        if self.sha256:
            return f"SHA-256 {self.sha256}"
        return f"MD5 {self.md5}" if self.md5 else "no published checksum"


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
    verify(remote, partial, folder)
    final = folder / remote.name
    os.replace(partial, final)  # atomic: the cache never holds a half-written file by this name
    return final


def verify(remote: RemoteFile, partial: Path, folder: Path) -> None:
    algorithm, expected = ("sha256", remote.sha256) if remote.sha256 else ("md5", remote.md5)
    digest = digest_of(partial, algorithm if expected else "sha256")
    if not expected:
        record = folder / f"{remote.name}.sha256"
        record.write_text(f"{digest}  {remote.name}\n")
        library_log(f"note: {remote.url} publishes no checksum; the downloaded file's SHA-256 "
                    f"is {digest} (saved in {record}).")
        return
    if digest != expected:
        quarantined = quarantine(partial, folder, remote.name)
        raise DensekitError(
            f"The download of {remote.name} from {remote.url} does not match its published "
            f"checksum ({'SHA-256' if algorithm == 'sha256' else 'MD5'} {digest}, expected {expected}). "
            f"It was moved to {quarantined} and will not be used. Try again later, or place a "
            f"verified copy in {folder}.")


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


def digest_of(path: Path, algorithm: str) -> str:
    digest = hashlib.new(algorithm)
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
    listing = "; ".join(f"{f.name} ({f.checksum()}) from {f.url}" for f in files)
    reason = getattr(err, "reason", None) or err
    return DensekitError(
        f"Could not download {remote.name} from {remote.url} ({reason}). If this machine is "
        f"offline, fetch the files elsewhere and put them in {folder}: {listing}. A partial "
        "download is kept and resumed next time.")
