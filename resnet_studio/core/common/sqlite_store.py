"""One SQLite store file that degrades instead of dying: what the run store and the experiments
kept in the same file share (`training.store.RunStore`, `experiments.store.ExperimentStore`).

- Writing impossible (a read-only file or folder, a read-only file system, a full disk): the
  store opens read-only (sqlite's `mode=ro`; `immutable=1` unless a -wal file holds commits,
  so that no -wal/-shm file is made) and `read_only` says why; every write then fails with one
  StoreReadOnly message. Tables the file lacks are empty TEMP tables there. Opening writes
  nothing unless something has to be made: a new file, missing tables, the switch to WAL.
- Damaged (not a SQLite file, "database disk image is malformed") or foreign (a SQLite file with
  none of our tables, or our table names without our columns): the file and its
  -wal/-shm/-journal are renamed to `<name>.damaged-<UTC time>` and a new store is started, only
  once that rename has worked (it fails: nothing is touched, StoreDamaged). `moved_aside` says
  so, naming the backup. Found while opening, the store goes on fresh; found later by a query,
  that query raises StoreDamaged with the same words. A store written by a newer version of the
  app (a higher `user_version`) is refused, never moved.
- Locked by another process: sqlite waits up to `wait_s`, then StoreBusy.
- Anything else sqlite raises (a write to a full disk, an I/O error, a folder where the file
  should be) is a StoreError naming the file and what to do.
Every StoreError is an OSError: the front-ends print it as one line, exit code 2.

Threads: one connection behind an RLock; rows are fetched under it (`rows`, `row`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

# What sqlite's own files next to the store are called; they move aside with it.
SIDE_FILES = ("-wal", "-shm", "-journal")
WAIT_ENV = "RESNET_STUDIO_STORE_WAIT_S"
# Less free space than this, and sqlite's "disk I/O error" is a full disk (it says so only when
# the file itself cannot grow; making the -shm index fails as an I/O error).
FULL_BELOW_BYTES = 1 << 20


class StoreError(OSError):
    """A store that cannot be used as asked; the message names the file and what to do."""

    def __init__(self, message: str, path: str | Path):
        super().__init__(message)
        self.path = Path(path)


class StoreReadOnly(StoreError):
    """A write to a store opened read-only (nothing was changed)."""


class StoreBusy(StoreError):
    """Another process kept the store locked for longer than the wait."""


class StoreDamaged(StoreError):
    """A damaged or foreign store: moved aside (the message names the backup), or not movable."""


class _Damage(Exception):
    """Found while opening: the file is not a store of ours (`detail` says why)."""

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


def wait_seconds(default: float) -> float:
    """How long to wait for a store another process holds locked: $RESNET_STUDIO_STORE_WAIT_S
    if set (tests, slow network shares), else `default`."""
    try:
        return max(0.0, float(os.environ[WAIT_ENV]))
    except (KeyError, ValueError):
        return default


class Tables:
    """One part of a store's schema: its DDL (CREATE ... IF NOT EXISTS statements) and, worked
    out from it, the statement that makes each table or index and each table's columns."""

    def __init__(self, ddl: str):
        self.ddl = ddl
        self.statements: dict[str, str] = {}  # table or index name -> its CREATE statement
        self.columns: dict[str, frozenset[str]] = {}  # table -> its columns
        scratch = sqlite3.connect(":memory:")
        try:
            for statement in (s.strip() for s in ddl.split(";")):
                if not statement:
                    continue
                before = _names(scratch)
                scratch.execute(statement)
                for name in _names(scratch) - before:
                    self.statements[name] = statement
            for name, in scratch.execute("SELECT name FROM sqlite_master WHERE type='table'"):
                self.columns[name] = _columns(scratch, name)
        finally:
            scratch.close()


def _names(db: sqlite3.Connection) -> set[str]:
    return {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE name NOT LIKE "
                                     "'sqlite!_%' ESCAPE '!'")}


def _columns(db: sqlite3.Connection, table: str) -> frozenset[str]:
    return frozenset(r[1] for r in db.execute(f'PRAGMA table_info("{table}")'))


def _kind(e: sqlite3.Error) -> str:
    """busy, readonly, damaged, full, cantopen, io or other (by sqlite's error name where
    Python gives it, 3.11+, else by its message)."""
    name = getattr(e, "sqlite_errorname", "") or ""
    text = str(e).lower()
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "is locked" in text:
        return "busy"
    if name.startswith("SQLITE_READONLY") or "readonly database" in text:
        return "readonly"
    if name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")) or "malformed" in text \
            or "not a database" in text:
        return "damaged"
    if name.startswith("SQLITE_FULL") or "disk is full" in text:
        return "full"
    if name.startswith("SQLITE_CANTOPEN") or "unable to open" in text:
        return "cantopen"
    if name.startswith("SQLITE_IOERR") or "disk i/o error" in text:
        return "io"
    return "other"


def _disk_full(folder: Path) -> bool:
    try:
        return shutil.disk_usage(folder).free < FULL_BELOW_BYTES
    except OSError:
        return False


def _why_read_only(path: Path) -> str:
    """Why `path` cannot be written as a SQLite store ('' if it can); makes its folder."""
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        return f"cannot make its folder {folder} ({e.strerror or e})"
    if hasattr(os, "statvfs") and os.statvfs(folder).f_flag & os.ST_RDONLY:
        return f"{folder} is on a read-only file system"
    if _disk_full(folder):
        return f"the disk holding {folder} is full"
    if path.exists() and not os.access(path, os.W_OK):
        return f"{path} is not writable"
    if not os.access(folder, os.W_OK):
        return f"its folder {folder} is not writable"
    return ""


class StoreConnection:
    """The connection to one store file, opened as the module doc says.

    `parts[0]` is the store's own schema: a file with tables but none of these is foreign.
    Later parts (`add_tables`) share the file: checked, and made where missing.
    """

    def __init__(self, path: str | Path, tables: Tables, *, version: int,
                 what: str = "run store", require_write: bool = False, wait_s: float = 5.0):
        self.path = Path(path)
        self.what = what
        self.version = version
        self.require_write = require_write
        self.wait_s = wait_s
        self.parts = [tables]
        self.read_only = ""  # why the store cannot be written ('' when it can)
        self.moved_aside = ""  # the damaged file moved aside on opening, in words
        self._broken = ""  # a damaged file that could not be moved: every call says so
        self._lock = threading.RLock()
        self._db = self._open()

    # -- queries -----------------------------------------------------------------------------
    def rows(self, sql: str, params: Iterable = ()) -> list[sqlite3.Row]:
        return self._call(lambda db: db.execute(sql, tuple(params)).fetchall())

    def row(self, sql: str, params: Iterable = ()) -> sqlite3.Row | None:
        return self._call(lambda db: db.execute(sql, tuple(params)).fetchone())

    def execute(self, sql: str, params: Iterable = ()) -> sqlite3.Cursor:
        return self._call(lambda db: db.execute(sql, tuple(params)))

    def executemany(self, sql: str, rows: Iterable[tuple]) -> None:
        self._call(lambda db: db.executemany(sql, rows))

    @contextlib.contextmanager
    def transaction(self) -> Iterator[StoreConnection]:
        """One write transaction, taken at once (another process may be writing too)."""
        with self._lock:
            self.execute("BEGIN IMMEDIATE")
            try:
                yield self
                self.execute("COMMIT")
            except BaseException:
                # sqlite may have rolled back already (a full disk); a damaged file is closed
                with contextlib.suppress(sqlite3.Error):
                    if self._db.in_transaction:
                        self._db.execute("ROLLBACK")
                raise

    def add_tables(self, tables: Tables) -> None:
        """Another part of the schema in the same file: checked, made where missing (moved
        aside and started fresh if its tables are not ours)."""
        with self._lock:
            if tables in self.parts:
                return
            self.parts.append(tables)
            try:
                self._call(lambda db: self._check_part(db, tables, self._tables(db)))
            except _Damage as damage:
                self._db.close()
                try:
                    self._db = self._replace(damage.detail)
                except StoreError as e:
                    self._broken = str(e)
                    raise
                return
            if self.read_only:
                self._call(lambda db: self._add_temp_tables(db, tables))
            else:
                self._call(lambda db: self._make_missing(db, tables))

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _call(self, work):
        with self._lock:
            if self._broken:
                raise StoreDamaged(self._broken, self.path)
            try:
                return work(self._db)
            except sqlite3.Error as e:
                if _kind(e) == "damaged":
                    raise self._damaged_in_use(str(e)) from e
                raise self._error(e) from e

    def _error(self, e: sqlite3.Error) -> StoreError:
        """The StoreError a user reads for what sqlite raised."""
        kind, what, path = _kind(e), self.what, self.path
        if kind == "busy":
            return StoreBusy(f"the {what} is busy (locked by another process for more than "
                             f"{self.wait_s:g} s): {path}; try again", path)
        if kind == "readonly":
            return StoreReadOnly(f"the {what} is read-only: {self.read_only or e}; nothing was "
                                 "changed", path)
        if kind == "full" or (kind == "io" and _disk_full(path.parent)):
            return StoreError(f"the disk is full: could not write the {what} {path}; free some "
                              "space and try again", path)
        return StoreError(f"could not use the {what} {path}: {e}", path)

    # -- opening -----------------------------------------------------------------------------
    def _open(self) -> sqlite3.Connection:
        if self.path.is_dir():
            raise StoreError(f"the {self.what} {self.path} is a folder, not a file: move it "
                             "away and try again", self.path)
        try:
            return self._connect(_why_read_only(self.path))
        except _Damage as damage:
            return self._replace(damage.detail)

    def _connect(self, read_only: str) -> sqlite3.Connection:
        """A file is first looked at read-only (a read-write connection closed on a damaged
        file would delete its -wal): _Damage if it is not ours. Then, if it can be written,
        the connection that writes."""
        if read_only and self.require_write:
            raise StoreReadOnly(f"the {self.what} is read-only: {read_only}; nothing can be "
                                "recorded", self.path)
        if self.path.exists():
            db = self._probe()
            if read_only:
                return self._read_only(db, read_only)
            db.close()
        elif read_only:  # nothing stored yet: an empty store in memory
            return self._read_only(sqlite3.connect(":memory:", check_same_thread=False,
                                                   isolation_level=None), read_only)
        db = None
        try:
            db = sqlite3.connect(str(self.path), timeout=self.wait_s, check_same_thread=False,
                                 isolation_level=None)
            db.row_factory = sqlite3.Row
            self._prepare(db)
        except sqlite3.Error as e:
            if db is not None:
                db.close()
            kind = _kind(e)
            if kind == "damaged":  # since the probe
                raise _Damage(str(e)) from e
            if kind in ("readonly", "cantopen"):  # os.access was wrong
                return self._connect(f"sqlite cannot write {self.path} ({e})")
            if kind in ("full", "io") and _disk_full(self.path.parent):
                return self._connect(f"the disk holding {self.path.parent} is full")
            raise self._error(e) from e
        except BaseException:
            if db is not None:
                db.close()
            raise
        self.read_only = ""
        return db

    def _probe(self) -> sqlite3.Connection:
        """The file read-only, checked: _Damage if it is damaged or foreign, StoreError if a
        newer version wrote it. Neither opening nor closing it deletes or changes a byte.

        Without a -wal there is no live WAL writer: read the file as immutable, which makes no
        -wal/-shm file. An immutable read takes no lock, though, and may meet a page another
        process is writing: only a read under sqlite's locks calls a file damaged."""
        wal = Path(f"{self.path}-wal").exists()
        try:
            return self._checked(lambda: self._connect_read_only(immutable=not wal))
        except _Damage:
            if wal:
                raise
        return self._checked(lambda: self._connect_read_only(immutable=False))

    def _checked(self, connect) -> sqlite3.Connection:
        db = None
        try:
            db = connect()
            db.row_factory = sqlite3.Row
            self._check(db, self._tables(db))
            return db
        except sqlite3.Error as e:
            if db is not None:
                db.close()
            if _kind(e) == "damaged":
                raise _Damage(str(e)) from e
            raise self._error(e) from e
        except BaseException:
            if db is not None:
                db.close()
            raise

    def _connect_read_only(self, *, immutable: bool) -> sqlite3.Connection:
        """mode=ro: reads through the -wal under sqlite's locks (a read-only connection never
        deletes the -wal; sqlite may make a -shm); where no -shm can be made (a read-only
        folder, a full disk), or `immutable`, the file as it is."""
        uri = self.path.resolve().as_uri() + "?mode=ro"
        if not immutable:
            db = sqlite3.connect(uri, uri=True, timeout=self.wait_s, check_same_thread=False,
                                 isolation_level=None)
            try:
                db.execute("PRAGMA schema_version")
                return db
            except sqlite3.Error as e:
                db.close()
                if _kind(e) not in ("cantopen", "io"):
                    raise
        return sqlite3.connect(uri + "&immutable=1", uri=True, check_same_thread=False,
                               isolation_level=None)

    def _read_only(self, db: sqlite3.Connection, reason: str) -> sqlite3.Connection:
        """A read-only connection as the store's: the tables the file lacks as empty TEMP
        tables, then no write at all (`query_only`)."""
        try:
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA temp_store=MEMORY")
            for part in self.parts:
                self._add_temp_tables(db, part)
        except sqlite3.Error as e:
            db.close()
            raise self._error(e) from e
        self.read_only = reason
        return db

    @staticmethod
    def _tables(db: sqlite3.Connection) -> set[str]:
        return {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table' "
                                         "AND name NOT LIKE 'sqlite!_%' ESCAPE '!'")}

    def _check(self, db: sqlite3.Connection, tables: set[str]) -> None:
        """_Damage for a foreign file; StoreError for one of a newer version."""
        own = set(self.parts[0].columns)
        if tables and not tables & own:
            listed = ", ".join(sorted(tables)[:5]) + (", ..." if len(tables) > 5 else "")
            raise _Damage(f"a SQLite database of something else, with tables {listed}")
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if tables and version > self.version:
            raise StoreError(f"the {self.what} {self.path} was written by a newer ResNet Studio "
                             f"(store version {version}; this one knows {self.version}): "
                             "update ResNet Studio to open it", self.path)
        for part in self.parts:
            self._check_part(db, part, tables)

    @staticmethod
    def _check_part(db: sqlite3.Connection, part: Tables, tables: set[str]) -> None:
        for name in sorted(tables & set(part.columns)):
            missing = part.columns[name] - _columns(db, name)
            if missing:
                raise _Damage(f"its table {name} has no column {', '.join(sorted(missing))}: "
                              "not a table of ResNet Studio")

    def _prepare(self, db: sqlite3.Connection) -> None:
        """Writable: WAL (a reader never waits for a writer), and what is missing made."""
        db.execute("PRAGMA foreign_keys=ON")
        db.execute("PRAGMA synchronous=NORMAL")
        if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            db.execute("PRAGMA journal_mode=WAL")
        for part in self.parts:
            self._make_missing(db, part)
        if db.execute("PRAGMA user_version").fetchone()[0] < self.version:
            db.execute(f"PRAGMA user_version={self.version}")

    @staticmethod
    def _make_missing(db: sqlite3.Connection, part: Tables) -> None:
        if set(part.statements) - _names(db):
            db.executescript(part.ddl)  # IF NOT EXISTS: only what is missing

    def _add_temp_tables(self, db: sqlite3.Connection, part: Tables) -> None:
        """Read-only: the tables the file lacks as empty TEMP tables (the file stays as it is);
        then no write at all (`query_only`), not even to them."""
        db.execute("PRAGMA query_only=OFF")
        for name in sorted(set(part.columns) - self._tables(db)):
            db.execute(part.statements[name].replace("CREATE TABLE", "CREATE TEMP TABLE", 1))
        db.execute("PRAGMA query_only=ON")

    # -- a damaged file ----------------------------------------------------------------------
    def _replace(self, detail: str) -> sqlite3.Connection:
        """Move the damaged file aside, then start a new store in its place."""
        backup = self._move_aside(detail)
        self.moved_aside = (f"the {self.what} {self.path} was unreadable ({detail}); moved it "
                            f"to {backup} and started a new one")
        try:
            return self._connect(_why_read_only(self.path))
        except _Damage as again:  # the rename worked, yet the new file is damaged: give up
            raise StoreDamaged(f"the new {self.what} {self.path} is unreadable too "
                               f"({again.detail})", self.path) from again

    def _move_aside(self, detail: str) -> Path:
        stamp = time.strftime("%Y%m%d-%H%M%SZ", time.gmtime())
        backup = self.path.with_name(f"{self.path.name}.damaged-{stamp}")
        n = 1
        while any(Path(f"{backup}{side}").exists() for side in ("", *SIDE_FILES)):
            n += 1
            backup = self.path.with_name(f"{self.path.name}.damaged-{stamp}-{n}")
        try:
            os.rename(self.path, backup)
        except OSError as e:
            raise StoreDamaged(f"the {self.what} {self.path} is unreadable ({detail}) and could "
                               f"not be moved aside ({e.strerror or e}); move it away and try again",
                               self.path) from e
        for side in SIDE_FILES:  # sqlite must never pair the new store with the old -wal
            if os.path.lexists(f"{self.path}{side}"):
                try:
                    os.rename(f"{self.path}{side}", f"{backup}{side}")
                except OSError as e:
                    raise StoreDamaged(f"moved the unreadable {self.what} {self.path} to {backup} "
                                       f"but not its {side} file ({e.strerror or e}); move "
                                       f"{self.path}{side} away and try again", self.path) from e
        return backup

    def _damaged_in_use(self, detail: str) -> StoreDamaged:
        """A query found damage: move the file aside and go on with a new store (the query
        fails, saying where the old one went); if it cannot move, every later call fails."""
        self._db.close()
        try:
            self._db = self._replace(detail)
        except StoreError as e:
            self._broken = str(e)
            return StoreDamaged(str(e), self.path)
        return StoreDamaged(f"{self.moved_aside}; try again", self.path)


__all__ = ["StoreBusy", "StoreConnection", "StoreDamaged", "StoreError", "StoreReadOnly",
           "Tables", "wait_seconds"]
