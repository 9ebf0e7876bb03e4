"""How fractale reaches a cluster's login node: here, or through the system ``ssh`` client.

A cluster's store entry says ``submit: {url: local}`` (the default) or
``submit: {url: ssh://user@host[:port], workdir: DIR, ssh_options: {Key: value}}``. A
``Transport`` runs a scheduler's command there from an argument list, copies a script there
and reads a file back. SSH goes through ``ssh``/``scp`` with the user's keys, agent and
``~/.ssh/config``, in batch mode (never a password prompt, and fractale stores none), and
shares one connection between the commands of a run (``ControlMaster``). On the remote side
each argument is quoted for the login shell; nothing else is ever a command line.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from fractale.errors import SubmitError

LOCAL = "local"
# Where a job's script is copied, under the working directory on the cluster.
SCRIPT_FOLDER = ".fractale-jobs"
_SSH_URL = re.compile(
    r"ssh://(?:(?P<user>[A-Za-z0-9._][A-Za-z0-9._-]*)@)?"
    r"(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9][A-Za-z0-9.-]*)(?::(?P<port>\d{1,5}))?/?"
)
_SSH_OPTION = re.compile(r"[A-Za-z][A-Za-z0-9]*")
# How long one command may take before fractale gives up on it, in seconds.
COMMAND_TIMEOUT = 120.0


@dataclass(frozen=True)
class Result:
    """A finished command: what ran, where, its exit status and its two streams."""

    argv: list[str]
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def message(self) -> str:
        """The command's own complaint on one line: its last words on stderr (or stdout)."""
        for text in (self.stderr, self.stdout):
            lines = [line.strip() for line in text.splitlines() if line.strip()]
            if lines:
                return lines[-1]
        return f"{self.argv[0]} exited {self.returncode}"


@dataclass(frozen=True)
class Target:
    """Where a cluster takes jobs: ``local`` or an SSH destination, and a working directory."""

    url: str = LOCAL
    workdir: str | None = None
    ssh_options: dict[str, str] = field(default_factory=dict)
    user: str | None = None
    host: str | None = None
    port: int | None = None

    @classmethod
    def parse(cls, url: str | None, workdir: str | None = None,
              ssh_options: Mapping[str, Any] | None = None) -> Target:
        """The target ``url`` names; SubmitError saying what is expected when it is not one."""
        text = (url or LOCAL).strip()
        options = {str(key): str(value) for key, value in (ssh_options or {}).items()}
        for key, value in options.items():
            if not _SSH_OPTION.fullmatch(key) or not value.strip() or "\n" in value:
                raise SubmitError(f"invalid ssh option {key}={value!r}",
                                  expected="an ssh_config keyword and a value, e.g. "
                                           "IdentityFile=~/.ssh/id_ed25519")
        if workdir is not None and (not str(workdir).strip() or "\n" in str(workdir)):
            raise SubmitError(f"invalid working directory {workdir!r}")
        if text == LOCAL:
            if options:
                raise SubmitError("ssh options need --submit ssh://user@host")
            return cls(LOCAL, workdir)
        match = _SSH_URL.fullmatch(text)
        if match is None:
            raise SubmitError(f"cannot read the submit address {text!r}",
                              expected="local or ssh://[user@]host[:port]")
        port = int(match.group("port")) if match.group("port") else None
        if port is not None and not 0 < port < 65536:
            raise SubmitError(f"port {port} in {text!r} is not between 1 and 65535")
        return cls(text.rstrip("/"), workdir, options, match.group("user"),
                   match.group("host").strip("[]"), port)

    @property
    def is_local(self) -> bool:
        return self.url == LOCAL

    def where(self) -> str:
        """The host in words, for messages: ``localhost`` or ``user@host:port``."""
        if self.is_local:
            return "localhost"
        return self.url[len("ssh://"):]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"url": self.url}
        if self.workdir is not None:
            out["workdir"] = self.workdir
        if self.ssh_options:
            out["ssh_options"] = dict(self.ssh_options)
        return out


class Transport(ABC):
    """Runs commands on a cluster's login node, copies files there and reads them back."""

    def __init__(self, target: Target) -> None:
        self.target = target

    @abstractmethod
    def run(self, argv: Sequence[str], *, cwd: str | None = None, stdin: str | None = None,
            timeout: float = COMMAND_TIMEOUT) -> Result:
        """Run ``argv`` in ``cwd``, with the file ``stdin`` (a path there) as standard input.
        A command that is not installed answers 127, as a shell would."""

    @abstractmethod
    def workdir(self, create: bool = False) -> str:
        """The absolute working directory on the cluster (made, with its script folder,
        when ``create``)."""

    @abstractmethod
    def put(self, text: str, path: str, executable: bool = False) -> None:
        """Write ``text`` to the absolute ``path`` on the cluster."""

    @abstractmethod
    def remove(self, path: str) -> None:
        """Delete the file ``path`` on the cluster, if it is there."""

    def read(self, path: str) -> str | None:
        """The text of the file ``path`` on the cluster; None when there is no such file."""
        result = self.run(["cat", "--", path])
        return result.stdout if result.ok else None

    def close(self) -> None:  # noqa: B027  (only SSH holds anything open)
        """Release what the transport holds open (an SSH master connection)."""

    def describe(self, argv: Sequence[str], cwd: str | None = None,
                 stdin: str | None = None) -> str:
        """The command as it would be typed on the cluster, for a dry run."""
        line = shlex.join(argv) + (f" < {shlex.quote(stdin)}" if stdin else "")
        return f"cd {shlex.quote(cwd)} && {line}" if cwd and cwd != "." else line


class Local(Transport):
    """This machine: commands run as child processes, files are written in place."""

    def run(self, argv, *, cwd=None, stdin=None, timeout=COMMAND_TIMEOUT):
        argv = [str(part) for part in argv]
        try:
            with open(stdin, "rb") if stdin else open(os.devnull, "rb") as source:
                done = subprocess.run(argv, cwd=cwd, stdin=source, capture_output=True,
                                      timeout=timeout, check=False)
        except FileNotFoundError as err:
            if err.filename == argv[0] or not err.filename:
                return Result(argv, 127, "", f"{argv[0]}: command not found")
            raise SubmitError(f"cannot run {argv[0]}: {err}") from None
        except subprocess.TimeoutExpired:
            raise SubmitError(f"{argv[0]} did not answer within {timeout:g} s") from None
        return Result(argv, done.returncode, _text(done.stdout), _text(done.stderr))

    def workdir(self, create=False):
        folder = Path(self.target.workdir or os.getcwd()).expanduser().resolve()
        if create:
            (folder / SCRIPT_FOLDER).mkdir(parents=True, exist_ok=True)
        return str(folder)

    def put(self, text, path, executable=False):
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL,
                             0o755 if executable else 0o644)
        with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
            stream.write(text)

    def remove(self, path):
        Path(path).unlink(missing_ok=True)

    def read(self, path):
        try:
            return Path(path).read_text(encoding="utf-8", errors="replace")
        except (FileNotFoundError, IsADirectoryError):
            return None


class Ssh(Transport):
    """A login node reached with the system ``ssh`` and ``scp`` clients."""

    def _options(self) -> list[str]:
        # ssh keeps the first value it is given for an option: the cluster's own come first.
        options: list[str] = []
        for key, value in self.target.ssh_options.items():
            options += ["-o", f"{key}={value}"]
        options += ["-o", "BatchMode=yes", "-o", "ConnectTimeout=15"]
        control = _control_folder()
        if control is not None:
            options += ["-o", "ControlMaster=auto", "-o", f"ControlPath={control}/%C",
                        "-o", "ControlPersist=60"]
        if self.target.user:
            options += ["-o", f"User={self.target.user}"]
        return options

    def _ssh(self, *arguments: str) -> list[str]:
        port = ["-p", str(self.target.port)] if self.target.port else []
        return ["ssh", *self._options(), *port, *arguments]

    def _call(self, argv: list[str], what: str, timeout: float) -> subprocess.CompletedProcess:
        try:
            done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                                  timeout=timeout, check=False)
        except FileNotFoundError:
            raise SubmitError(f"{argv[0]} is not installed: fractale reaches "
                              f"{self.target.where()} through the system ssh client") from None
        except subprocess.TimeoutExpired:
            raise SubmitError(f"{self.target.where()} did not answer {what} within "
                              f"{timeout:g} s") from None
        if done.returncode == 255:
            # ssh's own failure (refused, unknown host key, no key accepted), not the command's.
            message = Result(argv, 255, _text(done.stdout), _text(done.stderr)).message
            raise SubmitError(f"cannot reach {self.target.where()}: {message}")
        return done

    def run(self, argv, *, cwd=None, stdin=None, timeout=COMMAND_TIMEOUT):
        argv = [str(part) for part in argv]
        remote = self.describe(argv, cwd, stdin)
        # A missing program answers 127 from the remote shell as it does here.
        done = self._call(self._ssh("--", self.target.host or "", remote), argv[0], timeout)
        return Result(argv, done.returncode, _text(done.stdout), _text(done.stderr))

    def workdir(self, create=False):
        wanted = login_relative(self.target.workdir)
        script = (f"mkdir -p -- {shlex.quote(str(PurePosixPath(wanted) / SCRIPT_FOLDER))} && "
                  if create else "")
        remote = f"{script}cd -- {shlex.quote(wanted)} && pwd"
        done = self._call(self._ssh("--", self.target.host or "", remote), "cd", 60)
        lines = _text(done.stdout).strip().splitlines()
        if done.returncode != 0 or not lines:
            message = Result(["cd"], done.returncode, _text(done.stdout), _text(done.stderr))
            raise SubmitError(f"no working directory {wanted!r} on {self.target.where()}: "
                              f"{message.message}")
        return lines[-1]

    def put(self, text, path, executable=False):
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", suffix=".fractale",
                                         delete=False) as local:
            local.write(text)
        try:
            os.chmod(local.name, 0o755 if executable else 0o644)
            port = ["-P", str(self.target.port)] if self.target.port else []
            host = self.target.host or ""
            host = f"[{host}]" if ":" in host else host
            done = self._call(["scp", "-q", "-p", *self._options(), *port, local.name,
                               f"{host}:{path}"], "scp", COMMAND_TIMEOUT)
        finally:
            os.unlink(local.name)
        if done.returncode != 0:
            message = Result(["scp"], done.returncode, "", _text(done.stderr)).message
            raise SubmitError(f"cannot copy the script to {self.target.where()}:{path}: "
                              f"{message}")

    def remove(self, path):
        self.run(["rm", "-f", "--", path])

    def close(self):
        if _control_folder() is None:
            return
        subprocess.run(self._ssh("-O", "exit", self.target.host or ""), stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=30, check=False)


def login_relative(workdir: str | None) -> str:
    """A remote working directory as the login shell takes it after ``cd`` with the path
    quoted: ``~`` becomes the login directory, ``.``."""
    wanted = workdir or "."
    if wanted == "~" or wanted.startswith("~/"):
        wanted = "." + wanted[1:]
    return wanted


def transport(target: Target) -> Transport:
    """The transport that reaches ``target``."""
    return Local(target) if target.is_local else Ssh(target)


def _control_folder() -> str | None:
    """A folder only this user can enter, for the sockets of shared SSH connections; None
    (no sharing) when it cannot be made safely."""
    folder = Path(tempfile.gettempdir()) / f"fractale-ssh-{os.getuid()}"
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        status = folder.lstat()
    except OSError:
        return None
    if status.st_uid != os.getuid() or status.st_mode & 0o077 or not folder.is_dir():
        return None
    return str(folder)


def _text(data: bytes | str | None) -> str:
    if data is None:
        return ""
    return data if isinstance(data, str) else data.decode("utf-8", errors="replace")
