"""Keycloak, the platform's identity provider, in development mode on loopback.

It imports the ``pizza`` realm (``infra/keycloak/pizza-realm.json``) on its first start
and keeps it in an H2 file under ``var/data/keycloak``, so clients, secrets and keys
survive a restart. The realm file names the client secrets only as placeholders; they
are generated into ``var/secrets`` and handed to Keycloak in its environment.

Keycloak runs from a home of its own in the data folder: the cached distribution's jars
are linked, its build state (``lib/quarkus``) is copied. Development mode is a build
profile of its own, so the very first start builds it (Quarkus' re-augmentation, 20-30 s)
as a separate step and keeps that build in the cache; a new data folder copies it, and
later starts find it in place.
"""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Final

import httpx

from pizza_infra.config import HOST, INFRA_DIR, REALM, InfraError, InfraSettings
from pizza_infra.identity import ADMIN_SECRET, ADMIN_USERNAME, realm_secrets_env, secret
from pizza_infra.identity import secret_file as secret_path
from pizza_infra.servers.fetch import keycloak_dist
from pizza_infra.servers.java_server import JavaServer, start_servers
from pizza_infra.servers.process import ServerProcess

KEYCLOAK_MIN_JAVA = 21
REALM_FILE = INFRA_DIR / "keycloak" / "pizza-realm.json"
# Keycloak exits with this after a build, asking to be started again.
EXIT_REBUILT = 10
# Features the platform does not use (browser logins, brokering, fine-grained admin ...):
# fewer to build and to start.
FEATURES_DISABLED: Final = (
    "account",
    "admin-fine-grained-authz",
    "authorization",
    "ciba",
    "client-policies",
    "device-flow",
    "impersonation",
    "kerberos",
    "opentelemetry",
    "organization",
    "par",
    "passkeys",
    "recovery-codes",
    "web-authn",
)
# Build-time options: a change of them needs the build step again.
BUILD_OPTIONS: Final = (
    "--health-enabled=true",
    f"--features-disabled={','.join(FEATURES_DISABLED)}",
)
ENTRY_POINT = "io.quarkus.bootstrap.runner.QuarkusEntryPoint"
BUILT_FILE = "pizza-build-options"  # in lib/quarkus: the build options it was built with


def keycloak_process(settings: InfraSettings) -> ServerProcess:
    return ServerProcess("keycloak", settings.run_dir, settings.log_dir)


def keycloak_home(settings: InfraSettings) -> Path:
    return settings.data_dir / "keycloak"


def console_url(settings: InfraSettings) -> str:
    return f"{settings.keycloak_url}/admin/master/console/#/{REALM}"


def keycloak_answers(settings: InfraSettings) -> bool:
    """Its readiness (database and all) on the management port."""
    url = f"http://{HOST}:{settings.keycloak_management_port}/health/ready"
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def jvm_options(settings: InfraSettings) -> tuple[str, ...]:
    """What Keycloak's own start script passes, with the heap bounded."""
    home = keycloak_home(settings)
    return (
        "-Xms64m",
        f"-Xmx{settings.keycloak_heap}",
        "-XX:MaxMetaspaceSize=256m",
        "-XX:+ExitOnOutOfMemoryError",  # exit rather than hang; `up` starts it again
        "-XX:+UseSerialGC",  # one small heap on a shared machine: the least overhead
        # The quick compiler only: half the CPU to start, and its few token requests a
        # minute never need the optimising one.
        "-XX:TieredStopAtLevel=1",
        "-Dfile.encoding=UTF-8",
        "-Duser.language=en",
        "-Duser.country=US",
        # Keycloak's libraries reach into these (its start script opens them likewise).
        "--add-opens=java.base/java.util=ALL-UNNAMED",
        "--add-opens=java.base/java.util.concurrent=ALL-UNNAMED",
        "--add-opens=java.base/java.security=ALL-UNNAMED",
        "--add-opens=java.base/java.lang=ALL-UNNAMED",
        "--enable-native-access=ALL-UNNAMED",
        "-Djava.util.concurrent.ForkJoinPool.common.threadFactory="
        "io.quarkus.bootstrap.forkjoin.QuarkusForkJoinWorkerThreadFactory",
        "-Djava.util.logging.manager=org.jboss.logmanager.LogManager",
        "-Dpicocli.disable.closures=true",
        f"-Dkc.home.dir={home}",
        f"-Djboss.server.config.dir={home / 'conf'}",
    )


def server_options(settings: InfraSettings) -> list[str]:
    """``start-dev`` and its options: loopback only, health on the management port, the
    realm imported from ``data/import`` (skipped once it exists)."""
    return [
        "start-dev",
        *BUILD_OPTIONS,
        f"--http-host={HOST}",
        f"--http-port={settings.keycloak_port}",
        f"--http-management-host={HOST}",
        f"--http-management-port={settings.keycloak_management_port}",
        "--import-realm",
    ]


def main_args(settings: InfraSettings, *, import_realm: bool = True) -> list[str]:
    run_jar = keycloak_home(settings) / "lib" / "quarkus-run.jar"
    options = server_options(settings)
    if not import_realm:
        options.remove("--import-realm")
    return ["-cp", str(run_jar), ENTRY_POINT, *options]


def install_home(dist: Path, home: Path) -> None:
    """The home Keycloak runs from: the distribution's jars and themes linked, its start
    jar and config copied; made anew when the distribution (its version) changes."""
    made_from = home / "dist"
    if made_from.is_file() and made_from.read_text() == str(dist):
        return
    lib = home / "lib"
    shutil.rmtree(lib, ignore_errors=True)
    lib.mkdir(parents=True)
    shutil.copy2(dist / "lib" / "quarkus-run.jar", lib)
    shutil.copytree(dist / "lib" / "app", lib / "app")
    (lib / "lib").symlink_to(dist / "lib" / "lib")
    shutil.copytree(dist / "conf", home / "conf", dirs_exist_ok=True)
    (home / "themes").unlink(missing_ok=True)
    (home / "themes").symlink_to(dist / "themes")
    (home / "providers").mkdir(exist_ok=True)
    made_from.write_text(str(dist))


def dev_build_cache(settings: InfraSettings, dist: Path) -> Path:
    """Where a development build of ``dist`` with :data:`BUILD_OPTIONS` is kept for every
    data folder: it holds no path of the home it was made in."""
    digest = hashlib.sha256("\n".join(BUILD_OPTIONS).encode()).hexdigest()[:12]
    return settings.cache_dir / f"{dist.name}-dev-{digest}"


def build(settings: InfraSettings, java: Path, dist: Path, log: Path) -> bool:
    """Build the home for development mode with :data:`BUILD_OPTIONS`, unless it is or
    the cache holds such a build already. True if it ran the build step.

    Starting from the distribution's own (production) build, ``start-dev`` builds, then
    exits with :data:`EXIT_REBUILT`. Should it find a build to its liking and start
    instead, it is stopped again once it answers: built all the same. It imports no realm:
    it has not been given the secrets the realm file names.
    """
    quarkus = keycloak_home(settings) / "lib" / "quarkus"
    built = quarkus / BUILT_FILE
    wanted = "\n".join(BUILD_OPTIONS)
    if built.is_file() and built.read_text() == wanted:
        return False
    shutil.rmtree(quarkus, ignore_errors=True)
    cached = dev_build_cache(settings, dist)
    if (cached / BUILT_FILE).is_file():
        shutil.copytree(cached, quarkus)
        return False
    shutil.copytree(dist / "lib" / "quarkus", quarkus)
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [str(java), *jvm_options(settings), *main_args(settings, import_realm=False)],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + settings.start_timeout_s
    while proc.poll() is None and not keycloak_answers(settings):
        if time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            raise InfraError(
                f"building Keycloak took over {settings.start_timeout_s:.0f} s; see {log}"
            )
        time.sleep(0.5)
    if proc.poll() is None:  # started: the build it found was ours
        proc.terminate()
        proc.wait(timeout=60)
    elif proc.returncode != EXIT_REBUILT:
        raise InfraError(f"building Keycloak failed (exit {proc.returncode}); see {log}")
    built.write_text(wanted)
    _keep(quarkus, cached)
    return True


def _keep(build: Path, cached: Path) -> None:
    """Copy a finished build into the cache, whole or not at all."""
    with tempfile.TemporaryDirectory(dir=cached.parent) as staging:
        copy = Path(staging) / "quarkus"
        shutil.copytree(build, copy)
        with contextlib.suppress(OSError):  # another start kept the same build meanwhile
            copy.rename(cached)


def keycloak_server(settings: InfraSettings) -> JavaServer:
    home = keycloak_home(settings)
    process = keycloak_process(settings)

    def prepare(java: Path, dist: Path) -> None:
        install_home(dist, home)
        imports = home / "data" / "import"
        imports.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REALM_FILE, imports / REALM_FILE.name)
        build(settings, java, dist, process.log_file)

    def secret_env() -> dict[str, str]:
        return {
            # Read on the first start only, when the master realm has no admin yet.
            "KC_BOOTSTRAP_ADMIN_USERNAME": ADMIN_USERNAME,
            "KC_BOOTSTRAP_ADMIN_PASSWORD": secret(settings, ADMIN_SECRET),
            **realm_secrets_env(settings),
        }

    return JavaServer(
        process=process,
        title=f"Keycloak {settings.keycloak_version}",
        min_java=KEYCLOAK_MIN_JAVA,
        fetch=lambda: keycloak_dist(settings),
        jvm_options=jvm_options(settings),
        main=lambda _dist: main_args(settings),
        ports=(settings.keycloak_port, settings.keycloak_management_port),
        port_settings="KEYCLOAK_PORT and KEYCLOAK_MANAGEMENT_PORT",
        answers=lambda: keycloak_answers(settings),
        address=settings.keycloak_url,
        secret_env=secret_env,
        workdir=home,
        prepare=prepare,
    )


def start_keycloak(settings: InfraSettings) -> str:
    server = keycloak_server(settings)
    started = start_servers([server], settings)
    return started.summary("Keycloak", server.title, settings.keycloak_url)


def admin_hint(settings: InfraSettings) -> str:
    """Where the console is and how to log in, as `just up` says it."""
    password = secret_path(settings, ADMIN_SECRET)
    return (
        f"{console_url(settings)}  (user {ADMIN_USERNAME}, password in "
        f"{_shown(password)}; realm {REALM})"
    )


def _shown(path: Path) -> str:
    """A path relative to the working folder when under it: shorter to read."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
