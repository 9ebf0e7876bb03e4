"""An OpenSSH server on the loopback address for the tests that submit over SSH.

It runs Debian's ``sshd`` with its own configuration, a throwaway host key and a throwaway
user key that logs in as root (so it needs root), and sets ``SLURM_CONF`` in its sessions so
that jobs reach the local Slurm of ``slurm.py``. ``benches/bench_submit.py`` uses it too.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"


class SshdUnavailable(RuntimeError):
    """sshd cannot run here; the message says why."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LocalSshd:
    """One sshd on 127.0.0.1, its keys and configuration in ``folder``."""

    def __init__(self, folder: Path, environment: dict[str, str]) -> None:
        self.folder = Path(folder)
        self.environment = environment
        self.port = free_port()
        self.identity = self.folder / "user_key"
        self.known_hosts = self.folder / "known_hosts"
        self.server: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"ssh://root@127.0.0.1:{self.port}"

    def ssh_options(self) -> dict[str, str]:
        """The ssh options that reach it with the test's own keys, and only them."""
        return {"IdentityFile": str(self.identity), "IdentitiesOnly": "yes",
                "UserKnownHostsFile": str(self.known_hosts), "StrictHostKeyChecking": "yes"}

    def cli_options(self) -> list[str]:
        """The same, as ``fractale cluster add`` options."""
        out: list[str] = []
        for key, value in self.ssh_options().items():
            out += ["--ssh-option", f"{key}={value}"]
        return out

    def start(self, timeout: float = 20) -> LocalSshd:
        if not Path(SSHD).is_file() or not shutil.which("ssh-keygen"):
            raise SshdUnavailable("openssh-server is not installed")
        if os.geteuid() != 0:
            raise SshdUnavailable("logging in as root over SSH needs the tests to run as root")
        self.folder.mkdir(parents=True, exist_ok=True)
        for key in ("host_key", "user_key"):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f",
                            str(self.folder / key)], check=True)
        shutil.copy(self.folder / "user_key.pub", self.folder / "authorized_keys")
        settings = "".join(f"SetEnv {key}={value}\n" for key, value in self.environment.items())
        config = self.folder / "sshd_config"
        config.write_text(
            f"Port {self.port}\nListenAddress 127.0.0.1\n"
            f"HostKey {self.folder / 'host_key'}\nPidFile {self.folder / 'sshd.pid'}\n"
            f"AuthorizedKeysFile {self.folder / 'authorized_keys'}\n"
            "PasswordAuthentication no\nKbdInteractiveAuthentication no\n"
            "PermitRootLogin prohibit-password\nUsePAM no\nStrictModes no\n"
            f"Subsystem sftp internal-sftp\n{settings}"
        )
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        log = self.folder / "sshd.log"
        with open(log, "w") as stream:
            self.server = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stderr=stream)
        deadline = time.monotonic() + timeout
        while True:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    break
            if self.server.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise SshdUnavailable(f"sshd did not start: {log.read_text()[-500:]}")
            time.sleep(0.05)
        kind, key = (self.folder / "host_key.pub").read_text().split()[:2]
        self.known_hosts.write_text(f"[127.0.0.1]:{self.port} {kind} {key}\n")
        return self

    def stop(self) -> None:
        """Close the connection fractale's ssh keeps open to it, then stop the server."""
        from fractale.transform.transport import Target, transport

        if self.server is None:
            return
        transport(Target.parse(self.url, None, self.ssh_options())).close()
        self.server.terminate()
        self.server.wait(timeout=10)
        self.server = None
