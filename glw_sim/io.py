"""Atomic file writes and owned temporary folders: a crash never leaves a half-written result.

Files are written to a temporary name in the same folder and renamed into place (``os.replace``), with the
permissions an ordinary new file gets under the user's umask (``mkstemp`` alone would leave them 0600).
Temporary folders carry their owner in their name (``.<kind>-<pid>-<start token>-<random>``): a later
process removes those whose owner is no longer alive (:func:`remove_stale`), so a run killed with SIGKILL
leaves nothing behind for long.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

try:
    import psutil
except ImportError:  # pragma: no cover
    psutil = None


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _file_mode() -> int:
    return 0o666 & ~_umask()


def folder_mode() -> int:
    return 0o777 & ~_umask()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _file_mode())
        os.replace(tmp, path)
    except BaseException as exc:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(exc, OSError) and exc.filename is None:
            exc.filename = str(path)  # (a failed write() names no file) so the message can say which
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


# ----------------------------------------------------------------------------- owned temporary folders

def start_token(pid: int) -> str | None:
    """When process ``pid`` started (a token that tells a live owner from a later process given the same pid),
    or None if there is no such process (or only its zombie)."""
    if psutil is None:  # pragma: no cover (psutil comes with dask.distributed)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass
        return "0"
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return None
        return f"{int(proc.create_time() * 100):x}"
    except psutil.NoSuchProcess:  # (and ZombieProcess)
        return None
    except psutil.AccessDenied:
        return "0"


def host_token() -> str:
    """This machine, as 8 hex digits (results folders may be shared between machines)."""
    import hashlib
    import socket

    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]


#: a folder another machine owns is judged by its age alone: stale after this many seconds (two days)
FOREIGN_STALE_AFTER = 2 * 24 * 3600


def owner_prefix(kind: str) -> str:
    """The name prefix of a temporary folder this process owns: ``.<kind>-<pid>-<start token>-<host>-``."""
    pid = os.getpid()
    return f".{kind}-{pid}-{start_token(pid)}-{host_token()}-"


def make_owned_dir(parent: Path, kind: str) -> Path:
    """A new hidden folder in ``parent`` named after this process, with the umask's usual permissions."""
    tmp = Path(tempfile.mkdtemp(dir=parent, prefix=owner_prefix(kind)))
    os.chmod(tmp, folder_mode())
    return tmp


def _owner_alive(path: Path, kind: str) -> bool:
    parts = path.name[len(kind) + 2:].split("-")
    try:
        pid = int(parts[0])
    except (ValueError, IndexError):
        return False  # no owner recorded (a partial folder from before owners were): nobody's to keep
    if len(parts) >= 4 and parts[2] != host_token():  # another machine's: its processes are not visible here
        try:
            return time.time() - path.stat().st_mtime < FOREIGN_STALE_AFTER
        except OSError:
            return False
    token = start_token(pid)
    if token is None:
        return False
    return token == "0" or len(parts) < 2 or parts[1] == token


def remove_stale(parent: Path, kind: str) -> list[Path]:
    """Remove the ``.<kind>-*`` folders in ``parent`` whose owning process is dead; returns what was removed."""
    removed = []
    try:
        entries = list(Path(parent).glob(f".{kind}-*"))
    except OSError:
        return removed
    for p in entries:
        if p.is_dir() and not p.is_symlink() and not _owner_alive(p, kind):
            shutil.rmtree(p, ignore_errors=True)
            removed.append(p)
    return removed
