"""The working directory (/home/user, also /mnt/data): the files a request brings, and the files
the run created or changed, read back without ever following a link.

Everything here runs inside the sandbox, as the run's own uid, after the program: it can read
only what the program itself could. Paths are resolved one component at a time with O_NOFOLLOW
under a directory fd, so a symlink (to /etc/passwd, /proc/1/environ, anywhere) is never
followed, and only regular files are read (a FIFO would block, a device could be endless).
"""
import importlib
import os
import stat

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def _open_parent(root_fd, parts, create):
    """A new fd of the directory holding parts[-1], under root_fd; links are never followed."""
    fd = os.dup(root_fd)
    try:
        for part in parts[:-1]:
            if create:
                try:
                    os.mkdir(part, 0o755, dir_fd=fd)
                except FileExistsError:
                    pass
            next_fd = os.open(part, _DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = next_fd
        return fd
    except BaseException:
        os.close(fd)
        raise


def write_inputs(files, data, root=".", replace=False):
    """Writes the request's files ([{"path", "size"}], their bytes one after another in `data`).
    Paths were checked by the parent (relative, no '..', no empty parts). `replace`: a file that
    exists is overwritten (a session's later run), else it is an error."""
    view = memoryview(data)
    root_fd = os.open(root, _DIR_FLAGS)
    try:
        offset = 0
        for item in files:
            size = int(item["size"])
            parts = item["path"].split("/")
            dir_fd = _open_parent(root_fd, parts, create=True)
            try:
                flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
                flags |= os.O_TRUNC if replace else os.O_EXCL
                fd = os.open(parts[-1], flags, 0o644, dir_fd=dir_fd)
            finally:
                os.close(dir_fd)
            try:
                chunk = view[offset:offset + size]
                while chunk:
                    chunk = chunk[os.write(fd, chunk):]
            finally:
                os.close(fd)
            offset += size
    finally:
        os.close(root_fd)
    # The given modules must be importable (the working directory is on sys.path): the import
    # system may have looked there before they existed, or before the directory did, and kept
    # what it found.
    importlib.invalidate_caches()


def _walk(root_fd, prefix, out, limit):
    """(relative path, stat) of every regular file under root_fd, links not followed; stops
    once `limit` entries are found (the caller sees the listing is incomplete)."""
    try:
        entries = list(os.scandir(root_fd))
    except OSError:
        return
    for entry in entries:
        if len(out) >= limit:
            return
        name = entry.name
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        path = prefix + name
        if stat.S_ISREG(st.st_mode):
            out.append((path, st))
        elif stat.S_ISDIR(st.st_mode):
            try:
                fd = os.open(name, _DIR_FLAGS, dir_fd=root_fd)
            except OSError:
                continue
            try:
                _walk(fd, path + "/", out, limit)
            finally:
                os.close(fd)


# Files beyond this many are not even looked at: the walk must stay bounded (a program can
# make tens of thousands of files); the first `max_files` by path are taken from what was seen.
WALK_LIMIT = 20000


def snapshot(root="."):
    """What the working directory holds now: {path: (inode, size, mtime_ns)}."""
    root_fd = os.open(root, _DIR_FLAGS)
    try:
        found = []
        _walk(root_fd, "", found, WALK_LIMIT)
    finally:
        os.close(root_fd)
    return {path: (st.st_ino, st.st_size, st.st_mtime_ns) for path, st in found}


def _read(root_fd, path, size_cap):
    """The file's bytes if it is still a regular file of at most size_cap bytes, else None."""
    parts = path.split("/")
    dir_fd = _open_parent(root_fd, parts, create=False)
    try:
        fd = os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                     dir_fd=dir_fd)
    finally:
        os.close(dir_fd)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > size_cap:
            return None
        chunks, total = [], 0
        while total <= size_cap:
            chunk = os.read(fd, min(1 << 20, size_cap + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        return b"".join(chunks) if total <= size_cap else None
    finally:
        os.close(fd)


def _mime(path):
    import mimetypes
    mime, _ = mimetypes.guess_type(path, strict=False)
    return mime or "application/octet-stream"


def _clean(path):
    # A name that is not UTF-8 (surrogate-escaped by os.scandir) is reported with U+FFFD.
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def collect(before, max_files, max_file_inline, max_inline_total, root="."):
    """The files created or changed since `before` (a snapshot), sorted by path, as
    ([{"path", "size", "mime", "content" (base64) | None, "omitted"?}], truncated)."""
    import base64
    root_fd = os.open(root, _DIR_FLAGS)
    try:
        found = []
        _walk(root_fd, "", found, WALK_LIMIT)
        changed = sorted((path, st) for path, st in found
                         if before.get(path) != (st.st_ino, st.st_size, st.st_mtime_ns))
        truncated = len(changed) > max_files or len(found) >= WALK_LIMIT
        files, inline_total = [], 0
        for path, st in changed[:max_files]:
            item = {"path": _clean(path), "size": st.st_size, "mime": _mime(path), "content": None}
            if st.st_size > max_file_inline or inline_total + st.st_size > max_inline_total:
                item["omitted"] = "too large"
            else:
                try:
                    data = _read(root_fd, path, min(max_file_inline, max_inline_total - inline_total))
                except OSError:
                    data = None
                if data is None:
                    item["omitted"] = "unreadable"
                else:
                    item["size"] = len(data)
                    item["content"] = base64.b64encode(data).decode("ascii")
                    inline_total += len(data)
            files.append(item)
        return files, truncated
    finally:
        os.close(root_fd)
