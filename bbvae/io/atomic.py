"""Write files so that a reader never sees half of one: temporary file, then rename (or link, so as not to
replace a file that appeared meanwhile)."""

from __future__ import annotations

import errno
import os
import secrets
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(target: str | os.PathLike, replace: bool = True):
    """Yield a temporary path beside `target`; move it onto `target` only on success. Without `replace`, the
    move is a hard link, which fails (FileExistsError) if `target` exists by then, e.g. from another run.

    The temporary file is named before it is created, so that an interrupt (Ctrl-C), even one just after its
    creation, leaves no file behind (tempfile.mkstemp names it only once it exists)."""
    target = Path(target)
    tmp = None
    try:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            while tmp is None:
                tmp = str(target.parent / f".{target.name}.{secrets.token_hex(6)}.tmp")
                try:
                    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
                except FileExistsError:  # another writer's: not ours to remove
                    tmp = None
        except OSError as exc:  # name the file the user asked for, not our temporary one
            raise OSError(exc.errno, exc.strerror, str(target)) from None
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # a new file is 0600; a written file gets the usual permissions
        if replace:
            os.replace(tmp, target)
        else:
            _link_new(tmp, target)
    except BaseException:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _link_new(tmp: str, target: Path) -> None:
    try:
        os.link(tmp, target)
    except FileExistsError:
        raise FileExistsError(errno.EEXIST, "appeared while bbvae was writing it (use --force to overwrite)", str(target)) from None
    os.unlink(tmp)


def write_bytes_atomic(target: str | os.PathLike, data: bytes, replace: bool = True) -> None:
    with atomic_path(target, replace) as tmp:
        tmp.write_bytes(data)
